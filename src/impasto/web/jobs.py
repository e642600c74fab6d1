"""The studio's job queue: SQLite (WAL) as the one record, worker processes that claim from it.

A job goes ``queued -> running -> done | failed | cancelled``. The table is the only shared state:
the web server inserts rows and reads them back; each worker process claims the oldest queued job in
an ``IMMEDIATE`` transaction (so two workers never take the same one), stamps it with a fresh claim
token, runs it (:mod:`impasto.web.workers` calls :func:`impasto.web.methods.run_job`) and finishes
it only while that token is still its own. A server that dies leaves ``running`` rows behind;
:meth:`JobStore.recover` (called at start) puts them back in the queue with a new token, so a worker
orphaned by the crash can no longer finish or overwrite them. Workers also die with their server
(``PR_SET_PDEATHSIG`` on Linux, and a parent check between jobs).

The bound counts queued jobs only: a full queue refuses new work (:class:`QueueFull`, a 503 at the
HTTP layer) rather than growing without limit. Cancelling a queued job is immediate; a running
one is asked to stop and does so at its next progress event.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    claim TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    cancel INTEGER NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    step INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    preview INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created);
"""


class QueueFull(Exception):
    """The queue holds its bound of waiting jobs."""


class JobCancelled(Exception):
    """Raised inside a running job when it was cancelled."""


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    params: dict[str, Any]
    created: float
    started: float | None
    finished: float | None
    attempts: int
    stage: str
    step: int
    total: int
    preview: int
    seconds: float | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "params": self.params,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "attempts": self.attempts,
            "stage": self.stage,
            "step": self.step,
            "total": self.total,
            "preview": self.preview,
            "seconds": self.seconds,
            "error": self.error,
        }


def new_id() -> str:
    """A random 128-bit id as 32 hex digits: the only kind of name the studio puts on disk."""
    return secrets.token_hex(16)


def is_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


class DataDir:
    """The layout under ``--data``; every path is built from a checked id, never from request text."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.db = self.root / "studio.db"
        self.uploads = self.root / "uploads"
        self.results = self.root / "results"
        self.previews = self.root / "previews"
        self.staging = self.root / "staging"
        self.videos = self.root / "videos"

    def create(self) -> DataDir:
        for folder in (self.root, self.uploads, self.results, self.previews, self.staging, self.videos):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def _file(self, folder: Path, ident: str, suffix: str) -> Path:
        if not is_id(ident):
            raise ValueError(f"not an id: {ident!r}")
        return folder / f"{ident}{suffix}"

    def upload(self, ident: str) -> Path:
        return self._file(self.uploads, ident, ".png")

    def result(self, ident: str) -> Path:
        return self._file(self.results, ident, ".png")

    def preview(self, ident: str) -> Path:
        return self._file(self.previews, ident, ".jpg")

    def video(self, ident: str) -> Path:
        return self._file(self.videos, ident, ".video")

    def video_result(self, ident: str) -> Path:
        return self._file(self.results, ident, ".mp4")


def connect(db: Path) -> sqlite3.Connection:
    """A connection in autocommit mode with WAL and a busy timeout (several processes share the file)."""
    conn = sqlite3.connect(db, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.row_factory = sqlite3.Row
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _job(row: sqlite3.Row) -> Job:
    return Job(
        row["id"],
        row["status"],
        json.loads(row["params"]),
        row["created"],
        row["started"],
        row["finished"],
        row["attempts"],
        row["stage"],
        row["step"],
        row["total"],
        row["preview"],
        row["seconds"],
        row["error"],
    )


class JobStore:
    """The jobs table: submit, claim, progress, finish, cancel, recover, list."""

    def __init__(self, data: DataDir, bound: int = 20) -> None:
        self.data, self.bound = data, bound
        self.conn = connect(data.db)
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def submit(self, params: dict[str, Any]) -> str:
        """Queue a job; :class:`QueueFull` when ``bound`` jobs are already waiting."""
        ident = new_id()
        with transaction(self.conn):
            waiting = self.conn.execute("SELECT COUNT(*) FROM jobs WHERE status='queued'").fetchone()[0]
            if waiting >= self.bound:
                raise QueueFull(f"the queue is full ({waiting} jobs waiting); try again in a moment")
            self.conn.execute(
                "INSERT INTO jobs (id, status, params, created) VALUES (?, 'queued', ?, ?)",
                (ident, json.dumps(params, sort_keys=True), time.time()),
            )
        return ident

    def get(self, ident: str) -> Job | None:
        row = self.conn.execute("SELECT * FROM jobs WHERE id=?", (ident,)).fetchone()
        return _job(row) if row else None

    def list(self, status: str | None = None, limit: int = 200) -> list[Job]:
        if status is None:
            rows = self.conn.execute("SELECT * FROM jobs ORDER BY created DESC LIMIT ?", (limit,))
        else:
            rows = self.conn.execute("SELECT * FROM jobs WHERE status=? ORDER BY created DESC LIMIT ?", (status, limit))
        return [_job(r) for r in rows.fetchall()]

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {s: 0 for s in STATUSES} | {r[0]: r[1] for r in rows}

    def claim(self) -> tuple[Job, str] | None:
        """Take the oldest queued job: (job, claim token), or None when the queue is empty."""
        token = secrets.token_hex(8)
        with transaction(self.conn):
            row = self.conn.execute("SELECT id FROM jobs WHERE status='queued' ORDER BY created LIMIT 1").fetchone()
            if row is None:
                return None
            self.conn.execute(
                "UPDATE jobs SET status='running', claim=?, started=?, attempts=attempts+1, "
                "stage='', step=0, total=0 WHERE id=?",
                (token, time.time(), row["id"]),
            )
        job = self.get(row["id"])
        assert job is not None
        return job, token

    def start(self, params: dict[str, Any]) -> tuple[Job, str]:
        """Insert a job already claimed by the caller (``running``, outside the queue and its bound):
        how ``impasto study seed`` runs jobs in its own process while a server may be using the queue."""
        ident, token = new_id(), secrets.token_hex(8)
        now = time.time()
        self.conn.execute(
            "INSERT INTO jobs (id, status, params, created, started, claim, attempts) "
            "VALUES (?, 'running', ?, ?, ?, ?, 1)",
            (ident, json.dumps(params, sort_keys=True), now, now, token),
        )
        job = self.get(ident)
        assert job is not None
        return job, token

    def progress(self, ident: str, token: str, stage: str, step: int, total: int, preview: bool = False) -> bool:
        """Record progress; False when the job was cancelled or is no longer this worker's."""
        self.conn.execute(
            "UPDATE jobs SET stage=?, step=?, total=?, preview=preview+? WHERE id=? AND claim=?",
            (stage, step, total, int(preview), ident, token),
        )
        row = self.conn.execute("SELECT cancel, claim FROM jobs WHERE id=?", (ident,)).fetchone()
        return row is not None and not row["cancel"] and row["claim"] == token

    def owns(self, ident: str, token: str) -> bool:
        row = self.conn.execute("SELECT claim, cancel FROM jobs WHERE id=?", (ident,)).fetchone()
        return row is not None and row["claim"] == token and not row["cancel"]

    def finish(
        self, ident: str, token: str, status: str, *, seconds: float | None = None, error: str | None = None
    ) -> bool:
        """End a claimed job; False (nothing changed) when the claim is stale."""
        with transaction(self.conn):
            cur = self.conn.execute(
                "UPDATE jobs SET status=?, finished=?, seconds=?, error=?, claim=NULL "
                "WHERE id=? AND claim=? AND status='running'",
                (status, time.time(), seconds, error, ident, token),
            )
        return cur.rowcount == 1

    def cancel(self, ident: str) -> str | None:
        """Cancel a job; returns its status afterwards (None when unknown)."""
        with transaction(self.conn):
            row = self.conn.execute("SELECT status FROM jobs WHERE id=?", (ident,)).fetchone()
            if row is None:
                return None
            if row["status"] == "queued":
                self.conn.execute(
                    "UPDATE jobs SET status='cancelled', finished=?, cancel=1 WHERE id=?", (time.time(), ident)
                )
                return "cancelled"
            if row["status"] == "running":
                self.conn.execute("UPDATE jobs SET cancel=1 WHERE id=?", (ident,))
            return str(row["status"])

    def recover(self) -> int:
        """Put jobs left ``running`` by a dead server back in the queue; returns how many."""
        with transaction(self.conn):
            cur = self.conn.execute(
                "UPDATE jobs SET status='queued', claim=NULL, stage='', step=0, total=0 "
                "WHERE status='running' AND cancel=0"
            )
            self.conn.execute(
                "UPDATE jobs SET status='cancelled', claim=NULL, finished=? WHERE status='running' AND cancel=1",
                (time.time(),),
            )
        return cur.rowcount
