"""WCT and AdaIN feature transforms: known statistics, flat images, strength and blending."""

from __future__ import annotations

import pytest
import torch

from impasto.errors import InputError
from impasto.universal.transforms import adain, feature_stats, wct, whiten


def correlated(c: int, h: int, w: int, seed: int, scale: float = 3.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    mix = torch.randn(c, c, generator=gen, dtype=torch.float64)
    base = torch.randn(c, h * w, generator=gen, dtype=torch.float64)
    return (scale * mix @ base + torch.randn(c, 1, generator=gen, dtype=torch.float64)).reshape(c, h, w)


def cov(flat: torch.Tensor) -> torch.Tensor:
    centred = flat - flat.mean(dim=1, keepdim=True)
    return centred @ centred.T / (flat.shape[1] - 1)


def test_whitening_gives_identity_covariance_in_float64():
    feats = correlated(8, 12, 10, seed=0)
    white = whiten(feats)
    assert white.dtype == torch.float64
    assert torch.allclose(white.mean(dim=1), torch.zeros(8, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(cov(white), torch.eye(8, dtype=torch.float64), atol=1e-8)


def test_wct_output_has_the_style_mean_and_covariance():
    content, style = correlated(6, 10, 10, seed=1), correlated(6, 9, 11, seed=2, scale=0.5)
    out = wct(content, feature_stats(style)).reshape(6, -1)
    flat_style = style.reshape(6, -1)
    assert torch.allclose(out.mean(dim=1), flat_style.mean(dim=1), atol=1e-8)
    assert torch.allclose(cov(out), cov(flat_style), atol=1e-6)


def test_wct_keeps_shape_and_dtype_of_batched_float32_features():
    content = correlated(4, 5, 6, seed=3).float()[None]
    out = wct(content, feature_stats(correlated(4, 7, 7, seed=4)))
    assert out.shape == (1, 4, 5, 6) and out.dtype == torch.float32


def test_flat_style_gives_finite_features_equal_to_its_colour():
    content = correlated(5, 8, 8, seed=5)
    flat_style = torch.full((5, 8, 8), 2.5, dtype=torch.float64)
    out = wct(content, feature_stats(flat_style))
    assert torch.isfinite(out).all()
    # colouring with (floored) near-zero eigenvalues leaves only the style's mean, up to sqrt(floor) * |whitened|
    assert torch.allclose(out, torch.full_like(out, 2.5), atol=0.05)


def test_flat_content_gives_the_style_mean_without_nan():
    style = correlated(5, 8, 8, seed=6)
    out = wct(torch.zeros(5, 6, 6, dtype=torch.float64), feature_stats(style))
    assert torch.isfinite(out).all()
    assert torch.allclose(out.reshape(5, -1), style.reshape(5, -1).mean(dim=1, keepdim=True).expand(5, 36))


def test_adain_matches_the_style_channel_mean_and_std():
    content, style = correlated(6, 9, 9, seed=7), correlated(6, 8, 12, seed=8, scale=0.2)
    out = adain(content, feature_stats(style)).reshape(6, -1)
    s = style.reshape(6, -1)
    assert torch.allclose(out.mean(dim=1), s.mean(dim=1), atol=1e-8)
    assert torch.allclose(out.std(dim=1, unbiased=False), s.std(dim=1, unbiased=False), rtol=1e-3)


@pytest.mark.parametrize("transform", [wct, adain])
def test_strength_zero_returns_the_content_and_half_is_the_midpoint(transform):
    content, stats = correlated(4, 6, 6, seed=9), feature_stats(correlated(4, 6, 6, seed=10))
    assert torch.allclose(transform(content, stats, strength=0.0), content)
    full = transform(content, stats, strength=1.0)
    assert torch.allclose(transform(content, stats, strength=0.5), (full + content) / 2)


@pytest.mark.parametrize("transform", [wct, adain])
def test_blending_two_identical_styles_equals_one(transform):
    content, stats = correlated(4, 6, 6, seed=11), feature_stats(correlated(4, 6, 6, seed=12))
    assert torch.allclose(transform(content, [stats, stats], weights=[0.3, 0.7]), transform(content, stats))


@pytest.mark.parametrize("strength", [-0.1, 1.5])
def test_strength_outside_zero_one_is_an_input_error(strength):
    with pytest.raises(InputError, match="strength"):
        wct(torch.rand(3, 4, 4), feature_stats(torch.rand(3, 4, 4)), strength=strength)


def test_bad_blend_weights_are_an_input_error():
    stats = feature_stats(torch.rand(3, 4, 4))
    with pytest.raises(InputError, match="weights"):
        adain(torch.rand(3, 4, 4), [stats, stats], weights=[1.0])


def test_statistics_in_blocks_equal_one_block(monkeypatch):
    import impasto.universal.transforms as transforms

    exact = correlated(6, 20, 30, seed=13)
    whole = transforms.feature_stats(exact)
    monkeypatch.setattr(transforms, "CHUNK", 64)  # 600 pixels in 10 blocks
    blocks = transforms.feature_stats(exact)
    assert torch.allclose(blocks.mean, whole.mean) and torch.allclose(blocks.std, whole.std)
    assert torch.allclose(blocks.eigvals, whole.eigvals, rtol=1e-9)
    single = transforms.feature_stats(exact.float())  # float32 block products, float64 sums
    assert torch.allclose(single.eigvals, whole.eigvals, rtol=1e-5)


def test_float32_wct_agrees_with_float64():
    content, stats = correlated(8, 16, 16, seed=14), feature_stats(correlated(8, 16, 16, seed=15))
    exact = wct(content, stats)
    single = wct(content.float(), stats)
    assert single.dtype == torch.float32
    assert torch.allclose(single.double(), exact, rtol=1e-4, atol=1e-4 * float(exact.abs().max()))


@pytest.mark.parametrize("method", ["wct", "adain"])
@pytest.mark.parametrize("strength", [1.0, 0.6])
def test_channels_last_features_give_the_same_transform_and_keep_their_layout(method, strength):
    """The encoder's NHWC features are transformed without a copy to NCHW; the numbers are the NCHW ones."""
    from impasto.universal.transforms import transform_for

    torch.manual_seed(0)
    content = torch.rand(1, 16, 12, 10) * 3
    style = feature_stats(torch.rand(1, 16, 9, 11) + 1, covariance=method == "wct")
    nhwc = content.contiguous(memory_format=torch.channels_last)
    stats_a = feature_stats(content, covariance=method == "wct")
    stats_b = feature_stats(nhwc, covariance=method == "wct")
    torch.testing.assert_close(stats_a.mean, stats_b.mean)
    torch.testing.assert_close(stats_a.std, stats_b.std)
    a = transform_for(method, stats_a, style).apply(content, strength)
    b = transform_for(method, stats_b, style).apply(nhwc, strength)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert a.is_contiguous() and b.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("method", ["wct", "adain"])
@pytest.mark.parametrize("strength", [1.0, 0.6, 0.0])
@pytest.mark.parametrize("channels_last", [False, True])
def test_a_transform_folded_into_the_decoder_decodes_the_transformed_features(method, strength, channels_last):
    """``VGGDecoder(..., input_affine=Affine.blended(alpha))`` equals decoding ``Affine.apply(f, alpha)``:
    the map is folded into the first convolution (weights, bias, in the weight's own layout)."""
    from impasto.nets.decoder import VGGDecoder
    from impasto.universal.transforms import transform_for

    torch.manual_seed(1)
    decoder = VGGDecoder("relu2_1", width=0.5, input_scale=0.3).eval()
    content = torch.rand(1, 128, 16, 20) * 4  # 320 pixels for 128 channels: a full-rank covariance
    style = feature_stats(torch.rand(1, 128, 18, 18) * 2 + 1, covariance=method == "wct")
    if channels_last:
        decoder = decoder.to(memory_format=torch.channels_last)
        content = content.contiguous(memory_format=torch.channels_last)
    affine = transform_for(method, feature_stats(content, covariance=method == "wct"), style)
    a, b = affine.blended(strength)
    assert a.shape == ((128, 128) if method == "wct" else (128, 1)) and b.shape == (128, 1)
    flat = content[0].reshape(128, -1).double()
    direct = affine.apply(content, strength)
    mapped = (a @ flat if method == "wct" else a * flat) + b  # float64 against apply's float32
    torch.testing.assert_close(mapped, direct[0].reshape(128, -1).double(), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        expected = decoder(direct, size=(64, 80))
        folded = decoder(content, size=(64, 80), input_affine=(a, b))
    torch.testing.assert_close(folded, expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))
