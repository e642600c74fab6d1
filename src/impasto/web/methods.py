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
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from .jobs import DataDir, Job, JobStore

METHODS = ("fast", "gatys", "wct", "adain")
SIZE_RANGE = {"fast": (64, 1536), "wct": (64, 1024), "adain": (64, 1024), "gatys": (64, 768)}
DEFAULTS = {"fast": 512, "wct": 512, "adain": 512, "gatys": 256}
PREVIEW_EVERY = 0.4  # seconds between preview images of a Gatys run


def universal_available() -> bool:
    """True once :func:`impasto.stylize` takes ``method="wct"`` (universal transfer in the façade)."""
    from .. import api

    return "method" in inspect.signature(api.stylize).parameters


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
    return str(params["method"])


class WorkerContext:
    """What a worker keeps between jobs: the data folder and loaded feed-forward models."""

    def __init__(self, data: DataDir) -> None:
        self.data = data
        self.models: dict[str, Any] = {}

    def fast_model(self, name: str) -> Any:
        if name not in self.models:
            from ..feedforward.apply import load_model

            self.models[name] = load_model(name)
        return self.models[name]


def _preview_jpeg(image: Any) -> bytes:
    from PIL import Image

    arr = image.detach().float().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
    buf = io.BytesIO()
    Image.fromarray((arr * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def run_job(job: Job, token: str, store: JobStore, context: WorkerContext | None = None) -> None:
    """Run one claimed job and write its result atomically; :class:`JobCancelled` when stopped."""
    from .. import api
    from ..io import read_image, write_image
    from ..io.atomic import write_bytes
    from ..transforms import resize_long_side, to_array, to_tensor
    from .jobs import JobCancelled

    data = store.data
    context = context or WorkerContext(data)
    p = job.params
    content = read_image(data.upload(p["content"]))
    metadata = {"Software": "impasto", "impasto:studio": json.dumps(p, sort_keys=True), "impasto:method": label(p)}
    if p["method"] == "fast":
        if not store.progress(job.id, token, "stylize", 0, 1):
            raise JobCancelled
        photo = to_array(resize_long_side(to_tensor(content), p["image_size"]))
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
            if not store.progress(job.id, token, event.stage, event.step, event.total, preview=wrote):
                raise JobCancelled

        result = api.stylize(
            content,
            style_path(p["style"], data),
            image_size=p["image_size"],
            steps=p["steps"],
            style_weight=100.0 * 10 ** (2 * p["strength"] - 1),
            init="content",
            preserve_color="luminance" if p["preserve_color"] else "none",
            callback=callback,
        )
        out = result.array
        metadata.update(result.metadata())
    else:  # wct / adain through the façade, once it offers them

        def callback(event: Any) -> None:
            if not store.progress(job.id, token, event.stage, event.step, event.total):
                raise JobCancelled

        result = api.stylize(
            content,
            style_path(p["style"], data),
            method=p["method"],
            image_size=p["image_size"],
            strength=p["strength"],
            preserve_color="luminance" if p["preserve_color"] else "none",
            callback=callback,
        )
        out = result.array
        metadata.update(result.metadata())
    if not store.owns(job.id, token):
        raise JobCancelled
    write_image(data.result(job.id), np.asarray(out, dtype=np.float32), metadata=metadata)
    store.progress(job.id, token, "done", 1, 1)
