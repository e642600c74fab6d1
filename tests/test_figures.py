"""The explanatory figures: reconstructions behave as in the paper (measured on a real photo at
small size), the drawing functions write labelled PNGs atomically, panels are cached, and
``impasto figure`` works and fails cleanly."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from impasto.api import load_image
from impasto.cli import main
from impasto.errors import InputError
from impasto.eval import figures
from impasto.eval.metrics import ssim
from impasto.transforms import resize_long_side, to_array, to_tensor

SIZE = 64


@pytest.fixture(scope="module")
def photo(content_path):
    return load_image(content_path)


@pytest.fixture(scope="module")
def photo_small(photo):
    return to_array(resize_long_side(to_tensor(photo), SIZE))


@pytest.fixture(scope="module")
def content_recs(photo):
    return dict(
        zip(
            ("conv1_2", "conv3_2", "conv5_2"),
            figures.content_reconstructions(photo, ("conv1_2", "conv3_2", "conv5_2"), size=SIZE, steps=50),
        )
    )


def test_lower_layers_reconstruct_the_pixels_more_closely(content_recs, photo_small):
    err = {k: float(np.abs(v - photo_small).mean()) for k, v in content_recs.items()}
    assert err["conv1_2"] < err["conv3_2"] < err["conv5_2"]
    assert err["conv1_2"] < 0.6 * err["conv5_2"]
    assert ssim(content_recs["conv1_2"], photo_small) > ssim(content_recs["conv5_2"], photo_small) + 0.1


def test_reconstructions_have_the_target_size_and_range(content_recs, photo_small):
    for rec in content_recs.values():
        assert rec.shape == photo_small.shape and rec.dtype == np.float32
        assert 0 <= rec.min() and rec.max() <= 1


def test_style_reconstruction_keeps_the_colours_but_not_the_layout(style_path):
    style = load_image(style_path)
    small = to_array(resize_long_side(to_tensor(style), SIZE))
    (texture,) = figures.style_reconstructions(style, (2,), size=SIZE, steps=40)
    start = np.random.default_rng(0).random(small.shape)
    # the mean colour moves from the noise's grey to the painting's
    assert np.abs(texture.mean(axis=(0, 1)) - small.mean(axis=(0, 1))).max() < 0.08
    assert np.abs(start.mean(axis=(0, 1)) - small.mean(axis=(0, 1))).max() > 0.15
    assert ssim(texture, small) < 0.3  # a texture, not a copy


def test_reconstruct_needs_some_layers(photo):
    with pytest.raises(ValueError, match="content_layers, style_layers"):
        figures.reconstruct(photo, size=32, steps=1)


def test_style_layer_sets_grow():
    assert figures.style_layer_set(1) == ("conv1_1",)
    assert figures.style_layer_set(5)[-1] == "conv5_1" and len(figures.style_layer_set(5)) == 5
    with pytest.raises(ValueError):
        figures.style_layer_set(6)


def test_cache_computes_each_panel_once(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return np.full((4, 4, 3), 0.5, np.float32)

    key = {"kind": "content", "layer": "conv1_2", "size": 64}
    first = figures._cached(tmp_path, key, compute)
    second = figures._cached(tmp_path, key, compute)
    third = figures._cached(tmp_path, {**key, "size": 65}, compute)
    assert len(calls) == 2 and np.array_equal(first, second) and np.array_equal(first, third)
    assert not list(tmp_path.glob("*partial*"))


# ---------------------------------------------------------------- drawing


def _png(path):
    with Image.open(path) as im:
        return im.format, im.size


def test_reconstructions_figure_is_one_png(tmp_path, photo_small):
    recs = [photo_small] * 5
    out = figures.reconstructions_figure(photo_small, photo_small, recs, recs, tmp_path / "fig.png")
    fmt, (w, h) = _png(out)
    assert fmt == "PNG" and w > 2 * h > 200
    assert (out.stat().st_mode & 0o777) != 0o600  # not left private by the temporary file


def test_grid_figure_and_jpeg(tmp_path, photo_small):
    grid = [[photo_small] * 4 for _ in range(3)]
    fmt, (w, h) = _png(figures.grid_figure(grid, tmp_path / "grid.jpg", depths=(1, 3, 5)))
    assert fmt == "JPEG" and w > h


def test_loss_curves_figure(tmp_path):
    history = [
        {"content": 10.0 / (i + 1), "style": 100.0 / (i + 1), "tv": 0.0, "total": 110.0 / (i + 1)} for i in range(30)
    ]
    fmt, _ = _png(figures.loss_curves_figure(history, tmp_path / "loss.png", stages=[20]))
    assert fmt == "PNG"
    with pytest.raises(ValueError):
        figures.loss_curves_figure([], tmp_path / "empty.png")


def test_comparison_sheet(tmp_path, photo_small):
    entries = [(f"image {i}", photo_small, ["SSIM 1.000", "PSNR inf dB"]) for i in range(5)]
    fmt, (w, h) = _png(figures.comparison_sheet(entries, tmp_path / "sheet.png", title="five"))
    assert fmt == "PNG" and w > h


def test_figures_refuse_other_formats_and_leave_nothing(tmp_path, photo_small):
    with pytest.raises(InputError):
        figures.comparison_sheet([("a", photo_small, [])], tmp_path / "sheet.pdf")
    with pytest.raises(InputError):
        figures.comparison_sheet([("a", photo_small, [])], tmp_path / "missing" / "sheet.png")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- CLI


def _figure(kind: str, content_path, style_path, out, *flags: str) -> int:
    """``impasto figure KIND CONTENT STYLE -o OUT FLAGS... --device cpu -q``: its exit code."""
    return main(["figure", kind, str(content_path), str(style_path), "-o", str(out), *flags, "--device", "cpu", "-q"])


def test_cli_figure_reconstructions_tiny(tmp_path, content_path, style_path):
    out = tmp_path / "rec.png"
    cache = tmp_path / "cache"
    flags = "--size 32 --steps 2 --content-layers conv1_2 --style-depths 1".split()
    assert _figure("reconstructions", content_path, style_path, out, *flags, "--cache-dir", str(cache)) == 0
    assert _png(out)[0] == "PNG"
    assert len(list(cache.glob("*.npy"))) == 2  # one content and one style panel, kept for a rerun


def test_cli_figure_grid_tiny(tmp_path, content_path, style_path):
    out = tmp_path / "grid.png"
    flags = "--size 32 --steps 1 --ratios 1e-3 1e-1 --style-depths 1".split()
    assert _figure("grid", content_path, style_path, out, *flags) == 0
    assert _png(out)[0] == "PNG"


def test_cli_figure_losses(tmp_path, content_path, style_path):
    out, result = tmp_path / "loss.png", tmp_path / "result.png"
    flags = ["--result", str(result), *"--image-size 32 --num-iterations 3".split()]
    assert _figure("losses", content_path, style_path, out, *flags) == 0
    assert _png(out)[0] == "PNG" and _png(result)[1] == (32, 24)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--style-depths", "7"], "--style-depths"),
        (["--steps", "0"], "--steps"),
        (["--content-layers", "conv9_9"], "unknown VGG-19 layer"),
    ],
)
def test_cli_figure_bad_options_are_one_line(tmp_path, capsys, content_path, style_path, extra, message):
    out = tmp_path / "rec.png"
    code = main(["figure", "reconstructions", str(content_path), str(style_path), "-o", str(out), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err and not out.exists()


def test_cli_figure_without_kind_prints_help(capsys):
    assert main(["figure"]) == 2
    assert "reconstructions" in capsys.readouterr().err


def test_draw_loss_curves_uses_the_step_smooths_and_skips_empty_terms():
    from matplotlib.figure import Figure

    history = [{"step": 100 + i, "a": float(i + 1), "b": 0.0, "c": 2.0} for i in range(10)]
    ax = Figure().subplots()
    figures.draw_loss_curves(ax, history, smooth=4)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"a", "c"}  # "b" has no positive value on the log scale
    x, y = lines["a"].get_data()
    assert list(x) == [103, 104, 105, 106, 107, 108, 109]  # moving mean of 4 ends at each step
    assert y[0] == pytest.approx(2.5) and y[-1] == pytest.approx(8.5)
    assert ax.get_yscale() == "log"


def test_feedforward_loss_png_comes_from_the_shared_plotter(tmp_path, monkeypatch):
    from impasto.feedforward import train as ff_train

    calls = []
    monkeypatch.setattr(figures, "loss_curves_figure", lambda history, path, **kw: calls.append((path, kw)))
    history = [{"step": i, "content": 1.0, "style": 2.0, "total": 3.0} for i in range(1, 301)]
    ff_train.write_history(tmp_path, history)
    assert (tmp_path / "history.csv").read_text().splitlines()[0] == "step,content,style,total"
    ((path, kw),) = calls
    assert path == tmp_path / "loss.png" and kw["keys"] == ["content", "style", "total"] and kw["smooth"] == 3
