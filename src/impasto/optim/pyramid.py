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

from collections.abc import Callable

from torch import Tensor

from ..losses.terms import LossTerms
from ..progress import Callback, Progress
from ..runtime import release_freed_memory
from ..transforms import resize
from .levels import pyramid_sizes, steps_per_level
from .loop import optimize_image

__all__ = ["optimize_pyramid", "pyramid_sizes", "steps_per_level"]


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

        image, level_history = optimize_image(
            image, objective, steps=n_steps, callback=relay, stage=stage, **optim_kwargs
        )
        history += level_history
        del objective
        if image.device.type == "cpu":
            release_freed_memory()  # the next, larger level cannot reuse this level's holes
    return image, history
