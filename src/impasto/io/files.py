"""Many images in, many out: expanding files and folders into a list of images, choosing where each
result goes, and running a batch so that one bad file does not stop the others. Shared by every
batch command (``fast apply``, ``cyclegan apply``) and by the training data loader.

A batch (:class:`Batch`) processes every good file, remembers each bad one with its reason, and
at the end raises one :class:`BatchError` listing them (the CLI exits 2); with ``fail_fast`` the
first bad file stops it. An output folder is created at the first write, so a batch that writes
nothing leaves no empty folder behind. Outputs are checked against the inputs
(:mod:`impasto.io.paths`) before anything runs: no original is ever overwritten.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from ..errors import InputError
from .image import OUTPUT_FORMATS, check_output_path
from .paths import check_output_file, check_output_folder

log = logging.getLogger("impasto")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif")
T = TypeVar("T")


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files of ``folder`` (not recursive), sorted by name; one-line error if none.

    Other files are skipped with a warning naming them (hidden files and subfolders silently).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"image folder not found: {folder}")
    files, skipped = [], []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.is_file():
            continue
        (files if p.suffix.lower() in IMAGE_SUFFIXES else skipped).append(p)
    shown = ", ".join(p.name for p in skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
    if not files:
        extra = f"; it holds {shown}" if skipped else ""
        raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}{extra}")
    if skipped:
        log.warning(
            "skipped %d file(s) in %s that are not images (%s): %s",
            len(skipped),
            folder,
            ", ".join(IMAGE_SUFFIXES),
            shown,
        )
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


def output_paths(
    files: Sequence[Path],
    output: str | os.PathLike[str],
    suffix: str | None = None,
    sources: Iterable[str | os.PathLike[str]] = (),
) -> list[Path]:
    """Where each input's result goes: ``output`` itself when it is a file name (has an extension and
    is not an existing folder; only for one input), else ``output/<stem><suffix>`` (``suffix``
    defaults to the input's). The folder is not created here (see :class:`Batch`).

    ``sources`` are the inputs as given (files and folders): an output that is one of the input
    files, or an output folder that is an input folder or inside one, is refused.
    """
    sources = list(sources)
    out = Path(output)
    if out.suffix and not out.is_dir():
        if len(files) == 1:  # a file name: checked like every output file (extension, folder)
            return [check_output_file(check_output_path(out), [*files, *sources])]
        raise InputError(
            f"{len(files)} inputs need an output folder, not the file name {out} "
            "(create the folder first if its name has a dot)"
        )
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder")
    check_output_folder(out, [s for s in sources if Path(s).is_dir()])
    if suffix is not None:
        suffix = suffix if suffix.startswith(".") else f".{suffix}"
        if suffix.lower() not in OUTPUT_FORMATS:
            raise InputError(f"unsupported output suffix '{suffix}'; use one of: {', '.join(sorted(OUTPUT_FORMATS))}")
    _check_creatable(out)
    paths = []
    for f in files:
        ext = suffix or (f.suffix.lower() if f.suffix.lower() in OUTPUT_FORMATS else ".png")
        target = out / f"{f.stem}{ext}"
        if target.is_dir():
            raise InputError(f"cannot write output '{target}': it is an existing directory")
        paths.append(check_output_file(target, files))
    if len(set(paths)) != len(paths):
        raise InputError("two inputs would write the same output file (same name in different folders)")
    return paths


def _check_creatable(folder: Path) -> None:
    """The folder exists, or its nearest existing parent is a writable folder it can be created in."""
    parent = Path(os.path.abspath(folder))
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot create output folder {folder}: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write into {parent}: permission denied")


class BatchError(InputError):
    """Some files of a batch failed; ``written`` holds the results that were written, ``failed``
    the (input, reason) pairs."""

    def __init__(self, written: list[Path], failed: list[tuple[Path, str]]) -> None:
        total = len(written) + len(failed)
        reasons = "; ".join(f"{path}: {reason}" for path, reason in failed[:5])
        if len(failed) > 5:
            reasons += f"; and {len(failed) - 5} more (listed above)"
        super().__init__(f"{len(failed)} of {total} image(s) failed, {len(written)} written: {reasons}")
        self.written, self.failed = written, failed


class Batch:
    """Run a command over many files: good files are processed, bad ones are listed.

    Use :meth:`attempt` around the work of one input (reading, converting) and :meth:`write` to
    write one result; :meth:`finish` returns the written paths or raises :class:`BatchError`.
    With ``fail_fast`` the first bad file's error is raised at once. Only
    :class:`~impasto.errors.InputError` counts as a bad file; anything else stops the batch.

    Example:
        >>> batch = Batch(fail_fast=False)                               # doctest: +SKIP
        >>> for src, dst in zip(files, targets):                                  # doctest: +SKIP
        ...     image = batch.attempt(src, lambda: read_image(src))
        ...     if image is not None:
        ...         batch.write(src, dst, lambda path: write_image(path, work(image)))
        >>> written = batch.finish()                                              # doctest: +SKIP
    """

    def __init__(self, *, fail_fast: bool = False) -> None:
        self.fail_fast = fail_fast
        self.written: list[Path] = []
        self.failed: list[tuple[Path, str]] = []
        self._errors: list[InputError] = []
        self._created: list[Path] = []  # folders this batch created, outermost first

    def attempt(self, source: Path, work: Callable[[], T]) -> T | None:
        """``work()``, or None after recording ``source`` as failed (an InputError)."""
        try:
            return work()
        except InputError as err:
            self._fail(source, err)
            return None

    def write(self, source: Path, target: Path, save: Callable[[Path], Path]) -> Path | None:
        """Create the output folder if needed, then ``save(target)``; a failed write is recorded."""
        self._make_folder(target.parent)
        result = self.attempt(source, lambda: save(target))
        if result is not None:
            self.written.append(result)
        return result

    def finish(self) -> list[Path]:
        """The written paths; raises :class:`BatchError` if any file failed (after removing the
        folders this batch created if nothing was written into them)."""
        self._remove_empty_folders()
        if len(self.failed) == 1 and not self.written:  # a batch of one: its own error, as is
            raise self._errors[0]
        if self.failed:
            raise BatchError(self.written, self.failed)
        return self.written

    def _fail(self, source: Path, err: InputError) -> None:
        if self.fail_fast:
            self._remove_empty_folders()
            raise err
        self.failed.append((source, " ".join(str(err).split())))
        self._errors.append(err)
        if len(self.failed) == 6:  # the final error names five; from the sixth on, every one is logged
            for path, reason in self.failed[:5]:
                log.warning("skipped %s: %s", path, reason)
        if len(self.failed) >= 6:
            log.warning("skipped %s: %s", source, self.failed[-1][1])

    def _make_folder(self, folder: Path) -> None:
        missing = []
        p = Path(folder)
        while not p.exists():
            missing.append(p)
            p = p.parent
        if missing:
            folder.mkdir(parents=True, exist_ok=True)
            self._created += reversed(missing)

    def _remove_empty_folders(self) -> None:
        for folder in reversed(self._created):  # innermost first
            try:
                folder.rmdir()  # only succeeds when empty
            except OSError:
                pass
        self._created = [f for f in self._created if f.exists()]
