"""Several styles with blend weights, per-style sizes, and spatial control with masked Gram
matrices (Gatys et al. 2017): the maths on small tensors, the objective on real images, and
``stylize`` / ``impasto stylize`` end to end at small sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import impasto
from impasto.api import load_image
from impasto.cli import main
from impasto.features.vgg import FeatureExtractor
from impasto.losses import functional as lf
from impasto.losses.perceptual import StyleTransferLoss, blend_weights
from impasto.transforms import resize_long_side, to_tensor

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


# ---------------------------------------------------------------- masked Gram matrices


def test_masked_gram_with_an_all_ones_mask_is_the_gram():
    feats = torch.randn(2, 5, 7, 6)
    ones = torch.ones(1, 1, 7, 6)
    for norm in ("none", "hw", "chw"):
        torch.testing.assert_close(
            lf.masked_gram_matrix(feats, ones, norm), lf.gram_matrix(feats, norm), rtol=1e-6, atol=1e-6
        )


def test_masked_gram_of_a_binary_mask_is_the_gram_of_the_region():
    feats = torch.randn(1, 4, 6, 10, dtype=torch.float64)
    mask = torch.zeros(1, 1, 6, 10, dtype=torch.float64)
    mask[..., 3:] = 1
    region = feats[..., 3:]
    torch.testing.assert_close(lf.masked_gram_matrix(feats, mask, "chw"), lf.gram_matrix(region, "chw"))
    torch.testing.assert_close(lf.masked_gram_matrix(feats, mask, "hw"), lf.gram_matrix(region, "hw"))


def test_masked_gram_gradient_matches_finite_differences():
    feats = torch.randn(1, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(1, 1, 4, 5, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda f: lf.masked_gram_matrix(f, mask, "chw"), (feats,))


def test_masked_gram_checks_the_mask_shape():
    with pytest.raises(ValueError, match="resize_mask"):
        lf.masked_gram_matrix(torch.randn(1, 3, 4, 5), torch.ones(1, 1, 4, 4))


def test_resize_mask_averages_areas_and_keeps_ones_exact():
    ones = torch.ones(1, 1, 37, 53)
    assert torch.equal(lf.resize_mask(ones, (9, 13)), torch.ones(1, 1, 9, 13))
    half = torch.zeros(1, 1, 8, 8)
    half[..., :, :4] = 1
    small = lf.resize_mask(half, (2, 2))
    torch.testing.assert_close(small, torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]]))
    quarter = torch.zeros(1, 1, 4, 4)
    quarter[..., 0, 0] = 1
    assert float(lf.resize_mask(quarter, (2, 2))[0, 0, 0, 0]) == pytest.approx(0.25)


def test_style_loss_with_mask_compares_only_the_region():
    feats = torch.randn(1, 4, 6, 8, dtype=torch.float64)
    target = lf.gram_target(feats[..., :4], "chw")  # the left half's own Gram
    mask = torch.zeros(1, 1, 6, 8, dtype=torch.float64)
    mask[..., :4] = 1
    assert float(lf.style_loss(feats, target, "chw", mask)) == pytest.approx(0.0, abs=1e-12)
    assert float(lf.style_loss(feats, target, "chw")) > 1e-4


# ---------------------------------------------------------------- the objective on real images


@pytest.fixture(scope="module")
def images(content_path, style_path):
    """The photo, the Starry Night, and a second "style": the photo flipped, at another size."""
    content = resize_long_side(to_tensor(load_image(content_path)), 64)
    starry = resize_long_side(to_tensor(load_image(style_path)), 64)
    scream = resize_long_side(to_tensor(load_image(content_path)[::-1]), 48)
    return content, starry, scream


@pytest.fixture(scope="module")
def extractor():
    return FeatureExtractor(["relu4_2", *STYLE_LAYERS])


def objective(extractor, content, style, **kw):
    return StyleTransferLoss(extractor, content, style, tv_weight=0.0, **kw)


def loss_and_grad(loss_fn, image):
    x = image.clone().requires_grad_(True)
    terms = loss_fn(x)
    terms.total.backward()
    return terms, x.grad


def test_blend_weights_one_zero_give_the_first_style_alone(extractor, images):
    content, starry, scream = images
    single = objective(extractor, content, starry)
    blended = objective(extractor, content, [starry, scream], style_blend_weights=[1, 0])
    for k in STYLE_LAYERS:
        assert torch.equal(blended.style_targets[k], single.style_targets[k])
    x = torch.rand(content.shape, generator=torch.Generator().manual_seed(0))
    (t1, g1), (t2, g2) = loss_and_grad(single, x), loss_and_grad(blended, x)
    torch.testing.assert_close(t2.style, t1.style, rtol=1e-6, atol=0)
    torch.testing.assert_close(g2, g1, rtol=1e-5, atol=1e-3)


def test_two_style_loss_is_the_weighted_sum_of_single_style_losses(extractor, images):
    content, starry, scream = images
    x = content  # near the second style's Grams (the same photo, flipped), far from the Starry Night's
    with torch.no_grad():
        a = objective(extractor, content, starry)(x).style
        b = objective(extractor, content, scream)(x).style
        both = objective(extractor, content, [starry, scream], style_blend_weights=[0.7, 0.3])(x).style
        unnormalised = objective(extractor, content, [starry, scream], style_blend_weights=[7, 3])(x).style
    torch.testing.assert_close(both, 0.7 * a + 0.3 * b, rtol=1e-5, atol=0)
    torch.testing.assert_close(unnormalised, both, rtol=1e-6, atol=0)  # weights are normalised to sum 1
    assert float(a) > 2 * float(b)  # the two styles really differ


def test_summed_style_losses_have_the_gradient_of_the_blended_target():
    """sum_s w_s |G - A_s|^2 and |G - sum_s w_s A_s|^2 differ by a constant when sum w_s = 1."""
    feats = torch.randn(1, 4, 5, 5, dtype=torch.float64, requires_grad=True)
    a1, a2 = torch.rand(1, 4, 4, dtype=torch.float64), torch.rand(1, 4, 4, dtype=torch.float64)
    summed = 0.7 * lf.style_loss(feats, a1) + 0.3 * lf.style_loss(feats, a2)
    (g_sum,) = torch.autograd.grad(summed, feats)
    (g_blend,) = torch.autograd.grad(lf.style_loss(feats, 0.7 * a1 + 0.3 * a2), feats)
    torch.testing.assert_close(g_sum, g_blend)


def test_all_ones_mask_equals_no_mask_exactly(extractor, images):
    content, starry, _ = images
    x = torch.rand(content.shape, generator=torch.Generator().manual_seed(0))
    plain = objective(extractor, content, starry)
    masked = objective(extractor, content, starry, style_masks=[torch.ones(1, 1, *content.shape[-2:])])
    (t1, g1), (t2, g2) = loss_and_grad(plain, x), loss_and_grad(masked, x)
    assert torch.equal(t1.style, t2.style) and torch.equal(t1.content, t2.content)
    assert torch.equal(g1, g2)


def test_mask_is_resized_to_every_layer(extractor, images):
    content, starry, _ = images
    mask = torch.zeros(1, 1, *content.shape[-2:])
    mask[..., : content.shape[-1] // 2] = 1
    loss = objective(extractor, content, starry, style_masks=[mask])
    feats = extractor(content)
    for k in STYLE_LAYERS:
        m = loss.style_masks[0][k]
        assert m.shape[-2:] == feats[k].shape[-2:]
        assert 0.4 < float(m.mean()) < 0.6  # still half the area at every depth


def test_style_gradient_stays_inside_the_mask(extractor, images):
    content, starry, _ = images
    h, w = content.shape[-2:]
    mask = torch.zeros(1, 1, h, w)
    mask[..., : w // 2] = 1
    loss = objective(extractor, content, starry, style_masks=[mask], content_weight=0.0)
    _, grad = loss_and_grad(loss, torch.rand_like(content))
    left = grad[..., : w // 2 - 16].abs().mean()
    right = grad[..., w // 2 + 16 :].abs().mean()  # deep layers see across the edge, so not zero,
    assert float(right) < 0.2 * float(left)  # but far weaker than inside the styled region


# ---------------------------------------------------------------- stylize end to end


def _halves(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = array.shape[1]
    return array[:, : w // 2 - 4], array[:, w // 2 + 4 :]


@pytest.fixture(scope="module")
def masked_run(content_path, style_path):
    content = load_image(content_path)
    h, w = content.shape[:2]
    mask = np.zeros((h, w), np.float32)
    mask[:, : w // 2] = 1  # the style applies on the left half only
    kw = dict(image_size=64, num_iterations=25, device="cpu", init="content")
    masked = impasto.stylize(content, style_path, masks=[mask], **kw)
    plain = impasto.stylize(content, style_path, **kw)
    with Image.open(content_path) as im:
        ref = (
            np.asarray(im.convert("RGB").resize(masked.array.shape[1::-1], Image.Resampling.BICUBIC), np.float32) / 255
        )
    return masked.array, plain.array, ref


@pytest.mark.slow
def test_region_without_style_keeps_close_to_the_content(masked_run):
    masked, plain, ref = masked_run
    styled_left, kept_right = (np.abs(a - b).mean() for a, b in zip(_halves(masked), _halves(ref)))
    _, plain_right = (np.abs(a - b).mean() for a, b in zip(_halves(plain), _halves(ref)))
    assert styled_left > 0.06  # the styled region changed
    assert kept_right < 0.5 * styled_left  # the unstyled one much less...
    assert kept_right < 0.6 * plain_right  # ...and less than the same region without a mask


def test_masks_from_files_through_the_config(tmp_path, content_path, style_path):
    content = load_image(content_path)
    h, w = content.shape[:2]
    left = np.zeros((h, w), np.uint8)
    left[:, : w // 2] = 255
    Image.fromarray(left).save(tmp_path / "left.png")
    out = impasto.stylize(
        content_path,
        [style_path, content_path],
        style_masks=[str(tmp_path / "left.png"), "none"],
        image_size=32,
        num_iterations=2,
        device="cpu",
    )
    assert out.array.shape == (24, 32, 3) and out.extra["styles"] == "2"


@pytest.mark.parametrize(
    "masks, message",
    [
        ([np.ones((20, 100), np.float32)], "aspect ratio"),
        ([np.zeros((48, 64), np.float32)], "all black"),
        ([None, None], "1 style"),
    ],
)
def test_bad_masks_are_refused_before_any_compute(content_path, style_path, masks, message):
    with pytest.raises(impasto.InputError, match=message):
        impasto.stylize(content_path, style_path, masks=masks, image_size=32, num_iterations=1, device="cpu")


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(style_blend_weights=[1, 2, 3]), "style_blend_weights has 3"),
        (dict(style_scales=[1.0]), "style_scales has 1"),
        (dict(style_blend_weights=[0, 0]), "not all be 0"),
        (dict(style_scales=[1.0, -1]), "style_scales"),
    ],
)
def test_bad_style_options_are_refused(content_path, style_path, overrides, message):
    with pytest.raises(impasto.InputError, match=message):
        impasto.stylize(
            content_path, [style_path, style_path], image_size=32, num_iterations=1, device="cpu", **overrides
        )


def test_each_style_gets_its_own_size(monkeypatch, content_path, style_path):
    seen = []
    original = StyleTransferLoss.from_config.__func__

    def spy(cls, cfg, extractor, content, style, **kw):
        seen.append([tuple(s.shape[-2:]) for s in style])
        return original(cls, cfg, extractor, content, style, **kw)

    monkeypatch.setattr(StyleTransferLoss, "from_config", classmethod(spy))
    impasto.stylize(
        content_path, [style_path, content_path], style_scales=[1.0, 0.5], image_size=64, num_iterations=1, device="cpu"
    )
    (starry_hw, scream_hw) = seen[0]
    assert max(starry_hw) == 64 and max(scream_hw) == 32


def test_blend_weights_helper():
    assert blend_weights(2, None) == [0.5, 0.5]
    assert blend_weights(2, [3, 1]) == [0.75, 0.25]
    with pytest.raises(ValueError):
        blend_weights(2, [1])


# ---------------------------------------------------------------- CLI


def test_cli_two_styles_with_blend_and_masks(tmp_path, capsys, content_path, style_path):
    content = load_image(content_path)
    h, w = content.shape[:2]
    top = np.zeros((h, w), np.uint8)
    top[: h // 2] = 255
    Image.fromarray(top).save(tmp_path / "top.png")
    out = tmp_path / "out.png"
    code = main(
        [
            "stylize",
            str(content_path),
            str(style_path),
            str(content_path),
            "-o",
            str(out),
            "-q",
            "--json",
            "--image-size",
            "32",
            "--num-iterations",
            "2",
            "--device",
            "cpu",
            "--style-blend",
            "0.7",
            "0.3",
            "--style-mask",
            str(tmp_path / "top.png"),
            "none",
            "--preserve-color",
            "luminance",
        ]
    )
    assert code == 0 and out.is_file()
    summary = json.loads(capsys.readouterr().out)
    cfg = summary["config"]
    assert cfg["style_blend_weights"] == [0.7, 0.3]
    assert cfg["style_masks"] == [str(tmp_path / "top.png"), "none"]
    assert cfg["preserve_color"] == "luminance"


def test_cli_mask_count_mismatch_is_one_line_and_writes_nothing(tmp_path, capsys, content_path, style_path):
    out = tmp_path / "out.png"
    masks = ["--style-mask", str(content_path), str(content_path)]
    flags = ["-o", str(out), *"-q --image-size 32 --num-iterations 1".split(), *masks]
    code = main(["stylize", str(content_path), str(style_path), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert err.count("\n") == 0 and "2 style mask(s) for 1 style(s)" in err


@pytest.mark.slow
def test_one_style_in_a_list_and_an_all_ones_mask_change_nothing(content_path, style_path):
    kw = dict(image_size=32, num_iterations=4, device="cpu")
    content = load_image(content_path)
    plain = impasto.stylize(content, style_path, **kw)
    listed = impasto.stylize(content, [style_path], **kw)
    ones = impasto.stylize(content, style_path, masks=[np.ones(content.shape[:2], np.float32)], **kw)
    assert np.array_equal(plain.array, listed.array) and plain.history == listed.history
    assert np.array_equal(plain.array, ones.array) and plain.history == ones.history
