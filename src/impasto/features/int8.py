"""VGG-19 with int8 convolutions from conv3_1 on: the encoder of ``--precision int8`` (WCT and AdaIN only).

The one-pass methods spend most of their time in VGG-19's convolutions, and on this project's CPUs those
run at the bf16 peak already. oneDNN's int8 convolutions (VNNI) do twice the multiply-adds per cycle, so
:func:`quantize_vgg` replaces each ``conv`` + ``relu`` pair from :data:`FIRST_INT8_LAYER` on by an
:class:`Int8ConvReLU`:

* weights: symmetric int8, one scale per output channel (the largest weight maps to 127);
* activations: uint8, one scale per tensor, the tensor's own maximum (computed for every input: no
  calibration data, nothing clipped); every convolution after conv1_1 takes a ReLU's output, so zero
  is the zero point;
* the product is accumulated in int32 and comes back float32 with its bias and ReLU applied.

Why from conv3_1: at a 512² input the int8 kernel writing uint8 is about twice as fast as bf16 at every
layer, but a uint8 output needs its scale before the convolution runs (a calibrated range). With the
scale found from the data, the output is float32 and the next layer quantizes it: two memory passes,
which at 512² and 256² (conv1_2 to conv2_2) eat the gain (measured per layer in docs/universal.md).
From conv3_1 on (128² and smaller there) the int8 layers take 57% of the bf16 time, quantization
included: VGG-19 to relu4_1 at 512² goes from about 0.33 s to 0.25 s on a 2-core AMD EPYC with
avx512_bf16 and avx512_vnni.

Accuracy: on Kodak kodim05 at 512² the features differ from float32 by 1.4% (relu3_1) and 2.0% (relu4_1)
in relative L2, against 0.3% and 0.4% for bf16 (relu1_1 and relu2_1 are the bf16 encoder's own;
tests/test_int8.py bounds them); the pictures and their judged distances are in docs/universal.md.

``torch.quantize_per_tensor`` warns that quantized tensors are deprecated in a future torch (the
project pins torch); it is used only to turn a float tensor into uint8 in one fast pass, and that one
warning is filtered here.
"""

from __future__ import annotations

import copy
import logging
import warnings

import torch
from torch import Tensor, nn

from ..errors import InputError

__all__ = ["FIRST_INT8_LAYER", "Int8ConvReLU", "check_int8", "int8_missing", "quantize_vgg"]

log = logging.getLogger(__name__)

FIRST_INT8_LAYER = "conv3_1"
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


def check_int8(device: torch.device) -> None:
    """One-line error unless ``--precision int8`` can run on ``device``; a warning where it would run
    slowly (a CPU without VNNI, or whose bf16 is emulated: the layers before conv3_1 and the decoders run
    in bf16)."""
    if device.type != "cpu":
        raise InputError(f"precision int8 runs on the CPU only (oneDNN); this run is on {device}: give --device cpu")
    missing = int8_missing()
    if missing:
        raise InputError(f"precision int8 is not available: {missing}; use --precision auto")
    from ..precision import NATIVE_BF16_FLAGS, cpu_flags

    flags = cpu_flags()
    if flags is not None and not ({"avx512_vnni", "avx_vnni", "amx_int8"} & flags and NATIVE_BF16_FLAGS & flags):
        log.warning(
            "precision int8: this CPU lacks VNNI or native bf16, so int8 and bf16 are emulated and may be "
            "slower than fp32; --precision auto picks the fast one"
        )


class Int8ConvReLU(nn.Module):
    """``relu(conv(x))`` of a 3x3, stride-1, padding-1 convolution in int8 (see the module's text); the input
    must be non-negative (a ReLU's output), the output is float32 and keeps the input's layout. CPU only."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) or conv.groups != 1:
            raise ValueError("Int8ConvReLU takes a 3x3 convolution with stride 1 and padding 1")
        w = conv.weight.detach().float().cpu()
        self.w_scale = w.abs().amax(dim=(1, 2, 3)).clamp_min(torch.finfo(torch.float32).tiny) / 127
        self.w_int8 = torch.round(w / self.w_scale[:, None, None, None]).clamp(-127, 127).to(torch.int8)
        self.w_zero = torch.zeros(w.shape[0], dtype=torch.long)
        self.bias = None if conv.bias is None else conv.bias.detach().float().cpu()
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
        """uint8 codes of non-negative ``x`` and their scale (``x ≈ codes * scale``; the maximum maps to 255)."""
        x = x.float()
        scale = float(x.amax()) / 255 or 1.0  # an all-zero input: any scale
        return torch.quantize_per_tensor(x, scale, 0, torch.quint8).int_repr(), scale

    def forward(self, x: Tensor) -> Tensor:
        codes, scale = self.quantize(x)
        return torch.ops.onednn.qconv_pointwise(
            codes, scale, 0, self.packed, self.w_scale, self.w_zero, self.bias,
            [1, 1], [1, 1], [1, 1], 1, 1.0, 0, torch.float32, "relu", [], "",
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
