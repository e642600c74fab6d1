"""Images as the API accepts them: ``ImageLike`` and :func:`load_image`, with the one minimum-side rule.

Every entry point (Gatys, feed-forward, CycleGAN, evaluation, the CLI) turns
its inputs into float32 ``(H, W, 3)`` arrays in [0, 1] here, so they all accept
the same things and refuse the same too-small images with the same message.
Only numpy and Pillow are imported; a torch tensor is recognised by duck typing.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PIL import Image

from ..errors import InputError
from .image import read_image

ImageLike = str | os.PathLike | Image.Image | np.ndarray | Any
"""A path, a Pillow image, an (H, W, 3) array in [0, 1] or a (1, 3, H, W) tensor."""

MIN_SIDE = 16  # VGG-19 halves the size four times before conv5_1


def load_image(image: ImageLike, what: str = "image") -> np.ndarray:
    """Path, Pillow image, (H, W, 3) array in [0, 1] or (1, 3, H, W) tensor -> float32 (H, W, 3).

    Args:
        image: the image, in any of the forms above.
        what: how error messages name it ("content image", "style mask 2").

    Returns:
        float32 array of shape (H, W, 3) with values in [0, 1].

    Raises:
        InputError: unreadable file, wrong shape or range, or a side shorter than ``MIN_SIDE`` pixels.

    Example:
        >>> load_image(np.zeros((32, 48, 3))).shape
        (32, 48, 3)
    """
    if isinstance(image, (str, os.PathLike)):
        array = read_image(image)
    elif isinstance(image, Image.Image):
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    elif isinstance(image, np.ndarray):
        array = image.astype(np.float32)
        if array.max(initial=0) > 1.0 + 1e-6:
            raise InputError(f"{what}: arrays must hold values in [0, 1]")
    elif hasattr(image, "detach"):
        if image.ndim != 4 or image.shape[0] != 1 or image.shape[1] != 3:
            raise InputError(f"{what}: tensors must have shape (1, 3, H, W)")
        array = image.detach().float().cpu()[0].permute(1, 2, 0).numpy()
    else:
        raise InputError(f"{what}: expected a path, a PIL image, an array or a tensor, got {type(image).__name__}")
    if array.ndim != 3 or array.shape[2] != 3:
        raise InputError(f"{what}: expected an RGB image of shape (H, W, 3), got {array.shape}")
    h, w = array.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(f"{what} is {w}x{h} pixels; impasto needs at least {MIN_SIDE} px on each side")
    return array
