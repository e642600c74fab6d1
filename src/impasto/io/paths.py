"""The one check that an output never overwrites an input, shared by every command.

A result written over its own photo destroys the user's original, and an output folder that is an
input folder (or inside one) overwrites the originals or feeds the results back in as inputs on
the next run. The same file can hide behind another name: a symbolic link, a hard link, a
``..`` in the path, or another case on a case-insensitive file system; so paths are compared by
the file system's identity (device and inode, :func:`os.path.samefile`) wherever the file exists,
and by their resolved form otherwise. Every refusal is one :class:`~impasto.errors.InputError` line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` name the same file or folder (links and case included).

    A path that does not exist is the same as another only if both resolve to the same place.
    """
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (or cannot be examined)
        return Path(a).resolve() == Path(b).resolve()


def _ancestors(path: Path) -> list[Path]:
    """``path`` and its parents that exist, nearest first (after making the path absolute)."""
    path = Path(os.path.abspath(path))
    return [p for p in (path, *path.parents) if p.exists()]


def is_inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is ``folder`` itself or lies anywhere below it (links and case included)."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    resolved, target = Path(path).resolve(), folder.resolve()
    if resolved == target or target in resolved.parents:
        return True
    return any(same_file(p, folder) for p in _ancestors(Path(path)))


def check_output_file(output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> Path:
    """Refuse an output file that is one of ``inputs`` (the images and any other file the command reads).

    Returns ``output`` as a Path. Raises :class:`InputError` naming both paths.
    """
    output = Path(output)
    for item in inputs:
        if item is not None and Path(item).exists() and same_file(output, item):
            shown = "" if str(item) == str(output) else f" (it is {item})"
            raise InputError(f"output {output} is an input{shown}; choose another output so the original is kept")
    return output


def check_output_folder(folder: str | os.PathLike[str], input_folders: Iterable[str | os.PathLike[str]]) -> Path:
    """Refuse an output folder that is an input folder or lies inside one.

    Returns ``folder`` as a Path. Raises :class:`InputError` naming both folders.
    """
    folder = Path(folder)
    for item in input_folders:
        if item is not None and Path(item).is_dir() and is_inside(folder, item):
            where = "is" if same_file(folder, item) else "is inside"
            raise InputError(
                f"output folder {folder} {where} the input folder {item}; choose a folder outside "
                "it so the originals are kept and results are not read back as inputs"
            )
    return folder


def check_folder_path(folder: str | os.PathLike[str], what: str = "output folder") -> Path:
    """Refuse, before any work, a folder path that names a file (or anything but a folder), or whose
    nearest existing parent is not a folder; the folder itself may not exist yet (it is created later).

    Returns ``folder`` as a Path. Raises :class:`InputError` naming it.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{what} {folder} is a file, not a folder; choose a folder (new or existing)")
    existing = next((p for p in Path(os.path.abspath(folder)).parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise InputError(f"{what} {folder} cannot be created: {existing} is a file")
    return folder
