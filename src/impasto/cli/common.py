"""Pieces shared by every subcommand: the one-line-error parser, common flags, a progress bar."""

from __future__ import annotations

import argparse
import sys
from typing import Any


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


class ProgressBar:
    """A tqdm bar on stderr, created at the first event so a run that fails while setting up prints only its error.

    Call it with ``(total, losses)`` per step; ``close()`` when done. Silent when ``quiet``.
    """

    def __init__(self, desc: str, quiet: bool = False, unit: str = "step") -> None:
        self.desc, self.quiet, self.unit = desc, quiet, unit
        self.bar: Any = None

    def update(self, total: int, losses: dict[str, float] | None = None, n: int = 1) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, file=sys.stderr, dynamic_ncols=True)
        self.bar.update(n)
        if losses:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux/macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
