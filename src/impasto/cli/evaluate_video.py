"""``impasto evaluate-video IN OUT [--style STYLE] [--json]``: how steady and how stylised a clip is.

Prints the warping error of Lai et al. 2018 for the stylised clip and for the input clip (its floor;
flow and reliability masks from the input frames), and with ``--style`` the mean per-frame content
and style distances. See :mod:`impasto.video.metrics`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import add_command, picked


def register(sub: Any) -> None:
    add_command(sub, "evaluate-video", run_evaluate_video)


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
