"""Video in the studio through FastAPI's TestClient: uploads checked from content (PyAV), a video job
with per-frame progress, the MP4 download; the clips are made here by PyAV."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
av = pytest.importorskip("av", reason="studio video needs PyAV: pip install 'impasto[video]'")
from impasto.web import video  # noqa: E402
from impasto.web.workers import work_once  # noqa: E402

from .conftest import client_fixture, file_poster  # noqa: E402
from .conftest import leftovers as data_files  # noqa: E402


def clip_bytes(tmp_path: Path, frames: int = 6, size: tuple[int, int] = (64, 48), codec: str = "mpeg4") -> bytes:
    """A tiny MP4 of a bar moving across a gradient (no audio)."""
    w, h = size
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = np.zeros((h, w, 3), np.uint8)
            img[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
            img[:, 4 + 4 * i : 12 + 4 * i] = (250, 240, 30)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path.read_bytes()


client = client_fixture(bound=5)
send = file_poster("/api/videos", "clip.mp4")


def leftovers(root: Path) -> list[str]:
    return data_files(root, "videos", "staging", "results")


def test_info_offers_video(client):
    assert client.get("/api/info").json()["video"] is True


def test_video_job_runs_with_per_frame_progress_and_downloads(client, tmp_path):
    r = send(client, clip_bytes(tmp_path, frames=6), name="holiday.png")  # the name is not what counts
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["width"], body["height"], body["frames"]) == (64, 48, 6)
    r = client.post(
        "/api/jobs",
        json={"method": "video", "content": body["id"], "engine": "fast:starry-night-lite", "image_size": 64},
    )
    assert r.status_code == 202, r.text
    jid = r.json()["id"]
    seen: list[tuple[int, int]] = []
    store = client.app_state.store()
    original = store.progress

    def spy(ident, token, stage, step, total, preview=False):
        seen.append((step, total))
        return original(ident, token, stage, step, total, preview)

    store.progress = spy
    assert work_once(store) == jid
    job = client.get(f"/api/jobs/{jid}").json()
    assert job["status"] == "done", job
    assert job["label"] == "video:fast:starry-night-lite" and job["result_url"].endswith("/result.mp4")
    assert [s for s, t in seen if t == 6] == list(range(1, 7))  # one event per frame
    download = client.get(f"/api/jobs/{jid}/result.mp4?download=1")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    with av.open(io.BytesIO(download.content)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 6 and frames[0].shape[:2] == (48, 64)
    assert client.get(f"/api/jobs/{jid}/result.png").status_code == 404
    assert leftovers(tmp_path / "data") == [f"results/{jid}.mp4", f"videos/{body['id']}.video"]  # frames removed


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda tmp: b"", 400),
        (lambda tmp: _png(), 415),  # an image opens in FFmpeg too, but not as a video container
        (lambda tmp: b"<html>not a video</html>" * 10, 415),
        (lambda tmp: clip_bytes(tmp)[:300], 415),  # truncated before its index: unreadable
    ],
    ids=["empty", "png", "text", "truncated"],
)
def test_bad_videos_get_4xx_and_leave_nothing(client, tmp_path, make, status):
    r = send(client, make(tmp_path))
    assert r.status_code == status, r.text
    assert "detail" in r.json()
    assert leftovers(tmp_path / "data") == []


def test_video_bounds(client, tmp_path, monkeypatch):
    monkeypatch.setattr(video, "MAX_FRAMES", 4)
    r = send(client, clip_bytes(tmp_path, frames=6))
    assert r.status_code == 413 and "at most 4" in r.json()["detail"]
    monkeypatch.setattr(video, "MAX_BYTES", 1000)
    r = send(client, clip_bytes(tmp_path, frames=6))
    assert r.status_code == 413 and "MB" in r.json()["detail"]
    assert leftovers(tmp_path / "data") == []


def test_video_settings_are_checked(client, tmp_path):
    vid = send(client, clip_bytes(tmp_path)).json()["id"]
    photo = client.post("/api/uploads", files={"file": ("p.png", _png())}).json()["id"]
    for bad in (
        {"method": "video", "content": photo},  # a photo's id is not a video's
        {"method": "video", "content": vid, "engine": "gatys"},
        {"method": "video", "content": vid, "engine": "wct", "style": "/etc/passwd"},
        {"method": "video", "content": vid, "image_size": 5000},
        {"method": "video", "content": vid, "output": "/tmp/x.mp4"},
    ):
        r = client.post("/api/jobs", json=bad)
        assert r.status_code == 400, (bad, r.text)
