"""CycleGAN training (Zhu et al. 2017): :func:`train_cyclegan` on two unpaired folders, built on a step
function for :func:`impasto.train.loop.fit`.

Naming follows the paper: G maps domain A to B, F maps B to A; D_B tells real B
from G(A), D_A tells real A from F(B). One step, as the reference implementation:

1. generators (D frozen): least-squares GAN terms ``(D_B(G(a)) - 1)^2`` and
   ``(D_A(F(b)) - 1)^2``, cycle terms ``lambda * |F(G(a)) - a|_1`` and
   ``lambda * |G(F(b)) - b|_1`` (lambda = 10 each way), identity terms
   ``0.5 * lambda * |G(b) - b|_1`` and ``0.5 * lambda * |F(a) - a|_1``; one Adam step on G and F.
2. discriminators: ``0.5 * [(D(real) - 1)^2 + D(fake)^2]`` where the fakes come
   through a history pool of 50 images; one Adam step on D_A and D_B.

Adam lr 2e-4, beta1 0.5; the learning rate is constant for the first
``steps - decay_steps`` steps, then falls linearly towards 0 (a ``LambdaLR`` in
``state.schedulers``, stepped by ``fit``). Batches are unpaired random crops with
random flips from two :class:`~impasto.train.data.ImageFolder` s, seeded by the
step, so a resumed run sees the same data. Images are in [-1, 1] inside the
networks. Departure from the reference: it counts in steps (images), not
epochs, and decays over steps.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .config import CycleGANConfig

if TYPE_CHECKING:  # torch is imported by the functions below, so the CLI can build its flags without it
    import numpy as np
    import torch
    from torch import Tensor, nn

    from ..progress import Callback
    from ..train.data import ImageFolder
    from ..train.loop import TrainState

KIND = "cyclegan"
NET_NAMES = ("G", "F", "D_A", "D_B")


def build_state(cfg: CycleGANConfig, device: torch.device) -> TrainState:
    """Fresh networks (reference initialisation, seeded), optimisers and schedulers for a run."""
    import torch

    from ..nets import create_net
    from ..train.loop import TrainState, linear_decay

    torch.manual_seed(cfg.seed)
    archs: dict[str, tuple[str, dict[str, Any]]] = {
        "G": ("cyclegan-resnet", {"ngf": cfg.ngf, "n_blocks": cfg.n_blocks}),
        "F": ("cyclegan-resnet", {"ngf": cfg.ngf, "n_blocks": cfg.n_blocks}),
        "D_A": ("patchgan", {"ndf": cfg.ndf}),
        "D_B": ("patchgan", {"ndf": cfg.ndf}),
    }
    nets = {name: create_net(arch, **kw).to(device) for name, (arch, kw) in archs.items()}
    betas = (cfg.beta1, 0.999)
    optimizers = {
        "G": torch.optim.Adam(itertools.chain(nets["G"].parameters(), nets["F"].parameters()), lr=cfg.lr, betas=betas),
        "D": torch.optim.Adam(
            itertools.chain(nets["D_A"].parameters(), nets["D_B"].parameters()), lr=cfg.lr, betas=betas
        ),
    }
    rule = linear_decay(cfg.constant_steps, cfg.steps - cfg.constant_steps)
    schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, rule) for name, opt in optimizers.items()}
    return TrainState(
        nets=nets, archs=archs, optimizers=optimizers, schedulers=schedulers, extra={"pool_A": [], "pool_B": []}
    )


def _lsgan(pred: Tensor, real: bool) -> Tensor:
    import torch
    import torch.nn.functional as F

    return F.mse_loss(pred, torch.ones_like(pred) if real else torch.zeros_like(pred))


def _requires_grad(nets: list[nn.Module], flag: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(flag)


def _pool_generator(seed: int, step: int) -> torch.Generator:
    import torch

    # a tuple of ints only: the hash of a str changes from one process to the next
    return torch.Generator().manual_seed(hash((seed, step, 7919)) & 0x7FFF_FFFF_FFFF)


def make_step(
    cfg: CycleGANConfig, data_a: ImageFolder, data_b: ImageFolder, device: torch.device
) -> Callable[[TrainState, int], dict[str, float]]:
    """The step function for :func:`~impasto.train.loop.fit`: one generator and one discriminator update."""
    import torch.nn.functional as F

    from .pool import ImagePool

    lam, lam_idt = cfg.lambda_cycle, cfg.lambda_cycle * cfg.lambda_identity

    def step_fn(state: TrainState, step: int) -> dict[str, float]:
        G, Fn, D_A, D_B = (state.nets[n] for n in NET_NAMES)
        real_a = data_a.batch(cfg.batch_size, step, seed=cfg.seed).to(device) * 2 - 1
        real_b = data_b.batch(cfg.batch_size, step, seed=cfg.seed + 1).to(device) * 2 - 1

        _requires_grad([D_A, D_B], False)
        fake_b, fake_a = G(real_a), Fn(real_b)
        rec_a, rec_b = Fn(fake_b), G(fake_a)
        terms = {
            "gan_G": _lsgan(D_B(fake_b), True),
            "gan_F": _lsgan(D_A(fake_a), True),
            "cycle_A": lam * F.l1_loss(rec_a, real_a),
            "cycle_B": lam * F.l1_loss(rec_b, real_b),
        }
        if lam_idt > 0:
            terms["idt_A"] = lam_idt * F.l1_loss(Fn(real_a), real_a)
            terms["idt_B"] = lam_idt * F.l1_loss(G(real_b), real_b)
        loss_g = sum(terms.values())
        state.optimizers["G"].zero_grad(set_to_none=True)
        loss_g.backward()  # type: ignore[union-attr]
        state.optimizers["G"].step()
        _requires_grad([D_A, D_B], True)

        gen = _pool_generator(cfg.seed, step)
        pooled_b = ImagePool(cfg.pool_size, state.extra.setdefault("pool_B", [])).query(fake_b.detach(), gen)
        pooled_a = ImagePool(cfg.pool_size, state.extra.setdefault("pool_A", [])).query(fake_a.detach(), gen)
        loss_d_b = 0.5 * (_lsgan(D_B(real_b), True) + _lsgan(D_B(pooled_b), False))
        loss_d_a = 0.5 * (_lsgan(D_A(real_a), True) + _lsgan(D_A(pooled_a), False))
        state.optimizers["D"].zero_grad(set_to_none=True)
        (loss_d_a + loss_d_b).backward()
        state.optimizers["D"].step()

        out = {k: v.item() for k, v in terms.items()}
        out.update(
            G_total=loss_g.item(),
            D_A=loss_d_a.item(),
            D_B=loss_d_b.item(),  # type: ignore[union-attr]
            lr=state.optimizers["G"].param_groups[0]["lr"],
        )
        return out

    return step_fn


def sample_grid(G: nn.Module, Fn: nn.Module, images_a: Tensor, images_b: Tensor) -> np.ndarray:
    """Rows of A, G(A), F(G(A)), B, F(B), G(F(B)) for each sample pair, as one float (H, W, 3) array in [0, 1].

    ``images_a``/``images_b``: (N, 3, S, S) in [0, 1] on the networks' device; call under ``no_grad``.
    """
    import torch

    a, b = images_a * 2 - 1, images_b * 2 - 1
    fake_b = G(a)
    fake_a = Fn(b)
    columns = [a, fake_b, Fn(fake_b), b, fake_a, G(fake_a)]
    rows = torch.cat([torch.cat(list(col_set), dim=-1) for col_set in zip(*columns)], dim=-2)
    return ((rows.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).float().cpu().numpy()


@dataclass
class CycleGANRun:
    """The outcome of :func:`train_cyclegan`."""

    steps: int
    history: list[dict[str, float]]
    config: CycleGANConfig
    checkpoint: Path | None
    seconds: float
    samples: list[Path] = field(default_factory=list)


def train_cyclegan(
    folder_a: str | os.PathLike[str],
    folder_b: str | os.PathLike[str],
    *,
    config: CycleGANConfig | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    samples: str | os.PathLike[str] | None = None,
    n_samples: int = 3,
    callback: Callback | None = None,
    **overrides: Any,
) -> CycleGANRun:
    """Train a CycleGAN between two unpaired image folders with :func:`impasto.train.loop.fit`
    (``impasto.train_cyclegan``).

    Args:
        folder_a, folder_b: the two domains (every image of each folder, not recursive).
        config: a :class:`CycleGANConfig`; ``overrides`` replace single fields. With ``resume``
            and no config, the checkpoint's stored configuration is used.
        checkpoint: file written every ``checkpoint_every`` steps and at the end.
        resume: continue from ``checkpoint`` (which must exist) at its saved step.
        samples: folder for sample grids ``step_NNNNNN.png`` every ``sample_every`` steps.
        n_samples: sample pairs in each grid.
        callback: receives a :class:`~impasto.progress.Progress` after every step.

    Returns:
        a :class:`CycleGANRun` (steps, loss history, config, checkpoint path, seconds, sample files).
    """
    from ..device import resolve_device
    from ..io import write_image
    from ..train.checkpoint import load_checkpoint
    from ..train.data import ImageFolder
    from ..train.loop import fit, fit_options
    from ..train.loop import resume as resume_state

    stored: dict[str, Any] | None = None
    if resume:
        if checkpoint is None:
            raise InputError("resume needs the checkpoint to continue from")
        stored = load_checkpoint(checkpoint, kind=KIND)
    if config is None:
        config = CycleGANConfig.from_dict(stored["config"]) if stored is not None else CycleGANConfig()
    cfg = config.replace(**overrides).validate()
    if checkpoint is not None and not Path(checkpoint).parent.is_dir():
        raise InputError(f"cannot write checkpoint {checkpoint}: folder {Path(checkpoint).parent} does not exist")
    if samples is not None:  # a folder, and not one of the photo folders
        from ..io.paths import check_folder_path, check_output_folder

        check_output_folder(check_folder_path(samples, "samples folder"), [folder_a, folder_b])
        Path(samples).mkdir(parents=True, exist_ok=True)
    device = resolve_device(cfg.device)
    data_a = ImageFolder.from_folder(folder_a, crop=cfg.crop, max_side=cfg.load_size)
    data_b = ImageFolder.from_folder(folder_b, crop=cfg.crop, max_side=cfg.load_size)
    state = build_state(cfg, device)
    if stored is not None:
        resume_state(state, checkpoint, KIND)  # type: ignore[arg-type]
        for pool in ("pool_A", "pool_B"):
            state.extra[pool] = list(state.extra.get(pool, []))
    sample_a = data_a.batch(n_samples, 0, seed=cfg.seed + 1000).to(device)
    sample_b = data_b.batch(n_samples, 0, seed=cfg.seed + 1001).to(device)
    written: list[Path] = []

    def sample_fn(st: Any, step: int) -> None:
        grid = sample_grid(st.nets["G"], st.nets["F"], sample_a, sample_b)
        written.append(write_image(Path(samples) / f"step_{step:06d}.png", grid))  # type: ignore[arg-type]

    t0 = time.perf_counter()
    fit(
        state,
        make_step(cfg, data_a, data_b, device),
        kind=KIND,
        checkpoint=checkpoint,
        sample_fn=sample_fn if samples is not None else None,
        callback=callback,
        **fit_options(cfg),
    )
    return CycleGANRun(
        state.step, state.history, cfg, Path(checkpoint) if checkpoint else None, time.perf_counter() - t0, written
    )
