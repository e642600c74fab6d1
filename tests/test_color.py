"""Colour control (Gatys et al. 2017): YIQ, luminance matching, colour histogram matching, and the
luminance-only and histogram modes of ``stylize`` end to end on the example photographs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import impasto
from impasto import color
from impasto.io import read_image


def small(path, long_side: int = 96) -> np.ndarray:
    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
        return np.asarray(im, dtype=np.float32) / 255.0


def test_yiq_of_known_colours():
    rgb = np.array([[[1, 1, 1], [1, 0, 0], [0, 0, 0], [0.5, 0.5, 0.5]]], dtype=np.float32)
    yiq = color.rgb_to_yiq(rgb)
    np.testing.assert_allclose(yiq[0, 0], [1, 0, 0], atol=1e-5)  # white: full luma, no chroma
    np.testing.assert_allclose(yiq[0, 1], [0.299, 0.595716, 0.211456], atol=1e-6)  # red: first column
    np.testing.assert_allclose(yiq[0, 2], [0, 0, 0], atol=1e-7)
    np.testing.assert_allclose(yiq[0, 3], [0.5, 0, 0], atol=1e-5)  # greys have no chroma


def test_yiq_round_trip_on_a_photo(content_path):
    rgb = small(content_path)
    np.testing.assert_allclose(color.yiq_to_rgb(color.rgb_to_yiq(rgb)), rgb, atol=1e-5)


def test_luminance_is_rec601():
    rgb = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    expected = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_allclose(color.luminance(rgb), expected, atol=1e-6)


def test_match_luminance_gives_the_content_mean_and_spread():
    rng = np.random.default_rng(1)
    style_y = 0.5 + 0.05 * rng.standard_normal((40, 50))  # narrow: no clipping after matching
    content_y = 0.4 + 0.1 * rng.standard_normal((30, 30))
    matched = color.match_luminance(style_y, content_y)
    assert matched.mean() == pytest.approx(content_y.mean(), abs=1e-5)
    assert matched.std() == pytest.approx(content_y.std(), rel=1e-4)
    # the order of the style's values is kept (an increasing affine map)
    assert np.corrcoef(matched.ravel(), style_y.ravel())[0, 1] > 0.9999


def test_match_luminance_of_a_flat_style_is_the_content_mean():
    out = color.match_luminance(np.full((4, 4), 0.3), np.array([[0.2, 0.6]]))
    np.testing.assert_allclose(out, 0.4, atol=1e-6)


def test_histogram_matching_gives_the_content_moments_exactly_without_clipping():
    rng = np.random.default_rng(2)
    mix = np.array([[0.08, 0.02, 0.0], [0.03, 0.06, 0.01], [0.0, 0.02, 0.05]])
    style = (0.5 + rng.standard_normal((60, 60, 3)) @ mix).astype(np.float32)
    content = (0.45 + rng.standard_normal((50, 40, 3)) @ mix.T[::-1] * 0.8).astype(np.float32)
    assert style.min() > 0 and style.max() < 1 and content.min() > 0 and content.max() < 1
    out = color.match_color_histogram(style, content)
    mu_o, cov_o = color.color_moments(out)
    mu_c, cov_c = color.color_moments(content)
    np.testing.assert_allclose(mu_o, mu_c, atol=1e-5)
    np.testing.assert_allclose(cov_o, cov_c, atol=1e-6)


def test_histogram_matching_on_real_images_within_tolerance(content_path, style_path):
    content, style = small(content_path, 128), small(style_path, 128)
    mu_c, cov_c = color.color_moments(content)
    mu_s, cov_s = color.color_moments(style)
    out = color.match_color_histogram(style, content)
    mu_o, cov_o = color.color_moments(out)
    # clipping to [0, 1] is the only source of error
    assert np.abs(mu_o - mu_c).max() < 0.01
    assert np.linalg.norm(cov_o - cov_c) / np.linalg.norm(cov_c) < 0.05
    # ... and it had something to correct: the Starry Night is far from Tübingen's colours
    assert np.abs(mu_s - mu_c).max() > 0.05
    assert np.linalg.norm(cov_s - cov_c) / np.linalg.norm(cov_c) > 0.3
    assert out.shape == style.shape and out.dtype == np.float32


def test_histogram_matching_of_a_single_colour_style_stays_finite():
    out = color.match_color_histogram(np.full((8, 8, 3), 0.3, np.float32), small_gradient())
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def small_gradient() -> np.ndarray:
    x = np.linspace(0, 1, 16, dtype=np.float32)
    return np.stack([*np.meshgrid(x, x[::-1]), np.full((16, 16), 0.5, np.float32)], axis=2)


def test_recombine_keeps_result_luma_and_content_chroma():
    rng = np.random.default_rng(3)
    content = (0.3 + 0.4 * rng.random((10, 12, 3))).astype(np.float32)
    result = color.grey_rgb(0.35 + 0.3 * rng.random((10, 12)))
    out = color.recombine_luminance(result, content)
    yiq_out, yiq_c = color.rgb_to_yiq(out), color.rgb_to_yiq(content)
    inside = (out > 0.001).all(axis=2) & (out < 0.999).all(axis=2)
    assert inside.mean() > 0.8
    np.testing.assert_allclose(yiq_out[..., 0], color.luminance(result), atol=1e-5)
    np.testing.assert_allclose(yiq_out[inside][:, 1:], yiq_c[inside][:, 1:], atol=1e-5)
    with pytest.raises(ValueError):
        color.recombine_luminance(result[:5], content)


def test_luminance_only_inputs_are_grey_with_the_content_luma_statistics(content_path, style_path):
    content, style = small(content_path), small(style_path)
    grey_c, (grey_s,) = color.luminance_only_inputs(content, [style])
    for grey in (grey_c, grey_s):
        assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    y_c = color.luminance(content)
    np.testing.assert_allclose(grey_c[..., 0], y_c, atol=1e-6)
    assert grey_s[..., 0].mean() == pytest.approx(y_c.mean(), abs=0.01)
    assert grey_s[..., 0].std() == pytest.approx(y_c.std(), rel=0.05)


# ---------------------------------------------------------------- stylize end to end


def chroma_error(result: np.ndarray, content_path) -> float:
    """Mean |I, Q difference| between a result and the content resized to its shape (Pillow, bicubic)."""
    with Image.open(content_path) as im:
        ref = np.asarray(im.convert("RGB").resize(result.shape[1::-1], Image.Resampling.BICUBIC), np.float32) / 255
    return float(np.abs(color.rgb_to_yiq(result)[..., 1:] - color.rgb_to_yiq(ref)[..., 1:]).mean())


@pytest.fixture(scope="module")
def colour_runs(content_path, style_path):
    kw = dict(image_size=64, num_iterations=20, device="cpu")
    return {
        mode: impasto.stylize(content_path, style_path, preserve_color=mode, **kw) for mode in ("none", "luminance")
    }


def test_luminance_only_output_has_the_content_chroma(colour_runs, content_path):
    kept = chroma_error(colour_runs["luminance"].array, content_path)
    plain = chroma_error(colour_runs["none"].array, content_path)
    assert kept < 0.012  # resampling and clipping only
    assert plain > 3 * kept  # the plain run takes the Starry Night's blues and yellows


def test_luminance_only_output_luma_is_stylised_not_the_content(colour_runs, content_path):
    result = colour_runs["luminance"].array
    with Image.open(content_path) as im:
        ref = np.asarray(im.convert("RGB").resize(result.shape[1::-1], Image.Resampling.BICUBIC), np.float32) / 255
    assert np.abs(color.luminance(result) - color.luminance(ref)).mean() > 0.03
    assert colour_runs["luminance"].config.preserve_color == "luminance"


def test_histogram_mode_matches_each_style_to_the_content_before_stylising(monkeypatch, content_path, style_path):
    calls = []
    original = color.match_color_histogram

    def spy(style, content):
        calls.append((style.shape, content.shape))
        return original(style, content)

    monkeypatch.setattr(color, "match_color_histogram", spy)
    content = read_image(content_path)
    style = read_image(style_path)
    out = impasto.stylize(
        content, [style, style[:400]], preserve_color="histogram", image_size=48, num_iterations=2, device="cpu"
    )
    assert calls == [(style.shape, content.shape), (style[:400].shape, content.shape)]
    assert out.array.shape == (36, 48, 3)


def test_bad_preserve_color_is_a_one_line_error(content_path, style_path):
    with pytest.raises(impasto.InputError, match="preserve_color"):
        impasto.stylize(content_path, style_path, preserve_color="sepia", image_size=32, num_iterations=1)
