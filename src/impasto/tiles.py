"""Tile geometry for evaluating the VGG objective on large images piece by piece (torch-free).

See :mod:`impasto.losses.tiled` for why the cores partition the image and what the margin is for;
:mod:`impasto.memory` uses the largest padded tile to estimate a tiled run's memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MARGIN = 96  # context around each tile core, in pixels: more than relu5_1's receptive-field radius (78 px)
ALIGN = 32  # tile cores start on multiples of pool5's stride, so every pooling window lines up


@dataclass(frozen=True)
class Tile:
    """One tile: ``core`` is the part it is responsible for, ``padded`` the core plus its context;
    both (y0, y1, x0, x1) in image pixels."""

    core: tuple[int, int, int, int]
    padded: tuple[int, int, int, int]


def _splits(n: int, size: int) -> list[tuple[int, int]]:
    """Cut [0, n) into near-equal pieces of at most about ``size``, starting on multiples of ALIGN."""
    count = max(1, math.ceil(n / size))
    step = max(ALIGN, math.ceil(n / count / ALIGN) * ALIGN)
    return [(start, min(start + step, n)) for start in range(0, n, step)]


def tile_grid(height: int, width: int, tile_size: int, margin: int = MARGIN) -> list[Tile]:
    """Tiles covering a ``height`` x ``width`` image with cores of at most about ``tile_size`` px.

    >>> [t.core for t in tile_grid(100, 300, 128)]
    [(0, 100, 0, 128), (0, 100, 128, 256), (0, 100, 256, 300)]
    >>> tile_grid(100, 300, 128)[1].padded
    (0, 100, 32, 300)
    """
    if margin % ALIGN:
        raise ValueError(f"margin must be a multiple of {ALIGN}; got {margin}")
    tiles = []
    for y0, y1 in _splits(height, tile_size):
        for x0, x1 in _splits(width, tile_size):
            padded = (max(0, y0 - margin), min(height, y1 + margin), max(0, x0 - margin), min(width, x1 + margin))
            tiles.append(Tile((y0, y1, x0, x1), padded))
    return tiles
