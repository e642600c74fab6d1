"""Peak-memory estimate of a run, checked before any compute.

A run's memory is (1) the VGG activations kept for the backward pass, which
grow with the pixel count; (2) the optimiser's state, four image-sized float32
tensors for Adam or about three per L-BFGS curvature pair (at most ``lbfgs_history``
pairs, and no more than the steps of the finest level); (3) on the CPU, a
fixed ~0.7 GB of torch, the weights and the inputs. The per-pixel costs below
were measured with ``benchmarks/sizes.py`` (CPU: this project's 2-core
machine; CUDA: an H100) and rounded up.

A tiled run (:mod:`impasto.losses.tiled`) needs one padded tile's activations instead of
the whole image's, plus a few more image-sized buffers. :func:`plan_memory` picks, before
any compute, the cheapest way that fits: one pass, tiles, a shorter L-BFGS history, or a
refusal that names the largest size that fits.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from .errors import InputError
from .tiles import ALIGN, MARGIN

# bytes of activation memory per output pixel, by device type and precision (measured, rounded up)
ACTIVATION_BYTES = {("cpu", "bf16"): 2400, ("cpu", "fp32"): 3300, ("cuda", "bf16"): 2000, ("cuda", "fp32"): 2600}
# the same when activations are recomputed (gradient checkpointing), measured at 1024x768, 3 steps
# (docs/benchmarks.md; the requested layers' outputs, their fp32 Gram copies and the backward's
# transient buffers remain); the CUDA values assume the same ratio
RECOMPUTE_ACTIVATION_BYTES = {
    ("cpu", "bf16"): 1700,
    ("cpu", "fp32"): 2300,
    ("cuda", "bf16"): 1400,
    ("cuda", "fp32"): 1800,
}
CPU_BASE_BYTES = 700 * 2**20
IMAGE_BYTES = 3 * 4  # one float32 RGB pixel
# tiled: image-sized buffers besides the optimiser's (the gradient being summed, the content and style
# images of the level, the pyramid's copies, the float32 content targets at relu4_2: 512 channels at 1/64
# of the pixels). Fitted to the two tiled runs of the size table in docs/large-images.md
TILED_IMAGE_BYTES = 15 * IMAGE_BYTES + 32
TILE_SIZES = (2048, 1792, 1536, 1280, 1024, 768, 512, 384, 256)  # tile cores tried, largest first
MIN_LBFGS_PAIRS = 5  # the fewest curvature pairs impasto lowers the history to when memory is short
MAX_SIDE = 65_535  # the longest side impasto plans for (JPEG's limit; far beyond any budget at ~3 KB a pixel)
# the style's Gram targets come from a no-grad VGG pass: about two layers' fp32 activations at full
# resolution (conv1_x: 64 channels) plus the resized copies; a bound chosen from the layer sizes, not measured
STYLE_PASS_BYTES = 2 * 64 * 4 + 4 * IMAGE_BYTES
MAX_PYRAMID_LEVELS = 32  # 16 px doubled 31 times is 2**35 px: more levels can only come from a factor near 1


def _padded_extent(n: int, tile_size: int, margin: int) -> int:
    """Longest padded piece when [0, n) is cut as :func:`impasto.tiles.tile_grid` cuts it, without
    listing the pieces (n may be huge). Only pieces within ``margin`` of an edge are clipped (at
    most ``margin // ALIGN + 1`` at each end, as a piece is at least ALIGN long); all others have the
    same length, so those near the ends and one in the middle cover every case."""
    count = max(1, -(-n // tile_size))
    step = max(ALIGN, -(-n // (count * ALIGN)) * ALIGN)
    pieces = -(-n // step)
    near = margin // ALIGN + 2
    extent = 0
    for k in {*range(near), pieces // 2, *range(pieces - near, pieces)}:
        if 0 <= k < pieces:
            start = k * step
            extent = max(extent, min(n, start + step + margin) - max(0, start - margin))
    return extent


def largest_padded_tile_pixels(height: int, width: int, tile_size: int, margin: int = MARGIN) -> int:
    """Pixels of the largest padded tile of a ``height`` x ``width`` image, which sets the activation
    memory of a tiled pass (closed form; equal to the maximum over :func:`impasto.tiles.tile_grid`,
    which lists every tile, as tests/test_memory.py checks)."""
    return _padded_extent(height, tile_size, margin) * _padded_extent(width, tile_size, margin)


def estimate_peak_bytes(
    height: int,
    width: int,
    *,
    device_type: str,
    precision: str,
    optimizer: str,
    lbfgs_pairs: int,
    recompute: bool = False,
    tile: int | None = None,
) -> int:
    """Estimated peak memory (bytes) of optimising an image of ``height`` x ``width``,
    in one VGG pass or (``tile``) in tiles with cores of about ``tile`` px."""
    pixels = height * width
    table = RECOMPUTE_ACTIVATION_BYTES if recompute else ACTIVATION_BYTES
    per_pixel = table.get((device_type, precision), table[("cuda", "fp32")])
    state = (3 * lbfgs_pairs + 4) if optimizer == "lbfgs" else 6  # a pair is 2 vectors, plus torch's temporaries
    base = CPU_BASE_BYTES if device_type == "cpu" else 0
    if tile is None:
        activations = pixels * per_pixel
    else:
        activations = largest_padded_tile_pixels(height, width, tile) * per_pixel + pixels * TILED_IMAGE_BYTES
    return int(base + activations + pixels * state * IMAGE_BYTES)


@dataclass(frozen=True)
class MemoryPlan:
    """How a run fits in memory: recomputed activations (gradient checkpointing), the tile size for
    levels that need tiling
    (None: no tiling), the L-BFGS history, and the estimate (bytes) of the finest level."""

    recompute: bool
    tile: int | None
    lbfgs_history: int
    estimate: int
    budget: int | None = None
    always_tile: bool = False
    estimate_kwargs: dict = field(default_factory=dict, compare=False)

    def tile_for(self, hw: tuple[int, int]) -> int | None:
        """The tile size for a level of size ``hw``: tiles only where the level needs them."""
        if self.tile is None or max(hw) <= self.tile:
            return None
        if self.always_tile or self.budget is None:
            return self.tile
        untiled = estimate_peak_bytes(*hw, recompute=self.recompute, **self.estimate_kwargs)
        return self.tile if untiled > self.budget else None


class DoesNotFit(Exception):
    """The requested size does not fit; ``largest`` is the largest long side that would."""

    def __init__(self, need: int, largest: int) -> None:
        super().__init__(need, largest)
        self.need, self.largest = need, largest


def plan_memory(
    hw: tuple[int, int],
    budget: int | None,
    *,
    device_type: str,
    precision: str,
    optimizer: str,
    lbfgs_history: int,
    steps: int,
    recompute: str = "auto",
    tiling: str = "auto",
    tile_size: int | None = None,
) -> MemoryPlan:
    """Choose, in order, one pass, tiles (largest first, down to 1024 px),
    the same with a shorter L-BFGS history (down to ``MIN_LBFGS_PAIRS``), then smaller tiles, for a
    finest level of size ``hw`` (``recompute`` and ``tiling`` as in :class:`GatysConfig`; with tiling
    off, ``recompute="auto"`` recomputes in a pass that would not fit otherwise).

    ``steps`` is the number of steps of the finest level (L-BFGS keeps no more pairs than that).
    Raises :class:`DoesNotFit` when nothing fits in ``budget`` bytes.
    """
    if budget is None and max(hw) > MAX_SIDE:
        raise InputError(
            f"a {hw[1]}x{hw[0]} result is beyond the {MAX_SIDE} px impasto plans for; choose a smaller --image-size"
        )
    pairs = min(lbfgs_history, steps)
    kw = {"device_type": device_type, "precision": precision, "optimizer": optimizer}
    est = lambda p, ck, t: estimate_peak_bytes(*hw, lbfgs_pairs=p, recompute=ck, tile=t, **kw)
    plan = lambda ck, t, p: MemoryPlan(
        ck, t, p if p < pairs else lbfgs_history, est(p, ck, t), budget, tiling == "on", {**kw, "lbfgs_pairs": p}
    )
    if budget is None:
        return plan(recompute == "on", (tile_size or 1024) if tiling == "on" else None, pairs)
    if tiling != "on":
        # tiles need less memory than recomputation for about the same time (docs/large-images.md),
        # so auto recomputation is for runs with tiling off
        ck = recompute == "on" or (recompute == "auto" and tiling == "off" and est(pairs, False, None) > budget)
        need = est(pairs, ck, None)
        if need <= budget:
            return plan(ck, None, pairs)
        if tiling == "off":
            raise DoesNotFit(
                need, largest_fitting_side(*hw, budget, lbfgs_pairs=pairs, recompute=recompute != "off", **kw)
            )
    ck = recompute == "on"
    tiles = [tile_size] if tile_size else [t for t in TILE_SIZES if t < max(hw)]  # one tile is no tiling
    if not tiles:
        raise DoesNotFit(
            est(pairs, ck, None),
            largest_fitting_side(*hw, budget, lbfgs_pairs=pairs, recompute=recompute != "off", **kw),
        )
    # small tiles waste time on their margins (a 256 px core computes 3x its pixels): first shorten
    # the L-BFGS history with tiles of 1024 px or more, and only then try smaller tiles. The estimate
    # is linear in the pairs, so the most pairs each tile allows is solved for, not searched
    smallest = min(pairs, MIN_LBFGS_PAIRS)
    big = [t for t in tiles if t >= 1024] or tiles[:1]
    if optimizer == "lbfgs":
        per_pair = 3 * hw[0] * hw[1] * IMAGE_BYTES
        most = {t: min(pairs, (budget - est(0, ck, t)) // per_pair) for t in big}
    else:
        most = {t: pairs if est(pairs, ck, t) <= budget else -1 for t in big}
    best = max(most.values())
    if best >= smallest:
        return plan(ck, next(t for t in big if most[t] >= best), best)
    for t in tiles:
        if t not in big and est(smallest, ck, t) <= budget:
            return plan(ck, t, smallest)
    raise DoesNotFit(
        est(pairs, ck, tiles[-1]),
        largest_fitting_side(*hw, budget, lbfgs_pairs=smallest, recompute=ck, tile=tiles[-1], **kw),
    )


def available_bytes(device) -> int | None:
    """Memory free for this run: MemAvailable on Linux CPUs, free GPU memory on CUDA; None if unknown."""
    if device.type == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024 + _current_rss()
        except OSError:
            return None
    return None


def _current_rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def largest_fitting_side(height: int, width: int, budget: int, **kwargs) -> int:
    """The largest long side (same aspect ratio) whose estimate fits in ``budget`` bytes."""
    long_side = max(height, width)
    lo, hi = 16, min(long_side, MAX_SIDE)  # a binary search: about 16 estimates whatever the size
    while lo < hi:
        mid = (lo + hi + 1) // 2
        h, w = -(-height * mid // long_side), -(-width * mid // long_side)  # integer ceil, exact for huge sides
        if estimate_peak_bytes(h, w, **kwargs) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


MAX_REQUEST_SIDE = 2**40  # beyond this an --image-size is not a size (floats lose it); refused as such


def pyramid_level_count(image_size: int, min_scale: int, scale_factor: float, multiscale: str = "auto") -> int:
    """How many coarse-to-fine levels :func:`impasto.optim.pyramid.pyramid_sizes` would make, computed
    from logarithms so that no list is built; raise :class:`InputError` for more than
    ``MAX_PYRAMID_LEVELS`` (a factor barely above 1 asks for billions of levels) or an image size
    too large to be a size at all.

    >>> pyramid_level_count(2048, 256, 2.0)
    4
    """
    if image_size > MAX_REQUEST_SIDE:
        raise InputError(f"image_size {image_size} is far beyond any memory; choose at most {MAX_SIDE}")
    if multiscale == "off" or image_size < 2 * min_scale or not scale_factor > 1:
        return 1
    levels = math.floor((math.log(image_size) - math.log(min_scale)) / math.log(scale_factor) + 1e-9) + 1
    if levels > MAX_PYRAMID_LEVELS:
        raise InputError(
            f"scale_factor {scale_factor!r} from min_scale {min_scale} to image_size {image_size} makes {levels} "
            f"levels; at most {MAX_PYRAMID_LEVELS}: raise scale_factor or min_scale, or use --multiscale off"
        )
    return levels


def check_scales(
    image_size: int,
    min_scale: int,
    scale_factor: float,
    multiscale: str,
    style_scales: list[float] | tuple[float, ...] = (),
) -> None:
    """The size checks a configuration needs before anything is planned: the pyramid's level count
    (:func:`pyramid_level_count`) and each style's long side (``style_scale * image_size``, see
    :func:`impasto.transforms.style_long_side`) within :data:`MAX_SIDE`. Raises :class:`InputError`."""
    pyramid_level_count(image_size, min_scale, scale_factor, multiscale)
    for scale in style_scales:
        side = float(scale) * image_size
        if not side <= max(MAX_SIDE, image_size):  # also nan and inf; an image past MAX_SIDE is the planner's to refuse
            largest = MAX_SIDE / image_size
            raise InputError(
                f"style scale {scale!r} makes the style {side:.3g} px at image_size {image_size}; "
                f"impasto plans at most {MAX_SIDE} px: use a style scale of at most {largest:.3g}"
            )


def check_style_memory(
    style_hws: list[tuple[int, int]], long_side: int, style_scales: list[float], plan: MemoryPlan
) -> list[tuple[int, int]]:
    """Check that each style image fits at the finest level, where its Gram targets are computed
    (a no-grad VGG pass, tiled like the content when the plan tiles). Called by the engine after
    :func:`plan_memory`, before any style is resized; returns each style's (h, w) at that level.

    Raises :class:`InputError` naming the largest style scale that fits.
    """
    from .transforms import size_for_long_side, style_long_side

    kw = plan.estimate_kwargs
    base = CPU_BASE_BYTES if kw.get("device_type", "cpu") == "cpu" else 0
    out = []
    for i, ((h0, w0), scale) in enumerate(zip(style_hws, style_scales), start=1):
        what = "the style" if len(style_hws) == 1 else f"style {i}"
        side = float(scale) * long_side
        if not side <= MAX_SIDE:
            raise InputError(
                f"{what} at scale {scale!r} would be {side:.3g} px; impasto plans at most {MAX_SIDE} px: "
                f"use a style scale of at most {MAX_SIDE / long_side:.3g}"
            )
        hw = size_for_long_side(h0, w0, style_long_side(long_side, scale))

        def need(h: int, w: int) -> int:
            tile = plan.tile if plan.tile is not None and max(h, w) > plan.tile else None
            pixels = largest_padded_tile_pixels(h, w, tile) if tile else h * w
            return base + pixels * STYLE_PASS_BYTES + h * w * 4 * IMAGE_BYTES

        if plan.budget is not None and need(*hw) > plan.budget:
            lo, hi = 16, max(hw)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if need(*size_for_long_side(h0, w0, mid)) <= plan.budget:
                    lo = mid
                else:
                    hi = mid - 1
            raise InputError(
                f"{what} at scale {scale!r} is {hw[1]}x{hw[0]} px and needs about "
                f"{need(*hw) / 2**30:.1f} GiB, over the {plan.budget / 2**30:.1f} GiB this run may use; "
                f"use a style scale of at most {lo / long_side:.3g}"
            )
        out.append(hw)
    return out


def check_pass_memory(
    hw: tuple[int, int], bytes_per_pixel: float, device, *, option: str = "image_size", what: str = "the image"
) -> None:
    """Refuse, before any allocation, one no-grad pass (inference, evaluation) over an image of ``hw``
    that is beyond :data:`MAX_SIDE` or needs more than 90% of the free memory, estimated as
    ``CPU_BASE_BYTES`` plus ``bytes_per_pixel`` per pixel; the message names the largest ``option`` that fits."""
    h, w = hw
    if max(h, w) > MAX_SIDE:
        raise InputError(
            f"{what} would be {w}x{h} px, beyond the {MAX_SIDE} px impasto plans for; choose a smaller {option}"
        )
    free = available_bytes(device)
    base = CPU_BASE_BYTES if getattr(device, "type", "cpu") == "cpu" else 0
    need = base + h * w * bytes_per_pixel
    if free is not None and need > 0.9 * free:
        room = max(0.0, 0.9 * free - base) / bytes_per_pixel  # pixels that fit
        largest = max(16, int(max(h, w) * (room / (h * w)) ** 0.5))
        raise InputError(
            f"{what} at {w}x{h} px needs about {need / 2**30:.1f} GiB but {free / 2**30:.1f} GiB is "
            f"free; the largest size that fits is about {option}={largest}"
        )
