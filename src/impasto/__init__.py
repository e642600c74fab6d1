"""impasto: neural style transfer (Gatys et al.) on the original VGG-19.

Importing the package is cheap: every name below is loaded on first use, and
torch only when a function that needs it runs, so ``impasto --help`` stays fast.

    >>> import impasto                                         # doctest: +SKIP
    >>> result = impasto.stylize("photo.jpg", "painting.jpg", image_size=256)
    >>> result.image.save("out.png")
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it (relative to this package)
_EXPORTS = {
    "stylize": "api",
    "Stylized": "api",
    "evaluate": "api",
    "Evaluation": "api",
    "stylize_fast": "api",
    "train_fast": "api",
    "translate": "api",
    "train_cyclegan": "api",
    "stylize_video": "api",
    "load_image": "io.inputs",
    "ImageLike": "io.inputs",
    "GatysConfig": "config.gatys",
    "FeedForwardTrainConfig": "feedforward.config",
    "FastTrainConfig": "feedforward.config",
    "CycleGANConfig": "cyclegan.config",
    "Progress": "progress",
    "Callback": "progress",
    "StyleAugment": "augment.transform",
    "ImpastoError": "errors",
    "InputError": "errors",
    "ImageReadError": "errors",
    "OutputPathError": "errors",
    "WeightsError": "errors",
    "ResumeError": "errors",
}

__all__ = [
    "stylize",
    "Stylized",
    "evaluate",
    "Evaluation",
    "stylize_fast",
    "train_fast",
    "translate",
    "train_cyclegan",
    "load_image",
    "ImageLike",
    "GatysConfig",
    "FeedForwardTrainConfig",
    "FastTrainConfig",
    "CycleGANConfig",
    "Progress",
    "Callback",
    "ImpastoError",
    "InputError",
    "ImageReadError",
    "OutputPathError",
    "WeightsError",
    "ResumeError",
    "stylize_video",
    "StyleAugment",
    "__version__",
]

if TYPE_CHECKING:
    from .api import (
        Evaluation,
        Stylized,
        evaluate,
        stylize,
        stylize_fast,
        stylize_video,
        train_cyclegan,
        train_fast,
        translate,
    )
    from .augment.transform import StyleAugment
    from .config.gatys import GatysConfig
    from .cyclegan.config import CycleGANConfig
    from .errors import ImageReadError, ImpastoError, InputError, OutputPathError, ResumeError, WeightsError
    from .feedforward.config import FastTrainConfig, FeedForwardTrainConfig
    from .io.inputs import ImageLike, load_image
    from .progress import Callback, Progress


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'impasto' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
