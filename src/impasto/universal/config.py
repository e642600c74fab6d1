"""Configs of universal style transfer, free of torch: one run (:class:`UniversalConfig`) and one decoder
training run (:class:`DecoderTrainConfig`).

The CLI builds its flags from these fields (``impasto stylize --method wct|adain`` shares the fields
that mean the same as in :class:`~impasto.config.GatysConfig`: ``image_size``, ``style_scale``,
``style_blend_weights``, ``style_masks``, ``preserve_color``, ``tile_size``, ``max_memory``,
``precision``, ``device``), and the API accepts the same names as keyword overrides.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import base
from ..config.base import PRECISIONS as COMMON_PRECISIONS
from ..config.base import ConfigBase, check_style_lists, opt
from ..config.gatys import PRESERVE_COLOR
from ..errors import InputError

METHODS = ("wct", "adain")
LEVELS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # the same table as impasto.nets.decoder
PRECISIONS = (*COMMON_PRECISIONS, "int8")  # int8: the one-pass methods' encoder only (impasto.features.int8)


def check_levels(name: str, levels: tuple[str, ...] | None) -> None:
    if levels is None:
        return
    bad = [level for level in levels if level not in LEVELS]
    if bad:
        raise InputError(f"{name}: unknown level {bad[0]!r}; choose from {', '.join(LEVELS)}")
    if len(set(levels)) != len(levels):
        raise InputError(f"{name} names a level twice: {', '.join(levels)}")


@dataclass(frozen=True)
class UniversalConfig(ConfigBase):
    """Everything that defines one universal (WCT or AdaIN) stylisation."""

    ALIASES = {"style_blend": "style_blend_weights"}

    method: str = opt(
        "wct",
        "wct (whitening-colouring, Li et al. 2017) or adain (channel mean and std, "
        "Huang & Belongie 2017) at every level",
        choices=METHODS,
    )
    strength: float = opt(
        1.0,
        "wct/adain: how much style, 0 (the photo through the decoders) to 1 (full "
        "style); each level's features are alpha*transformed + (1-alpha)*content",
        number="nonnegative",
    )
    anchor: float | None = opt(
        None,
        "wct/adain: the photo's share, 0 to 1, in the picture's features at the anchor levels before they are "
        "transformed: keeps the photo's layout (default: 0.5 for wct, 0 for adain)",
        number="nonnegative",
    )
    anchor_levels: tuple[str, ...] | None = opt(
        None, "wct/adain: the levels the anchor acts at (default: relu3_1)", nargs="+"
    )
    image_size: int = base.image_size_opt()
    style_scale: float = base.style_scale_opt()
    style_blend_weights: tuple[float, ...] | None = base.style_blend_weights_opt()
    style_masks: tuple[str, ...] | None = base.style_masks_opt()
    preserve_color: str = opt(
        "none", "keep the content's colours: none, luminance or histogram", choices=PRESERVE_COLOR
    )
    levels: tuple[str, ...] | None = opt(
        None,
        "wct/adain: decoder levels to run, deepest first (default: every shipped level, e.g. "
        "relu4_1 relu3_1 relu2_1 relu1_1)",
        nargs="+",
    )
    decoders: str | None = opt(
        None,
        "wct/adain: folder of decoder files (<level>.pt or <level>/checkpoint.pt; "
        "default: the decoders shipped with impasto; 'reconstruction': the shipped reconstruction-only set)",
    )
    tile_size: int | None = base.tile_size_opt()
    max_memory: float | None = base.max_memory_opt()
    precision: str = opt(
        "auto",
        "fp32, bf16 (autocast of the encoder and decoders; statistics stay float64), "
        "int8 (CPU: the encoder's convolutions in int8, the decoders bf16; 25-45% faster than bf16 "
        "on a CPU with VNNI) or auto (int8 on a CPU where a one-time timing finds it faster than bf16, else "
        "bf16 where the CPU/GPU has native bf16, else fp32)",
        choices=PRECISIONS,
    )
    seed: int | None = opt(0, "random seed (the cascade itself is deterministic)")
    device: str = base.device_opt()

    def _check(self) -> None:
        if self.strength > 1.0:
            raise InputError(f"strength must be between 0 and 1; got {self.strength}")
        if self.anchor is not None and self.anchor > 1.0:
            raise InputError(f"anchor must be between 0 and 1; got {self.anchor}")
        check_levels("levels", self.levels)
        check_levels("anchor_levels", self.anchor_levels)
        check_style_lists(self, ("style_blend_weights", "style_masks", "levels"))


@dataclass(frozen=True)
class DecoderTrainConfig(ConfigBase):
    """Every choice of a decoder training run (stored in its checkpoints); checked on creation."""

    level: str = opt("relu3_1", "VGG layer the decoder inverts, relu1_1 ... relu5_1", choices=LEVELS)
    width: float = opt(
        1.0, "hidden-channel multiplier of the decoder (1.0: Li et al.'s mirror of VGG)", number="positive"
    )
    steps: int = opt(4000, "Adam updates in all (a resumed run continues up to this number)", minimum=1)
    batch_size: int = opt(4, "crops per step", minimum=1)
    crop: int = opt(128, "crop side in pixels", minimum=8)
    max_scale: float = opt(
        2.0, "crops cover crop*s pixels of the image, s in [1, max_scale], shrunk to crop", number="positive"
    )
    lr: float = opt(2e-4, "Adam learning rate", number="positive")
    lr_decay_steps: int = opt(
        0, "lower the rate linearly to 0 over the last this many planned steps (0: constant)", minimum=0
    )
    feature_weight: float = opt(
        0.1, "weight of the relative VGG feature loss against the pixel loss", number="nonnegative"
    )
    style_weight: float = opt(
        0.0,
        "0: reconstruction only; > 0: train for stylisation instead (the input is the photo's features "
        "given a painting's channel mean and std, AdaIN; feature loss on that input plus this weight "
        "times a relative Gram loss at relu1_1 ... the level; needs style data)",
        number="nonnegative",
    )
    style_depth: str | None = opt(
        None,
        "deepest VGG layer of the stylisation's Gram loss (default: the level itself); a deeper one teaches "
        "a shallow level's decoder to keep the statistics the deeper levels of the cascade painted",
        choices=LEVELS,
    )
    content_weight: float = opt(
        0.0,
        "stylisation: weight of a relative feature loss at relu4_1 between the output and the image this level "
        "is handed (the photo, or the deeper decoders' result with --cascade-from): keeps the layout",
        number="nonnegative",
    )
    cascade_from: tuple[str, ...] | None = opt(
        None,
        "deeper levels' decoder files, deepest first: the photos are first stylised (AdaIN) with each in turn, "
        "so this decoder trains on images like those the cascade (deepest level first) hands it",
        nargs="+",
    )
    init: str | None = opt(None, "start from the weights of this decoder file or checkpoint (fine-tuning)")
    precision: str = opt("fp32", "fp32 or bf16 (autocast of VGG and decoder; losses in fp32)", choices=("fp32", "bf16"))
    seed: int = opt(0, "seeds the weights and the batches", minimum=0)
    checkpoint_every: int = opt(200, "steps between checkpoints", minimum=1)
    eval_every: int = opt(200, "steps between held-out PSNR measurements (0: never)", minimum=0)
    weights: str = opt("embedded", "VGG-19 weights (embedded Caffe weights by default)")

    def __post_init__(self) -> None:
        self.validate()

    def _check(self) -> None:
        if self.style_weight and not self.feature_weight:
            raise InputError("style_weight > 0 trains on the feature loss: give a feature_weight > 0")
        for name in ("style_depth", "cascade_from", "content_weight"):
            if getattr(self, name) and not self.style_weight:
                raise InputError(f"{name} belongs to stylisation training: give a style_weight > 0")
        if self.style_depth and LEVELS.index(self.style_depth) < LEVELS.index(self.level):
            raise InputError(f"style_depth {self.style_depth} is shallower than the level {self.level}")
        smallest = 4 * 2 ** int(self.level[4])
        if self.crop < smallest:
            raise InputError(f"crop {self.crop} px is too small for {self.level}; use at least {smallest}")
