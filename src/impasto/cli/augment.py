"""``impasto augment``: a data set stylised offline (Stylized-ImageNet recipe), and the style prior.

* ``impasto augment IN_DIR -o OUT_DIR --copies K [--styles DIR] [--strength A] [--method adain|wct]``
  stylises every image below IN_DIR into OUT_DIR (same relative paths, ``manifest.csv``),
  resumable; ``torchrun --nproc-per-node N -m impasto augment ...`` shards it over N processes.
* ``impasto augment --fit-prior OUT.pt [--styles DIR]`` fits the style-statistics prior of
  ``StyleAugment(styles="prior")`` to the paintings (default: the gallery, whose fit is shipped).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from .common import ProgressBar, add_command, add_common_flags, add_device_flag, picked

log = logging.getLogger("impasto")


def _strength(text: str) -> Any:
    """``0.7`` or a range ``0.5:1``."""
    try:
        parts = [float(x) for x in text.split(":")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or LOW:HIGH within [0, 1]; got {text!r}") from None
    if len(parts) > 2:
        raise argparse.ArgumentTypeError(f"expected a number or LOW:HIGH; got {text!r}")
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "augment",
        run,
        help="stylise a whole image data set with random paintings (style augmentation)",
        description="Stylise every image below IN_DIR with a random painting (Geirhos et al. 2019), "
        "keeping relative paths; or fit the style prior with --fit-prior.",
    )
    p.add_argument("input", nargs="?", metavar="IN_DIR", help="folder of images (subfolders included)")
    p.add_argument("-o", "--output", metavar="OUT_DIR", help="output folder (outside IN_DIR)")
    p.add_argument("--copies", type=int, default=1, help="stylised copies per image [1]")
    p.add_argument(
        "--styles",
        nargs="+",
        default=None,
        metavar="STYLE",
        help="folder(s), files or gallery names of paintings [the gallery]",
    )
    p.add_argument(
        "--strength",
        type=_strength,
        default=1.0,
        metavar="A",
        help="style strength in [0, 1], or LOW:HIGH drawn per image [1]",
    )
    p.add_argument("--method", choices=("adain", "wct"), default="adain", help="feature transform [adain]")
    p.add_argument("--image-size", type=int, default=None, help="long side of the outputs [each image's own]")
    p.add_argument("--style-size", type=int, default=256, help="long side of the paintings [256]")
    p.add_argument("--batch-size", type=int, default=8, help="images of one size stylised together [8]")
    p.add_argument("--seed", type=int, default=0, help="fixes each file's painting and strength [0]")
    p.add_argument("--levels", nargs="+", default=None, metavar="LEVEL", help="decoder levels [all found]")
    p.add_argument(
        "--decoders",
        default=None,
        metavar="FOLDER",
        help="folder of <level>.pt or <level>/checkpoint.pt [the shipped decoders]",
    )
    add_device_flag(p, "auto, cpu, cuda, cuda:N [auto]")
    p.add_argument(
        "--fit-prior",
        default=None,
        metavar="OUT.pt",
        help="instead: fit the style-statistics prior to the paintings and write it",
    )
    p.add_argument("--crops", type=int, default=64, help="with --fit-prior: crops per painting [64]")
    add_common_flags(p)
    p.set_defaults(parser=p)


def run(args: argparse.Namespace) -> int:
    from ..config.base import check_seed
    from ..errors import InputError

    check_seed(args.seed)  # both paths draw from generators seeded with it
    if args.fit_prior:
        return _fit_prior(args)
    if not args.input or not args.output:
        raise InputError("give IN_DIR and -o OUT_DIR (or --fit-prior OUT.pt)")
    from ..augment.dataset import augment_folder
    from ..device import resolve_device
    from ..train.distributed import cleanup, init_from_env

    info = init_from_env(args.device)
    device = info.device if info.enabled else resolve_device(args.device)
    same = ("copies", "strength", "method", "image_size", "batch_size", "seed", "levels", "decoders", "style_size")
    try:
        with ProgressBar("augment", quiet=args.quiet or not info.is_main, unit="image") as bar:
            result = augment_folder(
                args.input,
                args.output,
                styles=args.styles if args.styles else "gallery",
                **picked(args, *same),
                device=device,
                rank=info.rank,
                world_size=info.world_size,
                callback=bar,
            )
    finally:
        cleanup(info)
    rate = result.written / result.seconds if result.seconds > 0 else 0.0
    log.info(
        "%d written (%.2f images/s), %d already done, 0 failed%s",
        result.written,
        rate,
        result.skipped,
        f"; manifest {result.manifest}" if result.manifest else "",
    )
    return 0


def _fit_prior(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..augment.stats import fit_prior_to_paintings, save_prior
    from ..augment.transform import style_files
    from ..errors import InputError

    if Path(args.fit_prior).suffix != ".pt":
        raise InputError(f"style prior files end in .pt; got {args.fit_prior}")
    files = style_files(args.styles if args.styles else "gallery")
    prior = fit_prior_to_paintings([p for _, p in files], crops=args.crops, seed=args.seed)
    out = save_prior(prior, args.fit_prior)
    log.info(
        "wrote %s (%d paintings, %d samples, rank %d, %.0f kB)",
        out,
        len(files),
        prior.info["samples"],
        prior.info["rank"],
        out.stat().st_size / 1e3,
    )
    return 0
