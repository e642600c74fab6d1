"""Checking an uploaded image before anything keeps it.

The type comes from the first bytes (PNG, JPEG, WebP, GIF, BMP, TIFF signatures), never from the
file name or the declared content type. The bytes go to a staging file under a random name, are
read back by :func:`impasto.io.read_image` (its pixel bound refuses image bombs from the header,
before decoding; truncated and animated files are refused), and the decoded image is written as a
PNG under a new random id with :func:`impasto.io.write_image` (atomic). The staging file is removed
whatever happens, so a refused upload leaves nothing behind.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..errors import InputError
from .jobs import DataDir, new_id

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 36_000_000  # e.g. 6000 x 6000
MAX_EDGE = 2048  # uploads are stored with at most this long side

_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
]


class UploadError(InputError):
    """A refused upload; ``status`` is the HTTP code to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Stored:
    id: str
    width: int
    height: int


def sniff(head: bytes) -> str | None:
    """The image type from the first bytes, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    return None


def store_upload(
    data: DataDir, payload: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS, max_edge: int = MAX_EDGE
) -> Stored:
    """Check ``payload`` and keep it as ``uploads/<id>.png``; :class:`UploadError` otherwise."""
    from ..io import read_image, write_image
    from ..io.atomic import write_bytes
    from ..io.inputs import MIN_SIDE

    if not payload:
        raise UploadError("the upload is empty; choose an image file")
    if len(payload) > max_bytes:
        raise UploadError(f"the upload is over {max_bytes // (1024 * 1024)} MB; send a smaller image", 413)
    kind = sniff(payload[:16])
    if kind is None:
        raise UploadError("not an image: send a PNG, JPEG, WebP, GIF, BMP or TIFF file", 415)
    ident = new_id()
    staging = data.staging / f"{ident}.{kind}"
    try:
        write_bytes(staging, payload)
        array = read_image(staging, max_pixels=max_pixels)
    except InputError as err:
        message = str(err).replace(str(staging), "the upload")
        raise UploadError(message, 413 if "limit" in message or "bomb" in message else 400) from None
    finally:
        with contextlib.suppress(OSError):
            staging.unlink()
    h, w = array.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise UploadError(f"the image is {w}x{h} px; it needs at least {MIN_SIDE} px on each side")
    if max(h, w) > max_edge:
        from ..transforms import resize_long_side, to_array, to_tensor

        array = to_array(resize_long_side(to_tensor(array), max_edge))
        h, w = array.shape[:2]
    write_image(data.upload(ident), array)
    return Stored(ident, w, h)
