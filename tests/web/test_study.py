"""The preference study: pairs, votes, attention checks, Bradley-Terry scores (checked by hand), CSV."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import pytest

from impasto.web import study
from impasto.web.jobs import DataDir, JobStore


def test_two_methods_match_the_closed_form():
    # A beat B 3 times out of 4: the ML log-odds is ln 3, its standard error 1/sqrt(n p (1-p)) = 1/sqrt(0.75)
    scores = {s.method: s for s in study.fit_bradley_terry([("A", "B")] * 3 + [("B", "A")], ridge=1e-9)}
    a, b = scores["A"], scores["B"]
    assert a.score - b.score == pytest.approx(math.log(3), abs=1e-6)
    assert a.score + b.score == pytest.approx(0, abs=1e-9)  # centred
    half_width = study.Z95 * 0.5 / math.sqrt(0.75)  # each centred score carries half the difference
    assert a.high - a.score == pytest.approx(half_width, rel=1e-4)
    assert (a.wins, a.comparisons, a.win_rate) == (3, 4, 0.75)


def test_fit_recovers_known_strengths_and_orders_them():
    rng = np.random.default_rng(0)
    truth = {"gatys": 1.0, "wct": 0.0, "fast": -1.0}
    pairs = []
    for _ in range(3000):
        i, j = rng.choice(list(truth), 2, replace=False)
        p = 1 / (1 + math.exp(truth[j] - truth[i]))
        pairs.append((i, j) if rng.random() < p else (j, i))
    scores = study.fit_bradley_terry(pairs)
    assert [s.method for s in scores] == ["gatys", "wct", "fast"]
    for s in scores:
        assert s.low < truth[s.method] < s.high


def test_unanimous_votes_stay_finite_and_one_method_is_refused():
    scores = study.fit_bradley_terry([("A", "B")] * 5)
    assert all(math.isfinite(s.score) and math.isfinite(s.low) for s in scores)
    with pytest.raises(study.StudyError):
        study.fit_bradley_terry([("A", "A")])


def _done_job(store: JobStore, params: dict) -> str:
    ident = store.submit(params)
    store.conn.execute("UPDATE jobs SET status='done', finished=? WHERE id=?", (time.time(), ident))
    return ident


def test_pairs_votes_attention_checks_and_csv(tmp_path: Path):
    data = DataDir(tmp_path).create()
    store = JobStore(data, bound=100)
    photo = "a" * 32
    base = {
        "content": photo,
        "style": "gallery:starry-night",
        "image_size": 256,
        "strength": 1.0,
        "preserve_color": False,
    }
    jobs = {_done_job(store, {**base, "method": "fast", "model": m}) for m in ("starry-night", "starry-night-lite")}
    jobs.add(_done_job(store, {**base, "method": "gatys", "steps": 100}))
    _done_job(store, {**base, "content": "b" * 32, "method": "gatys", "steps": 100})  # another photo: never paired
    conn = study.open_study(data)
    session = study.new_session()
    rng = random.Random(1)
    sides = set()
    for n in range(study.REPEAT_EVERY):
        pair = study.next_pair(conn, session, rng)
        assert {pair["left"], pair["right"]} <= jobs and pair["left"] != pair["right"]
        assert pair["repeat"] == (n == study.REPEAT_EVERY - 1)
        sides.add(pair["left"])
        result = study.record_vote(conn, session, pair["token"], "left")
        assert (result["consistent"] is not None) == pair["repeat"]
    assert result["consistent"] == 0  # the repeat came sides swapped and "left" was picked again
    assert len(sides) > 1
    with pytest.raises(study.StudyError):
        study.record_vote(conn, session, pair["token"], "left")  # one vote per showing
    with pytest.raises(study.StudyError):
        study.record_vote(conn, study.new_session(), study.next_pair(conn, session, rng)["token"], "left")
    rows = list(csv.DictReader(io.StringIO(study.votes_csv(conn))))
    assert len(rows) == study.REPEAT_EVERY and sum(1 for r in rows if r["repeat_of"]) == 1
    with pytest.raises(study.StudyError):  # its only session failed its attention check: nothing left to fit
        study.build_report(conn)
    kept = study.build_report(conn, keep_inattentive=True)
    assert (kept.checks, kept.checks_passed, kept.excluded_sessions) == (1, 0, 0)
    assert kept.votes == study.REPEAT_EVERY - 1  # the repeat is not fitted
    assert {s.method for s in kept.scores} <= {"fast:starry-night", "fast:starry-night-lite", "gatys:100"}
    text = study.format_report(kept)
    assert "BT score" in text and "win rate" in text
    assert json.loads(json.dumps([s.win_rate for s in kept.scores]))
