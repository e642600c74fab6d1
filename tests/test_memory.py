"""The peak-memory estimate and the refusal of sizes that do not fit, before any compute."""

from __future__ import annotations

import pytest

import impasto
from impasto import cli, memory


def test_estimate_grows_with_pixels_history_and_precision() -> None:
    kw = dict(device_type="cpu", optimizer="lbfgs", lbfgs_pairs=50)
    small = memory.estimate_peak_bytes(384, 512, precision="bf16", **kw)
    big = memory.estimate_peak_bytes(768, 1024, precision="bf16", **kw)
    assert big - memory.CPU_BASE_BYTES == pytest.approx(4 * (small - memory.CPU_BASE_BYTES), rel=1e-6)
    assert memory.estimate_peak_bytes(384, 512, precision="fp32", **kw) > small
    fewer_pairs = memory.estimate_peak_bytes(384, 512, precision="bf16", device_type="cpu", optimizer="lbfgs",
                                             lbfgs_pairs=5)
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
        impasto.stylize(content_path, style_path, image_size=4096, num_iterations=5, precision="bf16",
                        callback=steps.append)
    assert steps == []  # refused before the first step
    suggested = int(str(err.value).split("image_size=")[1].split()[0])
    assert 256 < suggested < 4096
    # and the suggested size is accepted by the same check
    from impasto.gatys import check_memory
    import torch

    # (5 steps over the 5 levels 256..4096: one step, one L-BFGS pair at the finest level)
    plan = check_memory((suggested * 3 // 4, suggested), torch.device("cpu"), "bf16", "lbfgs", 100, 1)
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
