"""The peak-memory estimate and the refusal of sizes that do not fit, before any compute."""

from __future__ import annotations

import pytest

import impasto
from impasto import GatysConfig, cli, memory


def test_estimate_grows_with_pixels_history_and_precision() -> None:
    kw = dict(device_type="cpu", optimizer="lbfgs", lbfgs_pairs=50)
    small = memory.estimate_peak_bytes(384, 512, precision="bf16", **kw)
    big = memory.estimate_peak_bytes(768, 1024, precision="bf16", **kw)
    assert big - memory.CPU_BASE_BYTES == pytest.approx(4 * (small - memory.CPU_BASE_BYTES), rel=1e-6)
    assert memory.estimate_peak_bytes(384, 512, precision="fp32", **kw) > small
    fewer_pairs = memory.estimate_peak_bytes(
        384, 512, precision="bf16", device_type="cpu", optimizer="lbfgs", lbfgs_pairs=5
    )
    assert fewer_pairs < small


def test_estimate_is_near_the_measured_default_run() -> None:
    """benchmarks: the default 512x384 run (bf16, 75 fine L-BFGS steps) peaked at 1.71 GB RSS on the CPU."""
    est = memory.estimate_peak_bytes(384, 512, device_type="cpu", precision="bf16", optimizer="lbfgs", lbfgs_pairs=75)
    assert 1.3e9 < est < 2.3e9


def test_largest_fitting_side_is_the_inverse_of_the_estimate() -> None:
    kw = dict(device_type="cpu", precision="bf16", optimizer="lbfgs", lbfgs_pairs=40)
    budget = 8 * 2**30
    side = memory.largest_fitting_side(3072, 4096, budget, **kw)
    h = lambda s: -(-3072 * s // 4096)  # noqa: E731
    assert memory.estimate_peak_bytes(h(side), side, **kw) <= budget
    assert memory.estimate_peak_bytes(h(side + 8), side + 8, **kw) > budget
    assert 1000 < side < 4096


def test_a_size_that_does_not_fit_is_refused_before_compute(monkeypatch, content_path, style_path) -> None:
    monkeypatch.setattr(memory, "available_bytes", lambda device: 2**30)
    steps = []
    with pytest.raises(impasto.InputError, match=r"needs about .* GiB .*image_size=\d+") as err:
        impasto.stylize(
            content_path, style_path, image_size=4096, num_iterations=5, precision="bf16", callback=steps.append
        )
    assert steps == []  # refused before the first step
    suggested = int(str(err.value).split("image_size=")[1].split()[0])
    assert 256 < suggested < 4096
    # and the suggested size is accepted by the same check
    import torch

    from impasto.gatys import check_memory

    # (5 steps over the 5 levels 256..4096: one step, one L-BFGS pair at the finest level)
    plan = check_memory(GatysConfig(), (suggested * 3 // 4, suggested), torch.device("cpu"), "bf16", 1)
    assert plan.estimate <= 0.9 * 2**30


def test_cli_reports_it_on_one_line(monkeypatch, capsys, tmp_path, content_path, style_path) -> None:
    monkeypatch.setattr(memory, "available_bytes", lambda device: 2 * 2**30)
    out = tmp_path / "big.png"
    rc = cli.main(["stylize", str(content_path), str(style_path), "-o", str(out), "--image-size", "6000", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "needs about" in err[0]
    assert not out.exists()


def test_checkpointing_is_switched_on_only_when_needed(monkeypatch, content_path, style_path) -> None:
    kw = dict(device_type="cpu", precision="fp32", optimizer="lbfgs", lbfgs_pairs=4)
    plain = memory.estimate_peak_bytes(48, 64, **kw)
    saving = memory.estimate_peak_bytes(48, 64, recompute=True, **kw)
    assert saving < plain
    run = dict(image_size=64, num_iterations=4, precision="fp32", seed=0, tiling="off")
    monkeypatch.setattr(memory, "available_bytes", lambda device: int((plain + saving) / 2 / 0.9))
    tight = impasto.stylize(content_path, style_path, **run)
    monkeypatch.setattr(memory, "available_bytes", lambda device: 10 * plain)
    roomy = impasto.stylize(content_path, style_path, **run)
    assert tight.extra["recompute"] == "on" and roomy.extra["recompute"] == "off"
    # checkpointing recomputes, it does not change the maths
    assert [h["total"] for h in tight.history] == pytest.approx([h["total"] for h in roomy.history], rel=1e-5)
    monkeypatch.setattr(memory, "available_bytes", lambda device: int((plain + saving) / 2 / 0.9))
    with pytest.raises(impasto.InputError, match='recompute="on"'):
        impasto.stylize(content_path, style_path, checkpoint="off", **run)  # the old name of recompute


# --- issue 13: planning is closed-form and bounded for every option value -------------------------


def _old_plan_order(hw, budget, *, optimizer, lbfgs_history, steps, tiles):
    """The search the planner replaced (every history length x every big tile, then small tiles):
    the reference the closed form must agree with."""
    kw = dict(device_type="cpu", precision="bf16", optimizer=optimizer)
    pairs = min(lbfgs_history, steps)
    smallest = min(pairs, memory.MIN_LBFGS_PAIRS)
    fewer = range(pairs, smallest - 1, -1) if optimizer == "lbfgs" else [pairs]
    big = [t for t in tiles if t >= 1024] or tiles[:1]
    order = [(p, t) for p in fewer for t in big] + [(smallest, t) for t in tiles if t not in big]
    for p, t in order:
        if memory.estimate_peak_bytes(*hw, lbfgs_pairs=p, tile=t, **kw) <= budget:
            return t, p
    return None


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_the_closed_form_plan_agrees_with_the_search_it_replaced(optimizer) -> None:
    checked = 0
    for hw in [(1536, 2048), (3072, 4096), (2000, 2500), (6000, 8000)]:
        tiles = [t for t in memory.TILE_SIZES if t < max(hw)]
        for gib in [3, 5, 6, 8, 10, 12, 16, 24, 40]:
            budget = gib * 2**30
            want = _old_plan_order(hw, budget, optimizer=optimizer, lbfgs_history=100, steps=60, tiles=tiles)
            try:
                plan = memory.plan_memory(
                    hw,
                    budget,
                    device_type="cpu",
                    precision="bf16",
                    optimizer=optimizer,
                    lbfgs_history=100,
                    steps=60,
                    tiling="on" if gib < 0 else "auto",
                )
            except memory.DoesNotFit:
                assert want is None
                continue
            if plan.tile is None:  # one pass fits: the search was not needed
                continue
            pairs = plan.estimate_kwargs["lbfgs_pairs"]
            assert (plan.tile, pairs) == want, (hw, gib)
            checked += 1
    assert checked >= 5


def test_the_largest_padded_tile_is_computed_without_listing_tiles() -> None:
    from impasto.tiles import tile_grid

    def padded_tile_pixels(h: int, w: int, tile: int) -> int:  # the oracle: list every tile
        return max((t.padded[1] - t.padded[0]) * (t.padded[3] - t.padded[2]) for t in tile_grid(h, w, tile))

    for h, w, tile in [(100, 300, 128), (333, 17, 64), (1537, 4096, 1024), (5000, 7777, 256), (48, 64, 2048)]:
        assert memory.largest_padded_tile_pixels(h, w, tile) == padded_tile_pixels(h, w, tile)
    # a billion pixels a side would be 10^12 tiles; the closed form does not care
    assert memory.largest_padded_tile_pixels(10**9, 10**9, 256) == (256 + 2 * 96) ** 2


def test_a_billion_pixel_request_is_answered_at_once_with_the_largest_size_that_fits() -> None:
    import tracemalloc

    tracemalloc.start()  # the old planner listed every tile: 23 GB here
    with pytest.raises(memory.DoesNotFit) as err:
        memory.plan_memory(
            (750_000_000, 10**9),
            16 * 2**30,
            device_type="cpu",
            precision="bf16",
            optimizer="lbfgs",
            lbfgs_history=10**9,
            steps=10**9,
        )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2**20
    side = err.value.largest
    assert 1000 < side < 20000
    # the answer is right: that size plans within the budget, a little more does not
    fits = memory.plan_memory(
        (side * 3 // 4, side),
        16 * 2**30,
        device_type="cpu",
        precision="bf16",
        optimizer="lbfgs",
        lbfgs_history=100,
        steps=100,
    )
    assert fits.estimate <= 16 * 2**30


def test_without_a_known_budget_absurd_sizes_are_still_refused() -> None:
    with pytest.raises(impasto.InputError, match="65535"):
        memory.plan_memory(
            (10**6, 10**6), None, device_type="cpu", precision="bf16", optimizer="lbfgs", lbfgs_history=100, steps=10
        )


def test_pyramid_level_count_matches_the_pyramid_and_refuses_a_factor_near_one() -> None:
    from impasto.optim.levels import pyramid_sizes

    for size, smallest, factor in [
        (512, 256, 2.0),
        (2048, 256, 2.0),
        (1000, 256, 2.0),
        (400, 256, 2.0),
        (4096, 64, 1.5),
        (3000, 100, 1.2),
    ]:
        assert memory.pyramid_level_count(size, smallest, factor) == len(
            pyramid_sizes(size, min_size=smallest, factor=factor)
        )
    assert memory.pyramid_level_count(4096, 16, 1.000000000001, "off") == 1
    with pytest.raises(impasto.InputError, match=r"levels; at most 32"):
        memory.pyramid_level_count(512, 256, 1.000000000001, "on")
    with pytest.raises(impasto.InputError, match="image_size"):
        memory.pyramid_level_count(10**30, 256, 2.0)


def test_style_sizes_are_planned_too() -> None:
    plan = memory.plan_memory(
        (384, 512), 4 * 2**30, device_type="cpu", precision="bf16", optimizer="lbfgs", lbfgs_history=100, steps=100
    )
    assert memory.check_style_memory([(600, 800)], 512, [1.0], plan) == [(384, 512)]
    with pytest.raises(impasto.InputError, match=r"style scale of at most 128"):
        memory.check_style_memory([(600, 800)], 512, [1_000_000.0], plan)
    with pytest.raises(impasto.InputError, match=r"style 2 .*GiB.*style scale of at most") as err:
        memory.check_style_memory([(600, 800), (600, 800)], 512, [1.0, 100.0], plan)
    largest = float(str(err.value).rsplit(" ", 1)[1])
    assert 1.0 < largest < 100.0
    memory.check_style_memory([(600, 800)], 512, [largest * 0.99], plan)  # the suggestion fits
    with pytest.raises(impasto.InputError, match="style scale"):
        memory.check_scales(512, 256, 2.0, "auto", [float("inf")])
