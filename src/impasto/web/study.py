"""The preference study: two results of the same photo and style side by side, the visitor picks one.

Candidates are finished studio jobs. Two jobs form a pair when they share the photo and the painting
but differ in method or settings (:func:`impasto.web.methods.label`). Each shown pair gets a random
token and a random left/right order; a vote names the token and a side, so a visitor votes once per
showing. Every ``REPEAT_EVERY``-th showing of a session repeats a pair it has already voted on, sides
swapped: the attention check. Sessions are anonymous random ids; nothing else about the visitor is kept.

:func:`fit_bradley_terry` fits Bradley-Terry strengths (P(i beats j) = 1 / (1 + exp(b_j - b_i)))
by Newton's method on the log-likelihood, with the scores centred to mean 0 and 95% intervals from
the inverse Fisher information (Wald). A small ridge term (``ridge``, default 1e-3) keeps the fit
finite when one method won every comparison; it is our addition, not part of the model.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .jobs import DataDir, connect, transaction

REPEAT_EVERY = 5
Z95 = 1.959963984540054

_SCHEMA = """
CREATE TABLE IF NOT EXISTS study_shown (
    token TEXT PRIMARY KEY, session TEXT NOT NULL, left_job TEXT NOT NULL, right_job TEXT NOT NULL,
    repeat_of TEXT, shown REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS study_votes (
    token TEXT PRIMARY KEY, session TEXT NOT NULL, winner_job TEXT NOT NULL, loser_job TEXT NOT NULL,
    winner TEXT NOT NULL, loser TEXT NOT NULL, photo TEXT NOT NULL, style TEXT NOT NULL,
    repeat_of TEXT, consistent INTEGER, voted REAL NOT NULL, seconds REAL
);
"""


class StudyError(Exception):
    """A vote or request the study cannot take (unknown token, a second vote...)."""


def open_study(data: DataDir) -> sqlite3.Connection:
    conn = connect(data.db)
    conn.executescript(_SCHEMA)
    return conn


def _candidates(conn: sqlite3.Connection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(photo, style) -> [(job id, label)] over finished jobs, one job per label (the newest)."""
    from .methods import label

    groups: dict[tuple[str, str], dict[str, str]] = {}
    for row in conn.execute("SELECT id, params FROM jobs WHERE status='done' ORDER BY created"):
        p = json.loads(row["params"])
        if p["method"] == "video":  # the study compares still images
            continue
        groups.setdefault((p["content"], p["style"]), {})[label(p)] = row["id"]
    return {k: [(j, lab) for lab, j in v.items()] for k, v in groups.items() if len(v) >= 2}


def new_session() -> str:
    return secrets.token_hex(16)


def next_pair(conn: sqlite3.Connection, session: str, rng: random.Random | None = None) -> dict[str, Any] | None:
    """A pair to show: {token, left, right, repeat}; None when no photo has two different results."""
    rng = rng or random.Random()
    voted = conn.execute(
        "SELECT v.token, s.left_job, s.right_job FROM study_votes v JOIN study_shown s "
        "ON s.token = v.token WHERE v.session=? AND v.repeat_of IS NULL",
        (session,),
    ).fetchall()
    repeats = conn.execute(
        "SELECT COUNT(*) FROM study_shown WHERE session=? AND repeat_of IS NOT NULL", (session,)
    ).fetchone()[0]
    repeat_of = None
    if voted and len(voted) >= REPEAT_EVERY * (repeats + 1) - 1:
        original = rng.choice(voted)
        left, right, repeat_of = original["right_job"], original["left_job"], original["token"]
    else:
        groups = _candidates(conn)
        if not groups:
            return None
        pairs = [pair for members in groups.values() for pair in itertools.combinations(members, 2)]
        seen = {frozenset((r["left_job"], r["right_job"])) for r in voted}
        fresh = [p for p in pairs if frozenset((p[0][0], p[1][0])) not in seen] or pairs
        a, b = rng.choice(fresh)
        left, right = (a[0], b[0]) if rng.random() < 0.5 else (b[0], a[0])
    token = secrets.token_hex(16)
    with transaction(conn):
        conn.execute(
            "INSERT INTO study_shown VALUES (?, ?, ?, ?, ?, ?)", (token, session, left, right, repeat_of, time.time())
        )
    return {"token": token, "left": left, "right": right, "repeat": repeat_of is not None}


def record_vote(conn: sqlite3.Connection, session: str, token: str, choice: str) -> dict[str, Any]:
    """Store a vote for the ``left`` or ``right`` result of a shown pair."""
    from .methods import label

    if choice not in ("left", "right"):
        raise StudyError("choice must be 'left' or 'right'")
    with transaction(conn):
        shown = conn.execute("SELECT * FROM study_shown WHERE token=? AND session=?", (token, session)).fetchone()
        if shown is None:
            raise StudyError("unknown pair; load a new one")
        if conn.execute("SELECT 1 FROM study_votes WHERE token=?", (token,)).fetchone():
            raise StudyError("this pair already has your vote")
        winner, loser = (
            (shown["left_job"], shown["right_job"]) if choice == "left" else (shown["right_job"], shown["left_job"])
        )
        params = {
            r["id"]: json.loads(r["params"])
            for r in conn.execute("SELECT id, params FROM jobs WHERE id IN (?, ?)", (winner, loser))
        }
        if len(params) != 2:
            raise StudyError("one of the results no longer exists; load a new pair")
        consistent = None
        if shown["repeat_of"] is not None:
            first = conn.execute("SELECT winner_job FROM study_votes WHERE token=?", (shown["repeat_of"],)).fetchone()
            consistent = int(first is not None and first["winner_job"] == winner)
        wp = params[winner]
        conn.execute(
            "INSERT INTO study_votes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                token,
                session,
                winner,
                loser,
                label(wp),
                label(params[loser]),
                wp["content"],
                wp["style"],
                shown["repeat_of"],
                consistent,
                time.time(),
                time.time() - shown["shown"],
            ),
        )
    return {"recorded": True, "consistent": consistent}


@dataclass(frozen=True)
class MethodScore:
    method: str
    score: float
    low: float
    high: float
    wins: int
    comparisons: int

    @property
    def win_rate(self) -> float:
        return self.wins / self.comparisons if self.comparisons else float("nan")


def fit_bradley_terry(pairs: list[tuple[str, str]], ridge: float = 1e-3) -> list[MethodScore]:
    """Bradley-Terry scores from (winner, loser) pairs, centred to mean 0, with 95% Wald intervals."""
    names = sorted({n for pair in pairs for n in pair})
    k = len(names)
    if k < 2:
        raise StudyError("the study needs votes between at least two methods")
    index = {n: i for i, n in enumerate(names)}
    w = np.array([index[a] for a, _ in pairs])
    l = np.array([index[b] for _, b in pairs])
    beta = np.zeros(k)
    # parametrise with the last score fixed at 0, centre at the end
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(beta[l] - beta[w]))  # P(winner beats loser)
        grad = np.zeros(k)
        np.add.at(grad, w, 1 - p)
        np.add.at(grad, l, -(1 - p))
        grad -= ridge * beta
        info = np.zeros((k, k))
        v = p * (1 - p)
        np.add.at(info, (w, w), v)
        np.add.at(info, (l, l), v)
        np.add.at(info, (w, l), -v)
        np.add.at(info, (l, w), -v)
        info += ridge * np.eye(k)
        step = np.zeros(k)
        step[:-1] = np.linalg.solve(info[:-1, :-1], grad[:-1])
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    cov = np.zeros((k, k))
    cov[:-1, :-1] = np.linalg.inv(info[:-1, :-1])
    centre = np.eye(k) - 1.0 / k
    beta_c = centre @ beta
    se = np.sqrt(np.clip(np.diag(centre @ cov @ centre.T), 0, None))
    wins = np.bincount(w, minlength=k)
    games = wins + np.bincount(l, minlength=k)
    return sorted(
        (
            MethodScore(
                n,
                float(beta_c[i]),
                float(beta_c[i] - Z95 * se[i]),
                float(beta_c[i] + Z95 * se[i]),
                int(wins[i]),
                int(games[i]),
            )
            for n, i in index.items()
        ),
        key=lambda s: -s.score,
    )


@dataclass(frozen=True)
class Report:
    scores: list[MethodScore]
    votes: int
    sessions: int
    excluded_sessions: int
    checks: int
    checks_passed: int


def build_report(conn: sqlite3.Connection, keep_inattentive: bool = False) -> Report:
    """Fit the votes: repeats are left out of the fit; sessions that failed more than half of their
    attention checks are left out unless ``keep_inattentive``."""
    rows = conn.execute("SELECT * FROM study_votes ORDER BY voted").fetchall()
    checks: dict[str, list[int]] = {}
    for r in rows:
        if r["repeat_of"] is not None:
            checks.setdefault(r["session"], []).append(int(r["consistent"]))
    bad = {s for s, c in checks.items() if sum(c) * 2 < len(c)} if not keep_inattentive else set()
    pairs = [(r["winner"], r["loser"]) for r in rows if r["repeat_of"] is None and r["session"] not in bad]
    all_checks = [c for cs in checks.values() for c in cs]
    return Report(
        fit_bradley_terry(pairs),
        len(pairs),
        len({r["session"] for r in rows}),
        len(bad),
        len(all_checks),
        sum(all_checks),
    )


def votes_csv(conn: sqlite3.Connection) -> str:
    """Every vote as CSV text (one row per vote, repeats marked)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    cols = [
        "token",
        "session",
        "winner",
        "loser",
        "winner_job",
        "loser_job",
        "photo",
        "style",
        "repeat_of",
        "consistent",
        "voted",
        "seconds",
    ]
    writer.writerow(cols)
    for r in conn.execute("SELECT * FROM study_votes ORDER BY voted"):
        writer.writerow([r[c] if r[c] is not None else "" for c in cols])
    return out.getvalue()


def format_report(report: Report) -> str:
    lines = [
        f"{report.votes} votes from {report.sessions} session(s); attention checks passed "
        f"{report.checks_passed}/{report.checks}; sessions left out: {report.excluded_sessions}",
        f"{'method':<28} {'BT score':>9} {'95% CI':>19} {'wins':>6} {'games':>6} {'win rate':>9}",
    ]
    for s in report.scores:
        lines.append(
            f"{s.method:<28} {s.score:>9.3f} [{s.low:>7.3f}, {s.high:>7.3f}] {s.wins:>6} "
            f"{s.comparisons:>6} {s.win_rate:>8.1%}"
        )
    return "\n".join(lines)
