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
The photo's anchor: at the anchor levels (relu3_1 by default) the picture's features are mixed with
the photo's own features at that level before they are transformed (``anchor``; see :func:`anchor_weights`).
The deepest level repaints the layout along with the texture; the photo's mid-level structure, mixed
back in before relu3_1 is whitened and coloured, keeps the layout while the colouring still gives that
level exactly the painting's statistics.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError
from ..nets.decoder import LEVELS, VGGDecoder
from ..progress import Callback, Progress
from ..tiles import Tile, tile_grid
from .config import PRECISIONS, UniversalConfig, check_levels
from .transforms import Affine, FeatureStats, StatsAccumulator, feature_stats, transform_for

log = logging.getLogger(__name__)

METHODS = ("wct", "adain")
FOLD_PIXELS_PER_CHANNEL = 16  # fold a level's transform into its decoder from this many pixels per channel
MIN_FEATURE_SIDE = 4  # smallest feature map (per side) at the deepest level that still has statistics
ANCHOR_LEVELS = ("relu3_1",)  # levels whose features are mixed with the photo's before their transform
DEFAULT_ANCHOR = {"wct": 0.5, "adain": 0.0}  # the photo's share there, per method (measured: docs/universal.md)
ImageInput = Union[str, "os.PathLike[str]", np.ndarray]
DecodersArg = Union[None, str, "os.PathLike[str]", Mapping[str, VGGDecoder]]


def uses_bf16(precision: str) -> bool:
    """Whether ``precision`` runs the decoders (and the encoder's float layers) under bf16 autocast."""
    return precision in ("bf16", "int8")


def resolve_universal_precision(precision: str, device: torch.device) -> str:
    """``fp32``/``bf16`` as every method resolves them (:func:`impasto.device.resolve_precision`); ``int8``,
    which only the one-pass methods have, checked for ``device`` and kept; and ``auto``: where every method
    would run bf16 on the CPU, int8 instead if it is measured faster there
    (:func:`impasto.features.int8.int8_is_faster`)."""
    from ..device import resolve_precision
    from ..features.int8 import check_int8, int8_is_faster

    if precision == "int8":
        check_int8(device)
        return precision
    if precision not in PRECISIONS:  # the shared resolver's message would leave int8 out
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    resolved = resolve_precision(precision, device)
    if precision == "auto" and resolved == "bf16" and device.type == "cpu" and int8_is_faster():
        return "int8"
    return resolved


class Encoder(nn.Module):
    """VGG-19 up to the deepest level; :meth:`encode` stops at the level asked for.

    ``channels_last`` keeps activations NHWC (faster oneDNN convolutions on the CPU); ``precision="bf16"``
    runs the convolutions under bf16 autocast; ``precision="int8"`` runs them all in int8 (the decoders
    then run bf16; :mod:`impasto.features.int8`; CPU only).
    """

    def __init__(
        self, deepest: str, weights: str = "embedded", *, channels_last: bool = False, precision: str = "fp32"
    ) -> None:
        super().__init__()
        from ..features.vgg import FeatureExtractor

        self.extractor = FeatureExtractor([deepest], weights=weights, channels_last=channels_last)
        self.precision = precision
        if precision == "int8":
            from ..features.int8 import EMBEDDED_RANGES, quantize_vgg

            ranges = EMBEDDED_RANGES if weights == "embedded" else None  # calibrated for those weights
            self.extractor.net = quantize_vgg(self.extractor.net, ranges=ranges)

    def encode(self, image: Tensor, levels: Sequence[str]) -> dict[str, Tensor]:
        """{level: features} of (1, 3, H, W) ``image`` for ``levels``, in one pass."""
        x = self.extractor.normalize(image)
        if self.extractor.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        bf16 = uses_bf16(self.precision)
        with torch.no_grad(), torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=bf16):
            feats = self.extractor.net(x, list(levels))
        # in the encoder's layout and dtype (bf16 under bf16 autocast and out of int8 layers): the
        # statistics read them block by block in float32, and the decoders take them as they are
        return dict(feats)


@lru_cache(maxsize=4)
def shared_encoder(deepest: str, device: torch.device, channels_last: bool, precision: str) -> Encoder:
    """One :class:`Encoder` (embedded weights) per setting for the whole process: building it costs 20-35 ms
    (VGG's weights copied, int8's prepacked), a one-pass run at 512² about half a second. Its forward reads
    its weights only, so calls and threads share it."""
    return Encoder(deepest, channels_last=channels_last, precision=precision).to(device)


def decode(
    decoder: VGGDecoder,
    feats: Tensor,
    size: tuple[int, int],
    precision: str = "fp32",
    affine: tuple[Tensor, Tensor] | None = None,
) -> Tensor:
    """(1, 3, H, W) image in [0, 1] from ``feats`` (or, with ``affine = (A, b)``, from ``A @ feats + b``,
    folded into the decoder's first convolution); bf16 autocast with ``precision="bf16"`` or ``"int8"`` (whose
    int8 is the encoder's alone)."""
    first = next(decoder.parameters(), None)
    if first is not None and first.dim() == 4 and first.is_contiguous(memory_format=torch.channels_last):
        feats = feats.contiguous(memory_format=torch.channels_last)
    bf16 = uses_bf16(precision)
    if bf16:  # the first convolution would cast anyway: padding in bf16 moves half the bytes
        feats = feats.to(torch.bfloat16)
    with torch.no_grad(), torch.autocast(feats.device.type, dtype=torch.bfloat16, enabled=bf16):
        out = decoder(feats, size=size, input_affine=affine)
    return out.float().clamp(0, 1).contiguous()


def min_image_side(levels: Sequence[str]) -> int:
    """The smallest image side the deepest of ``levels`` can take (MIN_FEATURE_SIDE feature pixels)."""
    deepest = max(int(level[4]) for level in levels)
    return MIN_FEATURE_SIDE * 2 ** (deepest - 1)


def check_size(name: str, image: Tensor, levels: Sequence[str], larger: str = "a larger --image-size") -> None:
    """One-line error when ``image`` is too small for the deepest of ``levels``; ``larger`` says how to grow it."""
    need = min_image_side(levels)
    h, w = image.shape[-2:]
    if min(h, w) < need:
        deepest = max(levels, key=LEVELS.index)
        raise InputError(
            f"{name} is {w}x{h} px, too small for {deepest}: give at least {need} px per side "
            f"({larger}) or shallower levels"
        )


STYLE_LARGER = "a larger --image-size or --style-scale"


def _core(feats: Tensor, tile: Tile, level: str) -> Tensor:
    """The part of a padded tile's features that belongs to the tile's core (cores start on multiples of 32
    pixels, so every level's pooling grid lines up with the whole image's)."""
    p = int(level[4]) - 1
    (y0, y1, x0, x1), (py0, _, px0, _) = tile.core, tile.padded
    return feats[..., (y0 - py0) >> p : (y1 - py0) >> p, (x0 - px0) >> p : (x1 - px0) >> p]


def _crop(image: Tensor, box: tuple[int, int, int, int]) -> Tensor:
    return image[..., box[0] : box[1], box[2] : box[3]]


def anchor_weights(
    method: str, anchor: float | None = None, levels: Sequence[str] | None = None, order: Sequence[str] | None = None
) -> dict[str, float]:
    """{level: the photo's share} of a run: ``anchor`` (default :data:`DEFAULT_ANCHOR` of ``method``) at
    ``levels`` (default :data:`ANCHOR_LEVELS`); levels with share 0 are left out, and with the cascade's
    ``order`` (deepest first) so are levels it does not run after its first."""
    if levels is not None:
        check_levels("anchor_levels", tuple(levels))
    weight = DEFAULT_ANCHOR.get(method, 0.0) if anchor is None else float(anchor)
    if not 0.0 <= weight <= 1.0:
        raise InputError(f"anchor must be between 0 and 1; got {weight}")
    chosen = ANCHOR_LEVELS if levels is None else levels
    shares = {} if weight == 0.0 else dict.fromkeys(chosen, weight)
    return shares if order is None else {lv: w for lv, w in shares.items() if lv in order[1:]}


def _anchored(feats: Tensor, photo: Tensor, weight: float) -> Tensor:
    """``(1 - weight) * feats + weight * photo`` in ``feats``' dtype and layout (lerp computes bf16 in
    float32 and rounds once: the same numbers as an explicit float32 round trip, 30 times faster)."""
    return torch.lerp(feats, photo.to(feats.dtype), weight)


def _encode_anchored(
    encoder: Encoder, image: Tensor, levels: Sequence[str], photo: Tensor | None, anchor: Mapping[str, float]
) -> dict[str, Tensor]:
    """``image``'s features at ``levels``, each mixed with ``photo``'s at its ``anchor`` share (if any)."""
    feats = encoder.encode(image, levels)
    mixed = [level for level in levels if anchor.get(level)]
    if photo is not None and mixed:
        ref = encoder.encode(photo, mixed)
        feats.update({level: _anchored(feats[level], ref[level], anchor[level]) for level in mixed})
    return feats


def level_stats(
    encoder: Encoder,
    image: Tensor,
    levels: Sequence[str],
    *,
    covariance: bool,
    tiles: Sequence[Tile] | None = None,
    photo: Tensor | None = None,
    anchor: Mapping[str, float] | None = None,
) -> dict[str, FeatureStats]:
    """Statistics of ``image``'s features at ``levels`` (mixed with ``photo``'s at the ``anchor`` levels):
    from one pass, or accumulated over the cores of ``tiles`` (global statistics with a tile's memory)."""
    anchor = anchor or {}
    if tiles is None:
        feats = _encode_anchored(encoder, image, levels, photo, anchor)
        return {level: feature_stats(feats[level], covariance=covariance) for level in levels}
    acc = {level: StatsAccumulator(covariance=covariance) for level in levels}
    for tile in tiles:
        crop = None if photo is None else _crop(photo, tile.padded)
        feats = _encode_anchored(encoder, _crop(image, tile.padded), levels, crop, anchor)
        for level in levels:
            acc[level].add(_core(feats[level], tile, level))
    return {level: a.result() for level, a in acc.items()}


@dataclass(frozen=True)
class StyleStatistics:
    """A style image's feature statistics at each level, computed once (:func:`style_statistics`) and given to
    :func:`stylize_tensor` in place of the image for every content image that takes the same style (video
    frames, a batch of photos with one painting): the style's VGG pass is a quarter to a third of a WCT run."""

    levels: Mapping[str, FeatureStats]
    covariance: bool  # with the covariance eigendecomposition (WCT needs it; AdaIN uses mean and std only)


def style_statistics(
    encoder: Encoder,
    style: Tensor,
    levels: Sequence[str],
    *,
    method: str = "wct",
    tile_size: int | None = None,
    name: str = "the style image",
) -> StyleStatistics:
    """The statistics of (1, 3, H, W) ``style`` at ``levels`` that ``method`` needs, from one VGG pass (or
    accumulated over tiles of about ``tile_size``, as :func:`stylize_tensor` does); ``name`` is what an
    error calls the image."""
    check_size(name, style, levels, STYLE_LARGER)
    covariance = method == "wct"
    tiles = _tiles(style, tile_size)
    return StyleStatistics(level_stats(encoder, style, levels, covariance=covariance, tiles=tiles), covariance)


def _tiles(image: Tensor, tile_size: int | None) -> list[Tile] | None:
    """The tiles of ``image`` for cores of about ``tile_size``; None where it fits in one."""
    h, w = image.shape[-2:]
    return None if tile_size is None or max(h, w) <= tile_size else tile_grid(h, w, tile_size)


STYLE_CACHE_SIZE = 8  # paintings whose statistics stylize_universal keeps per process (about 3 MB each for WCT)
_style_cache: OrderedDict[tuple[object, ...], StyleStatistics] = OrderedDict()
_style_cache_lock = threading.Lock()


def cached_style_statistics(
    encoder: Encoder,
    style: Tensor,
    levels: Sequence[str],
    *,
    method: str,
    tile_size: int | None = None,
    name: str = "the style image",
) -> StyleStatistics:
    """:func:`style_statistics`, kept for the last :data:`STYLE_CACHE_SIZE` paintings of this process: a
    painting used again (the studio's next photo or strength, a notebook's next run) is not encoded again.

    The key is the painting's pixels as given (after resizing) and everything the statistics depend on:
    levels, covariance or not, precision, device, tiles. The encoder is always VGG-19 with its embedded
    weights here (:func:`stylize_universal` builds no other).
    """
    pixels = hashlib.sha256(style.detach().float().cpu().numpy().tobytes()).hexdigest()
    key = (pixels, tuple(style.shape), tuple(levels), method == "wct", encoder.precision, str(style.device), tile_size)
    with _style_cache_lock:
        if key in _style_cache:
            _style_cache.move_to_end(key)
            return _style_cache[key]
    stats = style_statistics(encoder, style, levels, method=method, tile_size=tile_size, name=name)
    with _style_cache_lock:
        _style_cache[key] = stats
        while len(_style_cache) > STYLE_CACHE_SIZE:
            _style_cache.popitem(last=False)
    return stats


def _style_levels(style: Tensor | StyleStatistics, i: int, order: Sequence[str], method: str) -> None:
    """One-line errors for a style (image or :class:`StyleStatistics`) that cannot serve ``order`` and ``method``."""
    if not isinstance(style, StyleStatistics):
        check_size(f"style image {i + 1}", style, order, STYLE_LARGER)
        return
    missing = [level for level in order if level not in style.levels]
    if missing:
        raise InputError(
            f"the statistics of style {i + 1} have no level {', '.join(missing)}; compute them for {', '.join(order)}"
        )
    if method == "wct" and not style.covariance:
        raise InputError(
            f"the statistics of style {i + 1} were computed for adain (no covariance); compute them with method='wct'"
        )


def _transformed_decode(
    decoder: VGGDecoder,
    feats: Tensor,
    affines: Sequence[Affine],
    masks: Sequence[Tensor | None] | None,
    strength: float,
    size: tuple[int, int],
    precision: str,
) -> Tensor:
    """The image decoded from the transformed ``feats``. Without masks, and with enough pixels per channel,
    the one affine map is folded into the decoder's first convolution (no pass over the features);
    otherwise the features are transformed (and mixed by the masks) first.

    The pixel condition: folding multiplies the uncentred features by the whitening matrix, and the
    centring happens inside the convolution's sums. Where the covariance is nearly singular (fewer pixels
    than a few per channel: small images, e.g. 160 pixels for 512 channels at relu4_1 of a 128 px photo)
    whitening amplifies some directions a hundredfold and with them that cancellation's rounding (1e-3
    in fp32); centred first, those directions are near zero before they are amplified.
    """
    pixels = feats.shape[-2] * feats.shape[-1]
    if masks is None and pixels >= FOLD_PIXELS_PER_CHANNEL * feats.shape[-3]:
        return decode(decoder, feats, size, precision, affine=affines[0].blended(strength))
    return decode(decoder, _masked(feats, affines, masks, strength), size, precision)


def _masked(feats: Tensor, affines: Sequence[Affine], masks: Sequence[Tensor | None] | None, strength: float) -> Tensor:
    """One affine for the whole image, or (with masks) each style's affine where its mask is white.

    Masks act on the transformed features: at each pixel ``sum_k m_k T_k(f) + (1 - sum_k m_k) f`` with
    the masks divided by their sum where it exceeds 1, so where every mask is black the features (and
    so the image) stay the content's.
    """
    if masks is None:
        return affines[0].apply(feats, strength)
    h, w = feats.shape[-2:]
    ms = [torch.ones(1, 1, h, w, device=feats.device) if m is None else F.adaptive_avg_pool2d(m, (h, w)) for m in masks]
    total = sum(ms)
    scale = 1.0 / total.clamp_min(1.0)  # type: ignore[union-attr]
    out = feats * (1.0 - total * scale)
    for affine, m in zip(affines, ms):
        out = out + (m * scale) * affine.apply(feats, strength)
    return out


def stylize_tensor(
    content: Tensor,
    styles: Sequence[Tensor | StyleStatistics],
    encoder: Encoder,
    decoders: Mapping[str, VGGDecoder],
    *,
    method: str = "wct",
    strength: float = 1.0,
    style_blend: Sequence[float] | None = None,
    levels: Sequence[str] | None = None,
    callback: Callback | None = None,
    masks: Sequence[Tensor | None] | None = None,
    tile_size: int | None = None,
    precision: str = "fp32",
    content_stats: Callable[[str, FeatureStats], FeatureStats] | None = None,
    anchor: float | None = None,
    anchor_levels: Sequence[str] | None = None,
) -> Tensor:
    """The cascade on tensors: (1, 3, H, W) content and styles in [0, 1] -> (1, 3, H, W) in [0, 1].

    A style may be given as its :class:`StyleStatistics` (:func:`style_statistics`) instead of its image,
    so that a style used for many content images is encoded once.

    ``levels`` run deepest first (default: every level in ``decoders``). ``masks``: one (1, 1, H, W) mask
    in [0, 1] per style (or None for the whole image); with masks, ``style_blend`` weights scale them
    (relative to the largest). ``tile_size``: encode, transform and decode in tiles with cores of about
    this side and a 96 px margin (more than the encoder's and decoder's reach at relu1_1..relu4_1, so the
    cores agree with an untiled run); statistics stay global (accumulated over the tiles' cores).
    ``content_stats``: called with ``(level, statistics)`` of the image at each level, returns the
    statistics to transform with (video: :class:`~impasto.universal.running.RunningStats`).
    ``anchor``: the photo's share in the features of ``anchor_levels`` before their transform (see
    :func:`anchor_weights`; it acts on every level but the first, whose picture is the photo itself).
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose wct or adain")
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"strength must be between 0 and 1; got {strength}")
    if not styles:
        raise InputError("give at least one style image")
    if masks is not None and len(masks) != len(styles):
        raise InputError(f"{len(masks)} style mask(s) for {len(styles)} style(s)")
    order = sorted(levels if levels is not None else decoders, key=LEVELS.index, reverse=True)
    for level in order:
        if level not in decoders:
            raise InputError(f"no decoder for {level}; have {', '.join(sorted(decoders)) or 'none'}")
    shares = anchor_weights(method, anchor, anchor_levels, order)
    check_size("the content image", content, order)
    for i, style in enumerate(styles):
        _style_levels(style, i, order, method)
    covariance = method == "wct"
    # one VGG pass (or one tiled pass) per style image gives every level
    style_stats = [
        (
            s
            if isinstance(s, StyleStatistics)
            else style_statistics(encoder, s, order, method=method, tile_size=tile_size)
        ).levels
        for s in styles
    ]
    if masks is not None and style_blend is not None:
        top = max(float(w) for w in style_blend)
        masks = [
            (torch.ones_like(content[:, :1]) if m is None else m) * (float(w) / top) for m, w in zip(masks, style_blend)
        ]
    image = content
    size = (int(content.shape[-2]), int(content.shape[-1]))
    tiles = _tiles(content, tile_size)

    def affines_for(c_stats: FeatureStats, level: str) -> list[Affine]:
        if content_stats is not None:
            c_stats = content_stats(level, c_stats)
        if masks is None:
            return [transform_for(method, c_stats, [s[level] for s in style_stats], style_blend)]
        return [transform_for(method, c_stats, s[level]) for s in style_stats]

    photo: dict[str, Tensor] = {}  # the photo's features at the anchor levels (untiled: from the first pass)
    for k, level in enumerate(order, start=1):
        if tiles is None:
            feats = encoder.encode(image, [level, *shares] if k == 1 else [level])
            if k == 1:
                photo = {lv: feats[lv] for lv in shares}
            feats = feats[level] if level not in shares else _anchored(feats[level], photo.pop(level), shares[level])
            affines = affines_for(feature_stats(feats, covariance=covariance), level)
            image = _transformed_decode(decoders[level], feats, affines, masks, strength, size, precision)
        else:
            stats = level_stats(
                encoder, image, [level], covariance=covariance, tiles=tiles, photo=content, anchor=shares
            )
            affines = affines_for(stats[level], level)
            out = torch.empty_like(image)
            for tile in tiles:
                py0, py1, px0, px1 = tile.padded
                feats = _encode_anchored(
                    encoder, _crop(image, tile.padded), [level], _crop(content, tile.padded), shares
                )[level]
                tile_masks = None if masks is None else [None if m is None else _crop(m, tile.padded) for m in masks]
                piece = _transformed_decode(
                    decoders[level], feats, affines, tile_masks, strength, (py1 - py0, px1 - px0), precision
                )
                y0, y1, x0, x1 = tile.core
                out[..., y0:y1, x0:x1] = piece[..., y0 - py0 : y1 - py0, x0 - px0 : x1 - px0]
            image = out
        if callback is not None:
            callback(Progress(f"{method} {level}", k, len(order), {}, image=image))
    return image


def _load(item: ImageInput, what: str) -> np.ndarray:
    if isinstance(item, np.ndarray):
        if item.ndim != 3 or item.shape[2] != 3:
            raise InputError(f"{what} array must be (H, W, 3) RGB in [0, 1]; got shape {item.shape}")
        return item.astype(np.float32)
    from ..gallery import style_source
    from ..io import read_image

    return read_image(Path(style_source(item)))  # type: ignore[arg-type]


def stylize_universal(
    content: ImageInput,
    styles: ImageInput | Sequence[ImageInput],
    *,
    method: str = "wct",
    strength: float = 1.0,
    style_blend: Sequence[float] | None = None,
    preserve_color: bool | str = False,
    image_size: int | None = 512,
    style_size: int | None = None,
    levels: Sequence[str] | None = None,
    decoders: DecodersArg = None,
    device: str | torch.device = "cpu",
    callback: Callback | None = None,
    masks: Sequence[np.ndarray | None] | None = None,
    tile_size: int | None = None,
    max_memory: float | None = None,
    precision: str = "fp32",
    report: dict[str, str] | None = None,
    anchor: float | None = None,
    anchor_levels: Sequence[str] | None = None,
) -> np.ndarray:
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
        device: torch device (``"auto"`` picks one).
        callback: receives a :class:`impasto.progress.Progress` after each level.
        masks: one (H, W) mask in [0, 1] per style (the content's aspect ratio; white: the style applies)
            or None for a style over the whole image; see :func:`stylize_tensor`.
        tile_size: tile core side (default: planned from the free memory, see :mod:`impasto.universal.plan`).
        max_memory: GB the run may use (default: 90% of the free memory).
        precision: ``"fp32"``, ``"bf16"`` (autocast of encoder and decoders), ``"int8"`` (the encoder's
            convolutions in int8, the decoders bf16; CPU) or ``"auto"`` (see
            :func:`resolve_universal_precision`).
        anchor: the photo's share in the features of ``anchor_levels`` (default relu3_1) before their
            transform, 0 to 1 (default: 0.5 for wct, 0 for adain); see :func:`anchor_weights`.
        anchor_levels: the levels ``anchor`` acts at.
        report: a dict to fill with what the run used: ``method``, ``levels``, ``tile_size``, ``precision``,
            ``device``, ``memory_estimate_mb``, ``seconds`` (strings, for the image metadata).

    Returns:
        float32 (H, W, 3) RGB array in [0, 1].

    Example:
        >>> out = stylize_universal("photo.jpg", "starry-night", strength=0.8)   # doctest: +SKIP
    """
    import time

    from ..device import resolve_device
    from ..memory import available_bytes
    from ..transforms import resize_long_side, to_array, to_tensor
    from .decoders import load_decoder_set
    from .plan import peak_bytes, plan_tile

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
    if masks is not None and len(masks) != len(style_list):
        raise InputError(f"{len(masks)} style mask(s) for {len(style_list)} style(s)")
    if isinstance(decoders, Mapping):
        decoder_map = dict(decoders)
    else:
        wanted = list(levels) if levels is not None else _available_levels(decoders)
        decoder_map = load_decoder_set(wanted, decoders)
    if levels is None:
        levels = list(decoder_map)
    order = sorted(levels, key=LEVELS.index, reverse=True)
    shares = anchor_weights(method, anchor, anchor_levels, order)  # its errors before any work; the report
    device = resolve_device(device) if str(device) == "auto" else torch.device(device)
    precision = resolve_universal_precision(precision, device)
    content_arr = _load(content, "content")
    content_t = to_tensor(content_arr, device)
    if image_size is not None:
        content_t = resize_long_side(content_t, image_size)
    hw = (int(content_t.shape[-2]), int(content_t.shape[-1]))
    s_side = style_size or max(hw)
    free = available_bytes(device)
    budget = None if free is None else int(0.9 * free)
    if max_memory is not None:
        budget = int(max_memory * 1e9) if budget is None else min(budget, int(max_memory * 1e9))
    tile = plan_tile((max(hw[0], s_side), max(hw[1], s_side)) if s_side > max(hw) else hw, budget, tile_size)
    style_arrays = [_load(s, "style") for s in style_list]
    if colour_mode == "histogram":
        from ..color import match_color_histogram

        content_np = to_array(content_t)
        style_arrays = [match_color_histogram(s, content_np) for s in style_arrays]
    style_ts = [resize_long_side(to_tensor(s, device), s_side) for s in style_arrays]
    mask_ts = (
        None
        if masks is None
        else [
            None
            if m is None
            else F.interpolate(
                torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None].to(device),
                size=hw,
                mode="bilinear",
                align_corners=False,
            )
            for m in masks
        ]
    )
    channels_last = device.type in ("cpu", "cuda")
    encoder = shared_encoder(order[0], device, channels_last, precision)
    decs = {k: v.to(device) for k, v in decoder_map.items()}
    if channels_last:
        decs = {k: v.to(memory_format=torch.channels_last) for k, v in decs.items()}
    t0 = time.perf_counter()
    check_size("the content image", content_t, order)  # before the styles' encoding, as stylize_tensor would
    style_stats = [
        cached_style_statistics(encoder, s, order, method=method, tile_size=tile, name=f"style image {i + 1}")
        for i, s in enumerate(style_ts)
    ]
    out = to_array(
        stylize_tensor(
            content_t,
            style_stats,
            encoder,
            decs,
            method=method,
            strength=strength,
            style_blend=style_blend,
            levels=order,
            callback=callback,
            masks=mask_ts,
            tile_size=tile,
            precision=precision,
            anchor=anchor,
            anchor_levels=anchor_levels,
        )
    )
    seconds = time.perf_counter() - t0
    if colour_mode == "luminance":
        from ..color import recombine_luminance

        out = recombine_luminance(out, to_array(content_t))
    info = {
        "method": method,
        "levels": ",".join(order),
        "anchor": ",".join(f"{lv}={w:g}" for lv, w in shares.items()) or "off",
        "tile_size": str(tile or "off"),
        "precision": precision,
        "device": str(device),
        "memory_estimate_mb": str(round(peak_bytes(*hw, tile) / 2**20)),
        "seconds": f"{seconds:.3f}",
    }
    log.debug("universal run: %s", info)
    if report is not None:
        report.update(info)
    return out


def run(
    cfg: UniversalConfig,
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None] | None = None,
    callback: Callback | None = None,
) -> tuple[np.ndarray, dict[str, str]]:
    """The engine behind ``impasto.stylize(..., method="wct"|"adain")``: a validated config and loaded
    (H, W, 3) images (masks (H, W) with the content's aspect ratio) -> the result and what was used
    (the ``report`` of :func:`stylize_universal`). The styles' long side is ``image_size * style_scale``."""
    info: dict[str, str] = {}
    out = stylize_universal(
        content,
        list(styles),
        method=cfg.method,
        strength=cfg.strength,
        style_blend=cfg.style_blend_weights,
        preserve_color=cfg.preserve_color,
        image_size=cfg.image_size,
        style_size=max(16, round(cfg.image_size * cfg.style_scale)),
        levels=cfg.levels,
        decoders=cfg.decoders,
        device=cfg.device,
        callback=callback,
        masks=masks,
        tile_size=cfg.tile_size,
        max_memory=cfg.max_memory,
        precision=cfg.precision,
        report=info,
        anchor=cfg.anchor,
        anchor_levels=cfg.anchor_levels,
    )
    return out, info


def start_image(
    method: str, content: Tensor, styles: Sequence[Tensor], style_blend: Sequence[float] | None = None
) -> np.ndarray:
    """The starting image of a Gatys run with ``init="wct"|"adain"``: the universal result for the (coarsest
    level's) content and styles, with the shipped decoders at every level they cover; (H, W, 3) array."""
    from ..transforms import to_array

    levels = _available_levels(None)
    side = min(min(content.shape[-2:]), *(min(s.shape[-2:]) for s in styles))
    levels = [lv for lv in levels if min_image_side([lv]) <= side] or levels[:1]
    return stylize_universal(
        to_array(content),
        [to_array(s) for s in styles],
        method=method,
        style_blend=style_blend,
        image_size=None,
        style_size=max(max(s.shape[-2:]) for s in styles),
        levels=levels,
        device=content.device,
    )


def _available_levels(folder: str | os.PathLike[str] | None) -> list[str]:
    from .decoders import decoder_folder, decoder_path

    base = decoder_folder(folder)
    if not base.is_dir():
        raise InputError(
            f"decoder folder not found: {base}"
            if folder is not None
            else "no decoders are shipped in this installation; pass decoders=FOLDER "
            "(train them with 'impasto decoders train')"
        )
    found = [level for level in LEVELS if decoder_path(base, level) is not None]
    if not found:
        raise InputError(f"no decoders (relu1_1.pt ... or relu1_1/checkpoint.pt ...) in {base}")
    return found
