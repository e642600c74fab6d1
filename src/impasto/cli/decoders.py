"""``impasto decoders train|eval``: the decoders of universal style transfer (Li et al. 2017).

* ``impasto decoders train --data DIR [DIR ...] --level relu3_1 -o RUN/`` trains the decoder of one
  VGG level for reconstruction (flags from :class:`impasto.universal.config.DecoderTrainConfig`);
  ``--resume`` continues ``RUN/checkpoint.pt``. Data: image folders, image or video files, ``skimage``.
* ``impasto decoders eval CHECKPOINT... --images FILE...`` prints each decoder's encode -> decode PSNR.
* ``impasto decoders export CHECKPOINT OUT.pt`` writes the decoder alone in fp16 (the shipped form).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

from .common import add_command, add_common_flags, add_run_folder_flags

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    from ..universal.config import DecoderTrainConfig
    from .common import add_command_with_actions, add_config_flags

    dsub = add_command_with_actions(
        sub,
        "decoders",
        help="train and measure the decoders of WCT/AdaIN style transfer",
        description="Decoders inverting VGG-19 at relu1_1 ... relu5_1 (Li et al. 2017).",
        dest="decoders_command",
    )

    t = add_command(
        dsub,
        "train",
        run_train,
        help="train the decoder of one VGG level for reconstruction",
        description="Train a decoder for reconstruction (pixel + VGG feature loss) on DATA.",
    )
    t.add_argument(
        "--data",
        nargs="+",
        required=True,
        metavar="SOURCE",
        help="image folders, image or video files, or 'skimage' (its bundled photos)",
    )
    t.add_argument("--exclude", nargs="*", default=[], metavar="NAME", help="file names to leave out (held-out photos)")
    t.add_argument(
        "--eval-images",
        nargs="*",
        default=[],
        metavar="FILE",
        help="held-out photos whose reconstruction PSNR is logged every --eval-every steps",
    )
    add_run_folder_flags(t, "run folder (checkpoint.pt)")
    t.add_argument("--threads", type=int, default=None, help="torch CPU threads [torch's default]")
    t.add_argument("--log-every", type=int, default=20, help="steps between log lines [20]")
    add_config_flags(t, DecoderTrainConfig, "training options")
    add_common_flags(t)

    e = add_command(
        dsub,
        "eval",
        run_eval,
        help="encode -> decode PSNR of decoders on photos",
        description="Print the reconstruction PSNR of each decoder CHECKPOINT on IMAGES.",
    )
    e.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT", help="decoder checkpoints or shipped files")
    e.add_argument("--images", nargs="+", required=True, metavar="FILE", help="photos (files or folders)")
    e.add_argument("--image-size", type=int, default=512, help="long side of the photos [512]")
    add_common_flags(e)

    x = add_command(
        dsub,
        "export",
        run_export,
        help="write a decoder alone as a small fp16 file",
        description="Write the decoder of CHECKPOINT to OUT (.pt), fp16 unless --fp32.",
    )
    x.add_argument("checkpoint", help="decoder checkpoint or run folder")
    x.add_argument("out", help="output .pt file")
    x.add_argument("--fp32", action="store_true", help="keep fp32 weights")
    add_common_flags(x)


def run_train(args: argparse.Namespace) -> int:
    import torch

    from ..universal.config import DecoderTrainConfig
    from ..universal.data import ReconstructionData
    from ..universal.train import load_eval_images, train
    from .common import config_from_args

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = config_from_args(args, DecoderTrainConfig)
    from ..io.paths import check_folder_path, check_output_folder

    check_output_folder(check_folder_path(args.output, "run folder"), args.data)  # never inside the photos
    data = ReconstructionData(args.data, cfg.crop, max_scale=cfg.max_scale, exclude=args.exclude)
    eval_images = load_eval_images(args.eval_images) if args.eval_images else []
    log.info("decoder %s: %d training images, config %s", cfg.level, len(data), json.dumps(cfg.to_dict()))
    start = time.perf_counter()

    def report(event: Any) -> None:
        if args.quiet or (event.step % args.log_every and event.step != event.total):
            return
        rate = (time.perf_counter() - start) / max(1, event.step - first[0])
        terms = " ".join(f"{k} {v:.4g}" for k, v in event.losses.items())
        log.info("step %d/%d %s (%.2f s/step)", event.step, event.total, terms, rate)

    first = [0]
    if args.resume:
        from ..train.checkpoint import load_checkpoint

        first[0] = int(load_checkpoint(f"{args.output}/checkpoint.pt", kind="decoder")["step"])
    train(cfg, data, args.output, resume=args.resume, eval_images=eval_images, callback=report)
    log.info("done: %s/checkpoint.pt", args.output)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from ..io.files import expand_inputs
    from ..universal.decoders import load_decoder
    from ..universal.train import ReconstructionLoss, heldout_psnr, load_eval_images

    images = load_eval_images(expand_inputs(args.images), args.image_size)
    for path in args.checkpoints:
        decoder, info = load_decoder(path)
        value = heldout_psnr(decoder, ReconstructionLoss(decoder.level, feature_weight=0.0), images)
        print(f"{path}\t{decoder.level}\tstep {info.get('step', '?')}\t{value:.2f} dB")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import InputError
    from ..universal.decoders import export_decoder

    if Path(args.out).suffix != ".pt":
        raise InputError(f"decoder files end in .pt; got {args.out}")
    out = export_decoder(args.checkpoint, args.out, fp16=not args.fp32)
    log.info("wrote %s (%.2f MB)", out, out.stat().st_size / 1e6)
    return 0
