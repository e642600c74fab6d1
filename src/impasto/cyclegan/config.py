"""The configuration of a CycleGAN training run, :class:`CycleGANConfig` (defaults: Zhu et al. 2017).

Free of torch, so the command line can build its flags without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.base import ConfigBase, device_opt, opt
from ..errors import InputError


@dataclass(frozen=True)
class CycleGANConfig(ConfigBase):
    """Everything that defines one CycleGAN training run (defaults: the paper's)."""

    ALIASES = {"learning_rate": "lr"}

    steps: int = opt(100_000, "training steps (one step = one image from each domain per batch element)", minimum=1)
    decay_steps: int | None = opt(
        None,
        "last steps over which the learning rate falls linearly to 0 "
        "(default: half of --steps, as the paper's 100+100 epochs)",
        minimum=0,
    )
    crop: int = opt(256, "side of the random training crops, in pixels", minimum=32)
    load_size: int = opt(
        286, "training images are shrunk so their short side is at most this before cropping", minimum=32
    )
    batch_size: int = opt(1, "images per domain per step", minimum=1)
    ngf: int = opt(64, "generator width (channels of its first layer)", minimum=1)
    n_blocks: int = opt(9, "residual blocks of the generator: 9 (paper, 256 px) or 6 (128 px)", choices=(6, 9))
    ndf: int = opt(64, "discriminator width", minimum=1)
    lr: float = opt(2e-4, "Adam learning rate", number="positive")
    beta1: float = opt(0.5, "Adam beta1", number="nonnegative")
    lambda_cycle: float = opt(10.0, "weight of each cycle-consistency term", number="nonnegative")
    lambda_identity: float = opt(
        0.5, "identity-loss weight relative to lambda_cycle (0 switches it off)", number="nonnegative"
    )
    pool_size: int = opt(50, "history pool of generated images for the discriminators (0: off)", minimum=0)
    checkpoint_every: int = opt(1000, "write the checkpoint every N steps (and at the end)", minimum=1)
    sample_every: int = opt(
        1000, "save a sample grid A, G(A), F(G(A)), B, F(B), G(F(B)) every N steps (0: off)", minimum=0
    )
    seed: int = opt(0, "random seed for initialisation, crops, flips and the pool", minimum=0)
    device: str = device_opt()

    @property
    def constant_steps(self) -> int:
        decay = self.steps // 2 if self.decay_steps is None else self.decay_steps
        return self.steps - decay

    def _check(self) -> None:
        if self.decay_steps is not None and self.decay_steps > self.steps:
            raise InputError(f"decay_steps ({self.decay_steps}) must be <= steps ({self.steps})")
        if self.load_size < self.crop:
            raise InputError(f"load_size ({self.load_size}) must be >= crop ({self.crop})")
        if self.beta1 >= 1:
            raise InputError(f"beta1 must be < 1; got {self.beta1!r}")
