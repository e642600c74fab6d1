"""The single image-optimisation loop, shared by L-BFGS and Adam.

The image is optimised directly in [0, 1] RGB space. Under Adam it is clamped to
[0, 1] after every step; under L-BFGS it is not (clamping would break the
curvature pairs), and the result is clamped at the end.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..errors import ImpastoError
from ..losses.perceptual import LossTerms
from ..progress import Callback, Progress
from .optimizers import make_optimizer, make_schedule


def optimize_image(
    image: Tensor,
    objective: Callable[[Tensor], LossTerms],
    *,
    optimizer: str = "lbfgs",
    lr: float = 1.0,
    steps: int = 500,
    lr_schedule: str = "constant",
    lbfgs_history: int = 100,
    callback: Callback | None = None,
    stage: str = "optimize",
) -> tuple[Tensor, list[dict[str, float]]]:
    """Minimise ``objective(image).total`` from ``image``; return (result, per-step losses).

    ``KeyboardInterrupt`` propagates; the caller decides what to keep.
    """
    x = image.detach().clone().requires_grad_(True)
    opt = make_optimizer(optimizer, [x], lr=lr, history=lbfgs_history)
    schedule = make_schedule(lr_schedule, opt, steps) if optimizer != "lbfgs" else None
    history: list[dict[str, float]] = []
    terms: LossTerms | None = None

    def closure() -> Tensor:
        nonlocal terms
        opt.zero_grad(set_to_none=True)
        terms = objective(x)
        total = terms.total
        total.backward()
        return total

    for step in range(1, steps + 1):
        opt.step(closure)
        if schedule is not None:
            schedule.step()
            with torch.no_grad():
                x.clamp_(0, 1)
        assert terms is not None
        losses = terms.as_floats()
        if not all(map(_finite, losses.values())):
            raise ImpastoError(f"loss became {losses['total']} at step {step}; lower the learning rate")
        history.append(losses)
        if callback is not None:
            callback(Progress(stage, step, steps, losses, x.detach()))
    return x.detach().clamp(0, 1), history


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")
