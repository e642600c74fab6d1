"""Progress events: the one contract of every long operation. The engine emits them; the CLI,
web page and tests render them.

The library never prints: a run reports through ``callback(Progress)``, one event per unit of
work, with ``step`` counting the units done so far out of ``total``:

* Gatys stylisation (:func:`impasto.stylize`): one event per objective evaluation, ``stage``
  ``"optimize"`` or ``"scale 2/3 (...)"``, with the losses and the current image.
* feed-forward application over files (:func:`impasto.feedforward.apply.stylize_files`): one event
  per input file, stage ``"stylize"``, ``item`` the file.
* CycleGAN translation over files (:func:`impasto.cyclegan.apply.translate_files`): one event per
  input file, stage ``"translate"``, ``item`` the file.
* training (:func:`impasto.train.loop.fit`, feed-forward and CycleGAN): one event per step, stage
  ``"train"``, with the step's losses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Callback = Callable[["Progress"], None]


@dataclass(frozen=True)
class Progress:
    """One unit of a long operation done.

    Attributes:
        stage: what is running, e.g. ``"optimize"``, ``"scale 2/3"``, ``"train"``, ``"stylize"``.
        step: 1-based count of units done within the operation.
        total: number of units of the operation.
        losses: numbers of this unit, e.g. the weighted loss terms (``content``, ``style``, ``tv``,
            ``total``) or a file's ``seconds``; may be empty.
        image: the current iterate, float RGB [0, 1], shape (1, 3, H, W), detached (read-only use);
            None where there is none.
        item: the name of the unit in a batch over files (the input path), else None.
    """

    stage: str
    step: int
    total: int
    losses: Mapping[str, float] = field(default_factory=dict)
    image: Any = field(default=None, repr=False)
    item: str | None = None
