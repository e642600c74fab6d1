"""Load and fault checks of impasto studio, on loopback only, bounded in time and size.

    python benchmarks/web_load.py [--data DIR] [--json OUT.json]

1. burst: 100 concurrent submissions against a queue bound of 20: every request is answered 202 or
   503, and every accepted job finishes (none lost).
2. crash: ``kill -9`` of the server while a Gatys job runs; a new server on the same data folder
   re-queues it and it completes.
3. malformed: 50 bad uploads (truncated, wrong type, huge dimensions, zero bytes, garbage behind an
   image signature) each get a 4xx and leave no file behind.
4. latency: an instant (fast model) stylisation at 512 px end to end as the page does it: submit,
   server-sent events until done, download the PNG; median and 90th percentile of 10 warm runs, for
   the page's default engine (starry-night-lite) and the full starry-night model, with the median
   split into submit, queue wait, worker, notification (SSE) and download. The same photo each run,
   as when a result is re-run with other settings (the worker keeps the decoded photo).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
import statistics
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

import httpx
from PIL import Image

from impasto.web.testing import ServeProcess

PHOTO = Path(__file__).resolve().parents[2] / "shared" / "images" / "content" / "tubingen.jpg"


def start_server(data: Path, *extra: str) -> ServeProcess:
    """``impasto serve`` on ``data`` and a free loopback port, once it answers."""
    return ServeProcess(data, *extra).wait_ready(90)


def upload(url: str, payload: bytes, name: str = "photo.jpg") -> httpx.Response:
    return httpx.post(f"{url}/api/uploads", files={"file": (name, payload)}, timeout=30)


def wait_done(url: str, ident: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/jobs/{ident}", timeout=10).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    return httpx.get(f"{url}/api/jobs/{ident}", timeout=10).json()


async def _burst(url: str, photo: str, n: int) -> list[tuple[int, str | None]]:
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one() -> tuple[int, str | None]:
            r = await client.post(
                f"{url}/api/jobs",
                json={"method": "fast", "content": photo, "image_size": 128, "model": "starry-night-lite"},
            )
            return r.status_code, r.json().get("id")

        return await asyncio.gather(*(one() for _ in range(n)))


def burst(root: Path) -> dict:
    server = start_server(root / "burst", "--queue-size", "20", "--workers", "1")
    try:
        photo = upload(server.url, PHOTO.read_bytes()).json()["id"]
        answers = asyncio.run(_burst(server.url, photo, 100))
        accepted = [i for code, i in answers if code == 202]
        refused = sum(1 for code, _ in answers if code == 503)
        other = sum(1 for code, _ in answers if code not in (202, 503))
        finals = [wait_done(server.url, i, 120)["status"] for i in accepted]
        listed = {j["id"] for j in httpx.get(f"{server.url}/api/jobs").json()}
        return {
            "requests": 100,
            "accepted": len(accepted),
            "refused_503": refused,
            "other_status": other,
            "done": finals.count("done"),
            "lost": sum(1 for i in accepted if i not in listed) + sum(1 for s in finals if s != "done"),
        }
    finally:
        server.stop(grace=20)


def _alive(pid: str) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def crash(root: Path) -> dict:
    data = root / "crash"
    server = start_server(data, "--workers", "1")
    photo = upload(server.url, PHOTO.read_bytes()).json()["id"]
    ident = httpx.post(
        f"{server.url}/api/jobs",
        json={"method": "gatys", "content": photo, "style": "gallery:udnie", "image_size": 64, "steps": 30},
    ).json()["id"]
    deadline = time.monotonic() + 120
    step = 0
    while time.monotonic() < deadline:
        job = httpx.get(f"{server.url}/api/jobs/{ident}").json()
        if job["status"] == "running" and job["step"] > 0:
            step = job["step"]
            break
        time.sleep(0.1)
    children = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout.split()
    server.stop(signal.SIGKILL)
    orphans = children
    for _ in range(50):  # the worker must die with its server (a zombie awaiting its reaper counts as gone)
        time.sleep(0.1)
        orphans = [pid for pid in children if _alive(pid)]
        if not orphans:
            break
    restarted = start_server(data, "--workers", "1")
    try:
        start = time.monotonic()
        job = wait_done(restarted.url, ident, 300)
        return {
            "killed_at_step": step,
            "server_children": len(children),
            "orphans_after_kill": len(orphans),
            "final_status": job["status"],
            "attempts": job["attempts"],
            "seconds_after_restart": round(time.monotonic() - start, 1),
        }
    finally:
        restarted.stop(grace=20)


def _png(w: int, h: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def malformed(root: Path) -> dict:
    data = root / "malformed"
    server = start_server(data, "--workers", "1")
    try:
        good = io.BytesIO()
        Image.open(PHOTO).save(good, "PNG")
        whole = good.getvalue()
        cases = []
        for k in range(10):
            cases.append(("truncated", whole[: 200 + 997 * k]))
            cases.append(("wrong type", [b"%PDF-1.4\n", b"<svg></svg>", b"PK\x03\x04zip", b"#!/bin/sh\n"][k % 4] * 20))
            cases.append(("huge dimensions", _png(60_000 + k, 60_000)))
            cases.append(("zero bytes", b""))
            cases.append(("garbage after signature", b"\xff\xd8\xff" + os.urandom(500 + k)))
        codes: dict[str, list[int]] = {}
        for kind, payload in cases:
            codes.setdefault(kind, []).append(upload(server.url, payload, name="photo.png").status_code)
        left = [p.name for sub in ("uploads", "staging") for p in (data / sub).iterdir()]
        return {
            "uploads": len(cases),
            "all_4xx": all(400 <= c < 500 for cs in codes.values() for c in cs),
            "codes": {k: sorted(set(v)) for k, v in codes.items()},
            "files_left": len(left),
        }
    finally:
        server.stop(grace=20)


def latency(root: Path, runs: int = 10) -> dict:
    """The page's default instant engine (starry-night-lite) and the full shipped model, one server."""
    server = start_server(root / "latency", "--workers", "1")
    try:
        photo = upload(server.url, PHOTO.read_bytes()).json()["id"]
        out = {m: _latency(server, photo, m, runs) for m in ("starry-night-lite", "starry-night")}
        out["load_average"] = [round(x, 2) for x in os.getloadavg()]
        return out
    finally:
        server.stop(grace=20)


def _latency(server: ServeProcess, photo: str, model: str, runs: int) -> dict:
    times = []
    parts: dict[str, list[float]] = {"submit": [], "queue": [], "worker": [], "notify": [], "download": []}
    with httpx.Client(timeout=60) as client:
        for i in range(runs + 1):
            start, wall = time.perf_counter(), time.time()
            ident = client.post(
                f"{server.url}/api/jobs",
                json={"method": "fast", "model": model, "content": photo, "image_size": 512},
            ).json()["id"]
            submitted = time.perf_counter()
            with client.stream("GET", f"{server.url}/api/jobs/{ident}/events") as events:
                for line in events.iter_lines():
                    if line.startswith("data: ") and json.loads(line[6:])["status"] in ("done", "failed"):
                        job, told = json.loads(line[6:]), time.time()
                        break
            got = time.perf_counter()
            png = client.get(f"{server.url}/api/jobs/{ident}/result.png").content
            if i:  # the first run loads the model in the worker
                times.append(time.perf_counter() - start)
                # where the time goes (server and client share the clock: same machine)
                parts["submit"].append(submitted - start)
                parts["queue"].append(job["started"] - wall - (submitted - start))
                parts["worker"].append(job["finished"] - job["started"])
                parts["notify"].append(told - job["finished"])
                parts["download"].append(time.perf_counter() - got)
    size = Image.open(io.BytesIO(png)).size
    return {
        "runs": runs,
        "size": list(size),
        "median_s": round(statistics.median(times), 3),
        "p90_s": round(sorted(times)[int(0.9 * (len(times) - 1))], 3),
        "max_s": round(max(times), 3),
        "median_parts_s": {k: round(statistics.median(v), 3) for k, v in parts.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder for the servers' data [a temporary folder]")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--only", default="burst,crash,malformed,latency")
    args = parser.parse_args()
    root = Path(args.data or tempfile.mkdtemp(prefix="impasto-web-load-"))
    root.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.only.split(","):
        start = time.monotonic()
        results[name] = globals()[name](root)
        results[name]["wall_s"] = round(time.monotonic() - start, 1)
        print(name, json.dumps(results[name]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
