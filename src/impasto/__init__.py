"""impasto: neural style transfer (Gatys et al.) on the original VGG-19.

Importing the package is cheap: torch is loaded only when a function that
needs it is first used, so ``impasto --help`` stays fast.

    >>> import impasto                                         # doctest: +SKIP
    >>> result = impasto.stylize("photo.jpg", "painting.jpg", image_size=256)
    >>> result.image.save("out.png")
"""

from __future__ import annotations

from typing import Any

from .config import GatysConfig
from .errors import ImpastoError, InputError, WeightsError

__version__ = "0.1.0"
__all__ = ["GatysConfig", "ImpastoError", "InputError", "WeightsError", "stylize", "Stylized", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("stylize", "Stylized"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'impasto' has no attribute {name!r}")
