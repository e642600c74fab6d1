"""VGG-19 with int8 convolutions from conv2_1 on: the encoder of ``--precision int8`` (WCT and AdaIN only).

The one-pass methods spend most of their time in VGG-19's convolutions, and on this project's CPUs those
run at the bf16 peak already. oneDNN's int8 convolutions (VNNI) do twice the multiply-adds per cycle, so
:func:`quantize_vgg` replaces each ``conv`` + ``relu`` pair from :data:`FIRST_INT8_LAYER` on by an
:class:`Int8ConvReLU`:

* weights: symmetric int8, one scale per output channel (the largest weight maps to 127);
* activations: uint8, one scale per tensor, the tensor's own maximum (computed for every input: no
  calibration data, nothing clipped); every convolution after conv1_1 takes a ReLU's output, so zero
  is the zero point;
* the product is accumulated in int32 and comes back in bf16 with its bias and ReLU applied; the next
  layer finds its scale and quantizes it from bf16.

Why from conv2_1: a uint8 output would need its scale before the convolution runs (a calibrated range), so
every int8 layer writes its output and the next one reads it twice (its maximum, then its codes). At
conv1_2 (64 channels at the full image size) those passes eat the kernel's gain; from conv2_1 on (after the
first pooling) the int8 layer, quantization included, is faster than bf16. With bf16 outputs (half the
bytes of float32) VGG-19 to relu4_1 at 512² goes from about 0.33 s in bf16 to 0.23 s on a 2-core AMD EPYC
with avx512_bf16 and avx512_vnni (0.25 s with float32 outputs from conv3_1 on, the first version;
per-layer figures in docs/universal.md).

Accuracy: on Kodak kodim05 at 512² the features differ from float32 by 1.1% (relu2_1), 1.9% (relu3_1) and
2.2% (relu4_1) in relative L2, against 0.3-0.4% for bf16 (relu1_1 is the bf16 encoder's own;
tests/test_int8.py bounds them); the pictures and their judged distances are in docs/universal.md.

``torch.quantize_per_tensor`` warns that quantized tensors are deprecated in a future torch (the
project pins torch); it is used only to turn a float32 tensor into uint8 in one fast pass, and that one
warning is filtered here.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings

import torch
from torch import Tensor, nn

from ..errors import InputError

__all__ = [
    "FIRST_INT8_LAYER",
    "Int8ConvReLU",
    "check_int8",
    "int8_is_faster",
    "int8_missing",
    "measure_int8_speedup",
    "native_int8",
    "quantize_vgg",
]

log = logging.getLogger(__name__)

FIRST_INT8_LAYER = "conv2_1"
QUANTIZE_BLOCK = 1 << 20  # values quantized at a time from bf16
_DEPRECATION = r"torch\.quantize_per_tensor, torch\.quantize_per_channel and other quantized tensor creation"
warnings.filterwarnings("ignore", message=_DEPRECATION, category=UserWarning)


def int8_missing() -> str | None:
    """Why this torch cannot run :class:`Int8ConvReLU` (``None`` when it can)."""
    if not torch.backends.mkldnn.is_available():
        return "this torch was built without oneDNN"
    if not hasattr(torch, "quantize_per_tensor"):
        return "this torch has no torch.quantize_per_tensor"
    ops = torch.ops.onednn
    for name in ("qconv_prepack", "qconv_pointwise"):
        try:
            getattr(ops, name)
        except (AttributeError, RuntimeError):
            return f"this torch has no onednn::{name}"
    return None


VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def native_int8() -> bool:
    """Whether this CPU runs int8 (VNNI) and bf16 natively (``True`` where its flags cannot be read)."""
    from ..precision import NATIVE_BF16_FLAGS, cpu_flags

    flags = cpu_flags()
    return flags is None or bool(flags & VNNI_FLAGS and flags & NATIVE_BF16_FLAGS)


def check_int8(device: torch.device) -> None:
    """One-line error unless ``--precision int8`` can run on ``device``; a warning where it would run
    slowly (a CPU without VNNI, or whose bf16 is emulated: the layers before conv2_1 and the decoders run
    in bf16)."""
    if device.type != "cpu":
        raise InputError(f"precision int8 runs on the CPU only (oneDNN); this run is on {device}: give --device cpu")
    missing = int8_missing()
    if missing:
        raise InputError(f"precision int8 is not available: {missing}; use --precision auto")
    if not native_int8():
        log.warning(
            "precision int8: this CPU lacks VNNI or native bf16, so int8 and bf16 are emulated and may be "
            "slower than fp32; --precision auto picks the fast one"
        )


def int8_is_faster(*, refresh: bool = False) -> bool:
    """Whether ``--precision auto`` should run WCT and AdaIN in int8 on this CPU (where it would otherwise
    run bf16): only with VNNI and native bf16, and only where :func:`measure_int8_speedup`, timed once per
    machine and cached (:func:`impasto.precision.cached_probe`), finds int8 at least 1.1 times as fast."""
    from ..precision import cached_probe

    if int8_missing() is not None or not native_int8():
        return False  # emulated: slower than bf16, perhaps than fp32
    return cached_probe("int8", "int8_faster", measure_int8_speedup, "int8 is %.2fx bf16", refresh=refresh)


def measure_int8_speedup(size: int = 128, repeats: int = 5) -> float:
    """bf16 time / int8 time of two of VGG-19's convolutions with their ReLU, forward, channels-last, as the
    encoder runs them (128->128 channels at ``size``², 256->256 at half that side; int8 with its input's
    scan and quantization); best of ``repeats``, the two interleaved."""
    gen = torch.Generator().manual_seed(0)
    layers = []
    for cin, cout, side in ((128, 128, size), (256, 256, size // 2)):
        conv = nn.Conv2d(cin, cout, 3, padding=1).to(memory_format=torch.channels_last)
        with torch.no_grad():
            conv.weight.normal_(0.0, (2.0 / (9 * cin)) ** 0.5, generator=gen)
        x = torch.relu(torch.randn(1, cin, side, side, generator=gen)).to(torch.bfloat16)
        layers.append((conv, Int8ConvReLU(conv), x.contiguous(memory_format=torch.channels_last)))

    def run(int8: bool) -> float:
        t = time.perf_counter()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for conv, q, x in layers:
                q(x) if int8 else torch.relu(conv(x))
        return time.perf_counter() - t

    run(False), run(True)  # warm-up: oneDNN builds its kernels on first use
    bf16, int8 = [], []
    for _ in range(repeats):
        bf16.append(run(False))
        int8.append(run(True))
    return min(bf16) / min(int8)


class Int8ConvReLU(nn.Module):
    """``relu(conv(x))`` of a 3x3, stride-1, padding-1 convolution in int8 (see the module's text); the input
    must be non-negative (a ReLU's output), the output is ``out_dtype`` (bf16 by default: half the bytes of
    float32 to write, and the next layer quantizes it from bf16) and keeps the input's layout. CPU only."""

    def __init__(self, conv: nn.Conv2d, out_dtype: torch.dtype = torch.bfloat16) -> None:
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) or conv.groups != 1:
            raise ValueError("Int8ConvReLU takes a 3x3 convolution with stride 1 and padding 1")
        w = conv.weight.detach().float().cpu()
        self.w_scale = w.abs().amax(dim=(1, 2, 3)).clamp_min(torch.finfo(torch.float32).tiny) / 127
        self.w_int8 = torch.round(w / self.w_scale[:, None, None, None]).clamp(-127, 127).to(torch.int8)
        self.w_zero = torch.zeros(w.shape[0], dtype=torch.long)
        self.bias = None if conv.bias is None else conv.bias.detach().float().cpu()
        self.out_dtype = out_dtype
        self.packed = torch.ops.onednn.qconv_prepack(self.w_int8, self.w_scale, 1.0, 0, [1, 1], [1, 1], [1, 1], 1)

    def __deepcopy__(self, memo: dict) -> Int8ConvReLU:
        """A copy sharing the prepacked weights: oneDNN's opaque tensor has no storage to copy, and it never
        changes."""
        clone = Int8ConvReLU.__new__(Int8ConvReLU)
        memo[id(self)] = clone
        clone.__dict__ = {k: v if k == "packed" else copy.deepcopy(v, memo) for k, v in self.__dict__.items()}
        return clone

    @staticmethod
    def quantize(x: Tensor) -> tuple[Tensor, float]:
        """uint8 codes of non-negative ``x`` and their scale (``x ≈ codes * scale``; the maximum maps to 255).

        A bf16 ``x`` is multiplied in bf16 and rounded, without a float32 copy. The product is rounded to bf16
        first (to a whole code from 128 up), so a code can be one off float32's; the maximum still lands on
        255 exactly. It is done a band of rows at a time (about :data:`QUANTIZE_BLOCK` values): the product
        stays in the cache and never takes a full map's memory (128 channels at 1024²: 149 ms, 242 in one go).
        """
        if x.dtype == torch.bfloat16:
            scale = float(x.amax()) / 255 or 1.0  # an all-zero input: any scale
            codes = torch.empty_like(x, dtype=torch.uint8)
            rows = max(1, QUANTIZE_BLOCK // max(1, x[..., :1, :].numel()))
            for r in range(0, x.shape[-2], rows):
                codes[..., r : r + rows, :] = x[..., r : r + rows, :].mul(1.0 / scale).round_()  # whole: exact
            return codes, scale
        x = x.float()
        scale = float(x.amax()) / 255 or 1.0
        return torch.quantize_per_tensor(x, scale, 0, torch.quint8).int_repr(), scale

    def forward(self, x: Tensor) -> Tensor:
        codes, scale = self.quantize(x)
        return torch.ops.onednn.qconv_pointwise(
            codes, scale, 0, self.packed, self.w_scale, self.w_zero, self.bias,
            [1, 1], [1, 1], [1, 1], 1, 1.0, 0, self.out_dtype, "relu", [], "",
        )  # fmt: skip


def quantize_vgg(net: nn.Module, first: str = FIRST_INT8_LAYER) -> nn.Module:
    """A copy of VGG19 ``net`` whose ``conv`` + ``relu`` pairs from ``first`` on are :class:`Int8ConvReLU`
    (the ``relu`` becomes an identity, so its name still marks the layer's output); the earlier layers are
    shared with ``net``. Same ``forward(x, layers)``."""
    names = list(net.layer_names)
    if first not in names:
        return net
    out = copy.copy(net)
    out._modules = dict(net._modules)
    for i in range(names.index(first), len(names)):
        name = names[i]
        if name.startswith("conv"):
            relu = names[i + 1] if i + 1 < len(names) else None
            if relu is None or not relu.startswith("relu"):
                raise ValueError(f"{name} is not followed by its ReLU")
            out._modules[name] = Int8ConvReLU(getattr(net, name))
            out._modules[relu] = nn.Identity()
    return out
