"""VGG-19 features: the network, its weights and their preprocessing.

The layer table (:mod:`impasto.features.layers`) needs no torch; the rest is
imported on first use, so configs can check layer names without loading torch.
"""

from __future__ import annotations

from ..lazy import lazy_getattr

_LAZY = {
    "VGG19": "vgg",
    "FeatureExtractor": "vgg",
    "Normalize": "preprocessing",
    "VGGWeights": "weights",
    "load_weights": "weights",
}

__all__ = ["VGG19", "FeatureExtractor", "Normalize", "VGGWeights", "load_weights"]


__getattr__ = lazy_getattr(__name__, _LAZY)
