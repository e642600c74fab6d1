"""The one training loop of impasto: :func:`fit`.

Every trainable network (feed-forward stylisation, CycleGAN) is trained by the
same loop. What differs between them is the *step function*, which does one
update and returns its loss terms as floats::

    def step_fn(state: TrainState, step: int) -> dict[str, float]: ...

:func:`fit` owns everything around it: stepping the learning-rate schedulers,
progress events, the loss history, periodic samples, atomic checkpoints every
``checkpoint_every`` steps and at the end, resume (:func:`resume`), and
interruption. Ctrl-C or SIGTERM during a step is deferred to the end of that
step, then a checkpoint of the last complete step is written and
``KeyboardInterrupt`` is raised, so an interrupted run loses nothing.

The step function draws its own batch for ``step`` (see
:mod:`impasto.train.data`), seeded by the step number, so a resumed run sees the
same data it would have seen without the interruption.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import InputError, ResumeError
from ..progress import Callback, Progress
from .checkpoint import check_resumable, load_checkpoint, net_entry, save_checkpoint

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    """Everything a training run needs to continue: networks, optimisers, schedulers, step, history.

    Attributes:
        nets: networks being trained, by name (may be DDP-wrapped; checkpoints store the inner module).
        archs: for each net, its registry name and constructor kwargs (stored in checkpoints).
        optimizers / schedulers: by name; schedulers are stepped once per step by :func:`fit`.
        step: number of completed steps.
        history: one dict per completed step: ``{"step": n, "<term>": value, ...}``.
        extra: other state to checkpoint (tensors and plain Python values only), e.g. image pools.
    """

    nets: dict[str, nn.Module]
    archs: dict[str, tuple[str, dict[str, Any]]]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def payload(self, kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "kind": kind,
            "nets": {name: net_entry(*self.archs[name], net) for name, net in self.nets.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "schedulers": {name: s.state_dict() for name, s in self.schedulers.items()},
            "step": self.step,
            "config": dict(config),
            "history": list(self.history),
            "rng": {"torch": torch.get_rng_state()},
            "extra": dict(self.extra),
        }

    def load(self, data: Mapping[str, Any]) -> None:
        """Restore weights, optimiser and scheduler states, step, history and extra state."""
        check_resumable(dict(data), set(self.nets))
        for name, net in self.nets.items():
            inner = getattr(net, "module", net)
            try:
                inner.load_state_dict(data["nets"][name]["state"])
            except RuntimeError as err:
                raise ResumeError(
                    f"checkpoint network {name!r} does not match this run's architecture: {str(err).splitlines()[0]}"
                ) from None
        for name, opt in self.optimizers.items():
            if name in data.get("optimizers", {}):
                opt.load_state_dict(data["optimizers"][name])
        for name, sched in self.schedulers.items():
            if name in data.get("schedulers", {}):
                sched.load_state_dict(data["schedulers"][name])
                if not isinstance(sched, torch.optim.lr_scheduler.LambdaLR):
                    continue
                # the saved optimiser holds the rate of the old schedule; a run extended with more
                # steps follows the new one from here (LambdaLR's rate is a closed form of the step)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rates = sched.get_lr()
                for group, rate in zip(sched.optimizer.param_groups, rates):
                    group["lr"] = rate
        self.step = int(data["step"])
        self.history = list(data.get("history", []))
        self.extra.update(data.get("extra", {}))
        rng = data.get("rng", {}).get("torch")
        if rng is not None:
            torch.set_rng_state(rng)


StepFn = Callable[[TrainState, int], Mapping[str, float]]


def resume(state: TrainState, path: str | Path, kind: str) -> TrainState:
    """Load a checkpoint written by :func:`fit` into ``state`` (same architecture), in place."""
    state.load(load_checkpoint(path, kind=kind))
    log.info("resumed from %s at step %d", path, state.step)
    return state


def fit_options(cfg: Any, steps: int | None = None) -> dict[str, Any]:
    """What :func:`fit` takes from a training config (one with ``steps``, ``checkpoint_every`` and
    ``sample_every``): the steps (``steps`` if given), the config stored in every checkpoint, and how
    often to checkpoint and to sample. ``fit(state, step_fn, kind=..., **fit_options(cfg))``."""
    return {
        "steps": cfg.steps if steps is None else steps,
        "config": cfg.to_dict(),
        "checkpoint_every": cfg.checkpoint_every,
        "sample_every": cfg.sample_every,
    }


def fit(
    state: TrainState,
    step_fn: StepFn,
    *,
    steps: int,
    kind: str,
    config: Mapping[str, Any],
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 500,
    sample_fn: Callable[[TrainState, int], None] | None = None,
    sample_every: int = 0,
    callback: Callback | None = None,
    is_main: bool = True,
) -> TrainState:
    """Run ``step_fn`` from ``state.step + 1`` to ``steps``; see the module docstring.

    Only the main process (``is_main``) writes checkpoints and samples and emits progress.
    """
    if steps < 1 or checkpoint_every < 1 or sample_every < 0:
        raise InputError("steps and checkpoint_every must be >= 1, sample_every >= 0")
    if state.step >= steps:
        log.info("already at step %d of %d; nothing to do", state.step, steps)
        return state

    def save() -> None:
        if checkpoint is not None and is_main:
            save_checkpoint(checkpoint, state.payload(kind, config))

    with _deferred_interrupts() as interrupted:
        for step in range(state.step + 1, steps + 1):
            for net in state.nets.values():
                net.train()
            losses = {k: float(v) for k, v in step_fn(state, step).items()}
            for sched in state.schedulers.values():
                sched.step()
            state.step = step
            state.history.append({"step": step, **losses})
            if callback is not None and is_main:
                callback(Progress("train", step, steps, losses))
            if step % checkpoint_every == 0 and step < steps:
                save()
            if sample_fn is not None and sample_every and step % sample_every == 0 and is_main:
                with _eval_mode(state.nets.values()), torch.no_grad():
                    sample_fn(state, step)
            if interrupted():
                save()
                raise KeyboardInterrupt
    save()
    return state


@contextlib.contextmanager
def _eval_mode(nets: Any) -> Iterator[None]:
    nets = list(nets)
    for net in nets:
        net.eval()
    try:
        yield
    finally:
        for net in nets:
            net.train()


@contextlib.contextmanager
def _deferred_interrupts() -> Iterator[Callable[[], bool]]:
    """Catch SIGINT/SIGTERM into a flag while a step runs (main thread only); a second Ctrl-C is immediate."""
    flag = {"hit": False}
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def handler(signum: int, frame: Any) -> None:
        if flag["hit"]:
            raise KeyboardInterrupt
        flag["hit"] = True
        log.warning("interrupted: finishing this step, then saving a checkpoint (Ctrl-C again to stop now)")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: flag["hit"]
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def linear_decay(constant_steps: int, decay_steps: int) -> Callable[[int], float]:
    """LambdaLR factor after ``n`` completed steps: 1 for ``constant_steps``, then linearly to 0."""

    def factor(n: int) -> float:
        if decay_steps <= 0:
            return 1.0
        return max(0.0, 1.0 - max(0, n - constant_steps) / decay_steps)

    return factor
