"""Configuration dataclasses: the one place where defaults live.

The CLI builds its flags from these fields (help text in ``metadata["help"]``),
and the API accepts the same names as keyword overrides. Validation happens in
``GatysConfig.validate()`` before any compute, and raises ``InputError``.

Defaults start from neural-style (Johnson, 2015): 512 px, content weight 5 on
relu4_2, style weight 100 on relu1_1..relu5_1 with Gram/(C*H*W) and a mean
squared error, L-BFGS. Where impasto departs from them the field's help says
why (see README, "Defaults").
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import InputError

VGG_BLOCKS = (2, 2, 4, 4, 4)


def vgg19_layer_names() -> tuple[str, ...]:
    """Every named layer of VGG-19 features, in forward order (conv1_1, relu1_1, ..., pool5)."""
    names: list[str] = []
    for block, n_convs in enumerate(VGG_BLOCKS, start=1):
        for i in range(1, n_convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


LAYER_NAMES = vgg19_layer_names()
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("noise", "content", "style", "image")
POOLINGS = ("max", "avg")
TV_KINDS = ("l2", "l1", "power")
GRAM_NORMS = ("chw", "hw", "paper")
CONTENT_REDUCTIONS = ("mean", "sum", "paper")
LR_SCHEDULES = ("constant", "cosine", "step")
PRESERVE_COLOR = ("none", "luminance", "histogram")
DEVICES_HELP = "auto, cpu, cuda, cuda:N or mps"


def _opt(default: Any, help: str, **extra: Any) -> Any:
    kw: dict[str, Any] = {"metadata": {"help": help, **extra}}
    if isinstance(default, (list, dict)):
        kw["default_factory"] = lambda: type(default)(default)
    else:
        kw["default"] = default
    return field(**kw)


@dataclass(frozen=True)
class GatysConfig:
    """Everything that defines one Gatys et al. optimisation run."""

    image_size: int = _opt(512, "longest side of the output, in pixels")
    style_scale: float = _opt(1.0, "size of the style image relative to the output")
    content_weight: float = _opt(5.0, "alpha: weight of the content loss")
    style_weight: float = _opt(100.0, "beta: weight of the style loss")
    tv_weight: float = _opt(1e-3, "weight of the total-variation smoothness term (on the 0-255 image, as neural-style)")
    tv_kind: str = _opt("l2", "total variation: l2, l1 or power (beta-TV of Mahendran & Vedaldi)", choices=TV_KINDS)
    tv_beta: float = _opt(2.0, "exponent of the power TV variant")
    content_layers: tuple[str, ...] = _opt(("relu4_2",), "VGG layers for the content loss", nargs="+")
    content_layer_weights: tuple[float, ...] | None = _opt(None, "per-layer content weights (default: 1 each)", nargs="+")
    style_layers: tuple[str, ...] = _opt(
        ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"), "VGG layers for the style (Gram) loss", nargs="+"
    )
    style_layer_weights: tuple[float, ...] | None = _opt(None, "per-layer style weights (default: 1 each)", nargs="+")
    style_blend_weights: tuple[float, ...] | None = _opt(
        None, "with several styles: their blend weights, normalised to sum 1 (default: equal)", nargs="+")
    style_scales: tuple[float, ...] | None = _opt(
        None, "with several styles: each style's size relative to the output (default: style_scale for each)",
        nargs="+")
    style_masks: tuple[str, ...] | None = _opt(
        None, "one mask image per style (white: the style applies, black: it does not; grey blends); "
        "'none' for a style that covers the whole image. Where every mask is black the content stays unstyled",
        nargs="+")
    preserve_color: str = _opt("none", "keep the content's colours: none, luminance (style transfer on the "
                               "luminance only) or histogram (match the style's colours to the content first)",
                               choices=PRESERVE_COLOR)
    gram_norm: str = _opt("chw", "Gram normalisation: chw (neural-style), hw (pastiche) or paper (1/(4N^2M^2))", choices=GRAM_NORMS)
    content_reduction: str = _opt("mean", "content error: mean (neural-style), sum, or paper (1/2 sum)", choices=CONTENT_REDUCTIONS)
    pooling: str = _opt("max", "VGG pooling: max or avg (the paper prefers avg)", choices=POOLINGS)
    init: str = _opt("noise", "starting image: noise, content, style or image (with --init-image)", choices=INITS)
    init_image: str | None = _opt(None, "starting image file when --init image")
    init_noise_std: float = _opt(0.25, "std of the Gaussian noise start, on the 0-1 scale around the content's mean colour")
    optimizer: str = _opt("lbfgs", "lbfgs or adam", choices=OPTIMIZERS)
    learning_rate: float | None = _opt(None, "step size (default 1 for lbfgs, 0.02 for adam, on the 0-1 image scale)")
    lr_schedule: str = _opt("constant", "adam learning-rate schedule: constant, cosine or step", choices=LR_SCHEDULES)
    lbfgs_history: int = _opt(100, "L-BFGS history size (neural-style's lbfgs_num_correction)")
    clamp: bool = _opt(True, "keep the image in [0, 1] while optimising (as the PyTorch tutorial); --no-clamp "
                       "optimises unclamped as neural-style and clamps only the result")
    line_search: bool = _opt(False, "L-BFGS with a strong-Wolfe line search (robust, more evaluations per step)")
    num_iterations: int = _opt(300, "optimisation steps (evaluations), over all scales together")
    multiscale: str = _opt("auto", "coarse-to-fine: auto (on when image_size >= 2*min_scale), on or off",
                           choices=("auto", "on", "off"))
    min_scale: int = _opt(256, "long side of the coarsest scale")
    scale_factor: float = _opt(2.0, "size ratio between successive scales")
    fine_steps_ratio: float = _opt(1 / 3, "steps at each finer scale relative to the coarsest scale")
    checkpoint: str = _opt("auto", "gradient checkpointing of the VGG pass (at 2048 px on the CPU: 23% less memory, "
                           "50% more time; tiling saves more for the same time): auto (only when tiling is off and "
                           "the run would not fit otherwise), on or off",
                           choices=("auto", "on", "off"))
    tiling: str = _opt("auto", "evaluate large levels in overlapping tiles (exact: the same loss and gradient, the "
                       "style's Gram statistics stay global; about 1.5x the time, a fraction of the memory): auto "
                       "(only for levels that would not fit in memory otherwise), on or off", choices=("auto", "on", "off"))
    tile_size: int | None = _opt(None, "core side of a tile in pixels (each tile also sees a 96 px margin); "
                                 "default: the largest that fits in memory, at most 2048")
    max_memory: float | None = _opt(None, "memory (GB) the run may use; the plan tiles, or refuses, to stay "
                                    "under it (default: 90% of the memory that is free)")
    precision: str = _opt("auto", "fp32, bf16 (autocast; Gram matrices and sums stay fp32) or auto "
                          "(bf16 where the CPU/GPU has native bf16)", choices=("auto", "fp32", "bf16"))
    seed: int | None = _opt(0, "random seed; the same seed gives the same image on the same machine")
    weights: str = _opt("embedded", "VGG-19 weights: embedded (original Caffe, via pastiche), torchvision (hub cache), or a .pth path")
    device: str = _opt("auto", f"compute device: {DEVICES_HELP}")

    def replace(self, **changes: Any) -> "GatysConfig":
        """A copy with ``changes`` applied; ``None`` values are ignored (unset CLI flags)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InputError(f"unknown option(s): {', '.join(sorted(unknown))}")
        for key in ("content_layers", "style_layers", "content_layer_weights", "style_layer_weights",
                    "style_blend_weights", "style_scales", "style_masks"):
            if key in changes:
                changes[key] = _as_tuple(changes[key])
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GatysConfig":
        return cls().replace(**dict(data))

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 1.0 if self.optimizer == "lbfgs" else 0.02

    def scale_sizes(self) -> list[int]:
        """Long sides of the coarse-to-fine levels (one level when multiscale is off)."""
        from .optim.pyramid import pyramid_sizes

        if self.multiscale == "off":
            return [self.image_size]
        return pyramid_sizes(self.image_size, min_size=self.min_scale, factor=self.scale_factor)

    def validate(self) -> "GatysConfig":
        """Raise InputError on the first nonsense value; return self."""
        _positive_int("image_size", self.image_size, minimum=16)
        _positive_int("num_iterations", self.num_iterations, minimum=1)
        _positive_int("lbfgs_history", self.lbfgs_history, minimum=1)
        _positive_int("min_scale", self.min_scale, minimum=16)
        if self.max_memory is not None:
            _finite("max_memory", self.max_memory, positive=True)
        if self.tile_size is not None:
            _positive_int("tile_size", self.tile_size, minimum=64)
        _finite("scale_factor", self.scale_factor, positive=True)
        _finite("fine_steps_ratio", self.fine_steps_ratio, positive=True)
        if self.scale_factor <= 1:
            raise InputError(f"scale_factor must be > 1; got {self.scale_factor!r}")
        _finite("style_scale", self.style_scale, positive=True)
        for name in ("content_weight", "style_weight", "tv_weight", "init_noise_std"):
            _finite(name, getattr(self, name), positive=False)
        _finite("tv_beta", self.tv_beta, positive=True)
        if self.learning_rate is not None:
            _finite("learning_rate", self.learning_rate, positive=True)
        for name, choices in (("tv_kind", TV_KINDS), ("gram_norm", GRAM_NORMS), ("pooling", POOLINGS),
                              ("init", INITS), ("optimizer", OPTIMIZERS), ("lr_schedule", LR_SCHEDULES),
                              ("content_reduction", CONTENT_REDUCTIONS), ("multiscale", ("auto", "on", "off")),
                              ("checkpoint", ("auto", "on", "off")), ("tiling", ("auto", "on", "off")),
                              ("preserve_color", PRESERVE_COLOR),
                              ("precision", ("auto", "fp32", "bf16"))):
            if getattr(self, name) not in choices:
                raise InputError(f"{name} must be one of {', '.join(choices)}; got {getattr(self, name)!r}")
        if self.content_weight == 0 and self.style_weight == 0:
            raise InputError("content_weight and style_weight are both 0: nothing to optimise")
        for kind in ("content", "style"):
            layers = getattr(self, f"{kind}_layers")
            weights = getattr(self, f"{kind}_layer_weights")
            if not layers:
                raise InputError(f"{kind}_layers is empty")
            for layer in layers:
                if layer not in LAYER_NAMES:
                    raise InputError(f"unknown VGG-19 layer {layer!r}; names look like conv4_2, relu1_1, pool3")
            if weights is not None:
                if len(weights) != len(layers):
                    raise InputError(f"{kind}_layer_weights has {len(weights)} values for {len(layers)} {kind} layers")
                for w in weights:
                    _finite(f"{kind}_layer_weights", w, positive=False)
        if self.style_blend_weights is not None:
            for w in self.style_blend_weights:
                _finite("style_blend_weights", w, positive=False)
            if not sum(float(w) for w in self.style_blend_weights) > 0:
                raise InputError("style_blend_weights must not all be 0")
        for scale in self.style_scales or ():
            _finite("style_scales", scale, positive=True)
        for name in ("style_blend_weights", "style_scales", "style_masks"):
            if getattr(self, name) is not None and not getattr(self, name):
                raise InputError(f"{name} is empty")
        if self.init == "image" and not self.init_image:
            raise InputError("init 'image' needs init_image (--init-image FILE)")
        if self.seed is not None and not isinstance(self.seed, int):
            raise InputError(f"seed must be an integer; got {self.seed!r}")
        return self


def _as_tuple(value: Any) -> tuple:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)


def _positive_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}; got {value!r}")


def _finite(name: str, value: Any, *, positive: bool) -> None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number; got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise InputError(f"{name} must be a finite number {bound}; got {value!r}")
