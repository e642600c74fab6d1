"""``impasto video IN -o OUT``: stylise a clip, steady from frame to frame, timing and sound kept.

``--method fast`` (a feed-forward network, ``--model``), ``wct`` / ``adain`` (universal style
transfer with ``--style``) or ``gatys`` (optimisation with ``--style`` and Ruder et al.'s temporal
loss; its options are the Gatys flags, e.g. ``--steps`` for the first frame). One-pass methods are
stabilised along the optical flow (``--stabilize``, 0 turns it off). Interrupted runs continue with
``--resume``; the output appears only when complete. See :func:`impasto.video.stylize_video`.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from .common import ProgressBar, add_command, allow_int8, picked

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    allow_int8(add_command(sub, "video", run_video))


def run_video(args: argparse.Namespace) -> int:
    from ..config import GatysConfig
    from ..video.pipeline import check_precision, stylize_video
    from .common import config_from_args

    check_precision(args.method, args.precision)
    config = config_from_args(args, GatysConfig) if args.method == "gatys" else None
    same = ("method", "model", "style", "stabilize", "image_size", "codec", "crf", "batch_size", "precision")
    same += ("strength", "anchor", "decoders", "smooth_stats", "temporal_weight", "later_steps", "resume", "work_dir")
    with ProgressBar("video", quiet=args.quiet, unit="frame") as bar:
        result = stylize_video(
            args.input,
            args.output,
            **picked(args, *same, "keep_frames"),
            audio=not args.no_audio,
            device=args.device or "auto",
            config=config,
            flow_preset=args.flow,
            callback=bar,
        )
    summary = {
        "output": str(result.output),
        "frames": result.frames,
        "resumed": result.resumed,
        "seconds": round(result.seconds, 2),
        "fps": round(result.fps, 2),
        "size": list(result.size),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        log.info(
            "wrote %s: %d frames at %dx%d (%.1f s, %.2f frames/s)",
            result.output,
            result.frames,
            *result.size,
            result.seconds,
            result.fps,
        )
    return 0
