"""Optical flow between video frames, where it can be trusted, and warping along it.

Flow is OpenCV's DIS (Kroeger et al. 2016, dense inverse search; opencv-python-headless), computed
on the grey input frames. Conventions: ``flow`` from frame A to frame B maps each pixel x of A to
x + flow(x) in B, as ``cv2.calcOpticalFlow*`` does, and :func:`warp` samples an image at
x + flow(x). So the previous stylised frame is brought into the current frame's place with the
flow from the current frame to the previous one (``backward``).

Reliability follows Ruder, Dosovitskiy & Brox (2016, sec. 3.2, after Sundaram et al. 2010): a
pixel of the current frame is unreliable where the forward and backward flows disagree
(disocclusion: ``|w~ + w^|^2 > 0.01 (|w~|^2 + |w^|^2) + 0.5``, with w~ the forward flow sampled at
x + w^(x)) or on a motion boundary (``|grad u^|^2 + |grad v^|^2 > 0.01 |w^|^2 + 0.002``); its weight
is 0 there and 1 elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}


def _cv2():  # noqa: ANN202
    try:
        import cv2
    except ImportError:
        from ..errors import InputError

        raise InputError("optical flow needs OpenCV: pip install 'impasto[video]'") from None
    return cv2


def grey(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 or float [0, 1] RGB -> (H, W) uint8 luma, DIS's input."""
    if rgb.dtype != np.uint8:
        rgb = np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    return _cv2().cvtColor(np.ascontiguousarray(rgb), _cv2().COLOR_RGB2GRAY)


class FlowEstimator:
    """DIS optical flow with one OpenCV object reused across frames (it keeps its buffers).

    Args:
        preset: ``"ultrafast"``, ``"fast"`` or ``"medium"`` (OpenCV's DIS presets; slower is finer).
    """

    def __init__(self, preset: str = "medium") -> None:
        if preset not in PRESETS:
            from ..errors import InputError

            raise InputError(f"flow preset must be one of {', '.join(PRESETS)}; got {preset!r}")
        cv2 = _cv2()
        self.dis = cv2.DISOpticalFlow_create(PRESETS[preset])

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow (H, W, 2) float32 (dx, dy) from grey frame ``a`` to grey frame ``b``."""
        return self.dis.calc(np.ascontiguousarray(a), np.ascontiguousarray(b), None)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` (H, W, C) at x + flow(x), bicubic, borders replicated; float32 out.

    Bicubic, not bilinear: the stabiliser warps its own previous output again at every frame, and
    bilinear resampling, compounded, blurs the strokes and raises the style distance of a stabilised
    clip several times more than bicubic does (benchmarks/video.py). Values may overshoot [0, 1] slightly.

    Example:
        >>> img = np.arange(12, dtype=np.float32).reshape(3, 4, 1)
        >>> shift = np.zeros((3, 4, 2), np.float32); shift[..., 0] = 1   # one pixel to the right
        >>> warp(img, shift)[0, :, 0].tolist()
        [1.0, 2.0, 3.0, 3.0]
    """
    cv2 = _cv2()
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    out = cv2.remap(
        np.ascontiguousarray(image, dtype=np.float32),
        xs + flow[..., 0],
        ys + flow[..., 1],
        interpolation=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return out.reshape(image.shape) if out.ndim != image.ndim else out


def reliable_weights(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Per-pixel weights (H, W) float32 of the current frame: 1 where its backward flow can be
    trusted, 0 at disocclusions and motion boundaries (Ruder et al. 2016, see the module docstring).

    Args:
        forward: flow from the previous frame to the current one.
        backward: flow from the current frame to the previous one.
    """
    forward_at = warp(forward, backward)  # w~(x) = w(x + w^(x))
    mismatch = np.sum((forward_at + backward) ** 2, axis=2)
    bound = 0.01 * (np.sum(forward_at**2, axis=2) + np.sum(backward**2, axis=2)) + 0.5
    occluded = mismatch > bound
    du_y, du_x = np.gradient(backward[..., 0])
    dv_y, dv_x = np.gradient(backward[..., 1])
    edge = du_x**2 + du_y**2 + dv_x**2 + dv_y**2 > 0.01 * np.sum(backward**2, axis=2) + 0.002
    return (~(occluded | edge)).astype(np.float32)


@dataclass
class FlowPair:
    """The flows between a previous and a current frame, and the current frame's reliable pixels.

    Attributes:
        backward: flow from the current frame to the previous one (brings the previous frame here).
        weights: (H, W) 1 where ``backward`` is reliable, 0 where it is not.
    """

    backward: np.ndarray
    weights: np.ndarray

    def warp_previous(self, previous: np.ndarray) -> np.ndarray:
        """The previous frame (or its stylised version) moved into the current frame's place."""
        return warp(previous, self.backward)


def flow_pair(estimator: FlowEstimator, previous_grey: np.ndarray, current_grey: np.ndarray) -> FlowPair:
    """Forward and backward DIS flow between two grey frames, and the reliability weights."""
    forward = estimator(previous_grey, current_grey)
    backward = estimator(current_grey, previous_grey)
    return FlowPair(backward, reliable_weights(forward, backward))
