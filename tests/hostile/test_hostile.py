"""Run every hostile case (:mod:`tests.hostile.cases`) as ``python -m impasto ...`` in a subprocess.

Each case runs in its own empty temporary folder with only its fixtures, under a 4 GiB address
space limit and a timeout, and must end with: the expected exit status; stderr one line starting
``impasto: error:`` and containing the case's message; no new files or folders; no existing file
changed (the folder is hashed before and after). Cases run two at a time (the machine's cores),
all selected cases at once in a session fixture, then each test reads its own result.

Run: ``python -m pytest -q tests/hostile`` (about two minutes on two cores).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from .cases import CASES, KNOWN, Case
from .fixtures import MAKERS, prepare

HAVE_AV = importlib.util.find_spec("av") is not None  # the clip fixtures of the video commands need PyAV
MEMORY_LIMIT = 4 * 2**30  # address space of each case (torch alone maps about 1.5 GiB)
TIMEOUT_S = 60.0  # a case that is refused must be refused quickly; on an idle machine all take < 10 s
WORKERS = 2

pytestmark = pytest.mark.slow


@dataclass
class Outcome:
    status: int | None
    stderr: str
    seconds: float
    added: list[str]
    removed: list[str]
    changed: list[str]


def _words(text: str) -> str:
    """Lower case, with option spellings made equal (``image_size`` and ``--image-size``)."""
    return text.lower().replace("_", "-")


def _fixture_names(case: Case) -> list[str]:
    names = list(case.files)
    for token in case.argv:
        for name in MAKERS:
            if token == name or token.startswith(name + "/"):
                names.append(name)
    return names


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` -> its kind and, for regular files, a hash of the content."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                found[rel] = "link:" + os.readlink(path)
            elif stat.S_ISDIR(mode):
                found[rel] = "dir"
            elif stat.S_ISREG(mode):
                if mode & 0o444 == 0 and os.geteuid() != 0:
                    found[rel] = f"unreadable:{path.stat().st_size}:{path.stat().st_mtime_ns}"
                else:
                    found[rel] = "file:" + hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[rel] = "special"
    return found


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_case(case: Case) -> Outcome:
    root = Path(tempfile.mkdtemp(prefix="impasto-hostile-"))
    try:
        prepare(root, _fixture_names(case))
        before = _snapshot(root)
        env = {
            **os.environ,
            "CUDA_VISIBLE_DEVICES": "",
            "OMP_NUM_THREADS": "1",
            "COLUMNS": "200",
            "PYTHONWARNINGS": "ignore",
        }
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "impasto", *case.argv],
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                preexec_fn=_limit_memory,
            )
            status, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as err:
            status = None
            stderr = err.stderr.decode(errors="replace") if isinstance(err.stderr, bytes) else (err.stderr or "")
        seconds = time.perf_counter() - t0
        after = _snapshot(root)
        return Outcome(
            status,
            stderr,
            seconds,
            sorted(set(after) - set(before)),
            sorted(set(before) - set(after)),
            sorted(k for k in before if k in after and before[k] != after[k]),
        )
    finally:
        for dirpath, dirnames, _ in os.walk(root):  # give back permissions so the folder can be removed
            for name in dirnames:
                os.chmod(Path(dirpath) / name, 0o755)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def outcomes(request: pytest.FixtureRequest) -> dict[str, Outcome]:
    """Run the selected cases, two at a time, once per session."""
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if hasattr(item, "callspec") and isinstance(item.callspec.params.get("case"), Case)
    ]
    runnable = [
        c
        for c in selected
        if not (c.needs_nonroot and os.geteuid() == 0) and (HAVE_AV or "clip.mp4" not in _fixture_names(c))
    ]
    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip((c.id for c in runnable), pool.map(run_case, runnable)))


def _params() -> list:
    params = []
    for case in CASES:
        marks = []
        if case.xfail is not None:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[case.xfail]))
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def test_the_table_is_well_formed() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 150
    assert all(c.xfail is None or c.xfail in KNOWN for c in CASES)
    commands = {
        c.argv[0]
        + (" " + c.argv[1] if c.argv and c.argv[0] in ("fast", "cyclegan", "figure") and len(c.argv) > 1 else "")
        for c in CASES
        if c.argv
    }
    for command in (
        "stylize",
        "fast train",
        "fast apply",
        "fast export",
        "cyclegan train",
        "cyclegan apply",
        "evaluate",
        "figure grid",
        "figure reconstructions",
        "figure losses",
        "video",
        "evaluate-video",
        "augment",
        "decoders",
        "serve",
        "study",
    ):
        assert command in commands


@pytest.mark.parametrize("case", _params())
def test_hostile_input_is_refused_cleanly(case: Case, outcomes: dict[str, Outcome]) -> None:
    if case.needs_nonroot and os.geteuid() == 0:
        pytest.skip("root reads and writes regardless of permissions")
    if case.id not in outcomes:
        pytest.skip("needs the [video] extra (PyAV) for its clip")
    out = outcomes[case.id]
    assert out.status is not None, f"still running after {TIMEOUT_S:.0f} s; stderr: {out.stderr[-500:]}"
    lines = out.stderr.strip().splitlines()
    shown = "\n".join(lines[-8:])
    assert out.status == case.status, f"exit status {out.status}, stderr:\n{shown}"
    assert len(lines) == 1, f"stderr is {len(lines)} lines:\n{shown}"
    assert lines[0].startswith("impasto: error:"), lines[0]
    assert _words(case.message) in _words(lines[0]), f"{case.message!r} not in {lines[0]!r}"
    assert not out.added, f"new files or folders: {out.added}"
    assert not out.removed and not out.changed, f"removed {out.removed}, changed {out.changed}"
