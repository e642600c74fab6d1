"""The studio's worker processes: each claims jobs from the queue (:mod:`impasto.web.jobs`) and runs
them through :func:`impasto.web.methods.run_job`. Kept apart from the queue so that the queue knows
nothing of the methods that run on it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import time
from typing import Any

from .jobs import DataDir, JobCancelled, JobStore

log = logging.getLogger(__name__)


def work_once(store: JobStore, context: Any = None) -> str | None:
    """Claim and run one job in this process; returns its id, or None when nothing was queued."""
    claimed = store.claim()
    if claimed is None:
        return None
    job, token = claimed
    run_claimed(store, job, token, context)
    return job.id


def run_claimed(store: JobStore, job: Any, token: str, context: Any = None) -> str:
    """Run a job this process holds the claim of and record how it ended; returns the final status."""
    from .methods import run_job
    from .video import run_video_job

    start = time.perf_counter()
    try:
        (run_video_job if job.params.get("method") == "video" else run_job)(job, token, store, context)
    except JobCancelled:
        store.finish(job.id, token, "cancelled")
        return "cancelled"
    except Exception as err:  # a job's failure is recorded; the worker lives on
        from ..errors import ImpastoError

        message = " ".join(str(err).split()) if isinstance(err, ImpastoError) else f"{type(err).__name__}: {err}"
        if not isinstance(err, ImpastoError):
            log.exception("job %s failed", job.id)
        store.finish(job.id, token, "failed", error=message[:500])
        return "failed"
    store.finish(job.id, token, "done", seconds=time.perf_counter() - start)
    return "done"


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphaned workers after a crash)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def worker_main(root: str, parent: int, threads: int, poll: float = 0.02) -> None:
    """A worker process: claim, run, repeat, until the parent goes away."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which stops the workers
    import torch

    torch.set_num_threads(max(1, threads))
    from .methods import WorkerContext

    store = JobStore(DataDir(root))
    context = WorkerContext(DataDir(root))
    while os.getppid() == parent:
        if work_once(store, context) is None:
            time.sleep(poll)


class WorkerPool:
    """N worker processes (spawned, so they never inherit the server's threads)."""

    def __init__(self, data: DataDir, workers: int) -> None:
        self.data, self.workers = data, workers
        self.procs: list[Any] = []

    def start(self) -> None:
        ctx = mp.get_context("spawn")
        threads = max(1, (os.cpu_count() or 1) // max(1, self.workers))
        for _ in range(self.workers):
            proc = ctx.Process(target=worker_main, args=(str(self.data.root), os.getpid(), threads), daemon=True)
            proc.start()
            self.procs.append(proc)

    def stop(self, timeout: float = 5.0) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join(timeout)
            if proc.is_alive():
                proc.kill()
                proc.join(1)
        self.procs = []
