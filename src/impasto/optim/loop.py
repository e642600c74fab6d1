"""The single image-optimisation loop, shared by L-BFGS and Adam.

The optimiser sees the image on the 0-255 scale (``x * PIXEL_SCALE``), as in
neural-style: torch's L-BFGS takes an unscaled gradient step whenever its
curvature history is empty or a pair is rejected, and on the 0-1 scale such a
step can throw pixels to 1e4 and beyond; on the 0-255 scale it is 255^2 times
shorter. Under Adam the image is clamped to [0, 1] after every step; under
L-BFGS it is not (clamping would break the curvature pairs); L-BFGS returns the
best iterate it evaluated, clamped. One step is one evaluation of the objective (forward and
backward), for both optimisers, so budgets compare.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..errors import ImpastoError
from ..losses.perceptual import LossTerms
from ..progress import Callback, Progress
from .optimizers import make_optimizer, make_schedule

PIXEL_SCALE = 255.0


WARMUP_ITERATIONS = 8  # strong-Wolfe iterations that set L-BFGS's curvature scale before plain steps
BLOWUP = 10.0  # a loss this many times the best so far means the plain step overshot


class _Stop(Exception):
    """Raised inside the closure once the evaluation budget is spent."""


class _Overshoot(Exception):
    """Raised inside the closure when a plain L-BFGS step blew the loss up."""


def optimize_image(
    image: Tensor,
    objective: Callable[[Tensor], LossTerms],
    *,
    optimizer: str = "lbfgs",
    lr: float = 1.0,
    steps: int = 500,
    lr_schedule: str = "constant",
    lbfgs_history: int = 100,
    line_search: bool = False,
    callback: Callback | None = None,
    stage: str = "optimize",
) -> tuple[Tensor, list[dict[str, float]]]:
    """Minimise ``objective(image).total`` from ``image``; return (result, per-step losses).

    ``lr`` is in units of the 0-1 image for Adam and a step multiplier for L-BFGS.
    ``KeyboardInterrupt`` propagates; the caller decides what to keep.
    """
    y = (image.detach() * PIXEL_SCALE).requires_grad_(True)
    opt_lr = lr * PIXEL_SCALE if optimizer == "adam" else lr
    opt = make_optimizer(optimizer, [y], lr=opt_lr, history=lbfgs_history, max_iter=steps, line_search=line_search)
    history: list[dict[str, float]] = []
    best = {"loss": float("inf"), "y": y.detach().clone()}

    def closure() -> Tensor:
        if len(history) >= steps:  # a line search may ask for more evaluations than the budget
            raise _Stop
        opt.zero_grad(set_to_none=True)
        terms = objective(y / PIXEL_SCALE)
        total = terms.total
        total.backward()
        losses = terms.as_floats()
        if not all(map(_finite, losses.values())):
            raise ImpastoError(f"loss became {losses['total']} at step {len(history) + 1}; lower the learning rate")
        history.append(losses)
        if optimizer == "lbfgs":
            if losses["total"] < best["loss"]:
                best["loss"], best["y"] = losses["total"], y.detach().clone()
            elif losses["total"] > BLOWUP * best["loss"] and opt.param_groups[0]["line_search_fn"] is None:
                raise _Overshoot
        if callback is not None:
            callback(Progress(stage, len(history), steps, losses, y.detach() / PIXEL_SCALE))
        return total

    if optimizer == "lbfgs":
        _run_lbfgs(opt, closure, history, best, steps, line_search)
        y = best["y"]  # the best evaluated iterate (L-BFGS without line search is not monotone)
    else:
        schedule = make_schedule(lr_schedule, opt, steps)
        for _ in range(steps):
            opt.step(closure)
            schedule.step()
            with torch.no_grad():
                y.clamp_(0, PIXEL_SCALE)
    return (y.detach() / PIXEL_SCALE).clamp(0, 1), history


def _run_lbfgs(opt: torch.optim.Optimizer, closure: Callable[[], Tensor], history: list, best: dict,
               steps: int, line_search: bool) -> None:
    """Run L-BFGS for ``steps`` evaluations.

    torch's L-BFGS starts with a step of 1/|g|_1 and then trusts its curvature
    estimate; on the quartic Gram objective that estimate, taken from one tiny
    step, can overshoot by orders of magnitude and then stall. So the first
    iterations use a strong-Wolfe line search, which sets the scale; the rest
    take plain steps (one evaluation each, as neural-style). If a plain step
    still blows the loss up, the run goes back to the best iterate, drops the
    curvature history and warms up again.
    """
    group = opt.param_groups[0]
    (param,) = group["params"]
    while len(history) < steps:
        warm = line_search or not opt.state[param]
        group["line_search_fn"] = "strong_wolfe" if warm else None
        group["max_iter"] = steps if line_search or not warm else WARMUP_ITERATIONS
        group["max_eval"] = steps * 2
        try:
            opt.step(closure)
        except _Stop:
            return
        except _Overshoot:
            with torch.no_grad():
                param.copy_(best["y"])
            opt.state.clear()


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")
