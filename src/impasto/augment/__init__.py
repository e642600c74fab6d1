"""Style augmentation: random stylisation of training data (Jackson et al. 2019; Geirhos et al. 2019).

* :mod:`.transform`: :class:`StyleAugment`, a batch transform (``torch.nn.Module``).
* :mod:`.stats`: the style-statistics prior (a multivariate normal over paintings' VGG statistics).
* :mod:`.dataset`: a whole folder stylised offline (``impasto augment``), resumable and shardable.

Submodules are imported on first use so ``import impasto.augment`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["StyleAugment", "StylePrior", "load_prior", "fit_prior_to_paintings", "augment_folder"]

_LAZY = {
    "StyleAugment": "transform",
    "StylePrior": "stats",
    "load_prior": "stats",
    "fit_prior_to_paintings": "stats",
    "augment_folder": "dataset",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
