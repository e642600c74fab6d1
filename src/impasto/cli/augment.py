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

from .common import ProgressBar, add_command, picked

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    add_command(sub, "augment", run)


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
    same += ("precision",)
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
