"""Input normalisation that belongs to each set of weights.

Outside the encoder every image is float RGB in [0, 1], shape (B, 3, H, W).
  * ``caffe`` (original VGG): RGB -> BGR, x 255, minus the ImageNet mean pixel
    (103.939, 116.779, 123.68) in BGR order.
  * ``torch`` (torchvision): (x - mean) / std with mean (0.485, 0.456, 0.406),
    std (0.229, 0.224, 0.225).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)


class Normalize(nn.Module):
    """Maps [0, 1] RGB to the input space the weights were trained on (differentiable, out of place)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind == "caffe":
            scale = torch.full((3,), 255.0)
            shift = torch.tensor(CAFFE_MEAN_BGR)
            self.swap_to_bgr = True
        elif kind == "torch":
            scale = 1.0 / torch.tensor(TORCH_STD)
            shift = torch.tensor(TORCH_MEAN) / torch.tensor(TORCH_STD)
            self.swap_to_bgr = False
        else:
            raise ValueError(f"unknown preprocessing {kind!r}; use 'caffe' or 'torch'")
        self.kind = kind
        self.register_buffer("scale", scale.view(1, 3, 1, 1))
        self.register_buffer("shift", shift.view(1, 3, 1, 1))

    def forward(self, image: Tensor) -> Tensor:
        if self.swap_to_bgr:
            image = image.flip(1)
        return image * self.scale - self.shift

    def inverse(self, x: Tensor) -> Tensor:
        image = (x + self.shift) / self.scale
        return image.flip(1) if self.swap_to_bgr else image
