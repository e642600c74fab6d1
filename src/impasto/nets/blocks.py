"""Building blocks of the image-to-image networks (feed-forward stylisation, CycleGAN).

Signatures (all blocks take and return ``(B, C, H, W)`` float tensors):

``ConvNormAct(in_channels, out_channels, kernel_size=3, stride=1, *, norm="instance",
act="relu", padding="reflect", affine=True, bias=None)``
    Padding, convolution, normalisation, activation. ``padding`` is ``"reflect"``
    (Johnson et al.'s and CycleGAN's choice: no dark border), ``"zeros"`` or
    ``"none"``; the pad is ``kernel_size // 2``, so a stride-1 block keeps the
    size and a stride-2 block gives ``ceil(H / 2)``. ``norm`` is ``"instance"``
    (Ulyanov et al. 2016), ``"batch"`` or ``"none"``; ``affine`` switches the
    instance norm's learnt scale and shift (CycleGAN uses ``False``). ``act`` is
    ``"relu"``, ``"leaky_relu"`` (slope 0.2), ``"tanh"``, ``"sigmoid"`` or
    ``"none"``. The convolution has a bias only when there is no normalisation
    (a bias before a normalisation that subtracts the mean is dead weight),
    unless ``bias`` says otherwise.

``ResidualBlock(channels, kernel_size=3, *, norm="instance", affine=True, dropout=0.0, padding="reflect")``
    ``x + conv_norm(relu(conv_norm(x)))``, with no activation after the sum
    (Gross & Wilber's variant used by Johnson et al.'s code). ``dropout`` between
    the two convolutions is CycleGAN's ``--use_dropout``.

``UpsampleConv(in_channels, out_channels, kernel_size=3, scale=2, **conv)``, ``forward(x, size=None)``
    Nearest-neighbour resize then a stride-1 :class:`ConvNormAct`
    ("resize-convolution", Odena et al. 2016): unlike a transposed convolution it
    cannot make checkerboard artefacts. ``size=(H, W)`` resizes to that exact
    size instead of ``scale`` times, so a decoder can return to an odd input size.
    ``conv`` (:class:`ConvOptions`: ``norm``, ``act``, ``padding``, ``affine``) goes to
    the :class:`ConvNormAct`, whose defaults apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict, Unpack

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORMS = ("instance", "batch", "none")
ACTS = ("relu", "leaky_relu", "tanh", "sigmoid", "none")
PADDINGS = ("reflect", "zeros", "none")


def _norm(kind: str, channels: int, affine: bool) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=affine, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=affine)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {', '.join(NORMS)}; got {kind!r}")


def _act(kind: str) -> nn.Module:
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind == "leaky_relu":
        return nn.LeakyReLU(0.2, inplace=True)
    if kind == "tanh":
        return nn.Tanh()
    if kind == "sigmoid":
        return nn.Sigmoid()
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"act must be one of {', '.join(ACTS)}; got {kind!r}")


class ReflectionPad(nn.ReflectionPad2d):
    """``nn.ReflectionPad2d`` that pads in its input's dtype under autocast.

    CPU autocast runs reflection padding in float32, so each bf16 map was copied up to fp32, padded,
    and copied back down by the next convolution (about a quarter of a bf16 WCT decoder's time). Padding
    only moves values, so padding in bf16 gives the same numbers. No parameters: state dicts are unchanged.
    Used by every network here (Johnson blocks, CycleGAN, the WCT/AdaIN decoders).
    """

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x)


def _pad(kind: str, amount: int) -> nn.Module:
    if kind not in PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(PADDINGS)}; got {kind!r}")
    if amount == 0 or kind == "none":
        return nn.Identity()
    return ReflectionPad(amount) if kind == "reflect" else nn.ZeroPad2d(amount)


class ConvOptions(TypedDict, total=False):
    """The keyword options of :class:`ConvNormAct` that the blocks built on it pass through."""

    norm: str
    act: str
    padding: str
    affine: bool


class ConvNormAct(nn.Sequential):
    """Pad, convolve, normalise, activate; see the module docstring."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        *,
        norm: str = "instance",
        act: str = "relu",
        padding: str = "reflect",
        affine: bool = True,
        bias: bool | None = None,
    ) -> None:
        if bias is None:
            bias = norm == "none"
        super().__init__()
        self.pad = _pad(padding, kernel_size // 2)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, bias=bias)
        self.norm = _norm(norm, out_channels, affine)
        self.act = _act(act)


class ResidualBlock(nn.Module):
    """``x + body(x)`` with two 3x3 :class:`ConvNormAct`; see the module docstring."""

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        *,
        norm: str = "instance",
        affine: bool = True,
        dropout: float = 0.0,
        padding: str = "reflect",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            ConvNormAct(channels, channels, kernel_size, norm=norm, act="relu", padding=padding, affine=affine)
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(
            ConvNormAct(channels, channels, kernel_size, norm=norm, act="none", padding=padding, affine=affine)
        )
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Module):
    """Nearest-neighbour resize (by ``scale`` or to ``size``) then :class:`ConvNormAct`; no checkerboard."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, scale: int = 2, **conv: Unpack[ConvOptions]
    ) -> None:
        super().__init__()
        self.scale = scale
        self.conv = ConvNormAct(in_channels, out_channels, kernel_size, **conv)

    def forward(self, x: Tensor, size: Sequence[int] | None = None) -> Tensor:
        if size is not None:
            # no int(): under ONNX tracing the size stays symbolic, so exports keep dynamic sizes
            x = F.interpolate(x, size=tuple(size[-2:]), mode="nearest")
        elif self.scale != 1:
            x = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return self.conv(x)
