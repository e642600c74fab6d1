"""Coarse-to-fine (multi-scale) optimisation.

Gatys et al. (2017, "Controlling Perceptual Factors in Neural Style
Transfer") synthesise large images by optimising at a low resolution first and
upsampling the result as the start of the next, finer level. The coarse
levels fix the large-scale arrangement of the strokes cheaply; the fine ones
only add detail, so they need fewer steps. Each level rebuilds its targets at
its own size (the style image is resized with the output) and restarts the
optimiser, since the image has a new shape.
"""

from __future__ import annotations

import math
from typing import Callable

from torch import Tensor

from ..losses.perceptual import LossTerms
from ..progress import Callback, Progress
from ..runtime import release_freed_memory
from ..transforms import resize
from .loop import optimize_image


def pyramid_sizes(image_size: int, *, min_size: int, factor: float) -> list[int]:
    """Long sides from coarse to fine, each ``factor`` times the previous, ending at ``image_size``.

    >>> pyramid_sizes(512, min_size=256, factor=2.0)
    [256, 512]
    >>> pyramid_sizes(1000, min_size=256, factor=2.0)
    [500, 1000]
    >>> pyramid_sizes(2048, min_size=256, factor=2.0)
    [256, 512, 1024, 2048]
    >>> pyramid_sizes(400, min_size=256, factor=2.0)
    [400]
    """
    if image_size < 2 * min_size or factor <= 1:
        return [image_size]
    levels = int(math.floor(math.log(image_size / min_size, factor) + 1e-9)) + 1
    return [round(image_size / factor ** (levels - 1 - i)) for i in range(levels)]


def steps_per_level(total: int, levels: int, ratio: float) -> list[int]:
    """Split ``total`` steps: each finer level gets ``ratio`` times the coarsest level's steps.

    The finer levels get equal shares: each adds one octave of detail on top of a
    converged coarser result, which takes about the same number of steps at any size.

    >>> steps_per_level(300, 2, 1 / 3)
    [225, 75]
    >>> steps_per_level(300, 4, 1 / 3)
    [150, 50, 50, 50]
    """
    weights = [1.0] + [ratio] * (levels - 1)
    steps = [max(1, round(total * w / sum(weights))) for w in weights]
    steps[0] = max(1, steps[0] + total - sum(steps))
    return steps


def optimize_pyramid(
    start: Tensor,
    make_objective: Callable[[int], tuple[Callable[[Tensor], LossTerms], tuple[int, int]]],
    sizes: list[int],
    steps: list[int],
    *,
    callback: Callback | None = None,
    **optim_kwargs,
) -> tuple[Tensor, list[dict[str, float]]]:
    """Optimise level by level; ``make_objective(long_side)`` returns (objective, (h, w)) for a level.

    Progress events carry the step and total over all levels, with ``stage`` naming the level.
    """
    image = start
    history: list[dict[str, float]] = []
    total = sum(steps)
    for level, (size, n_steps) in enumerate(zip(sizes, steps), start=1):
        objective, hw = make_objective(size)
        image = resize(image, hw)
        offset = len(history)
        stage = f"scale {level}/{len(sizes)} ({hw[1]}x{hw[0]})"

        def relay(event: Progress, offset: int = offset, stage: str = stage) -> None:
            if callback is not None:
                callback(Progress(stage, offset + event.step, total, event.losses, event.image))

        image, level_history = optimize_image(image, objective, steps=n_steps, callback=relay, stage=stage,
                                              **optim_kwargs)
        history += level_history
        del objective
        if image.device.type == "cpu":
            release_freed_memory()  # the next, larger level cannot reuse this level's holes
    return image, history
