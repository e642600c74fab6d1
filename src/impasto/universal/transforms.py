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

Numerics (departures from the paper's code): statistics are accumulated over blocks of 16384
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
# pixels per block when accumulating statistics: each block is converted to float32 and centred in a fresh
# buffer; 16384 keeps that buffer small enough to stay in the cache and in the allocator's pool (65536 at
# 64 channels is 16 MB, fresh pages every block: AdaIN's statistics took 40-50 ms of a 512² run, now 10 ms)
CHUNK = 1 << 14


@dataclass(frozen=True)
class FeatureStats:
    """Channel statistics of one set of features: mean (C, 1), covariance eigenvectors and eigenvalues (float64)."""

    mean: Tensor
    eigvecs: Tensor | None  # None when computed with covariance=False (AdaIN needs only mean and std)
    eigvals: Tensor | None
    std: Tensor  # channel standard deviations (C, 1), for AdaIN


def _flat(feats: Tensor) -> Tensor:
    """(C, H*W) of ``feats``; a view, also of channels-last (NHWC) features (then with strides (1, C)).

    Channels-last features (what the encoder gives on the CPU) are never copied to NCHW: at 64 x 512 x 512
    that copy alone took longer than the statistics.
    """
    if feats.dim() == 4:
        if feats.shape[0] != 1:
            raise InputError(f"feature transforms take one image at a time; got a batch of {feats.shape[0]}")
        feats = feats[0]
    if feats.dim() != 3:
        raise InputError(f"features must be (C, H, W) or (1, C, H, W); got {tuple(feats.shape)}")
    if _pixel_major(feats):
        return feats.permute(1, 2, 0).reshape(-1, feats.shape[0]).T
    return feats.reshape(feats.shape[0], -1)


def _pixel_major(feats: Tensor) -> bool:
    """Whether (C, H, W) or (1, C, H, W) ``feats`` are stored channels-last (channel fastest), C > 1."""
    f = feats[0] if feats.dim() == 4 else feats
    return f.shape[0] > 1 and f.stride(0) == 1 and f.permute(1, 2, 0).is_contiguous()


def _unflat(flat: Tensor, like: Tensor) -> Tensor:
    """(C, H*W) ``flat`` shaped like ``like``, in ``like``'s memory layout where ``flat`` allows a view."""
    if _pixel_major(like):
        c, (h, w) = like.shape[-3], like.shape[-2:]
        out = flat.T.reshape(h, w, c).permute(2, 0, 1)
        return out.unsqueeze(0) if like.dim() == 4 else out
    return flat.reshape(like.shape)


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
    acc = StatsAccumulator(covariance=covariance, eps=eps)
    acc.add(feats)
    return acc.result()


def _moments(flat: Tensor, covariance: bool) -> tuple[int, Tensor, Tensor]:
    """``(n, mean, scatter)`` of (C, N) ``flat``: the float64 mean (C, 1) and the scatter about it, (C, C) or
    with ``covariance=False`` its diagonal (C, 1).

    Blocks of :data:`CHUNK` pixels bound the memory at 4K sizes; each block is centred on the exact mean
    and its products taken in float32 (float64 for float64 features), summed in float64. bf16 features
    are read as they are, one block at a time converted to float32.
    """
    c, n = flat.shape
    work = _work_dtype(flat)
    blocks = range(0, n, CHUNK)
    mean = sum(flat[:, i : i + CHUNK].sum(dim=1, keepdim=True, dtype=work).double() for i in blocks) / n
    mean_w = mean.to(work)
    scatter = torch.zeros(c, c if covariance else 1, dtype=torch.float64, device=flat.device)
    for i in blocks:
        # converted first, then centred in place: the same numbers as ``block - mean_w``, whose mixed-dtype
        # broadcast over channels-last blocks ran 10-15 times slower (39 ms against 3 ms for 64 x 512 x 512)
        centred = flat[:, i : i + CHUNK].to(work, copy=True).sub_(mean_w)
        scatter += (centred @ centred.T if covariance else centred.pow(2).sum(dim=1, keepdim=True)).double()
    return n, mean, scatter  # type: ignore[return-value]


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


def wct(
    content: Tensor,
    style: FeatureStats | Sequence[FeatureStats],
    *,
    strength: float = 1.0,
    weights: Sequence[float] | None = None,
) -> Tensor:
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
    return transform_for("wct", feature_stats(content), style, weights).apply(content, strength)


def adain(
    content: Tensor,
    style: FeatureStats | Sequence[FeatureStats],
    *,
    strength: float = 1.0,
    weights: Sequence[float] | None = None,
    eps: float = EPS,
) -> Tensor:
    """Adaptive instance normalisation: each channel of ``content`` given the style's mean and std.

    Same arguments and shapes as :func:`wct`; only ``stats.mean`` and ``stats.std`` of the styles are used.
    """
    _check_strength(strength)
    stats = feature_stats(content, eps=eps, covariance=False)
    return transform_for("adain", stats, style, weights).apply(content, strength)


def adain_batch(content: Tensor, style: Tensor, eps: float = EPS) -> Tensor:
    """:func:`adain` of each (C, H, W) item of a batch towards the style item at the same index.

    The form used to train decoders for stylisation: (B, C, H, W) ``content`` and (B, C, H', W')
    ``style`` features, channel statistics of each item over its pixels (population variance, as
    :func:`feature_stats`), in the features' dtype.
    """
    c_mean, c_std = content.mean((2, 3), keepdim=True), (content.var((2, 3), keepdim=True, correction=0) + eps).sqrt()
    s_mean, s_std = style.mean((2, 3), keepdim=True), (style.var((2, 3), keepdim=True, correction=0) + eps).sqrt()
    return (content - c_mean) / c_std * s_std + s_mean


@dataclass(frozen=True)
class Affine:
    """A feature transform reduced to ``out = matrix @ (f - centre) + shift`` per pixel.

    ``matrix`` is (C, C) for WCT (whitening and the blended colourings in one) or a (C, 1) channel
    scale for AdaIN; all float64. Because it is per pixel, the transform found from global statistics
    can be applied to any part of the features (tiles) and gives the same numbers there.
    """

    matrix: Tensor
    centre: Tensor
    shift: Tensor

    def apply(self, feats: Tensor, strength: float = 1.0) -> Tensor:
        """Transformed ``feats`` ((C, H, W) or (1, C, H, W)), blended with them by ``strength``, in their dtype."""
        dtype = _work_dtype(feats)
        # the (C, C) matrix is float64; applying it to float32 features in float32 keeps the (C, N) work and
        # memory of a 4K image modest
        flat = _flat(feats).to(dtype) - self.centre.to(dtype)
        if self.matrix.shape[1] == 1:
            out = self.matrix.to(dtype) * flat + self.shift.to(dtype)
        elif _pixel_major(feats):  # (N, C) @ (C, C): the result stays channels-last, no layout copy
            out = (flat.T @ self.matrix.to(dtype).T).T + self.shift.to(dtype)
        else:
            out = self.matrix.to(dtype) @ flat + self.shift.to(dtype)
        return _mix(feats, out, strength)

    def blended(self, strength: float = 1.0) -> tuple[Tensor, Tensor]:
        """``(A, b)`` with ``A @ f + b`` equal to :meth:`apply` at ``strength`` (float64): ``A`` is (C, C),
        or (C, 1) for a per-channel scale, ``b`` is (C, 1). A decoder can fold them into its first
        convolution (:meth:`~impasto.nets.decoder.VGGDecoder.forward`, ``input_affine``)."""
        _check_strength(strength)
        m = self.matrix
        identity = torch.ones_like(m) if m.shape[1] == 1 else torch.eye(m.shape[0], dtype=m.dtype, device=m.device)
        centre = m * self.centre if m.shape[1] == 1 else m @ self.centre
        return strength * m + (1.0 - strength) * identity, strength * (self.shift - centre)


def transform_for(
    method: str,
    content: FeatureStats,
    style: FeatureStats | Sequence[FeatureStats],
    weights: Sequence[float] | None = None,
) -> Affine:
    """The :class:`Affine` of ``method`` (``"wct"`` or ``"adain"``) taking features with statistics ``content``
    to the blended statistics of ``style``."""
    styles = _as_list(style)
    ws = _blend_weights(len(styles), weights)
    shift = sum(w * s.mean for w, s in zip(ws, styles))
    if method == "adain":
        scale = sum(w * s.std for w, s in zip(ws, styles)) / content.std
        return Affine(scale, content.mean, shift)  # type: ignore[arg-type]
    if method != "wct":
        raise InputError(f"unknown method {method!r}; choose wct or adain")
    e, d = _eig(content)
    whitening = e @ torch.diag(d.rsqrt()) @ e.T
    matrix = sum(w * _colouring_matrix(s) for w, s in zip(ws, styles)) @ whitening
    return Affine(matrix, content.mean, shift)  # type: ignore[arg-type]


class StatsAccumulator:
    """:func:`feature_stats` of features given in parts (the cores of tiles), without holding them all.

    Each part is centred on its own exact mean (as :func:`feature_stats` does for the whole), and the
    parts' scatter matrices are combined with the between-part term (Chan, Golub & LeVeque 1979), all
    float64; the result equals :func:`feature_stats` of the concatenated parts up to rounding.
    """

    def __init__(self, *, covariance: bool = True, eps: float = EPS) -> None:
        self.covariance, self.eps = covariance, eps
        self.parts: list[tuple[int, Tensor]] = []  # (pixels, mean) of each part
        self.scatter: Tensor | None = None

    def add(self, feats: Tensor) -> None:
        n, mean, scatter = _moments(_flat(feats), self.covariance)
        self.scatter = scatter if self.scatter is None else self.scatter + scatter
        self.parts.append((n, mean))

    def result(self) -> FeatureStats:
        if self.scatter is None:
            raise ValueError("no features were added")
        n = sum(k for k, _ in self.parts)
        mean = self.parts[0][1] if len(self.parts) == 1 else sum(k * m for k, m in self.parts) / n
        scatter = self.scatter.clone()
        for k, m in self.parts:
            d = m - mean
            scatter += k * (d @ d.T if self.covariance else d.pow(2))
        if not self.covariance:
            return FeatureStats(mean, None, None, (scatter / n + self.eps).sqrt())  # type: ignore[arg-type]
        variance = scatter.diagonal().unsqueeze(1) / n
        eigvals, eigvecs = torch.linalg.eigh(scatter / max(n - 1, 1))
        return FeatureStats(mean, eigvecs, eigen_floor(eigvals, self.eps), (variance + self.eps).sqrt())  # type: ignore[arg-type]


def _mix(content: Tensor, transformed: Tensor, strength: float) -> Tensor:
    if strength != 1.0:
        transformed = strength * transformed + (1.0 - strength) * _flat(content).to(transformed.dtype)
    return _unflat(transformed, content).to(content.dtype)
