"""Applying CycleGAN generators: :func:`load_generator`, :func:`translate` one image, :func:`translate_files`.

Training (:func:`impasto.cyclegan.train.train_cyclegan`) lives in :mod:`impasto.cyclegan.train`.

A generator comes from an impasto CycleGAN checkpoint (``direction`` picks G,
A to B, or F, B to A) or from a foreign generator state dict that
:func:`impasto.nets.cyclegan.convert_foreign_generator` recognises
(pytorch-CycleGAN-and-pix2pix ``latest_net_G_A.pth``, vintagify's
``G_A2B_epoch33.pth``), which holds one direction only.

Images of any size are translated whole: the generator reflect-pads to a
multiple of 4 (at least 8) and crops back, so the output has the input's size.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..device import resolve_device
from ..errors import InputError, WeightsError
from ..io import ImageLike, load_image, write_image
from ..progress import Callback, Progress
from ..transforms import resize, size_for_long_side, to_array, to_tensor
from .train import KIND

log = logging.getLogger(__name__)

DIRECTIONS = ("AtoB", "BtoA")
MIN_SIDE = 4


@dataclass
class Generator:
    """A loaded generator: the network (eval mode), where it came from, and its direction."""

    net: nn.Module
    source: str  # "impasto" or the foreign layout's name
    direction: str
    path: str


def load_generator(
    checkpoint: str | os.PathLike[str], direction: str | None = None, device: str | torch.device = "cpu"
) -> Generator:
    """Load G (``AtoB``, default) or F (``BtoA``) from an impasto checkpoint, or a foreign generator file."""
    from ..train.checkpoint import FORMAT, load_checkpoint, load_net, read_torch_file

    if direction is not None and direction not in DIRECTIONS:
        raise InputError(f"direction must be AtoB or BtoA; got {direction!r}")
    path = Path(checkpoint)
    data = read_torch_file(path)
    if isinstance(data, dict) and data.get("format") == FORMAT:
        data = load_checkpoint(path, kind=KIND)
        name = "F" if direction == "BtoA" else "G"
        net, source, direction = load_net(data["nets"][name]), "impasto", direction or "AtoB"
    elif isinstance(data, dict):
        from ..nets.cyclegan import load_foreign_generator

        if direction == "BtoA":
            raise InputError(
                f"{path} holds a single generator (one direction); --direction applies to impasto checkpoints only"
            )
        try:
            source, net = load_foreign_generator(data.get("state_dict", data))
        except WeightsError as err:
            raise InputError(f"{path}: {err}") from None
        direction = "AtoB"
    else:
        raise InputError(f"{path} is neither an impasto checkpoint nor a generator state dict")
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    if convs and (convs[0].in_channels, convs[-1].out_channels) != (3, 3):
        raise InputError(
            f"{path}: the generator maps {convs[0].in_channels}-channel images to "
            f"{convs[-1].out_channels}-channel ones; impasto translates RGB images "
            "(3 channels in and out)"
        )
    device = resolve_device(device) if isinstance(device, str) else device
    return Generator(net.eval().to(device), source, direction, str(path))


@torch.no_grad()
def apply_generator(net: nn.Module, image: np.ndarray, image_size: int | None = None) -> np.ndarray:
    """Translate one float (H, W, 3) [0, 1] image; ``image_size`` resizes its long side first (None: as is)."""
    from ..memory import IMAGE_BYTES, check_pass_memory

    h, w = image.shape[:2]
    device = next(net.parameters()).device
    size = size_for_long_side(h, w, image_size) if image_size is not None else (h, w)
    # no-grad: about three feature maps of the widest layer live at once (input, output, reflection pad)
    widest = max((m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d)), default=3)
    check_pass_memory(size, 3 * widest * 4 + 4 * IMAGE_BYTES, device)
    x = to_tensor(image, device)
    if image_size is not None:
        x = resize(x, size)
    y = net(x * 2 - 1)
    return to_array((y + 1) / 2)


@dataclass
class Translated:
    """One translated image (float32 (H, W, 3) in [0, 1]) and what produced it."""

    array: np.ndarray
    source: str
    direction: str
    seconds: float

    def save(self, path: str | os.PathLike[str]) -> Path:
        meta = {"Software": "impasto", "impasto:cyclegan-source": self.source, "impasto:direction": self.direction}
        return write_image(path, self.array, metadata=meta)


def translate(
    checkpoint: str | os.PathLike[str] | Generator,
    image: ImageLike,
    *,
    direction: str | None = None,
    image_size: int | None = None,
    device: str = "auto",
) -> Translated:
    """Translate one image with a CycleGAN generator.

    Args:
        checkpoint: impasto CycleGAN checkpoint, foreign generator ``.pth``, or a :class:`Generator`.
        image: path, PIL image, (H, W, 3) array in [0, 1] or (1, 3, H, W) tensor; any size.
        direction: ``AtoB`` (G, default) or ``BtoA`` (F); impasto checkpoints only.
        image_size: resize the long side to this first (default: keep the size).
    """
    if image_size is not None and image_size < MIN_SIDE:
        raise InputError(f"image_size must be >= {MIN_SIDE}; got {image_size}")
    gen = checkpoint if isinstance(checkpoint, Generator) else load_generator(checkpoint, direction, device)
    array = load_image(image)
    t0 = time.perf_counter()
    out = apply_generator(gen.net, array, image_size)
    return Translated(out, gen.source, gen.direction, time.perf_counter() - t0)


def translate_files(
    checkpoint: str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    direction: str | None = None,
    image_size: int | None = None,
    device: str = "auto",
    callback: Callback | None = None,
    fail_fast: bool = False,
) -> list[Path]:
    """Translate image files and folders; return the written paths.

    ``output`` is a file when there is one input and it has an image extension; otherwise it
    is a folder (created at the first write) receiving ``<input stem>.png`` per image (see
    :func:`impasto.io.files.output_paths`; an output that is an input is refused). The checkpoint
    and every path are checked before the first image is translated; a file that cannot be read
    is skipped and the others are translated, then :class:`impasto.io.files.BatchError` lists the
    failures (``fail_fast``: stop at the first).
    """
    from ..io.files import Batch, expand_inputs, output_paths

    inputs = list(inputs)
    files = expand_inputs(inputs)
    targets = output_paths(files, output, suffix=".png", sources=[*inputs, checkpoint])
    gen = load_generator(checkpoint, direction, device)
    batch = Batch(fail_fast=fail_fast or len(files) == 1)  # one file: its own error, at once
    for i, (src, dst) in enumerate(zip(files, targets), start=1):
        result = batch.attempt(src, lambda src=src: translate(gen, src, image_size=image_size))
        if result is not None:
            batch.write(src, dst, result.save)
            log.debug("translated %s -> %s (%.2f s)", src, dst, result.seconds)
        if callback is not None:
            callback(Progress("translate", i, len(files), {"seconds": result.seconds} if result else {}, item=str(src)))
    return batch.finish()
