"""Peak-memory estimate of a run, checked before any compute.

A run's memory is (1) the VGG activations kept for the backward pass, which
grow with the pixel count; (2) the optimiser's state, four image-sized float32
tensors for Adam or about three per L-BFGS curvature pair (at most ``lbfgs_history``
pairs, and no more than the steps of the finest level); (3) on the CPU, a
fixed ~0.7 GB of torch, the weights and the inputs. The per-pixel costs below
were measured with ``benchmarks/sizes.py`` (CPU: this project's 2-core
machine; CUDA: an H100) and rounded up.
"""

from __future__ import annotations

import math
import os

# bytes of activation memory per output pixel, by device type and precision (measured, rounded up)
ACTIVATION_BYTES = {("cpu", "bf16"): 2400, ("cpu", "fp32"): 3300, ("cuda", "bf16"): 2000, ("cuda", "fp32"): 2600}
# the same with gradient checkpointing: measured 1.3 KB against 1.8 KB per pixel on the CPU in bf16
# (1024x768, 3 steps: the requested layers' outputs, their fp32 Gram copies and the backward's
# transient buffers remain); the CUDA values assume the same ratio
CHECKPOINT_ACTIVATION_BYTES = {("cpu", "bf16"): 1700, ("cpu", "fp32"): 2300, ("cuda", "bf16"): 1400,
                               ("cuda", "fp32"): 1800}
CPU_BASE_BYTES = 700 * 2**20
IMAGE_BYTES = 3 * 4  # one float32 RGB pixel


def estimate_peak_bytes(height: int, width: int, *, device_type: str, precision: str, optimizer: str,
                        lbfgs_pairs: int, checkpoint: bool = False) -> int:
    """Estimated peak memory (bytes) of optimising an image of ``height`` x ``width``."""
    pixels = height * width
    table = CHECKPOINT_ACTIVATION_BYTES if checkpoint else ACTIVATION_BYTES
    per_pixel = table.get((device_type, precision), table[("cuda", "fp32")])
    state = (3 * lbfgs_pairs + 4) if optimizer == "lbfgs" else 6  # a pair is 2 vectors, plus torch's temporaries
    base = CPU_BASE_BYTES if device_type == "cpu" else 0
    return int(base + pixels * (per_pixel + state * IMAGE_BYTES))


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
