"""CycleGAN training (Zhu et al. 2017) as a step function for :func:`impasto.train.loop.fit`.

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

import dataclasses
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..config import _finite, _opt, _positive_int
from ..errors import InputError

if TYPE_CHECKING:  # torch is imported by the functions below, so the CLI can build its flags without it
    import numpy as np
    import torch
    from torch import Tensor, nn

    from ..train.data import ImageFolder
    from ..train.loop import TrainState

KIND = "cyclegan"
NET_NAMES = ("G", "F", "D_A", "D_B")


@dataclass(frozen=True)
class CycleGANConfig:
    """Everything that defines one CycleGAN training run (defaults: the paper's)."""

    steps: int = _opt(100_000, "training steps (one step = one image from each domain per batch element)")
    decay_steps: int | None = _opt(None, "last steps over which the learning rate falls linearly to 0 "
                                   "(default: half of --steps, as the paper's 100+100 epochs)")
    crop: int = _opt(256, "side of the random training crops, in pixels")
    load_size: int = _opt(286, "training images are shrunk so their short side is at most this before cropping")
    batch_size: int = _opt(1, "images per domain per step")
    ngf: int = _opt(64, "generator width (channels of its first layer)")
    n_blocks: int = _opt(9, "residual blocks of the generator: 9 (paper, 256 px) or 6 (128 px)", choices=(6, 9))
    ndf: int = _opt(64, "discriminator width")
    lr: float = _opt(2e-4, "Adam learning rate")
    beta1: float = _opt(0.5, "Adam beta1")
    lambda_cycle: float = _opt(10.0, "weight of each cycle-consistency term")
    lambda_identity: float = _opt(0.5, "identity-loss weight relative to lambda_cycle (0 switches it off)")
    pool_size: int = _opt(50, "history pool of generated images for the discriminators (0: off)")
    checkpoint_every: int = _opt(1000, "write the checkpoint every N steps (and at the end)")
    sample_every: int = _opt(1000, "save a sample grid A, G(A), F(G(A)), B, F(B), G(F(B)) every N steps (0: off)")
    seed: int = _opt(0, "random seed for initialisation, crops, flips and the pool")
    device: str = _opt("auto", "compute device: auto, cpu, cuda, cuda:N or mps")

    def replace(self, **changes: Any) -> "CycleGANConfig":
        """A copy with ``changes`` applied; ``None`` values are ignored (unset CLI flags)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InputError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CycleGANConfig":
        return cls().replace(**dict(data))

    @property
    def constant_steps(self) -> int:
        decay = self.steps // 2 if self.decay_steps is None else self.decay_steps
        return self.steps - decay

    def validate(self) -> "CycleGANConfig":
        """Raise InputError on the first nonsense value; return self."""
        _positive_int("steps", self.steps, minimum=1)
        if self.decay_steps is not None:
            _positive_int("decay_steps", self.decay_steps, minimum=0)
            if self.decay_steps > self.steps:
                raise InputError(f"decay_steps ({self.decay_steps}) must be <= steps ({self.steps})")
        _positive_int("crop", self.crop, minimum=32)  # the PatchGAN's last instance norm needs 3x3 at 32 px
        _positive_int("load_size", self.load_size, minimum=32)
        if self.load_size < self.crop:
            raise InputError(f"load_size ({self.load_size}) must be >= crop ({self.crop})")
        _positive_int("batch_size", self.batch_size, minimum=1)
        _positive_int("ngf", self.ngf, minimum=1)
        _positive_int("ndf", self.ndf, minimum=1)
        if self.n_blocks not in (6, 9):
            raise InputError(f"n_blocks must be 6 or 9; got {self.n_blocks!r}")
        _finite("lr", self.lr, positive=True)
        _finite("beta1", self.beta1, positive=False)
        if self.beta1 >= 1:
            raise InputError(f"beta1 must be < 1; got {self.beta1!r}")
        _finite("lambda_cycle", self.lambda_cycle, positive=False)
        _finite("lambda_identity", self.lambda_identity, positive=False)
        _positive_int("pool_size", self.pool_size, minimum=0)
        _positive_int("checkpoint_every", self.checkpoint_every, minimum=1)
        _positive_int("sample_every", self.sample_every, minimum=0)
        _positive_int("seed", self.seed, minimum=0)
        return self


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
        "D": torch.optim.Adam(itertools.chain(nets["D_A"].parameters(), nets["D_B"].parameters()), lr=cfg.lr,
                              betas=betas),
    }
    rule = linear_decay(cfg.constant_steps, cfg.steps - cfg.constant_steps)
    schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, rule) for name, opt in optimizers.items()}
    return TrainState(nets=nets, archs=archs, optimizers=optimizers, schedulers=schedulers,
                      extra={"pool_A": [], "pool_B": []})


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


def make_step(cfg: CycleGANConfig, data_a: ImageFolder, data_b: ImageFolder,
              device: torch.device) -> Callable[[TrainState, int], dict[str, float]]:
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
        terms = {"gan_G": _lsgan(D_B(fake_b), True), "gan_F": _lsgan(D_A(fake_a), True),
                 "cycle_A": lam * F.l1_loss(rec_a, real_a), "cycle_B": lam * F.l1_loss(rec_b, real_b)}
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
        out.update(G_total=loss_g.item(), D_A=loss_d_a.item(), D_B=loss_d_b.item(),  # type: ignore[union-attr]
                   lr=state.optimizers["G"].param_groups[0]["lr"])
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
