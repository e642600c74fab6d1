"""Evaluation: SSIM against scikit-image (the oracle), PSNR, the VGG distances, ``impasto.evaluate``
and ``impasto evaluate``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from impasto.api import evaluate, load_image
from impasto.cli import main
from impasto.eval.metrics import psnr, ssim

skimage_metrics = pytest.importorskip("skimage.metrics")  # in the dev extra, so CI has it


def photo(path, size=(96, 72)) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").resize(size, Image.Resampling.BICUBIC), dtype=np.float32) / 255


def oracle_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(
        skimage_metrics.structural_similarity(
            a.astype(np.float64),
            b.astype(np.float64),
            data_range=1.0,
            channel_axis=2,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )


@pytest.fixture(scope="module")
def pairs(content_path, style_path):
    content, style = photo(content_path), photo(style_path)
    rng = np.random.default_rng(0)
    noisy = np.clip(content + rng.normal(0, 0.05, content.shape), 0, 1).astype(np.float32)
    blurred = (
        np.asarray(
            Image.fromarray((content * 255).round().astype(np.uint8)).resize((48, 36)).resize((96, 72)), np.float32
        )
        / 255
    )
    return content, {"style": style, "noisy": noisy, "blurred": blurred, "dark": content * 0.7}


def test_ssim_of_an_image_with_itself_is_one(pairs):
    content, _ = pairs
    assert ssim(content, content) == 1.0


def test_psnr_of_identical_images_is_infinite(pairs):
    content, _ = pairs
    assert psnr(content, content) == math.inf


@pytest.mark.parametrize("name", ["style", "noisy", "blurred", "dark"])
def test_ssim_matches_scikit_image(pairs, name):
    content, others = pairs
    assert ssim(content, others[name]) == pytest.approx(oracle_ssim(content, others[name]), abs=1e-6)


def test_ssim_matches_scikit_image_on_float32_and_greyscale(pairs):
    content, others = pairs
    a, b = content[..., 1], others["noisy"][..., 1]
    ref = skimage_metrics.structural_similarity(
        a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )  # computed in float32 by skimage
    assert ssim(a, b) == pytest.approx(float(ref), abs=1e-4)


@pytest.mark.parametrize("name", ["style", "noisy", "dark"])
def test_psnr_matches_scikit_image(pairs, name):
    content, others = pairs
    ref = skimage_metrics.peak_signal_noise_ratio(
        content.astype(np.float64), others[name].astype(np.float64), data_range=1.0
    )
    assert psnr(content, others[name]) == pytest.approx(ref, rel=1e-9)


def test_psnr_of_a_known_error():
    a = np.zeros((4, 4, 3))
    assert psnr(a, a + 0.1) == pytest.approx(20.0)  # 10 log10(1 / 0.01)


def test_ssim_orders_degradations(pairs):
    content, others = pairs
    rng = np.random.default_rng(1)
    values = [ssim(content, np.clip(content + rng.normal(0, s, content.shape), 0, 1)) for s in (0.02, 0.08, 0.2)]
    assert values[0] > values[1] > values[2]
    assert ssim(content, others["style"]) < 0.3
    assert ssim(content, others["noisy"]) == pytest.approx(ssim(others["noisy"], content), abs=1e-12)


def test_ssim_refuses_bad_shapes():
    with pytest.raises(ValueError, match="same shape"):
        ssim(np.zeros((20, 20, 3)), np.zeros((20, 21, 3)))
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((8, 20)), np.zeros((8, 20)))


# ---------------------------------------------------------------- impasto.evaluate


@pytest.fixture(scope="module")
def evaluation(content_path, style_path):
    content = load_image(content_path)
    rng = np.random.default_rng(2)
    noisy = np.clip(content + rng.normal(0, 0.03, content.shape), 0, 1).astype(np.float32)
    return evaluate(
        content_path,
        style_path,
        [noisy, style_path],
        names=["noisy photo", "the painting"],
        image_size=64,
        device="cpu",
    )


def test_evaluate_reference_rows(evaluation):
    rows = {r.name: r for r in evaluation.rows}
    assert list(rows) == ["content", "style", "noisy photo", "the painting"]
    assert evaluation.size == (48, 64)
    assert rows["content"].ssim == 1.0 and rows["content"].psnr == math.inf
    assert rows["content"].content_distance == 0.0
    assert rows["style"].style_distance == pytest.approx(0.0, abs=1e-6)
    assert rows["content"].style_distance > 100 * max(rows["style"].style_distance, 1e-9)


def test_evaluate_orders_results_sensibly(evaluation):
    rows = {r.name: r for r in evaluation.rows}
    noisy, painting = rows["noisy photo"], rows["the painting"]
    assert noisy.ssim > 0.5 > painting.ssim
    assert noisy.psnr > painting.psnr
    assert noisy.content_distance < painting.content_distance
    assert painting.style_distance < noisy.style_distance
    # the painting given as a result is scored like the style row (same image; only the resizing differs)
    assert painting.ssim == pytest.approx(rows["style"].ssim, abs=0.05)


def test_evaluate_style_distance_by_layer(evaluation, content_path, style_path):
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    for row in evaluation.rows:
        assert list(row.style_by_layer) == layers
        assert sum(row.style_by_layer.values()) == pytest.approx(row.style_distance, rel=1e-12)
    # each term is that layer's own Gram distance: a judge of one layer gives the same number
    from impasto.eval.metrics import FeatureDistances
    from impasto.transforms import resize_long_side, to_tensor

    content = resize_long_side(to_tensor(load_image(content_path), "cpu"), 64)
    style = resize_long_side(to_tensor(load_image(style_path), "cpu"), 64)
    noisy = {r.name: r for r in evaluation.rows}["noisy photo"]
    judge = FeatureDistances(content, style, style_layers=("relu2_1",))
    assert judge(to_tensor(evaluation.images[2], "cpu"))[1] == pytest.approx(noisy.style_by_layer["relu2_1"], rel=1e-5)
    assert len(set(noisy.style_by_layer.values())) == len(layers)  # not one number copied five times


def test_evaluate_json_writes_null_for_infinite_psnr(evaluation):
    data = json.loads(json.dumps(evaluation.as_dict()))
    assert data["images"][0]["psnr"] is None
    assert data["images"][2]["psnr"] > 20
    assert data["size"] == [64, 48]
    assert sum(data["images"][2]["style_by_layer"].values()) == pytest.approx(data["images"][2]["style_distance"])


def test_cli_evaluate_json_and_sheet(tmp_path, capsys, content_path, style_path):
    sheet = tmp_path / "sheet.png"
    paths = [str(content_path), str(style_path), str(content_path)]
    code = main(["evaluate", *paths, *"--json --image-size 48 --device cpu -q".split(), "--sheet", str(sheet)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    names = [row["name"] for row in data["images"]]
    assert names == ["content", "style", "tubingen.jpg"]
    assert data["images"][2]["ssim"] == pytest.approx(1.0) and data["images"][2]["psnr"] is None
    with Image.open(sheet) as im:
        assert im.format == "PNG" and im.width > 300


def test_cli_evaluate_table(capsys, content_path, style_path):
    assert (
        main(["evaluate", str(content_path), str(style_path), str(style_path), "--image-size", "48", "--device", "cpu"])
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:3] == ["image", "SSIM", "PSNR"]
    assert lines[1].split()[:3] == ["content", "1.000", "inf"]
    assert len(lines) == 4


def test_cli_evaluate_by_layer(capsys, content_path, style_path):
    args = [str(content_path), str(style_path), str(content_path), "--image-size", "48", "--device", "cpu"]
    assert main(["evaluate", *args, "--by-layer"]) == 0
    out = capsys.readouterr().out
    table = out.split("style distance by layer\n")[1].strip().splitlines()
    assert table[0].split() == ["image", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    by_name = {line.split()[0]: [float(x) for x in line.split()[1:]] for line in table[1:]}
    totals = {line.split()[0]: float(line.split()[4]) for line in out.splitlines()[1:4]}
    assert sum(by_name["content"]) == pytest.approx(totals["content"], rel=1e-3)
    assert max(by_name["style"]) < 1e-6 < min(by_name["content"])


def test_cli_evaluate_missing_result_is_one_line_and_no_sheet(tmp_path, capsys, content_path, style_path):
    sheet = tmp_path / "sheet.png"
    code = main(["evaluate", str(content_path), str(style_path), str(tmp_path / "missing.png"), "--sheet", str(sheet)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "missing.png" in err
    assert not sheet.exists()


def test_a_result_of_another_aspect_ratio_is_compared_with_a_warning(caplog):
    """A stretched comparison is allowed (the painting is a reference row) but never silent."""
    import logging

    import torch

    from impasto.eval.inputs import check_evaluation

    with caplog.at_level(logging.WARNING, logger="impasto.eval.inputs"):
        size = check_evaluation((768, 1024), [(768, 1024), (640, 1024)], ["same", "wide"], 64, torch.device("cpu"))
    assert size == 64
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and "wide" in warned[0] and "stretched" in warned[0]
