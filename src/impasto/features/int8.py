"""VGG-19 with int8 convolutions: the encoder of ``--precision int8`` (WCT and AdaIN only).

The one-pass methods spend most of their time in VGG-19's convolutions, and on this project's CPUs those
run at the bf16 peak already. oneDNN's int8 convolutions (VNNI) do twice the multiply-adds per cycle, so
:func:`quantize_vgg` runs every ``conv`` + ``relu`` pair from :data:`FIRST_INT8_LAYER` (conv1_1) on as an
:class:`Int8ConvReLU`:

* weights: symmetric int8, one scale per output channel (the largest weight maps to 127);
* activations: uint8, one scale per tensor; every convolution after conv1_1 takes a ReLU's output, so zero
  is the zero point; the normalized image (pixels less VGG's mean, of either sign) takes a zero point
  (:meth:`Int8ConvReLU.quantize_signed`), which keeps zero padding exact;
* the product is accumulated in int32 and leaves the kernel with its bias and ReLU applied.

Between two int8 layers the activations stay uint8 (:class:`Int8VGG`): each kernel writes the codes the
next one reads, at a scale set before it runs from the layer's calibrated range (:data:`EMBEDDED_RANGES`,
from Kodak 01-16 and six paintings at 256, 512 and 1024 px; :func:`calibrate_ranges`). The scale is the
smaller of two bounds: the largest output seen there, and the largest gain seen there (output maximum over
the input's span) times this input's span; both with a margin of :data:`HEADROOM`. The first is tight for
ordinary images; the second follows a low-contrast or dark one, whose activations stay far below the first.
Nothing is clipped: a layer whose codes reach 255 is run again with a bf16 output and quantized at that
output's own maximum (:meth:`Int8ConvReLU.chain`), which costs a second convolution. The margin makes that
rare: over 40 other images and sizes (held-out photos, scikit-image's, Kodak squeezed to 512²) the largest
outputs reached up to 1.15 times the calibrated ones, and 6 of the 40 would have run a layer twice without
it. The layers whose features are asked for write bf16, not 8-bit codes. Pooling takes the maximum of uint8
codes, which is the code of the maximum.

Why scales set beforehand: with each layer's scale taken from its own output (the version before), every
int8 layer wrote bf16 and the next one read it twice (its maximum, then its codes): about 28 ms of a 220 ms
pass to relu4_1 at 512², and at conv1_2 (64 channels at the full image size) those passes ate the kernel's
gain. With uint8 between the layers from conv1_1 on, VGG-19 to relu4_1 at 512² takes about 0.16 s on a
2-core AMD EPYC with avx512_bf16 and avx512_vnni, against 0.19 s from conv1_2 on (conv1_1 in bf16), 0.24 s
with per-layer scales from conv2_1 on, and 0.35 s in bf16 (one process, alternating; docs/universal.md).

Accuracy, relative L2 distance to float32 on five held-out photos at 512 px (relu2_1 / relu3_1 / relu4_1):
1.9-2.2% / 2.5-3.0% / 2.7-3.6% (per-layer scales: 1.3-1.7% / 1.9-2.3% / 2.1-2.5%; bf16: 0.3-0.8%). At low
contrast (0.35 + 0.3 x) 2.2-2.5% / 2.8-3.2% / 2.9-3.8%, where the largest outputs alone would give 6.9-9.3%
at relu4_1; dark (0.15 x) 3.5-4.0% at relu4_1 (5.3-6.7% with the largest outputs alone). The pictures and
their judged distances are in docs/universal.md. The ranges hold for the embedded weights only: with other
weights every layer takes its output's own maximum.

``torch.quantize_per_tensor`` warns that quantized tensors are deprecated in a future torch (the
project pins torch); it is used only to turn a float32 tensor into uint8 in one fast pass, and that one
warning is filtered here.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from collections.abc import Iterable

import torch
from torch import Tensor, nn

from ..errors import InputError

__all__ = [
    "EMBEDDED_RANGES",
    "FIRST_INT8_LAYER",
    "Int8ConvReLU",
    "Int8VGG",
    "calibrate_ranges",
    "check_int8",
    "int8_is_faster",
    "int8_missing",
    "measure_int8_speedup",
    "native_int8",
    "quantize_vgg",
]

log = logging.getLogger(__name__)

FIRST_INT8_LAYER = "conv1_1"
# each int8 layer's calibrated range, embedded VGG-19 weights: (the largest output of its ReLU, the largest
# ratio of that output's maximum to its input's span) over the calibration images; printed by
# python benchmarks/int8_ranges.py
EMBEDDED_RANGES: dict[str, tuple[float, float]] = {
    "conv1_1": (829.5, 3.019),
    "conv1_2": (3315.8, 6.464),
    "conv2_1": (4724.7, 1.890),
    "conv2_2": (7486.7, 1.809),
    "conv3_1": (8862.0, 1.606),
    "conv3_2": (10820.5, 1.635),
    "conv3_3": (9271.3, 1.373),
    "conv3_4": (18108.1, 2.711),
    "conv4_1": (22086.8, 1.747),
}
HEADROOM = 1.2  # the calibrated bounds' margin (see the module's text)
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
    slowly (a CPU without VNNI, or whose bf16 is emulated: the decoders run in bf16)."""
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
    encoder runs them (128->128 channels at ``size``², 256->256 at half that side; int8 from uint8 codes to
    uint8 codes at a fixed range, its saturation check included); best of ``repeats``, the two
    interleaved."""
    gen = torch.Generator().manual_seed(0)
    layers = []
    for cin, cout, side in ((128, 128, size), (256, 256, size // 2)):
        conv = nn.Conv2d(cin, cout, 3, padding=1).to(memory_format=torch.channels_last)
        with torch.no_grad():
            conv.weight.normal_(0.0, (2.0 / (9 * cin)) ** 0.5, generator=gen)
        x = torch.relu(torch.randn(1, cin, side, side, generator=gen)).to(torch.bfloat16)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            top = float(torch.relu(conv(x.float())).amax())
        layers.append((conv, Int8ConvReLU(conv, out_range=(2 * top, 1e9)), x, *Int8ConvReLU.quantize(x)))

    def run(int8: bool) -> float:
        t = time.perf_counter()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for conv, q, x, codes, scale in layers:
                q.chain(codes, scale, 255 * scale) if int8 else torch.relu(conv(x))
        return time.perf_counter() - t

    run(False), run(True)  # warm-up: oneDNN builds its kernels on first use
    bf16, int8 = [], []
    for _ in range(repeats):
        bf16.append(run(False))
        int8.append(run(True))
    return min(bf16) / min(int8)


class Int8ConvReLU(nn.Module):
    """``relu(conv(x))`` of a 3x3, stride-1, padding-1 convolution in int8 (see the module's text); the input
    must be non-negative (a ReLU's output). ``forward`` takes a float tensor and returns ``out_dtype`` (bf16 by
    default); :meth:`chain` takes and returns uint8 codes with their scale, set from ``out_range`` where that
    is given (the layer's calibrated range: largest output, largest gain). Outputs keep the input's layout.
    CPU only."""

    def __init__(
        self, conv: nn.Conv2d, out_dtype: torch.dtype = torch.bfloat16, out_range: tuple[float, float] | None = None
    ) -> None:
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) or conv.groups != 1:
            raise ValueError("Int8ConvReLU takes a 3x3 convolution with stride 1 and padding 1")
        w = conv.weight.detach().float().cpu()
        self.w_scale = w.abs().amax(dim=(1, 2, 3)).clamp_min(torch.finfo(torch.float32).tiny) / 127
        self.w_int8 = torch.round(w / self.w_scale[:, None, None, None]).clamp(-127, 127).to(torch.int8)
        self.w_zero = torch.zeros(w.shape[0], dtype=torch.long)
        self.bias = None if conv.bias is None else conv.bias.detach().float().cpu()
        self.out_dtype = out_dtype
        self.out_range = out_range
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

    @staticmethod
    def quantize_signed(x: Tensor) -> tuple[Tensor, float, int]:
        """uint8 codes of ``x`` of either sign (VGG's normalized image), their scale and zero point
        (``x ≈ (codes - zero_point) * scale``; the range spans 0, and 0 is a code: zero padding stays exact)."""
        x = x.float()
        low, high = min(float(x.amin()), 0.0), max(float(x.amax()), 0.0)
        scale = (high - low) / 255 or 1.0
        zero_point = round(-low / scale)
        return torch.quantize_per_tensor(x, scale, zero_point, torch.quint8).int_repr(), scale, zero_point

    def convolve(self, codes: Tensor, scale: float, out_scale: float | None = None, zero_point: int = 0) -> Tensor:
        """The kernel on uint8 ``codes`` at ``scale`` and ``zero_point``: uint8 codes at ``out_scale``
        (saturating at 255) when that is given, else ``out_dtype``."""
        out_dtype = None if out_scale is not None else self.out_dtype  # None: uint8 codes
        return torch.ops.onednn.qconv_pointwise(
            codes, scale, zero_point, self.packed, self.w_scale, self.w_zero, self.bias,
            [1, 1], [1, 1], [1, 1], 1, out_scale or 1.0, 0, out_dtype, "relu", [], "",
        )  # fmt: skip

    def chain(self, codes: Tensor, scale: float, span: float, zero_point: int = 0) -> tuple[Tensor, float, float]:
        """uint8 codes, scale and span of the output for uint8 ``codes`` at ``scale`` and ``zero_point``, whose
        values span ``span`` (their maximum, less their minimum where that is negative; the caller knows it
        from the step before, so the input is not read for it): where the layer has a calibrated range, at the
        smaller of its largest output and its largest gain times ``span``, if no code reaches 255 there; else
        (nothing clipped) at the output's own maximum."""
        if self.out_range:
            largest, gain = self.out_range
            bound = HEADROOM * min(largest, gain * span)
            if bound > 0:
                out = self.convolve(codes, scale, bound / 255, zero_point)
                top = int(out.amax())  # (amax: uint8 max() is 100x slower)
                if top < 255:
                    return out, bound / 255, top * bound / 255
            log.debug("int8: an output beyond its calibrated range (bound %.4g); quantized at its own maximum", bound)
        out, out_scale = self.quantize(self.convolve(codes, scale, zero_point=zero_point))
        return out, out_scale, 255 * out_scale

    def forward(self, x: Tensor) -> Tensor:
        return self.convolve(*self.quantize(x))


class Int8VGG(nn.Module):
    """VGG19 ``net`` with its ``conv`` + ``relu`` pairs from ``first`` on run as :class:`Int8ConvReLU`, the
    activations uint8 between them (see the module's text); ``ranges`` maps those convolutions to their
    calibrated ranges (largest output, largest gain; missing ones take their output's own maximum). The
    earlier layers are ``net``'s own modules, shared. Same ``forward(x, layers)`` as VGG19, for ReLU and
    pooling layers; the int8 part's features come back bf16."""

    def __init__(self, net: nn.Module, first: str, ranges: dict[str, tuple[float, float]]) -> None:
        super().__init__()
        from .vgg import MaxPool2x2

        self.layer_names: tuple[str, ...] = tuple(net.layer_names)
        self.first: str = first
        at = self.layer_names.index(first)
        for i, name in enumerate(self.layer_names):
            module = getattr(net, name)
            if i >= at and name.startswith("conv"):
                relu = self.layer_names[i + 1] if i + 1 < len(self.layer_names) else None
                if relu is None or not relu.startswith("relu"):
                    raise ValueError(f"{name} is not followed by its ReLU")
                module = Int8ConvReLU(module, out_range=ranges.get(name))
            elif i >= at and name.startswith("relu"):
                module = nn.Identity()  # applied by the convolution before it
            elif i >= at and not isinstance(module, MaxPool2x2):
                raise ValueError(f"int8 layers take VGG-19 with max pooling; {name} is {type(module).__name__}")
            self.add_module(name, module)

    def forward(self, x: Tensor, layers: Iterable[str]) -> dict[str, Tensor]:
        wanted = set(layers)
        out: dict[str, Tensor] = {}
        at = self.layer_names.index(self.first)
        codes: Tensor | None = None  # the int8 part's activations: uint8 codes at ``scale`` and ``zero``
        scale, zero, span = 1.0, 0, 0.0  # span: their maximum less their minimum where negative
        for i, name in enumerate(self.layer_names):
            module = getattr(self, name)
            if i < at:
                x = module(x)
            elif isinstance(module, Int8ConvReLU):
                if name in wanted:
                    raise ValueError(f"int8 layers give {name}'s output after its ReLU only")
                if codes is None:  # quantized over their whole span: codes 0 (or the zero point) to 255
                    if i == 0:  # the normalized image, of either sign
                        codes, scale, zero = module.quantize_signed(x)
                    else:
                        codes, scale = module.quantize(x)
                    span = 255 * scale
                relu = self.layer_names[i + 1]
                if relu in wanted:  # asked for: bf16, not rounded to 8 bits; codes again only if more follows
                    x = module.convolve(codes, scale, zero_point=zero)
                    codes = None
                else:
                    codes, scale, span = module.chain(codes, scale, span, zero)
                zero = 0  # every later input is a ReLU's output
            elif name.startswith("pool"):  # the maximum of codes is the code of the maximum
                if codes is None:
                    x = module(x)
                else:
                    codes = module(codes)
            if name in wanted:
                out[name] = x if codes is None else codes.to(torch.bfloat16).mul_(scale)
                if len(out) == len(wanted):
                    break
        return out


def calibrate_ranges(
    net: nn.Module, images: Iterable[Tensor], first: str = FIRST_INT8_LAYER
) -> dict[str, tuple[float, float]]:
    """{conv: (the largest value of its ReLU's output, the largest ratio of that output's maximum to its
    input's span: maximum less minimum where negative)} over ``images`` (float32 forward of VGG19 ``net``,
    normalized (1, 3, H, W) inputs), for the convolutions from ``first`` on: the ranges of :class:`Int8VGG`."""
    names = list(net.layer_names)
    convs = [n for n in names[names.index(first) :] if n.startswith("conv")]
    largest, gain = dict.fromkeys(convs, 0.0), dict.fromkeys(convs, 0.0)
    for image in images:
        x, top_in = image, 0.0
        with torch.no_grad():
            for name in names:
                if name in largest:  # the input's span: its maximum, less its minimum where negative
                    top_in = float(x.amax() - x.amin().clamp(max=0))
                x = getattr(net, name)(x)
                conv = f"conv{name[4:]}"
                if name.startswith("relu") and conv in largest:
                    top = float(x.amax())
                    largest[conv] = max(largest[conv], top)
                    gain[conv] = max(gain[conv], top / top_in if top_in > 0 else 0.0)
    return {conv: (largest[conv], gain[conv]) for conv in convs}


def quantize_vgg(
    net: nn.Module, first: str = FIRST_INT8_LAYER, ranges: dict[str, tuple[float, float]] | None = None
) -> nn.Module:
    """:class:`Int8VGG` of VGG19 ``net`` from ``first`` on, with calibrated ``ranges`` (none: each layer's
    output quantized at its own maximum); ``net`` itself unchanged, and returned as it is when it ends before
    ``first``."""
    if first not in net.layer_names:
        return net
    return Int8VGG(net, first, ranges or {})
