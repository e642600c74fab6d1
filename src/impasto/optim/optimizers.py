"""Optimiser and learning-rate schedule factories for image optimisation."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

LBFGS_IMPL = "compact"  # "compact": optim.lbfgs.CompactLBFGS; "torch": torch.optim.LBFGS (same maths)
# CompactLBFGS's own vector work runs on one thread: memory-bound, and with other jobs on the cores a
# second thread mostly waits (benchmarks/gatys_minute.py, runs "optthreads=1"; docs/benchmarks.md)
LBFGS_THREADS: int | None = 1


def make_optimizer(
    name: str,
    params: Sequence[Tensor],
    *,
    lr: float,
    history: int = 100,
    max_iter: int = 1,
    line_search: bool = False,
    lbfgs_impl: str | None = None,
) -> torch.optim.Optimizer:
    """``lbfgs``: up to ``max_iter`` iterations per ``step()`` call, no early stopping,
    optionally with a strong-Wolfe line search; ``lbfgs_impl`` (default :data:`LBFGS_IMPL`) picks
    :class:`~impasto.optim.lbfgs.CompactLBFGS` or torch's own. ``adam``: standard Adam."""
    if name == "lbfgs":
        impl = lbfgs_impl or LBFGS_IMPL
        if impl not in ("compact", "torch"):
            raise ValueError(f"unknown L-BFGS implementation {impl!r}; use compact or torch")
        from .lbfgs import CompactLBFGS

        extra = {"threads": LBFGS_THREADS} if impl == "compact" else {}
        lbfgs_class = CompactLBFGS if impl == "compact" else torch.optim.LBFGS
        return lbfgs_class(
            params,
            lr=lr,
            max_iter=max_iter,
            max_eval=max_iter * 2,
            history_size=history,
            tolerance_grad=0.0,
            tolerance_change=0.0,
            line_search_fn="strong_wolfe" if line_search else None,
            **extra,
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; use lbfgs or adam")


def make_schedule(name: str, optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """``constant``; ``cosine`` decay to 1% of the start; ``step``: x0.3 at 50% and 80% of the run."""
    if name == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 1.0)
    if name == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda i: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps))
        )
    if name == "step":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, [int(steps * 0.5), int(steps * 0.8)], gamma=0.3)
    raise ValueError(f"unknown lr schedule {name!r}; use constant, cosine or step")
