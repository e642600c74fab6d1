"""The SQLite job queue: bound, claims, cancellation, recovery after a crash, stale workers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from impasto.web.jobs import DataDir, JobStore, QueueFull, is_id, new_id


@pytest.fixture
def store(tmp_path: Path):
    s = JobStore(DataDir(tmp_path).create(), bound=2)
    yield s
    s.close()


def test_wal_mode_and_random_ids(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100 and all(is_id(i) for i in ids)
    assert not is_id("../" + "a" * 29) and not is_id("A" * 32)
    with pytest.raises(ValueError):
        store.data.result("../../etc/passwd")


def test_bound_counts_waiting_jobs_only(store):
    a = store.submit({"n": 1})
    store.submit({"n": 2})
    with pytest.raises(QueueFull):
        store.submit({"n": 3})
    job, _ = store.claim()
    assert job.id == a and job.status == "running"  # oldest first; a running job frees a place
    store.submit({"n": 3})
    assert store.counts()["queued"] == 2


def test_two_stores_never_claim_the_same_job(tmp_path):
    data = DataDir(tmp_path).create()
    one, two = JobStore(data, 10), JobStore(data, 10)
    for n in range(4):
        one.submit({"n": n})
    claimed = [s.claim() for s in (one, two, one, two, one)]
    ids = [c[0].id for c in claimed if c is not None]
    assert len(ids) == 4 == len(set(ids)) and claimed[-1] is None


def test_cancel_queued_and_running(store):
    a, b = store.submit({}), store.submit({})
    assert store.cancel(a) == "cancelled"
    job, token = store.claim()
    assert job.id == b
    assert store.progress(b, token, "optimize", 1, 10)
    assert store.cancel(b) == "running"  # asked to stop
    assert not store.progress(b, token, "optimize", 2, 10)  # the worker learns it at its next event
    assert store.finish(b, token, "cancelled")
    assert store.get(b).status == "cancelled" and store.cancel("0" * 32) is None


def test_recover_requeues_running_jobs_and_locks_out_the_old_worker(store):
    ident = store.submit({})
    _, old_token = store.claim()
    assert store.recover() == 1  # the server restarted while the job ran
    job = store.get(ident)
    assert job.status == "queued" and job.attempts == 1
    assert not store.progress(ident, old_token, "x", 1, 2)  # an orphaned worker can no longer report...
    assert not store.finish(ident, old_token, "done")  # ...or finish it
    job, token = store.claim()
    assert job.id == ident and job.attempts == 2
    assert store.finish(ident, token, "done", seconds=0.1)
    assert store.get(ident).status == "done"


def test_schema_survives_reopen(tmp_path):
    data = DataDir(tmp_path).create()
    s = JobStore(data)
    ident = s.submit({"method": "fast"})
    s.close()
    assert JobStore(data).get(ident).params == {"method": "fast"}
    assert sqlite3.connect(data.db).execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1


@pytest.mark.slow
def test_workers_die_with_a_killed_server(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    code = (
        "import sys, time\n"
        "from impasto.web.jobs import DataDir\nfrom impasto.web.workers import WorkerPool\n"
        "pool = WorkerPool(DataDir(sys.argv[1]).create(), 1)\n"
        "pool.start()\n"
        "print(pool.procs[0].pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    import numpy as np

    from impasto.io import write_image

    data = DataDir(tmp_path).create()
    photo = new_id()
    write_image(data.upload(photo), np.full((64, 64, 3), 0.5, np.float32))
    store = JobStore(data)
    ident = store.submit(
        {
            "method": "gatys",
            "content": photo,
            "style": "gallery:udnie",
            "image_size": 64,
            "steps": 1000,
            "strength": 0.5,
            "preserve_color": False,
        }
    )
    server = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(server.stdout.readline())
        deadline = time.monotonic() + 60
        while store.get(ident).step < 1 and time.monotonic() < deadline:  # busy in a job, not polling
            time.sleep(0.1)
        assert store.get(ident).status == "running" and os.path.exists(f"/proc/{worker}")
        server.send_signal(signal.SIGKILL)
        server.wait()
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{worker}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not os.path.exists(f"/proc/{worker}"), "the worker outlived its server"
    finally:
        server.kill()
        server.wait()
