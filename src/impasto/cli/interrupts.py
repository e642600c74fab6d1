"""Ctrl-C and a polite kill (SIGTERM) end a command the same way: no partial output, exit 130.

:func:`install` makes both signals raise ``KeyboardInterrupt`` in the main thread and also remember that they
came. Python drops an exception raised while it runs a finaliser or another callback whose errors it only
prints, so a signal landing there would be lost and the run would go on; every progress event of a command
therefore calls :func:`check`, which raises again once a signal has come (``cli.common.ProgressBar``).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

_received = threading.Event()


def _handler(signum: int, frame: Any) -> None:
    _received.set()
    raise KeyboardInterrupt


def install() -> dict[int, Any] | None:
    """Take over SIGINT and SIGTERM (main thread only); returns the previous handlers for :func:`restore`."""
    if threading.current_thread() is not threading.main_thread():
        return None
    _received.clear()
    return {sig: signal.signal(sig, _handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def restore(previous: dict[int, Any] | None) -> None:
    for sig, handler in (previous or {}).items():
        signal.signal(sig, handler)


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a signal came since :func:`install` (it may have been swallowed)."""
    if _received.is_set():
        raise KeyboardInterrupt
