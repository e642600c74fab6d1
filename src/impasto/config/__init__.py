"""Configuration: the one place where defaults live, free of torch.

:class:`~impasto.config.base.ConfigBase` gives every config the same
``replace`` / ``to_dict`` / ``from_dict`` / ``validate`` behaviour;
:class:`GatysConfig` (optimisation) lives in :mod:`impasto.config.gatys`, the
feed-forward and CycleGAN training configs beside their methods
(:mod:`impasto.feedforward.config`, :mod:`impasto.cyclegan.config`).
"""

from __future__ import annotations

from ..features.layers import LAYER_NAMES, VGG_BLOCKS, vgg19_layer_names
from .base import DEVICES_HELP, POOLINGS, PRECISIONS, SWITCH, ConfigBase, _finite, _positive_int, opt
from .gatys import (
    CONTENT_REDUCTIONS,
    GRAM_NORMS,
    INITS,
    LR_SCHEDULES,
    OPTIMIZERS,
    PRESERVE_COLOR,
    TV_KINDS,
    GatysConfig,
)

_opt = opt  # the name the first version used

__all__ = [
    "ConfigBase",
    "GatysConfig",
    "opt",
    "LAYER_NAMES",
    "VGG_BLOCKS",
    "vgg19_layer_names",
    "DEVICES_HELP",
    "POOLINGS",
    "PRECISIONS",
    "SWITCH",
    "CONTENT_REDUCTIONS",
    "GRAM_NORMS",
    "INITS",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "PRESERVE_COLOR",
    "TV_KINDS",
    "_finite",
    "_positive_int",
]
