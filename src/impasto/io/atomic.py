"""Atomic file writes: the one way impasto writes a file that someone may be reading.

A writer gets a new temporary file beside the target (same folder, so the final
rename stays on one file system), named ``.<target name>.<random hex>.partial``
and created exclusively (mode 0o666 minus the umask, like a plain ``open``).
When the writer finishes, the temporary is fsynced, renamed over the target with
``os.replace`` and the folder is fsynced. On any failure, ``KeyboardInterrupt``
included, the temporary is removed and the target is left as it was: readers see
the old file or the new one, never a half-written one.

* :func:`atomic_path` yields the temporary's path, for writers that want a file
  name (``torch.onnx.export``, ``np.save``, matplotlib's ``savefig``).
* :func:`atomic_open` yields the open temporary file (binary or text).
* :func:`write_bytes` and :func:`write_text` write a whole file at once.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "atomic_path", "write_bytes", "write_text"]

TEMP_SUFFIX = ".partial"


def _open_temp(parent: Path, name: str, suffix: str = "") -> tuple[Path, int]:
    """Create a new hidden temporary file in ``parent``; return its path and an open descriptor."""
    while True:
        temp = parent / f".{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}{suffix}"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return temp, os.open(temp, flags, 0o666)
        except FileExistsError:
            continue


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    """Flush a folder entry to disk where the platform allows it (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _commit(temp: Path, target: Path) -> None:
    os.replace(temp, target)
    fsync_folder(target.parent)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str = "") -> Iterator[Path]:
    """Yield the path of a new, empty temporary file beside ``path``; on a clean exit it replaces ``path``.

    Args:
        path: the file to write; its folder must exist.
        suffix: appended to the temporary's name, for writers that insist on an extension
            (``np.save`` adds ``.npy`` otherwise).

    Example:
        >>> with atomic_path(tmp / "model.onnx") as temp:   # doctest: +SKIP
        ...     torch.onnx.export(net, args, str(temp))
    """
    target = Path(path)
    temp, fd = _open_temp(target.parent, target.name, suffix)
    os.close(fd)
    try:
        yield temp
        _fsync_file(temp)
        _commit(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Yield a temporary file beside ``path``, open for writing; on a clean exit it replaces ``path``.

    Args:
        path: the file to write; its folder must exist.
        mode: ``"wb"`` or ``"w"`` (text; ``kwargs`` such as ``newline`` or ``encoding`` go to ``open``).
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"mode must be 'w' or 'wb'; got {mode!r}")
    target = Path(path)
    temp: Path | None = None
    try:
        temp, fd = _open_temp(target.parent, target.name)
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _commit(temp, target)
    except BaseException:
        if temp is not None:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; return the path."""
    with atomic_open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    return Path(path)
