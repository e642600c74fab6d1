"""Conversions between arrays and tensors, and resizing.

The one image format inside impasto is float32 RGB in [0, 1], shape (B, 3, H, W).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def to_tensor(image: np.ndarray, device: torch.device | str = "cpu") -> Tensor:
    """(H, W, 3) float array in [0, 1] -> (1, 3, H, W) float32 tensor."""
    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    return tensor.contiguous().to(device)


def to_array(image: Tensor) -> np.ndarray:
    """(1, 3, H, W) tensor -> (H, W, 3) float32 array clipped to [0, 1]."""
    return image.detach().float().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()


def size_for_long_side(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) with the longer side equal to ``long_side`` and the aspect ratio kept."""
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize(image: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize (B, C, H, W) to ``size`` = (h, w): bicubic, antialiased when shrinking."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    shrinking = size[0] < image.shape[-2] or size[1] < image.shape[-1]
    if shrinking and image.device.type != "cpu":
        # CUDA's antialiased kernel fails on large reductions (shared memory); the CPU one does not
        out = F.interpolate(image.cpu(), size=size, mode="bicubic", align_corners=False, antialias=True)
        return out.clamp(0, 1).to(image.device)
    return F.interpolate(image, size=size, mode="bicubic", align_corners=False, antialias=shrinking).clamp(0, 1)


def resize_long_side(image: Tensor, long_side: int) -> Tensor:
    return resize(image, size_for_long_side(image.shape[-2], image.shape[-1], long_side))


def style_long_side(image_size: int, style_scale: float) -> int:
    """neural-style's rule: the style image's long side is ceil(style_scale * image_size)."""
    return max(16, math.ceil(style_scale * image_size))
