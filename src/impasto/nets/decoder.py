"""Decoders that invert VGG-19 up to one ``reluN_1`` layer (Li et al. 2017, "Universal Style Transfer").

The decoder of level ``reluN_1`` mirrors the encoder: each VGG convolution from
``convN_1`` back to ``conv1_1`` becomes a 3x3 convolution from its output
channels to its input channels, each pooling becomes a 2x nearest upsampling,
ReLU after every convolution but the last (which gives RGB in [0, 1] units,
unclamped). As in Li et al.'s decoders, padding is by reflection.

Departures from the paper:

* ``width`` scales the hidden channel counts (1.0 is the exact mirror), so a
  lighter decoder can trade quality for speed; the input channels always match
  VGG's and the output is always RGB.
* a fixed ``input_scale`` multiplies the features first (the Caffe VGG's features are
  in 0-255 pixel units; unit-scale inputs keep Adam's step size meaningful at every level).
* ``forward(feats, size)`` upsamples to the exact sizes VGG's flooring poolings
  produced for an image of ``size``, so odd image sizes come back unchanged.

Registered as ``"vgg_decoder"`` in :mod:`impasto.nets.registry`, so checkpoints
rebuild it from the level and width alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError
from .blocks import ReflectionPad
from .registry import register_net

VGG_BLOCKS = (2, 2, 4, 4, 4)  # convolutions per VGG-19 block
LEVELS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def block_width(block: int) -> int:
    """Channels of VGG-19 block ``block`` (1-based); block 0 is the RGB input."""
    return 3 if block == 0 else min(64 * 2 ** (block - 1), 512)


def level_block(level: str) -> int:
    """``"relu3_1"`` -> 3; one-line error for anything but relu1_1 ... relu5_1."""
    if level not in LEVELS:
        raise InputError(f"unknown decoder level {level!r}; choose from {', '.join(LEVELS)}")
    return int(level[4])


def level_channels(level: str) -> int:
    return block_width(level_block(level))


class VGGDecoder(nn.Module):
    """Features of VGG-19 ``level`` ``(B, C, h, w)`` -> RGB ``(B, 3, H, W)``.

    Args:
        level: ``relu1_1`` ... ``relu5_1``.
        width: multiplier of the hidden channel counts (1.0: Li et al.'s mirror of VGG).
        input_scale: fixed factor on the input features (training sets it to 1 / their RMS, so the
            Caffe VGG's large shallow features, ~0-255 units, meet unit-scale weights).

    Example:
        >>> dec = VGGDecoder("relu2_1")
        >>> dec(torch.rand(1, 128, 32, 32), size=(65, 64)).shape
        torch.Size([1, 3, 65, 64])
    """

    def __init__(self, level: str = "relu4_1", width: float = 1.0, input_scale: float = 1.0) -> None:
        super().__init__()
        top = level_block(level)
        if not 0.0 < width <= 4.0:
            raise InputError(f"decoder width must be in (0, 4]; got {width}")
        if not input_scale > 0.0:
            raise InputError(f"decoder input_scale must be positive; got {input_scale}")
        self.level, self.width, self.top, self.input_scale = level, float(width), top, float(input_scale)

        def hidden(block: int) -> int:
            return block_width(block) if block == 0 else max(4, round(block_width(block) * width))

        stages: list[nn.Module] = []
        in_ch = block_width(top)  # the VGG features themselves
        for block in range(top, 0, -1):
            convs: list[nn.Module] = []
            # mirror of convB_1 .. convB_n in reverse: convB_n..convB_2 keep the width, convB_1 maps to block-1;
            # for the top block only convB_1 was applied by the encoder
            n = 1 if block == top else VGG_BLOCKS[block - 1]
            for i in range(n, 0, -1):
                out_ch = hidden(block - 1) if i == 1 else hidden(block)
                convs.append(ReflectionPad(1))
                convs.append(nn.Conv2d(in_ch, out_ch, kernel_size=3))
                if not (block == 1 and i == 1):
                    convs.append(nn.ReLU(inplace=True))
                in_ch = out_ch
            stages.append(nn.Sequential(*convs))
        self.stages = nn.ModuleList(stages)  # stages[k] runs at 1/2**(top-1-k) of the image size

    def forward(
        self, feats: Tensor, size: tuple[int, int] | None = None, input_affine: tuple[Tensor, Tensor] | None = None
    ) -> Tensor:
        """Decode; ``size`` (H, W) is the image size the features came from (default: 2**(N-1) x feature size).

        ``input_affine = (matrix, shift)`` decodes ``matrix @ f + shift`` at every pixel (``matrix`` (C, C), or
        (C, 1) for a per-channel scale; ``shift`` (C, 1)) without forming it: the affine map is folded into
        the first convolution's weights and bias (reflection padding moves pixels, so it commutes with a
        per-pixel map). A feature transform then costs no pass over the features.
        """
        if feats.dim() != 4 or feats.shape[1] != self.stages[0][1].in_channels:
            raise InputError(
                f"decoder {self.level} expects (B, {self.stages[0][1].in_channels}, h, w) "
                f"features; got {tuple(feats.shape)}"
            )
        x = self._first_stage(feats, input_affine)
        for k, stage in enumerate(self.stages):
            if k:
                x = stage(x)
            if k + 1 < len(self.stages):
                pools = self.top - 2 - k  # poolings between the image and the next stage
                if size is None:
                    x = F.interpolate(x, scale_factor=2.0, mode="nearest")
                else:
                    x = F.interpolate(x, size=(size[0] >> pools, size[1] >> pools), mode="nearest")
        return x

    def _first_stage(self, feats: Tensor, input_affine: tuple[Tensor, Tensor] | None) -> Tensor:
        first = self.stages[0]
        if input_affine is None:
            return first(feats * self.input_scale if self.input_scale != 1.0 else feats)
        weight, bias = fold_affine(first[1], *input_affine, scale=self.input_scale)
        x = F.conv2d(first[0](feats), weight, bias)
        for layer in list(first)[2:]:
            x = layer(x)
        return x


def fold_affine(conv: nn.Conv2d, matrix: Tensor, shift: Tensor, scale: float = 1.0) -> tuple[Tensor, Tensor]:
    """Weight and bias of ``conv`` applied to ``scale * (matrix @ f + shift)`` instead of ``f`` (float64 products).

    ``matrix`` is (C, C) or a (C, 1) per-channel scale; ``shift`` is (C, 1); C = ``conv.in_channels``.
    """
    w = conv.weight.double()
    m = matrix.to(w.device, torch.float64) * scale
    folded = w * m[:, 0].view(1, -1, 1, 1) if m.shape[1] == 1 else torch.einsum("ojhw,ji->oihw", w, m)
    bias = torch.einsum("ojhw,j->o", w, shift.to(w.device, torch.float64)[:, 0] * scale)
    if conv.bias is not None:
        bias = bias + conv.bias.double()
    # the original weight's memory layout (einsum's output strides would pick another convolution kernel)
    cl = conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()
    folded = folded.contiguous(memory_format=torch.channels_last if cl else torch.contiguous_format)
    return folded.to(conv.weight.dtype), bias.to(conv.weight.dtype)


@register_net("vgg_decoder")
def vgg_decoder(level: str = "relu4_1", width: float = 1.0, input_scale: float = 1.0) -> VGGDecoder:
    return VGGDecoder(level, width, input_scale)
