"""Applying feed-forward networks: any size, batching, colour preservation, files and folders, the CLI,
fp16 export, and the shipped Starry Night model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from impasto.api import load_image
from impasto.cli import main
from impasto.color import rgb_to_yiq
from impasto.errors import InputError
from impasto.feedforward.apply import stylize_arrays, stylize_files
from impasto.feedforward.export import export_model
from impasto.feedforward.model import FastModel, load_model, shipped_models
from impasto.io import read_image
from impasto.nets import create_net
from impasto.transforms import resize_long_side, to_array, to_tensor


def _tiny_model() -> FastModel:
    torch.manual_seed(3)
    net = create_net("johnson", width=4, blocks=1, kernel=3)
    with torch.no_grad():  # move the output into [0, 1] so clamping does not hide differences
        net.tail.conv.bias.fill_(0.5)
    return FastModel(net.eval(), "tiny", "johnson", {"width": 4, "blocks": 1, "kernel": 3})


@pytest.fixture()
def model_file(tmp_path: Path) -> Path:
    return export_model(_tiny_model(), tmp_path / "tiny.pt", half=False)


def test_any_size_and_batching_give_the_same_result(model_file: Path) -> None:
    rng = np.random.default_rng(0)
    images = [
        rng.random((37, 53, 3), dtype=np.float32),
        rng.random((20, 21, 3), dtype=np.float32),
        rng.random((37, 53, 3), dtype=np.float32),
    ]
    together = stylize_arrays(images, model_file, batch_size=4, device="cpu")
    alone = [stylize_arrays([im], model_file, device="cpu")[0] for im in images]
    assert [o.shape for o in together] == [im.shape for im in images]
    for a, b in zip(together, alone):
        assert np.allclose(a, b, atol=1e-5)
        assert a.min() >= 0 and a.max() <= 1
    assert not np.allclose(together[0], together[2], atol=1e-2)  # different photos, different results
    shrunk = stylize_arrays(images[:1], model_file, max_size=26, device="cpu")[0]
    assert shrunk.shape == (18, 26, 3)


def test_preserve_color_keeps_the_photos_chroma_and_the_results_luminance(model_file: Path, content_path: Path) -> None:
    photo = to_array(resize_long_side(to_tensor(load_image(content_path)), 96))
    plain = stylize_arrays([photo], model_file, device="cpu")[0]
    kept = stylize_arrays([photo], model_file, device="cpu", preserve_color=True)[0]
    yiq_kept, yiq_photo, yiq_plain = rgb_to_yiq(kept), rgb_to_yiq(photo), rgb_to_yiq(plain)
    inside = (kept > 0.02).all(axis=2) & (kept < 0.98).all(axis=2)  # away from clipping
    assert inside.mean() > 0.5
    assert np.abs(yiq_kept[..., 1:] - yiq_photo[..., 1:])[inside].max() < 2e-3
    assert np.abs(yiq_kept[..., 0] - yiq_plain[..., 0])[inside].max() < 2e-3
    assert (
        np.abs(yiq_plain[..., 1:] - yiq_photo[..., 1:]).mean()
        > 5 * np.abs(yiq_kept[..., 1:] - yiq_photo[..., 1:]).mean()
    )


def test_bf16_precision_is_close_to_fp32(model_file: Path) -> None:
    image = np.random.default_rng(1).random((40, 48, 3), dtype=np.float32)
    a = stylize_arrays([image], model_file, device="cpu")[0]
    b = stylize_arrays([image], model_file, device="cpu", precision="bf16")[0]
    assert np.abs(a - b).mean() < 0.02


def test_files_and_folders(model_file: Path, content_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    small = to_array(resize_long_side(to_tensor(load_image(content_path)), 64))
    from impasto.io import write_image

    write_image(folder / "a.png", small)
    write_image(folder / "b.jpg", small[:40, :50])
    outs = stylize_files([folder], tmp_path / "out", model_file, device="cpu")
    assert [p.name for p in outs] == ["a.png", "b.jpg"]
    assert read_image(outs[1]).shape == (40, 50, 3)
    one = stylize_files([folder / "a.png"], tmp_path / "one.png", model_file, device="cpu")
    assert one == [tmp_path / "one.png"] and read_image(one[0]).shape == small.shape
    with pytest.raises(InputError, match="not found"):
        stylize_files([folder / "missing.png"], tmp_path / "never.png", model_file)
    with pytest.raises(InputError, match="folder"):
        stylize_files([folder], tmp_path / "two.png", model_file)
    with pytest.raises(InputError, match="shipped"):
        load_model("no-such-model")
    assert not (tmp_path / "never.png").exists() and not (tmp_path / "two.png").exists()


def test_fp16_export_is_small_and_close(tmp_path: Path) -> None:
    fast = _tiny_model()
    full = export_model(fast, tmp_path / "full.pt", half=False)
    half = export_model(fast, tmp_path / "half.pt", half=True)
    assert half.stat().st_size < 0.75 * full.stat().st_size
    x = torch.rand(1, 3, 33, 35)
    with torch.no_grad():
        a, b = load_model(full).net(x), load_model(half).net(x)
    assert torch.allclose(a, b, atol=5e-3) and not torch.equal(a, b)


def test_cli_apply(model_file: Path, content_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.png"
    assert main(["fast", "apply", str(model_file), str(content_path), "-o", str(out), "--max-size", "64", "-q"]) == 0
    assert read_image(out).shape == (48, 64, 3)
    assert main(["fast", "apply", "--model", str(model_file), str(content_path), "-o", str(tmp_path / "o.xyz")]) == 2
    assert "extension" in capsys.readouterr().err and not (tmp_path / "o.xyz").exists()
    assert main(["fast", "apply", "--model", "nope", str(content_path), "-o", str(tmp_path / "n.png")]) == 2
    assert "shipped" in capsys.readouterr().err


def _style_distance(image: np.ndarray, style_grams: dict, fx: torch.nn.Module) -> float:
    from impasto.losses.functional import style_loss

    feats = fx(to_tensor(image))
    return sum(float(style_loss(feats[k], g)) for k, g in style_grams.items())


@pytest.mark.parametrize("name", ["starry-night", "starry-night-lite"])
def test_shipped_starry_night_model_stylises_a_real_photo(
    name: str, content_path: Path, style_path: Path, tmp_path: Path
) -> None:
    from impasto.features.vgg import FeatureExtractor
    from impasto.losses.functional import gram_target

    assert name in shipped_models()
    model = load_model(name)
    from impasto.feedforward.model import _models_dir

    size = sum(p.stat().st_size for p in _models_dir().glob(f"{name}.*"))
    assert size <= 4 * 1024 * 1024, size  # the package's models stay small
    assert model.arch == "johnson" and model.config["style"].endswith("starry_night.jpg")
    photo = to_array(resize_long_side(to_tensor(load_image(content_path)), 256))
    out = stylize_arrays([photo], model, device="cpu")[0]
    assert out.shape == photo.shape
    layers = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    fx = FeatureExtractor(layers)
    with torch.no_grad():
        style = resize_long_side(to_tensor(load_image(style_path)), 256)
        grams = {k: gram_target(v, "chw") for k, v in fx(style).items()}
        before, after = _style_distance(photo, grams, fx), _style_distance(out, grams, fx)
    assert after < 0.25 * before, (before, after)
    # and through the command line, by name, as a fresh install would
    target = tmp_path / "starry.jpg"
    assert (
        main(["fast", "apply", "--model", name, str(content_path), "-o", str(target), "--max-size", "128", "-q"]) == 0
    )
    assert read_image(target).shape == (96, 128, 3)


def test_stylize_files_reports_one_progress_event_per_file(tmp_path: Path) -> None:
    from impasto.io import write_image
    from impasto.progress import Progress

    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "c.png"):
        write_image(tmp_path / name, rng.random((16, 20, 3)).astype(np.float32))
    events: list[Progress] = []
    written = stylize_files(
        [tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"],
        tmp_path / "out",
        _tiny_model(),
        batch_size=2,
        device="cpu",
        callback=events.append,
    )
    assert len(written) == 3
    assert [(e.stage, e.step, e.total) for e in events] == [("stylize", 1, 3), ("stylize", 2, 3), ("stylize", 3, 3)]
    assert [Path(e.item).name for e in events] == ["a.png", "b.png", "c.png"]
