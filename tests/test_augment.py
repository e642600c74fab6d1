"""StyleAugment (impasto.augment.transform) and the style-statistics prior (impasto.augment.stats).

Tiny random decoders (relu2_1, relu1_1 at a quarter width) and two gallery paintings at 32 px keep
these fast; the cascade's quality is not under test here, only what the transform does with it.
"""

from __future__ import annotations

import math
import pickle

import pytest
import torch

from impasto.augment.stats import (
    PRIOR_LEVELS,
    SHIPPED_PRIOR,
    StylePrior,
    fit_prior,
    load_prior,
    save_prior,
    statistics_vector,
)
from impasto.augment.transform import StyleAugment, _adain_towards
from impasto.errors import InputError
from impasto.gallery import list_styles
from impasto.nets.decoder import VGGDecoder
from impasto.universal.transforms import feature_stats

PAINTINGS = ["starry-night", "the-scream"]


@pytest.fixture(scope="module")
def decoders(one_thread):
    torch.manual_seed(0)
    return {lv: VGGDecoder(lv, width=0.25) for lv in ("relu2_1", "relu1_1")}


@pytest.fixture(scope="module")
def aug(decoders):
    return StyleAugment(PAINTINGS, p=0.5, strength=(0.3, 1.0), method="wct", decoders=decoders, style_size=32)


@pytest.fixture(scope="module")
def small_prior():
    torch.manual_seed(1)
    return fit_prior(torch.randn(40, 2 * (64 + 128)), ("relu1_1", "relu2_1"), (64, 128), rank=4)


def batch(n: int = 4, size: int = 24, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_same_generator_seed_same_batch_other_seed_other_batch(aug):
    x = batch()
    a = aug(x, generator=torch.Generator().manual_seed(3))
    b = aug(x, generator=torch.Generator().manual_seed(3))
    c = aug(x, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_p_decides_which_images_change(aug):
    x = batch(8)
    gen = torch.Generator().manual_seed(5)
    plan = aug.draw(8, torch.Generator().manual_seed(5))
    out = aug(x, generator=gen)
    changed = (out - x).abs().flatten(1).amax(dim=1) > 0
    assert torch.equal(changed, plan.apply)  # the drawn decisions are the ones applied ...
    assert 0 < int(plan.apply.sum()) < 8  # ... and with p = 0.5 and this seed some are kept, some not
    keep = StyleAugment(PAINTINGS, p=0.0, decoders=aug.decoders, style_size=32)
    assert torch.equal(keep(x), x)


def test_batched_cascade_equals_universal_per_image(aug):
    """Oracle: impasto.universal's one-image cascade with the same painting, strength, encoder and decoders."""
    from impasto.gallery import resolve_style
    from impasto.io import read_image
    from impasto.transforms import resize_long_side, to_tensor
    from impasto.universal.cascade import stylize_tensor

    x = batch(3)
    styles, strengths = [1, 0, 1], [1.0, 0.4, 0.7]
    for i in range(3):
        painting = resize_long_side(to_tensor(read_image(resolve_style(PAINTINGS[styles[i]]))), 32)
        ref = stylize_tensor(x[i : i + 1], [painting], aug.encoder, aug.decoders, method="wct", strength=strengths[i])
        torch.testing.assert_close(
            aug.stylize(x[i : i + 1], styles[i : i + 1], strengths[i : i + 1]), ref, atol=1e-6, rtol=0
        )


def test_batch_equals_one_image_at_a_time(decoders):
    """AdaIN here: batched convolutions differ from single ones in the last bits, and WCT whitens 128
    channels from 144 pixels at relu2_1 of a 24 px image, a near-singular covariance that turns those bits
    into ~1e-3 (one image at a time is exact, as the test above shows)."""
    aug = StyleAugment(PAINTINGS, method="adain", decoders=decoders, style_size=32)
    x = batch(3)
    styles, strengths = [1, 0, 1], [1.0, 0.4, 0.7]
    out = aug.stylize(x, styles, strengths)
    for i in range(3):
        torch.testing.assert_close(
            out[i : i + 1], aug.stylize(x[i : i + 1], styles[i : i + 1], strengths[i : i + 1]), atol=1e-3, rtol=0
        )  # channels with a tiny std scale up the last bits


def test_no_gradients_kept_and_dtype_shape_kept(aug):
    x = batch(2).double().requires_grad_(True)
    out = aug(x, generator=torch.Generator().manual_seed(0))
    assert out.dtype == torch.float64 and out.shape == x.shape
    assert out.grad_fn is None or not any(p.requires_grad for p in aug.parameters())
    assert all(p.grad is None and not p.requires_grad for p in aug.parameters())
    single = aug(batch(1)[0], generator=torch.Generator().manual_seed(0))
    assert single.shape == (3, 24, 24)


def test_pickles_for_dataloader_workers(aug):
    x = batch(2)
    copy = pickle.loads(pickle.dumps(aug))
    gen = lambda: torch.Generator().manual_seed(9)  # noqa: E731
    assert torch.equal(copy(x, generator=gen()), aug(x, generator=gen()))


def test_inside_a_dataloader_worker(aug):
    class Photos(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int) -> torch.Tensor:
            return aug(batch(1, seed=i)[0], generator=torch.Generator().manual_seed(i))

    loaded = torch.cat(list(torch.utils.data.DataLoader(Photos(), batch_size=2, num_workers=1)))
    in_process = torch.stack([Photos()[i] for i in range(4)])
    assert torch.equal(loaded, in_process)


@pytest.mark.parametrize(
    "bad, words",
    [
        ((torch.rand(2, 3, 24, 24) * 255).to(torch.uint8), "dtype torch.uint8"),
        (torch.rand(2, 1, 24, 24), "shape (2, 1, 24, 24)"),
        (torch.rand(24, 24), "shape (24, 24)"),
        (torch.rand(2, 3, 6, 6), "too small"),
    ],
)
def test_bad_batches_are_refused_in_one_line(aug, bad, words):
    with pytest.raises(InputError, match=None) as err:
        aug(bad)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_bad_settings_are_refused(decoders):
    with pytest.raises(InputError, match="strength"):
        StyleAugment(PAINTINGS, strength=1.5, decoders=decoders)
    with pytest.raises(InputError, match="strength"):
        StyleAugment(PAINTINGS, strength=(0.8, 0.2), decoders=decoders)
    with pytest.raises(InputError, match="within"):
        StyleAugment(PAINTINGS, p=2.0, decoders=decoders)
    with pytest.raises(InputError, match="adain"):
        StyleAugment("prior", method="wct", decoders=decoders)
    with pytest.raises(InputError, match="style not found"):
        StyleAugment(["no-such-painting"], decoders=decoders)
    with pytest.raises(InputError, match="no decoder for relu3_1"):
        StyleAugment(PAINTINGS, decoders=decoders, levels=["relu3_1"])


def test_prior_statistics_are_transferred_at_full_strength_and_own_at_zero(one_thread):
    torch.manual_seed(0)
    feats = torch.rand(8, 10, 12) * 3
    mean, log_std = torch.randn(8), torch.randn(8) * 0.3
    out = _adain_towards(feats, mean, log_std, 1.0)
    got = feature_stats(out, covariance=False)
    assert (mean < 0).any()  # a drawn mean below zero, which no ReLU feature has, becomes zero
    torch.testing.assert_close(got.mean[:, 0].float(), mean.clamp_min(0), atol=1e-4, rtol=0)
    torch.testing.assert_close(got.std[:, 0].log().float(), log_std, atol=1e-3, rtol=0)
    torch.testing.assert_close(_adain_towards(feats, mean, log_std, 0.0), feats, atol=1e-4, rtol=0)
    half = feature_stats(_adain_towards(feats, mean, log_std, 0.5), covariance=False)
    own = feature_stats(feats, covariance=False)
    expected = 0.5 * mean.clamp_min(0) + 0.5 * own.mean[:, 0]
    torch.testing.assert_close(half.mean[:, 0].float(), expected.float(), atol=1e-4, rtol=0)


def test_prior_mode_restyles_deterministically(decoders, small_prior):
    aug = StyleAugment("prior", prior=small_prior, p=1.0, strength=1.0, decoders=decoders)
    x = batch(2)
    a, b = (aug(x, generator=torch.Generator().manual_seed(2)) for _ in range(2))
    assert torch.equal(a, b) and not torch.equal(a, x)
    plan = aug.draw(2, torch.Generator().manual_seed(2))
    assert plan.vectors is not None and plan.vectors.shape == (2, 384)


def test_fit_recovers_a_known_low_rank_plus_diagonal_covariance():
    gen = torch.Generator().manual_seed(0)
    d, n = 12, 20000
    factor = torch.zeros(2, d)
    factor[0, :6], factor[1, 6:] = 2.0, 1.0
    x = torch.randn(n, 2, generator=gen) @ factor + 0.5 * torch.randn(n, d, generator=gen) + 3.0
    prior = fit_prior(x, ("relu1_1",), (6,), rank=2)
    cov = prior.factor.T @ prior.factor + torch.diag(prior.residual)
    expected = factor.T @ factor + 0.25 * torch.eye(d)  # worked out from how x was made
    torch.testing.assert_close(cov, expected, atol=0.12, rtol=0)
    torch.testing.assert_close(prior.mean, torch.full((d,), 3.0), atol=0.05, rtol=0)
    drawn = prior.sample(20000, torch.Generator().manual_seed(1))
    torch.testing.assert_close(torch.cov(drawn.T), expected, atol=0.15, rtol=0)


def test_statistics_vector_by_hand():
    f = torch.tensor([[[[1.0, 3.0]], [[2.0, 2.0]]]])  # one image, 2 channels, 1x2 pixels
    vec = statistics_vector({"relu1_1": f}, ["relu1_1"])
    log_std = [0.5 * math.log(1.0 + 1e-5), 0.5 * math.log(1e-5)]  # variances 1 and 0, plus AdaIN's eps
    expected = torch.tensor([[2.0, 2.0, *log_std]])
    torch.testing.assert_close(vec, expected)


def test_prior_round_trip_and_shipped_prior(tmp_path, small_prior):
    path = save_prior(small_prior, tmp_path / "prior.pt")
    back = load_prior(path)
    assert back.levels == small_prior.levels and back.channels == small_prior.channels
    torch.testing.assert_close(back.factor, small_prior.factor, atol=1e-2, rtol=1e-3)  # stored in fp16
    torch.testing.assert_close(back.mean, small_prior.mean)
    (tmp_path / "junk.pt").write_bytes(b"not a prior")
    with pytest.raises(InputError, match="style prior"):
        load_prior(tmp_path / "junk.pt")
    shipped = load_prior()
    assert isinstance(shipped, StylePrior) and shipped.levels == PRIOR_LEVELS
    assert shipped.mean.shape == (2 * (64 + 128 + 256 + 512),) and (shipped.residual > 0).all()
    assert SHIPPED_PRIOR.stat().st_size < 200_000
    assert set(shipped.info["sources"]) == {f"{name}.jpg" for name in list_styles()}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_batch_matches_cpu(aug):
    x = batch(2)
    cpu = aug(x, generator=torch.Generator().manual_seed(1))
    gpu = aug(x.cuda(), generator=torch.Generator().manual_seed(1))
    aug.to("cpu")
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=2e-3, rtol=0)


def test_fit_keeps_each_dimension_at_its_own_scale():
    """Means in the thousands beside log stds near 1 (as VGG's statistics vectors are): each dimension's
    drawn spread is its samples' own, not a floor set by the largest ones."""
    gen = torch.Generator().manual_seed(0)
    n = 400
    means = 1000.0 + 300.0 * torch.randn(n, 4, generator=gen)
    log_stds = 2.0 + 0.2 * torch.randn(n, 4, generator=gen)
    prior = fit_prior(torch.cat([means, log_stds], dim=1), ("relu1_1",), (4,), rank=2)
    sd = (prior.factor.pow(2).sum(dim=0) + prior.residual).sqrt()
    torch.testing.assert_close(sd[4:], torch.full((4,), 0.2), atol=0.03, rtol=0)
    drawn = prior.sample(4000, torch.Generator().manual_seed(1))
    assert float(drawn[:, 4:].exp().max()) < 30  # e^(2 + 5 sd) at most, not e^(2 + 5 * 14)


def test_the_shipped_prior_draws_plausible_statistics():
    """The gallery's prior draws channel stds within a few times the paintings' own (a floor across all
    dimensions once drew stds up to 1e9, and StyleAugment('prior') returned saturated noise)."""
    prior = load_prior()
    drawn = prior.split(prior.sample(256, torch.Generator().manual_seed(0)))
    centre = prior.split(prior.mean[None])
    for level in prior.levels:
        spread = (drawn[level][1] - centre[level][1]).abs()
        assert float(spread.median()) < 1.0, level  # log std within e^±1 of the mean for most draws


def test_bf16_restyles_like_fp32_and_bad_precision_is_refused(decoders, aug):
    x = batch(3, size=32, seed=7)
    fast = StyleAugment(PAINTINGS, p=1.0, method="wct", decoders=decoders, style_size=32, precision="bf16")
    exact = StyleAugment(PAINTINGS, p=1.0, method="wct", decoders=decoders, style_size=32)
    a, b = (m(x, generator=torch.Generator().manual_seed(1)) for m in (exact, fast))
    assert b.dtype == x.dtype and b.shape == x.shape and torch.isfinite(b).all()
    change = float((a - x).abs().mean())
    assert 0 < float((a - b).abs().mean()) < 0.1 * change  # bf16 rounding, a small part of the restyling
    assert exact.resolved_precision(torch.device("cpu")) == "fp32"
    assert fast.resolved_precision(torch.device("cpu")) == "bf16"
    with pytest.raises(InputError, match="precision must be one of auto, fp32, bf16"):
        StyleAugment(PAINTINGS, decoders=decoders, style_size=32, precision="int8")
