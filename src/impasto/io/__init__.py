"""File input and output for impasto: reading and writing images as float RGB arrays, and
:func:`load_image`, which turns anything the API accepts as an image into one."""

from __future__ import annotations

from .image import (
    DEFAULT_MAX_PIXELS,
    OUTPUT_FORMATS,
    check_output_path,
    read_image,
    write_image,
)
from .inputs import MIN_SIDE, ImageLike, load_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MIN_SIDE",
    "ImageLike",
    "load_image",
    "OUTPUT_FORMATS",
    "check_output_path",
    "read_image",
    "write_image",
]
