"""``GatysConfig``: every choice of one Gatys et al. optimisation run, with its defaults.

The CLI builds its flags from these fields (help text in ``metadata["help"]``),
and the API accepts the same names as keyword overrides. Validation happens in
``GatysConfig.validate()`` (see :class:`~impasto.config.base.ConfigBase`) before
any compute, and raises ``InputError``.

Defaults start from neural-style (Johnson, 2015): 512 px, content weight 5 on
relu4_2, style weight 100 on relu1_1..relu5_1 with Gram/(C*H*W) and a mean
squared error, L-BFGS. Where impasto departs from them the field's help says
why (see README, "Defaults").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from . import base
from .base import POOLINGS, PRECISIONS, SWITCH, ConfigBase, check_style_lists, opt

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("noise", "content", "style", "image", "wct", "adain")
TV_KINDS = ("l2", "l1", "power")
GRAM_NORMS = ("chw", "hw", "paper")
CONTENT_REDUCTIONS = ("mean", "sum", "paper")
LR_SCHEDULES = ("constant", "cosine", "step")
PRESERVE_COLOR = ("none", "luminance", "histogram")

# the fields each part of a run takes, under the same names (see GatysConfig.loss_options, .memory_options)
LOSS_FIELDS = (
    "content_layers",
    "content_layer_weights",
    "style_layers",
    "style_layer_weights",
    "style_blend_weights",
    "content_weight",
    "style_weight",
    "tv_weight",
    "tv_kind",
    "tv_beta",
    "gram_norm",
    "content_reduction",
)
MEMORY_FIELDS = ("optimizer", "lbfgs_history", "recompute", "tiling", "tile_size")


@dataclass(frozen=True)
class GatysConfig(ConfigBase):
    """Everything that defines one Gatys et al. optimisation run."""

    ALIASES = {
        "num_iterations": "steps",
        "num_iter": "steps",
        "niter": "steps",
        "learning_rate": "lr",
        "checkpoint": "recompute",
    }

    image_size: int = base.image_size_opt()
    style_scale: float = base.style_scale_opt()
    content_weight: float = opt(5.0, "alpha: weight of the content loss", number="nonnegative")
    style_weight: float = opt(100.0, "beta: weight of the style loss", number="nonnegative")
    tv_weight: float = opt(
        1e-3,
        "weight of the total-variation smoothness term (on the 0-255 image, as neural-style)",
        number="nonnegative",
    )
    tv_kind: str = opt("l2", "total variation: l2, l1 or power (beta-TV of Mahendran & Vedaldi)", choices=TV_KINDS)
    tv_beta: float = opt(2.0, "exponent of the power TV variant", number="positive")
    content_layers: tuple[str, ...] = opt(("relu4_2",), "VGG layers for the content loss", nargs="+", layers=True)
    content_layer_weights: tuple[float, ...] | None = opt(
        None, "per-layer content weights (default: 1 each)", nargs="+", number="nonnegative"
    )
    style_layers: tuple[str, ...] = opt(
        ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        "VGG layers for the style (Gram) loss",
        nargs="+",
        layers=True,
    )
    style_layer_weights: tuple[float, ...] | None = opt(
        None, "per-layer style weights (default: 1 each)", nargs="+", number="nonnegative"
    )
    style_blend_weights: tuple[float, ...] | None = base.style_blend_weights_opt()
    style_scales: tuple[float, ...] | None = opt(
        None,
        "with several styles: each style's size relative to the output (default: style_scale for each)",
        nargs="+",
        number="positive",
    )
    style_masks: tuple[str, ...] | None = base.style_masks_opt()
    preserve_color: str = opt(
        "none",
        "keep the content's colours: none, luminance (style transfer on the "
        "luminance only) or histogram (match the style's colours to the content first)",
        choices=PRESERVE_COLOR,
    )
    gram_norm: str = opt(
        "chw", "Gram normalisation: chw (neural-style), hw (pastiche) or paper (1/(4N^2M^2))", choices=GRAM_NORMS
    )
    content_reduction: str = opt(
        "mean", "content error: mean (neural-style), sum, or paper (1/2 sum)", choices=CONTENT_REDUCTIONS
    )
    pooling: str = opt("max", "VGG pooling: max or avg (the paper prefers avg)", choices=POOLINGS)
    init: str = opt(
        "noise",
        "starting image: noise, content, style, image (with --init-image), or wct / adain "
        "(the one-pass universal result with the shipped decoders)",
        choices=INITS,
    )
    init_image: str | None = opt(None, "starting image file when --init image")
    init_noise_std: float = opt(
        0.25, "std of the Gaussian noise start, on the 0-1 scale around the content's mean colour", number="nonnegative"
    )
    optimizer: str = opt("lbfgs", "lbfgs or adam", choices=OPTIMIZERS)
    lr: float | None = opt(
        None, "step size (default 1 for lbfgs, 0.02 for adam, on the 0-1 image scale)", number="positive"
    )
    lr_schedule: str = opt("constant", "adam learning-rate schedule: constant, cosine or step", choices=LR_SCHEDULES)
    lbfgs_history: int = opt(100, "L-BFGS history size (neural-style's lbfgs_num_correction)", minimum=1)
    clamp: bool = opt(
        True,
        "keep the image in [0, 1] while optimising (as the PyTorch tutorial); --no-clamp "
        "optimises unclamped as neural-style and clamps only the result",
    )
    line_search: bool = opt(False, "L-BFGS with a strong-Wolfe line search (robust, more evaluations per step)")
    steps: int = opt(300, "optimisation steps (evaluations), over all scales together", minimum=1)
    multiscale: str = opt("auto", "coarse-to-fine: auto (on when image_size >= 2*min_scale), on or off", choices=SWITCH)
    min_scale: int = opt(256, "long side of the coarsest scale", minimum=16)
    scale_factor: float = opt(2.0, "size ratio between successive scales", number="positive")
    fine_steps_ratio: float = opt(1 / 3, "steps at each finer scale relative to the coarsest scale", number="positive")
    recompute: str = opt(
        "auto",
        "recompute the VGG activations in the backward pass instead of keeping them "
        "(gradient checkpointing: less memory, more time; tiling saves more for the same time): "
        "auto (only when tiling is off and the run would not fit otherwise), on or off",
        choices=SWITCH,
    )
    tiling: str = opt(
        "auto",
        "evaluate large levels in overlapping tiles (exact: the same loss and gradient, the "
        "style's Gram statistics stay global; about 1.5x the time, a fraction of the memory): auto "
        "(only for levels that would not fit in memory otherwise), on or off",
        choices=SWITCH,
    )
    tile_size: int | None = base.tile_size_opt()
    max_memory: float | None = base.max_memory_opt()
    precision: str = opt(
        "auto",
        "fp32, bf16 (autocast; Gram matrices and sums stay fp32) or auto (bf16 where the CPU/GPU has native bf16)",
        choices=PRECISIONS,
    )
    seed: int | None = opt(0, "random seed; the same seed gives the same image on the same machine")
    weights: str = opt(
        "embedded", "VGG-19 weights: embedded (original Caffe, via pastiche), torchvision (hub cache), or a .pth path"
    )
    device: str = base.device_opt()

    @property
    def effective_lr(self) -> float:
        """``lr``, or the optimiser's default step size when it is not set."""
        if self.lr is not None:
            return self.lr
        return 1.0 if self.optimizer == "lbfgs" else 0.02

    def loss_options(self) -> dict[str, Any]:
        """The objective's options, as :class:`~impasto.losses.perceptual.StyleTransferLoss` takes them."""
        return {k: getattr(self, k) for k in LOSS_FIELDS}

    def optimizer_options(self, lbfgs_history: int | None = None) -> dict[str, Any]:
        """The optimiser's options, as :func:`~impasto.optim.loop.optimize_image` takes them: ``lr``
        resolved (:attr:`effective_lr`); ``lbfgs_history``, if given, replaces the configured one
        (the memory plan's, or one capped at a level's steps)."""
        options = {k: getattr(self, k) for k in ("optimizer", "lr_schedule", "line_search", "clamp")}
        history = self.lbfgs_history if lbfgs_history is None else lbfgs_history
        return {**options, "lr": self.effective_lr, "lbfgs_history": history}

    def memory_options(self) -> dict[str, Any]:
        """The memory planner's options, as :func:`impasto.memory.plan_memory` takes them."""
        return {k: getattr(self, k) for k in MEMORY_FIELDS}

    def scale_sizes(self) -> list[int]:
        """Long sides of the coarse-to-fine levels (one level when multiscale is off)."""
        from ..optim.levels import pyramid_sizes

        if self.multiscale == "off":
            return [self.image_size]
        return pyramid_sizes(self.image_size, min_size=self.min_scale, factor=self.scale_factor)

    def _check(self) -> None:
        if self.scale_factor <= 1:
            raise InputError(f"scale_factor must be > 1; got {self.scale_factor!r}")
        if self.content_weight == 0 and self.style_weight == 0:
            raise InputError("content_weight and style_weight are both 0: nothing to optimise")
        for kind in ("content", "style"):
            layers, weights = getattr(self, f"{kind}_layers"), getattr(self, f"{kind}_layer_weights")
            if weights is not None and len(weights) != len(layers):
                raise InputError(f"{kind}_layer_weights has {len(weights)} values for {len(layers)} {kind} layers")
        check_style_lists(self, ("style_blend_weights", "style_scales", "style_masks"))
        if self.init == "image" and not self.init_image:
            raise InputError("init 'image' needs init_image, the starting image's file")
        if self.init_image and self.init != "image":  # refused, not implied: the user may have meant either
            raise InputError(
                f'init_image is used only with init="image" (init is {self.init!r}); '
                "add --init image, or drop --init-image"
            )
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise InputError(f"seed must be an integer; got {self.seed!r}")
        from ..memory import check_scales  # torch-free: the pyramid's level count and each style's side, bounded

        check_scales(
            self.image_size,
            self.min_scale,
            self.scale_factor,
            self.multiscale,
            self.style_scales or (self.style_scale,),
        )
