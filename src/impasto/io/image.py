"""Reading and writing image files as float RGB arrays.

This module holds :func:`read_image`, :func:`check_output_path` and
:func:`write_image`. Images travel through impasto as ``float32`` arrays of
shape ``(H, W, 3)`` with values in ``[0, 1]``; only numpy and Pillow are used
here, so importing it is fast.

Policies for reading:

* Alpha (RGBA, LA, PA, palette or greyscale images with a transparent colour)
  is composited onto white: ``rgb * a + (1 - a)``.
* 16-bit and 32-bit greyscale (modes ``I;16*`` and ``I``) are scaled by
  dividing by 65535 and clipped to ``[0, 1]``; float images (mode ``F``) are
  clipped. Pillow opens 16-bit RGB PNGs as 8-bit RGB, which is accepted.
* EXIF orientation is applied. Animated and multi-page images are refused
  (camera MPO files read as their main picture).
* CMYK images, and RGB images with a non-sRGB ICC profile, are converted to
  sRGB with ``PIL.ImageCms`` when possible (best effort; falls back to
  Pillow's plain conversion).
* Images over ``max_pixels`` are refused from their header, before decoding.
  Pillow's own hard limit (``DecompressionBombError``) still applies and is
  reported as :class:`ImageReadError` too.

Policies for writing: the format comes from the extension; the file is written
with :func:`impasto.io.atomic.atomic_open` (a temporary file in the same folder,
fsynced and moved into place), so a failure never leaves a partial file or
clobbers an existing one. ``metadata`` is
stored as PNG text chunks, as a JSON string in the EXIF ImageDescription tag
for JPEG and WebP, and in the ImageDescription tag for TIFF; BMP ignores it.
"""

from __future__ import annotations

import io
import json
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

from ..errors import ImageReadError, OutputPathError
from .atomic import atomic_open

__all__ = ["DEFAULT_MAX_PIXELS", "OUTPUT_FORMATS", "check_output_path", "read_image", "write_image"]

DEFAULT_MAX_PIXELS: int = 100_000_000
"""Largest image (width * height) that :func:`read_image` decodes by default."""

OUTPUT_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
"""Output file extension (lower case) -> Pillow format name."""

_EXIF_IMAGE_DESCRIPTION = 0x010E


def _one_line(text: object) -> str:
    """Join the lines of ``text`` into one."""
    return re.sub(r"\s*[\r\n]+\s*", " ", str(text)).strip()


def _read_error(path: Path, reason: object) -> ImageReadError:
    """Build a one-line :class:`ImageReadError` naming ``path``."""
    return ImageReadError(_one_line(f"cannot read image '{path}': {reason}"))


def read_image(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as float32 RGB in [0, 1], shape (H, W, 3)."""
    if max_pixels <= 0:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    path = Path(path)
    if not path.exists():
        raise _read_error(path, "no such file")
    if path.is_dir():
        raise _read_error(path, "it is a directory, not an image file")
    try:
        if path.stat().st_size == 0:
            raise _read_error(path, "the file is empty")
        with warnings.catch_warnings():
            # max_pixels below replaces Pillow's soft limit (the warning).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise _read_error(
                        path,
                        f"{width}x{height} pixels is over the limit of {max_pixels} "
                        "(possible decompression bomb); raise max_pixels if it is genuine",
                    )
                frames = getattr(im, "n_frames", 1)
                if frames > 1 and im.format != "MPO":  # MPO: camera JPEG + previews
                    raise _read_error(
                        path,
                        f"it has {frames} frames (animated or multi-page); extract a single frame and use that instead",
                    )
                im.load()
                return _to_float_rgb(_exif_transposed(im))
    except (ImageReadError, MemoryError):
        raise
    except PermissionError as exc:
        raise _read_error(path, "permission denied") from exc
    except Image.DecompressionBombError as exc:
        raise _read_error(path, f"too many pixels (possible decompression bomb): {exc}") from exc
    except Image.UnidentifiedImageError as exc:
        raise _read_error(path, "not a recognised image format") from exc
    except Exception as exc:  # Pillow plugins raise many kinds of errors on bad data
        raise _read_error(path, f"the file is corrupt, truncated or unsupported ({exc})") from exc


def _exif_transposed(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, ignoring unusable EXIF data."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # broken EXIF should not make a good image unreadable
        return im


def _to_srgb(im: Image.Image) -> Image.Image:
    """Convert a CMYK/RGB(A) image with an ICC profile to sRGB; best effort."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode != "CMYK" and "srgb" in ImageCms.getProfileDescription(source).lower():
            return im
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        srgb = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(im, source, srgb, outputMode=out_mode)
        return converted if converted is not None else im
    except Exception:  # missing LittleCMS or a bad profile: keep the plain colours
        return im


def _to_float_rgb(im: Image.Image) -> np.ndarray:
    """Convert a loaded Pillow image to a float32 (H, W, 3) array in [0, 1]."""
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        grey = np.asarray(im, dtype=np.float64)  # 16/32-bit ints or floats
        if im.mode != "F":
            grey = grey / 65535.0
        grey = np.nan_to_num(grey, nan=0.0, posinf=1.0, neginf=0.0)
        rgb = np.repeat(grey.astype(np.float32)[..., None], 3, axis=2)
    else:
        im = _to_srgb(im)
        if im.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in im.info:
            rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
            alpha = rgba[..., 3:4]
            rgb = rgba[..., :3] * alpha + (1.0 - alpha)  # composite onto white
        else:
            rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    np.clip(rgb, 0.0, 1.0, out=rgb)
    return np.ascontiguousarray(rgb, dtype=np.float32)


def _savable_formats() -> set[str]:
    """Pillow format names this installation can write."""
    Image.init()
    return set(Image.SAVE)


def check_output_path(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = ()) -> Path:
    """Validate an output path before any compute and return it as a Path.

    Raises :class:`OutputPathError` for an unsupported extension, a missing
    parent folder, a path that is an existing directory or an unwritable folder,
    and :class:`InputError` for an output that is one of ``inputs`` (the files the
    command reads; :func:`impasto.io.paths.check_output_file`), so an original is never overwritten.
    """
    from .paths import check_output_file

    path = check_output_file(path, [i for i in inputs if isinstance(i, (str, os.PathLike))])
    suffix = path.suffix.lower()
    problem = None
    if suffix not in OUTPUT_FORMATS:
        supported = ", ".join(sorted(OUTPUT_FORMATS))
        kind = f"unsupported extension '{path.suffix}'" if path.suffix else "no extension"
        problem = f"{kind}; use one of: {supported}"
    elif OUTPUT_FORMATS[suffix] not in _savable_formats():
        problem = f"this Pillow build cannot write {suffix} files; use .png instead"
    elif path.is_dir():
        problem = "it is an existing directory; give a file name"
    elif not path.parent.is_dir():
        problem = f"folder '{path.parent}' does not exist; create it first"
    elif not os.access(path.parent, os.W_OK | os.X_OK):
        problem = f"folder '{path.parent}' is not writable"
    if problem is not None:
        raise OutputPathError(_one_line(f"cannot write output '{path}': {problem}"))
    return path


def _save_options(fmt: str, metadata: Mapping[str, str] | None, quality: int) -> dict[str, Any]:
    """Pillow ``save`` keyword arguments for ``fmt``, including metadata."""
    options: dict[str, Any] = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    if not metadata:
        return options
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        for key, value in metadata.items():
            info.add_text(str(key), str(value))
        options["pnginfo"] = info
    elif fmt in ("JPEG", "WEBP", "TIFF"):
        text = json.dumps({str(k): str(v) for k, v in metadata.items()}, sort_keys=True)
        if fmt == "TIFF":
            options["description"] = text
        else:
            exif = Image.Exif()
            exif[_EXIF_IMAGE_DESCRIPTION] = text
            options["exif"] = exif.tobytes()
    return options


def write_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    *,
    metadata: Mapping[str, str] | None = None,
    quality: int = 95,
) -> Path:
    """Write a float RGB [0, 1] (H, W, 3) array atomically; return the path.

    Values are clipped and rounded to 8 bits; NaN becomes 0. ``quality``
    (1-100) applies to JPEG and WebP.
    """
    path = check_output_path(path)
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"image must have shape (H, W, 3), got {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"image must be a float array in [0, 1], got dtype {array.dtype}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be between 1 and 100, got {quality}")
    values = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    pixels = np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
    fmt = OUTPUT_FORMATS[path.suffix.lower()]
    options = _save_options(fmt, metadata, quality)

    try:
        with atomic_open(path, "wb") as handle:
            Image.fromarray(np.ascontiguousarray(pixels)).save(handle, format=fmt, **options)
    except OSError as exc:
        raise OutputPathError(_one_line(f"cannot write '{path}': {exc}")) from exc
    return path
