"""The Gatys et al. engine: from loaded images and a validated config to the optimised image.

:func:`run` plans the memory (:func:`check_memory`) before any image is resized,
builds the VGG feature extractor once, and optimises coarse to fine
(:func:`impasto.optim.pyramid.optimize_pyramid`), one objective per level
(:class:`~impasto.losses.perceptual.StyleTransferLoss`, tiled where the plan
says so). Colour preservation and several styles with masks (Gatys et al. 2017)
are handled around it. :func:`impasto.stylize` validates its inputs and calls
:func:`run`; torch is imported only when a run starts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .config import GatysConfig
from .errors import InputError
from .io import ImageLike, load_image

if TYPE_CHECKING:
    from .memory import MemoryPlan
    from .progress import Callback


class GatysOutput(NamedTuple):
    """What :func:`run` hands back to the façade, which wraps it in :class:`impasto.api.Stylized`."""

    array: np.ndarray
    losses: dict[str, float]
    history: list[dict[str, float]]
    seconds: float
    device: str
    extra: dict[str, str]


def load_masks(
    masks: Sequence[ImageLike | None] | None, content_hw: tuple[int, int], n_styles: int
) -> list[np.ndarray | None] | None:
    """Masks -> (H, W) float32 arrays in [0, 1] (luminance of RGB masks), checked against the content.

    A mask must have the content's aspect ratio (within 2%) and must not be all black.
    """
    if masks is None:
        return None
    masks = list(masks)
    if len(masks) != n_styles:
        raise InputError(
            f"{len(masks)} style mask(s) for {n_styles} style(s): give one mask per style "
            "('none' for a style that covers the whole image)"
        )
    from .color import luminance

    out: list[np.ndarray | None] = []
    for i, mask in enumerate(masks, start=1):
        if mask is None:
            out.append(None)
            continue
        if isinstance(mask, np.ndarray) and mask.ndim == 2:
            mask = np.repeat(mask[..., None], 3, axis=2)
        arr = np.clip(luminance(load_image(mask, f"style mask {i}")), 0.0, 1.0)
        (mh, mw), (ch, cw) = arr.shape, content_hw
        if abs(mw / mh - cw / ch) > 0.02 * (cw / ch):
            raise InputError(
                f"style mask {i} is {mw}x{mh} pixels but the content is {cw}x{ch}; "
                "a mask must have the content's aspect ratio"
            )
        if float(arr.max()) <= 0:
            raise InputError(f"style mask {i} is all black: that style would apply nowhere")
        out.append(arr)
    return out


def run(
    cfg: GatysConfig,
    content_arr: np.ndarray,
    style_arr: np.ndarray | Sequence[np.ndarray],
    init_arr: np.ndarray | None,
    callback: Callback | None,
    masks: Sequence[np.ndarray | None] | None = None,
) -> GatysOutput:
    """Optimise the image for a validated ``cfg`` and loaded images (see :func:`impasto.stylize`).

    ``style_arr`` is one (H, W, 3) array or a list of them (blended); ``masks`` one (H, W) array
    or ``None`` per style. Raises :class:`InputError` before any compute when the plan does not fit.
    """
    import torch

    from .device import make_generator, resolve_device, resolve_precision
    from .features.layers import min_side_for_layers
    from .features.vgg import FeatureExtractor
    from .losses.functional import resize_mask
    from .losses.perceptual import StyleTransferLoss, blend_weights
    from .losses.tiled import TiledStyleTransferLoss
    from .optim import initial_image
    from .optim.pyramid import optimize_pyramid, steps_per_level
    from .transforms import resize, resize_long_side, size_for_long_side, style_long_side, to_array, to_tensor

    many = not isinstance(style_arr, np.ndarray)
    style_arrs = list(style_arr) if many else [style_arr]
    n_styles = len(style_arrs)
    for name in ("style_blend_weights", "style_scales"):
        values = getattr(cfg, name)
        if values is not None and len(values) != n_styles:
            raise InputError(f"{name} has {len(values)} value(s) for {n_styles} style(s)")
    if masks is not None and len(masks) != n_styles:
        raise InputError(f"{len(masks)} style mask(s) for {n_styles} style(s)")
    blend_weights(n_styles, cfg.style_blend_weights)
    style_scales = list(cfg.style_scales) if cfg.style_scales is not None else [cfg.style_scale] * n_styles

    colour_source = content_arr
    if cfg.preserve_color == "histogram":
        from .color import match_color_histogram

        style_arrs = [match_color_histogram(s, content_arr) for s in style_arrs]
    elif cfg.preserve_color == "luminance":
        from .color import grey_rgb, luminance, luminance_only_inputs

        content_arr, style_arrs = luminance_only_inputs(content_arr, style_arrs)
        if init_arr is not None:
            init_arr = grey_rgb(luminance(init_arr))

    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    if cfg.seed is not None:
        torch.manual_seed(cfg.seed)
    content_full = to_tensor(content_arr, device)
    styles_full = [to_tensor(s, device) for s in style_arrs]
    masks_full = (
        None
        if masks is None
        else [
            None if m is None else torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None].to(device)
            for m in masks
        ]
    )
    sizes = cfg.scale_sizes()
    steps = steps_per_level(cfg.steps, len(sizes), cfg.fine_steps_ratio)
    if len(sizes) > cfg.steps:
        sizes, steps = sizes[-1:], [cfg.steps]

    # plan the memory before any image is resized to the requested size
    final_hw = size_for_long_side(content_full.shape[-2], content_full.shape[-1], sizes[-1])
    plan = check_memory(cfg, final_hw, device, precision, steps[-1])
    # each style at the finest level is an allocation too: in the plan, refused with the largest scale that fits
    from .memory import check_style_memory

    check_style_memory([tuple(s.shape[-2:]) for s in styles_full], sizes[-1], style_scales, plan)

    def level_images(long_side: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        content = resize_long_side(content_full, long_side)
        styles = [resize_long_side(s, style_long_side(long_side, scale)) for s, scale in zip(styles_full, style_scales)]
        return content, styles

    need = min_side_for_layers([*cfg.content_layers, *cfg.style_layers])
    coarse_content, coarse_styles = level_images(sizes[0])
    names = ["content image"] + [f"style image {i}" if many else "style image" for i in range(1, n_styles + 1)]
    for what, tensor in zip(names, [coarse_content, *coarse_styles]):
        h, w = tensor.shape[-2:]
        if min(h, w) < need:
            raise InputError(
                f"{what} becomes {w}x{h} pixels at size {sizes[0]}, but the chosen VGG layers "
                f"need at least {need} px on each side; raise image_size (or style_scale, min_scale) "
                "or crop the image to a less elongated shape"
            )
    extractor = FeatureExtractor(
        [*cfg.content_layers, *cfg.style_layers],
        pooling=cfg.pooling,
        weights=cfg.weights,
        channels_last=device.type in ("cpu", "cuda"),
        recompute=plan.recompute,
    ).to(device)

    finest: dict[int, tuple[StyleTransferLoss, tuple[int, int]]] = {}  # kept to judge the result with

    def make_objective(long_side: int) -> tuple[StyleTransferLoss, tuple[int, int]]:
        if long_side in finest:
            return finest[long_side]
        content, styles = level_images(long_side)
        hw = (content.shape[-2], content.shape[-1])
        level_masks = None if masks_full is None else [None if m is None else resize_mask(m, hw) for m in masks_full]
        tile = plan.tile_for(hw)
        loss_class, extra = (StyleTransferLoss, {}) if tile is None else (TiledStyleTransferLoss, {"tile_size": tile})
        objective = loss_class.from_config(
            cfg,
            extractor,
            content,
            styles if many else styles[0],
            precision=precision,
            style_masks=level_masks,
            **extra,
        )
        if long_side == sizes[-1]:
            finest[long_side] = (objective, hw)
        return objective, hw

    if cfg.init in ("wct", "adain"):  # start from the one-pass universal result at the coarsest level
        from .universal.cascade import start_image

        init_arr = start_image(cfg.init, coarse_content, coarse_styles, cfg.style_blend_weights)
    start = initial_image(
        "image" if cfg.init in ("wct", "adain") else cfg.init,
        coarse_content,
        coarse_styles[0],
        noise_std=cfg.init_noise_std,
        generator=make_generator(cfg.seed),
        image=to_tensor(init_arr, device) if init_arr is not None else None,
    )
    t0 = time.perf_counter()
    result, history = optimize_pyramid(
        start,
        make_objective,
        sizes,
        steps,
        callback=callback,
        **cfg.optimizer_options(lbfgs_history=plan.lbfgs_history),
    )
    seconds = time.perf_counter() - t0
    final_objective, _ = make_objective(sizes[-1])
    with torch.no_grad():
        final = final_objective(result).as_floats()
    array = to_array(result)
    extra = {
        "precision": precision,
        "scales": ",".join(map(str, sizes)),
        "recompute": "on" if plan.recompute else "off",
        "tile_size": str(plan.tile_for(final_hw) or "off"),
        "lbfgs_history": str(plan.lbfgs_history),
        "memory_estimate_mb": str(round(plan.estimate / 2**20)),
    }
    if cfg.preserve_color == "luminance":
        from .color import recombine_luminance

        colours = to_array(resize(to_tensor(colour_source, device), tuple(result.shape[-2:])))
        array = recombine_luminance(array, colours)
    if many:
        extra["styles"] = str(n_styles)
    return GatysOutput(array, final, history, seconds, str(device), extra)


def check_memory(cfg: GatysConfig, hw: tuple[int, int], device: Any, precision: str, steps: int) -> MemoryPlan:
    """Plan, before any compute, how a finest level of size ``hw`` and ``steps`` steps fits in the memory
    that is free (at most ``cfg.max_memory``): recomputed activations, tiling, a shorter L-BFGS history, as
    ``cfg`` allows (see :func:`impasto.memory.plan_memory`); ``precision`` is the resolved one. Raise
    :class:`InputError` naming the largest size that fits if nothing does. Returns the ``MemoryPlan``."""
    import logging

    from .memory import DoesNotFit, available_bytes, plan_memory

    free = available_bytes(device)
    budget = None if free is None else int(0.9 * free)
    if cfg.max_memory is not None:
        cap = int(cfg.max_memory * 1e9)
        budget = cap if budget is None else min(budget, cap)
        free = cap if free is None else min(free, cap)
    try:
        plan = plan_memory(
            hw, budget, device_type=device.type, precision=precision, steps=steps, **cfg.memory_options()
        )
    except DoesNotFit as e:
        hints = [
            h
            for h, off in (
                ('precision="bf16"', precision == "fp32"),
                ('recompute="on"', cfg.recompute == "off"),
                ('tiling="auto"', cfg.tiling == "off"),
            )
            if off
        ]
        raise InputError(
            f"a {hw[1]}x{hw[0]} result needs about {e.need / 2**30:.1f} GiB but {free / 2**30:.1f} GiB is "
            f"{'allowed' if cfg.max_memory is not None else 'free'} on {device.type}; "
            f"the largest size that fits is about image_size={e.largest}"
            + (f" ({' or '.join(hints)} also lowers the need)" if hints else "")
        ) from None
    if plan.lbfgs_history < min(cfg.lbfgs_history, steps):
        logging.getLogger("impasto").warning(
            "L-BFGS history lowered from %d to %d pairs to fit in memory", cfg.lbfgs_history, plan.lbfgs_history
        )
    return plan
