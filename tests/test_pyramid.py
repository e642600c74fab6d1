"""Coarse-to-fine schedule: level sizes, step split, and the level-by-level driver."""

from __future__ import annotations

import doctest

import pytest
import torch

import impasto
from impasto.config import GatysConfig
from impasto.optim import pyramid
from impasto.optim.pyramid import pyramid_sizes, steps_per_level


def test_doctests() -> None:
    assert doctest.testmod(pyramid).failed == 0


@pytest.mark.parametrize(
    "size,expected", [(512, [256, 512]), (511, [511]), (768, [384, 768]), (4096, [256, 512, 1024, 2048, 4096])]
)
def test_sizes_end_at_the_requested_size_and_never_go_below_min(size: int, expected: list[int]) -> None:
    sizes = pyramid_sizes(size, min_size=256, factor=2.0)
    assert sizes == expected
    assert sizes[-1] == size and min(sizes) >= 256


def test_steps_add_up_and_finer_levels_get_the_ratio() -> None:
    for total in (3, 10, 300, 1001):
        for levels in (1, 2, 5):
            steps = steps_per_level(total, levels, 1 / 3)
            assert sum(steps) == max(total, levels) and len(steps) == levels and min(steps) >= 1
    assert steps_per_level(400, 3, 0.5) == [200, 100, 100]


def test_config_scale_sizes_follow_the_multiscale_switch() -> None:
    assert GatysConfig(image_size=512).scale_sizes() == [256, 512]
    assert GatysConfig(image_size=512, multiscale="off").scale_sizes() == [512]
    assert GatysConfig(image_size=256).scale_sizes() == [256]
    assert GatysConfig(image_size=300, min_scale=100, scale_factor=1.5).scale_sizes() == [133, 200, 300]


@pytest.mark.slow
def test_multiscale_run_reports_global_steps_and_ends_at_full_size(content_path, style_path) -> None:
    events = []
    result = impasto.stylize(
        content_path,
        style_path,
        image_size=96,
        min_scale=48,
        num_iterations=12,
        seed=0,
        callback=lambda e: events.append((e.step, e.total, e.stage, tuple(e.image.shape))),
    )
    assert [e[0] for e in events] == list(range(1, 13)) and all(e[1] == 12 for e in events)
    stages = sorted({e[2] for e in events})
    assert stages == ["scale 1/2 (48x36)", "scale 2/2 (96x72)"]
    assert events[0][3] == (1, 3, 36, 48) and events[-1][3] == (1, 3, 72, 96)
    assert result.array.shape == (72, 96, 3)
    assert result.extra["scales"] == "48,96"
    assert len(result.history) == 12


@pytest.mark.slow
def test_precision_is_resolved_and_recorded(content_path, style_path) -> None:
    from impasto.device import resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    assert resolve_precision("auto", cpu) in ("fp32", "bf16")
    with pytest.raises(impasto.InputError):
        resolve_precision("fp8", cpu)
    r32 = impasto.stylize(content_path, style_path, image_size=48, num_iterations=3, precision="fp32", seed=0)
    r16 = impasto.stylize(content_path, style_path, image_size=48, num_iterations=3, precision="bf16", seed=0)
    assert r32.extra["precision"] == "fp32" and r16.extra["precision"] == "bf16"
    # bf16 autocast changes the losses a little, not a lot (Gram matrices and sums stay fp32)
    assert r16.history[0]["total"] == pytest.approx(r32.history[0]["total"], rel=0.03)
