"""How steady and how stylised a video is: the warping error of Lai et al. (2018) and the mean
per-frame content and style distances.

Warping error (Lai, Huang, Wang, Shechtman, Yumer & Yang 2018, "Learning Blind Video Temporal
Consistency", sec. 5): for each pair of consecutive frames the optical flow and the reliability mask
M_t are computed on the *input* frames (DIS flow and Ruder et al.'s consistency and motion-boundary
test, :mod:`impasto.video.flow`, where Lai et al. use FlowNet2; warped bicubically), and

    E_t = sum_x M_t(x) |V_t(x) - warp(V_{t-1})(x)|^2 / (3 sum_x M_t(x))

on the output V (RGB in [0, 1]: the mean squared difference per colour value over the reliable
pixels); the clip's error is the mean of E_t over its pairs. The same number on the input clip is
its floor: real motion the flow misses, noise and compression leave it above 0, and no output can
be expected to be steadier than its input.

Content and style distances are those of :mod:`impasto.eval.metrics` (impasto's loss terms
without their weights), each output frame against its own input frame and the style image, at
``image_size``, averaged over every ``every``-th frame. A stabiliser that buys steadiness by
blurring the style raises the style distance; one that leaves ghosts raises the content distance.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from .flow import FlowEstimator, flow_pair, grey


def pair_warping_error(current: np.ndarray, warped_previous: np.ndarray, weights: np.ndarray) -> float:
    """E_t for one pair: (H, W, 3) float frames in [0, 1] and (H, W) weights; nan if no pixel is reliable."""
    total = float(weights.sum())
    if total == 0:
        return float("nan")
    sq = ((current.astype(np.float64) - warped_previous) ** 2).sum(axis=2)
    return float((weights * sq).sum() / (3 * total))


class WarpingError:
    """Warping error of an output clip and of its input clip, accumulated frame by frame.

    Call :meth:`add` with each input frame and its output frame (float32 (H, W, 3) in [0, 1], the
    same size), in order; read :attr:`output` and :attr:`input`.
    """

    def __init__(self, preset: str = "medium") -> None:
        self.flow = FlowEstimator(preset)
        self._prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.output_errors: list[float] = []
        self.input_errors: list[float] = []

    def add(self, input_frame: np.ndarray, output_frame: np.ndarray) -> None:
        current_grey = grey(input_frame)
        if self._prev is not None:
            prev_grey, prev_in, prev_out = self._prev
            pair = flow_pair(self.flow, prev_grey, current_grey)
            self.output_errors.append(pair_warping_error(output_frame, pair.warp_previous(prev_out), pair.weights))
            self.input_errors.append(pair_warping_error(input_frame, pair.warp_previous(prev_in), pair.weights))
        self._prev = (current_grey, input_frame, output_frame)

    @property
    def output(self) -> float:
        return float(np.nanmean(self.output_errors)) if self.output_errors else float("nan")

    @property
    def input(self) -> float:
        return float(np.nanmean(self.input_errors)) if self.input_errors else float("nan")


class FrameDistances:
    """Mean content and style distances of output frames (each against its input frame), on VGG-19.

    Args:
        style: the style image, float32 (H, W, 3) in [0, 1].
        image_size: long side at which frames (and the style) are compared.
        device: torch device name.
    """

    def __init__(self, style: np.ndarray, image_size: int = 256, device: str = "auto") -> None:
        from ..device import resolve_device
        from ..eval.metrics import FeatureDistances
        from ..transforms import resize_long_side, to_tensor

        self.device = resolve_device(device)
        self.image_size = image_size
        style_t = resize_long_side(to_tensor(style, self.device), image_size)
        self.distances = FeatureDistances(style_t, style_t)  # content target replaced per frame
        self.content: list[float] = []
        self.style: list[float] = []

    def add(self, input_frame: np.ndarray, output_frame: np.ndarray) -> None:
        from ..losses.functional import content_losses, content_targets
        from ..transforms import resize_long_side, to_tensor

        d = self.distances
        inp = resize_long_side(to_tensor(input_frame, self.device), self.image_size)
        out = resize_long_side(to_tensor(output_frame, self.device), self.image_size)
        targets = content_targets(d.features(inp), d.content_layers)
        feats = d.features(out)
        self.content.append(sum(float(v) for v in content_losses(feats, targets, "mean").values()))
        self.style.append(d.style_distance(feats))


@dataclass
class VideoEvaluation:
    """The numbers of one stylised clip against its input clip and style.

    Attributes:
        frames: frames compared.
        warping_error: Lai et al.'s warping error of the output (lower is steadier).
        input_warping_error: the same on the input clip (the floor).
        content_distance, style_distance: mean per-frame VGG distances (nan when no style was given).
        size: (width, height) at which the warping error was measured (the output's size).
    """

    frames: int
    warping_error: float
    input_warping_error: float
    content_distance: float
    style_distance: float
    size: tuple[int, int]

    def as_dict(self) -> dict[str, object]:
        return {k: (None if isinstance(v, float) and v != v else v) for k, v in asdict(self).items()}


def evaluate_video(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    style: str | os.PathLike[str] | np.ndarray | None = None,
    *,
    image_size: int = 256,
    every: int = 5,
    max_frames: int | None = None,
    device: str = "auto",
    preset: str = "medium",
) -> VideoEvaluation:
    """Measure a stylised clip ``output`` against its ``input`` clip (see the module docstring).

    Args:
        input, output: video files with the same number of frames (the input is resized to the
            output's frame size).
        style: the style image (path, gallery name or array) for the distances; None skips them.
        image_size: long side for the VGG distances.
        every: distances on every ``every``-th frame (the warping error uses every frame).
        max_frames: stop after this many frames.

    Example:
        >>> ev = evaluate_video("clip.mp4", "clip_starry.mp4", "starry-night")   # doctest: +SKIP
        >>> ev.warping_error / ev.input_warping_error                             # doctest: +SKIP
    """
    from ..errors import InputError
    from .io import probe, read_frames

    if every < 1:
        raise InputError(f"every must be >= 1; got {every}")
    if image_size < 32:
        raise InputError(f"image_size must be at least 32 to compare on VGG features; got {image_size}")
    info_in, info_out = probe(input), probe(output)
    if info_in.frames != info_out.frames:
        raise InputError(
            f"{output} has {info_out.frames} frames but {input} has {info_in.frames}; "
            "give the input clip the output was made from"
        )
    size = (info_out.width, info_out.height)
    distances = None
    if style is not None:
        from ..device import resolve_device
        from ..memory import IMAGE_BYTES, STYLE_PASS_BYTES, check_pass_memory
        from .io import load_style

        long_side = max(size)  # frames and style compared at image_size: planned before any allocation
        hw = (-(-size[1] * image_size // long_side), -(-size[0] * image_size // long_side))
        check_pass_memory(
            hw,
            STYLE_PASS_BYTES + 6 * IMAGE_BYTES,
            resolve_device(device) if isinstance(device, str) else device,
            what="the comparison",
        )
        distances = FrameDistances(load_style(style), image_size, device)
    warping = WarpingError(preset)
    n = 0
    for a, b in zip(read_frames(info_in, size), read_frames(info_out)):
        if max_frames is not None and n >= max_frames:
            break
        x, y = a.rgb.astype(np.float32) / 255, b.rgb.astype(np.float32) / 255
        warping.add(x, y)
        if distances is not None and n % every == 0:
            distances.add(x, y)
        n += 1
    nan = float("nan")
    return VideoEvaluation(
        n,
        warping.output,
        warping.input,
        float(np.mean(distances.content)) if distances and distances.content else nan,
        float(np.mean(distances.style)) if distances and distances.style else nan,
        size,
    )
