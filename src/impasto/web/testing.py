"""``impasto serve`` in a child process on loopback, for the studio tests and the load benchmark.

:class:`ServeProcess` starts the server on a free port of 127.0.0.1 with its output in a log file
beside the data folder, waits until it answers, and stops it (a signal, then a kill after a grace
period). Nothing in the library uses it; it needs ``httpx`` (the ``web`` extra) only to wait.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``impasto serve --data DATA EXTRA...`` on a free loopback port; ``url``, ``proc`` and ``log`` are public."""

    def __init__(self, data: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.data, self.port = data, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "impasto", "serve", "--port", str(self.port), "--data", str(data), *extra]
        self.log_path = data.parent / f"server-{self.port}-{time.time():.0f}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})

    def wait_ready(self, timeout: float = 60.0) -> ServeProcess:
        """Return once ``/api/info`` answers (200, or 401 behind a token); ``RuntimeError`` with the log's end
        if the server exits or is not ready within ``timeout`` seconds."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.read_log()}")
            try:
                if httpx.get(self.url + "/api/info", timeout=2).status_code in (200, 401):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout} s: {self.read_log()}")

    def read_log(self) -> str:
        """The last 2000 characters the server wrote."""
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-2000:]

    def stop(self, sig: int = signal.SIGTERM, grace: float = 15.0) -> None:
        """Send ``sig`` if it still runs, kill it if it has not exited after ``grace`` seconds, close the log."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
