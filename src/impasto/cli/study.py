"""``impasto study report``: Bradley-Terry scores and win rates of the studio's preference study."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError


def register(sub: Any) -> None:
    from .common import Parser

    p = sub.add_parser(
        "study",
        help="the studio's preference study: report the votes",
        description="Work with the preference study of impasto studio (impasto serve, /study).",
    )
    p.set_defaults(parser=p)
    ssub = p.add_subparsers(dest="study_command", metavar="ACTION", parser_class=Parser)
    r = ssub.add_parser(
        "report",
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
    r.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    from ..io.atomic import write_text
    from ..web.jobs import DataDir
    from ..web.study import StudyError, build_report, format_report, open_study, votes_csv

    data = DataDir(args.data)
    if not data.db.is_file():
        raise InputError(f"no studio data in {args.data}: give the --data folder of 'impasto serve'")
    conn = open_study(data)
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
