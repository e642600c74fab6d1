"""VGG-19 features: the network, its weights and their preprocessing.

The layer table (:mod:`impasto.features.layers`) needs no torch; the rest is
imported on first use, so configs can check layer names without loading torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "VGG19": "vgg",
    "FeatureExtractor": "vgg",
    "Normalize": "preprocessing",
    "VGGWeights": "weights",
    "load_weights": "weights",
}

__all__ = ["VGG19", "FeatureExtractor", "Normalize", "VGGWeights", "load_weights"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
