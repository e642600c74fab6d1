"""The studio's HTTP API in-process (FastAPI's TestClient, no worker processes: jobs run through work_once)."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from impasto.web.workers import work_once  # noqa: E402

from .conftest import app_client, client_fixture, file_poster  # noqa: E402
from .conftest import leftovers as data_files  # noqa: E402


def png_bytes(w: int = 96, h: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 120, 40)).save(buf, "PNG")
    return buf.getvalue()


def png_header_only(w: int, h: int) -> bytes:
    """A PNG whose IHDR claims w x h pixels (an image bomb's header), with no image data."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


client = client_fixture(bound=3)
upload = file_poster("/api/uploads", "photo.png")


def leftovers(root: Path) -> list[str]:
    return data_files(root, "uploads", "staging", "results")


def test_page_and_info(client):
    page = client.get("/")
    assert page.status_code == 200 and "impasto" in page.text and "/static/app.js" in page.text
    assert "http" not in page.text.split("<body>")[0].replace('href="data:,"', "")  # nothing from elsewhere
    info = client.get("/api/info").json()
    assert "fast" in info["methods"] and "gatys" in info["methods"]
    assert "starry-night-lite" in info["models"] and "udnie" in info["styles"]
    assert client.get("/api/gallery/udnie.jpg").headers["content-type"] == "image/jpeg"
    assert client.get("/api/gallery/..%2Fetc.jpg").status_code == 404


def test_upload_is_checked_from_content_and_stored_under_a_random_id(client, tmp_path):
    jpeg = io.BytesIO()
    Image.new("RGB", (80, 60), "blue").save(jpeg, "JPEG")
    r = upload(client, jpeg.getvalue(), name="picture.png")  # name says png, content is JPEG: fine
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (80, 60) and len(body["id"]) == 32
    stored = tmp_path / "data" / "uploads" / f"{body['id']}.png"
    assert stored.is_file() and Image.open(stored).size == (80, 60)
    assert client.get(f"/api/uploads/{body['id']}.png").status_code == 200


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"", 400),  # zero bytes
        (b"<html>not an image</html>", 415),  # wrong type, whatever the name says
        (png_bytes()[:60], 400),  # truncated
        (png_header_only(100_000, 100_000), 413),  # 10^10 pixels claimed: refused from the header
        (png_bytes(8, 8), 400),  # under the 16 px minimum
    ],
    ids=["empty", "wrong-type", "truncated", "bomb", "tiny"],
)
def test_malformed_uploads_get_4xx_and_leave_nothing(client, tmp_path, payload, status):
    r = upload(client, payload, name="photo.png")
    assert r.status_code == status, r.text
    assert "detail" in r.json()
    assert leftovers(tmp_path / "data") == []


def test_upload_over_the_byte_bound_is_413(tmp_path):
    with app_client(tmp_path / "data", max_bytes=1000) as c:
        r = upload(c, png_bytes(200, 200) + b"\0" * 2000)
        assert r.status_code == 413
    assert leftovers(tmp_path / "data") == []


def test_job_settings_are_checked(client):
    cid = upload(client, png_bytes()).json()["id"]
    bad = [
        {"method": "fast", "content": "../../etc/passwd"},
        {"method": "fast", "content": "0" * 32},  # a well-formed id that was never uploaded
        {"method": "nope", "content": cid},
        {"method": "fast", "content": cid, "model": "/tmp/evil.pt"},
        {"method": "gatys", "content": cid, "style": "/etc/passwd"},
        {"method": "gatys", "content": cid, "style": "gallery:udnie", "image_size": 10_000},
        {"method": "fast", "content": cid, "strength": "strong"},
        {"method": "fast", "content": cid, "output": "/tmp/x.png"},
    ]
    for settings in bad:
        r = client.post("/api/jobs", json=settings)
        assert r.status_code == 400, (settings, r.text)
    assert client.post("/api/jobs", content=b"{not json").status_code == 400
    assert client.get("/api/jobs").json() == []


def test_fast_job_runs_and_downloads_a_png_with_its_settings(client):
    cid = upload(client, png_bytes(96, 64)).json()["id"]
    r = client.post(
        "/api/jobs",
        json={"method": "fast", "content": cid, "model": "starry-night-lite", "image_size": 64, "strength": 0.5},
    )
    assert r.status_code == 202
    jid = r.json()["id"]
    assert client.get(f"/api/jobs/{jid}/result.png").status_code == 404  # not run yet
    assert work_once(client.app_state.store()) == jid
    job = client.get(f"/api/jobs/{jid}").json()
    assert job["status"] == "done", job
    events = client.get(f"/api/jobs/{jid}/events").text
    assert events.startswith("data: ") and '"status": "done"' in events
    download = client.get(f"/api/jobs/{jid}/result.png?download=1")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    image = Image.open(io.BytesIO(download.content))
    assert image.size == (64, 43) or image.size == (64, 42)
    assert (
        '"strength": 0.5' in image.text["impasto:studio"] and image.text["impasto:method"] == "fast:starry-night-lite"
    )
    # half strength: between the flat photo and the painted result, so not flat
    assert np.asarray(image).std() > 5


def test_queue_bound_answers_503_and_cancel(client):
    cid = upload(client, png_bytes()).json()["id"]
    ids = [client.post("/api/jobs", json={"method": "fast", "content": cid}).json()["id"] for _ in range(3)]
    full = client.post("/api/jobs", json={"method": "fast", "content": cid})
    assert full.status_code == 503 and "full" in full.json()["detail"]
    assert client.delete(f"/api/jobs/{ids[0]}").json()["status"] == "cancelled"
    assert client.post("/api/jobs", json={"method": "fast", "content": cid}).status_code == 202
    assert client.delete("/api/jobs/" + "f" * 32).status_code == 404
    assert client.get("/api/jobs/not-an-id").status_code == 404


def test_camera_socket_stylises_a_frame_and_refuses_junk(client):
    frame = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 200)).save(frame, "JPEG")
    with client.websocket_connect("/ws/camera?model=starry-night-lite") as ws:
        ws.send_bytes(frame.getvalue())
        out = Image.open(io.BytesIO(ws.receive_bytes()))
        assert out.format == "JPEG" and out.size == (64, 48)
        ws.send_bytes(b"GIF89a not a frame")
        assert "error" in ws.receive_text()


def test_token_is_required_everywhere_when_set(tmp_path):
    with app_client(tmp_path / "data", token="s3cret") as c:
        assert c.get("/").status_code == 401
        assert c.get("/api/info").status_code == 401
        assert c.get("/api/info", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/info", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        r = c.get("/?token=s3cret")
        assert r.status_code == 200 and "impasto_token=s3cret" in r.headers["set-cookie"]
        assert c.get("/api/info").status_code == 200  # the cookie now carries it
        c.cookies.clear()
        with pytest.raises(Exception):  # noqa: B017 - the handshake is refused
            with c.websocket_connect("/ws/camera"):
                pass


def _universal_job(client, method: str) -> Image.Image:
    info = client.get("/api/info").json()
    if method not in info["methods"]:
        pytest.skip("impasto.stylize has no method= or no shipped decoders in this build")
    cid = upload(client, png_bytes(96, 64)).json()["id"]
    r = client.post(
        "/api/jobs",
        json={"method": method, "content": cid, "style": "gallery:udnie", "image_size": 64, "strength": 0.8},
    )
    assert r.status_code == 202, r.text
    jid = r.json()["id"]
    assert work_once(client.app_state.store()) == jid
    job = client.get(f"/api/jobs/{jid}").json()
    assert job["status"] == "done", job
    assert job["label"] == method
    return Image.open(io.BytesIO(client.get(f"/api/jobs/{jid}/result.png").content))


def test_instant_adain_job_runs_through_the_facade(client):
    image = _universal_job(client, "adain")
    assert image.size == (64, 43) or image.size == (64, 42)
    assert image.text["impasto:method"] == "adain"
    config = json.loads(image.text["impasto:config"])  # written by impasto.stylize(..., method="adain")
    assert config["method"] == "adain" and config["strength"] == 0.8
    assert np.asarray(image).std() > 5  # the flat orange photo took the painting's texture


@pytest.mark.slow
def test_instant_wct_job_runs_through_the_facade(client):
    image = _universal_job(client, "wct")
    assert image.text["impasto:method"] == "wct" and "impasto:levels" in image.text
