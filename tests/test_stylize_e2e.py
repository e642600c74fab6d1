"""End-to-end tests of ``impasto.stylize`` on real photographs, on the CPU.

Every test runs the whole pipeline (image files -> VGG-19 with the embedded
weights -> loss -> optimiser -> result) at 64-96 px for a few dozen steps at
most, so the file stays fast on a small machine. Runs that several tests look
at are computed once per module (fixtures / ``functools.cache``).

The image-similarity helpers (greyscale, Pearson correlation, SSIM with a
Gaussian window) are written here in numpy on purpose: they are independent of
the code under test, and the reference content image is resized with Pillow,
not with impasto's own resize.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import impasto
from impasto import GatysConfig, InputError, api, gatys

pytestmark = pytest.mark.slow

SIZE = 64  # long side of most runs; VGG-19 still has 4x3 px at relu5_1
LOSS_KEYS = {"content", "style", "tv", "total"}


# --------------------------------------------------------------------------- helpers


def run(content: Any, style: Any, **overrides: Any) -> api.Stylized:
    """``impasto.stylize`` on the CPU with small defaults for tests."""
    overrides.setdefault("image_size", SIZE)
    overrides.setdefault("device", "cpu")
    return impasto.stylize(content, style, **overrides)


def reference(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """The image at ``path`` resized by Pillow (bicubic) to ``shape`` (H, W, ...), float32 in [0, 1]."""
    with Image.open(path) as im:
        small = im.convert("RGB").resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    return np.asarray(small, dtype=np.float32) / 255.0


def grey(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma, float64."""
    return rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(grey(a).ravel(), grey(b).ravel())[0, 1])


def _gaussian_blur(x: np.ndarray, sigma: float = 1.5, radius: int = 3) -> np.ndarray:
    """Separable Gaussian filter, 'valid' region only (no padding effects)."""
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-(t**2) / (2 * sigma**2))
    k /= k.sum()
    x = np.apply_along_axis(np.convolve, 0, x, k, mode="valid")
    return np.apply_along_axis(np.convolve, 1, x, k, mode="valid")


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004) of the greyscale images, 7x7 Gaussian window, data range 1."""
    x, y = grey(a), grey(b)
    c1, c2 = 0.01**2, 0.03**2
    mx, my = _gaussian_blur(x), _gaussian_blur(y)
    sxx = _gaussian_blur(x * x) - mx * mx
    syy = _gaussian_blur(y * y) - my * my
    sxy = _gaussian_blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def assert_image(array: np.ndarray, image_size: int, aspect_hw: tuple[int, int] | None = None) -> None:
    """(H, W, 3) float32, long side == image_size, finite, in [0, 1]."""
    assert isinstance(array, np.ndarray)
    assert array.dtype == np.float32
    assert array.ndim == 3 and array.shape[2] == 3, array.shape
    assert max(array.shape[:2]) == image_size, array.shape
    if aspect_hw is not None:
        h, w = aspect_hw
        assert abs(array.shape[0] / array.shape[1] - h / w) < 2 / image_size, (array.shape, aspect_hw)
    assert np.isfinite(array).all()
    assert array.min() >= 0.0 and array.max() <= 1.0, (array.min(), array.max())


def totals(history: list[dict[str, float]]) -> list[float]:
    return [h["total"] for h in history]


def test_helpers_are_sane() -> None:
    """The metrics themselves: identical images score 1, unrelated noise scores near 0."""
    rng = np.random.default_rng(0)
    a = rng.random((40, 50, 3)).astype(np.float32)
    b = rng.random((40, 50, 3)).astype(np.float32)
    assert ssim(a, a) == pytest.approx(1.0)
    assert pearson(a, a) == pytest.approx(1.0)
    assert abs(ssim(a, b)) < 0.1
    assert abs(pearson(a, b)) < 0.1


# --------------------------------------------------------------------------- shared runs


@pytest.fixture(scope="module")
def noise_run(content_path: Path, style_path: Path) -> tuple[api.Stylized, list[dict[str, Any]]]:
    """The default objective from noise, 96 px, 40 L-BFGS steps; every Progress event recorded."""
    events: list[dict[str, Any]] = []

    def callback(p: Any) -> None:
        events.append(
            {
                "stage": p.stage,
                "step": p.step,
                "total": p.total,
                "losses": dict(p.losses),
                "shape": tuple(p.image.shape),
                "requires_grad": bool(p.image.requires_grad),
            }
        )

    result = run(content_path, style_path, image_size=96, num_iterations=40, init="noise", seed=0, callback=callback)
    return result, events


@pytest.fixture(scope="module")
def custom_layer_run(content_path: Path, style_path: Path) -> api.Stylized:
    """Shallow layers only (cheap even at 96 px), with per-layer style weights and non-default fields.

    20 steps: the first few are L-BFGS's line-search warm-up, which finds the step scale.
    """
    return run(
        content_path,
        style_path,
        image_size=96,
        num_iterations=20,
        seed=2,
        init_noise_std=0.2,
        content_layers=("relu3_2",),
        style_layers=("relu1_1", "relu2_1"),
        style_layer_weights=(1.0, 0.5),
    )


# --------------------------------------------------------------------------- 1. the loss goes down


def test_style_loss_falls_by_most_of_its_start(noise_run) -> None:
    result, events = noise_run
    history = result.history
    assert len(history) == 40
    first, last = history[0], history[-1]
    assert last["style"] < 0.2 * first["style"], (first["style"], last["style"])
    t = totals(history)
    assert t[-1] < t[0]
    # steady: each later checkpoint is lower than the previous one
    assert t[39] < t[19] < t[9] < t[0], (t[0], t[9], t[19], t[39])
    # the final loss (evaluated on the clamped result) is consistent with the last step
    assert result.losses.keys() == LOSS_KEYS
    assert result.losses["total"] < 0.2 * t[0]
    assert_image(result.array, 96, aspect_hw=(768, 1024))


# --------------------------------------------------------------------------- 2. content structure


def test_low_style_weight_keeps_the_content_structure(content_path: Path, style_path: Path) -> None:
    outs = {
        sw: run(content_path, style_path, num_iterations=20, init="content", seed=0, style_weight=sw)
        for sw in (1.0, 1e4)
    }
    ref = reference(content_path, outs[1.0].array.shape)
    s = {sw: ssim(out.array, ref) for sw, out in outs.items()}
    r = {sw: pearson(out.array, ref) for sw, out in outs.items()}
    # measured (64 px, 20 steps): SSIM ~0.84 vs ~0.60, Pearson ~0.97 vs ~0.91
    assert s[1.0] > 0.7, s
    assert s[1.0] > s[1e4] + 0.1, s
    assert r[1.0] > r[1e4] + 0.02, r
    # the strong style weight did change the picture: its style term is far above the weak one's
    assert outs[1e4].losses["style"] > 100 * outs[1.0].losses["style"]


# --------------------------------------------------------------------------- 3. seeds


def test_same_seed_same_pixels_other_seed_other_pixels(content_path: Path, style_path: Path) -> None:
    a = run(content_path, style_path, num_iterations=8, init="noise", seed=3)
    b = run(content_path, style_path, num_iterations=8, init="noise", seed=3)
    c = run(content_path, style_path, num_iterations=8, init="noise", seed=4)
    assert np.array_equal(a.array, b.array)
    assert a.history == b.history
    assert not np.array_equal(a.array, c.array)
    assert np.abs(a.array - c.array).mean() > 0.01
    assert (a.config.seed, c.config.seed) == (3, 4)


# --------------------------------------------------------------------------- 4. starting images


@pytest.fixture
def odd_init_image(tmp_path: Path) -> Path:
    """A 100x40 colour ramp: a different size and aspect ratio from the content."""
    y, x = np.mgrid[0:40, 0:100]
    rgb = np.stack([x / 99, y / 39, 1 - x / 99], axis=-1)
    path = tmp_path / "ramp.png"
    Image.fromarray((rgb * 255).round().astype(np.uint8), "RGB").save(path)
    return path


@pytest.mark.parametrize("init", ["noise", "content", "style", "image"])
def test_each_init_runs(init: str, content_path: Path, style_path: Path, odd_init_image: Path) -> None:
    extra = {"init_image": str(odd_init_image)} if init == "image" else {}
    steps: list[int] = []
    result = run(
        content_path, style_path, num_iterations=3, init=init, seed=0, callback=lambda p: steps.append(p.step), **extra
    )
    assert_image(result.array, SIZE, aspect_hw=(768, 1024))
    assert result.array.shape == (48, 64, 3)
    assert steps == [1, 2, 3]
    assert result.config.init == init
    assert all(math.isfinite(v) for h in result.history for v in h.values())


@pytest.mark.parametrize("init", ["content", "image"])
def test_content_is_the_optimum_of_the_content_loss(init: str, content_path: Path, style_path: Path) -> None:
    """With only the content term, starting at the content (or an init image that is the content) stays there."""
    extra = {"init_image": str(content_path)} if init == "image" else {}
    result = run(
        content_path,
        style_path,
        num_iterations=5,
        init=init,
        content_weight=1.0,
        style_weight=0.0,
        tv_weight=0.0,
        **extra,
    )
    assert result.history[0]["total"] == pytest.approx(0.0, abs=1e-6)
    assert result.losses["total"] == pytest.approx(0.0, abs=1e-6)
    diff = np.abs(result.array - reference(content_path, result.array.shape)).mean()
    assert diff < 0.02, diff


# --------------------------------------------------------------------------- 5. Adam and schedules


def _lr_factor(schedule: str, i: int, steps: int) -> float:
    """The documented learning-rate multiplier after ``i`` scheduler steps."""
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps))
    return 0.3 ** sum(i >= m for m in (int(steps * 0.5), int(steps * 0.8)))


@functools.cache
def _adam_run(content: Path, style: Path, schedule: str) -> tuple[api.Stylized, list[np.ndarray]]:
    frames: list[np.ndarray] = []
    result = run(
        content,
        style,
        num_iterations=20,
        optimizer="adam",
        lr_schedule=schedule,
        seed=0,
        callback=lambda p: frames.append(p.image.detach().cpu().numpy().copy()),
    )
    return result, frames


@pytest.mark.parametrize("schedule", ["constant", "cosine", "step"])
def test_adam_lowers_the_loss_and_stays_in_range(schedule: str, content_path: Path, style_path: Path) -> None:
    result, frames = _adam_run(content_path, style_path, schedule)
    t = totals(result.history)
    assert len(t) == 20
    assert t[-1] < 0.5 * t[0], (t[0], t[-1])
    assert_image(result.array, SIZE)
    # Adam clamps after every step: every intermediate iterate is in [0, 1] too
    assert min(f.min() for f in frames) >= 0.0 and max(f.max() for f in frames) <= 1.0


@pytest.mark.parametrize("schedule", ["constant", "cosine", "step"])
def test_adam_schedule_sets_the_step_size(schedule: str, content_path: Path, style_path: Path) -> None:
    """Adam moves a pixel by about lr per step, so the largest change per step follows the schedule."""
    _, frames = _adam_run(content_path, style_path, schedule)
    change = [float(np.abs(frames[k] - frames[k - 1]).max()) for k in range(1, len(frames))]
    # frames[k] is the iterate the k+1-th evaluation saw, so frames[k] - frames[k-1] is step k,
    # taken with the factor after k-1 scheduler steps
    measured = change[-1] / change[0]
    expected = _lr_factor(schedule, 18, 20) / _lr_factor(schedule, 0, 20)
    assert expected / 2 < measured < expected * 2, (schedule, measured, expected)
    assert change[0] == pytest.approx(0.02, rel=0.3)  # default Adam learning rate


# --------------------------------------------------------------------------- 6. progress events


def test_progress_events(noise_run) -> None:
    result, events = noise_run
    n = 40
    assert [e["step"] for e in events] == list(range(1, n + 1))
    assert all(e["total"] == n for e in events)
    assert all(e["stage"].startswith("scale 1/1 (") for e in events)  # one level at 96 px
    assert all(set(e["losses"]) == LOSS_KEYS for e in events)
    h, w = result.array.shape[:2]
    assert all(e["shape"] == (1, 3, h, w) for e in events)
    assert not any(e["requires_grad"] for e in events)
    # the callback saw exactly the per-step history that the result reports
    assert [e["losses"] for e in events] == result.history
    for e in events:
        parts = e["losses"]
        assert parts["total"] == pytest.approx(parts["content"] + parts["style"] + parts["tv"], rel=1e-5)


# --------------------------------------------------------------------------- 7. pooling and layers


def test_average_pooling_runs_and_differs_from_max(content_path: Path, style_path: Path) -> None:
    avg = run(content_path, style_path, num_iterations=10, pooling="avg", seed=0)
    mx = run(content_path, style_path, num_iterations=1, pooling="max", seed=0)
    t = totals(avg.history)
    assert t[-1] < 0.5 * t[0], (t[0], t[-1])
    assert_image(avg.array, SIZE)
    # same seed, same start: only the network differs, so the first losses must too
    assert avg.history[0]["style"] != pytest.approx(mx.history[0]["style"], rel=1e-3)


def test_custom_layers_run_and_lower_the_loss(custom_layer_run) -> None:
    t = totals(custom_layer_run.history)
    assert len(t) == 20
    assert t[-1] < 0.5 * t[0], (t[0], t[-1])
    assert custom_layer_run.config.style_layer_weights == (1.0, 0.5)
    assert_image(custom_layer_run.array, 96)


def test_style_layer_weights_are_applied(content_path: Path, style_path: Path) -> None:
    """First-step style loss is linear in the per-layer weights: L(1, .5) == L(1, 0) + .5 L(0, 1)."""
    layers = {"content_layers": ("relu3_2",), "style_layers": ("relu1_1", "relu2_1")}
    first = {}
    for weights in ((1.0, 0.0), (0.0, 1.0), (1.0, 0.5)):
        out = run(content_path, style_path, num_iterations=1, seed=0, style_layer_weights=weights, **layers)
        first[weights] = out.history[0]
    s = {w: v["style"] for w, v in first.items()}
    assert s[(1.0, 0.0)] > 0 and s[(0.0, 1.0)] > 0
    assert s[(1.0, 0.5)] == pytest.approx(s[(1.0, 0.0)] + 0.5 * s[(0.0, 1.0)], rel=1e-4)
    # the content term does not depend on the style weights
    assert first[(1.0, 0.0)]["content"] == first[(0.0, 1.0)]["content"] == first[(1.0, 0.5)]["content"]


# --------------------------------------------------------------------------- 8. validation before compute


@pytest.fixture
def no_compute(monkeypatch: pytest.MonkeyPatch) -> list[api.GatysConfig]:
    """Replace the compute stage; record configs that reach it."""
    reached: list[api.GatysConfig] = []

    def fake_run(cfg, *args, **kwargs):
        reached.append(cfg)
        raise RuntimeError("compute started")

    monkeypatch.setattr(gatys, "run", fake_run)
    return reached


BAD_OPTIONS = [
    ({"image_size": 0}, "image_size"),
    ({"style_weight": -1}, "style_weight"),
    ({"content_weight": float("nan")}, "content_weight"),
    ({"num_iterations": 0}, "steps"),  # the old name of steps
    ({"style_layers": ("relu9_9",)}, "relu9_9"),
    ({"style_layer_weights": (1.0,)}, "style_layer_weights"),
    ({"optimizer": "sgd"}, "optimizer"),
]


@pytest.mark.parametrize(("overrides", "match"), BAD_OPTIONS, ids=[m for _, m in BAD_OPTIONS])
def test_bad_options_raise_before_compute(overrides, match, no_compute, content_path, style_path) -> None:
    with pytest.raises(InputError, match=match):
        impasto.stylize(content_path, style_path, **overrides)
    assert no_compute == []


@pytest.mark.parametrize("side", [1, 8])
def test_tiny_content_array_raises_before_compute(side: int, no_compute, style_path) -> None:
    tiny = np.full((side, side, 3), 0.5, dtype=np.float32)
    with pytest.raises(InputError, match="content image"):
        impasto.stylize(tiny, style_path, image_size=SIZE, num_iterations=1)
    assert no_compute == []


def test_valid_options_do_reach_compute(no_compute, content_path, style_path) -> None:
    """Guards the two tests above: the patched compute stage is the one stylize calls."""
    with pytest.raises(RuntimeError, match="compute started"):
        impasto.stylize(content_path, style_path, image_size=SIZE, num_iterations=1)
    assert len(no_compute) == 1 and no_compute[0].image_size == SIZE


# --------------------------------------------------------------------------- 9. saving with metadata


def test_save_png_with_config_metadata(custom_layer_run, tmp_path: Path) -> None:
    out = custom_layer_run.save(tmp_path / "out.png")
    assert Path(out) == tmp_path / "out.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temporary file left behind
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == (custom_layer_run.array.shape[1], custom_layer_run.array.shape[0])
        text = dict(im.text)
        pixels = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    assert text.get("Software") == "impasto"
    data = json.loads(text["impasto:config"])
    assert data["image_size"] == 96
    assert data["init_noise_std"] == 0.2
    assert data["style_layer_weights"] == [1.0, 0.5]
    assert data["content_layers"] == ["relu3_2"]
    assert GatysConfig.from_dict(data) == custom_layer_run.config
    assert np.abs(pixels - custom_layer_run.array).max() <= 0.5 / 255 + 1e-6


# --------------------------------------------------------------------------- 10. loss variants


LOSS_VARIANTS = {
    "gram-paper": {"gram_norm": "paper"},
    "gram-hw": {"gram_norm": "hw"},
    "content-sum": {"content_reduction": "sum"},
    "content-paper": {"content_reduction": "paper"},
    "tv-l1": {"tv_kind": "l1"},
    "tv-power": {"tv_kind": "power", "tv_beta": 1.5},
}


@functools.cache
def _variant_run(content: Path, style: Path, name: str) -> api.Stylized:
    return run(content, style, num_iterations=5, seed=0, **LOSS_VARIANTS[name])


@pytest.mark.parametrize("name", list(LOSS_VARIANTS))
def test_loss_variants_run_without_nan(name: str, content_path: Path, style_path: Path) -> None:
    result = _variant_run(content_path, style_path, name)
    assert len(result.history) == 5
    for h in result.history:
        assert set(h) == LOSS_KEYS
        assert all(math.isfinite(v) for v in h.values()), h
    assert all(math.isfinite(v) for v in result.losses.values())
    assert totals(result.history)[-1] < totals(result.history)[0]
    assert_image(result.array, SIZE)


def test_loss_variant_normalisations_relate_as_documented(content_path: Path, style_path: Path) -> None:
    """Same seed, same start: 'paper' Gram loss is the 'hw' one / 4; 'paper' content is 'sum' / 2."""
    first = {name: _variant_run(content_path, style_path, name).history[0] for name in LOSS_VARIANTS}
    assert first["gram-paper"]["style"] == pytest.approx(first["gram-hw"]["style"] / 4, rel=1e-5)
    assert first["gram-paper"]["content"] == first["gram-hw"]["content"]
    assert first["content-paper"]["content"] == pytest.approx(first["content-sum"]["content"] / 2, rel=1e-5)
    assert first["content-paper"]["style"] == first["content-sum"]["style"]
    # both TV kinds measure the same start: positive, and different from each other
    assert first["tv-l1"]["tv"] > 0 and first["tv-power"]["tv"] > 0
    assert first["tv-l1"]["tv"] != pytest.approx(first["tv-power"]["tv"], rel=1e-3)


# --------------------------------------------------------------------------- optional: another pair


def test_other_pair_from_shared_images(golden_gate: Path, the_scream: Path) -> None:
    """A portrait-format painting on a landscape photo (skips when shared/images is absent)."""
    result = run(golden_gate, the_scream, num_iterations=8, seed=0)
    assert_image(result.array, SIZE, aspect_hw=(734, 979))
    assert result.history[-1]["style"] < 0.5 * result.history[0]["style"]


# --------------------------------------------------------------------------- known L-BFGS weaknesses
#
# make_optimizer builds torch's L-BFGS with lr=1, no line search and max_iter=1, on the [0, 1] image.
# The first step is scaled to 1/|g|_1; when its curvature pair is rejected (y.s <= 1e-10), the second
# step is a plain gradient step of length lr * |g| on a loss whose pixel gradients are ~1e4-1e6, so
# the image jumped to |x| ~ 1e4-1e7. Either the loss overflowed (ImpastoError) or the next accepted pair
# had an enormous y, H_diag = y.s / y.y underflowed to 0 and every later step was zero: the run silently
# stopped. Fixed by optimising on the 0-255 scale, a strong-Wolfe warm-up and an overshoot restart
# (optim/loop.py); these are the regression tests.


def test_lbfgs_default_config_64px_seed1_converges(content_path: Path, style_path: Path) -> None:
    result = run(content_path, style_path, num_iterations=4, seed=1)
    assert totals(result.history)[-1] < totals(result.history)[0]


def test_lbfgs_does_not_stall_after_an_overshoot(content_path: Path, style_path: Path) -> None:
    result = run(
        content_path,
        style_path,
        num_iterations=20,
        seed=7,
        init_noise_std=0.1,
        content_layers=("relu3_2",),
        style_layers=("relu1_1", "relu2_1"),
    )
    t = totals(result.history)
    assert t[-1] < 0.5 * t[0], t


def test_lbfgs_recovers_from_a_huge_style_weight(content_path: Path, style_path: Path) -> None:
    """Style weight 1e4 from the content: the plain L-BFGS step used to overshoot to 1e27 and stall."""
    result = run(content_path, style_path, num_iterations=30, init="content", seed=0, style_weight=1e4)
    t = totals(result.history)
    assert t[-1] < 0.2 * t[0], (t[0], t[-1])
