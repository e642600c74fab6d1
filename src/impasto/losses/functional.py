"""Pure-function losses for style transfer: Gram matrix, style, content, total variation.

Maths: Gatys, Ecker & Bethge 2016, "Image Style Transfer Using Convolutional
Neural Networks" (content ``L = 1/2 sum (F - P)^2``, Gram ``G_ij = sum_k F_ik F_jk``,
style ``E_l = 1/(4 N_l^2 M_l^2) sum (G - A)^2``, ``N`` channels, ``M = H*W``);
jcjohnson/neural-style (Gram / ``C*H*W``, mean squared error); pastiche
(Gram / ``H*W``, mean squared error); Mahendran & Vedaldi 2015, "Understanding
deep image representations by inverting them" (the ``beta`` total variation).
Masked Gram matrices for spatial control: Gatys et al. 2017, "Controlling
Perceptual Factors in Neural Style Transfer".
Feature maps are ``(B, C, H, W)``; images are float RGB in ``[0, 1]``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Literal, get_args

import torch
from torch import Tensor

GramNorm = Literal["paper", "chw", "hw"]
ContentReduction = Literal["mean", "sum", "paper"]
TVKind = Literal["l2", "l1", "power"]
TVReduction = Literal["sum", "mean"]
GramMatrixNorm = Literal["none", "hw", "chw"]

# How the Gram is normalised before `style_loss` compares it with its target.
_STYLE_TO_GRAM: dict[str, Literal["hw", "chw"]] = {"paper": "hw", "chw": "chw", "hw": "hw"}
_TV_EPS = 1e-8


def check_choice(name: str, value: str, alias: object) -> None:
    """Raise ``ValueError`` unless ``value`` is one of the ``Literal`` ``alias``."""
    allowed = get_args(alias)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")


def check_tv_options(kind: str, beta: float, reduction: str) -> None:
    """Raise ``ValueError`` unless these are valid :func:`tv_loss` options."""
    check_choice("kind", kind, TVKind)
    check_choice("reduction", reduction, TVReduction)
    if kind == "power" and not beta > 0:
        raise ValueError(f"beta must be > 0 for the 'power' total variation, got {beta}")


def _check_4d(name: str, t: Tensor) -> None:
    if t.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got {tuple(t.shape)}")


def _upcast(t: Tensor) -> Tensor:
    """Half-precision tensors go to float32; float32/float64 stay as they are."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def _no_autocast(t: Tensor) -> contextlib.AbstractContextManager[object]:
    if torch.amp.is_autocast_available(t.device.type):
        return torch.autocast(t.device.type, enabled=False)
    return contextlib.nullcontext()


def gram_matrix(feats: Tensor, norm: GramMatrixNorm = "chw") -> Tensor:
    """Gram matrix ``G_ij = sum_k F_ik F_jk`` of each feature map in a batch.

    Computed in float32 (float64 input stays float64) with autocast switched
    off, so it is safe to call on bf16/fp16 activations or inside autocast.

    Args:
        feats: feature maps.
        norm: ``"none"`` for the raw Gram, ``"hw"`` to divide by ``H*W``,
            ``"chw"`` to divide by ``C*H*W``.

    Returns:
        The Gram matrices.

    Shape:
        feats ``(B, C, H, W)`` -> ``(B, C, C)``.
    """
    _check_4d("feats", feats)
    check_choice("norm", norm, GramMatrixNorm)
    b, c, h, w = feats.shape
    with _no_autocast(feats):
        f = _upcast(feats).reshape(b, c, h * w)
        gram = torch.bmm(f, f.transpose(1, 2))
    return normalise_gram(gram, norm, h * w)


def normalise_gram(gram: Tensor, norm: str, count: float | Tensor) -> Tensor:
    """Divide a raw Gram summed over ``count`` positions as ``norm`` says: ``"none"`` keeps it,
    ``"hw"`` (or the style loss's ``"paper"``) divides by ``count``, ``"chw"`` by ``C * count``.
    Shared by :func:`gram_matrix`, :func:`masked_gram_matrix` (``count`` the mask's area) and
    the tiled loss (Grams summed over tiles)."""
    if norm in ("hw", "paper"):
        return gram / count
    if norm == "chw":
        return gram / (gram.shape[-1] * count)
    return gram


def gram_target(feats: Tensor, norm: GramNorm) -> Tensor:
    """Gram of the style features, normalised as :func:`style_loss` expects.

    ``"paper"`` and ``"hw"`` give ``G/(H*W)``, ``"chw"`` gives ``G/(C*H*W)``.
    Not detached: detach ``feats`` first if no gradient should flow.

    Args:
        feats: feature maps of the style image at one layer.
        norm: the ``norm`` that will be passed to :func:`style_loss`.

    Returns:
        The target Gram matrices.

    Shape:
        feats ``(B, C, H, W)`` -> ``(B, C, C)``.
    """
    check_choice("norm", norm, GramNorm)
    return gram_matrix(feats, _STYLE_TO_GRAM[norm])


def style_loss(feats: Tensor, target: Tensor, norm: GramNorm = "chw", mask: Tensor | None = None) -> Tensor:
    """Style loss of one layer: distance between Gram matrices.

    With ``G`` the raw Gram of ``feats``, ``N = C`` and ``M = H*W``:

    * ``"paper"``: ``sum((G/M - A)^2) / (4 N^2)``, equal to Gatys et al.'s
      ``1/(4 N^2 M^2) sum (G - A)^2`` when the style image has the same size,
      and still defined when it does not.
    * ``"chw"``: ``mean((G/(N*M) - A)^2)`` (neural-style).
    * ``"hw"``: ``mean((G/M - A)^2)`` (pastiche); so ``paper == hw / 4``.

    With a ``mask`` the Gram is the masked one (:func:`masked_gram_matrix`):
    only the masked region is compared with the style, and ``M`` becomes the
    mask's area, so a region's loss does not shrink with its size.

    Args:
        feats: feature maps of the image being optimised.
        target: ``gram_target(style_feats, norm)``; a batch of 1 is broadcast.
        norm: which normalisation to use.
        mask: optional weights in [0, 1] at the size of ``feats``
            (see :func:`resize_mask`).

    Returns:
        Scalar loss, averaged over the batch.

    Shape:
        feats ``(B, C, H, W)``, target ``(B, C, C)`` or ``(1, C, C)``,
        mask ``(B or 1, 1, H, W)`` -> ``()``.
    """
    check_choice("norm", norm, GramNorm)
    _check_4d("feats", feats)
    b, c = feats.shape[:2]
    if target.ndim != 3 or target.shape[1:] != (c, c) or target.shape[0] not in (1, b):
        raise ValueError(
            f"style target must have shape ({b} or 1, {c}, {c}) to match feats "
            f"{tuple(feats.shape)}, got {tuple(target.shape)}"
        )
    if mask is None:
        gram = gram_matrix(feats, _STYLE_TO_GRAM[norm])
    else:
        gram = masked_gram_matrix(feats, mask, _STYLE_TO_GRAM[norm])
    return gram_distance(gram, target, norm)


def gram_distance(gram: Tensor, target: Tensor, norm: GramNorm = "chw") -> Tensor:
    """The style error between a normalised Gram ``gram`` (as :func:`gram_matrix` gives for
    ``norm``) and ``target``: the second half of :func:`style_loss`, for Grams summed elsewhere
    (over tiles of a large image).

    Shape:
        gram ``(B, C, C)``, target ``(B or 1, C, C)`` -> ``()``.
    """
    c = gram.shape[-1]
    sq = (gram - target.to(gram.dtype)).pow(2)
    if norm == "paper":
        return (sq.sum(dim=(1, 2)) / (4 * c * c)).mean()
    return sq.mean()


def resize_mask(mask: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize a mask to a feature map's ``(h, w)`` by area averaging (each output cell gets the
    fraction of its area that the mask covers); enlarging is bilinear. An all-ones mask stays
    exactly ones.

    Shape:
        mask ``(B, 1, H, W)`` -> ``(B, 1, h, w)``.
    """
    _check_4d("mask", mask)
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    if size[0] <= mask.shape[-2] and size[1] <= mask.shape[-1]:
        return torch.nn.functional.adaptive_avg_pool2d(mask, size)
    return torch.nn.functional.interpolate(mask, size=size, mode="bilinear", align_corners=False).clamp(0, 1)


def masked_gram_matrix(feats: Tensor, mask: Tensor, norm: GramMatrixNorm = "chw") -> Tensor:
    """Gram matrix of the masked region: ``G_ij = sum_k m_k F_ik F_jk`` (Gatys et al. 2017,
    spatial control), normalised by the mask's area ``sum_k m_k`` instead of ``H*W``.

    For a binary mask this is the Gram of the features inside the region, as if
    the region were an image of its own; with an all-ones mask it equals
    :func:`gram_matrix`. A mask with zero area gives a zero Gram.

    Args:
        feats: feature maps.
        mask: weights in [0, 1], already at the feature maps' size.
        norm: ``"none"``, ``"hw"`` (divide by the area) or ``"chw"`` (by ``C`` times the area).

    Shape:
        feats ``(B, C, H, W)``, mask ``(B or 1, 1, H, W)`` -> ``(B, C, C)``.
    """
    _check_4d("feats", feats)
    _check_4d("mask", mask)
    check_choice("norm", norm, GramMatrixNorm)
    b, c, h, w = feats.shape
    if mask.shape[1] != 1 or mask.shape[-2:] != feats.shape[-2:] or mask.shape[0] not in (1, b):
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not fit feats {tuple(feats.shape)}; "
            "resize it with resize_mask first"
        )
    with _no_autocast(feats):
        f = _upcast(feats).reshape(b, c, h * w)
        m = mask.to(f.dtype).reshape(mask.shape[0], 1, h * w)
        gram = torch.bmm(f * m, f.transpose(1, 2))
        area = m.sum(dim=2, keepdim=True).clamp_min(torch.finfo(f.dtype).tiny)
    return normalise_gram(gram, norm, area)


def content_loss(feats: Tensor, target: Tensor, reduction: ContentReduction = "mean") -> Tensor:
    """Content loss of one layer between features ``F`` and target ``P``.

    Args:
        feats: feature maps ``F`` of the image being optimised.
        target: feature maps ``P`` of the content image; a batch of 1 is broadcast.
        reduction: ``"mean"`` for the mean squared error (neural-style,
            pastiche), ``"sum"`` for ``sum (F - P)^2``, ``"paper"`` for
            Gatys et al.'s ``1/2 sum (F - P)^2``.

    Returns:
        Scalar loss (half precision inputs are reduced in float32).

    Shape:
        feats ``(B, C, H, W)``, target ``(B, C, H, W)`` or ``(1, C, H, W)`` -> ``()``.
    """
    check_choice("reduction", reduction, ContentReduction)
    _check_4d("feats", feats)
    b = feats.shape[0]
    if target.ndim != 4 or target.shape[1:] != feats.shape[1:] or target.shape[0] not in (1, b):
        raise ValueError(f"content target shape {tuple(target.shape)} does not match feats {tuple(feats.shape)}")
    f = _upcast(feats)
    sq = (f - target.to(f.dtype)).pow(2)
    if reduction == "mean":
        return sq.mean()
    total = sq.sum()
    return total if reduction == "sum" else 0.5 * total


def tv_loss(image: Tensor, kind: TVKind = "l2", beta: float = 2.0, reduction: TVReduction = "mean") -> Tensor:
    """Total variation of an image, a smoothness regulariser.

    With ``dx`` the differences between horizontal neighbours (an
    ``H x (W-1)`` grid) and ``dy`` between vertical ones (``(H-1) x W``):

    * ``"l2"``: ``sum dx^2 + sum dy^2``.
    * ``"l1"``: ``sum |dx| + sum |dy|``.
    * ``"power"`` (Mahendran & Vedaldi 2015): over the common
      ``(H-1) x (W-1)`` grid, ``sum ((dx^2 + dy^2 + eps)^(beta/2) - eps^(beta/2))``
      with ``eps = 1e-8``; ``eps`` keeps the gradient finite at 0 when
      ``beta < 2`` and subtracting ``eps^(beta/2)`` keeps a flat image at 0.

    Args:
        image: images (or any ``(B, C, H, W)`` maps).
        kind: which variation to measure.
        beta: exponent of the ``"power"`` kind; must be > 0.
        reduction: ``"sum"``, or ``"mean"`` to divide that sum by ``B*C*H*W``
            so that the value does not grow with the image size.

    Returns:
        Scalar loss (half precision inputs are reduced in float32).

    Shape:
        image ``(B, C, H, W)`` -> ``()``.
    """
    check_tv_options(kind, beta, reduction)
    _check_4d("image", image)
    x = _upcast(image)
    if kind == "power":
        dx = x[..., :-1, 1:] - x[..., :-1, :-1]
        dy = x[..., 1:, :-1] - x[..., :-1, :-1]
        floor = x.new_full((), _TV_EPS).pow(beta / 2)  # same dtype: a flat patch gives exactly 0
        total = ((dx.pow(2) + dy.pow(2) + _TV_EPS).pow(beta / 2) - floor).sum()
    else:
        dx = x[..., :, 1:] - x[..., :, :-1]
        dy = x[..., 1:, :] - x[..., :-1, :]
        if kind == "l2":
            total = dx.pow(2).sum() + dy.pow(2).sum()
        else:
            total = dx.abs().sum() + dy.abs().sum()
    return total / image.numel() if reduction == "mean" else total


# ----------------------------------------------------------------------------- layer sums
# The pieces every objective built on VGG features shares (the Gatys optimisation, the
# feed-forward training loss, the evaluation distances): targets from one feature pass,
# per-layer losses, their weighted sum, and TV in neural-style's units.


def content_targets(feats: Mapping[str, Tensor], layers: Iterable[str]) -> dict[str, Tensor]:
    """Targets of the content term: the detached features at ``layers``, in float32."""
    return {k: feats[k].detach().float() for k in layers}


def style_targets(feats: Mapping[str, Tensor], layers: Iterable[str], norm: GramNorm = "chw") -> dict[str, Tensor]:
    """Targets of the style term: :func:`gram_target` of the detached features at ``layers``."""
    return {k: gram_target(feats[k].detach(), norm) for k in layers}


def content_losses(
    feats: Mapping[str, Tensor], targets: Mapping[str, Tensor], reduction: ContentReduction = "mean"
) -> dict[str, Tensor]:
    """:func:`content_loss` at each layer of ``targets`` (features upcast to float32)."""
    return {k: content_loss(feats[k].float(), target, reduction) for k, target in targets.items()}


def style_losses(
    feats: Mapping[str, Tensor],
    targets: Mapping[str, Tensor],
    norm: GramNorm = "chw",
    masks: Mapping[str, Tensor] | None = None,
) -> dict[str, Tensor]:
    """:func:`style_loss` at each layer of ``targets``, with that layer's mask when ``masks`` is given."""
    return {k: style_loss(feats[k], target, norm, None if masks is None else masks[k]) for k, target in targets.items()}


def weighted_sum(losses: Mapping[str, Tensor], weights: Mapping[str, float], zero: Tensor) -> Tensor:
    """``zero + sum_l w_l * losses[l]`` over the layers of ``weights``, in their order."""
    return sum((w * losses[k] for k, w in weights.items()), zero)


def tv_255(image: Tensor, kind: TVKind = "l2", beta: float = 2.0) -> Tensor:
    """:func:`tv_loss` summed over the image in 0-255 units (neural-style's TV; the ``tv_weight``
    of impasto's objectives is in these units)."""
    return tv_loss(image * 255.0, kind, beta, reduction="sum")
