"""Many images in, many out: expanding files and folders into a list of images, and choosing
where each result goes. Shared by every batch command (``fast apply``, ``cyclegan apply``) and by
the training data loader.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import InputError
from .image import OUTPUT_FORMATS, check_output_path


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files of ``folder`` (not recursive), sorted by name; one-line error if none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given and the images inside folders (sorted, not recursive); one-line error if none."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += list_images(path)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"input not found: {path}")
    if not files:
        raise InputError("no input images given")
    return files


def output_paths(files: Sequence[Path], output: str | os.PathLike[str], suffix: str | None = None) -> list[Path]:
    """Where each input's result goes: ``output`` itself when it is a file name (has an extension and
    is not an existing folder; only for one input), else ``output/<stem><suffix>`` (the folder is
    created; ``suffix`` defaults to the input's)."""
    out = Path(output)
    if out.suffix and not out.is_dir():
        if len(files) == 1:  # a file name: checked like every output file (extension, folder)
            return [check_output_path(out)]
        raise InputError(f"{len(files)} inputs need an output folder, not the file name {out} "
                         "(create the folder first if its name has a dot)")
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in files:
        ext = suffix or (f.suffix.lower() if f.suffix.lower() in OUTPUT_FORMATS else ".png")
        paths.append(check_output_path(out / f"{f.stem}{ext}"))
    if len(set(paths)) != len(paths):
        raise InputError("two inputs would write the same output file (same name in different folders)")
    return paths
