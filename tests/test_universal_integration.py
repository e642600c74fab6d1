"""Universal style transfer behind the façade and the CLI: impasto.stylize(method="wct"|"adain"),
``impasto stylize --method``, the shipped decoders, masks, tiles and the memory plan, --init wct for Gatys,
gallery names, and bad input (one line, exit 2, no output file). Real images at small sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import impasto
from cli_run import run_main, stylize_argv
from impasto.errors import InputError
from impasto.universal.decoders import SHIPPED_DIR


@pytest.fixture(scope="module")
def photo_path(shared_file) -> Path:
    return shared_file("kodak", "kodim17.png")


@pytest.fixture(scope="module")
def photo(photo_path: Path) -> np.ndarray:
    from impasto.io import read_image

    return read_image(photo_path)[::6, ::6].copy()  # 128 x 86 (portrait)


@pytest.fixture(scope="module")
def painting(the_scream: Path) -> np.ndarray:
    from impasto.io import read_image

    return read_image(the_scream)[::6, ::6].copy()


@pytest.fixture(scope="module")
def shipped() -> list[str]:
    from impasto.nets.decoder import LEVELS

    levels = [lv for lv in LEVELS if (SHIPPED_DIR / f"{lv}.pt").is_file()]
    if not levels:
        pytest.skip("no decoders shipped in this checkout")
    return levels


def test_shipped_decoders_are_fp16_files_of_their_level(shipped):
    from impasto.universal.decoders import SHIPPED_SETS, load_decoder

    files = [SHIPPED_DIR / f"{level}.pt" for level in shipped]
    files += [SHIPPED_DIR / name / f"{level}.pt" for name in SHIPPED_SETS for level in shipped]
    for path in files:
        data = torch.load(path, map_location="cpu", weights_only=True)
        assert data["format"] == "impasto-decoder"
        assert all(v.dtype == torch.float16 for v in data["state"].values() if v.is_floating_point())
        decoder, _ = load_decoder(path)
        assert decoder.level == path.stem
    assert sum(path.stat().st_size for path in files) < 40e6  # every shipped set together


def test_the_reconstruction_set_is_a_decoder_folder_by_name(photo, painting, shipped, tmp_path, monkeypatch):
    """``decoders="reconstruction"`` picks the shipped reconstruction-only set; the default set's levels are
    the stylisation-tuned ones, so the pictures differ; a folder of that name in the working directory wins."""
    default = impasto.stylize(photo, painting, method="wct", image_size=64, levels=["relu4_1"]).array
    recon = impasto.stylize(
        photo, painting, method="wct", image_size=64, levels=["relu4_1"], decoders="reconstruction"
    ).array
    assert recon.shape == default.shape and np.abs(recon - default).mean() > 0.01
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reconstruction").mkdir()
    with pytest.raises(InputError, match="no decoders"):
        impasto.stylize(photo, painting, method="wct", image_size=64, decoders="reconstruction")


@pytest.mark.parametrize("method", ["wct", "adain"])
def test_facade_runs_the_shipped_levels_and_says_which(photo, painting, shipped, method, tmp_path):
    from PIL import Image

    from impasto.universal.config import UniversalConfig

    result = impasto.stylize(photo, painting, method=method, image_size=96, strength=0.8)
    assert isinstance(result.config, UniversalConfig) and result.config.method == method
    assert result.extra["levels"] == ",".join(sorted(shipped, reverse=True))  # deepest first
    assert result.extra["anchor"] == ("relu3_1=0.5" if method == "wct" and "relu4_1" in shipped else "off")
    assert result.array.shape == (96, 64, 3) and np.isfinite(result.array).all()
    # styled: the result moved away from the photo
    from impasto.transforms import resize, to_array, to_tensor

    small = to_array(resize(to_tensor(photo), (96, 64)))
    assert np.abs(result.array - small).mean() > 0.03
    saved = result.save(tmp_path / "out.png")
    meta = json.loads(Image.open(saved).text["impasto:config"])
    assert meta["method"] == method and meta["strength"] == 0.8


def test_facade_refuses_mixed_configs_and_unknown_methods(photo, painting):
    from impasto.universal.config import UniversalConfig

    with pytest.raises(InputError, match="unknown option 'steps'"):
        impasto.stylize(photo, painting, method="wct", steps=3)
    with pytest.raises(InputError, match="UniversalConfig"):
        impasto.stylize(photo, painting, method="wct", config=impasto.GatysConfig())
    with pytest.raises(InputError, match="GatysConfig"):
        impasto.stylize(photo, painting, config=UniversalConfig(), method="gatys")
    with pytest.raises(InputError, match="unknown method"):
        impasto.stylize(photo, painting, method="cyclegan")


def test_a_black_mask_keeps_the_content_and_a_white_one_changes_nothing(photo, painting, shipped):
    from impasto.universal.cascade import stylize_universal

    # fp32: without masks the transform can be folded into the decoder, with masks the features are mixed
    # first; in bf16 the two orders round differently (about 0.003)

    h, w = photo.shape[:2]
    zero = stylize_universal(photo, painting, image_size=None, precision="fp32", strength=0.0, decoders=None)
    black = stylize_universal(photo, painting, image_size=None, precision="fp32", masks=[np.zeros((h, w), np.float32)])
    assert np.abs(black - zero).max() < 1e-5  # no style anywhere: the photo through the decoders
    full = stylize_universal(photo, painting, image_size=None, precision="fp32")
    white = stylize_universal(photo, painting, image_size=None, precision="fp32", masks=[np.ones((h, w), np.float32)])
    assert np.abs(white - full).max() < 1e-4
    half = np.zeros((h, w), np.float32)
    half[: h // 2] = 1
    split = stylize_universal(photo, painting, image_size=None, precision="fp32", masks=[half])
    # far from the boundary, each half follows its own mask (the decoders mix a few pixels across it)
    assert np.abs(split[: h // 4] - full[: h // 4]).mean() < 0.5 * np.abs(split[-h // 4 :] - full[-h // 4 :]).mean()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["adain", "wct"])
def test_tiles_give_the_untiled_image(photo_path, painting, shipped, method):
    from impasto.universal.cascade import stylize_universal

    whole = stylize_universal(str(photo_path), painting, method=method, image_size=288)
    tiled = stylize_universal(str(photo_path), painting, method=method, image_size=288, tile_size=96)
    # the margin covers the encoder's and decoders' reach: only rounding in the statistics differs
    # (float32 block products, amplified by whitening's small eigenvalues for WCT)
    assert np.abs(whole - tiled).mean() < (1e-4 if method == "adain" else 2e-3)
    assert np.percentile(np.abs(whole - tiled), 99) < (1e-3 if method == "adain" else 2e-2)


def test_statistics_accumulated_over_parts_equal_the_whole():
    from impasto.universal.transforms import StatsAccumulator, feature_stats

    gen = torch.Generator().manual_seed(0)
    feats = 5 + 3 * torch.rand(16, 40, 30, generator=gen, dtype=torch.float64)
    for covariance in (True, False):
        acc = StatsAccumulator(covariance=covariance)
        for part in (feats[:, :7], feats[:, 7:25], feats[:, 25:]):
            acc.add(part)
        got, want = acc.result(), feature_stats(feats, covariance=covariance)
        assert torch.allclose(got.mean, want.mean) and torch.allclose(got.std, want.std)
        if covariance:
            assert torch.allclose(got.eigvals, want.eigvals, rtol=1e-9, atol=1e-12)


def test_memory_plan_tiles_or_refuses_with_the_largest_size():
    from impasto.universal.plan import peak_bytes, plan_tile

    assert plan_tile((512, 512), None) is None
    assert plan_tile((512, 512), peak_bytes(512, 512)) is None
    tile = plan_tile((4096, 4096), 8 * 2**30)
    assert tile is not None and peak_bytes(4096, 4096, tile) <= 8 * 2**30
    assert plan_tile((1024, 1024), None, tile_size=256) == 256
    with pytest.raises(InputError, match="largest size that fits is about image_size="):
        plan_tile((4096, 4096), 100 * 2**20)


@pytest.mark.slow
def test_a_small_memory_cap_makes_the_run_tile(photo_path, painting, shipped):
    result = impasto.stylize(photo_path, painting, method="adain", image_size=640, max_memory=0.3)
    assert result.extra["tile_size"] != "off" and result.array.shape == (640, 427, 3)
    with pytest.raises(InputError, match="largest size that fits"):
        impasto.stylize(photo_path, painting, method="adain", image_size=640, max_memory=0.05)


@pytest.mark.slow
def test_anchor_keeps_the_photos_layout_on_a_real_pair(shipped, shared_file):
    """The default anchor (the photo's relu3_1 features mixed in) lowers the judged content distance of
    WCT at little cost in style (measured at 256 px in docs/universal.md; here kodim18 / The Scream at 128)."""
    from impasto.universal.cascade import stylize_universal

    if "relu4_1" not in shipped:
        pytest.skip("the anchor acts below relu4_1, which this checkout does not ship")
    photo, painting = shared_file("kodak", "kodim18.png"), shared_file("style", "the_scream.jpg")
    kw = {"image_size": 128, "precision": "fp32"}
    runs = [stylize_universal(str(photo), str(painting), anchor=a, **kw) for a in (0.0, None)]
    ev = impasto.evaluate(photo, painting, runs, names=["off", "default"], image_size=128)
    off, default = ev.rows[2], ev.rows[3]
    assert default.content_distance < 0.9 * off.content_distance
    assert default.style_distance < 1.3 * off.style_distance  # measured 1.15 here; 0.92 at 256 px


def test_gatys_init_wct_starts_near_the_style(photo, painting, shipped):
    noise = impasto.stylize(photo, painting, image_size=64, steps=2, init="noise")
    warm = impasto.stylize(photo, painting, image_size=64, steps=2, init="wct")
    assert warm.config.init == "wct"
    assert warm.history[0]["style"] < 0.5 * noise.history[0]["style"]


def test_gallery_names_work_for_gatys_too(photo):
    out = impasto.stylize(photo, "great-wave", image_size=48, steps=1)
    assert out.array.shape[:2] == (48, 32)


def test_decoder_train_config_is_torch_free_and_checked():
    import subprocess
    import sys

    code = (
        "import sys; from impasto.universal.config import DecoderTrainConfig, UniversalConfig; "
        "DecoderTrainConfig(); UniversalConfig().validate(); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
    from impasto.universal.config import DecoderTrainConfig, UniversalConfig

    with pytest.raises(InputError, match="too small for relu3_1"):
        DecoderTrainConfig(level="relu3_1", crop=16)
    with pytest.raises(InputError, match="strength"):
        UniversalConfig(strength=1.5).validate()
    with pytest.raises(InputError, match="unknown level"):
        UniversalConfig(levels=("relu9_1",)).validate()


# ---- the command line ----


def test_cli_method_wct_with_a_gallery_style(photo_path, shipped, tmp_path, capsys):
    out = tmp_path / "wct.png"
    options = ["--method", "wct", "--image-size", "96", "--strength", "0.7", "--json", "-q"]
    code, stdout, err = run_main(stylize_argv(photo_path, "starry-night", out, *options), capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["config"]["method"] == "wct" and summary["run"]["levels"].startswith(shipped[-1])
    from impasto.io import read_image

    assert read_image(out).shape == (96, 64, 3)


def test_cli_style_blend_and_masks(photo_path, shipped, tmp_path, capsys):
    from PIL import Image

    mask = tmp_path / "top.png"
    arr = np.zeros((96, 64), np.uint8)
    arr[:48] = 255
    Image.fromarray(arr).save(mask)
    out = tmp_path / "two.png"
    options = ["--method", "adain", "--image-size", "96", "--style-blend", "2", "1", "--style-mask", mask, "none"]
    argv = ["stylize", photo_path, "udnie", "great-wave", "-o", out, *options, "--preserve-color", "luminance", "-q"]
    code, _, err = run_main(argv, capsys)
    assert code == 0, err and out.is_file()


def test_cli_flat_style_gives_a_finite_image(photo_path, shipped, tmp_path, capsys):
    from PIL import Image

    flat = tmp_path / "flat.png"
    Image.new("RGB", (64, 64), (200, 80, 30)).save(flat)
    out = tmp_path / "flat_out.png"
    code, _, err = run_main(stylize_argv(photo_path, flat, out, "--method", "wct", "--image-size", "64", "-q"), capsys)
    assert code == 0, err
    from impasto.io import read_image

    result = read_image(out)
    assert np.isfinite(result).all() and result.std() > 0.01
    # a flat painting gives a nearly flat picture in its colour (measured: within a few grey levels)
    np.testing.assert_allclose(result.mean((0, 1)), np.array([200, 80, 30]) / 255, atol=0.05)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--strength", "1.5"], "strength must be between 0 and 1"),
        (["--strength", "-0.1"], "strength must be a finite number >= 0"),
        (["--anchor", "1.5"], "anchor must be between 0 and 1"),
        (["--anchor-levels", "relu9_1"], "anchor_levels: unknown level 'relu9_1'"),
        (["--levels", "relu5_1"], "no decoder for relu5_1"),
        (["--decoders", "EMPTY"], "no decoders"),
        (["--decoders", "MISSING"], "decoder folder not found"),
        (["--steps", "10"], "--steps: only for --method gatys"),
        (["--style-blend", "1", "2"], "style_blend has 2 weights for 1 styles"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_no_file(photo_path, shipped, tmp_path, capsys, extra, message):
    (tmp_path / "EMPTY").mkdir()
    extra = [str(tmp_path / e) if e in ("EMPTY", "MISSING") else e for e in extra]
    out = tmp_path / "out.png"
    options = ["--method", "wct", "--image-size", "64", "-q", *extra]
    code, _, err = run_main(stylize_argv(photo_path, "starry-night", out, *options), capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.parametrize("which", ["content", "style", "mask"])
def test_cli_refuses_an_input_as_the_output(photo_path, shipped, tmp_path, capsys, which):
    """Copies, so that a failure cannot overwrite the shared originals."""
    import shutil

    content, style, mask = tmp_path / "photo.png", tmp_path / "painting.png", tmp_path / "mask.png"
    shutil.copy(photo_path, content)
    from PIL import Image

    Image.new("RGB", (64, 64), (10, 120, 200)).save(style)
    Image.new("L", (64, 64), 255).save(mask)
    target = {"content": content, "style": style, "mask": mask}[which]
    before = target.read_bytes()
    options = ["--method", "wct", "--image-size", "64", "--style-mask", str(mask), "-q"]
    code, _, err = run_main(stylize_argv(content, style, target, *options), capsys)
    assert code == 2 and "is an input" in err and len(err.strip().splitlines()) == 1, err
    assert target.read_bytes() == before


def test_cli_style_too_small_for_the_levels(photo_path, shipped, tmp_path, capsys):
    from PIL import Image

    small = tmp_path / "small.png"
    Image.new("RGB", (40, 24), (10, 120, 200)).save(small)
    out = tmp_path / "out.png"
    options = ["--method", "adain", "--image-size", "64", "--style-scale", "0.25", "-q"]
    code, _, err = run_main(stylize_argv(photo_path, small, out, *options), capsys)
    assert code == 2 and "too small for" in err and not out.exists(), err


def test_cli_gatys_refuses_wct_options(photo_path, tmp_path, capsys):
    out = tmp_path / "out.png"
    code, _, err = run_main(stylize_argv(photo_path, "starry-night", out, "--strength", "0.5"), capsys)
    assert code == 2 and "--strength: only for --method wct or adain" in err and not out.exists()


def test_export_keeps_the_input_scale(tmp_path):
    from impasto.nets.decoder import VGGDecoder
    from impasto.train.checkpoint import save_checkpoint
    from impasto.universal.decoders import export_decoder, load_decoder

    torch.manual_seed(0)
    dec = VGGDecoder("relu1_1", width=0.5, input_scale=0.01).eval()
    kwargs = {"level": "relu1_1", "width": 0.5, "input_scale": 0.01}
    entry = {"arch": "vgg_decoder", "kwargs": kwargs, "state": dec.state_dict()}
    save_checkpoint(tmp_path / "ckpt.pt", {"kind": "decoder", "nets": {"decoder": entry}, "step": 1})
    loaded, _ = load_decoder(export_decoder(tmp_path / "ckpt.pt", tmp_path / "relu1_1.pt"))
    assert loaded.input_scale == pytest.approx(0.01)
    x = 100 * torch.rand(1, 64, 8, 8)
    assert torch.allclose(loaded(x), dec(x), atol=2e-2)
