"""File input and output for impasto: reading and writing images as float RGB arrays."""

from __future__ import annotations

from .image import (
    DEFAULT_MAX_PIXELS,
    OUTPUT_FORMATS,
    check_output_path,
    read_image,
    write_image,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "OUTPUT_FORMATS",
    "check_output_path",
    "read_image",
    "write_image",
]
