""":func:`stylize_video`: a clip in, the stylised clip out, steady, with its timing and sound.

The run, in order: everything is checked before any frame is stylised (the input is a video with
frames, the output container, folder and codec can be written, the output is not the input, the
model or style loads); frames are decoded one at a time and stylised in batches of ``batch_size``
(feed-forward, WCT, AdaIN) or one by one (Gatys with the temporal loss,
:mod:`impasto.video.temporal`); one-pass outputs go through the flow-guided stabiliser
(:mod:`impasto.video.stabilize`); each finished frame is saved (8-bit ``.npy``) in the work folder and
encoded (:class:`impasto.video.io.VideoWriter`) into a temporary file that becomes the output only
when every frame is in. An interrupted run leaves no output and keeps the finished frames;
``resume=True`` re-encodes them and goes on from the first missing one (the work folder's
``run.json`` must describe the same input and settings). The work folder is removed after success
unless ``keep_frames``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import GatysConfig
from ..errors import InputError, ResumeError
from ..progress import Callback, Progress
from .io import (
    DEFAULT_CODEC,
    DEFAULT_CRF,
    VideoInfo,
    VideoWriter,
    check_output,
    even_size,
    load_style,
    probe,
    read_frames,
)

log = logging.getLogger(__name__)

METHODS = ("fast", "wct", "adain", "gatys")
DEFAULT_STABILIZE = 0.7
STATE_FILE = "run.json"
# a one-pass method's frame: about three fp32 feature maps of 64 channels at full resolution live at once,
# plus the frame's copies (uint8, float32, the stabiliser's previous output and flow); a bound, not measured
ONE_PASS_BYTES = 3 * 64 * 4 + 8 * 3 * 4


@dataclass
class VideoResult:
    """What :func:`stylize_video` did.

    Attributes:
        output: the written file.
        frames: frames in the output.
        resumed: frames taken from the work folder of an earlier run.
        seconds: wall time of this call.
        fps: frames stylised per second in this call (resumed frames not counted).
        size: (width, height) of the output frames.
        settings: the method and options, as stored in the work folder.
    """

    output: Path
    frames: int
    resumed: int
    seconds: float
    fps: float
    size: tuple[int, int]
    settings: dict[str, Any]


class _OnePass:
    """Feed-forward, WCT or AdaIN stylisation of a batch of float frames (models loaded once)."""

    def __init__(
        self,
        method: str,
        model: Any,
        style: np.ndarray | None,
        *,
        device: str,
        precision: str,
        batch_size: int,
        strength: float,
        decoders: Any,
        smooth_stats: float = 0.0,
        anchor: float | None = None,
    ) -> None:
        self.method, self.device, self.precision, self.batch_size = method, device, precision, batch_size
        self.running: Any = None  # wct/adain: RunningStats when the content statistics are smoothed
        if method == "fast":
            from ..device import resolve_device
            from ..feedforward.apply import load_model

            self.model = load_model(model, resolve_device(device))
            return
        try:
            from ..universal.cascade import Encoder, _available_levels
            from ..universal.decoders import load_decoder_set
        except ImportError:
            raise InputError(f"method {method} needs impasto.universal, not in this installation") from None
        import torch

        from ..device import resolve_device
        from ..nets.decoder import LEVELS
        from ..universal.cascade import resolve_universal_precision

        if isinstance(decoders, dict):
            self.decoders = dict(decoders)
        else:
            self.decoders = load_decoder_set(_available_levels(decoders), decoders)
        self.dev = resolve_device(device)
        self.precision = resolve_universal_precision(precision, self.dev)
        # as stylize_universal: NHWC activations (faster oneDNN convolutions) and the resolved precision
        layout = torch.channels_last if self.dev.type in ("cpu", "cuda") else torch.contiguous_format
        self.decoders = {k: v.to(self.dev).eval().to(memory_format=layout) for k, v in self.decoders.items()}
        self.encoder = Encoder(
            max(self.decoders, key=LEVELS.index),
            channels_last=layout is torch.channels_last,
            precision=self.precision,
        ).to(self.dev)
        self.style, self.strength, self.anchor = style, strength, anchor
        self._style_stats: dict[int, Any] = {}  # frame long side -> StyleStatistics of the painting at it
        from ..universal.running import RunningStats

        self.running = RunningStats(smooth_stats) if smooth_stats > 0 else None

    def __call__(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self.method == "fast":
            from ..feedforward.apply import stylize_arrays

            return stylize_arrays(
                list(frames),
                self.model,
                batch_size=self.batch_size,
                device=self.device,
                precision=self.precision,
                engine="auto",
            )
        from ..transforms import resize_long_side, to_array, to_tensor
        from ..universal.cascade import style_statistics, stylize_tensor

        out = []
        for frame in frames:
            side = max(frame.shape[:2])
            if side not in self._style_stats:  # the painting is encoded once per frame size, not once per frame
                painting = resize_long_side(to_tensor(self.style, self.dev), side)
                self._style_stats[side] = style_statistics(
                    self.encoder, painting, list(self.decoders), method=self.method
                )
            image = stylize_tensor(
                to_tensor(frame, self.dev),
                [self._style_stats[side]],
                self.encoder,
                self.decoders,
                method=self.method,
                strength=self.strength,
                anchor=self.anchor,
                precision=self.precision,
                content_stats=self.running,
            )
            out.append(to_array(image))
        return out


def _work_folder(output: Path, work_dir: str | os.PathLike[str] | None) -> Path:
    return Path(work_dir) if work_dir is not None else output.with_name(output.name + ".frames")


def _frame_path(work: Path, index: int) -> Path:
    return work / f"{index:06d}.npy"


def _save_frame(work: Path, index: int, frame: np.ndarray) -> None:
    """A finished frame as 8-bit RGB ``.npy`` (fast to write, unlike PNG), atomically."""
    from ..io.atomic import atomic_path

    pixels = np.rint(np.clip(np.nan_to_num(frame), 0, 1) * 255).astype(np.uint8)
    with atomic_path(_frame_path(work, index), suffix=".npy") as temp:
        np.save(temp, pixels)


def _load_frame(work: Path, index: int) -> np.ndarray:
    try:
        return np.load(_frame_path(work, index)).astype(np.float32) / 255
    except (OSError, ValueError) as err:
        raise ResumeError(
            f"cannot read finished frame {_frame_path(work, index)}: {err}; delete it and resume"
        ) from None


def _done_frames(work: Path, total: int) -> int:
    n = 0
    while n < total and _frame_path(work, n).is_file():
        n += 1
    return n


def check_precision(method: str, precision: str | None) -> None:
    """One-line error for ``precision="int8"`` with a method other than wct and adain (the CLI calls it before
    it builds a Gatys config, whose own check would not say which methods take int8)."""
    if precision == "int8" and method not in ("wct", "adain"):
        raise InputError(f"precision int8 is for wct and adain (their VGG encoder); {method} takes fp32, bf16 or auto")


def stylize_video(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    method: str = "fast",
    model: str | os.PathLike[str] | Any = "starry-night",
    style: str | os.PathLike[str] | np.ndarray | None = None,
    stabilize: float | None = None,
    image_size: int | None = None,
    codec: str = DEFAULT_CODEC,
    crf: int | None = DEFAULT_CRF,
    audio: bool = True,
    batch_size: int = 4,
    device: str = "auto",
    precision: str | None = None,
    strength: float = 1.0,
    decoders: Any = None,
    smooth_stats: float = 0.0,
    anchor: float | None = None,
    config: GatysConfig | None = None,
    temporal_weight: float | None = None,
    later_steps: int | None = None,
    flow_preset: str = "medium",
    resume: bool = False,
    work_dir: str | os.PathLike[str] | None = None,
    keep_frames: bool = False,
    callback: Callback | None = None,
) -> VideoResult:
    """Stylise the clip ``input`` into ``output`` with a steady look; timing, rotation and sound kept.

    Args:
        input: a video file.
        output: the video to write (.mp4, .mov, .mkv, .webm, .avi); written only when complete.
        method: ``"fast"`` (a feed-forward network, ``model``), ``"wct"`` / ``"adain"`` (universal
            style transfer with ``style``) or ``"gatys"`` (optimisation with ``style``, temporal loss).
        model: for ``fast``: a shipped model's name, checkpoint or exported model.
        style: for wct/adain/gatys: the painting (file, array or gallery name).
        stabilize: flow-guided blending strength in [0, 1) for fast/wct/adain (0: off; default 0.7).
        image_size: long side of the output frames (default: the input's size).
        codec, crf: video encoder and its constant-rate quality (lower is better; x264 default 18).
        audio: keep the input's audio stream.
        batch_size: frames per network pass (fast).
        device, precision: torch device and ``fp32``/``bf16``/``auto`` (fast, wct, adain; default as for
            still images: ``fp32`` for fast, ``auto`` for wct and adain); wct and adain also take ``int8``
            (CPU; :mod:`impasto.features.int8`), which their ``auto`` picks where it is measured faster.
        strength: WCT/AdaIN style strength in [0, 1].
        decoders: WCT/AdaIN decoders (folder or mapping level -> decoder; default: the shipped ones).
        smooth_stats: wct/adain: the content's feature statistics become a moving average over frames
            with this momentum in [0, 1) (0: each frame its own; see :mod:`impasto.universal.running`).
        anchor: wct/adain: the frame's share in its relu3_1 features before their transform (default:
            0.5 for wct, 0 for adain; see :func:`impasto.universal.cascade.anchor_weights`).
        config: gatys: a :class:`GatysConfig` (``steps`` is the first frame's budget).
        temporal_weight: gatys: weight of the temporal loss (default 1e3; 0: independent frames).
        later_steps: gatys: evaluations per frame after the first (default: half of ``steps``).
        flow_preset: DIS optical-flow preset (``ultrafast``, ``fast``, ``medium``).
        resume: continue the frames in the work folder of an interrupted run with the same settings.
        work_dir: the work folder (default: ``OUTPUT.frames`` beside the output).
        keep_frames: keep the work folder after success.
        callback: one :class:`~impasto.progress.Progress` per frame, stage ``"video"``, losses
            ``fps`` (this call's stylisation rate) and ``eta`` (seconds left).

    Returns:
        :class:`VideoResult`.

    Example:
        >>> stylize_video("clip.mp4", "clip_starry.mp4", model="starry-night-lite")          # doctest: +SKIP
        >>> stylize_video("clip.mp4", "clip_wave.mp4", method="gatys", style="great-wave",
        ...               image_size=256, config=GatysConfig(steps=200))                     # doctest: +SKIP
    """
    from ..io.paths import check_output_file

    t0 = time.perf_counter()
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be an integer >= 1; got {batch_size!r}")
    if image_size is not None and image_size < 16:
        raise InputError(f"image_size must be at least 16; got {image_size}")
    if stabilize is None:
        stabilize = DEFAULT_STABILIZE if method != "gatys" else 0.0
    if not 0.0 <= stabilize < 1.0:
        raise InputError(f"stabilize must be in [0, 1) (0: off); got {stabilize}")
    if method == "gatys" and stabilize:
        raise InputError("stabilize is for fast, wct and adain; gatys keeps frames steady with temporal_weight")
    if precision is None:
        precision = "auto" if method in ("wct", "adain") else "fp32"
    check_precision(method, precision)
    if not 0.0 <= smooth_stats < 1.0:
        raise InputError(f"smooth_stats must be in [0, 1) (0: off); got {smooth_stats}")
    if smooth_stats and method not in ("wct", "adain"):
        raise InputError(f"smooth_stats is for wct and adain; method {method} has no feature statistics")
    if anchor is not None:
        if method not in ("wct", "adain"):
            raise InputError(f"anchor is for wct and adain; method {method} has no feature transform")
        from ..universal.cascade import anchor_weights

        anchor_weights(method, anchor)
    if method != "fast" and style is None:
        raise InputError(f"method {method} needs a style image (style=PATH or a gallery name)")
    output = Path(output)
    info = probe(input)
    check_output(output, codec, crf)
    check_output_file(output, [input])
    work = _work_folder(output, work_dir)
    size = even_size(info.width, info.height, image_size)
    # every frame is decoded at this size: plan it before the work folder exists (the gatys engine plans its own)
    from ..device import resolve_device
    from ..memory import check_pass_memory

    if method == "gatys":
        (config or GatysConfig()).validate()
    elif method == "fast" and isinstance(model, (str, os.PathLike)):  # an unknown model leaves no work folder
        from ..feedforward.model import resolve_model_path

        resolve_model_path(model)
    check_pass_memory(
        (size[1], size[0]),
        ONE_PASS_BYTES if method != "gatys" else 16 * 3 * 4,
        resolve_device(device) if isinstance(device, str) else device,
        what="each frame",
    )
    settings = {
        "input": str(Path(input).resolve()),
        "input_bytes": Path(input).stat().st_size,
        "frames": info.frames,
        "size": list(size),
        "method": method,
        "stabilize": stabilize,
        "model": str(getattr(model, "name", model)) if method == "fast" else None,
        "style": None if style is None or isinstance(style, np.ndarray) else str(style),
        "strength": strength if method in ("wct", "adain") else None,
        "smooth_stats": smooth_stats if method in ("wct", "adain") else None,
        "anchor": anchor if method in ("wct", "adain") else None,
        "gatys": (config or GatysConfig()).to_dict() if method == "gatys" else None,
        "temporal_weight": temporal_weight if method == "gatys" else None,
        "later_steps": later_steps,
    }
    done = _prepare_work(work, settings, resume)
    style_arr = load_style(style) if style is not None else None

    stateful: Any
    if method == "gatys":
        from .temporal import DEFAULT_TEMPORAL_WEIGHT, TemporalGatys

        cfg = (config or GatysConfig()).validate()
        stateful = TemporalGatys(
            cfg,
            style_arr,
            temporal_weight=DEFAULT_TEMPORAL_WEIGHT if temporal_weight is None else temporal_weight,
            later_steps=later_steps,
            preset=flow_preset,
        )
        one_pass = None
    else:
        from .stabilize import Stabilizer

        one_pass = _OnePass(
            method,
            model,
            style_arr,
            device=device,
            precision=precision,
            batch_size=batch_size,
            strength=strength,
            decoders=decoders,
            smooth_stats=smooth_stats,
            anchor=anchor,
        )
        stateful = Stabilizer(stabilize, flow_preset)

    total = info.frames
    log.info("%s: %d frames at %dx%d; finished frames in %s", input, total, size[0], size[1], work)
    stylised_count, t_work = 0, time.perf_counter()
    written = 0

    def report(n: int) -> None:
        if callback is None:
            return
        elapsed = time.perf_counter() - t_work
        fps = stylised_count / elapsed if elapsed > 0 and stylised_count else 0.0
        eta = (total - n) / fps if fps > 0 else float("nan")
        callback(Progress("video", n, total, {"fps": fps, "eta": eta}))

    with VideoWriter(output, info, size, codec=codec, crf=crf, audio=audio) as writer:
        batch: list[Any] = []

        def flush() -> None:
            nonlocal stylised_count, written
            if not batch:
                return
            inputs = [f.rgb.astype(np.float32) / 255 for f in batch]
            outs = one_pass(inputs) if one_pass is not None else [None] * len(batch)
            for frame, x, y in zip(batch, inputs, outs):
                y = stateful(x, y) if one_pass is not None else stateful(x)
                _save_frame(work, frame.index, y)
                writer.write(y, frame.pts, frame.duration)
                stylised_count += 1
                written += 1
                report(written)
            batch.clear()

        for frame in read_frames(info, size):
            if frame.index < done:
                kept = _load_frame(work, frame.index)
                if frame.index == done - 1:
                    x = frame.rgb.astype(np.float32) / 255
                    stateful.reset(x, kept)
                    if one_pass is not None and one_pass.running is not None:
                        one_pass([x])  # the running statistics start again from the last finished frame

                writer.write(kept, frame.pts, frame.duration)
                written += 1
                report(written)
                continue
            batch.append(frame)
            if len(batch) >= (batch_size if one_pass is not None else 1):
                flush()
        flush()
        if written == 0:
            raise InputError(f"{input}: no frame could be decoded")
    seconds = time.perf_counter() - t0
    if not keep_frames:
        _remove_work(work, total)
    elapsed = time.perf_counter() - t_work
    return VideoResult(output, written, done, seconds, stylised_count / elapsed if elapsed > 0 else 0.0, size, settings)


def _remove_work(work: Path, total: int) -> None:
    """Delete this run's files (frames and run.json) and the folder if that leaves it empty; never
    anything else, since ``work_dir`` may be a folder the user keeps other files in."""
    for index in range(total):
        _frame_path(work, index).unlink(missing_ok=True)
    (work / STATE_FILE).unlink(missing_ok=True)
    try:
        work.rmdir()
    except OSError:
        log.info("kept %s: it holds other files", work)


def _prepare_work(work: Path, settings: dict[str, Any], resume: bool) -> int:
    """Create or check the work folder; return the number of finished frames to reuse."""
    from ..io.atomic import write_text

    state = work / STATE_FILE
    if work.exists() and not work.is_dir():
        raise InputError(f"work folder {work} is a file; remove it or choose work_dir")
    if resume:
        if not state.is_file():
            raise ResumeError(f"nothing to resume: {state} not found (run once without resume first)")
        try:
            saved = json.loads(state.read_text())
        except (OSError, ValueError) as err:
            raise ResumeError(f"cannot read {state}: {err}") from None
        changed = sorted(k for k in settings if saved.get(k) != json.loads(json.dumps(settings[k])))
        if changed:
            raise ResumeError(
                f"{work} was made with other settings ({', '.join(changed)} differ); "
                "resume with the same ones, or delete the folder to start over"
            )
        return _done_frames(work, int(settings["frames"]))
    if work.is_dir() and any(work.iterdir()):
        raise InputError(
            f"work folder {work} is not empty (frames of an earlier run?): resume that run (--resume), "
            "or delete the folder or choose another work_dir"
        )
    work.mkdir(parents=True, exist_ok=True)
    write_text(state, json.dumps(settings, indent=1, sort_keys=True))
    return 0


def describe(info: VideoInfo) -> str:
    """One line about a clip, for logs."""
    return (
        f"{info.width}x{info.height}, {info.frames} frames, {float(info.rate):.3f} fps, {info.duration:.2f} s"
        + (f", rotated {info.rotation}" if info.rotation else "")
        + (f", audio {info.audio}" if info.audio else "")
    )
