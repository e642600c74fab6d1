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

Numerics (departures from the paper's code): covariances and their eigendecompositions are in
float64; eigenvalues below ``floor = max(eps, rel_eps * largest)`` are raised to the floor instead
of discarded, so a flat colour image (covariance 0) gives finite features: whitening maps its
(zero) centred features to zero and colouring with a flat style gives the style's mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import InputError

EPS = 1e-5
REL_EPS = 1e-8


@dataclass(frozen=True)
class FeatureStats:
    """Channel statistics of one set of features: mean (C, 1), covariance eigenvectors and eigenvalues (float64)."""

    mean: Tensor
    eigvecs: Tensor
    eigvals: Tensor
    std: Tensor  # channel standard deviations (C, 1), for AdaIN


def _flat(feats: Tensor) -> Tensor:
    if feats.dim() == 4:
        if feats.shape[0] != 1:
            raise InputError(f"feature transforms take one image at a time; got a batch of {feats.shape[0]}")
        feats = feats[0]
    if feats.dim() != 3:
        raise InputError(f"features must be (C, H, W) or (1, C, H, W); got {tuple(feats.shape)}")
    return feats.reshape(feats.shape[0], -1).double()


def eigen_floor(eigvals: Tensor, eps: float = EPS, rel_eps: float = REL_EPS) -> Tensor:
    """Eigenvalues raised to ``max(eps, rel_eps * largest)`` (also clears tiny negative rounding errors)."""
    floor = max(eps, rel_eps * float(eigvals.max()))
    return eigvals.clamp_min(floor)


def feature_stats(feats: Tensor, *, eps: float = EPS) -> FeatureStats:
    """Mean, covariance eigendecomposition (float64, floored eigenvalues) and channel std of ``feats``.

    Shape: feats (C, H, W) or (1, C, H, W); mean and std (C, 1); eigvecs (C, C); eigvals (C,).
    """
    flat = _flat(feats)
    n = flat.shape[1]
    mean = flat.mean(dim=1, keepdim=True)
    centred = flat - mean
    cov = centred @ centred.T / max(n - 1, 1)
    eigvals, eigvecs = torch.linalg.eigh(cov)
    std = (centred.pow(2).mean(dim=1, keepdim=True) + eps).sqrt()
    return FeatureStats(mean, eigvecs, eigen_floor(eigvals, eps), std)


def whiten(feats: Tensor, stats: FeatureStats | None = None) -> Tensor:
    """Whitened features (float64, (C, H*W)): zero mean, identity covariance where the eigenvalues exceed the floor."""
    stats = stats or feature_stats(feats)
    centred = _flat(feats) - stats.mean
    e = stats.eigvecs
    return e @ torch.diag(stats.eigvals.rsqrt()) @ e.T @ centred


def colour(whitened: Tensor, stats: FeatureStats) -> Tensor:
    """Coloured features (float64, (C, N)): covariance and mean of ``stats``."""
    e = stats.eigvecs
    return e @ torch.diag(stats.eigvals.sqrt()) @ e.T @ whitened + stats.mean


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
    e = stats.eigvecs
    whitening = e @ torch.diag(stats.eigvals.rsqrt()) @ e.T
    # one (C, C) matrix for whitening and the blended colourings, then a single (C, N) product
    matrix = sum(w * (s.eigvecs @ torch.diag(s.eigvals.sqrt()) @ s.eigvecs.T) for w, s in zip(ws, styles)) @ whitening
    mean = sum(w * s.mean for w, s in zip(ws, styles))
    out = matrix @ (_flat(content) - stats.mean) + mean
    return _mix(content, out, strength)


def adain(content: Tensor, style: FeatureStats | Sequence[FeatureStats], *, strength: float = 1.0,
          weights: Sequence[float] | None = None, eps: float = EPS) -> Tensor:
    """Adaptive instance normalisation: each channel of ``content`` given the style's mean and std.

    Same arguments and shapes as :func:`wct`; only ``stats.mean`` and ``stats.std`` of the styles are used.
    """
    _check_strength(strength)
    styles = _as_list(style)
    ws = _blend_weights(len(styles), weights)
    flat = _flat(content)
    mean = flat.mean(dim=1, keepdim=True)
    std = ((flat - mean).pow(2).mean(dim=1, keepdim=True) + eps).sqrt()
    normalised = (flat - mean) / std
    out = sum(w * (normalised * s.std + s.mean) for w, s in zip(ws, styles))
    return _mix(content, out, strength)


def _mix(content: Tensor, transformed: Tensor, strength: float) -> Tensor:
    mixed = strength * transformed + (1.0 - strength) * _flat(content)
    return mixed.reshape(content.shape).to(content.dtype)
