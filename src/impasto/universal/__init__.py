"""Universal style transfer: any painting in one pass (Li et al. 2017 WCT; Huang & Belongie 2017 AdaIN).

* :mod:`.transforms`: the feature transforms (whitening-colouring, AdaIN) on feature tensors.
* :mod:`.cascade`: the coarse-to-fine relu5_1 -> relu1_1 pipeline and :func:`stylize_universal`.
* :mod:`.decoders`: loading trained or shipped decoders; :mod:`.train`, :mod:`.data`: training them.

Submodules are imported on first use so ``import impasto.universal`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["stylize_universal", "wct", "adain"]

_LAZY = {"stylize_universal": "cascade", "wct": "transforms", "adain": "transforms"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
