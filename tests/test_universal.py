"""Universal style transfer: decoders, their training, the cascade, decoder files, gallery and CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from impasto.errors import InputError
from impasto.nets import create_net
from impasto.nets.decoder import LEVELS, VGGDecoder
from impasto.universal.cascade import Encoder, stylize_tensor, stylize_universal


@pytest.fixture(scope="module")
def kodak(shared_file) -> list[Path]:
    return [shared_file("kodak", f"kodim0{i}.png") for i in (1, 2)]


@pytest.fixture(scope="module")
def photo(kodak: list[Path]) -> np.ndarray:
    from impasto.io import read_image

    return read_image(kodak[0])[::8, ::8].copy()  # 64 x 96


@pytest.fixture(scope="module")
def painting(shared_file) -> np.ndarray:
    from impasto.io import read_image

    return read_image(shared_file("style", "starry_night.jpg"))[::10, ::10].copy()


def random_decoders(levels: tuple[str, ...]) -> dict[str, VGGDecoder]:
    torch.manual_seed(0)
    return {level: VGGDecoder(level, width=0.25).eval() for level in levels}


@pytest.mark.parametrize("level", LEVELS)
def test_decoder_returns_the_image_size_even_for_odd_sizes(level):
    dec = create_net("vgg_decoder", level=level, width=0.125)
    stride = 2 ** (int(level[4]) - 1)
    channels = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}[int(level[4])]
    h, w = 37, 53
    assert dec(torch.rand(1, channels, h // stride, w // stride), size=(h, w)).shape == (1, 3, h, w)


def test_decoder_rejects_features_of_another_level():
    with pytest.raises(InputError, match="expects"):
        VGGDecoder("relu2_1")(torch.rand(1, 64, 8, 8))


@pytest.mark.slow
def test_training_lowers_the_loss_and_resume_continues(kodak, tmp_path):
    from impasto.universal.data import ReconstructionData
    from impasto.universal.train import DecoderTrainConfig, train

    data = ReconstructionData(kodak, 48, max_side=128)
    cfg = DecoderTrainConfig(
        level="relu1_1", steps=30, batch_size=2, crop=48, lr=2e-3, checkpoint_every=10, eval_every=0
    )
    state = train(cfg, data, tmp_path / "run")
    pixel = [h["pixel"] for h in state.history]
    assert np.mean(pixel[-5:]) < 0.5 * np.mean(pixel[:5])
    longer = DecoderTrainConfig(**{**cfg.to_dict(), "steps": 33})
    resumed = train(longer, data, tmp_path / "run", resume=True)
    assert resumed.step == 33 and len(resumed.history) == 33


def test_batches_depend_only_on_step_and_seed(kodak):
    from impasto.universal.data import ReconstructionData

    data = ReconstructionData(kodak, 32, max_side=96)
    assert torch.equal(data.batch(3, 7, seed=1), data.batch(3, 7, seed=1))
    assert not torch.equal(data.batch(3, 7, seed=1), data.batch(3, 8, seed=1))


def test_strength_zero_reconstructs_through_the_decoder(photo, painting):
    decoders = random_decoders(("relu2_1",))
    encoder = Encoder("relu2_1")
    content = torch.from_numpy(photo).permute(2, 0, 1)[None]
    style = torch.from_numpy(painting).permute(2, 0, 1)[None]
    out = stylize_tensor(content, [style], encoder, decoders, strength=0.0)
    expected = decoders["relu2_1"](encoder.encode(content, ["relu2_1"])["relu2_1"], size=(64, 96)).clamp(0, 1)
    assert torch.allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("method", ["wct", "adain"])
def test_flat_colour_style_gives_a_finite_image(photo, method):
    flat = np.full((64, 64, 3), (0.8, 0.3, 0.1), dtype=np.float32)
    out = stylize_universal(
        photo, flat, method=method, image_size=None, decoders=random_decoders(("relu3_1", "relu2_1", "relu1_1"))
    )
    assert out.shape == photo.shape and np.isfinite(out).all()


def test_callback_sees_each_level_deepest_first(photo, painting):
    seen = []
    stylize_universal(
        photo,
        [painting, painting],
        style_blend=[1, 2],
        image_size=None,
        decoders=random_decoders(("relu1_1", "relu2_1")),
        callback=lambda e: seen.append(e.stage),
    )
    assert seen == ["wct relu2_1", "wct relu1_1"]


def test_preserve_color_luminance_keeps_the_photo_chroma(photo, painting):
    from impasto.color import rgb_to_yiq

    kept = stylize_universal(
        photo, painting, image_size=None, decoders=random_decoders(("relu1_1",)), preserve_color="luminance"
    )
    assert np.abs(rgb_to_yiq(kept)[..., 1:] - rgb_to_yiq(photo)[..., 1:]).mean() < 0.01


def test_preserve_color_histogram_recolours_the_style_like_the_photo(photo, painting, monkeypatch):
    import impasto.universal.cascade as cascade
    from impasto.color import color_moments

    seen = []
    monkeypatch.setattr(cascade, "cached_style_statistics", lambda encoder, style, *a, **k: seen.append(style))
    monkeypatch.setattr(cascade, "stylize_tensor", lambda content, *a, **k: content)
    stylize_universal(
        photo, painting, image_size=None, decoders=random_decoders(("relu1_1",)), preserve_color="histogram"
    )
    style_seen = seen[0][0].permute(1, 2, 0).numpy()
    assert np.allclose(color_moments(style_seen)[0], color_moments(photo)[0], atol=0.03)


def test_bad_input_is_a_one_line_input_error(photo, painting, tmp_path):
    decoders = random_decoders(("relu3_1",))
    with pytest.raises(InputError, match=r"too small for relu3_1.*\(a larger --image-size\)"):
        stylize_universal(photo[:12, :12], painting, image_size=None, decoders=decoders)
    with pytest.raises(InputError, match=r"style image 1 is .* \(a larger --image-size or --style-scale\)"):
        stylize_universal(photo, painting, image_size=None, style_size=20, decoders=decoders)
    with pytest.raises(InputError, match="strength"):
        stylize_universal(photo, painting, strength=1.2, decoders=decoders)
    with pytest.raises(InputError, match="no decoder for relu2_1"):
        stylize_universal(photo, painting, levels=["relu2_1"], decoders=tmp_path)
    with pytest.raises(InputError, match="decoder folder not found"):
        stylize_universal(photo, painting, decoders=tmp_path / "missing")
    with pytest.raises(InputError, match="preserve_color"):
        stylize_universal(photo, painting, preserve_color="yes", decoders=decoders)
    with pytest.raises(InputError, match="method"):
        stylize_universal(photo, painting, method="gatys", decoders=decoders)


def test_no_shipped_decoders_is_an_input_error(photo, painting, tmp_path, monkeypatch):
    import impasto.universal.decoders as decoders_module

    monkeypatch.setattr(decoders_module, "SHIPPED_DIR", tmp_path / "weights")
    with pytest.raises(InputError, match="no decoders are shipped"):
        stylize_universal(photo, painting)


def test_exported_fp16_decoder_loads_back(tmp_path, photo, painting):
    from impasto.train.checkpoint import save_checkpoint
    from impasto.universal.decoders import export_decoder, load_decoder, load_decoder_set

    dec = random_decoders(("relu2_1",))["relu2_1"]
    entry = {"arch": "vgg_decoder", "kwargs": {"level": "relu2_1", "width": 0.25}, "state": dec.state_dict()}
    (tmp_path / "relu2_1").mkdir()
    save_checkpoint(tmp_path / "relu2_1" / "checkpoint.pt", {"kind": "decoder", "nets": {"decoder": entry}, "step": 5})
    out = export_decoder(tmp_path / "relu2_1", tmp_path / "relu2_1.pt")
    loaded, info = load_decoder(out)
    assert info["step"] == 5 and loaded.level == "relu2_1"
    x = torch.rand(1, 128, 8, 8)
    assert torch.allclose(loaded(x), dec(x), atol=1e-2)
    assert set(load_decoder_set(["relu2_1"], tmp_path)) == {"relu2_1"}
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError):
        load_decoder(tmp_path / "bad.pt")
    before = out.read_bytes()
    with pytest.raises(InputError, match="is an input"):  # the exported file exported onto itself
        export_decoder(out, out)
    assert out.read_bytes() == before


def test_gallery_resolves_names_and_lists_them():
    from impasto.gallery import list_styles, resolve_style

    names = list_styles()
    assert "starry-night" in names and len(names) == 6
    assert resolve_style("Starry_Night").is_file()
    with pytest.raises(InputError, match="starry-night"):
        resolve_style("mona-lisa")


def test_gallery_name_works_as_a_style(photo):
    out = stylize_universal(
        photo, "great-wave", method="adain", image_size=None, decoders=random_decoders(("relu1_1",))
    )
    assert out.shape == photo.shape


@pytest.mark.slow
def test_cli_trains_a_decoder_and_reports_bad_data(kodak, tmp_path, capsys):
    from impasto.cli import main

    run = tmp_path / "run"
    code = main(
        [
            "decoders",
            "train",
            "--data",
            str(kodak[0]),
            "--level",
            "relu1_1",
            "-o",
            str(run),
            "--steps",
            "3",
            "--crop",
            "32",
            "--batch-size",
            "1",
            "-q",
        ]
    )
    assert code == 0 and (run / "checkpoint.pt").is_file()
    assert main(["decoders", "train", "--data", str(tmp_path / "nothing"), "-o", str(tmp_path / "r2")]) == 2
    assert "training data not found" in capsys.readouterr().err
    assert main(["decoders", "export", str(run), str(tmp_path / "relu1_1.pt"), "-q"]) == 0
    assert (
        main(["decoders", "eval", str(tmp_path / "relu1_1.pt"), "--images", str(kodak[1]), "--image-size", "64"]) == 0
    )
    line = capsys.readouterr().out.strip().split("\t")
    assert line[1:3] == ["relu1_1", "step 3"] and line[3].endswith(" dB")
    assert main(["decoders", "eval", str(tmp_path / "missing.pt"), "--images", str(kodak[1])]) == 2


def test_decoder_padding_keeps_bf16_under_autocast_with_the_same_values():
    """CPU autocast would pad bf16 maps in fp32 (a copy both ways); impasto's pad keeps the dtype and the values."""
    from impasto.nets.blocks import ReflectionPad

    x = torch.rand(1, 8, 9, 7).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours, torchs = ReflectionPad(1)(x), torch.nn.ReflectionPad2d(1)(x)
    assert ours.dtype == torch.bfloat16 and torchs.dtype == torch.float32
    assert torch.equal(ours.float(), torchs)
    dec = VGGDecoder("relu2_1", width=0.25)
    assert not any("pad" in key.lower() for key in dec.state_dict())  # no parameters: shipped files still load


@pytest.mark.parametrize("method", ["wct", "adain"])
def test_style_statistics_computed_once_give_the_same_image(photo, painting, method):
    """Video frames and the camera reuse the painting's statistics instead of encoding it per image."""
    from impasto.universal.cascade import style_statistics

    decoders = random_decoders(("relu2_1", "relu1_1"))
    encoder = Encoder("relu2_1")
    content = torch.from_numpy(photo).permute(2, 0, 1)[None]
    style = torch.from_numpy(painting).permute(2, 0, 1)[None]
    stats = style_statistics(encoder, style, ["relu2_1", "relu1_1"], method=method)
    from_image = stylize_tensor(content, [style], encoder, decoders, method=method, strength=0.8)
    from_stats = stylize_tensor(content, [stats], encoder, decoders, method=method, strength=0.8)
    assert torch.equal(from_image, from_stats)
    other = stylize_tensor(content.flip(-1), [stats], encoder, decoders, method=method, strength=0.8)
    assert not torch.equal(other.flip(-1), from_stats)  # the content's own statistics still count


def test_style_statistics_that_cannot_serve_the_run_are_input_errors(photo, painting):
    from impasto.universal.cascade import style_statistics

    decoders = random_decoders(("relu2_1", "relu1_1"))
    encoder = Encoder("relu2_1")
    content = torch.from_numpy(photo).permute(2, 0, 1)[None]
    style = torch.from_numpy(painting).permute(2, 0, 1)[None]
    shallow = style_statistics(encoder, style, ["relu1_1"], method="wct")
    with pytest.raises(InputError, match="no level relu2_1"):
        stylize_tensor(content, [shallow], encoder, decoders, method="wct")
    adain_only = style_statistics(encoder, style, ["relu2_1", "relu1_1"], method="adain")
    with pytest.raises(InputError, match="computed for adain"):
        stylize_tensor(content, [adain_only], encoder, decoders, method="wct")
    with pytest.raises(InputError, match="too small|at least"):
        style_statistics(encoder, style[..., :1, :1], ["relu2_1"])


def test_stylize_universal_encodes_a_painting_used_again_only_once(photo, painting, monkeypatch):
    import impasto.universal.cascade as cascade

    monkeypatch.setattr(cascade, "_style_cache", type(cascade._style_cache)())
    decoders = random_decoders(("relu2_1", "relu1_1"))
    calls = []
    real = cascade.style_statistics
    monkeypatch.setattr(cascade, "style_statistics", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = stylize_universal(photo, painting, image_size=None, decoders=decoders)
    again = stylize_universal(photo[:, ::-1].copy(), painting, image_size=None, decoders=decoders)
    assert len(calls) == 1  # the second photo reused the painting's statistics
    assert np.array_equal(stylize_universal(photo, painting, image_size=None, decoders=decoders), first)
    other = painting.copy()
    other[0, 0] = 1.0 - other[0, 0]  # one pixel differs: another painting
    stylize_universal(photo, other, image_size=None, decoders=decoders)
    stylize_universal(photo, painting, image_size=None, decoders=decoders, method="adain")
    assert len(calls) == 3
    monkeypatch.setattr(cascade, "STYLE_CACHE_SIZE", 1)
    stylize_universal(photo, painting[::-1].copy(), image_size=None, decoders=decoders)  # new: the cache shrinks to it
    stylize_universal(photo, painting, image_size=None, decoders=decoders)  # so this one was evicted
    assert len(calls) == 5 and len(cascade._style_cache) == 1
    assert not np.array_equal(again, first)


def test_stylize_universal_builds_one_encoder_per_setting(photo, painting, monkeypatch):
    import impasto.universal.cascade as cascade

    decoders = random_decoders(("relu2_1", "relu1_1"))
    built = []
    real = cascade.Encoder
    monkeypatch.setattr(cascade, "Encoder", lambda *a, **k: built.append((a, k)) or real(*a, **k))
    cascade.shared_encoder.cache_clear()
    first = stylize_universal(photo, painting, image_size=None, decoders=decoders)
    assert np.array_equal(stylize_universal(photo, painting, image_size=None, decoders=decoders), first)
    stylize_universal(photo, painting, image_size=None, decoders=decoders, method="adain")  # same encoder
    assert len(built) == 1
    stylize_universal(photo, painting, image_size=None, decoders=decoders, precision="bf16")
    stylize_universal(photo, painting, image_size=None, decoders=random_decoders(("relu1_1",)))
    assert [k["precision"] for _, k in built] == ["fp32", "bf16", "fp32"] and built[2][0][0] == "relu1_1"
    cascade.shared_encoder.cache_clear()  # later tests build theirs with the real class


def test_anchor_defaults_per_method_and_checks():
    from impasto.universal.cascade import anchor_weights

    assert anchor_weights("wct") == {"relu3_1": 0.5}
    assert anchor_weights("adain") == {}
    assert anchor_weights("adain", 0.3, ["relu3_1", "relu2_1"]) == {"relu3_1": 0.3, "relu2_1": 0.3}
    assert anchor_weights("wct", 0.0) == {}
    with pytest.raises(InputError, match="anchor must be between 0 and 1"):
        anchor_weights("wct", 1.5)
    with pytest.raises(InputError, match="anchor_levels: unknown level 'relu9_1'"):
        anchor_weights("wct", 0.5, ["relu9_1"])


def _tensors(photo, painting):
    content = torch.from_numpy(photo).permute(2, 0, 1)[None]
    return content, torch.from_numpy(painting).permute(2, 0, 1)[None]


@pytest.fixture(scope="module")
def shallow_shipped() -> dict[str, VGGDecoder]:
    """The shipped relu2_1 and relu1_1 decoders (random ones saturate most pixels at 0 or 1)."""
    from impasto.universal.decoders import load_decoder_set

    return load_decoder_set(["relu2_1", "relu1_1"], None)


def test_anchor_mixes_the_photos_features_in_before_the_transform(photo, painting, shallow_shipped):
    """Oracle: the second level's features mixed by hand with the photo's, transformed and decoded."""
    from impasto.universal.cascade import decode
    from impasto.universal.transforms import feature_stats, transform_for

    decoders, encoder = shallow_shipped, Encoder("relu2_1")
    content, style = _tensors(photo, painting)
    both = ["relu2_1", "relu1_1"]
    out = stylize_tensor(content, [style], encoder, decoders, levels=both, anchor=0.3, anchor_levels=["relu1_1"])
    first = stylize_tensor(content, [style], encoder, decoders, levels=["relu2_1"], anchor=0.0)
    mixed = 0.7 * encoder.encode(first, ["relu1_1"])["relu1_1"] + 0.3 * encoder.encode(content, ["relu1_1"])["relu1_1"]
    affine = transform_for("wct", feature_stats(mixed), feature_stats(encoder.encode(style, ["relu1_1"])["relu1_1"]))
    expected = decode(decoders["relu1_1"], affine.apply(mixed), (64, 96))
    assert torch.allclose(out, expected, atol=1e-4)
    plain = stylize_tensor(content, [style], encoder, decoders, levels=both, anchor=0.0)
    assert (out - plain).abs().mean() > 0.01  # the anchor changed the picture
    # share 1: the level sees the photo alone, as if it were the first level
    alone = stylize_tensor(content, [style], encoder, decoders, levels=["relu1_1"], anchor=0.0)
    full = stylize_tensor(content, [style], encoder, decoders, levels=both, anchor=1.0, anchor_levels=["relu1_1"])
    assert torch.allclose(full, alone, atol=1e-5)


def test_anchor_leaves_the_first_level_alone(photo, painting, shallow_shipped):
    content, style = _tensors(photo, painting)
    encoder = Encoder("relu2_1")
    at_first = stylize_tensor(content, [style], encoder, shallow_shipped, anchor=0.8, anchor_levels=["relu2_1"])
    off = stylize_tensor(content, [style], encoder, shallow_shipped, anchor=0.0)
    assert torch.equal(at_first, off)


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_anchor_in_tiles_matches_the_untiled_cascade(photo, painting, shallow_shipped, method):
    content, style = _tensors(photo, painting)
    content = torch.nn.functional.interpolate(content, size=(128, 192), mode="bilinear", align_corners=False)
    encoder = Encoder("relu2_1")
    kw = {"method": method, "anchor": 0.5, "anchor_levels": ["relu1_1"]}
    whole = stylize_tensor(content, [style], encoder, shallow_shipped, **kw)
    tiled = stylize_tensor(content, [style], encoder, shallow_shipped, tile_size=64, **kw)
    off = stylize_tensor(content, [style], encoder, shallow_shipped, tile_size=64, method=method, anchor=0.0)
    # as without the anchor, only the statistics' rounding differs between tiles and the whole
    assert (whole - tiled).abs().mean() < 1e-4 and (whole - tiled).abs().max() < 2e-2
    assert (off - tiled).abs().mean() > 0.01
