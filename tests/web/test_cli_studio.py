"""impasto serve's host/token rules and impasto study report, through main(argv)."""

from __future__ import annotations

import time

import pytest

from impasto.cli import main
from impasto.cli.serve import is_loopback
from impasto.web import study
from impasto.web.jobs import DataDir, JobStore


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")


def test_public_host_without_token_is_refused(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("IMPASTO_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--data", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "warning" in err and "impasto: error: --host 0.0.0.0 needs a token" in err
    assert not (tmp_path / "d").exists()  # refused before anything was created


def test_study_report_prints_scores_and_writes_csv(capsys, tmp_path):
    data = DataDir(tmp_path / "d").create()
    store = JobStore(data)
    base = {
        "content": "a" * 32,
        "style": "gallery:starry-night",
        "image_size": 256,
        "strength": 1.0,
        "preserve_color": False,
        "method": "fast",
    }
    for model in ("starry-night", "starry-night-lite"):
        ident = store.submit({**base, "model": model})
        store.conn.execute("UPDATE jobs SET status='done', finished=? WHERE id=?", (time.time(), ident))
    conn = study.open_study(data)
    session = study.new_session()
    for _ in range(3):
        study.record_vote(conn, session, study.next_pair(conn, session)["token"], "left")
    out_csv = tmp_path / "votes.csv"
    assert main(["study", "report", "--data", str(data.root), "--csv", str(out_csv)]) == 0
    out = capsys.readouterr().out
    assert "3 votes from 1 session(s)" in out and "fast:starry-night-lite" in out
    assert out_csv.read_text().count("\n") == 4  # header + 3 votes
    assert main(["study", "report", "--data", str(tmp_path / "nothing")]) == 2


@pytest.mark.parametrize("argv", [["serve", "--workers", "0"], ["serve", "--port", "70000"]])
def test_bad_serve_flags(argv, tmp_path, capsys):
    assert main([*argv, "--data", str(tmp_path / "d")]) == 2
    assert "impasto: error:" in capsys.readouterr().err
