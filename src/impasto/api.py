"""The one façade under every interface: ``stylize()`` and friends.

The CLI and any other front-end are thin layers over these functions. They
validate everything first (config, images, output path), then compute.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
from PIL import Image

from .config import GatysConfig
from .errors import InputError
from .io import check_output_path, read_image, write_image
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


def stylize(content: ImageLike, style: ImageLike, *, config: GatysConfig | None = None,
            callback: Callback | None = None, **overrides: Any) -> Stylized:
    """Repaint ``content`` in the style of ``style`` (Gatys et al. 2016).

    Args:
        content: the photograph (path, PIL image, array or tensor).
        style: the painting.
        config: a :class:`GatysConfig`; keyword ``overrides`` replace its fields.
        callback: receives a :class:`~impasto.progress.Progress` after every step.

    Returns:
        :class:`Stylized` with ``.image`` (PIL), ``.array``, ``.losses`` and ``.history``.

    Example:
        >>> out = stylize("photo.jpg", "starry.jpg", image_size=256, num_iterations=200)  # doctest: +SKIP
        >>> out.save("photo_starry.png")                                                  # doctest: +SKIP
    """
    cfg = (config or GatysConfig()).replace(**overrides).validate()
    content_arr = load_image(content, "content image")
    style_arr = load_image(style, "style image")
    init_arr = load_image(cfg.init_image, "init image") if cfg.init == "image" else None
    return _run(cfg, content_arr, style_arr, init_arr, callback)


def _run(cfg: GatysConfig, content_arr: np.ndarray, style_arr: np.ndarray, init_arr: np.ndarray | None,
         callback: Callback | None) -> Stylized:
    import torch

    from .device import make_generator, resolve_device, resolve_precision
    from .features.vgg import FeatureExtractor
    from .losses.perceptual import StyleTransferLoss
    from .optim import initial_image
    from .optim.pyramid import optimize_pyramid, steps_per_level
    from .transforms import resize_long_side, style_long_side, to_array, to_tensor

    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    if cfg.seed is not None:
        torch.manual_seed(cfg.seed)
    content_full = to_tensor(content_arr, device)
    style_full = to_tensor(style_arr, device)
    sizes = cfg.scale_sizes()
    steps = steps_per_level(cfg.num_iterations, len(sizes), cfg.fine_steps_ratio)
    if len(sizes) > cfg.num_iterations:
        sizes, steps = sizes[-1:], [cfg.num_iterations]

    def level_images(long_side: int) -> tuple[torch.Tensor, torch.Tensor]:
        content = resize_long_side(content_full, long_side)
        style = resize_long_side(style_full, style_long_side(long_side, cfg.style_scale))
        return content, style

    need = _min_side_for_layers([*cfg.content_layers, *cfg.style_layers])
    for what, tensor in zip(("content image", "style image"), level_images(sizes[0])):
        h, w = tensor.shape[-2:]
        if min(h, w) < need:
            raise InputError(f"{what} becomes {w}x{h} pixels at size {sizes[0]}, but the chosen VGG layers "
                             f"need at least {need} px on each side; raise image_size (or style_scale, min_scale) "
                             "or crop the image to a less elongated shape")
    final_hw = tuple(level_images(sizes[-1])[0].shape[-2:])
    checkpoint = check_memory(final_hw, device, precision, cfg.optimizer, min(cfg.lbfgs_history, steps[-1]),
                              cfg.checkpoint)
    extractor = FeatureExtractor([*cfg.content_layers, *cfg.style_layers], pooling=cfg.pooling, weights=cfg.weights,
                                 channels_last=device.type in ("cpu", "cuda"), checkpoint=checkpoint).to(device)

    def make_objective(long_side: int) -> tuple[StyleTransferLoss, tuple[int, int]]:
        content, style = level_images(long_side)
        objective = StyleTransferLoss.from_config(cfg, extractor, content, style, precision=precision)
        return objective, (content.shape[-2], content.shape[-1])

    coarse_content, coarse_style = level_images(sizes[0])
    start = initial_image(cfg.init, coarse_content, coarse_style, noise_std=cfg.init_noise_std,
                          generator=make_generator(cfg.seed),
                          image=to_tensor(init_arr, device) if init_arr is not None else None)
    t0 = time.perf_counter()
    result, history = optimize_pyramid(
        start, make_objective, sizes, steps, callback=callback, optimizer=cfg.optimizer, lr=cfg.lr,
        lr_schedule=cfg.lr_schedule, lbfgs_history=cfg.lbfgs_history, line_search=cfg.line_search,
        clamp=cfg.clamp)
    seconds = time.perf_counter() - t0
    final_objective, _ = make_objective(sizes[-1])
    with torch.no_grad():
        final = final_objective(result).as_floats()
    return Stylized(to_array(result), final, history, cfg, seconds, str(device),
                    extra={"precision": precision, "scales": ",".join(map(str, sizes)),
                           "checkpoint": "on" if checkpoint else "off"})


def check_memory(hw: tuple[int, int], device: Any, precision: str, optimizer: str, lbfgs_pairs: int,
                 checkpoint: str = "off") -> bool:
    """Decide gradient checkpointing and refuse, before any compute, a size whose estimated peak
    memory exceeds what is free. Returns whether to checkpoint."""
    from .memory import available_bytes, estimate_peak_bytes, largest_fitting_side

    budget = available_bytes(device)
    if budget is None:
        return checkpoint == "on"
    budget = int(0.9 * budget)
    kwargs = dict(device_type=device.type, precision=precision, optimizer=optimizer, lbfgs_pairs=lbfgs_pairs)
    use = checkpoint == "on" or (checkpoint == "auto" and estimate_peak_bytes(*hw, **kwargs) > budget)
    need = estimate_peak_bytes(*hw, checkpoint=use, **kwargs)
    if need > budget:
        can = checkpoint != "off"
        fits = largest_fitting_side(*hw, budget, checkpoint=can, **kwargs)
        raise InputError(
            f"a {hw[1]}x{hw[0]} result needs about {need / 2**30:.1f} GiB but {budget / 0.9 / 2**30:.1f} GiB is free "
            f"on {device.type}; the largest size that fits is about --image-size {fits} (a smaller --lbfgs-history"
            + (" or --precision bf16" if precision == "fp32" else "")
            + ("" if can else " or --checkpoint on") + " also lowers the need)")
    return use


def _min_side_for_layers(layers: list[str]) -> int:
    """Smallest input side that keeps every layer at least 1 px: each pool before it halves (floor) the size."""
    pools = max(int(name[4]) - (0 if name.startswith("pool") else 1) for name in layers)
    return 2 ** pools
