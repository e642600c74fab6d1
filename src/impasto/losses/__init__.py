"""Style-transfer losses: pure functions and the ``nn.Module`` wrappers around them.

See :mod:`impasto.losses.functional` for the maths (Gatys et al. 2016,
neural-style, pastiche, Mahendran & Vedaldi 2015) and
:mod:`impasto.losses.modules` for the modules holding fixed targets.
"""

from __future__ import annotations

from .functional import (
    ContentReduction,
    GramMatrixNorm,
    GramNorm,
    TVKind,
    TVReduction,
    content_loss,
    gram_matrix,
    gram_target,
    masked_gram_matrix,
    resize_mask,
    style_loss,
    tv_loss,
)
from .modules import ContentLoss, GramStyleLoss, TotalVariation

__all__ = [
    "ContentLoss",
    "ContentReduction",
    "GramMatrixNorm",
    "GramNorm",
    "GramStyleLoss",
    "TVKind",
    "TVReduction",
    "TotalVariation",
    "content_loss",
    "gram_matrix",
    "gram_target",
    "masked_gram_matrix",
    "resize_mask",
    "style_loss",
    "tv_loss",
]
