"""Johnson et al.'s image transformation network for feed-forward stylisation.

Johnson, Alahi & Fei-Fei 2016, "Perceptual Losses for Real-Time Style Transfer
and Super-Resolution", supplementary Table 1: a 9x9 convolution in, two
stride-2 downsamplings, residual blocks, two upsamplings and a 9x9 convolution
out. Departures from the paper, all common practice since:

* instance normalisation instead of batch normalisation (Ulyanov, Vedaldi &
  Lempitsky 2016), so each image is stylised independently of the batch;
* reflection padding everywhere (no dark borders, no size loss);
* nearest-neighbour resize then convolve instead of fractionally strided
  convolutions (no checkerboard artefacts), resizing to the encoder's exact
  sizes so odd input sizes come back unchanged;
* a linear output in [0, 1] units (no scaled tanh); :mod:`impasto.feedforward.apply` clamps.

``width`` (channels of the first layer; 32 in the paper), ``blocks`` (residual
blocks; 5 in the paper) and ``kernel`` (the outer kernels; 9 in the paper)
trade quality for speed: ``width=16, blocks=3`` has about a fifth of the
multiply-adds per pixel.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..errors import InputError
from .blocks import ConvNormAct, ResidualBlock, UpsampleConv
from .registry import register_net


class TransformerNet(nn.Module):
    """RGB [0, 1] ``(B, 3, H, W)`` -> stylised RGB ``(B, 3, H, W)`` (same size, unclamped)."""

    def __init__(self, width: int = 32, blocks: int = 5, kernel: int = 9) -> None:
        super().__init__()
        if width < 1 or blocks < 0 or kernel < 1 or kernel % 2 == 0:
            raise InputError(f"need width >= 1, blocks >= 0 and an odd kernel; got {width}, {blocks}, {kernel}")
        w = width
        self.head = ConvNormAct(3, w, kernel)
        self.down1 = ConvNormAct(w, 2 * w, 3, stride=2)
        self.down2 = ConvNormAct(2 * w, 4 * w, 3, stride=2)
        self.res = nn.Sequential(*(ResidualBlock(4 * w) for _ in range(blocks)))
        self.up1 = UpsampleConv(4 * w, 2 * w)
        self.up2 = UpsampleConv(2 * w, w)
        self.tail = ConvNormAct(w, 3, kernel, norm="none", act="none")

    def forward(self, x: Tensor) -> Tensor:
        h0 = self.head(x)
        h1 = self.down1(h0)
        y = self.res(self.down2(h1))
        y = self.up1(y, size=h1.shape[-2:])
        y = self.up2(y, size=h0.shape[-2:])
        return self.tail(y)


@register_net("johnson")
def johnson(width: int = 32, blocks: int = 5, kernel: int = 9) -> TransformerNet:
    """Johnson et al.'s transformation net with instance norm; see :class:`TransformerNet`."""
    return TransformerNet(width=width, blocks=blocks, kernel=kernel)
