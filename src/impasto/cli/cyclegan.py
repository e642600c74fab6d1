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
from .common import (
    ProgressBar,
    add_command,
    add_command_with_actions,
    add_common_flags,
    add_config_flags,
    add_device_flag,
    add_fail_fast_flag,
    config_values,
    picked,
)

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    from ..cyclegan.config import CycleGANConfig

    actions = add_command_with_actions(
        sub,
        "cyclegan",
        help="CycleGAN: train on two unpaired folders, or translate images",
        description="CycleGAN unpaired image-to-image translation (Zhu et al. 2017).",
        dest="action",
    )

    t = add_command(
        actions,
        "train",
        run_train,
        help="train G: A->B and F: B->A on two unpaired image folders",
        description="Train a CycleGAN between two folders of unpaired images.",
    )
    t.add_argument("folder_a", help="folder of domain A images")
    t.add_argument("folder_b", help="folder of domain B images")
    t.add_argument("-o", "--output", required=True, help="checkpoint file to write (and to resume from)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint at its saved step")
    t.add_argument("--samples", metavar="DIR", help="write sample grids A, G(A), F(G(A)), B, F(B), G(F(B)) here")
    add_common_flags(t)
    add_config_flags(t, CycleGANConfig)

    a = add_command(
        actions,
        "apply",
        run_apply,
        help="translate images with a generator",
        description="Translate images with an impasto CycleGAN checkpoint or a recognised "
        "foreign generator (pytorch-CycleGAN-and-pix2pix latest_net_G_A.pth, vintagify).",
    )
    a.add_argument("checkpoint", help="impasto checkpoint or foreign generator .pth")
    a.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    a.add_argument(
        "-o", "--output", required=True, help="output image (one input file) or folder (created; <name>.png per image)"
    )
    a.add_argument(
        "--direction",
        choices=("AtoB", "BtoA"),
        default=None,
        help="AtoB uses G, BtoA uses F (impasto checkpoints) [AtoB]",
    )
    a.add_argument(
        "--image-size",
        type=int,
        default=None,
        metavar="N",
        help="resize the long side to N before translating [keep the size]",
    )
    add_device_flag(a, "auto, cpu, cuda, cuda:N or mps [auto]")
    add_fail_fast_flag(a)
    add_common_flags(a)


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
