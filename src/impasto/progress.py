"""Progress events. The engine emits them; the CLI, web page and tests render them.

The library never prints: a run reports through ``callback(Progress)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

Callback = Callable[["Progress"], None]


@dataclass(frozen=True)
class Progress:
    """One optimisation step.

    Attributes:
        stage: what is running, e.g. ``"optimize"`` or ``"scale 2/3"``.
        step: 1-based step within the stage.
        total: number of steps of the stage.
        losses: the weighted loss terms of this step (``content``, ``style``, ``tv``, ``total``).
        image: the current iterate, float RGB [0, 1], shape (1, 3, H, W), detached (read-only use).
    """

    stage: str
    step: int
    total: int
    losses: Mapping[str, float]
    image: Any = field(default=None, repr=False)
