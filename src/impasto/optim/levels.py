"""The levels of coarse-to-fine optimisation: their sizes and how the steps are shared among them.

Plain arithmetic without torch, so a configuration can list its levels
(:meth:`impasto.config.GatysConfig.scale_sizes`) without importing the optimiser.
"""

from __future__ import annotations

import math


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
