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

from .tiles import padded_tile_pixels

# bytes of activation memory per output pixel, by device type and precision (measured, rounded up)
ACTIVATION_BYTES = {("cpu", "bf16"): 2400, ("cpu", "fp32"): 3300, ("cuda", "bf16"): 2000, ("cuda", "fp32"): 2600}
# the same with gradient checkpointing: measured 1.3 KB against 1.8 KB per pixel on the CPU in bf16
# (1024x768, 3 steps: the requested layers' outputs, their fp32 Gram copies and the backward's
# transient buffers remain); the CUDA values assume the same ratio
CHECKPOINT_ACTIVATION_BYTES = {("cpu", "bf16"): 1700, ("cpu", "fp32"): 2300, ("cuda", "bf16"): 1400,
                               ("cuda", "fp32"): 1800}
CPU_BASE_BYTES = 700 * 2**20
IMAGE_BYTES = 3 * 4  # one float32 RGB pixel
# tiled: image-sized buffers besides the optimiser's (the gradient being summed, the content and style
# images of the level, the pyramid's copies, the float32 content targets at relu4_2: 512 channels at 1/64
# of the pixels). Fitted to two runs (60 steps, bf16): 2048x1536 in tiles of 1792 px, 6.53 GB measured;
# 4096x3072 in tiles of 2048 px, 15.9 GB measured
TILED_IMAGE_BYTES = 15 * IMAGE_BYTES + 32
TILE_SIZES = (2048, 1792, 1536, 1280, 1024, 768, 512, 384, 256)  # tile cores tried, largest first
MIN_LBFGS_PAIRS = 5  # the fewest curvature pairs impasto lowers the history to when memory is short


def estimate_peak_bytes(height: int, width: int, *, device_type: str, precision: str, optimizer: str,
                        lbfgs_pairs: int, checkpoint: bool = False, tile: int | None = None) -> int:
    """Estimated peak memory (bytes) of optimising an image of ``height`` x ``width``,
    in one VGG pass or (``tile``) in tiles with cores of about ``tile`` px."""
    pixels = height * width
    table = CHECKPOINT_ACTIVATION_BYTES if checkpoint else ACTIVATION_BYTES
    per_pixel = table.get((device_type, precision), table[("cuda", "fp32")])
    state = (3 * lbfgs_pairs + 4) if optimizer == "lbfgs" else 6  # a pair is 2 vectors, plus torch's temporaries
    base = CPU_BASE_BYTES if device_type == "cpu" else 0
    if tile is None:
        activations = pixels * per_pixel
    else:
        activations = padded_tile_pixels(height, width, tile) * per_pixel + pixels * TILED_IMAGE_BYTES
    return int(base + activations + pixels * state * IMAGE_BYTES)


@dataclass(frozen=True)
class MemoryPlan:
    """How a run fits in memory: gradient checkpointing, the tile size for levels that need tiling
    (None: no tiling), the L-BFGS history, and the estimate (bytes) of the finest level."""

    checkpoint: bool
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
        untiled = estimate_peak_bytes(*hw, checkpoint=self.checkpoint, **self.estimate_kwargs)
        return self.tile if untiled > self.budget else None


class DoesNotFit(Exception):
    """The requested size does not fit; ``largest`` is the largest long side that would."""

    def __init__(self, need: int, largest: int) -> None:
        super().__init__(need, largest)
        self.need, self.largest = need, largest


def plan_memory(hw: tuple[int, int], budget: int | None, *, device_type: str, precision: str, optimizer: str,
                lbfgs_history: int, steps: int, checkpoint: str = "auto", tiling: str = "auto",
                tile_size: int | None = None) -> MemoryPlan:
    """Choose, in order, one pass, tiles (largest first, down to 1024 px),
    the same with a shorter L-BFGS history (down to ``MIN_LBFGS_PAIRS``), then smaller tiles, for a
    finest level of size ``hw`` (``checkpoint`` and ``tiling`` as in :class:`GatysConfig`; with tiling
    off, ``checkpoint="auto"`` checkpoints a pass that would not fit otherwise).

    ``steps`` is the number of steps of the finest level (L-BFGS keeps no more pairs than that).
    Raises :class:`DoesNotFit` when nothing fits in ``budget`` bytes.
    """
    pairs = min(lbfgs_history, steps)
    kw = dict(device_type=device_type, precision=precision, optimizer=optimizer)
    est = lambda p, ck, t: estimate_peak_bytes(*hw, lbfgs_pairs=p, checkpoint=ck, tile=t, **kw)  # noqa: E731
    plan = lambda ck, t, p: MemoryPlan(ck, t, p if p < pairs else lbfgs_history, est(p, ck, t), budget,  # noqa: E731
                                       tiling == "on", {**kw, "lbfgs_pairs": p})
    if budget is None:
        return plan(checkpoint == "on", (tile_size or 1024) if tiling == "on" else None, pairs)
    if tiling != "on":
        # tiles beat checkpointing (2048x1536 on the CPU, bf16: one pass 8.3 GB and 19 s a step;
        # checkpointed 6.4 GB, 29 s; tiles of 1024 px 3.7 GB, 29 s), so auto checkpointing is for
        # runs with tiling off
        ck = checkpoint == "on" or (checkpoint == "auto" and tiling == "off" and est(pairs, False, None) > budget)
        need = est(pairs, ck, None)
        if need <= budget:
            return plan(ck, None, pairs)
        if tiling == "off":
            raise DoesNotFit(need, largest_fitting_side(*hw, budget, lbfgs_pairs=pairs,
                                                        checkpoint=checkpoint != "off", **kw))
    ck = checkpoint == "on"
    tiles = [tile_size] if tile_size else [t for t in TILE_SIZES if t < max(hw)]  # one tile is no tiling
    if not tiles:
        raise DoesNotFit(est(pairs, ck, None), largest_fitting_side(*hw, budget, lbfgs_pairs=pairs,
                                                                    checkpoint=checkpoint != "off", **kw))
    # small tiles waste time on their margins (a 256 px core computes 3x its pixels): first shorten
    # the L-BFGS history with tiles of 1024 px or more, and only then try smaller tiles
    smallest = min(pairs, MIN_LBFGS_PAIRS)
    fewer = range(pairs, smallest - 1, -1) if optimizer == "lbfgs" else [pairs]
    big = [t for t in tiles if t >= 1024] or tiles[:1]
    order = [(p, t) for p in fewer for t in big] + [(smallest, t) for t in tiles if t not in big]
    for p, t in order:
        if est(p, ck, t) <= budget:
            return plan(ck, t, p)
    raise DoesNotFit(est(pairs, ck, tiles[-1]), largest_fitting_side(
        *hw, budget, lbfgs_pairs=smallest, checkpoint=ck, tile=tiles[-1], **kw))


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
    scale_for = lambda side: (height * side / long_side, width * side / long_side)  # noqa: E731
    lo, hi = 16, long_side
    while lo < hi:
        mid = (lo + hi + 1) // 2
        h, w = scale_for(mid)
        if estimate_peak_bytes(math.ceil(h), math.ceil(w), **kwargs) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo
