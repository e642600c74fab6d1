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

from .common import ProgressBar, add_command, add_common_flags, add_flow_flag, add_json_flag, picked

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    from ..config import GatysConfig
    from .common import add_config_flags

    p = add_command(
        sub,
        "video",
        run_video,
        help="stylise a video clip (any method), steady, with its timing and sound",
        description="Stylise the clip IN into OUT. Frames are stabilised along the optical flow "
        "(one-pass methods) or optimised with a temporal loss (gatys); the audio, frame "
        "rate, timestamps and rotation are kept; OUT appears only when complete.",
    )
    p.add_argument("input", metavar="IN", help="input video")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output video (.mp4, .mov, .mkv, .webm, .avi)")
    p.add_argument("--method", default="fast", choices=("fast", "wct", "adain", "gatys"), help="[fast]")
    p.add_argument(
        "-m",
        "--model",
        default="starry-night",
        help="fast: shipped model (starry-night, starry-night-lite), checkpoint or exported model [starry-night]",
    )
    p.add_argument("--style", help="wct, adain, gatys: the painting (file or gallery name, e.g. great-wave)")
    p.add_argument(
        "--stabilize",
        type=float,
        default=None,
        metavar="S",
        help="fast, wct, adain: flow-guided blending strength in [0, 1), 0 = off [0.7]",
    )
    p.add_argument("--strength", type=float, default=1.0, help="wct, adain: style strength in [0, 1] [1]")
    p.add_argument("--decoders", default=None, metavar="FOLDER", help="wct, adain: decoder folder [shipped]")
    p.add_argument(
        "--smooth-stats",
        type=float,
        default=0.0,
        metavar="M",
        help="wct, adain: moving average of the content's feature statistics over frames, momentum in [0, 1) [0]",
    )
    p.add_argument(
        "--temporal-weight",
        type=float,
        default=None,
        help="gatys: weight of the temporal loss, 0 = independent frames [1000]",
    )
    p.add_argument(
        "--later-steps",
        type=int,
        default=None,
        help="gatys: optimisation steps for each frame after the first [half of --steps]",
    )
    p.add_argument("--codec", default="libx264", help="video encoder, e.g. libx264, libx265, libvpx-vp9 [libx264]")
    p.add_argument("--crf", type=int, default=18, help="constant-rate quality, lower is better [18]")
    p.add_argument("--no-audio", action="store_true", help="drop the sound track")
    p.add_argument("--batch-size", type=int, default=4, help="fast: frames per network pass [4]")
    add_flow_flag(p)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its work folder")
    p.add_argument(
        "--work-dir",
        default=None,
        metavar="FOLDER",
        help="where finished frames are kept until the output is complete [OUT.frames]",
    )
    p.add_argument("--keep-frames", action="store_true", help="keep the work folder after success")
    add_json_flag(p)
    add_common_flags(p)
    add_config_flags(p, GatysConfig, "size, device and gatys options (--image-size: output long side [the input's])")


def run_video(args: argparse.Namespace) -> int:
    from ..config import GatysConfig
    from ..video.pipeline import stylize_video
    from .common import config_from_args

    config = config_from_args(args, GatysConfig) if args.method == "gatys" else None
    same = ("method", "model", "style", "stabilize", "image_size", "codec", "crf", "batch_size", "precision")
    same += ("strength", "decoders", "smooth_stats", "temporal_weight", "later_steps", "resume", "work_dir")
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
