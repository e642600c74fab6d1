"""Content statistics carried over video frames (impasto.universal.running) and their use in the cascade."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from impasto.errors import InputError
from impasto.nets.decoder import VGGDecoder
from impasto.universal.cascade import Encoder, stylize_tensor
from impasto.universal.running import RunningStats, blend_stats
from impasto.universal.transforms import feature_stats


def _covariance(stats):
    return (stats.eigvecs * stats.eigvals) @ stats.eigvecs.T


def test_blend_is_the_weighted_mean_of_mean_variance_and_covariance():
    torch.manual_seed(0)
    a, b = feature_stats(torch.rand(6, 9, 9)), feature_stats(3 * torch.rand(6, 9, 9) + 1)
    m = 0.7
    out = blend_stats(a, b, m)
    torch.testing.assert_close(out.mean, m * a.mean + (1 - m) * b.mean)
    torch.testing.assert_close(out.std.pow(2), m * a.std.pow(2) + (1 - m) * b.std.pow(2))
    torch.testing.assert_close(_covariance(out), m * _covariance(a) + (1 - m) * _covariance(b))
    assert out.eigvals.dtype == torch.float64


def test_adain_statistics_blend_without_a_covariance():
    a = feature_stats(torch.zeros(3, 4, 4), covariance=False)
    b = feature_stats(torch.ones(3, 4, 4) * 2, covariance=False)
    out = blend_stats(a, b, 0.25)
    assert out.eigvecs is None and out.eigvals is None
    assert out.mean.flatten().tolist() == pytest.approx([1.5] * 3)


def test_running_stats_is_an_exponential_moving_average_per_level():
    running = RunningStats(0.5)
    for value in (0.0, 4.0, 8.0):
        out = running("relu1_1", feature_stats(torch.full((2, 3, 3), value), covariance=False))
    assert out.mean.flatten().tolist() == pytest.approx([5.0, 5.0])  # 0 -> 2 -> 5
    other = running("relu2_1", feature_stats(torch.full((2, 3, 3), 1.0), covariance=False))
    assert other.mean.flatten().tolist() == pytest.approx([1.0, 1.0])  # levels keep their own history
    running.reset()
    again = running("relu1_1", feature_stats(torch.full((2, 3, 3), 9.0), covariance=False))
    assert again.mean.flatten().tolist() == pytest.approx([9.0, 9.0])


@pytest.mark.parametrize("momentum", [-0.1, 1.0, 2.0])
def test_momentum_outside_zero_one_is_refused(momentum):
    with pytest.raises(InputError, match="in \\[0, 1\\)"):
        RunningStats(momentum)


def _flickering_frames(n: int = 6) -> list[torch.Tensor]:
    """A fixed scene with a bright patch that comes and goes: per-frame statistics jump."""
    rng = np.random.default_rng(0)
    base = torch.from_numpy(rng.random((3, 48, 64), dtype=np.float32)) * 0.5
    frames = []
    for i in range(n):
        f = base.clone()
        if i % 2:
            f[:, 4:20, 40:60] = 1.0
        frames.append(f.unsqueeze(0))
    return frames


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_smoothed_statistics_steady_the_part_of_the_frame_that_does_not_change(method):
    """Where the scene stays the same, consecutive outputs differ less with the running statistics."""
    torch.manual_seed(0)
    decoders = {lv: VGGDecoder(lv, width=0.25).eval() for lv in ("relu2_1", "relu1_1")}
    encoder = Encoder("relu2_1")
    style = torch.rand(1, 3, 40, 40)
    frames = _flickering_frames()
    calls: list[str] = []

    def run(running):
        def hook(level, stats):
            calls.append(level)
            return stats if running is None else running(level, stats)

        with torch.no_grad():
            return [stylize_tensor(f, [style], encoder, decoders, method=method, content_stats=hook) for f in frames]

    plain, smoothed = run(None), run(RunningStats(0.8))
    assert calls[:2] == ["relu2_1", "relu1_1"]  # deepest level first, once per level and frame
    assert len(calls) == 2 * 2 * len(frames)
    static = (slice(None), slice(None), slice(28, 48), slice(0, 32))  # far from the patch

    def change(outs):
        return sum(float((b - a)[static].abs().mean()) for a, b in zip(outs, outs[1:]))

    assert change(smoothed) < 0.7 * change(plain)
    torch.testing.assert_close(smoothed[0], plain[0])  # the first frame has no history
