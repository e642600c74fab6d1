"""Flow-guided stabilisation of frames stylised one at a time (feed-forward, WCT, AdaIN).

A network or one-pass transform stylises each frame on its own, so small changes in the input
(noise, compression, lighting) move the strokes from frame to frame: flicker. The stabiliser blends
each stylised frame with the previous *output* frame warped by the optical flow of the input
frames, only where that flow is reliable (:func:`impasto.video.flow.reliable_weights`):

    out_t = s_t + strength * c_t * (warp(out_{t-1}) - s_t)

with s_t the stylised frame, c_t the reliability weights and ``strength`` in [0, 1) (0: off). The
previous output, not the previous stylised frame, is blended, so the smoothing is recursive (an
exponential filter along the motion). At disocclusions and motion boundaries c_t = 0 and the fresh
stylised frame shows through, which keeps moving objects from dragging ghosts behind them; a
blend without the flow would leave them. ``strength`` below 1 lets every pixel forget the past
geometrically, so flow errors cannot accumulate without bound.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .flow import FlowEstimator, flow_pair, grey


def blend(stylised: np.ndarray, warped_previous: np.ndarray, weights: np.ndarray, strength: float) -> np.ndarray:
    """``stylised + strength * weights * (warped_previous - stylised)``, clipped to [0, 1]; (H, W, 3) float32."""
    alpha = (strength * weights)[..., None].astype(np.float32)
    return np.clip(stylised + alpha * (warped_previous - stylised), 0.0, 1.0)


class Stabilizer:
    """Recursive flow-guided blending over a stream of frames.

    Args:
        strength: 0 (off) to below 1; how much of the warped previous output a reliable pixel keeps.
        preset: DIS flow preset (see :class:`impasto.video.flow.FlowEstimator`).

    Call it once per frame, in order, with the input frame and its stylised version (float32
    (H, W, 3) in [0, 1], the same size); it returns the output frame.

    Example:
        >>> stab = Stabilizer(0.7)                              # doctest: +SKIP
        >>> outs = [stab(frame, net(frame)) for frame in frames]  # doctest: +SKIP
    """

    def __init__(self, strength: float = 0.7, preset: str = "medium") -> None:
        if not 0.0 <= strength < 1.0:
            raise InputError(f"stabilize strength must be in [0, 1) (0: off); got {strength}")
        self.strength = float(strength)
        self.flow = FlowEstimator(preset) if strength > 0 else None
        self.previous_grey: np.ndarray | None = None
        self.previous_out: np.ndarray | None = None

    def reset(self, input_frame: np.ndarray, output_frame: np.ndarray) -> None:
        """Continue after ``input_frame`` whose output was ``output_frame`` (a resumed run)."""
        self.previous_grey, self.previous_out = grey(input_frame), output_frame.astype(np.float32)

    def __call__(self, input_frame: np.ndarray, stylised: np.ndarray) -> np.ndarray:
        stylised = stylised.astype(np.float32, copy=False)
        if self.flow is None:
            return stylised
        current_grey = grey(input_frame)
        out = stylised
        if self.previous_grey is not None and self.previous_out is not None:
            if self.previous_grey.shape != current_grey.shape:
                raise ValueError("frames of one video must have one size")
            pair = flow_pair(self.flow, self.previous_grey, current_grey)
            out = blend(stylised, pair.warp_previous(self.previous_out), pair.weights, self.strength)
        self.previous_grey, self.previous_out = current_grey, out
        return out
