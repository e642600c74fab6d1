"""Tiled evaluation of the Gatys objective: the same loss and gradient as one VGG pass, on real images."""

from __future__ import annotations

import pytest
import torch

import impasto
from impasto import GatysConfig, memory
from impasto.features.vgg import FeatureExtractor
from impasto.io import read_image
from impasto.losses.perceptual import StyleTransferLoss
from impasto.losses.tiled import TiledStyleTransferLoss
from impasto.tiles import ALIGN, MARGIN, tile_grid
from impasto.transforms import resize_long_side, to_tensor

LAYERS = ["relu4_2", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CPU = torch.device("cpu")


@pytest.mark.parametrize("hw,tile", [((100, 300), 128), ((768, 1024), 256), ((37, 45), 32), ((3072, 4096), 1536)])
def test_tile_cores_partition_the_image_on_aligned_edges(hw, tile) -> None:
    h, w = hw
    cover = torch.zeros(h, w, dtype=torch.int32)
    for t in tile_grid(h, w, tile):
        y0, y1, x0, x1 = t.core
        cover[y0:y1, x0:x1] += 1
        assert y0 % ALIGN == 0 and x0 % ALIGN == 0
        assert (y1 - y0) <= max(tile, ALIGN) + ALIGN and (x1 - x0) <= max(tile, ALIGN) + ALIGN
        py0, py1, px0, px1 = t.padded
        assert py0 == max(0, y0 - MARGIN) and py1 == min(h, y1 + MARGIN)
        assert px0 == max(0, x0 - MARGIN) and px1 == min(w, x1 + MARGIN)
    assert bool((cover == 1).all())


@pytest.fixture(scope="module")
def images(content_path, style_path):
    content = resize_long_side(to_tensor(read_image(content_path), CPU), 176)  # 176 x 132: not a multiple of 32
    style = resize_long_side(to_tensor(read_image(style_path), CPU), 160)
    generator = torch.Generator().manual_seed(0)
    start = (content + 0.1 * torch.randn(content.shape, generator=generator)).clamp(0, 1)
    return content, style, start


def _loss_and_grad(loss, x):
    x = x.clone().requires_grad_(True)
    terms = loss(x)
    terms.total.backward()
    return terms.as_floats(), x.grad


def _masks(content):
    left = torch.zeros(1, 1, *content.shape[-2:])
    left[..., : content.shape[-1] // 2 + 5] = 1.0
    return [left, None]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"gram_norm": "hw", "content_reduction": "sum", "tv_kind": "l1", "pooling": "avg"},
        {"gram_norm": "paper", "content_reduction": "paper", "two_styles": True, "masks": True},
    ],
)
@pytest.mark.slow
def test_tiled_loss_and_gradient_equal_one_pass(images, options, one_thread) -> None:
    content, style, start = images
    options = dict(options)
    pooling = options.pop("pooling", "max")
    fx = FeatureExtractor(LAYERS, pooling=pooling)
    styles = [style, style.flip(-1)[..., :96, :]] if options.pop("two_styles", False) else style
    if options.pop("masks", False):
        options["style_masks"] = _masks(content)
    kw = dict(content_layers=["relu4_2"], style_layers=LAYERS[1:], style_blend_weights=None, **options)
    if isinstance(styles, list):
        kw["style_blend_weights"] = [0.7, 0.3]
    whole = StyleTransferLoss(fx, content, styles, **kw)
    tiled = TiledStyleTransferLoss(fx, content, styles, tile_size=64, **kw)
    assert len(tile_grid(*content.shape[-2:], 64)) == 9
    for k, target in whole.content_targets.items():
        torch.testing.assert_close(tiled.content_targets[k], target, rtol=1e-5, atol=1e-4)
    ref_terms, ref_grad = _loss_and_grad(whole, start)
    terms, grad = _loss_and_grad(tiled, start)
    for name in ("content", "style", "tv", "total"):
        assert terms[name] == pytest.approx(ref_terms[name], rel=1e-5, abs=1e-6)
    err = float((grad - ref_grad).abs().max() / ref_grad.abs().max())
    assert err < 2e-6


@pytest.mark.slow
def test_a_margin_narrower_than_the_receptive_field_is_not_exact(images, one_thread) -> None:
    """The 96 px margin is what makes tiling exact: with 32 px the deep features at tile edges differ."""
    content, style, start = images
    fx = FeatureExtractor(LAYERS)
    whole = StyleTransferLoss(fx, content, style)
    narrow = TiledStyleTransferLoss(fx, content, style, tile_size=64, margin=32)
    ref_terms, ref_grad = _loss_and_grad(whole, start)
    terms, grad = _loss_and_grad(narrow, start)
    assert float((grad - ref_grad).abs().max() / ref_grad.abs().max()) > 2e-5


@pytest.mark.slow
def test_the_gradient_of_each_term_is_its_own(images, one_thread) -> None:
    """The backward pass weights the content and style parts by their own incoming gradients."""
    content, style, start = images
    fx = FeatureExtractor(LAYERS)
    whole = StyleTransferLoss(fx, content, style, tv_weight=0)
    tiled = TiledStyleTransferLoss(fx, content, style, tv_weight=0, tile_size=96)
    grads = []
    for loss in (whole, tiled):
        x = start.clone().requires_grad_(True)
        terms = loss(x)
        (2.0 * terms.content + 0.5 * terms.style).backward()
        grads.append(x.grad)
    assert float((grads[1] - grads[0]).abs().max() / grads[0].abs().max()) < 1e-5
    with torch.no_grad():  # judging without a gradient runs the first pass only
        assert tiled(start).as_floats()["total"] == pytest.approx(whole(start).as_floats()["total"], rel=1e-5)


@pytest.mark.slow
def test_stylize_with_tiles_follows_the_same_path(content_path, style_path, one_thread) -> None:
    run = dict(image_size=128, num_iterations=5, precision="fp32", multiscale="off", seed=0)
    plain = impasto.stylize(content_path, style_path, tiling="off", **run)
    tiled = impasto.stylize(content_path, style_path, tiling="on", tile_size=64, **run)
    assert tiled.extra["tile_size"] == "64" and plain.extra["tile_size"] == "off"
    assert [h["total"] for h in tiled.history] == pytest.approx([h["total"] for h in plain.history], rel=1e-4)
    diff = abs(tiled.array - plain.array)  # float summation order differs; L-BFGS amplifies it a little
    assert diff.mean() < 1e-4 and diff.max() < 1e-2


@pytest.mark.slow
def test_cli_tiles_on_request_and_says_so(tmp_path, capsys, content_path, style_path, one_thread) -> None:
    import json

    from impasto import cli

    out = tmp_path / "tiled.png"
    rc = cli.main(
        [
            "stylize",
            str(content_path),
            str(style_path),
            "-o",
            str(out),
            "--image-size",
            "128",
            "--num-iterations",
            "2",
            "--multiscale",
            "off",
            "--tiling",
            "on",
            "--tile-size",
            "64",
            "--json",
            "-q",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert rc == 0 and out.is_file()
    assert summary["run"]["tile_size"] == "64" and int(summary["run"]["memory_estimate_mb"]) > 0
    assert cli.main(["stylize", str(content_path), str(style_path), "-o", str(out), "--tile-size", "8"]) == 2


@pytest.mark.slow
def test_a_memory_cap_makes_the_plan_tile(monkeypatch, content_path, style_path) -> None:
    from impasto.gatys import check_memory

    monkeypatch.setattr(memory, "available_bytes", lambda device: 64 * 2**30)
    args = ((1536, 2048), CPU, "bf16", 10)
    free = check_memory(GatysConfig(), *args)
    capped = check_memory(GatysConfig(max_memory=6.0), *args)
    assert free.tile is None and capped.tile is not None and capped.estimate <= 6e9
    with pytest.raises(impasto.InputError, match=r"GiB is allowed .*image_size=\d+"):
        impasto.stylize(content_path, style_path, image_size=2048, max_memory=0.5)
    # refused before the content is resized to a size that could not even be allocated
    for multiscale in ("auto", "off"):
        with pytest.raises(impasto.InputError, match=r"GiB is free .*image_size=\d+"):
            impasto.stylize(content_path, style_path, image_size=100_000, multiscale=multiscale)


def test_the_plan_tiles_only_what_does_not_fit() -> None:
    kw = dict(device_type="cpu", precision="bf16", optimizer="lbfgs", lbfgs_history=100, steps=40)
    untiled = memory.estimate_peak_bytes(
        3072, 4096, device_type="cpu", precision="bf16", optimizer="lbfgs", lbfgs_pairs=40, recompute=True
    )
    budget = 20 * 2**30
    assert untiled > budget
    plan = memory.plan_memory((3072, 4096), budget, **{**kw, "steps": 10})
    assert plan.tile is not None and plan.estimate <= budget and plan.lbfgs_history == 100
    assert plan.tile_for((3072, 4096)) == plan.tile
    assert plan.tile_for((768, 1024)) is None  # the coarser levels run in one pass
    # tighter budgets: a shorter L-BFGS history with tiles of 1024 px or more, then smaller tiles,
    # then a refusal
    tight = memory.plan_memory((3072, 4096), 12 * 2**30, **kw)
    assert 5 < tight.lbfgs_history < 40 and tight.estimate <= 12 * 2**30 and tight.tile >= 1024
    tighter = memory.plan_memory((3072, 4096), 8 * 2**30, **kw)
    assert tighter.lbfgs_history == 5 and tighter.estimate <= 8 * 2**30 and tighter.tile < 1024
    with pytest.raises(memory.DoesNotFit) as err:
        memory.plan_memory((3072, 4096), 2 * 2**30, **kw)
    assert 1024 < err.value.largest < 4096
    with pytest.raises(memory.DoesNotFit):
        memory.plan_memory((3072, 4096), budget, tiling="off", **kw)
    assert memory.plan_memory((384, 512), budget, **kw).tile is None
