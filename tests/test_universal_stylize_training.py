"""Decoders trained (fine-tuned) for stylisation: AdaIN targets, feature + relative Gram loss, --init."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from impasto.errors import InputError
from impasto.nets.decoder import VGGDecoder
from impasto.universal.config import DecoderTrainConfig
from impasto.universal.transforms import adain, adain_batch, feature_stats


@pytest.fixture(scope="module")
def photos(shared_file) -> list[Path]:
    return [shared_file("kodak", f"kodim0{i}.png") for i in (1, 2)]


@pytest.fixture(scope="module")
def paintings(shared_file) -> list[Path]:
    return [shared_file("style", "udnie_picabia.jpg")]


def test_adain_batch_is_adain_of_each_item():
    torch.manual_seed(0)
    content, style = torch.randn(3, 8, 6, 5) * 3 + 1, torch.rand(3, 8, 4, 7) * 5
    out = adain_batch(content, style)
    for i in range(3):
        expected = adain(content[i], feature_stats(style[i], covariance=False))
        torch.testing.assert_close(out[i], expected, rtol=1e-4, atol=1e-4)
    # each item got its own style's channel statistics
    torch.testing.assert_close(out.mean((2, 3)), style.mean((2, 3)), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out.std((2, 3), correction=0), style.std((2, 3), correction=0), rtol=1e-3, atol=1e-3)


def test_stylization_loss_is_zero_for_the_style_itself_and_not_for_the_photo():
    from impasto.universal.train import StylizationLoss

    torch.manual_seed(0)
    loss = StylizationLoss("relu2_1", feature_weight=1.0, style_weight=2.0)
    assert loss.layers == ("relu1_1", "relu2_1")
    styles, photos = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32) * 0.2
    _, grams = loss.targets(photos, styles)
    own = loss.encode_all(styles)["relu2_1"]
    terms = loss(styles, own, grams)
    assert float(terms["total"]) < 1e-6
    other = loss(photos, own, grams)
    assert float(other["feature"]) > 0.1 and float(other["style"]) > 0.1
    torch.testing.assert_close(other["total"], other["feature"] + other["style"])


def test_the_decoder_input_has_the_style_statistics():
    from impasto.universal.train import StylizationLoss

    torch.manual_seed(0)
    loss = StylizationLoss("relu1_1")
    photos, styles = torch.rand(2, 3, 24, 24), torch.rand(2, 3, 40, 40)
    target, grams = loss.targets(photos, styles)
    style_feats = loss.encode_all(styles)["relu1_1"]
    torch.testing.assert_close(target.mean((2, 3)), style_feats.mean((2, 3)), rtol=1e-3, atol=1e-2)
    assert set(grams) == {"relu1_1"} and grams["relu1_1"].shape == (2, 64, 64)


@pytest.mark.slow
def test_fine_tuning_starts_from_the_init_decoder_and_lowers_the_style_loss(photos, paintings, tmp_path):
    from impasto.universal.data import ReconstructionData
    from impasto.universal.decoders import export_decoder, load_decoder
    from impasto.universal.train import train

    data = ReconstructionData(photos, 48, max_side=128)
    style_data = ReconstructionData(paintings, 48, max_side=128)
    base = DecoderTrainConfig(level="relu1_1", steps=5, batch_size=2, crop=48, lr=2e-3, eval_every=0)
    train(base, data, tmp_path / "base")
    init = export_decoder(tmp_path / "base", tmp_path / "relu1_1.pt", fp16=False)
    start, _ = load_decoder(init)

    cfg = DecoderTrainConfig(
        **{**base.to_dict(), "steps": 40, "style_weight": 5.0, "feature_weight": 1.0, "init": str(init)}
    )
    zero = DecoderTrainConfig(**{**cfg.to_dict(), "steps": 1, "lr": 1e-12})
    first = train(zero, data, tmp_path / "zero", style_data=style_data)
    for name, value in start.state_dict().items():  # the run began from the init decoder's weights
        torch.testing.assert_close(first.nets["decoder"].state_dict()[name], value, rtol=0, atol=1e-6)
    state = train(cfg, data, tmp_path / "tuned", style_data=style_data)
    style = [h["style"] for h in state.history]
    assert np.mean(style[-8:]) < 0.7 * np.mean(style[:8])
    assert "pixel" not in state.history[0]  # no photo to reconstruct in this objective


def test_stylization_training_needs_style_data_and_a_matching_init(photos, tmp_path):
    from impasto.universal.data import ReconstructionData
    from impasto.universal.train import train

    data = ReconstructionData(photos[:1], 32, max_side=96)
    cfg = DecoderTrainConfig(level="relu1_1", steps=1, batch_size=1, crop=32, style_weight=1.0, eval_every=0)
    with pytest.raises(InputError, match="style data"):
        train(cfg, data, tmp_path / "a")
    assert not (tmp_path / "a").exists()
    with pytest.raises(InputError, match="feature_weight"):
        DecoderTrainConfig(level="relu1_1", style_weight=1.0, feature_weight=0.0)
    torch.save({"not": "a decoder"}, tmp_path / "junk.pt")
    junk = DecoderTrainConfig(level="relu1_1", steps=1, batch_size=1, crop=32, init=str(tmp_path / "junk.pt"))
    with pytest.raises(InputError, match="not an impasto decoder"):
        train(junk, data, tmp_path / "c")
    assert not (tmp_path / "c").exists()
    other = tmp_path / "relu2_1.pt"
    from impasto.universal.decoders import FORMAT

    dec = VGGDecoder("relu2_1", width=0.25)
    kwargs = {"level": "relu2_1", "width": 0.25, "input_scale": 1.0}
    torch.save({"format": FORMAT, "arch": "vgg_decoder", "kwargs": kwargs, "state": dec.state_dict()}, other)
    wrong = DecoderTrainConfig(level="relu1_1", steps=1, batch_size=1, crop=32, init=str(other), eval_every=0)
    with pytest.raises(InputError, match="relu2_1 decoder"):
        train(wrong, data, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_cli_style_weight_without_style_data_is_a_one_line_error(photos, tmp_path, capsys):
    from impasto.cli import main

    code = main(
        ["decoders", "train", "--data", str(photos[0]), "--level", "relu1_1", "--style-weight", "1", "-o",
         str(tmp_path / "run"), "--crop", "32", "--steps", "1"]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--style-data" in err[0]
    assert not (tmp_path / "run").exists()
    code = main(
        ["decoders", "train", "--data", str(photos[0]), "--style-data", str(photos[1]), "--level", "relu1_1",
         "--style-weight", "1", "--init", str(tmp_path / "missing.pt"), "-o", str(tmp_path / "run"), "--crop", "32"]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "decoder file not found" in err[0]  # refused before the data are read
    assert not (tmp_path / "run").exists()
    code = main(
        ["decoders", "train", "--data", str(photos[0]), "--style-data", str(photos[1]), "--level", "relu1_1",
         "-o", str(tmp_path / "run"), "--crop", "32"]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--style-data is only used with --style-weight" in err[0]
    assert not (tmp_path / "run").exists()


def test_a_deeper_style_depth_puts_the_deeper_grams_in_the_loss():
    from impasto.universal.train import StylizationLoss

    torch.manual_seed(0)
    shallow = StylizationLoss("relu1_1")
    deep = StylizationLoss("relu1_1", style_depth="relu2_1")
    assert shallow.layers == ("relu1_1",) and deep.layers == ("relu1_1", "relu2_1")
    photos, styles = torch.rand(2, 3, 32, 32) * 0.3, torch.rand(2, 3, 32, 32)
    target, grams = deep.targets(photos, styles)
    assert set(grams) == {"relu1_1", "relu2_1"}
    _, shallow_grams = shallow.targets(photos, styles)
    torch.testing.assert_close(grams["relu1_1"], shallow_grams["relu1_1"])
    # the deeper layer's term adds to the style loss of an image that misses the style
    assert float(deep(photos, target, grams)["style"]) > float(shallow(photos, target, shallow_grams)["style"])


def test_cascade_from_feeds_the_deeper_decoders_picture(tmp_path):
    from impasto.universal.train import StylizationLoss
    from impasto.universal.transforms import adain_batch

    torch.manual_seed(0)
    deep, mid = VGGDecoder("relu3_1", width=0.25).eval(), VGGDecoder("relu2_1", width=0.25).eval()
    loss = StylizationLoss("relu1_1", before=[deep, mid])
    photos, styles = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    target, _ = loss.targets(photos, styles)
    style = loss.encode_all(styles)
    painted = photos
    with torch.no_grad():
        for decoder in (deep, mid):  # deepest first, each on the last one's picture
            level = decoder.level
            painted = decoder(adain_batch(loss.encode_all(painted)[level], style[level]), size=(32, 32)).clamp(0, 1)
        expected = adain_batch(loss.encode_all(painted)["relu1_1"], style["relu1_1"])
    torch.testing.assert_close(target, expected)
    only_deep, _ = StylizationLoss("relu1_1", before=[deep]).targets(photos, styles)
    plain, _ = StylizationLoss("relu1_1").targets(photos, styles)
    assert float((plain - target).abs().mean()) > 1e-3  # not the photo's own features
    assert float((only_deep - target).abs().mean()) > 1e-3  # the second decoder did its part
    assert not any(p.requires_grad for p in [*deep.parameters(), *mid.parameters()])


def test_style_depth_and_cascade_from_are_checked(photos, tmp_path):
    from impasto.universal.data import ReconstructionData
    from impasto.universal.decoders import FORMAT
    from impasto.universal.train import train

    with pytest.raises(InputError, match="shallower than the level"):
        DecoderTrainConfig(level="relu3_1", style_weight=1.0, style_depth="relu2_1")
    with pytest.raises(InputError, match="style_depth belongs to stylisation"):
        DecoderTrainConfig(level="relu1_1", style_depth="relu2_1")
    with pytest.raises(InputError, match="cascade_from belongs to stylisation"):
        DecoderTrainConfig(level="relu1_1", cascade_from=("x.pt",))
    same = tmp_path / "relu1_1.pt"
    kwargs = {"level": "relu1_1", "width": 0.25, "input_scale": 1.0}
    state = VGGDecoder("relu1_1", width=0.25).state_dict()
    torch.save({"format": FORMAT, "arch": "vgg_decoder", "kwargs": kwargs, "state": state}, same)
    data = ReconstructionData(photos[:1], 32, max_side=96)
    cfg = DecoderTrainConfig(
        level="relu1_1", steps=1, batch_size=1, crop=32, style_weight=1.0, cascade_from=(str(same),)
    )
    with pytest.raises(InputError, match="needs levels deeper than relu1_1"):
        train(cfg, data, tmp_path / "run", style_data=data)
    assert not (tmp_path / "run").exists()
    deep = tmp_path / "relu3_1.pt"
    mid = tmp_path / "relu2_1.pt"
    for path, level in ((deep, "relu3_1"), (mid, "relu2_1")):
        kwargs = {"level": level, "width": 0.25, "input_scale": 1.0}
        state = VGGDecoder(level, width=0.25).state_dict()
        torch.save({"format": FORMAT, "arch": "vgg_decoder", "kwargs": kwargs, "state": state}, path)
    backwards = DecoderTrainConfig(**{**cfg.to_dict(), "cascade_from": (str(mid), str(deep))})
    with pytest.raises(InputError, match="deepest level first"):
        train(backwards, data, tmp_path / "run", style_data=data)
    assert not (tmp_path / "run").exists()


def test_cli_cascade_from_a_missing_file_is_a_one_line_error(photos, tmp_path, capsys):
    from impasto.cli import main

    code = main(
        ["decoders", "train", "--data", str(photos[0]), "--style-data", str(photos[1]), "--level", "relu1_1",
         "--style-weight", "1", "--style-depth", "relu2_1", "--cascade-from", str(tmp_path / "missing.pt"),
         "-o", str(tmp_path / "run"), "--crop", "32"]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "decoder file not found" in err[0]
    assert not (tmp_path / "run").exists()


def test_content_weight_compares_relu4_1_with_the_image_the_level_is_handed():
    from impasto.universal.train import CONTENT_LAYER, PHOTO, StylizationLoss

    torch.manual_seed(0)
    deep = VGGDecoder("relu2_1", width=0.25).eval()
    plain = StylizationLoss("relu1_1", before=[deep])
    kept = StylizationLoss("relu1_1", content_weight=2.0, before=[deep])
    assert CONTENT_LAYER == "relu4_1" and CONTENT_LAYER not in plain.encode_all(torch.rand(1, 3, 32, 32))
    photos, styles = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    target, refs = kept.targets(photos, styles)
    assert set(refs) == {"relu1_1", PHOTO}
    handed = kept.stylize_before(photos, kept.encode_all(styles))  # the deeper decoder's picture, not the photo
    torch.testing.assert_close(refs[PHOTO], kept.encode_all(handed)[CONTENT_LAYER])
    assert float((refs[PHOTO] - kept.encode_all(photos)[CONTENT_LAYER]).abs().mean()) > 1e-3
    same = kept(handed, target, refs)  # the handed image itself: no content loss
    assert float(same["content"]) < 1e-6
    other = kept(torch.rand(2, 3, 64, 64), target, refs)
    assert float(other["content"]) > 0.1
    torch.testing.assert_close(other["total"], other["feature"] + other["style"] + other["content"])
    # twice the weight, twice the term; without a weight, no term
    once = StylizationLoss("relu1_1", content_weight=1.0, before=[deep])
    torch.testing.assert_close(
        once(handed * 0.5, target, refs)["content"] * 2, kept(handed * 0.5, target, refs)["content"]
    )
    assert "content" not in plain(handed, target, plain.targets(photos, styles)[1])
    with pytest.raises(InputError, match="content_weight belongs to stylisation"):
        DecoderTrainConfig(level="relu1_1", content_weight=1.0)
