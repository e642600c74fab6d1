"""impasto studio: the FastAPI app behind ``impasto serve``.

:func:`create_app` builds it: the page (``static/``, hand-written, no build step, nothing fetched from
elsewhere), a JSON API over the job queue (:mod:`.jobs`), server-sent progress events carrying the
current image of a Gatys run, a camera WebSocket that stylises frames with a shipped feed-forward
model, and the preference study (:mod:`.study`). Every file name on disk is a random id made here;
request text only ever selects among those ids, gallery names and shipped model names.

With a ``token``, every request must carry it: ``Authorization: Bearer T``, ``?token=T`` (which also
sets an HttpOnly cookie so the page's own requests, images and sockets carry it) or that cookie.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import io
import json
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, File, HTTPException, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from ..errors import InputError
from . import methods, study, video
from .jobs import FINISHED, DataDir, JobStore, QueueFull, is_id
from .uploads import MAX_BYTES, UploadError, sniff, store_upload
from .workers import WorkerPool

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
COOKIE = "impasto_token"
CAMERA_MAX_BYTES = 2 * 1024 * 1024
CAMERA_MAX_PIXELS = 1280 * 960
CAMERA_MODEL = "starry-night-lite"
EVENT_POLL = 0.05  # seconds between looks at a followed job's row (one indexed SQLite read)


class TokenGate:
    """ASGI middleware: refuse any HTTP request or WebSocket without the token (401 / close 1008)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self.token = app, token.encode()

    def _given(self, scope: dict[str, Any]) -> tuple[str | None, bool]:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[0]
        if query:
            return query, True
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value, False
        return None, False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        given, from_query = self._given(scope)
        ok = given is not None and hmac.compare_digest(given.encode(), self.token)
        if not ok:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            response = PlainTextResponse(
                "impasto studio: this server needs its token (open the address "
                "printed by 'impasto serve', which ends in ?token=...)",
                401,
            )
            return await response(scope, receive, send)
        if not (from_query and scope["type"] == "http"):
            return await self.app(scope, receive, send)

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{COOKIE}={given}; HttpOnly; SameSite=Strict; Path=/"
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))],
                }
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class Stores(threading.local):
    """One :class:`JobStore` (SQLite connection) per server thread."""

    def __init__(self, data: DataDir, bound: int) -> None:
        self.store = JobStore(data, bound)


def _checked_id(ident: str) -> str:
    if not is_id(ident):
        raise HTTPException(404, "no such item")
    return ident


def create_app(
    data: str | Path, *, workers: int = 1, bound: int = 20, token: str | None = None, max_bytes: int = MAX_BYTES
) -> FastAPI:
    """The studio app over the data folder ``data``.

    Args:
        data: folder for the database, uploads, results and previews (created if missing).
        workers: worker processes that run jobs (0: none; tests then call :func:`.workers.work_once`).
        bound: how many jobs may wait in the queue before submissions get 503.
        token: when set, every request must carry it (see the module docstring).
        max_bytes: the largest upload accepted.
    """
    folder = DataDir(data).create()
    JobStore(folder, bound).close()  # schema
    study.open_study(folder).close()
    pool = WorkerPool(folder, workers)
    local: Stores | None = None

    def store() -> JobStore:
        nonlocal local
        if local is None:
            local = Stores(folder, bound)
        return local.store

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        recovered = store().recover()
        if recovered:
            log.info("re-queued %d job(s) left running by the previous server", recovered)
        pool.start()
        try:
            yield
        finally:
            await run_in_threadpool(pool.stop)

    app = FastAPI(title="impasto studio", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.data, app.state.store, app.state.pool = folder, store, pool
    caps = {**methods.capabilities(), "video": video.available()}
    camera: dict[str, Any] = {"lock": threading.Lock(), "model": None}

    @app.exception_handler(InputError)
    async def input_error(request: Request, err: InputError) -> JSONResponse:
        return JSONResponse({"detail": " ".join(str(err).split())}, getattr(err, "status", 400))

    @app.exception_handler(study.StudyError)
    async def study_error(request: Request, err: study.StudyError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, 409)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/study", include_in_schema=False)
    def study_page() -> FileResponse:
        return FileResponse(STATIC / "study.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return {**caps, "queue": store().counts(), "bound": bound, "max_bytes": max_bytes}

    @app.post("/api/uploads", status_code=201)
    async def upload(request: Request, file: UploadFile = File(...)) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes + 65536:
            raise UploadError(f"the upload is over {max_bytes // (1024 * 1024)} MB; send a smaller image", 413)
        payload = await file.read(max_bytes + 1)
        stored = await run_in_threadpool(store_upload, folder, payload, max_bytes=max_bytes)
        return {"id": stored.id, "width": stored.width, "height": stored.height}

    @app.post("/api/videos", status_code=201)
    async def upload_video(request: Request, file: UploadFile = File(...)) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > video.MAX_BYTES + 65536:
            raise UploadError(f"the video is over {video.MAX_BYTES // (1024 * 1024)} MB; send a shorter clip", 413)
        stored = await run_in_threadpool(video.store_video, folder, file.file)
        return {
            "id": stored.id,
            "width": stored.width,
            "height": stored.height,
            "frames": stored.frames,
            "seconds": stored.seconds,
        }

    @app.get("/api/uploads/{ident}.png")
    def uploaded(ident: str) -> FileResponse:
        path = folder.upload(_checked_id(ident))
        if not path.is_file():
            raise HTTPException(404, "no such upload")
        return FileResponse(path, media_type="image/png")

    @app.get("/api/gallery/{name}.jpg")
    def painting(name: str) -> FileResponse:
        if name not in caps["styles"]:
            raise HTTPException(404, "no such painting")
        from ..gallery import resolve_style

        return FileResponse(resolve_style(name), media_type="image/jpeg")

    @app.post("/api/jobs", status_code=202)
    async def submit(request: Request) -> dict[str, Any]:
        try:
            raw = await request.json()
        except ValueError:
            raise InputError("send the job's settings as a JSON object") from None
        if isinstance(raw, dict) and raw.get("method") == "video":
            params = video.check_video_params(raw, folder, caps)
        else:
            params = methods.check_params(raw, folder, caps)
        try:
            ident = await run_in_threadpool(lambda: store().submit(params))
        except QueueFull as full:
            raise HTTPException(503, str(full), headers={"Retry-After": "5"}) from None
        return {"id": ident, "status": "queued"}

    @app.get("/api/jobs")
    def jobs(status: str | None = None) -> list[dict[str, Any]]:
        return [
            _public(j.as_dict()) for j in store().list(status if status in FINISHED + ("queued", "running") else None)
        ]

    def _get(ident: str) -> Any:
        job = store().get(_checked_id(ident))
        if job is None:
            raise HTTPException(404, "no such job")
        return job

    @app.get("/api/jobs/{ident}")
    def job(ident: str) -> dict[str, Any]:
        return _public(_get(ident).as_dict())

    @app.delete("/api/jobs/{ident}")
    def cancel(ident: str) -> dict[str, Any]:
        status = store().cancel(_checked_id(ident))
        if status is None:
            raise HTTPException(404, "no such job")
        return {"id": ident, "status": status}

    def _result_file(ident: str, download: bool, video: bool) -> FileResponse:
        """The finished result of a job: its image, or its clip (``video``); named for a download."""
        job = _get(ident)
        path = folder.video_result(job.id) if video else folder.result(job.id)
        if job.status != "done" or not path.is_file():
            raise HTTPException(404, "no video result (yet)" if video else "no result (yet)")
        name = f"impasto-{methods.label(job.params).replace(':', '-')}-{job.id[:8]}{path.suffix}"
        media_type = "video/mp4" if video else "image/png"
        return FileResponse(path, media_type=media_type, filename=name if download else None)

    @app.get("/api/jobs/{ident}/result.png")
    def result(ident: str, download: bool = False) -> FileResponse:
        return _result_file(ident, download, video=False)

    @app.get("/api/jobs/{ident}/result.mp4")
    def video_result(ident: str, download: bool = False) -> FileResponse:
        return _result_file(ident, download, video=True)

    @app.get("/api/jobs/{ident}/preview.jpg")
    def preview(ident: str) -> FileResponse:
        path = folder.preview(_get(ident).id)
        if not path.is_file():
            raise HTTPException(404, "no preview yet")
        return FileResponse(path, media_type="image/jpeg")

    @app.get("/api/jobs/{ident}/events")
    async def events(ident: str, request: Request) -> StreamingResponse:
        _get(ident)
        return StreamingResponse(
            _event_stream(folder, bound, ident, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.websocket("/ws/camera")
    async def camera_socket(ws: WebSocket) -> None:
        model_name = ws.query_params.get("model", CAMERA_MODEL)
        await ws.accept()
        if model_name not in caps["models"]:
            await ws.close(1008, "unknown model")
            return
        try:
            while True:
                frame = await ws.receive_bytes()
                try:
                    out = await run_in_threadpool(_stylize_frame, camera, model_name, frame)
                except InputError as err:
                    await ws.send_text(json.dumps({"error": str(err)}))
                    continue
                await ws.send_bytes(out)
        except WebSocketDisconnect:
            pass

    @app.post("/api/study/session")
    def study_session() -> dict[str, str]:
        return {"session": study.new_session()}

    @app.get("/api/study/pair")
    def study_pair(session: str) -> dict[str, Any]:
        conn = study.open_study(folder)
        try:
            pair = study.next_pair(conn, _checked_id(session))
        finally:
            conn.close()
        if pair is None:
            raise HTTPException(
                404,
                "the study has no pairs yet: it needs two finished results of the same "
                "photo and painting made with different methods or settings",
            )
        return {
            **pair,
            "left_url": f"/api/jobs/{pair['left']}/result.png",
            "right_url": f"/api/jobs/{pair['right']}/result.png",
        }

    @app.post("/api/study/vote")
    async def study_vote(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise InputError("send the vote as JSON") from None
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("session", "token", "choice")):
            raise InputError("a vote needs session, token and choice")

        def vote() -> dict[str, Any]:
            conn = study.open_study(folder)
            try:
                return study.record_vote(conn, _checked_id(body["session"]), _checked_id(body["token"]), body["choice"])
            finally:
                conn.close()

        return await run_in_threadpool(vote)

    if token:
        app.add_middleware(TokenGate, token=token)
    return app


def _public(job: dict[str, Any]) -> dict[str, Any]:
    job["label"] = methods.label(job["params"])
    if job["status"] == "done":
        kind = "mp4" if job["params"].get("method") == "video" else "png"
        job["result_url"] = f"/api/jobs/{job['id']}/result.{kind}"
    return job


async def _event_stream(folder: DataDir, bound: int, ident: str, request: Request) -> AsyncIterator[bytes]:
    """Server-sent events: the job's state whenever it changes, with the preview image when it is new."""
    store = JobStore(folder, bound)
    last: tuple[Any, ...] | None = None
    idle = 0.0
    try:
        while True:
            job = await run_in_threadpool(store.get, ident)
            if job is None:
                return
            state = (job.status, job.stage, job.step, job.total, job.preview)
            if state != last:
                payload = _public(job.as_dict())
                if last is None or job.preview != last[4]:
                    path = folder.preview(ident)
                    if job.preview and path.is_file():
                        with contextlib.suppress(OSError):
                            payload["image"] = "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()
                last, idle = state, 0.0
                yield f"data: {json.dumps(payload)}\n\n".encode()
                if job.status in FINISHED:
                    return
            elif idle > 10:
                idle = 0.0
                yield b": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_POLL)
            idle += EVENT_POLL
    finally:
        store.close()


def _stylize_frame(camera: dict[str, Any], model_name: str, frame: bytes) -> bytes:
    """One camera frame (JPEG/PNG/WebP bytes) -> the stylised frame as JPEG bytes."""
    import numpy as np
    from PIL import Image

    if len(frame) > CAMERA_MAX_BYTES or sniff(frame[:16]) not in ("jpeg", "png", "webp"):
        raise InputError("camera frames must be JPEG, PNG or WebP images under 2 MB")
    with Image.open(io.BytesIO(frame)) as im:
        if im.width * im.height > CAMERA_MAX_PIXELS or min(im.size) < 16:
            raise InputError("camera frames must be between 16x16 and 1280x960 pixels")
        array = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    from ..feedforward.apply import load_model, stylize_arrays

    with camera["lock"]:
        if camera["model"] is None or camera["model"].name != model_name:
            camera["model"] = load_model(model_name)
        out = stylize_arrays([array], camera["model"], engine="auto")[0]
    buf = io.BytesIO()
    Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=80)
    return buf.getvalue()
