"""``impasto evaluate CONTENT STYLE RESULT... [--json] [--sheet OUT.png]``: score stylised images.

Prints one row per image (the content and style themselves first, as reference points): SSIM and
PSNR against the content, and the VGG content and style distances (see
:mod:`impasto.eval.metrics`). ``--by-layer`` adds the style distance's term at each VGG layer.
``--json`` prints the same as JSON, the terms by layer included (an infinite PSNR, identical images,
is ``null``); ``--sheet`` draws the images side by side with their numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from ..errors import InputError
from .common import add_command

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    add_command(sub, "evaluate", run_evaluate)


def _psnr_text(value: float) -> str:
    return "inf" if value == float("inf") else f"{value:.2f}"


def run_evaluate(args: argparse.Namespace) -> int:
    from ..api import evaluate
    from ..io import check_output_path

    if args.image_size is not None and args.image_size < 32:
        raise InputError(f"--image-size must be at least 32; got {args.image_size}")
    sheet = check_output_path(args.sheet, [args.content, args.style, *args.results]) if args.sheet else None
    try:
        ev = evaluate(
            args.content, args.style, args.results, image_size=args.image_size, device=args.device, weights=args.weights
        )
    except InputError as err:  # the library names the option; say the flag
        raise InputError(
            str(err).replace("image_size=", "--image-size ").replace("image_size", "--image-size")
        ) from None
    if args.json:
        print(json.dumps(ev.as_dict()))
    else:
        width = max(len(row.name) for row in ev.rows)
        print(f"{'image':<{width}}  {'SSIM':>6}  {'PSNR dB':>7}  {'content dist':>12}  {'style dist':>10}")
        for row in ev.rows:
            print(
                f"{row.name:<{width}}  {row.ssim:6.3f}  {_psnr_text(row.psnr):>7}  "
                f"{row.content_distance:12.4g}  {row.style_distance:10.4g}"
            )
        if args.by_layer:
            layers = list(ev.rows[0].style_by_layer)
            print(f"\nstyle distance by layer\n{'image':<{width}}  " + "  ".join(f"{k:>10}" for k in layers))
            for row in ev.rows:
                terms = "  ".join(f"{row.style_by_layer[k]:10.4g}" for k in layers)
                print(f"{row.name:<{width}}  {terms}")
    if sheet is not None:
        from ..eval.figures import comparison_sheet

        entries = [
            (
                row.name,
                image,
                [
                    f"SSIM {row.ssim:.3f}   PSNR {_psnr_text(row.psnr)} dB",
                    f"content {row.content_distance:.3g}   style {row.style_distance:.3g}",
                ],
            )
            for row, image in zip(ev.rows, ev.images)
        ]
        comparison_sheet(
            entries,
            sheet,
            title=f"Compared at {ev.size[1]}x{ev.size[0]}: SSIM/PSNR against the "
            "content; VGG content and style distances",
        )
        log.info("wrote %s", sheet)
    return 0
