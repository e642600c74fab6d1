"""``impasto study report``: Bradley-Terry scores and win rates of the studio's preference study."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError
from .common import add_command


def register(sub: Any) -> None:
    add_command(sub, "study", report=run_report, seed=run_seed)


def run_report(args: argparse.Namespace) -> int:
    from ..io.atomic import write_text
    from ..web.jobs import DataDir
    from ..web.study import StudyError, build_report, format_report, open_study, votes_csv

    data = DataDir(args.data)
    if not data.db.is_file():
        raise InputError(f"no studio data in {args.data}: give the --data folder of 'impasto serve'")
    import sqlite3

    try:
        conn = open_study(data)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as err:
        raise InputError(
            f"{data.db} is not a studio database ({err}); give the --data folder of 'impasto serve'"
        ) from None
    try:
        if args.csv:
            if not Path(args.csv).parent.is_dir():
                raise InputError(f"folder of --csv {args.csv} does not exist; create it first")
            write_text(args.csv, votes_csv(conn))
        try:
            report = build_report(conn, keep_inattentive=args.keep_inattentive)
        except StudyError as err:
            raise InputError(f"{err} (no usable votes yet)") from None
    finally:
        conn.close()
    print(format_report(report))
    return 0


def run_seed(args: argparse.Namespace) -> int:
    from ..web.seed import DEFAULT_STYLES, default_photos, seed_study

    photos = args.photos if args.photos is not None else default_photos()
    wanted = [m.strip() for m in args.methods.split(",") if m.strip()]

    def show(item: Any) -> None:
        where = f"job {item.job}" if item.job else "-"
        print(f"{item.photo:<20} {item.style:<14} {item.label:<26} {item.status:<9} {item.seconds:6.1f} s  {where}")

    results = seed_study(
        args.data,
        photos,
        args.styles or DEFAULT_STYLES,
        wanted=wanted,
        size=args.size,
        steps=args.steps,
        on_result=show,
    )
    made = sum(r.status == "done" for r in results)
    failed = sum(r.status in ("failed", "cancelled") for r in results)
    print(f"{made} result(s) made, {sum(r.status == 'exists' for r in results)} already there, {failed} failed")
    return 1 if failed else 0
