"""Command-line interface: ``impasto COMMAND ...``, a thin layer over :mod:`impasto.api`.

Each subcommand lives in its own module with a ``register(subparsers)`` function;
``COMMANDS`` lists them in the order ``--help`` shows. torch is imported only
once a command runs, so ``impasto --help`` is fast.

Exit codes: 0 success, 2 bad input (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import ImpastoError
from .common import Parser, add_config_flags, config_from_args, peak_rss_mb
from .stylize import intermediate_path

__all__ = ["main", "build_parser", "add_config_flags", "config_from_args", "intermediate_path", "peak_rss_mb"]

COMMANDS = [
    "stylize",
    "feedforward",
    "cyclegan",
    "decoders",
    "figure",
    "evaluate",
    "serve",
    "study",
    "video",
    "evaluate_video",
    "augment",
]


def build_parser() -> Parser:
    parser = Parser(
        prog="impasto",
        description="Neural style transfer: optimisation (Gatys et al.), "
        "feed-forward networks (Johnson et al.) and CycleGAN, on the original VGG-19.",
    )
    parser.add_argument("--version", action="version", version=f"impasto {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a one-line usage error
        return int(exit_.code or 0)
    if not getattr(args, "run", None):
        print((getattr(args, "parser", None) or parser).missing_action(), file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="impasto: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    from ..runtime import tune_allocator

    tune_allocator()
    from . import interrupts

    previous = interrupts.install()
    try:
        return int(args.run(args) or 0)
    except ImpastoError as err:
        print(f"impasto: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("impasto: interrupted; no output written (intermediate images and checkpoints kept)", file=sys.stderr)
        return 130
    except MemoryError:
        print("impasto: error: out of memory; try a smaller size", file=sys.stderr)
        return 2
    finally:
        interrupts.restore(previous)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
