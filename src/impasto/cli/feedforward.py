"""``impasto fast train|apply|export``: feed-forward stylisation networks (Johnson et al. 2016).

* ``impasto fast train --style PAINTING.jpg --data PHOTOS/ -o RUN/`` trains a network
  (flags generated from :class:`impasto.feedforward.config.FeedForwardTrainConfig`); ``--resume``
  continues ``RUN/checkpoint.pt``. Works under ``torchrun`` for several processes.
* ``impasto fast apply [MODEL] IMAGE... -o OUT`` stylises files and folders with a
  checkpoint, an exported model or a shipped model (``--model starry-night``).
* ``impasto fast export MODEL OUT.onnx|OUT.pt`` writes ONNX or a small fp16 model file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from ..errors import InputError
from .common import (
    ProgressBar,
    add_command,
    add_common_flags,
    add_device_flag,
    add_fail_fast_flag,
    add_json_flag,
    add_run_folder_flags,
    picked,
)

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    from ..feedforward.config import FeedForwardTrainConfig
    from .common import add_command_with_actions, add_config_flags

    fsub = add_command_with_actions(
        sub,
        "fast",
        help="feed-forward stylisation: train a network per style, apply it in milliseconds",
        description="Feed-forward style transfer networks (Johnson et al. 2016, instance norm).",
        dest="fast_command",
    )

    t = add_command(
        fsub,
        "train",
        run_train,
        help="train a network for one style on a folder of photos",
        description="Train a feed-forward network for STYLE on the photos of DATA.",
    )
    add_run_folder_flags(t, "run folder: checkpoint.pt, samples/, loss.png, history.csv")
    add_common_flags(t)
    add_config_flags(t, FeedForwardTrainConfig)

    a = add_command(
        fsub,
        "apply",
        run_apply,
        help="stylise images with a trained network",
        description="Stylise IMAGE files and folders with a trained or shipped network.",
    )
    a.add_argument(
        "inputs",
        nargs="+",
        metavar="IMAGE",
        help="image files or folders; without --model the first is the model (checkpoint or name)",
    )
    a.add_argument(
        "-m", "--model", help="checkpoint, exported model file, or shipped model name (starry-night, starry-night-lite)"
    )
    a.add_argument("-o", "--output", required=True, help="output image (one input) or folder")
    a.add_argument(
        "--preserve-color",
        "--preserve-colors",
        action="store_true",
        help="keep each photo's colours (luminance transfer in YIQ)",
    )
    a.add_argument("--max-size", type=int, default=None, help="shrink images whose long side is larger")
    a.add_argument("--batch-size", type=int, default=4, help="images per forward pass (same-sized ones) [4]")
    a.add_argument("--suffix", default=None, help="output extension for folders, e.g. .png [the input's]")
    add_device_flag(a, "auto, cpu, cuda, cuda:N [auto]")
    a.add_argument(
        "--precision",
        default="fp32",
        choices=("auto", "fp32", "bf16"),
        help="fp32, bf16 (autocast + channels-last) or auto (bf16 where native) [fp32]",
    )
    a.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "torch", "onnxruntime"),
        help="run the network with PyTorch or onnxruntime (CPU, fp32); auto: onnxruntime on the CPU "
        "in fp32 when installed [auto]",
    )
    add_json_flag(a)
    add_fail_fast_flag(a)
    add_common_flags(a)

    e = add_command(
        fsub,
        "export",
        run_export,
        help="export a network to ONNX (.onnx) or a small fp16 model file (.pt)",
        description="Export MODEL to OUT: .onnx for onnxruntime, .pt for an fp16 impasto model.",
    )
    e.add_argument("model", help="checkpoint, exported model file, or shipped model name")
    e.add_argument("out", help="output file: .onnx or .pt")
    e.add_argument("--fp32", action="store_true", help="keep fp32 weights in a .pt export")
    e.add_argument("--opset", type=int, default=17, help="ONNX opset [17]")
    add_common_flags(e)


def run_train(args: argparse.Namespace) -> int:
    from ..feedforward.config import FeedForwardTrainConfig
    from ..feedforward.train import train
    from .common import config_from_args

    cfg = config_from_args(args, FeedForwardTrainConfig)
    t0 = time.perf_counter()
    with ProgressBar("train", quiet=args.quiet) as bar:
        state = train(cfg, args.output, resume=args.resume, callback=bar)
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 wrote anything
        log.info(
            "step %d; wrote %s (%.1f s)", state.step, Path(args.output) / "checkpoint.pt", time.perf_counter() - t0
        )
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from ..feedforward.apply import stylize_files

    inputs = list(args.inputs)
    model = args.model
    if model is None:
        if len(inputs) < 2:
            raise InputError("give a model (--model NAME_OR_FILE, or as the first argument) and at least one image")
        model, inputs = inputs[0], inputs[1:]
    names = ("preserve_color", "max_size", "batch_size", "device", "precision", "engine", "suffix", "fail_fast")
    t0 = time.perf_counter()
    with ProgressBar("apply", quiet=args.quiet, unit="image") as bar:
        written = stylize_files(inputs, args.output, model, **picked(args, *names), callback=bar)
    seconds = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"outputs": [str(p) for p in written], "seconds": round(seconds, 3), "model": model}))
    else:
        log.info("wrote %d image(s) (%.2f s)", len(written), seconds)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..feedforward.export import export_model, export_onnx
    from ..feedforward.model import resolve_model_path
    from ..io.paths import check_output_file

    out = check_output_file(args.out, [resolve_model_path(args.model)])
    if out.suffix.lower() == ".onnx":
        export_onnx(args.model, out, opset=args.opset)
    elif out.suffix.lower() == ".pt":
        if not out.parent.is_dir():
            raise InputError(f"cannot write {out}: folder {out.parent} does not exist")
        export_model(args.model, out, half=not args.fp32)
    else:
        raise InputError(f"export writes .onnx or .pt files; got {out}")
    log.info("wrote %s (%.2f MB)", out, out.stat().st_size / 1e6)
    return 0
