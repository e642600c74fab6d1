"""``impasto decoders train|eval``: the decoders of universal style transfer (Li et al. 2017).

* ``impasto decoders train --data DIR [DIR ...] --level relu3_1 -o RUN/`` trains the decoder of one
  VGG level for reconstruction (flags from :class:`impasto.universal.config.DecoderTrainConfig`);
  ``--resume`` continues ``RUN/checkpoint.pt``. Data: image folders, image or video files, ``skimage``.
  ``--style-weight W --style-data SOURCE... --init DECODER.pt`` fine-tunes a decoder for stylisation;
  ``--style-depth relu4_1 --cascade-from DEEPER.pt`` fine-tunes a shallow level for its place in the cascade.
  ``--content-weight W`` adds a relu4_1 feature loss to the image the level is handed.
* ``impasto decoders eval CHECKPOINT... --images FILE...`` prints each decoder's encode -> decode PSNR.
* ``impasto decoders export CHECKPOINT OUT.pt`` writes the decoder alone in fp16 (the shipped form).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

from .common import add_command

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    add_command(sub, "decoders", train=run_train, eval=run_eval, export=run_export)


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

    run_dir = check_folder_path(args.output, "run folder")
    check_output_folder(run_dir, [*args.data, *(args.style_data or [])])  # never inside the photos
    from ..errors import InputError

    if cfg.style_weight and not args.style_data:
        raise InputError("--style-weight > 0 trains for stylisation: give the style images with --style-data")
    if args.style_data and not cfg.style_weight:  # not silently a reconstruction run
        raise InputError("--style-data is only used with --style-weight > 0 (stylisation training)")
    if cfg.init and not args.resume:  # a bad --init is refused before the data are read
        from ..universal.train import initial_weights

        initial_weights(cfg)
    if cfg.cascade_from:  # as --init: a bad file is refused at once
        from ..universal.train import cascade_decoders

        cascade_decoders(cfg)
    data = ReconstructionData(args.data, cfg.crop, max_scale=cfg.max_scale, exclude=args.exclude)
    style_data = (
        ReconstructionData(args.style_data, cfg.crop, max_scale=cfg.max_scale, exclude=args.exclude)
        if cfg.style_weight
        else None
    )
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
    train(cfg, data, args.output, style_data=style_data, resume=args.resume, eval_images=eval_images, callback=report)
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
