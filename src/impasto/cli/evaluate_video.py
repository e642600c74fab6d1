"""``impasto evaluate-video IN OUT [--style STYLE] [--json]``: how steady and how stylised a clip is.

Prints the warping error of Lai et al. 2018 for the stylised clip and for the input clip (its floor;
flow and reliability masks from the input frames), and with ``--style`` the mean per-frame content
and style distances. See :mod:`impasto.video.metrics`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import add_command, add_common_flags, add_device_flag, add_flow_flag, add_json_flag, picked


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "evaluate-video",
        run_evaluate_video,
        help="score a stylised clip: warping error, content and style distances",
        description="Score the stylised clip OUT against its input IN: the warping error "
        "(Lai et al. 2018) of OUT and of IN (the floor), and with --style the mean "
        "per-frame VGG content and style distances.",
    )
    p.add_argument("input", metavar="IN", help="the input clip")
    p.add_argument("output", metavar="OUT", help="the stylised clip (same number of frames)")
    p.add_argument("--style", help="the painting (file or gallery name) for the style distance")
    p.add_argument("--image-size", type=int, default=256, help="long side for the VGG distances [256]")
    p.add_argument("--every", type=int, default=5, help="distances on every N-th frame [5]")
    p.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    add_flow_flag(p)
    add_device_flag(p)
    add_json_flag(p, "print the numbers as JSON on stdout")
    add_common_flags(p)


def run_evaluate_video(args: argparse.Namespace) -> int:
    from ..video.metrics import evaluate_video

    ev = evaluate_video(
        args.input,
        args.output,
        args.style,
        **picked(args, "image_size", "every", "max_frames", "device"),
        preset=args.flow,
    )
    if args.json:
        print(json.dumps(ev.as_dict()))
        return 0
    print(f"frames compared        {ev.frames} at {ev.size[0]}x{ev.size[1]}")
    print(f"warping error (output) {ev.warping_error:.6g}")
    print(f"warping error (input)  {ev.input_warping_error:.6g}   (the floor)")
    if args.style:
        print(f"content distance       {ev.content_distance:.6g}")
        print(f"style distance         {ev.style_distance:.6g}")
    return 0
