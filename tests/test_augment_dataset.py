"""``impasto augment`` (impasto.augment.dataset and the CLI): outputs, manifest, resume, sharding, bad input."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from gloo import become_rank, free_port
from impasto.augment.dataset import MANIFEST, SETTINGS, augment_folder, choose, merge_manifests
from impasto.cli import main
from impasto.errors import InputError
from impasto.io import write_image
from impasto.io.files import BatchError
from impasto.nets.decoder import VGGDecoder

STYLES = ["starry-night", "the-scream", "udnie"]
FAST = {"styles": STYLES, "style_size": 32, "device": "cpu"}


@pytest.fixture(scope="module")
def decoder_dir(tmp_path_factory, one_thread) -> Path:
    """relu2_1 and relu1_1 decoders (random, quarter width) as exported decoder files."""
    folder = tmp_path_factory.mktemp("decoders")
    torch.manual_seed(0)
    for level in ("relu2_1", "relu1_1"):
        dec = VGGDecoder(level, width=0.25)
        torch.save(
            {
                "format": "impasto-decoder",
                "version": 1,
                "arch": "vgg_decoder",
                "kwargs": {"level": level, "width": 0.25},
                "state": dec.state_dict(),
                "info": {},
            },
            folder / f"{level}.pt",
        )
    return folder


def make_photos(root: Path) -> list[Path]:
    """Two class folders: cats/ (two PNGs, one 24x32, one 32x24) and dogs/ (a JPEG and a PNG)."""
    rng = np.random.default_rng(0)
    files = [root / "cats" / "a.png", root / "cats" / "b.png", root / "dogs" / "c.jpg", root / "dogs" / "d.png"]
    sizes = [(24, 32), (32, 24), (24, 32), (24, 32)]
    for path, (h, w) in zip(files, sizes):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, rng.random((h, w, 3)).astype(np.float32))
    return files


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def read_manifest(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_outputs_keep_relative_paths_and_the_manifest_says_what_made_them(tmp_path, decoder_dir):
    src, out = tmp_path / "photos", tmp_path / "styled"
    make_photos(src)
    before = digest(src)
    events = []
    result = augment_folder(src, out, copies=2, decoders=decoder_dir, batch_size=3, callback=events.append, **FAST)
    assert result.written == 8 and result.skipped == 0 and not result.failed
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*") if not p.name.startswith("."))
    assert names == [
        "cats/a-s0.png",
        "cats/a-s1.png",
        "cats/b-s0.png",
        "cats/b-s1.png",
        "dogs/c-s0.jpg",
        "dogs/c-s1.jpg",
        "dogs/d-s0.png",
        "dogs/d-s1.png",
        MANIFEST,
    ]
    rows = read_manifest(out / MANIFEST)
    assert [r["path"] for r in rows] == names[:-1]
    for r in rows:
        style, strength = choose(0, Path(r["source"]), int(r["copy"]), 3, (1.0, 1.0))
        assert r["style"] == STYLES[style] and float(r["strength"]) == strength == 1.0
    assert len({r["style"] for r in rows}) > 1  # random paintings, not one
    assert digest(src) == before  # nothing in the input changed
    assert [e.step for e in events] == list(range(1, 9)) and all("images/s" in e.losses for e in events)


def test_resume_skips_finished_files_and_rebuilds_the_same_manifest(tmp_path, decoder_dir):
    src, out = tmp_path / "photos", tmp_path / "styled"
    make_photos(src)
    augment_folder(src, out, decoders=decoder_dir, **FAST)
    first = (out / MANIFEST).read_text()
    kept = (out / "cats" / "b.png").stat().st_mtime_ns
    (out / "dogs" / "c.jpg").unlink()
    (out / MANIFEST).unlink()
    again = augment_folder(src, out, decoders=decoder_dir, **FAST)
    assert (again.written, again.skipped) == (1, 3)
    assert (out / MANIFEST).read_text() == first
    assert (out / "cats" / "b.png").stat().st_mtime_ns == kept  # not rewritten
    with pytest.raises(InputError, match="other settings.*strength"):
        augment_folder(src, out, decoders=decoder_dir, strength=0.5, **FAST)
    with pytest.raises(InputError, match="other settings.*precision"):  # bf16 pixels would differ
        augment_folder(src, out, decoders=decoder_dir, precision="bf16", **FAST)


def test_shards_cover_every_file_once_and_merge_to_the_single_process_manifest(tmp_path, decoder_dir):
    src = tmp_path / "photos"
    make_photos(src)
    augment_folder(src, tmp_path / "one", decoders=decoder_dir, seed=3, **FAST)
    for rank in (0, 1):  # two ranks run one after the other (no process group: the merge is called here)
        result = augment_folder(src, tmp_path / "two", decoders=decoder_dir, seed=3, rank=rank, world_size=2, **FAST)
        assert result.written == 2
    merge_manifests(tmp_path / "two")
    assert (tmp_path / "two" / MANIFEST).read_text() == (tmp_path / "one" / MANIFEST).read_text()
    assert not list((tmp_path / "two").glob(".manifest.rank*"))


def test_unreadable_files_are_skipped_counted_and_fail_the_run(tmp_path, decoder_dir):
    src, out = tmp_path / "photos", tmp_path / "styled"
    make_photos(src)
    (src / "cats" / "broken.jpg").write_bytes(b"this is not a JPEG")
    (src / "dogs" / "tiny.png").parent.mkdir(exist_ok=True)
    write_image(src / "dogs" / "tiny.png", np.zeros((4, 4, 3), np.float32))  # too small for relu2_1
    with pytest.raises(BatchError) as err:
        augment_folder(src, out, decoders=decoder_dir, **FAST)
    assert len(err.value.failed) == 2 and "broken.jpg" in str(err.value) and "tiny.png" in str(err.value)
    assert len(read_manifest(out / MANIFEST)) == 4  # the good ones are written and listed
    assert not (out / "cats" / "broken.jpg").exists()


def test_bad_folders_and_settings_are_refused_before_any_work(tmp_path, decoder_dir):
    src = tmp_path / "photos"
    make_photos(src)
    before = digest(src)
    for out, words in [
        (src, "is the input folder"),
        (src / "cats" / "styled", "is inside the input folder"),
        (tmp_path, "inside the output folder"),
    ]:
        with pytest.raises(InputError, match=words):
            augment_folder(src, out, decoders=decoder_dir, **FAST)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        augment_folder(tmp_path / "empty", tmp_path / "out", decoders=decoder_dir, **FAST)
    with pytest.raises(InputError, match="strength"):
        augment_folder(src, tmp_path / "out", decoders=decoder_dir, strength=1.5, **FAST)
    with pytest.raises(InputError, match="copies"):
        augment_folder(src, tmp_path / "out", decoders=decoder_dir, copies=0, **FAST)
    assert digest(src) == before and not (tmp_path / "out").exists()


def test_cli_runs_reports_bad_files_and_refuses_bad_strength(tmp_path, decoder_dir, capsys):
    src, out = tmp_path / "photos", tmp_path / "styled"
    make_photos(src)
    common = ["--decoders", str(decoder_dir), "--styles", *STYLES, "--style-size", "32", "--device", "cpu", "-q"]
    assert main(["augment", str(src), "-o", str(out), "--copies", "2", "--method", "wct", *common]) == 0
    assert len(read_manifest(out / MANIFEST)) == 8
    (src / "dogs" / "broken.png").write_bytes(b"garbage")
    assert main(["augment", str(src), "-o", str(out), "--copies", "2", "--method", "wct", *common]) == 2
    err = capsys.readouterr().err
    assert "impasto: error: 1 of" in err and "broken.png" in err
    assert main(["augment", str(src), "-o", str(tmp_path / "x"), "--strength", "1.5", *common]) == 2
    assert "strength" in capsys.readouterr().err
    assert main(["augment", str(src), *common]) == 2
    (src / "dogs" / "broken.png").unlink()
    fast = tmp_path / "bf16"
    assert main(["augment", str(src), "-o", str(fast), "--precision", "bf16", "--seed", "1", *common]) == 0
    assert json.loads((fast / SETTINGS).read_text())["precision"] == "bf16"


@pytest.mark.slow
def test_cli_fits_a_prior_that_loads(tmp_path, capsys):
    from impasto.augment.stats import load_prior

    out = tmp_path / "prior.pt"
    assert main(["augment", "--fit-prior", str(out), "--styles", "starry-night", "udnie", "--crops", "3", "-q"]) == 0
    prior = load_prior(out)
    assert prior.info["samples"] == 6 and prior.info["sources"] == ["starry-night.jpg", "udnie.jpg"]


def _rank(rank: int, world: int, port: int, argv: list[str], codes: str) -> None:
    become_rank(rank, world, port)
    Path(codes, f"rank{rank}").write_text(str(main(argv)))


@pytest.mark.slow
def test_two_gloo_processes_share_the_work_and_rank0_merges(tmp_path, decoder_dir):
    src = tmp_path / "photos"
    make_photos(src)
    augment_folder(src, tmp_path / "one", decoders=decoder_dir, copies=2, **FAST)
    argv = [
        "augment",
        str(src),
        "-o",
        str(tmp_path / "two"),
        "--copies",
        "2",
        "--decoders",
        str(decoder_dir),
        "--styles",
        *STYLES,
        "--style-size",
        "32",
        "--device",
        "cpu",
        "-q",
    ]
    mp.start_processes(_rank, args=(2, free_port(), argv, str(tmp_path)), nprocs=2, start_method="spawn", join=True)
    assert [(tmp_path / f"rank{r}").read_text() for r in (0, 1)] == ["0", "0"]
    assert (tmp_path / "two" / MANIFEST).read_text() == (tmp_path / "one" / MANIFEST).read_text()
    assert not list((tmp_path / "two").glob(".manifest.rank*"))
    for row in read_manifest(tmp_path / "one" / MANIFEST):  # same pixels whichever process made them
        a = (tmp_path / "one" / row["path"]).read_bytes()
        assert a == (tmp_path / "two" / row["path"]).read_bytes()
