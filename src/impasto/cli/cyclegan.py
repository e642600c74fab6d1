"""``impasto cyclegan train|apply``: unpaired image-to-image translation (Zhu et al. 2017).

``train A_FOLDER B_FOLDER -o CHECKPOINT`` trains G: A->B and F: B->A; its flags
are generated from :class:`impasto.cyclegan.train.CycleGANConfig`. ``--resume``
continues from CHECKPOINT at its saved step, with its stored configuration
(flags given again override it, e.g. a larger ``--steps``).

``apply CHECKPOINT IMAGE... -o OUT`` translates files or folders with an impasto
checkpoint (``--direction AtoB|BtoA``) or a recognised foreign generator file
(pytorch-CycleGAN-and-pix2pix ``latest_net_G_A.pth``, vintagify).
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

from ..errors import ImpastoError
from .common import ProgressBar, add_command, config_values, picked

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    add_command(sub, "cyclegan", train=run_train, apply=run_apply)


def run_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..cyclegan.train import CycleGANConfig, train_cyclegan

    if Path(args.output).exists() and not args.resume:
        raise ImpastoError(f"checkpoint {args.output} exists; add --resume to continue it, or remove it to start over")
    overrides = config_values(args, CycleGANConfig)
    config = None if args.resume else CycleGANConfig().replace(**overrides).validate()
    with ProgressBar("cyclegan", quiet=args.quiet) as bar:
        run = train_cyclegan(
            args.folder_a,
            args.folder_b,
            config=config,
            checkpoint=args.output,
            resume=args.resume,
            samples=args.samples,
            callback=bar,
            **(overrides if args.resume else {}),
        )
    log.info("trained to step %d in %.1f s; checkpoint %s", run.steps, run.seconds, run.checkpoint)
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from ..cyclegan.apply import translate_files
    from ..memory import MAX_SIDE

    if args.image_size is not None and args.image_size < 4:
        raise ImpastoError(f"--image-size must be >= 4; got {args.image_size}")
    if args.image_size is not None and args.image_size > MAX_SIDE:  # each image's memory is planned as it comes
        raise ImpastoError(f"--image-size {args.image_size} is beyond the {MAX_SIDE} px impasto plans for")
    t0 = time.perf_counter()
    with ProgressBar("translate", quiet=args.quiet, unit="image") as bar:
        written = translate_files(
            args.checkpoint,
            args.images,
            args.output,
            **picked(args, "direction", "image_size", "device", "fail_fast"),
            callback=bar,
        )
    log.info("wrote %d image(s) to %s (%.1f s)", len(written), args.output, time.perf_counter() - t0)
    return 0
