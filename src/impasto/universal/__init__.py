"""Universal style transfer: any painting in one pass (Li et al. 2017 WCT; Huang & Belongie 2017 AdaIN).

* :mod:`.transforms`: the feature transforms (whitening-colouring, AdaIN) on feature tensors.
* :mod:`.cascade`: the coarse-to-fine relu5_1 -> relu1_1 pipeline and :func:`stylize_universal`.
* :mod:`.decoders`: loading trained or shipped decoders; :mod:`.train`, :mod:`.data`: training them.

Submodules are imported on first use so ``import impasto.universal`` stays light.
"""

from __future__ import annotations

from ..lazy import lazy_getattr

__all__ = ["stylize_universal", "wct", "adain"]

_LAZY = {"stylize_universal": "cascade", "wct": "transforms", "adain": "transforms"}

__getattr__ = lazy_getattr(__name__, _LAZY)
