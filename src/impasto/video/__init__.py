"""Video: stylise a clip with any method, steady from frame to frame, with its timing and sound.

* :mod:`.io`: PyAV reading (streamed) and atomic writing (timing, rotation, audio kept).
* :mod:`.flow`: DIS optical flow, reliability weights (Ruder et al. 2016), warping.
* :mod:`.stabilize`: flow-guided blending for one-pass methods (feed-forward, WCT, AdaIN).
* :mod:`.temporal`: Gatys et al. with Ruder et al.'s temporal loss.
* :mod:`.metrics`: warping error (Lai et al. 2018) and per-frame content/style distances.
* :mod:`.pipeline`: :func:`stylize_video` (batches, work folder, resume, progress).

Needs the ``video`` extra (``pip install 'impasto[video]'``: av, opencv-python-headless).
Submodules load on first use.
"""

from __future__ import annotations

from ..lazy import lazy_getattr

__all__ = ["stylize_video", "VideoResult", "evaluate_video", "VideoEvaluation", "probe", "VideoInfo"]

_LAZY = {
    "stylize_video": "pipeline",
    "VideoResult": "pipeline",
    "evaluate_video": "metrics",
    "VideoEvaluation": "metrics",
    "probe": "io",
    "VideoInfo": "io",
}

__getattr__ = lazy_getattr(__name__, _LAZY)
