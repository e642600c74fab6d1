"""VGG-19 features: the network, its weights and their preprocessing."""

from .preprocessing import Normalize
from .vgg import VGG19, FeatureExtractor
from .weights import VGGWeights, load_weights

__all__ = ["VGG19", "FeatureExtractor", "Normalize", "VGGWeights", "load_weights"]
