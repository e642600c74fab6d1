"""Style augmentation: random stylisation of training data (Jackson et al. 2019; Geirhos et al. 2019).

* :mod:`.transform`: :class:`StyleAugment`, a batch transform (``torch.nn.Module``).
* :mod:`.stats`: the style-statistics prior (a multivariate normal over paintings' VGG statistics).
* :mod:`.dataset`: a whole folder stylised offline (``impasto augment``), resumable and shardable.

Submodules are imported on first use so ``import impasto.augment`` stays light.
"""

from __future__ import annotations

from ..lazy import lazy_getattr

__all__ = ["StyleAugment", "StylePrior", "load_prior", "fit_prior_to_paintings", "augment_folder"]

_LAZY = {
    "StyleAugment": "transform",
    "StylePrior": "stats",
    "load_prior": "stats",
    "fit_prior_to_paintings": "stats",
    "augment_folder": "dataset",
}

__getattr__ = lazy_getattr(__name__, _LAZY)
