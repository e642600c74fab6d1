"""Memory plan of a universal (WCT/AdaIN) stylisation, made before any compute (torch-free).

The cascade's peak memory grows with the pixels processed at once: the encoder's and decoder's
full-resolution 64-channel activations and, at relu1_1, the features, their transformed copy and a
temporary. :data:`BYTES_PER_PIXEL` is that estimate in float32 (about 20 float32 values per pixel);
the full-size image tensors (content, result, masks) add :data:`IMAGE_BYTES_PER_PIXEL`. When the
whole image does not fit in the budget, the plan cuts it into tiles (cores of ``tile`` px plus a
96 px margin) whose peak fits; if not even a 256 px tile fits, it refuses with the largest size
that would run untiled.
"""

from __future__ import annotations

import math

from ..errors import InputError
from ..tiles import MARGIN

BYTES_PER_PIXEL = 1280
IMAGE_BYTES_PER_PIXEL = 64
MAX_TILE = 2048
MIN_TILE = 256


def peak_bytes(height: int, width: int, tile: int | None = None) -> int:
    """Estimated peak bytes of a run at ``height`` x ``width``, untiled or with ``tile`` px cores."""
    pixels = height * width
    if tile is None:
        return pixels * (BYTES_PER_PIXEL + IMAGE_BYTES_PER_PIXEL)
    padded = min(height, tile + 2 * MARGIN) * min(width, tile + 2 * MARGIN)
    return padded * BYTES_PER_PIXEL + pixels * IMAGE_BYTES_PER_PIXEL


def plan_tile(hw: tuple[int, int], budget: int | None, tile_size: int | None = None) -> int | None:
    """Tile core side for an ``hw`` result within ``budget`` bytes (None: untiled). A given ``tile_size`` is
    kept. Raises InputError naming the largest image side that fits when even the smallest tile does not."""
    h, w = hw
    if tile_size is not None:
        return tile_size if max(h, w) > tile_size else None
    if budget is None or peak_bytes(h, w) <= budget:
        return None
    tile = MAX_TILE
    while tile > MIN_TILE and peak_bytes(h, w, tile) > budget:
        tile -= 128
    if peak_bytes(h, w, tile) > budget:
        largest = int(math.sqrt(budget / (BYTES_PER_PIXEL + IMAGE_BYTES_PER_PIXEL)))
        raise InputError(
            f"a {w}x{h} result needs about {_size(peak_bytes(h, w, tile))} even in {tile} px tiles "
            f"but {_size(budget)} is allowed; the largest size that fits is about image_size={largest} "
            "(or raise max_memory)"
        )
    return tile


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MB"
