"""Feature transforms of universal style transfer, on (C, H, W) or (1, C, H, W) feature tensors.

* :func:`wct` — the whitening-colouring transform of Li et al. 2017 (eq. 2-3): centre the
  content features, whiten them with ``E_c D_c^(-1/2) E_c^T`` so their covariance is the
  identity, colour them with ``E_s D_s^(1/2) E_s^T`` and add the style mean, so the result has
  the style's mean and covariance.
* :func:`adain` — adaptive instance normalisation (Huang & Belongie 2017, eq. 8): the content's
  channel means and standard deviations replaced by the style's.

Both take several styles with blend weights (Li et al. sec. 4, "interpolation": the transformed
features of each style, weighted) and a ``strength`` alpha that blends the result with the content
features, ``alpha * f_cs + (1 - alpha) * f_c`` (Li et al. eq. 4).

Numerics (departures from the paper's code): statistics are accumulated over blocks of 65536
pixels in float64 (each block's products in the features' own precision, float32 for VGG
features); eigendecompositions are float64; the resulting (C, C) matrix is applied in float32.
Eigenvalues below ``floor = max(eps, rel_eps * largest)`` are raised to the floor instead of
discarded, so a flat colour image (covariance 0) gives finite features: whitening maps its
(zero) centred features to zero, and colouring with a flat style gives the style's mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import InputError

EPS = 1e-5
REL_EPS = 1e-8
CHUNK = 1 << 16  # pixels per float64 block when accumulating statistics


@dataclass(frozen=True)
class FeatureStats:
    """Channel statistics of one set of features: mean (C, 1), covariance eigenvectors and eigenvalues (float64)."""

    mean: Tensor
    eigvecs: Tensor | None  # None when computed with covariance=False (AdaIN needs only mean and std)
    eigvals: Tensor | None
    std: Tensor  # channel standard deviations (C, 1), for AdaIN


def _flat(feats: Tensor) -> Tensor:
    if feats.dim() == 4:
        if feats.shape[0] != 1:
            raise InputError(f"feature transforms take one image at a time; got a batch of {feats.shape[0]}")
        feats = feats[0]
    if feats.dim() != 3:
        raise InputError(f"features must be (C, H, W) or (1, C, H, W); got {tuple(feats.shape)}")
    return feats.reshape(feats.shape[0], -1)


def _work_dtype(feats: Tensor) -> torch.dtype:
    """float64 features stay float64; anything else is transformed in float32."""
    return torch.float64 if feats.dtype == torch.float64 else torch.float32


def eigen_floor(eigvals: Tensor, eps: float = EPS, rel_eps: float = REL_EPS) -> Tensor:
    """Eigenvalues raised to ``max(eps, rel_eps * largest)`` (also clears tiny negative rounding errors)."""
    floor = max(eps, rel_eps * float(eigvals.max()))
    return eigvals.clamp_min(floor)


def feature_stats(feats: Tensor, *, eps: float = EPS, covariance: bool = True) -> FeatureStats:
    """Mean, channel std and (with ``covariance``) the covariance eigendecomposition of ``feats``.

    All in float64, accumulated over blocks of pixels; eigenvalues floored (:func:`eigen_floor`).

    Shape: feats (C, H, W) or (1, C, H, W); mean and std (C, 1); eigvecs (C, C); eigvals (C,).
    """
    flat = _flat(feats)
    c, n = flat.shape
    work = _work_dtype(flat)
    blocks = range(0, n, CHUNK)  # bounded memory at 4K sizes; sums of blocks accumulate in float64
    mean = sum(flat[:, i:i + CHUNK].to(work).sum(dim=1, keepdim=True).double() for i in blocks) / n
    mean_w = mean.to(work)
    if not covariance:
        variance = sum((flat[:, i:i + CHUNK].to(work) - mean_w).pow(2).sum(dim=1, keepdim=True).double()
                       for i in blocks) / n
        return FeatureStats(mean, None, None, (variance + eps).sqrt())
    cov = torch.zeros(c, c, dtype=torch.float64, device=flat.device)
    for i in blocks:  # centred with the exact mean, each block's products in the features' precision
        centred = flat[:, i:i + CHUNK].to(work) - mean_w
        cov += (centred @ centred.T).double()
    variance = cov.diagonal().unsqueeze(1) / n
    cov /= max(n - 1, 1)
    eigvals, eigvecs = torch.linalg.eigh(cov)
    return FeatureStats(mean, eigvecs, eigen_floor(eigvals, eps), (variance + eps).sqrt())


def _eig(stats: FeatureStats) -> tuple[Tensor, Tensor]:
    if stats.eigvecs is None or stats.eigvals is None:
        raise ValueError("these statistics were computed without the covariance (covariance=False); WCT needs it")
    return stats.eigvecs, stats.eigvals


def whiten(feats: Tensor, stats: FeatureStats | None = None) -> Tensor:
    """Whitened features (float64, (C, H*W)): zero mean, identity covariance where the eigenvalues exceed the floor."""
    stats = stats or feature_stats(feats)
    e, d = _eig(stats)
    return e @ torch.diag(d.rsqrt()) @ e.T @ (_flat(feats).double() - stats.mean)


def colour(whitened: Tensor, stats: FeatureStats) -> Tensor:
    """Coloured features (float64, (C, N)): covariance and mean of ``stats``."""
    return _colouring_matrix(stats) @ whitened + stats.mean


def _colouring_matrix(stats: FeatureStats) -> Tensor:
    e, d = _eig(stats)
    return e @ torch.diag(d.sqrt()) @ e.T


def _blend_weights(n: int, weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0 / n] * n
    if len(weights) != n or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise InputError(f"style blend needs {n} non-negative weights with a positive sum; got {list(weights)}")
    total = float(sum(weights))
    return [w / total for w in weights]


def _check_strength(strength: float) -> None:
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"strength must be between 0 and 1; got {strength}")


def _as_list(style: FeatureStats | Sequence[FeatureStats]) -> list[FeatureStats]:
    return [style] if isinstance(style, FeatureStats) else list(style)


def wct(content: Tensor, style: FeatureStats | Sequence[FeatureStats], *, strength: float = 1.0,
        weights: Sequence[float] | None = None) -> Tensor:
    """Whitening-colouring transform of ``content`` features towards one or several styles.

    Args:
        content: content features, (C, H, W) or (1, C, H, W).
        style: :func:`feature_stats` of each style's features at the same layer.
        strength: alpha in [0, 1]; 0 returns the content features.
        weights: blend weights of the styles (normalised to sum 1; default equal).

    Returns:
        Features shaped like ``content``, in its dtype.

    Example:
        >>> fc, fs = torch.rand(8, 6, 6), torch.rand(8, 5, 7)
        >>> wct(fc, feature_stats(fs)).shape
        torch.Size([8, 6, 6])
    """
    _check_strength(strength)
    styles = _as_list(style)
    ws = _blend_weights(len(styles), weights)
    stats = feature_stats(content)
    e, d = _eig(stats)
    whitening = e @ torch.diag(d.rsqrt()) @ e.T
    # one (C, C) matrix for whitening and the blended colourings, then a single (C, N) product
    matrix = sum(w * _colouring_matrix(s) for w, s in zip(ws, styles)) @ whitening
    mean = sum(w * s.mean for w, s in zip(ws, styles))
    dtype = _work_dtype(content)
    # the statistics and the (C, C) matrix are float64; applying it to float32 features in float32 keeps
    # the (C, N) work and memory of a 4K image modest
    out = matrix.to(dtype) @ (_flat(content).to(dtype) - stats.mean.to(dtype)) + mean.to(dtype)
    return _mix(content, out, strength)


def adain(content: Tensor, style: FeatureStats | Sequence[FeatureStats], *, strength: float = 1.0,
          weights: Sequence[float] | None = None, eps: float = EPS) -> Tensor:
    """Adaptive instance normalisation: each channel of ``content`` given the style's mean and std.

    Same arguments and shapes as :func:`wct`; only ``stats.mean`` and ``stats.std`` of the styles are used.
    """
    _check_strength(strength)
    styles = _as_list(style)
    ws = _blend_weights(len(styles), weights)
    dtype = _work_dtype(content)
    stats = feature_stats(content, eps=eps, covariance=False)
    # per channel: out = scale * x + shift, with the styles' blended targets
    scale = sum(w * s.std for w, s in zip(ws, styles)) / stats.std
    shift = sum(w * s.mean for w, s in zip(ws, styles)) - scale * stats.mean
    out = scale.to(dtype) * _flat(content).to(dtype) + shift.to(dtype)
    return _mix(content, out, strength)


def _mix(content: Tensor, transformed: Tensor, strength: float) -> Tensor:
    if strength != 1.0:
        transformed = strength * transformed + (1.0 - strength) * _flat(content).to(transformed.dtype)
    return transformed.reshape(content.shape).to(content.dtype)
