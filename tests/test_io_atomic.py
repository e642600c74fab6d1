"""The atomic-write helper: the target is the old file or the complete new one, never a partial
file, and no temporary survives a failure (KeyboardInterrupt included)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from impasto.io.atomic import atomic_open, atomic_path, write_bytes, write_text


def test_write_bytes_and_text_leave_only_the_target(tmp_path: Path) -> None:
    write_bytes(tmp_path / "a.bin", b"\x00\x01")
    write_text(tmp_path / "b.txt", "héllo\nworld\n")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "héllo\nworld\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.txt"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(), OSError(28, "disk full")])
def test_failure_keeps_old_target_and_removes_temp(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(type(error)):
        with atomic_open(target, "w") as fh:
            fh.write("half of the new")
            raise error
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_failure_on_a_new_file_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "cache.npy", suffix=".npy") as temp:
            np.save(temp, np.arange(3))
            assert temp.exists() and temp.parent == tmp_path and temp.name.startswith(".cache.npy.")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_replaces_with_what_the_writer_wrote(tmp_path: Path) -> None:
    target = tmp_path / "cache.npy"
    target.write_bytes(b"old")
    with atomic_path(target, suffix=".npy") as temp:
        assert temp.name.endswith(".npy")  # np.save must not append its own extension
        np.save(temp, np.arange(4))
    assert np.load(target).tolist() == [0, 1, 2, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["cache.npy"]


def test_temporaries_are_unique(tmp_path: Path) -> None:
    with atomic_open(tmp_path / "x", "wb") as a, atomic_open(tmp_path / "x", "wb") as b:
        assert a.name != b.name
        a.write(b"a")
        b.write(b"b")
    assert (tmp_path / "x").read_bytes() == b"a"  # the last one to finish wins, whole
    assert [p.name for p in tmp_path.iterdir()] == ["x"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_mode_honours_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        path = write_bytes(tmp_path / "f", b"")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640


def test_bad_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        with atomic_open(tmp_path / "f", "a"):
            pass
    assert list(tmp_path.iterdir()) == []
