"""The checks :func:`impasto.evaluate` runs on its images and comparison size before any compute.

Every image is compared at the content's shape, so a result is resized to it. A result whose
aspect ratio differs from the content's would be stretched, and its SSIM, PSNR and VGG distances
would then measure the stretch as much as the stylisation: it is compared all the same (the
painting itself is a useful reference row) but a warning names it, so the stretch is never silent.
One pixel of rounding on each side is tolerated, as results written at another size by impasto
round their sides to whole pixels.

The comparison size is bounded like every other size: at most :data:`impasto.memory.MAX_SIDE`,
and within the memory that is free (VGG features of one image at a time, no gradients, plus the
images kept for the table and the sheet).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from ..memory import IMAGE_BYTES, STYLE_PASS_BYTES, check_pass_memory

MIN_COMPARE_SIDE = 32  # VGG-19's deepest compared layer needs this long side at least
# besides the VGG pass: each image kept at the comparison size (float32) and SSIM's float64 windows
SSIM_BYTES = 8 * 3 * 8

log = logging.getLogger(__name__)


def aspect_matches(a_hw: tuple[int, int], b_hw: tuple[int, int]) -> bool:
    """Whether ``b`` has ``a``'s aspect ratio within one pixel of rounding on each side."""
    (ah, aw), (bh, bw) = a_hw, b_hw
    slack = 1 / min(ah, aw) + 1 / min(bh, bw) + 0.005
    return abs((bw / bh) / (aw / ah) - 1) <= slack


def check_evaluation(
    content_hw: tuple[int, int],
    result_hws: Sequence[tuple[int, int]],
    names: Sequence[str],
    image_size: int | None,
    device: Any,
) -> int:
    """Warn about a result of another aspect ratio (it is stretched to the content's shape); refuse a
    result too small to compare at its own size and a comparison size beyond what can be planned;
    return the long side to compare at (``image_size``, or the first result's long side)."""
    for hw, name in zip(result_hws, names):
        if not aspect_matches(content_hw, hw):
            log.warning(
                "result %s is %dx%d px, another aspect ratio than the content's %dx%d: it is stretched to "
                "the content's shape for the comparison (crop it first to compare it unstretched)",
                name,
                hw[1],
                hw[0],
                content_hw[1],
                content_hw[0],
            )
    if image_size is None:
        if not result_hws:
            return max(content_hw)
        image_size = max(result_hws[0])
        if image_size < MIN_COMPARE_SIDE:
            raise InputError(
                f"result {names[0]} is only {image_size} px on its long side; VGG features need at "
                f"least {MIN_COMPARE_SIDE}: give image_size={MIN_COMPARE_SIDE} or more to compare it "
                "enlarged"
            )
    elif image_size < MIN_COMPARE_SIDE:
        raise InputError(f"image_size must be at least {MIN_COMPARE_SIDE} to compare on VGG features; got {image_size}")
    h, w = content_hw
    size = (-(-h * image_size // max(h, w)), -(-w * image_size // max(h, w)))
    per_pixel = STYLE_PASS_BYTES + (len(result_hws) + 2) * IMAGE_BYTES + SSIM_BYTES
    check_pass_memory(size, per_pixel, device, what="the comparison")
    return image_size
