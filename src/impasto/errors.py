"""Exceptions raised by impasto.

Every message is one line and says what to do about it. The CLI prints
``impasto: error: <message>`` and exits non-zero; the library never exits.
"""

from __future__ import annotations


class ImpastoError(Exception):
    """Base class of every error impasto raises on purpose."""


class InputError(ImpastoError, ValueError):
    """A file, option or value given by the user cannot be used."""


class ImageReadError(InputError):
    """An input image is missing, unreadable, corrupt or of an unsupported kind."""


class OutputPathError(InputError):
    """The output path cannot be written (unknown extension, missing folder, ...)."""


class WeightsError(ImpastoError):
    """Network weights are missing or malformed."""


class ResumeError(ImpastoError):
    """A run cannot be resumed from the given state."""
