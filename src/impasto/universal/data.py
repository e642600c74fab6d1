"""Training images for the decoders: image folders, video frames and scikit-image's photos.

Decoders learn reconstruction only, so any natural images serve. :class:`ReconstructionData`
gathers them from several sources, keeps them in memory as uint8 ``(3, H, W)`` tensors
(images are read by :func:`impasto.io.read_image`, like everywhere else) and draws
random crops at random scales with random horizontal flips. A step's batch is drawn
from a generator seeded by ``(seed, step)``, so a resumed run sees the batches it
would have seen without the interruption.

Sources (:func:`expand_sources`):
  * an image file, or a folder of images (not recursive; ``exclude`` drops names such as held-out photos);
  * a video file (``.mp4``, ``.mov``, ``.mkv``, ``.avi``, ``.webm``): every ``frame_every``-th frame,
    decoded with PyAV (``pip install av``);
  * the word ``skimage``: the photographs bundled in scikit-image's wheel (``skimage/data``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InputError
from ..io.files import IMAGE_SUFFIXES, list_images

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm")


def skimage_photos(min_side: int = 128) -> list[Path]:
    """Image files bundled with scikit-image whose short side is at least ``min_side``."""
    try:
        import skimage.data
    except ImportError:
        raise InputError("the 'skimage' data source needs scikit-image: pip install scikit-image") from None
    from PIL import Image

    folder = Path(skimage.data.__file__).parent
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or path.stat().st_size < 4096:
            continue
        try:
            with Image.open(path) as im:
                if min(im.size) >= min_side and getattr(im, "n_frames", 1) == 1:
                    out.append(path)
        except OSError:
            continue
    return out


def expand_sources(
    sources: Sequence[str | os.PathLike[str]], exclude: Sequence[str] = ()
) -> tuple[list[Path], list[Path]]:
    """(image files, video files) named by ``sources``; one-line error for a missing source."""
    images: list[Path] = []
    videos: list[Path] = []
    for source in sources:
        if str(source) == "skimage":
            images += skimage_photos()
            continue
        path = Path(source)
        if path.is_dir():
            images += [f for f in list_images(path) if f.name not in set(exclude)]
        elif path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
            videos.append(path)
        elif path.is_file():
            images.append(path)
        else:
            raise InputError(
                f"training data not found: {path} (give image folders, image or video files, or 'skimage')"
            )
    return images, videos


def read_video_frames(path: Path, every: int = 10) -> list[np.ndarray]:
    """Every ``every``-th frame of a video as uint8 (H, W, 3) arrays."""
    try:
        import av
    except ImportError:
        raise InputError(f"reading {path} needs PyAV: pip install av") from None
    frames = []
    try:
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i % every == 0:
                    frames.append(frame.to_ndarray(format="rgb24"))
    except av.error.FFmpegError as err:  # type: ignore[attr-defined]
        raise InputError(f"cannot read video {path}: {err}") from None
    return frames


def _to_uint8_tensor(arr: np.ndarray, min_side: int, max_side: int | None) -> Tensor:
    from PIL import Image

    h, w = arr.shape[:2]
    scale = 1.0
    if max_side is not None and min(h, w) > max_side:
        scale = max_side / min(h, w)
    if min(h, w) * scale < min_side:
        scale = min_side / min(h, w)
    if scale != 1.0:
        size = (max(min_side, round(w * scale)), max(min_side, round(h * scale)))
        arr = np.array(Image.fromarray(arr).resize(size, Image.Resampling.LANCZOS))
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).contiguous()


class ReconstructionData:
    """Images in memory; :meth:`batch` draws ``crop``-sized patches at scales in ``[1, max_scale]``.

    Args:
        sources: image files/folders, video files, or ``"skimage"`` (see the module docstring).
        crop: side of the training crops in pixels.
        max_scale: a crop covers a square of side ``crop * s`` of the image, ``s`` drawn log-uniformly
            in ``[1, max_scale]``, shrunk to ``crop`` (antialiased): the decoder sees several scales.
        max_side: images whose short side is larger are shrunk to it when loaded.
        exclude: file names to leave out of folders (held-out photos).
        frame_every: keep one video frame in this many.
    """

    def __init__(
        self,
        sources: Sequence[str | os.PathLike[str]],
        crop: int,
        *,
        max_scale: float = 2.0,
        max_side: int | None = 512,
        exclude: Sequence[str] = (),
        frame_every: int = 10,
    ) -> None:
        from ..io import read_image

        if crop < 16:
            raise InputError(f"crop size must be >= 16 px; got {crop}")
        if max_scale < 1.0:
            raise InputError(f"max_scale must be >= 1; got {max_scale}")
        self.crop, self.max_scale = crop, max_scale
        files, videos = expand_sources(sources, exclude)
        self.names: list[str] = []
        self.images: list[Tensor] = []
        for f in files:
            u8 = (read_image(f) * 255.0 + 0.5).astype(np.uint8)
            self.images.append(_to_uint8_tensor(u8, crop, max_side))
            self.names.append(f.name)
        for v in videos:
            for i, frame in enumerate(read_video_frames(v, frame_every)):
                self.images.append(_to_uint8_tensor(frame, crop, max_side))
                self.names.append(f"{v.name}#{i * frame_every}")
        if not self.images:
            raise InputError("no training images found in the given data sources")

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, n: int, step: int, seed: int = 0) -> Tensor:
        """``n`` random crops as float ``(n, 3, crop, crop)`` in [0, 1], the same for the same (step, seed)."""
        # ints only: hashes of strings differ between processes
        gen = torch.Generator().manual_seed(hash((seed, step, 14)) & 0x7FFF_FFFF_FFFF)
        out = torch.empty(n, 3, self.crop, self.crop)
        for i in range(n):
            img = self.images[int(torch.randint(len(self.images), (1,), generator=gen))]
            _, h, w = img.shape
            u = float(torch.rand((), generator=gen))
            side = min(h, w, round(self.crop * math.exp(u * math.log(self.max_scale))))
            top = int(torch.randint(h - side + 1, (1,), generator=gen))
            left = int(torch.randint(w - side + 1, (1,), generator=gen))
            patch = img[:, top : top + side, left : left + side].float()[None] / 255.0
            if side != self.crop:
                patch = F.interpolate(
                    patch, size=(self.crop, self.crop), mode="bilinear", align_corners=False, antialias=True
                ).clamp(0, 1)
            if bool(torch.randint(2, (1,), generator=gen)):
                patch = patch.flip(-1)
            out[i] = patch[0]
        return out
