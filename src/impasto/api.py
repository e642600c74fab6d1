"""The one façade under every interface: ``stylize()`` and friends.

The CLI and any other front-end are thin layers over these functions. They
validate everything first (config, images, output path), then compute.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np
from PIL import Image

from .config import GatysConfig
from .errors import InputError
from .io import read_image, write_image
from .progress import Callback

ImageLike = Union[str, os.PathLike, Image.Image, np.ndarray, Any]

MIN_SIDE = 16  # VGG-19 halves the size four times before conv5_1


@dataclass
class Stylized:
    """The result of a run: the image plus what produced it.

    Attributes:
        image: the result as a Pillow RGB image.
        array: the same, float32 (H, W, 3) in [0, 1].
        losses: weighted loss terms at the last step.
        history: loss terms of every step.
        config: the full configuration used.
        seconds: wall time of the optimisation.
    """

    array: np.ndarray
    losses: dict[str, float]
    history: list[dict[str, float]]
    config: GatysConfig
    seconds: float
    device: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def image(self) -> Image.Image:
        return Image.fromarray((np.clip(self.array, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")

    def metadata(self) -> dict[str, str]:
        """Text metadata to store with the image so the result can be reproduced."""
        import json

        return {"Software": "impasto", "impasto:config": json.dumps(self.config.to_dict(), sort_keys=True),
                **{f"impasto:{k}": v for k, v in self.extra.items() if isinstance(v, str)}}

    def save(self, path: str | os.PathLike) -> Path:
        return write_image(path, self.array, metadata=self.metadata())


def load_image(image: ImageLike, what: str = "image") -> np.ndarray:
    """Path, Pillow image, (H, W, 3) array in [0, 1] or (1, 3, H, W) tensor -> float32 (H, W, 3)."""
    if isinstance(image, (str, os.PathLike)):
        array = read_image(image)
    elif isinstance(image, Image.Image):
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    elif isinstance(image, np.ndarray):
        array = image.astype(np.float32)
        if array.max(initial=0) > 1.0 + 1e-6:
            raise InputError(f"{what}: arrays must hold values in [0, 1]")
    elif hasattr(image, "detach"):
        if image.ndim != 4 or image.shape[0] != 1 or image.shape[1] != 3:
            raise InputError(f"{what}: tensors must have shape (1, 3, H, W)")
        array = image.detach().float().cpu()[0].permute(1, 2, 0).numpy()
    else:
        raise InputError(f"{what}: expected a path, a PIL image, an array or a tensor, got {type(image).__name__}")
    if array.ndim != 3 or array.shape[2] != 3:
        raise InputError(f"{what}: expected an RGB image of shape (H, W, 3), got {array.shape}")
    h, w = array.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(f"{what} is {w}x{h} pixels; impasto needs at least {MIN_SIDE} px on each side")
    return array


def stylize(content: ImageLike, style: ImageLike | Sequence[ImageLike], *, config: GatysConfig | None = None,
            callback: Callback | None = None, masks: Sequence[ImageLike | None] | None = None,
            **overrides: Any) -> Stylized:
    """Repaint ``content`` in the style of ``style`` (Gatys et al. 2016), with the perceptual
    controls of Gatys et al. 2017: colour preservation, several styles, spatial masks.

    Args:
        content: the photograph (path, PIL image, array or tensor).
        style: the painting, or a list of paintings blended by ``style_blend_weights``
            (each at its own size with ``style_scales``).
        config: a :class:`GatysConfig`; keyword ``overrides`` replace its fields.
        callback: receives a :class:`~impasto.progress.Progress` after every step.
        masks: one mask per style (path, PIL image or (H, W) / (H, W, 3) array in [0, 1] with the
            content's aspect ratio; white = the style applies) or ``None`` for a style over the whole
            image; replaces ``config.style_masks`` (mask files).

    Returns:
        :class:`Stylized` with ``.image`` (PIL), ``.array``, ``.losses`` and ``.history``.

    Example:
        >>> out = stylize("photo.jpg", "starry.jpg", image_size=256, num_iterations=200)  # doctest: +SKIP
        >>> out.save("photo_starry.png")                                                  # doctest: +SKIP
        >>> stylize("photo.jpg", ["starry.jpg", "scream.jpg"], style_blend_weights=[0.7, 0.3],
        ...         preserve_color="luminance")                                           # doctest: +SKIP
    """
    cfg = (config or GatysConfig()).replace(**overrides).validate()
    content_arr = load_image(content, "content image")
    many = isinstance(style, (list, tuple))
    styles = list(style) if many else [style]
    if not styles:
        raise InputError("no style image given")
    style_arrs = [load_image(s, f"style image {i + 1}" if many else "style image") for i, s in enumerate(styles)]
    if masks is None and cfg.style_masks is not None:
        masks = [None if m.lower() == "none" else m for m in cfg.style_masks]
    mask_arrs = load_masks(masks, content_arr.shape[:2], len(style_arrs))
    init_arr = load_image(cfg.init_image, "init image") if cfg.init == "image" else None
    return _run(cfg, content_arr, style_arrs if many else style_arrs[0], init_arr, callback, masks=mask_arrs)


def load_masks(masks: Sequence[ImageLike | None] | None, content_hw: tuple[int, int],
               n_styles: int) -> list[np.ndarray | None] | None:
    """Masks -> (H, W) float32 arrays in [0, 1] (luminance of RGB masks), checked against the content.

    A mask must have the content's aspect ratio (within 2%) and must not be all black.
    """
    if masks is None:
        return None
    masks = list(masks)
    if len(masks) != n_styles:
        raise InputError(f"{len(masks)} style mask(s) for {n_styles} style(s): give one mask per style "
                         "('none' for a style that covers the whole image)")
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
            raise InputError(f"style mask {i} is {mw}x{mh} pixels but the content is {cw}x{ch}; "
                             "a mask must have the content's aspect ratio")
        if float(arr.max()) <= 0:
            raise InputError(f"style mask {i} is all black: that style would apply nowhere")
        out.append(arr)
    return out


def _run(cfg: GatysConfig, content_arr: np.ndarray, style_arr: np.ndarray | Sequence[np.ndarray],
         init_arr: np.ndarray | None, callback: Callback | None,
         masks: Sequence[np.ndarray | None] | None = None) -> Stylized:
    import torch

    from .device import make_generator, resolve_device, resolve_precision
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
    masks_full = None if masks is None else [
        None if m is None else torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None].to(device)
        for m in masks]
    sizes = cfg.scale_sizes()
    steps = steps_per_level(cfg.num_iterations, len(sizes), cfg.fine_steps_ratio)
    if len(sizes) > cfg.num_iterations:
        sizes, steps = sizes[-1:], [cfg.num_iterations]

    # plan the memory before any image is resized to the requested size
    final_hw = size_for_long_side(content_full.shape[-2], content_full.shape[-1], sizes[-1])
    plan = check_memory(final_hw, device, precision, cfg.optimizer, cfg.lbfgs_history, steps[-1],
                        cfg.checkpoint, cfg.tiling, cfg.tile_size, cfg.max_memory)

    def level_images(long_side: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        content = resize_long_side(content_full, long_side)
        styles = [resize_long_side(s, style_long_side(long_side, scale)) for s, scale in zip(styles_full, style_scales)]
        return content, styles

    need = _min_side_for_layers([*cfg.content_layers, *cfg.style_layers])
    coarse_content, coarse_styles = level_images(sizes[0])
    names = ["content image"] + [f"style image {i}" if many else "style image" for i in range(1, n_styles + 1)]
    for what, tensor in zip(names, [coarse_content, *coarse_styles]):
        h, w = tensor.shape[-2:]
        if min(h, w) < need:
            raise InputError(f"{what} becomes {w}x{h} pixels at size {sizes[0]}, but the chosen VGG layers "
                             f"need at least {need} px on each side; raise image_size (or style_scale, min_scale) "
                             "or crop the image to a less elongated shape")
    extractor = FeatureExtractor([*cfg.content_layers, *cfg.style_layers], pooling=cfg.pooling, weights=cfg.weights,
                                 channels_last=device.type in ("cpu", "cuda"), checkpoint=plan.checkpoint).to(device)

    finest: dict[int, tuple[StyleTransferLoss, tuple[int, int]]] = {}  # kept to judge the result with

    def make_objective(long_side: int) -> tuple[StyleTransferLoss, tuple[int, int]]:
        if long_side in finest:
            return finest[long_side]
        content, styles = level_images(long_side)
        hw = (content.shape[-2], content.shape[-1])
        level_masks = None if masks_full is None else [None if m is None else resize_mask(m, hw) for m in masks_full]
        tile = plan.tile_for(hw)
        loss_class, extra = (StyleTransferLoss, {}) if tile is None else (TiledStyleTransferLoss, {"tile_size": tile})
        objective = loss_class.from_config(cfg, extractor, content, styles if many else styles[0],
                                           precision=precision, style_masks=level_masks, **extra)
        if long_side == sizes[-1]:
            finest[long_side] = (objective, hw)
        return objective, hw

    start = initial_image(cfg.init, coarse_content, coarse_styles[0], noise_std=cfg.init_noise_std,
                          generator=make_generator(cfg.seed),
                          image=to_tensor(init_arr, device) if init_arr is not None else None)
    t0 = time.perf_counter()
    result, history = optimize_pyramid(
        start, make_objective, sizes, steps, callback=callback, optimizer=cfg.optimizer, lr=cfg.lr,
        lr_schedule=cfg.lr_schedule, lbfgs_history=plan.lbfgs_history, line_search=cfg.line_search,
        clamp=cfg.clamp)
    seconds = time.perf_counter() - t0
    final_objective, _ = make_objective(sizes[-1])
    with torch.no_grad():
        final = final_objective(result).as_floats()
    array = to_array(result)
    extra = {"precision": precision, "scales": ",".join(map(str, sizes)), "checkpoint": "on" if plan.checkpoint else "off",
             "tile_size": str(plan.tile_for(final_hw) or "off"), "lbfgs_history": str(plan.lbfgs_history),
             "memory_estimate_mb": str(round(plan.estimate / 2**20))}
    if cfg.preserve_color == "luminance":
        from .color import recombine_luminance

        colours = to_array(resize(to_tensor(colour_source, device), tuple(result.shape[-2:])))
        array = recombine_luminance(array, colours)
    if many:
        extra["styles"] = str(n_styles)
    return Stylized(array, final, history, cfg, seconds, str(device), extra=extra)


def check_memory(hw: tuple[int, int], device: Any, precision: str, optimizer: str, lbfgs_history: int,
                 steps: int, checkpoint: str = "auto", tiling: str = "auto", tile_size: int | None = None,
                 max_memory: float | None = None) -> Any:
    """Plan, before any compute, how a finest level of size ``hw`` fits in the memory that is free:
    checkpointing, tiling, a shorter L-BFGS history (see :func:`impasto.memory.plan_memory`); raise
    :class:`InputError` naming the largest size that fits if nothing does. Returns the ``MemoryPlan``."""
    import logging

    from .memory import DoesNotFit, available_bytes, plan_memory

    free = available_bytes(device)
    budget = None if free is None else int(0.9 * free)
    if max_memory is not None:
        cap = int(max_memory * 1e9)
        budget = cap if budget is None else min(budget, cap)
        free = cap if free is None else min(free, cap)
    try:
        plan = plan_memory(hw, budget, device_type=device.type, precision=precision, optimizer=optimizer,
                           lbfgs_history=lbfgs_history, steps=steps, checkpoint=checkpoint, tiling=tiling,
                           tile_size=tile_size)
    except DoesNotFit as e:
        hints = [h for h, off in (("--precision bf16", precision == "fp32"), ("--checkpoint on", checkpoint == "off"),
                                  ("--tiling auto", tiling == "off")) if off]
        raise InputError(
            f"a {hw[1]}x{hw[0]} result needs about {e.need / 2**30:.1f} GiB but {free / 2**30:.1f} GiB is "
            f"{'allowed' if max_memory is not None else 'free'} on {device.type}; "
            f"the largest size that fits is about --image-size {e.largest}"
            + (f" ({' or '.join(hints)} also lowers the need)" if hints else "")) from None
    if plan.lbfgs_history < min(lbfgs_history, steps):
        logging.getLogger("impasto").warning(
            "L-BFGS history lowered from %d to %d pairs to fit in memory", lbfgs_history, plan.lbfgs_history)
    return plan


def _min_side_for_layers(layers: list[str]) -> int:
    """Smallest input side that keeps every layer at least 1 px: each pool before it halves (floor) the size."""
    pools = max(int(name[4]) - (0 if name.startswith("pool") else 1) for name in layers)
    return 2 ** pools


@dataclass
class Evaluation:
    """Scores of several results against one content and style image.

    Attributes:
        rows: one :class:`~impasto.eval.metrics.Scores` per image: first the content and the style
            themselves (reference points), then each result.
        size: (height, width) at which everything was compared.
        images: the compared images (float32 (H, W, 3)), in the order of ``rows``.
    """

    rows: list[Any]
    size: tuple[int, int]
    images: list[np.ndarray] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"size": list(self.size[::-1]), "images": [row.as_dict() for row in self.rows]}


def evaluate(content: ImageLike, style: ImageLike, results: Sequence[ImageLike], *,
             names: Sequence[str] | None = None, image_size: int | None = None, device: str = "auto",
             weights: str = "embedded", pooling: str = "max") -> Evaluation:
    """Score stylised images: SSIM and PSNR against the content, and the VGG content and style
    distances (impasto's content and style loss terms without alpha and beta, see
    :mod:`impasto.eval.metrics`); the content and style images are scored too, as reference points.

    Every image is compared at the content's shape with its long side ``image_size`` (default: the
    first result's long side): results are resized to it; the style's Gram target uses the style
    resized to that long side with its own aspect ratio, and for SSIM/PSNR the style is resized to
    the content's shape.

    Example:
        >>> ev = evaluate("photo.jpg", "starry.jpg", ["out_a.png", "out_b.png"])   # doctest: +SKIP
        >>> [(r.name, round(r.ssim, 3)) for r in ev.rows]                           # doctest: +SKIP
    """
    from .device import resolve_device
    from .eval.metrics import FeatureDistances, Scores, psnr, ssim
    from .transforms import resize, resize_long_side, to_array, to_tensor

    if isinstance(results, (str, os.PathLike)) or not isinstance(results, Sequence):
        results = [results]
    names = list(names) if names is not None else [
        Path(r).name if isinstance(r, (str, os.PathLike)) else f"result {i}" for i, r in enumerate(results, 1)]
    if len(names) != len(results):
        raise InputError(f"{len(names)} names for {len(results)} results")
    content_arr = load_image(content, "content image")
    style_arr = load_image(style, "style image")
    result_arrs = [load_image(r, f"result {name}") for r, name in zip(results, names)]
    if image_size is None:
        image_size = max(result_arrs[0].shape[:2]) if result_arrs else max(content_arr.shape[:2])
    if image_size < 32:
        raise InputError(f"image_size must be at least 32 to compare on VGG features; got {image_size}")
    dev = resolve_device(device)
    content_t = resize_long_side(to_tensor(content_arr, dev), image_size)
    hw = tuple(content_t.shape[-2:])
    style_t = resize_long_side(to_tensor(style_arr, dev), image_size)
    distances = FeatureDistances(content_t, style_t, weights=weights, pooling=pooling)
    reference = to_array(content_t)
    images = [("content", reference), ("style", to_array(resize(style_t, hw)))]
    images += [(name, to_array(resize(to_tensor(arr, dev), hw))) for name, arr in zip(names, result_arrs)]
    rows = []
    for name, arr in images:
        if name == "style":  # its Gram target is the style at its own aspect ratio: distance 0
            c_dist, s_dist = distances(to_tensor(arr, dev))[0], distances.style_only(style_t)
        else:
            c_dist, s_dist = distances(to_tensor(arr, dev))
        rows.append(Scores(name, ssim(arr, reference), psnr(arr, reference), c_dist, s_dist))
    return Evaluation(rows, hw, [arr for _, arr in images])


def translate(checkpoint: Any, image: ImageLike, **kwargs: Any) -> Any:
    """Translate one image with a CycleGAN generator (impasto checkpoint or a recognised foreign ``.pth``).

    See :func:`impasto.cyclegan.apply.translate` for the options (``direction``, ``image_size``, ``device``).
    """
    from .cyclegan.apply import translate as _translate

    return _translate(checkpoint, image, **kwargs)


def train_cyclegan(folder_a: str | os.PathLike, folder_b: str | os.PathLike, **kwargs: Any) -> Any:
    """Train a CycleGAN between two unpaired image folders; see :func:`impasto.cyclegan.apply.train_cyclegan`."""
    from .cyclegan.apply import train_cyclegan as _train

    return _train(folder_a, folder_b, **kwargs)


def stylize_fast(images: ImageLike | list[ImageLike], model: Any = "starry-night", **kwargs: Any) -> Any:
    """Stylise one image (returns an (H, W, 3) array) or a list (returns a list) with a feed-forward network.

    ``model`` is a shipped model's name (``"starry-night"``), a checkpoint or an exported model file.
    Options (``preserve_color``, ``max_size``, ``batch_size``, ``device``, ``precision``): see
    :func:`impasto.feedforward.apply.stylize_arrays`; for files and folders see :func:`impasto.feedforward.apply.stylize_files`.
    """
    from .feedforward.apply import stylize_arrays

    single = not isinstance(images, (list, tuple))
    arrays = [load_image(im) for im in ([images] if single else images)]
    out = stylize_arrays(arrays, model, **kwargs)
    return out[0] if single else out


def train_fast(style: str | os.PathLike, data: str | os.PathLike, out_dir: str | os.PathLike, *,
               resume: bool = False, callback: Callback | None = None, **options: Any) -> Any:
    """Train a feed-forward network for ``style`` on the photos in ``data``, writing into ``out_dir``.

    ``options`` are fields of :class:`impasto.feedforward.train.FastTrainConfig`. Returns the final
    training state; ``out_dir/checkpoint.pt`` is the model (use it with :func:`stylize_fast`).
    """
    from .feedforward.train import FastTrainConfig, train

    cfg = FastTrainConfig().replace(style=str(style), data=str(data), **options)
    return train(cfg, out_dir, resume=resume, callback=callback)
