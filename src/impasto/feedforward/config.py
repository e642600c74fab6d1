"""The configuration of a feed-forward training run, :class:`FastTrainConfig`.

Kept apart from :mod:`impasto.feedforward.train` and free of torch, so the
command line can build its flags (one per field) without importing torch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..config import LAYER_NAMES, POOLINGS, _opt
from ..errors import InputError


@dataclass(frozen=True)
class FastTrainConfig:
    """Everything that defines one feed-forward training run (the shipped model's own settings are in its card)."""

    style: str | None = _opt(None, "style image (the painting)")
    data: str | None = _opt(None, "folder of training photographs")
    exclude: tuple[str, ...] = _opt((), "file names in the data folder to leave out (held-out test images)", nargs="+")
    steps: int = _opt(2000, "number of training steps (batches)")
    batch_size: int = _opt(4, "photos per batch")
    crop: int = _opt(256, "side of the square random crops, in pixels")
    crop_min: int | None = _opt(None, "if set, each step draws its crop side between this and --crop (multiples "
                                      "of 4), so the network sees every size in that range")
    max_side: int | None = _opt(512, "shrink each photo so its short side is at most this before cropping")
    style_size: int = _opt(512, "long side of the style image when its Gram matrices are computed")
    learning_rate: float = _opt(1e-3, "Adam step size")
    lr_decay_steps: int = _opt(0, "lower the learning rate linearly to 0 over the last N steps (0: constant)")
    width: int = _opt(16, "channels of the network's first layer (Johnson et al.: 32)")
    blocks: int = _opt(5, "residual blocks (Johnson et al.: 5)")
    kernel: int = _opt(9, "kernel size of the first and last convolutions (Johnson et al.: 9)")
    content_layers: tuple[str, ...] = _opt(("relu2_2",), "VGG layers for the content loss", nargs="+")
    content_weight: float = _opt(1.0, "weight of the content loss")
    style_layers: tuple[str, ...] = _opt(("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
                                         "VGG layers for the style (Gram) loss", nargs="+")
    style_layer_weights: tuple[float, ...] | None = _opt(None, "per-layer style weights (default: 1 each)", nargs="+")
    style_weight: float = _opt(30.0, "weight of the style loss")
    tv_weight: float = _opt(1e-5, "weight of the total variation (sum of squares on the 0-255 image, per photo)")
    pooling: str = _opt("max", "VGG pooling: max or avg", choices=POOLINGS)
    precision: str = _opt("auto", "VGG loss precision: auto (bf16 where native), fp32 or bf16",
                          choices=("auto", "fp32", "bf16"))
    checkpoint_every: int = _opt(50, "save a checkpoint every N steps (and at the end)")
    sample_every: int = _opt(50, "stylise the sample photos every N steps (0: never)")
    seed: int = _opt(0, "seed of the initial weights and of the crops")
    init_from: str | None = _opt(None, "start from the network weights of this checkpoint or model (fine-tuning)")
    teacher: str | None = _opt(None, "a trained model (checkpoint, model file or shipped name) whose output the "
                                     "network also learns to reproduce: distillation into a lighter width")
    teacher_weight: float = _opt(1.0, "weight of the mean squared difference to the teacher's output "
                                      "(0-255 units); with --content-weight 0 --style-weight 0 the VGG is "
                                      "skipped and a step is several times faster")
    weights: str = _opt("embedded", "VGG-19 weights: embedded, torchvision or a .pth path")
    device: str = _opt("auto", "compute device: auto, cpu, cuda, cuda:N")

    def replace(self, **changes: Any) -> "FastTrainConfig":
        """A copy with ``changes`` applied; ``None`` values are ignored (unset CLI flags)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InputError(f"unknown option(s): {', '.join(sorted(unknown))}")
        for key in ("exclude", "content_layers", "style_layers", "style_layer_weights"):
            if key in changes:
                value = changes[key]
                changes[key] = tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) \
                    else tuple(value)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FastTrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls().replace(**{k: v for k, v in dict(data).items() if k in known})

    def arch_kwargs(self) -> dict[str, int]:
        return {"width": self.width, "blocks": self.blocks, "kernel": self.kernel}

    def validate(self) -> "FastTrainConfig":
        """Raise InputError on the first nonsense value; return self."""
        if not self.style:
            raise InputError("a style image is needed (--style FILE)")
        if not self.data:
            raise InputError("a folder of training photos is needed (--data FOLDER)")
        for name, minimum in (("steps", 1), ("batch_size", 1), ("crop", 32), ("style_size", 32), ("width", 1),
                              ("blocks", 0), ("kernel", 1), ("checkpoint_every", 1), ("sample_every", 0),
                              ("lr_decay_steps", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise InputError(f"{name} must be an integer >= {minimum}; got {value!r}")
        if self.kernel % 2 == 0:
            raise InputError(f"kernel must be odd; got {self.kernel}")
        if self.crop_min is not None and (isinstance(self.crop_min, bool) or not isinstance(self.crop_min, int)
                                          or not 32 <= self.crop_min <= self.crop):
            raise InputError(f"crop_min must be an integer from 32 to the crop ({self.crop}); got {self.crop_min!r}")
        if self.max_side is not None and self.max_side < self.crop:
            raise InputError(f"max_side ({self.max_side}) must be at least the crop ({self.crop})")
        for name in ("learning_rate", "content_weight", "style_weight", "tv_weight", "teacher_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise InputError(f"{name} must be a finite number >= 0; got {value!r}")
        if self.learning_rate <= 0:
            raise InputError("learning_rate must be > 0")
        if not (self.content_weight or self.style_weight or (self.teacher and self.teacher_weight)):
            raise InputError("nothing to learn: content, style and teacher weights are all 0")
        for kind in ("content", "style"):
            layers = getattr(self, f"{kind}_layers")
            if not layers:
                raise InputError(f"{kind}_layers is empty")
            for layer in layers:
                if layer not in LAYER_NAMES:
                    raise InputError(f"unknown VGG-19 layer {layer!r}; names look like relu2_2, relu4_3")
        if self.style_layer_weights is not None and len(self.style_layer_weights) != len(self.style_layers):
            raise InputError(f"style_layer_weights has {len(self.style_layer_weights)} values for "
                             f"{len(self.style_layers)} style layers")
        if self.pooling not in POOLINGS:
            raise InputError(f"pooling must be max or avg; got {self.pooling!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise InputError(f"precision must be auto, fp32 or bf16; got {self.precision!r}")
        return self
