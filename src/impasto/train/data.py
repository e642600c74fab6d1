"""Training images: a folder of photographs, decoded once, and random crops drawn per step.

:class:`ImageFolder` reads every image of a folder (through :func:`impasto.io.read_image`,
so the same modes and errors as everywhere else), optionally shrinks each so its
short side is at most ``max_side``, and keeps them in memory as uint8 tensors.
:meth:`ImageFolder.batch` draws ``n`` random crops with random horizontal flips
from a generator seeded by ``(seed, step, rank)``: the batch of a step is the
same whether or not the run was interrupted and resumed, and each process of a
distributed run gets different crops. :func:`crop_side` draws a crop side per step
for training on several sizes at once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import InputError
from ..io import read_image
from ..io.files import list_images


def crop_side(step: int, seed: int, smallest: int, largest: int, multiple: int = 4) -> int:
    """The crop side of ``step``, drawn uniformly among the multiples of ``multiple`` in
    ``[smallest, largest]`` (``largest`` when the range holds none); the same on every rank."""
    lo, hi = -(-smallest // multiple), largest // multiple
    if lo >= hi:
        return largest
    gen = torch.Generator().manual_seed(hash(("crop", seed, step)) & 0x7FFF_FFFF_FFFF)
    return multiple * int(torch.randint(lo, hi + 1, (1,), generator=gen))


class ImageFolder:
    """Images held in memory as uint8 (3, H, W) tensors, for drawing random training crops."""

    def __init__(self, files: Sequence[str | os.PathLike[str]], crop: int, max_side: int | None = None) -> None:
        if crop < 8:
            raise InputError(f"crop size must be >= 8 px; got {crop}")
        self.files = [Path(f) for f in files]
        if not self.files:
            raise InputError("no training images given")
        self.crop = crop
        self.images = [self._load(f, crop, max_side) for f in self.files]

    @classmethod
    def from_folder(
        cls, folder: str | os.PathLike[str], crop: int, max_side: int | None = None, exclude: Sequence[str] = ()
    ) -> ImageFolder:
        files = [f for f in list_images(folder) if f.name not in set(exclude)]
        return cls(files, crop, max_side)

    @staticmethod
    def _load(path: Path, crop: int, max_side: int | None) -> Tensor:
        from PIL import Image

        arr = read_image(path)
        h, w = arr.shape[:2]
        scale = 1.0
        if max_side is not None and min(h, w) > max_side:
            scale = max_side / min(h, w)
        if min(h, w) * scale < crop:  # too small for a crop: enlarge so the short side equals the crop
            scale = crop / min(h, w)
        u8 = (arr * 255.0 + 0.5).astype(np.uint8)
        if scale != 1.0:
            size = (max(crop, round(w * scale)), max(crop, round(h * scale)))
            u8 = np.array(Image.fromarray(u8).resize(size, Image.Resampling.LANCZOS))
        return torch.from_numpy(np.ascontiguousarray(u8)).permute(2, 0, 1).contiguous()

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, n: int, step: int, seed: int = 0, rank: int = 0, crop: int | None = None) -> Tensor:
        """``n`` random crops (with random flips) as float (n, 3, side, side) in [0, 1]; ``side`` is
        ``crop`` (at most the folder's crop size) or the folder's crop size."""
        side = self.crop if crop is None else crop
        if not 0 < side <= self.crop:
            raise ValueError(f"crop {side} is outside 1..{self.crop}")
        gen = torch.Generator().manual_seed(hash((seed, step, rank)) & 0x7FFF_FFFF_FFFF)
        out = torch.empty(n, 3, side, side)
        for i in range(n):
            img = self.images[int(torch.randint(len(self.images), (1,), generator=gen))]
            _, h, w = img.shape
            top = int(torch.randint(h - side + 1, (1,), generator=gen))
            left = int(torch.randint(w - side + 1, (1,), generator=gen))
            patch = img[:, top : top + side, left : left + side]
            if bool(torch.randint(2, (1,), generator=gen)):
                patch = patch.flip(-1)
            out[i] = patch.float() / 255.0
        return out
