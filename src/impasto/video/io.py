"""Reading and writing video with PyAV (FFmpeg bundled; no system ffmpeg needed).

* :func:`probe` checks a file before any work and describes it (:class:`VideoInfo`): size, frame
  count, average frame rate, time base, duration, rotation, audio codec. A file that is not a
  video, has no video stream or no frame is one :class:`~impasto.errors.InputError` line.
* :func:`read_frames` streams decoded frames one at a time (never the whole clip in memory), each
  with its own presentation time stamp, so variable frame rate survives.
* :class:`VideoWriter` encodes RGB frames into a temporary file beside the output that replaces the
  output only when the writer closes cleanly (:func:`impasto.io.atomic.atomic_path`). Each frame
  keeps its input pts in the input's time base; the rotation (display matrix) is copied; the audio
  stream is copied packet by packet when the container takes its codec, else re-encoded to the
  container's default audio codec. Odd frame sizes are encoded 4:4:4 (4:2:0 needs even sides).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, OutputPathError

log = logging.getLogger(__name__)

# output extension -> FFmpeg muxer
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
CRF_CODECS = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63), "libaom-av1": (0, 63)}
DEFAULT_CODEC = "libx264"
DEFAULT_CRF = 18


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise InputError("video needs PyAV and OpenCV: pip install 'impasto[video]'") from None
    return av


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` found in a video file.

    Attributes:
        path: the file.
        width, height: stored frame size in pixels (before any rotation for display).
        frames: number of video frames.
        rate: average frame rate (frames per second), exact.
        time_base: the video stream's time base (seconds per pts tick).
        duration: seconds from the first frame's start to the last frame's end.
        rotation: counter-clockwise display rotation in degrees (0 when none).
        codec: the video codec's name.
        audio: the first audio stream's codec name, or None.
    """

    path: Path
    width: int
    height: int
    frames: int
    rate: Fraction
    time_base: Fraction
    duration: float
    rotation: int
    codec: str
    audio: str | None


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Describe the video ``path``; raise :class:`InputError` if it cannot be read as a video.

    The frame count comes from the container's index when it has one, else from counting the
    stream's packets (demuxing only, no decoding); the first frame is decoded to learn the rotation.
    """
    av = _av()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input video not found: {path}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path} has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            if not rate:
                raise InputError(f"{path}: the video stream has no frame rate")
            try:
                first = next(container.decode(stream), None)
            except av.error.EOFError:
                first = None
            if first is None:
                raise InputError(f"{path} has no video frames (zero-length clip)")
            audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
            rotation = int(getattr(first, "rotation", 0) or 0)
            frames = int(stream.frames or 0)
            tb = Fraction(stream.time_base)
        if frames <= 0:
            frames = _count_packets(path)
        duration = _duration(path, frames, Fraction(rate))
        return VideoInfo(
            path,
            int(first.width),
            int(first.height),
            frames,
            Fraction(rate),
            tb,
            duration,
            rotation,
            stream.codec_context.name,
            audio,
        )
    except av.error.EOFError:
        raise InputError(f"{path} has no video frames (zero-length, empty or truncated)") from None
    except av.error.FFmpegError as err:
        raise InputError(f"cannot read {path} as a video: {_reason(err)}") from None


def _reason(err: Exception) -> str:
    return " ".join(str(getattr(err, "strerror", None) or err).split())


def _count_packets(path: Path) -> int:
    av = _av()
    with av.open(str(path)) as container:
        return sum(1 for pkt in container.demux(video=0) if pkt.size)


def _duration(path: Path, frames: int, rate: Fraction) -> float:
    """Seconds of video: the stream's own duration if known, else frames / rate."""
    av = _av()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration:
            return float(stream.duration * stream.time_base)
    return float(frames / rate)


@dataclass
class Frame:
    """One decoded frame: its index, pts and duration (in the stream's time base; duration None when
    unknown) and RGB pixels (H, W, 3) uint8."""

    index: int
    pts: int
    rgb: np.ndarray
    duration: int | None = None


def read_frames(info: VideoInfo, size: tuple[int, int] | None = None) -> Iterator[Frame]:
    """Decode the frames of ``info.path`` in order, one at a time.

    Args:
        info: from :func:`probe`.
        size: (width, height) to resize every frame to (area filter when shrinking), or None.

    A frame without a pts (raw streams) gets ``index / rate`` in the stream's time base.
    """
    av = _av()
    import cv2

    step = 1 / (info.rate * info.time_base)
    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            rgb = frame.to_ndarray(format="rgb24")
            if size is not None and (rgb.shape[1], rgb.shape[0]) != tuple(size):
                shrink = size[0] < rgb.shape[1]
                rgb = cv2.resize(rgb, tuple(size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
            pts = frame.pts if frame.pts is not None else round(index * step)
            yield Frame(index, int(pts), rgb, int(frame.duration) if frame.duration else None)


def check_output(path: str | os.PathLike[str], codec: str = DEFAULT_CODEC, crf: int | None = None) -> Path:
    """Refuse, before any work, an output the writer could not produce: unknown container,
    missing folder, read-only folder, a codec FFmpeg lacks or the container refuses, a crf out of range."""
    av = _av()
    path = Path(path)
    fmt = CONTAINERS.get(path.suffix.lower())
    if fmt is None:
        raise OutputPathError(
            f"cannot write {path}: unknown video extension {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(CONTAINERS))}"
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputPathError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {path}: folder {folder} is not writable")
    if path.is_dir():
        raise OutputPathError(f"cannot write {path}: it is a folder")
    try:
        av.codec.Codec(codec, "w")
    except Exception:  # UnknownCodecError, or a decoder-only codec
        raise InputError(f"video codec {codec!r} is not available in this FFmpeg build; try libx264 or mpeg4") from None
    with av.open(io.BytesIO(), "w", format=fmt) as probe_out:
        if codec not in probe_out.supported_codecs:
            raise InputError(
                f"a {path.suffix} file cannot hold {codec} video; choose another codec or extension "
                f"(default for {path.suffix}: {probe_out.default_video_codec})"
            )
    if crf is not None and codec in CRF_CODECS:
        low, high = CRF_CODECS[codec]
        if not low <= crf <= high:
            raise InputError(f"crf for {codec} must be between {low} and {high}; got {crf}")
    return path


def even_size(width: int, height: int, long_side: int | None) -> tuple[int, int]:
    """(width, height) scaled so the long side is ``long_side`` (None: kept), rounded to even sides
    when scaled (4:2:0 chroma needs them); an unscaled size is kept exactly, odd or not."""
    if long_side is None or long_side == max(width, height):
        return width, height
    scale = long_side / max(width, height)
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


class VideoWriter:
    """Encode RGB frames into ``path``, atomically, with the input's timing, rotation and audio.

    Use as a context manager; :meth:`write` takes (H, W, 3) uint8 or float [0, 1] frames with the
    input frame's pts. The output exists only after a clean exit; on an error or Ctrl-C the
    temporary file is removed and an existing output is left as it was.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        info: VideoInfo,
        size: tuple[int, int],
        *,
        codec: str = DEFAULT_CODEC,
        crf: int | None = DEFAULT_CRF,
        audio: bool = True,
    ) -> None:
        self.path = check_output(path, codec, crf)
        self.info, self.size, self.codec, self.crf, self.audio = info, size, codec, crf, audio
        self.frames_written = 0
        self._durations: dict[int, int] = {}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> VideoWriter:
        from ..io.atomic import atomic_path

        av = _av()
        try:
            temp = self._stack.enter_context(atomic_path(self.path, suffix=self.path.suffix))
            self._out = self._stack.enter_context(av.open(str(temp), "w", format=CONTAINERS[self.path.suffix.lower()]))
            self._video = self._add_video_stream()
            self._audio = _AudioCopy(self.info.path, self._out) if self.audio and self.info.audio else None
            if self._audio is not None:
                self._stack.callback(self._audio.close)
        except BaseException:
            self._stack.__exit__(None, None, None)
            raise
        return self

    def _add_video_stream(self) -> Any:
        av = _av()
        width, height = self.size
        stream = self._out.add_stream(self.codec, rate=self.info.rate)
        stream.width, stream.height = width, height
        formats = {f.name for f in (av.codec.Codec(self.codec, "w").video_formats or [])}
        if width % 2 == 0 and height % 2 == 0 or "yuv444p" not in formats:
            stream.pix_fmt = "yuv420p" if "yuv420p" in formats or not formats else sorted(formats)[0]
        else:
            stream.pix_fmt = "yuv444p"
            log.info("odd frame size %dx%d: encoded as 4:4:4 (4:2:0 needs even sides)", width, height)
        stream.time_base = self.info.time_base
        stream.codec_context.time_base = self.info.time_base
        if self.crf is not None and self.codec in CRF_CODECS:
            stream.options = {"crf": str(self.crf), **({"b": "0"} if self.codec == "libvpx-vp9" else {})}
        if self.info.rotation:
            stream.set_display_rotation(self.info.rotation)
        return stream

    def write(self, rgb: np.ndarray, pts: int, duration: int | None = None) -> None:
        """Encode one frame shown at ``pts`` for ``duration`` (input time base; the last frame's
        duration sets the clip's end, so pass it when known)."""
        av = _av()
        if rgb.dtype != np.uint8:
            rgb = np.rint(np.clip(np.nan_to_num(rgb), 0, 1) * 255).astype(np.uint8)
        if (rgb.shape[1], rgb.shape[0]) != tuple(self.size):
            raise ValueError(f"frame is {rgb.shape[1]}x{rgb.shape[0]}, the video {self.size[0]}x{self.size[1]}")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.time_base = pts, self.info.time_base
        if duration:
            self._durations[pts] = duration
        try:
            for packet in self._video.encode(frame):
                self._mux_video(packet)
        except av.error.FFmpegError as err:
            raise InputError(f"cannot encode {self.path} with {self.codec}: {_reason(err)}") from None
        self.frames_written += 1
        if self._audio is not None:
            self._audio.copy_until(float(pts * self.info.time_base))

    def _mux_video(self, packet: Any) -> None:
        """Mux with the input frame's duration: the encoder does not pass it on, and the muxer would
        otherwise guess the last frame's (and so the clip's end)."""
        duration = self._durations.pop(packet.pts, None)
        if duration:
            packet.duration = duration
        self._out.mux(packet)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None:
            try:
                for packet in self._video.encode():
                    self._mux_video(packet)
                if self._audio is not None:
                    self._audio.finish()
            except BaseException as err:  # the temporary goes, the error stays
                self._stack.__exit__(type(err), err, err.__traceback__)
                raise
        return bool(self._stack.__exit__(exc_type, exc, tb))


class _AudioCopy:
    """The input's first audio stream, muxed into ``out`` alongside the video (interleaved by time).

    Packets are copied as they are when the output container accepts the codec; otherwise they are
    decoded and re-encoded with the container's default audio codec.
    """

    def __init__(self, source: Path, out: Any) -> None:
        av = _av()
        self._in = av.open(str(source))
        self._src = self._in.streams.audio[0]
        self._out = out
        self._copy = self._src.codec_context.name in out.supported_codecs
        if self._copy:
            self._dst = out.add_stream_from_template(self._src)
        else:
            codec = out.default_audio_codec
            log.info("the container cannot hold %s audio: re-encoded as %s", self._src.codec_context.name, codec)
            rate = self._src.codec_context.sample_rate or 48000
            self._dst = out.add_stream(codec, rate=rate)
            self._dst.layout = self._src.codec_context.layout.name if self._src.codec_context.layout else "stereo"
            self._resampler: Any = None
        self._packets = self._in.demux(self._src)
        self._pending: Any = None

    def copy_until(self, seconds: float) -> None:
        """Mux audio packets that start before ``seconds``."""
        while True:
            if self._pending is None:
                self._pending = next(self._packets, None)
                if self._pending is None:
                    return
            pkt = self._pending
            if pkt.dts is not None and pkt.pts is not None and float(pkt.pts * pkt.time_base) > seconds:
                return
            self._pending = None
            self._mux(pkt)

    def _mux(self, pkt: Any) -> None:
        av = _av()
        if self._copy:
            if pkt.dts is None:  # the demuxer's flush packet
                return
            pkt.stream = self._dst
            self._out.mux(pkt)
            return
        if self._resampler is None:
            ctx = self._dst.codec_context
            self._resampler = av.AudioResampler(
                format=ctx.format.name if ctx.format else "fltp",
                layout=self._dst.layout,
                rate=ctx.sample_rate,
                frame_size=ctx.frame_size or 960,
            )
        for frame in pkt.decode() if pkt.dts is not None else self._src.codec_context.decode(None):
            for out_frame in self._resampler.resample(frame):
                for packet in self._dst.encode(out_frame):
                    self._out.mux(packet)

    def finish(self) -> None:
        self.copy_until(float("inf"))
        if not self._copy:
            if self._resampler is not None:
                for out_frame in self._resampler.resample(None):
                    for packet in self._dst.encode(out_frame):
                        self._out.mux(packet)
            for packet in self._dst.encode(None):
                self._out.mux(packet)

    def close(self) -> None:
        self._in.close()


def load_style(style: str | os.PathLike[str] | np.ndarray) -> np.ndarray:
    """A style image as float32 (H, W, 3): a file, an array, or a gallery painting's name (``"starry-night"``)."""
    from ..io import load_image

    if isinstance(style, str) and not os.path.exists(style):
        from ..gallery import is_style_name, resolve_style

        if is_style_name(style):
            style = str(resolve_style(style))
    return load_image(style, "style image")
