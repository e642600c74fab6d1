"""The studio page in a real Chromium (Debian's package, driven by Playwright), against a live server."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from PIL import Image

from .conftest import PHOTO


@pytest.fixture
def page(browser, studio):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    pg.goto(studio.url + "/")
    pg.wait_for_selector("body[data-ready=true]", timeout=20_000)
    yield pg
    context.close()
    assert errors == []  # no uncaught script errors on the page


def stylise_photo(pg) -> None:
    pg.set_input_files("#photo-input", str(PHOTO))
    pg.wait_for_function("!document.getElementById('run').disabled", timeout=20_000)
    pg.click("#run")
    pg.wait_for_selector("#download:not([hidden])", timeout=60_000)


def test_page_loads(page):
    assert page.title() == "impasto studio"
    assert page.locator("#styles button").count() == 6
    assert page.locator("#engine option").count() >= 2
    assert page.locator("#run").is_disabled()  # nothing to stylise yet


def test_photo_uploaded_stylised_and_downloaded(page, tmp_path):
    stylise_photo(page)
    assert page.inner_text("#status").startswith("Done in")
    assert page.locator("#history .card").count() >= 1
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    image = Image.open(saved)
    assert saved.suffix == ".png" and image.format == "PNG" and max(image.size) == 512
    assert image.text["impasto:method"].startswith("fast:")


def test_comparison_slider_moves(page):
    stylise_photo(page)
    before = page.eval_on_selector("#after-clip", "e => e.style.clipPath")
    box = page.locator("#compare").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.15, box["y"] + box["height"] / 2)
    value = int(page.input_value("#compare"))
    assert value < 30
    after = page.eval_on_selector("#after-clip", "e => e.style.clipPath")
    assert after != before and f"{value}%" in after
    assert page.eval_on_selector("#divider", "e => e.style.left") == f"{value}%"


def test_camera_mode_shows_frames(page):
    page.click("#camera-toggle")
    page.wait_for_function("Number(document.getElementById('camera-count').textContent) >= 3", timeout=30_000)
    # the output canvas holds a picture, not the blank background
    spread = page.evaluate("""() => {
        const d = document.getElementById('camera-out').getContext('2d').getImageData(0, 0, 320, 240).data;
        let lo = 255, hi = 0;
        for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }
        return hi - lo; }""")
    assert spread > 30
    page.click("#camera-toggle")


def _wait_done(url: str, ident: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/jobs/{ident}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {ident} not finished after {timeout} s")


def test_study_records_a_vote(browser, studio):
    photo = httpx.post(f"{studio.url}/api/uploads", files={"file": ("p.jpg", PHOTO.read_bytes())}).json()["id"]
    for model in ("starry-night", "starry-night-lite"):
        ident = httpx.post(
            f"{studio.url}/api/jobs", json={"method": "fast", "content": photo, "model": model, "image_size": 128}
        ).json()["id"]
        assert _wait_done(studio.url, ident)["status"] == "done"
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(studio.url + "/study")
    pg.wait_for_selector("body[data-ready=true]", timeout=20_000)
    pg.wait_for_function("document.getElementById('left').naturalWidth > 0", timeout=20_000)
    pg.click("#pick-left")
    pg.wait_for_selector("body[data-votes='1']", timeout=20_000)
    context.close()
    with sqlite3.connect(studio.data / "studio.db") as conn:
        votes = conn.execute("SELECT winner, loser FROM study_votes").fetchall()
    assert len(votes) == 1 and set(votes[0]) <= {"fast:starry-night", "fast:starry-night-lite"}


@pytest.mark.slow
def test_gatys_run_shows_progress_updates(page):
    page.set_input_files("#photo-input", str(PHOTO))
    page.wait_for_function("!document.getElementById('run').disabled", timeout=20_000)
    page.check("input[name=method][value=gatys]")
    page.click("button[data-style='gallery:udnie']")
    page.fill("#steps", "12")
    page.eval_on_selector("#size", "e => { e.value = 64; e.dispatchEvent(new Event('input')); }")
    page.click("#run")
    page.wait_for_function("Number(document.getElementById('progress').dataset.updates || 0) >= 3", timeout=90_000)
    assert page.eval_on_selector("#after", "e => e.src").startswith("data:image/jpeg")  # the current image
    page.wait_for_selector("#download:not([hidden])", timeout=90_000)
    assert "gatys:12" in page.inner_text("#status")


def test_video_uploaded_painted_and_downloadable(page, tmp_path):
    pytest.importorskip("av")
    from .test_video import clip_bytes

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(clip_bytes(tmp_path, frames=4))
    assert page.is_visible("#video-section")
    page.eval_on_selector("#size", "e => { e.value = 64; e.dispatchEvent(new Event('input')); }")
    page.set_input_files("#video-input", str(clip))
    page.wait_for_function("!document.getElementById('video-run').disabled", timeout=20_000)
    assert "4 frames" in page.inner_text("#video-status")
    page.click("#video-run")
    page.wait_for_selector("#video-download:not([hidden])", timeout=60_000)
    assert page.inner_text("#video-status").startswith("Done (video:fast:")
    href = page.get_attribute("#video-download", "href")
    assert href.endswith("/result.mp4?download=1")
    assert page.locator("#history .card video").count() >= 1
