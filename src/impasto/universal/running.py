"""Content statistics carried from one video frame to the next, for steadier WCT and AdaIN.

Both transforms normalise each frame by its own feature statistics, so small changes between frames
(a hand entering, a light flickering) change the whitening or the channel scales of the whole frame,
and the picture pulses. :class:`RunningStats` replaces each frame's statistics at every level by an
exponential moving average, ``momentum * previous + (1 - momentum) * current``: the mean, the
covariance (WCT; re-decomposed in float64 with the same eigenvalue floor) and the variance (AdaIN).
The style's statistics do not change. ``momentum`` 0 is the per-frame transform.
"""

from __future__ import annotations

import torch

from ..errors import InputError
from .transforms import EPS, FeatureStats, eigen_floor


def blend_stats(previous: FeatureStats, current: FeatureStats, momentum: float) -> FeatureStats:
    """``momentum * previous + (1 - momentum) * current`` for the mean, variance and (when both have it)
    the covariance; float64."""
    m = float(momentum)
    mean = m * previous.mean + (1.0 - m) * current.mean
    std = (m * previous.std.pow(2) + (1.0 - m) * current.std.pow(2)).sqrt()
    if previous.eigvecs is None or current.eigvecs is None or previous.eigvals is None or current.eigvals is None:
        return FeatureStats(mean, None, None, std)
    cov = m * _covariance(previous) + (1.0 - m) * _covariance(current)
    eigvals, eigvecs = torch.linalg.eigh((cov + cov.T) / 2)
    return FeatureStats(mean, eigvecs, eigen_floor(eigvals, EPS), std)


def _covariance(stats: FeatureStats) -> torch.Tensor:
    e, d = stats.eigvecs, stats.eigvals
    assert e is not None and d is not None
    return (e * d) @ e.T


class RunningStats:
    """Per-level moving averages of content statistics; call it with ``(level, stats)`` per frame.

    Example:
        >>> import torch
        >>> from impasto.universal.transforms import feature_stats
        >>> running = RunningStats(0.5)
        >>> a = running("relu1_1", feature_stats(torch.zeros(2, 4, 4), covariance=False))
        >>> b = running("relu1_1", feature_stats(torch.ones(2, 4, 4), covariance=False))
        >>> b.mean.flatten().tolist()
        [0.5, 0.5]
    """

    def __init__(self, momentum: float) -> None:
        if not 0.0 <= momentum < 1.0:
            raise InputError(f"statistics smoothing must be in [0, 1) (0: off); got {momentum}")
        self.momentum = float(momentum)
        self.state: dict[str, FeatureStats] = {}

    def __call__(self, level: str, stats: FeatureStats) -> FeatureStats:
        previous = self.state.get(level)
        if previous is not None and self.momentum > 0:
            stats = blend_stats(previous, stats, self.momentum)
        self.state[level] = stats
        return stats

    def reset(self) -> None:
        """Forget the history (a new shot, or a resumed run)."""
        self.state.clear()
