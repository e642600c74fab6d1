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
from impasto.features.int8 import Int8ConvReLU, check_int8, int8_missing, quantize_vgg

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
    q = quantize_vgg(net)
    assert isinstance(net.conv2_1, torch.nn.Conv2d) and isinstance(net.relu2_1, torch.nn.ReLU)
    assert isinstance(q.conv2_1, Int8ConvReLU) and isinstance(q.relu2_1, torch.nn.Identity)
    assert isinstance(q.conv4_1, Int8ConvReLU) and q.conv1_2 is net.conv1_2  # earlier layers shared
    shallow = VGG19("relu1_1")
    assert quantize_vgg(shallow) is shallow  # nothing from conv2_1 on: the same net


def test_int8_encoder_features_on_a_real_photo(photo):
    """relu1_1 is the bf16 encoder's own; relu2_1 to relu4_1 carry the int8 error (measured at 512²: 1.1%,
    1.9% and 2.2% relative, against 0.3%, 0.4% and 0.4% for bf16)."""
    from impasto.universal.cascade import Encoder

    levels = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
    encoders = {p: Encoder("relu4_1", channels_last=True, precision=p) for p in ("fp32", "bf16", "int8")}
    feats = {p: encoder.encode(photo, levels) for p, encoder in encoders.items()}
    assert torch.equal(feats["int8"]["relu1_1"], feats["bf16"]["relu1_1"])
    for level in ("relu2_1", "relu3_1", "relu4_1"):
        err = _relative(feats["int8"][level], feats["fp32"][level])
        assert _relative(feats["bf16"][level], feats["fp32"][level]) < err < 0.04, (level, err)


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
