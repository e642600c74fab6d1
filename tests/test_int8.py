"""``--precision int8`` (impasto.features.int8): the int8 convolution against the float one of its quantized
operands, the encoder's features on a real photo against float32, the one-pass methods' pictures against
bf16, and the methods and devices that refuse it (one line, exit 2, no file)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cli_run import run_main, stylize_argv
from impasto.errors import InputError
from impasto.features.int8 import HEADROOM, Int8ConvReLU, Int8VGG, check_int8, int8_missing, quantize_vgg

pytestmark = pytest.mark.skipif(int8_missing() is not None, reason=f"{int8_missing()}")


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm())


@pytest.fixture(scope="module")
def photo(shared_file) -> torch.Tensor:
    from impasto.io import read_image
    from impasto.transforms import resize_long_side, to_tensor

    return resize_long_side(to_tensor(read_image(shared_file("kodak", "kodim05.png"))), 192)


def test_quantize_maps_the_maximum_to_255_and_keeps_zeros():
    x = torch.tensor([0.0, 0.3, 1.2, 2.0]).reshape(1, 4, 1, 1)
    codes, scale = Int8ConvReLU.quantize(x)
    assert codes.dtype == torch.uint8 and scale == pytest.approx(2.0 / 255)
    assert codes.flatten().tolist() == [0, 38, 153, 255]  # x * 127.5: 38.25 and 153 rounded
    zeros, _ = Int8ConvReLU.quantize(torch.zeros(1, 3, 2, 2))
    assert not zeros.any()


def test_quantizing_bf16_gives_the_float32_codes_within_one(monkeypatch):
    import impasto.features.int8 as int8

    x = torch.relu(torch.randn(1, 8, 32, 30, generator=torch.Generator().manual_seed(3))).to(torch.bfloat16)
    x = x.contiguous(memory_format=torch.channels_last)
    codes, scale = Int8ConvReLU.quantize(x)
    exact, exact_scale = Int8ConvReLU.quantize(x.float())
    assert codes.dtype == torch.uint8 and scale == exact_scale and int(codes.max()) == 255
    assert codes.is_contiguous(memory_format=torch.channels_last)
    off = (codes.int() - exact.int()).abs()
    assert int(off.max()) <= 1 and float(off.float().mean()) < 0.1  # bf16 rounds the product: one code at most
    monkeypatch.setattr(int8, "QUANTIZE_BLOCK", 8 * 30 * 3 + 1)  # bands of 3 rows, the last one of 2
    assert torch.equal(Int8ConvReLU.quantize(x)[0], codes)


@pytest.mark.parametrize(("out_dtype", "rounding"), [(torch.float32, 1e-5), (torch.bfloat16, 4e-3)])
def test_int8_convolution_is_the_float_convolution_of_its_quantized_operands(out_dtype, rounding):
    gen = torch.Generator().manual_seed(0)
    conv = torch.nn.Conv2d(16, 32, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * 0.1)
        conv.bias.copy_(torch.randn(32, generator=gen) * 0.1)
    x = torch.relu(torch.randn(1, 16, 20, 24, generator=gen)).contiguous(memory_format=torch.channels_last)
    q = Int8ConvReLU(conv, out_dtype=out_dtype)
    out = q(x)
    assert out.dtype == out_dtype and out.shape == (1, 32, 20, 24)
    assert out.is_contiguous(memory_format=torch.channels_last)
    codes, scale = Int8ConvReLU.quantize(x)
    w = q.w_int8.float() * q.w_scale[:, None, None, None]
    oracle = torch.relu(F.conv2d(codes.float() * scale, w, conv.bias.detach(), padding=1))
    assert _relative(out, oracle) < rounding  # int32 sums are exact: only the rescaling to out_dtype rounds
    with torch.no_grad():
        exact = torch.relu(conv(x))
    assert 1e-4 < _relative(out, exact) < 0.02  # the quantization error, and no more


def test_an_int8_encoder_can_be_copied_and_its_layout_does_not_matter():
    import copy

    from impasto.universal.cascade import Encoder

    x = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(1))
    encoder = Encoder("relu4_1", channels_last=True, precision="int8")
    feats = encoder.encode(x, ["relu4_1"])["relu4_1"]
    assert torch.equal(copy.deepcopy(encoder).encode(x, ["relu4_1"])["relu4_1"], feats)
    nchw = Encoder("relu4_1", channels_last=False, precision="int8").encode(x, ["relu4_1"])["relu4_1"]
    assert _relative(nchw, feats) < 0.03  # bf16 rounds differently by layout; the rest is the same int8 error


def test_quantize_vgg_leaves_the_float_net_alone():
    from impasto.features.vgg import VGG19

    net = VGG19("relu4_1")
    q = quantize_vgg(net, ranges={"conv2_1": (3.0, 1.5)})
    assert isinstance(net.conv2_1, torch.nn.Conv2d) and isinstance(net.relu2_1, torch.nn.ReLU)
    assert isinstance(q, Int8VGG) and q.layer_names == net.layer_names
    assert isinstance(q.conv1_1, Int8ConvReLU) and isinstance(q.relu1_1, torch.nn.Identity)
    assert q.conv2_1.out_range == (3.0, 1.5) and q.conv2_2.out_range is None  # ranges where given
    later = quantize_vgg(net, first="conv2_1")
    assert later.conv1_2 is net.conv1_2 and isinstance(later.conv2_1, Int8ConvReLU)  # earlier layers shared
    shallow = VGG19("relu1_1")
    assert quantize_vgg(shallow, first="conv1_2") is shallow  # nothing from conv1_2 on: the same net
    with pytest.raises(ValueError, match="max pooling"):
        quantize_vgg(VGG19("relu4_1", pooling="avg"))


def _conv_and_input(seed: int = 0) -> tuple[torch.nn.Conv2d, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    conv = torch.nn.Conv2d(16, 32, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * 0.1)
        conv.bias.copy_(torch.randn(32, generator=gen) * 0.1)
    x = torch.relu(torch.randn(1, 16, 20, 24, generator=gen)).contiguous(memory_format=torch.channels_last)
    return conv, x


def test_the_image_is_quantized_with_a_zero_point_and_convolved_as_its_dequantized_self():
    conv = torch.nn.Conv2d(3, 32, 3, padding=1)
    x = (torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(2)) * 255 - 120).contiguous(
        memory_format=torch.channels_last
    )  # VGG's normalized image: pixels less the mean, of either sign
    codes, scale, zero_point = Int8ConvReLU.quantize_signed(x)
    assert codes.dtype == torch.uint8 and int(codes.min()) == 0 and int(codes.max()) == 255
    assert 0 < zero_point < 255 and scale == pytest.approx(float(x.max() - x.min()) / 255)
    dequantized = (codes.float() - zero_point) * scale
    assert float((dequantized - x).abs().max()) <= scale / 2 + 1e-4
    q = Int8ConvReLU(conv, out_dtype=torch.float32)
    out = q.convolve(codes, scale, zero_point=zero_point)
    w = q.w_int8.float() * q.w_scale[:, None, None, None]
    oracle = torch.relu(F.conv2d(dequantized, w, conv.bias.detach(), padding=1))  # zero padding: the zero point
    assert _relative(out, oracle) < 1e-5


@pytest.mark.parametrize("bound", ["largest", "gain"])
def test_chained_codes_at_the_calibrated_range_are_the_output_rounded_to_it(bound):
    conv, x = _conv_and_input()
    codes, scale = Int8ConvReLU.quantize(x)
    exact = Int8ConvReLU(conv, out_dtype=torch.float32)(x)  # the int8 product, in float32
    top, top_in = float(exact.max()), float(codes.max()) * scale
    # the smaller of the two bounds is taken, with the headroom: 1.5 x HEADROOM x the output's maximum either way
    out_range = (1.5 * top, 9.0 * top / top_in) if bound == "largest" else (9.0 * top, 1.5 * top / top_in)
    out, out_scale, span = Int8ConvReLU(conv, out_range=out_range).chain(codes, scale, 255 * scale)
    assert out.dtype == torch.uint8 and out_scale == pytest.approx(1.5 * HEADROOM * top / 255)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert int(out.max()) == round(255 / (1.5 * HEADROOM))  # the range's margin left unused
    assert span == pytest.approx(int(out.max()) * out_scale)  # handed to the next layer, not read again
    assert float((out.float() - exact / out_scale).abs().max()) <= 0.5 + 1e-3  # rounded to the nearest code


def test_an_output_beyond_its_range_is_quantized_at_its_own_maximum_not_clipped(caplog):
    conv, x = _conv_and_input()
    codes, scale = Int8ConvReLU.quantize(x)
    exact = Int8ConvReLU(conv, out_dtype=torch.float32)(x)
    q = Int8ConvReLU(conv, out_range=(0.5 / HEADROOM * float(exact.max()), 1e9))  # calibrated on tamer images
    with caplog.at_level(logging.DEBUG, logger="impasto.features.int8"):
        out, out_scale, span = q.chain(codes, scale, 255 * scale)
    assert "beyond its calibrated range" in caplog.text
    assert out_scale == pytest.approx(float(exact.max()) / 255, rel=1e-2)  # its own maximum (bf16-rounded)
    assert _relative(out.float() * out_scale, exact) < 0.01
    assert span == pytest.approx(255 * out_scale)


def test_calibrated_ranges_are_the_largest_outputs_and_the_shipped_ones_cover_their_images(shared_file):
    from impasto.features.int8 import EMBEDDED_RANGES, calibrate_ranges
    from impasto.features.vgg import FeatureExtractor
    from impasto.io import read_image
    from impasto.transforms import resize_long_side, to_tensor

    extractor = FeatureExtractor(["relu4_1"], weights="embedded")
    images = [
        extractor.normalize(resize_long_side(to_tensor(read_image(shared_file(*path))), 256))
        for path in (("kodak", "kodim01.png"), ("style", "starry_night.jpg"))
    ]
    ranges = calibrate_ranges(extractor.net, images)
    assert list(ranges) == list(EMBEDDED_RANGES)  # conv1_2 ... conv4_1
    with torch.no_grad():
        feats = [extractor.net(image, ["relu1_2", "relu3_4"]) for image in images]
    assert ranges["conv1_2"][0] == max(float(f["relu1_2"].max()) for f in feats)
    assert ranges["conv3_4"][0] == max(float(f["relu3_4"].max()) for f in feats)
    with torch.no_grad():
        first = extractor.net(images[0], ["relu1_1", "relu1_2"])
    assert ranges["conv1_2"][1] >= float(first["relu1_2"].max()) / float(first["relu1_1"].max())
    for i in (0, 1):  # two of the calibration images, at one of its sizes: within the ranges
        shares = [calibrated[i] / EMBEDDED_RANGES[name][i] for name, calibrated in ranges.items()]
        assert max(shares) <= 1 + 1e-3
        assert min(shares) > 0.3  # and ranges of these weights (another VGG's would be far off)


def test_an_image_beyond_the_calibration_is_encoded_as_accurately(caplog):
    """A black-and-white checkerboard of 1 px squares drives VGG's first layers far past photos and paintings:
    the layers past their range fall back to their own maxima, and the features stay as close to float32."""
    from impasto.universal.cascade import Encoder

    board = (torch.arange(96)[:, None] + torch.arange(96)[None, :]) % 2
    image = board.float().expand(1, 3, 96, 96).contiguous()
    encoders = {p: Encoder("relu4_1", channels_last=True, precision=p) for p in ("fp32", "int8")}
    with caplog.at_level(logging.DEBUG, logger="impasto.features.int8"):
        feats = {p: encoder.encode(image, ["relu2_1", "relu4_1"]) for p, encoder in encoders.items()}
    assert "beyond its calibrated range" in caplog.text
    for level in ("relu2_1", "relu4_1"):
        assert _relative(feats["int8"][level], feats["fp32"][level]) < 0.04, level


@pytest.mark.parametrize("look", ["as it is", "low contrast", "dark"])
def test_int8_encoder_features_on_a_real_photo(photo, look):
    """Every level carries the int8 error (on five held-out photos at 512 px: relu2_1 1.9-2.2%, relu3_1
    2.5-3.0%, relu4_1 2.7-3.6% relative, against 0.3-0.8% for bf16). A low-contrast or dark photo keeps that
    accuracy: its codes' scales follow its own activations (here 2.3%, 2.3% and 2.9% at relu4_1 as it is, at
    low contrast and dark; with the calibrated largest outputs alone the low-contrast one loses far more)."""
    from impasto.universal.cascade import Encoder

    image = {"as it is": photo, "low contrast": 0.35 + 0.3 * photo, "dark": 0.15 * photo}[look]
    levels = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
    encoders = {p: Encoder("relu4_1", channels_last=True, precision=p) for p in ("fp32", "bf16", "int8")}
    feats = {p: encoder.encode(image, levels) for p, encoder in encoders.items()}
    for level, bound in (("relu1_1", 0.012), ("relu2_1", 0.024), ("relu3_1", 0.032), ("relu4_1", 0.034)):
        err = _relative(feats["int8"][level], feats["fp32"][level])
        assert _relative(feats["bf16"][level], feats["fp32"][level]) < err < bound, (level, err)


@pytest.mark.parametrize("method", ["wct", "adain"])
def test_int8_paints_the_bf16_picture(photo, the_scream, method):
    from impasto.io import read_image
    from impasto.transforms import to_array
    from impasto.universal.cascade import stylize_universal

    painting = read_image(the_scream)[::4, ::4].copy()
    content = to_array(photo)
    pictures, reports = {}, {}
    for precision in ("bf16", "int8"):
        reports[precision] = {}
        pictures[precision] = stylize_universal(
            content, painting, method=method, precision=precision, image_size=192, report=reports[precision]
        )
    assert reports["int8"]["precision"] == "int8"
    difference = np.abs(pictures["int8"] - pictures["bf16"]).mean()
    change = np.abs(pictures["bf16"] - content).mean()
    assert difference < 0.1 * change, (difference, change)  # a small part of what the style changed


def test_cli_wct_int8_writes_the_picture_and_says_so(shared_file, tmp_path, capsys):
    out = tmp_path / "int8.png"
    options = ["--method", "wct", "--precision", "int8", "--image-size", "96", "--json", "-q"]
    argv = stylize_argv(shared_file("kodak", "kodim17.png"), "starry-night", out, *options)
    code, stdout, err = run_main(argv, capsys)
    assert code == 0, err
    assert json.loads(stdout)["run"]["precision"] == "int8" and out.is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stylize", "PHOTO", "udnie", "-o", "OUT", "--precision", "int8"], "--precision int8: only for --method wct"),
        (["video", "VIDEO", "-o", "OUT", "--precision", "int8"], "precision int8 is for wct and adain"),
        (["video", "VIDEO", "-o", "OUT", "--method", "gatys", "--style", "udnie", "--precision", "int8"], "gatys take"),
    ],
)
def test_methods_without_int8_refuse_it(shared_file, tmp_path, capsys, argv, message):
    out = tmp_path / ("out.mp4" if argv[0] == "video" else "out.png")
    paths = {"PHOTO": shared_file("kodak", "kodim17.png"), "VIDEO": tmp_path / "clip.mp4", "OUT": out}  # refused first
    code, _, err = run_main([paths.get(a, a) for a in argv], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_int8_runs_on_the_cpu_only_and_warns_where_it_is_emulated(monkeypatch, caplog):
    with pytest.raises(InputError, match="precision int8 runs on the CPU only"):
        check_int8(torch.device("cuda"))
    import impasto.precision

    monkeypatch.setattr(impasto.precision, "cpu_flags", lambda: frozenset({"avx512f"}))
    with caplog.at_level(logging.WARNING, logger="impasto.features.int8"):
        check_int8(torch.device("cpu"))
    assert "lacks VNNI or native bf16" in caplog.text
    caplog.clear()
    monkeypatch.setattr(impasto.precision, "cpu_flags", lambda: frozenset({"avx512_vnni", "avx512_bf16"}))
    with caplog.at_level(logging.WARNING, logger="impasto.features.int8"):
        check_int8(torch.device("cpu"))
    assert not caplog.text


def test_a_torch_without_the_int8_kernels_gets_one_line_and_no_file(shared_file, tmp_path, capsys, monkeypatch):
    monkeypatch.delattr(torch, "quantize_per_tensor")
    assert int8_missing() == "this torch has no torch.quantize_per_tensor"
    out = tmp_path / "out.png"
    options = ["--method", "adain", "--precision", "int8", "--image-size", "64", "-q"]
    code, _, err = run_main(stylize_argv(shared_file("kodak", "kodim17.png"), "udnie", out, *options), capsys)
    assert code == 2 and "precision int8 is not available" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("flags", "speedup", "expected"),
    [
        ({"avx512_bf16", "avx512_vnni"}, 1.5, "int8"),  # the CPU int8 was measured on
        ({"avx512_bf16", "avx512_vnni"}, 1.05, "bf16"),  # timed, not faster enough: bf16 as before
        ({"amx_bf16", "amx_int8"}, 1.3, "int8"),  # AMX: decided by the same timing
        ({"avx512_bf16"}, None, "bf16"),  # no VNNI: int8 would be emulated, not timed
    ],
)
def test_auto_runs_int8_where_it_is_measured_faster(tmp_path, monkeypatch, flags, speedup, expected):
    import impasto.features.int8 as int8
    import impasto.precision
    from impasto.universal.cascade import resolve_universal_precision

    monkeypatch.setenv("IMPASTO_CACHE", str(tmp_path))
    monkeypatch.setattr(impasto.precision, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setattr(impasto.precision, "bf16_is_faster", lambda: True)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    calls = []

    def timed():
        assert speedup is not None, "the int8 probe ran"
        calls.append(1)
        return speedup

    monkeypatch.setattr(int8, "measure_int8_speedup", timed)
    cpu = torch.device("cpu")
    assert resolve_universal_precision("auto", cpu) == expected
    assert resolve_universal_precision("auto", cpu) == expected
    assert len(calls) == (speedup is not None)  # timed once, then cached
    assert resolve_universal_precision("bf16", cpu) == "bf16"  # an explicit choice is kept
    monkeypatch.setattr(impasto.precision, "bf16_is_faster", lambda: False)
    assert resolve_universal_precision("auto", cpu) == "fp32"  # int8 replaces bf16 only


def test_the_int8_probe_times_real_kernels():
    from impasto.features.int8 import measure_int8_speedup

    assert 0.01 < measure_int8_speedup(size=16, repeats=1) < 100
