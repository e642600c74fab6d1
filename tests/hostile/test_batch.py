"""In-process checks of the two layers the hostile cases rely on: outputs are never inputs
(:mod:`impasto.io.paths`) and a batch goes past bad files (:class:`impasto.io.files.Batch`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from impasto.errors import InputError
from impasto.io.files import Batch, BatchError, list_images, output_paths
from impasto.io.paths import check_output_file, check_output_folder, same_file


def _png(path: Path, size: tuple[int, int] = (40, 32)) -> Path:
    Image.fromarray(np.full((size[1], size[0], 3), 120, np.uint8)).save(path)
    return path


def test_an_output_is_recognised_as_an_input_under_any_name(tmp_path: Path) -> None:
    photo = _png(tmp_path / "photo.png")
    (tmp_path / "sub").mkdir()
    (tmp_path / "soft.png").symlink_to(photo)
    os.link(photo, tmp_path / "hard.png")
    for name in ["photo.png", "soft.png", "hard.png", "sub/../photo.png", "./photo.png"]:
        with pytest.raises(InputError, match="is an input"):
            check_output_file(tmp_path / name, [photo])
    assert check_output_file(tmp_path / "other.png", [photo]) == tmp_path / "other.png"
    assert not same_file(tmp_path / "missing.png", photo)


def test_an_output_folder_inside_an_input_folder_is_refused(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (tmp_path / "link").symlink_to(photos)
    for folder in [photos, photos / "out", photos / "a" / "b", tmp_path / "link", tmp_path / "link" / "out"]:
        with pytest.raises(InputError, match="input folder"):
            check_output_folder(folder, [photos])
    check_output_folder(tmp_path / "out", [photos])
    check_output_folder(tmp_path, [photos])  # the parent of an input folder is fine


def test_output_paths_check_and_do_not_create(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    files = [_png(photos / "a.png"), _png(photos / "b.jpg")]
    with pytest.raises(InputError, match="inside the input folder"):
        output_paths(files, photos / "styled", sources=[photos])
    with pytest.raises(InputError, match="is an input"):
        output_paths(files, photos)  # given as files: a.png would be written over itself
    with pytest.raises(InputError, match="suffix"):
        output_paths(files, tmp_path / "out", suffix=".gif")
    targets = output_paths(files, tmp_path / "out" / "deeper", sources=[photos])
    assert [t.name for t in targets] == ["a.png", "b.jpg"] and not (tmp_path / "out").exists()


def test_a_batch_processes_the_good_files_and_lists_the_bad(tmp_path: Path) -> None:
    out = tmp_path / "out" / "deeper"
    batch = Batch()
    for name in ["good1", "bad1", "good2", "bad2"]:
        value = batch.attempt(
            Path(name),
            lambda n=name: n if n.startswith("good") else (_ for _ in ()).throw(InputError(f"cannot read {n}")),
        )
        if value is not None:
            batch.write(Path(name), out / f"{value}.txt", lambda p, v=value: (p.write_text(v), p)[1])
    with pytest.raises(BatchError, match=r"2 of 4 image\(s\) failed, 2 written: bad1: cannot read bad1; bad2") as err:
        batch.finish()
    assert sorted(p.name for p in out.iterdir()) == ["good1.txt", "good2.txt"]
    assert [str(p) for p, _ in err.value.failed] == ["bad1", "bad2"]


def test_a_batch_that_writes_nothing_leaves_no_folder(tmp_path: Path) -> None:
    batch = Batch()
    batch.attempt(Path("x"), lambda: (_ for _ in ()).throw(InputError("bad x")))
    batch.write(Path("y"), tmp_path / "new" / "y.png", lambda p: (_ for _ in ()).throw(InputError("cannot write y")))
    with pytest.raises(BatchError):
        batch.finish()
    assert list(tmp_path.iterdir()) == []
    fast = Batch(fail_fast=True)
    fast._make_folder(tmp_path / "made")
    with pytest.raises(InputError, match="first"):
        fast.attempt(Path("z"), lambda: (_ for _ in ()).throw(InputError("first")))
    assert list(tmp_path.iterdir()) == []


def test_fast_apply_goes_past_an_unreadable_file(tmp_path: Path) -> None:
    from impasto.feedforward.apply import stylize_files

    photos = tmp_path / "photos"
    photos.mkdir()
    _png(photos / "a.png")
    (photos / "b.jpg").write_text("not a jpeg")
    _png(photos / "c.png")
    with pytest.raises(BatchError, match=r"1 of 3 .*b\.jpg") as err:
        stylize_files([photos], tmp_path / "out", "starry-night-lite", batch_size=2, device="cpu")
    assert (
        sorted(p.name for p in (tmp_path / "out").iterdir())
        == ["a.png", "c.png"]
        == sorted(p.name for p in err.value.written)
    )
    with pytest.raises(InputError, match="b.jpg"):
        stylize_files([photos], tmp_path / "out2", "starry-night-lite", device="cpu", fail_fast=True)
    assert not (tmp_path / "out2").exists()


def test_folder_scans_read_gif_and_name_what_they_skip(tmp_path: Path, caplog) -> None:
    Image.new("RGB", (20, 20)).save(tmp_path / "still.gif")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.png").write_text("x")
    with caplog.at_level("WARNING", logger="impasto"):
        assert [p.name for p in list_images(tmp_path)] == ["still.gif"]
    assert "notes.txt" in caplog.text and ".hidden" not in caplog.text
    (tmp_path / "still.gif").unlink()
    with pytest.raises(InputError, match="it holds notes.txt"):
        list_images(tmp_path)
