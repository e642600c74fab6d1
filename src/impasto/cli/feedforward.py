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
from .common import ProgressBar, add_command, picked

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    add_command(sub, "fast", train=run_train, apply=run_apply, export=run_export)


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
