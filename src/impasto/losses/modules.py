"""``nn.Module`` wrappers around the losses in :mod:`impasto.losses.functional`.

Each module holds its fixed target as a buffer (saved in ``state_dict``,
moved by ``.to()``, never trained) and calls the matching function, so the
maths lives in one place: Gatys et al. 2016 for the content and Gram style
losses, Mahendran & Vedaldi 2015 for the total variation.
"""

from __future__ import annotations

from torch import Tensor, nn

from . import functional as lf
from .functional import ContentReduction, GramNorm, TVKind, TVReduction


class ContentLoss(nn.Module):
    """Content loss against fixed content features.

    Args:
        target_feats: features of the content image; detached and copied.
        reduction: ``"mean"``, ``"sum"`` or ``"paper"``, see
            :func:`~impasto.losses.functional.content_loss`.

    Shape:
        target_feats ``(B or 1, C, H, W)``; forward ``(B, C, H, W)`` -> ``()``.
    """

    target: Tensor

    def __init__(self, target_feats: Tensor, reduction: ContentReduction = "mean") -> None:
        super().__init__()
        lf.check_choice("reduction", reduction, ContentReduction)
        self.reduction = reduction
        self.register_buffer("target", target_feats.detach().clone())

    def forward(self, feats: Tensor) -> Tensor:
        """Return the scalar content loss of ``feats``."""
        return lf.content_loss(feats, self.target, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class GramStyleLoss(nn.Module):
    """Gram-matrix style loss against fixed style features.

    The target Gram is computed once here, normalised for ``norm``.

    Args:
        target_feats: features of the style image; detached.
        norm: ``"paper"``, ``"chw"`` or ``"hw"``, see
            :func:`~impasto.losses.functional.style_loss`.

    Shape:
        target_feats ``(B or 1, C, H', W')``; forward ``(B, C, H, W)`` -> ``()``.
    """

    target: Tensor

    def __init__(self, target_feats: Tensor, norm: GramNorm = "chw") -> None:
        super().__init__()
        self.norm = norm
        self.register_buffer("target", lf.gram_target(target_feats.detach(), norm))

    def forward(self, feats: Tensor) -> Tensor:
        """Return the scalar style loss of ``feats``."""
        return lf.style_loss(feats, self.target, self.norm)

    def extra_repr(self) -> str:
        return f"norm={self.norm!r}"


class TotalVariation(nn.Module):
    """Total-variation regulariser, see :func:`~impasto.losses.functional.tv_loss`.

    Args:
        kind: ``"l2"``, ``"l1"`` or ``"power"``.
        beta: exponent of ``"power"``.
        reduction: ``"mean"`` or ``"sum"``.

    Shape:
        forward ``(B, C, H, W)`` -> ``()``.
    """

    def __init__(
        self,
        kind: TVKind = "l2",
        beta: float = 2.0,
        reduction: TVReduction = "mean",
    ) -> None:
        super().__init__()
        lf.check_tv_options(kind, beta, reduction)
        self.kind, self.beta, self.reduction = kind, beta, reduction

    def forward(self, image: Tensor) -> Tensor:
        """Return the scalar total variation of ``image``."""
        return lf.tv_loss(image, self.kind, self.beta, self.reduction)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, beta={self.beta}, reduction={self.reduction!r}"
