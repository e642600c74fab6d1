"""Exact rewrites of a trained network that compute the same function in less time.

The output layer of Johnson et al.'s network is a 9x9 convolution from ``width``
channels to 3 at full resolution. CPU convolution kernels work on blocks of 8 or 16
output channels (oneDNN, onnxruntime's NCHWc kernels), so 3 output channels waste
most of each block: that one layer took a fifth of the network's time at 1024x1024
under onnxruntime.

:class:`PhasedConv` computes the same convolution as a stride-2 convolution with
four times the output channels, one group of ``out`` channels per position
``(r, s)`` in each 2x2 block of output pixels, then a pixel shuffle. Its kernel is
the original kernel placed at offset ``(r, s)`` in a ``(k+1) x (k+1)`` kernel of
zeros, so every output pixel is the same sum of the same products. One extra
row and column of zeros at the bottom and right make odd sizes come out whole;
the surplus pixel is cropped. The weights are derived from the trained layer, so
there is nothing to train and nothing to store.

:func:`for_inference` returns a copy of a network with these rewrites applied
(the network itself is untouched, so it can still be trained and saved).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import ConvNormAct
from .johnson import TransformerNet


class PhasedConv(nn.Module):
    """A stride-1 convolution after reflection padding, computed as a stride-2 convolution and a pixel shuffle."""

    def __init__(self, conv: nn.Conv2d, pad: int) -> None:
        super().__init__()
        if conv.stride != (1, 1) or conv.dilation != (1, 1) or conv.groups != 1 or conv.padding != (0, 0):
            raise ValueError("PhasedConv rewrites plain stride-1 convolutions only")
        out_ch, in_ch, kh, kw = conv.weight.shape
        weight = conv.weight.detach()
        phased = weight.new_zeros(out_ch, 2, 2, in_ch, kh + 1, kw + 1)
        for r in range(2):
            for s in range(2):
                phased[:, r, s, :, r : r + kh, s : s + kw] = weight
        bias = conv.bias.detach() if conv.bias is not None else weight.new_zeros(out_ch)
        self.pad = pad
        self.register_buffer("weight", phased.reshape(out_ch * 4, in_ch, kh + 1, kw + 1))
        self.register_buffer("bias", bias.repeat_interleave(4))

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if self.pad:
            x = F.pad(x, (self.pad,) * 4, mode="reflect")
        x = F.pad(x, (0, 1, 0, 1))  # so odd sizes give whole 2x2 blocks; the extra pixel is cropped below
        y = F.pixel_shuffle(F.conv2d(x, self.weight, self.bias, stride=2), 2)
        return y[..., :h, :w]


def _phase_output_layer(block: ConvNormAct) -> nn.Module:
    """The block as a :class:`PhasedConv` when it is a bare stride-1 convolution to a few channels."""
    if isinstance(block.pad, nn.ReflectionPad2d):
        pad = block.pad.padding[0]
    elif isinstance(block.pad, nn.Identity):
        pad = 0
    else:  # zero padding would need its own rewrite
        return block
    plain = isinstance(block.norm, nn.Identity) and isinstance(block.act, nn.Identity)
    if not plain or block.conv.stride != (1, 1) or block.conv.out_channels > 4:
        return block
    return PhasedConv(block.conv, pad)


@torch.no_grad()
def for_inference(net: nn.Module) -> nn.Module:
    """A copy of ``net`` in eval mode with the rewrites of this module applied where they fit."""
    fast = copy.deepcopy(net).eval()
    if isinstance(fast, TransformerNet):
        fast.tail = _phase_output_layer(fast.tail)
    return fast
