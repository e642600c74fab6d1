"""The coarse-to-fine cascade of universal style transfer, and :func:`stylize_universal`.

Li et al. 2017 (sec. 3.2, Fig. 3c): the image passes relu5_1 -> relu4_1 -> relu3_1 ->
relu2_1 -> relu1_1; at each level it is encoded by VGG-19 up to that layer, its features are
transformed (WCT, or AdaIN for the multi-level AdaIN variant) towards the style's features at
the same layer, blended with the unchanged features by the strength alpha, and decoded back to
an image by that level's decoder. The style images do not change, so one VGG pass per style
gives its statistics at every level (computed once, before the cascade); the image is encoded
once per level.

Departures: several styles are blended by weight at every level (Li et al. blend the
transformed features of two styles the same way); ``preserve_color`` recombines the result's
luminance with the content's colour channels (Gatys et al. 2017), which Li et al. do not offer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Union

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import InputError
from ..nets.decoder import LEVELS, VGGDecoder
from ..progress import Callback, Progress
from .transforms import FeatureStats, adain, feature_stats, wct

log = logging.getLogger(__name__)

METHODS = ("wct", "adain")
MIN_FEATURE_SIDE = 4  # smallest feature map (per side) at the deepest level that still has statistics
ImageInput = Union[str, "os.PathLike[str]", np.ndarray]
DecodersArg = Union[None, str, "os.PathLike[str]", Mapping[str, VGGDecoder]]


class Encoder(nn.Module):
    """VGG-19 up to the deepest level; :meth:`encode` stops at the level asked for."""

    def __init__(self, deepest: str, weights: str = "embedded") -> None:
        super().__init__()
        from ..features.vgg import FeatureExtractor

        self.extractor = FeatureExtractor([deepest], weights=weights)

    def encode(self, image: Tensor, levels: Sequence[str]) -> dict[str, Tensor]:
        """{level: features} of (1, 3, H, W) ``image`` for ``levels``, in one pass."""
        with torch.no_grad():
            return self.extractor.net(self.extractor.normalize(image), list(levels))


def min_image_side(levels: Sequence[str]) -> int:
    """The smallest image side the deepest of ``levels`` can take (MIN_FEATURE_SIDE feature pixels)."""
    deepest = max(int(level[4]) for level in levels)
    return MIN_FEATURE_SIDE * 2 ** (deepest - 1)


def check_size(name: str, image: Tensor, levels: Sequence[str]) -> None:
    need = min_image_side(levels)
    h, w = image.shape[-2:]
    if min(h, w) < need:
        deepest = max(levels, key=LEVELS.index)
        raise InputError(f"{name} is {w}x{h} px, too small for {deepest}: give at least {need} px per side "
                         "(a larger --image-size) or shallower levels")


def stylize_tensor(content: Tensor, styles: Sequence[Tensor], encoder: Encoder, decoders: Mapping[str, VGGDecoder],
                   *, method: str = "wct", strength: float = 1.0, style_blend: Sequence[float] | None = None,
                   levels: Sequence[str] | None = None, callback: Callback | None = None) -> Tensor:
    """The cascade on tensors: (1, 3, H, W) content and styles in [0, 1] -> (1, 3, H, W) in [0, 1].

    ``levels`` run deepest first (default: every level in ``decoders``).
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose wct or adain")
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"strength must be between 0 and 1; got {strength}")
    if not styles:
        raise InputError("give at least one style image")
    order = sorted(levels if levels is not None else decoders, key=LEVELS.index, reverse=True)
    for level in order:
        if level not in decoders:
            raise InputError(f"no decoder for {level}; have {', '.join(sorted(decoders)) or 'none'}")
    check_size("the content image", content, order)
    for i, style in enumerate(styles):
        check_size(f"style image {i + 1}", style, order)
    transform = wct if method == "wct" else adain
    style_stats: list[dict[str, FeatureStats]] = []
    for style in styles:  # one VGG pass per style gives every level
        feats = encoder.encode(style, order)
        style_stats.append({level: feature_stats(feats[level], covariance=method == "wct") for level in order})
    image = content
    size = tuple(content.shape[-2:])
    for k, level in enumerate(order, start=1):
        feats = encoder.encode(image, [level])[level]
        mixed = transform(feats, [s[level] for s in style_stats], strength=strength, weights=style_blend)
        with torch.no_grad():
            image = decoders[level](mixed.float(), size=size).clamp(0, 1)
        if callback is not None:
            callback(Progress(f"{method} {level}", k, len(order), {}, image=image))
    return image


def _load(item: ImageInput, what: str) -> np.ndarray:
    if isinstance(item, np.ndarray):
        if item.ndim != 3 or item.shape[2] != 3:
            raise InputError(f"{what} array must be (H, W, 3) RGB in [0, 1]; got shape {item.shape}")
        return item.astype(np.float32)
    from ..io import read_image

    from ..gallery import style_source

    return read_image(Path(style_source(item)))  # type: ignore[arg-type]


def stylize_universal(content: ImageInput, styles: ImageInput | Sequence[ImageInput], *, method: str = "wct",
                      strength: float = 1.0, style_blend: Sequence[float] | None = None,
                      preserve_color: bool | str = False, image_size: int | None = 512,
                      style_size: int | None = None,
                      levels: Sequence[str] | None = None, decoders: DecodersArg = None,
                      device: str | torch.device = "cpu", callback: Callback | None = None) -> np.ndarray:
    """Stylise ``content`` with any painting in one pass (WCT or multi-level AdaIN).

    Args:
        content: photo path or (H, W, 3) float RGB array in [0, 1].
        styles: one style (path, gallery name such as ``"starry-night"``, or array) or a list of them.
        method: ``"wct"`` (Li et al. 2017) or ``"adain"`` (Huang & Belongie 2017, at every level).
        strength: alpha in [0, 1]: 0 reconstructs the content through the decoders, 1 is full style.
        style_blend: one weight per style (normalised; default equal).
        preserve_color: keep the content's colours: ``"luminance"`` (or True): the result's luminance with
            the content's I/Q channels; ``"histogram"``: each style's colours matched to the content's
            mean and covariance before stylising (Gatys et al. 2017); False or ``"none"``: off.
        image_size: long side of the result in pixels (None: the content's own size).
        style_size: long side the styles are resized to (default: ``image_size``, or the content's long side).
        levels: decoder levels to run, e.g. ``("relu4_1", "relu3_1")`` (default: every level found).
        decoders: None (the shipped decoders), a folder of ``<level>.pt`` / ``<level>/checkpoint.pt``,
            or a mapping level -> :class:`impasto.nets.decoder.VGGDecoder`.
        device: torch device.
        callback: receives a :class:`impasto.progress.Progress` after each level.

    Returns:
        float32 (H, W, 3) RGB array in [0, 1].

    Example:
        >>> out = stylize_universal("photo.jpg", "starry-night", strength=0.8)   # doctest: +SKIP
    """
    from ..transforms import resize_long_side, to_array, to_tensor
    from .decoders import load_decoder_set

    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose wct or adain")
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"strength must be between 0 and 1; got {strength}")
    colour_mode = {True: "luminance", False: "none"}.get(preserve_color, preserve_color)  # type: ignore[call-overload]
    if colour_mode not in ("none", "luminance", "histogram"):
        raise InputError(f"preserve_color must be luminance, histogram or none; got {preserve_color!r}")
    if image_size is not None and image_size < 1:
        raise InputError(f"image_size must be positive; got {image_size}")
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if not style_list:
        raise InputError("give at least one style image")
    if style_blend is not None and len(style_blend) != len(style_list):
        raise InputError(f"style_blend has {len(style_blend)} weights for {len(style_list)} styles")
    if isinstance(decoders, Mapping):
        decoder_map = dict(decoders)
    else:
        wanted = list(levels) if levels is not None else _available_levels(decoders)
        decoder_map = load_decoder_set(wanted, decoders)
    if levels is None:
        levels = list(decoder_map)
    device = torch.device(device)
    content_arr = _load(content, "content")
    content_t = to_tensor(content_arr, device)
    if image_size is not None:
        content_t = resize_long_side(content_t, image_size)
    s_side = style_size or max(content_t.shape[-2:])
    style_arrays = [_load(s, "style") for s in style_list]
    if colour_mode == "histogram":
        from ..color import match_color_histogram

        content_np = to_array(content_t)
        style_arrays = [match_color_histogram(s, content_np) for s in style_arrays]
    style_ts = [resize_long_side(to_tensor(s, device), s_side) for s in style_arrays]
    encoder = Encoder(max(levels, key=LEVELS.index)).to(device)
    decs = {k: v.to(device) for k, v in decoder_map.items()}
    out = to_array(stylize_tensor(content_t, style_ts, encoder, decs, method=method, strength=strength,
                                  style_blend=style_blend, levels=levels, callback=callback))
    if colour_mode == "luminance":
        from ..color import recombine_luminance

        out = recombine_luminance(out, to_array(content_t))
    return out


def _available_levels(folder: str | os.PathLike[str] | None) -> list[str]:
    from .decoders import SHIPPED_DIR, decoder_path

    base = SHIPPED_DIR if folder is None else Path(folder)
    if not base.is_dir():
        raise InputError(f"decoder folder not found: {base}" if folder is not None else
                         "no decoders are shipped in this installation; pass decoders=FOLDER "
                         "(train them with 'impasto decoders train')")
    found = [level for level in LEVELS if decoder_path(base, level) is not None]
    if not found:
        raise InputError(f"no decoders (relu1_1.pt ... or relu1_1/checkpoint.pt ...) in {base}")
    return found
