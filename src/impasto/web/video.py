"""Video in the studio: checked uploads, and jobs that run :func:`impasto.stylize_video`.

An uploaded video is streamed to a staging file under a random name (bounded in bytes while it
arrives), and its type comes from its content: PyAV opens it, the demuxer it picks must be one of
the video containers in :data:`CONTAINERS` (an image, which PyAV would also open, is refused), and
:func:`impasto.video.io.probe` must find a video stream with frames, within :data:`MAX_FRAMES`
frames and :data:`MAX_PIXELS` pixels a frame. Only then is the file moved to ``videos/<id>.video``;
whatever happens, the staging file is gone afterwards.

A video job (``method: "video"``, checked by :func:`check_video_params`, run by :func:`run_video_job`
from :func:`impasto.web.workers.run_claimed`) names the uploaded clip, an instant ``engine`` (``fast:MODEL``,
``wct`` or ``adain``) with its painting, a size and a strength; the worker runs the façade's
``stylize_video`` with one progress event per frame, frames kept in ``staging/<job>.frames`` (a job
re-queued after a crash resumes from them), and the result becomes ``results/<job>.mp4`` only when
complete (the video pipeline writes atomically).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from ..errors import InputError
from .jobs import DataDir, is_id, new_id
from .uploads import UploadError

if TYPE_CHECKING:
    from .jobs import Job, JobStore

MAX_BYTES = 200 * 1024 * 1024
MAX_FRAMES = 3000  # e.g. 100 s at 30 fps
MAX_PIXELS = 3840 * 2160
SIZE_RANGE = (64, 768)
DEFAULT_SIZE = 384
CHUNK = 1024 * 1024
# PyAV (FFmpeg) demuxer names of video containers
CONTAINERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mpeg", "mpegts", "flv", "ogg"})


@dataclass(frozen=True)
class StoredVideo:
    id: str
    width: int
    height: int
    frames: int
    seconds: float


def available() -> bool:
    """True when PyAV is installed (the video extra)."""
    import importlib.util

    return importlib.util.find_spec("av") is not None


def store_video(data: DataDir, source: IO[bytes], *, max_bytes: int | None = None) -> StoredVideo:
    """Copy the upload ``source`` to staging, check it, keep it as ``videos/<id>.video``."""
    from ..video.io import probe

    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    if not available():
        raise UploadError("video needs PyAV: pip install 'impasto[video]'", 501)
    ident = new_id()
    staging = data.staging / f"{ident}.video"
    try:
        size = 0
        with open(staging, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(f"the video is over {max_bytes // (1024 * 1024)} MB; send a shorter clip", 413)
                out.write(chunk)
        if size == 0:
            raise UploadError("the upload is empty; choose a video file")
        container = _container(staging)
        if container not in CONTAINERS:
            raise UploadError(
                "not a readable video (another type, or damaged): send an MP4, MOV, MKV, WebM, AVI, MPEG or Ogg file",
                415,
            )
        try:
            info = probe(staging)
        except InputError as err:
            raise UploadError(str(err).replace(str(staging), "the upload"), 400) from None
        if info.frames > MAX_FRAMES:
            raise UploadError(f"the video has {info.frames} frames; the studio takes at most {MAX_FRAMES}", 413)
        if info.width * info.height > MAX_PIXELS or min(info.width, info.height) < 16:
            raise UploadError(
                f"the video is {info.width}x{info.height}; frames must be between 16x16 and 3840x2160 px", 413
            )
        os.replace(staging, data.video(ident))
        return StoredVideo(ident, info.width, info.height, info.frames, round(info.duration, 3))
    finally:
        with contextlib.suppress(OSError):
            staging.unlink()


def _container(path: Any) -> str | None:
    """The demuxer FFmpeg picks for the file's content, or None when it opens as nothing."""
    import av

    try:
        with av.open(str(path)) as container:
            return str(container.format.name)
    except Exception:  # any failure to open means: not a video we take
        return None


def check_video_params(raw: dict[str, Any], data: DataDir, caps: dict[str, Any]) -> dict[str, Any]:
    """A video job's settings as a closed, checked dict; :class:`InputError` otherwise."""
    from .methods import _check_style, _number

    unknown = set(raw) - {"method", "content", "engine", "style", "image_size", "strength"}
    if unknown:
        raise InputError(f"unknown setting(s) for a video: {', '.join(sorted(map(str, unknown)))}")
    if not caps.get("video"):
        raise InputError("video needs PyAV on the server: pip install 'impasto[video]'")
    content = raw.get("content")
    if not isinstance(content, str) or not is_id(content) or not data.video(content).is_file():
        raise InputError("content must be the id of an uploaded video")
    engines = [f"fast:{m}" for m in caps["models"]] + [m for m in ("wct", "adain") if m in caps["methods"]]
    default = "fast:starry-night-lite" if "fast:starry-night-lite" in engines else engines[0]
    engine = raw.get("engine", default)
    if engine not in engines:
        raise InputError(f"engine must be one of {', '.join(engines)}; got {engine!r}")
    params: dict[str, Any] = {"method": "video", "content": content, "engine": engine}
    params["image_size"] = _number(raw, "image_size", DEFAULT_SIZE, *SIZE_RANGE, int)
    params["strength"] = _number(raw, "strength", 1.0, 0.0, 1.0)
    params["style"] = (
        "gallery:starry-night" if engine.startswith("fast:") else _check_style(raw.get("style"), data, caps)
    )
    return params


def run_video_job(job: Job, token: str, store: JobStore, context: Any = None) -> None:
    """Run a claimed video job; :class:`~impasto.web.jobs.JobCancelled` when stopped."""
    from .. import api
    from .jobs import JobCancelled
    from .methods import WorkerContext, style_path

    data = store.data
    context = context or WorkerContext(data)
    p = job.params
    output = data.video_result(job.id)
    work = data.staging / f"{job.id}.frames"
    resume = (work / "run.json").is_file()  # frames of this job's run before a crash
    output.unlink(missing_ok=True)

    def callback(event: Any) -> None:
        if not store.progress(job.id, token, "video", event.step, event.total):
            raise JobCancelled

    if not store.progress(job.id, token, "video", 0, 0):
        raise JobCancelled
    options: dict[str, Any] = {"image_size": p["image_size"], "work_dir": work, "resume": resume}
    if p["engine"].startswith("fast:"):
        options.update(method="fast", model=context.fast_model(p["engine"][5:]))
    else:
        options.update(method=p["engine"], style=style_path(p["style"], data), strength=p["strength"])
    try:
        api.stylize_video(data.video(p["content"]), output, callback=callback, **options)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)  # this job's own folder: named by its random id
        raise
    if not store.owns(job.id, token):
        output.unlink(missing_ok=True)
        raise JobCancelled
    store.progress(job.id, token, "done", 1, 1)
