"""The configuration of a feed-forward training run, :class:`FeedForwardTrainConfig`.

Kept apart from :mod:`impasto.feedforward.train` and free of torch, so the
command line can build its flags (one per field) without importing torch.
``FastTrainConfig`` is its former name, kept as an alias.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.base import POOLINGS, PRECISIONS, ConfigBase, opt
from ..errors import InputError


@dataclass(frozen=True)
class FeedForwardTrainConfig(ConfigBase):
    """Everything that defines one feed-forward training run (the shipped model's own settings are in its card)."""

    ALIASES = {"learning_rate": "lr", "max_side": "load_size"}

    style: str | None = opt(None, "style image (the painting)")
    data: str | None = opt(None, "folder of training photographs")
    exclude: tuple[str, ...] = opt((), "file names in the data folder to leave out (held-out test images)", nargs="+")
    steps: int = opt(2000, "number of training steps (batches)", minimum=1)
    batch_size: int = opt(4, "photos per batch", minimum=1)
    crop: int = opt(256, "side of the square random crops, in pixels", minimum=32)
    crop_min: int | None = opt(
        None,
        "if set, each step draws its crop side between this and --crop (multiples "
        "of 4), so the network sees every size in that range",
    )
    load_size: int | None = opt(512, "shrink each photo so its short side is at most this before cropping")
    style_size: int = opt(512, "long side of the style image when its Gram matrices are computed", minimum=32)
    lr: float = opt(1e-3, "Adam step size", number="positive")
    lr_decay_steps: int = opt(0, "lower the learning rate linearly to 0 over the last N steps (0: constant)", minimum=0)
    width: int = opt(16, "channels of the network's first layer (Johnson et al.: 32)", minimum=1)
    blocks: int = opt(5, "residual blocks (Johnson et al.: 5)", minimum=0)
    kernel: int = opt(9, "kernel size of the first and last convolutions (Johnson et al.: 9)", minimum=1)
    content_layers: tuple[str, ...] = opt(("relu2_2",), "VGG layers for the content loss", nargs="+", layers=True)
    content_weight: float = opt(1.0, "weight of the content loss", number="nonnegative")
    style_layers: tuple[str, ...] = opt(
        ("relu1_2", "relu2_2", "relu3_3", "relu4_3"), "VGG layers for the style (Gram) loss", nargs="+", layers=True
    )
    style_layer_weights: tuple[float, ...] | None = opt(
        None, "per-layer style weights (default: 1 each)", nargs="+", number="nonnegative"
    )
    style_weight: float = opt(30.0, "weight of the style loss", number="nonnegative")
    tv_weight: float = opt(
        1e-5, "weight of the total variation (sum of squares on the 0-255 image, per photo)", number="nonnegative"
    )
    pooling: str = opt("max", "VGG pooling: max or avg", choices=POOLINGS)
    precision: str = opt("auto", "VGG loss precision: auto (bf16 where native), fp32 or bf16", choices=PRECISIONS)
    checkpoint_every: int = opt(50, "save a checkpoint every N steps (and at the end)", minimum=1)
    sample_every: int = opt(50, "stylise the sample photos every N steps (0: never)", minimum=0)
    seed: int = opt(0, "seed of the initial weights and of the crops")
    init_from: str | None = opt(None, "start from the network weights of this checkpoint or model (fine-tuning)")
    teacher: str | None = opt(
        None,
        "a trained model (checkpoint, model file or shipped name) whose output the "
        "network also learns to reproduce: distillation into a lighter width",
    )
    teacher_weight: float = opt(
        1.0,
        "weight of the mean squared difference to the teacher's output "
        "(0-255 units); with --content-weight 0 --style-weight 0 the VGG is "
        "skipped and a step is several times faster",
        number="nonnegative",
    )
    weights: str = opt("embedded", "VGG-19 weights: embedded, torchvision or a .pth path")
    device: str = opt("auto", "compute device: auto, cpu, cuda, cuda:N")

    def arch_kwargs(self) -> dict[str, int]:
        return {"width": self.width, "blocks": self.blocks, "kernel": self.kernel}

    def _check(self) -> None:
        if not self.style:
            raise InputError("a style image is needed: set style to the painting's file")
        if not self.data:
            raise InputError("a folder of training photos is needed: set data to that folder")
        if self.kernel % 2 == 0:
            raise InputError(f"kernel must be odd; got {self.kernel}")
        if self.crop_min is not None and (
            isinstance(self.crop_min, bool)
            or not isinstance(self.crop_min, int)
            or not 32 <= self.crop_min <= self.crop
        ):
            raise InputError(f"crop_min must be an integer from 32 to the crop ({self.crop}); got {self.crop_min!r}")
        if self.load_size is not None and self.load_size < self.crop:
            raise InputError(f"load_size ({self.load_size}) must be at least the crop ({self.crop})")
        if not (self.content_weight or self.style_weight or (self.teacher and self.teacher_weight)):
            raise InputError("nothing to learn: content, style and teacher weights are all 0")
        if self.style_layer_weights is not None and len(self.style_layer_weights) != len(self.style_layers):
            raise InputError(
                f"style_layer_weights has {len(self.style_layer_weights)} values for "
                f"{len(self.style_layers)} style layers"
            )


FastTrainConfig = FeedForwardTrainConfig  # the former name
