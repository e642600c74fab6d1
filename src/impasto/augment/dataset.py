"""A whole image folder stylised offline: ``impasto augment IN_DIR -o OUT_DIR --copies K``.

The Stylized-ImageNet recipe (Geirhos et al. 2019): each image restyled with a painting drawn at
random, at strength 1 by default, written under the same relative path (so class folders, and
with them the labels, are untouched). With ``copies`` K > 1 each image gets K stylisations,
``<stem>-s<k><ext>`` for k = 0 ... K-1, beside each other.

* **Deterministic**: the painting and strength of (file, copy) come from a generator seeded by
  the seed, the file's relative path and the copy number, so they do not depend on the order of
  work, the number of processes or on earlier runs.
* **Resumable**: an output that exists is skipped (each is written atomically, so an existing one
  is complete); its manifest row is recomputed from the seed. ``OUT_DIR/.augment.json`` records
  the settings, and a rerun with other settings into the same folder is refused.
* **Sharded**: under ``torchrun`` (``WORLD_SIZE`` > 1) rank r takes the files r, r + W, r + 2W, ...
  of the sorted list, writes ``.manifest.rank<r>.csv``, and rank 0 merges them into
  ``manifest.csv`` after a barrier.
* **Bad input**: unreadable files are reported, skipped and counted; the run ends with a
  :class:`~impasto.io.files.BatchError` (exit 2) if any failed. An output folder that is the
  input folder, inside it, or holding it is refused before any work.

The manifest (CSV) has one row per written file: ``path, source, copy, style, strength, method``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..errors import InputError
from ..io.files import IMAGE_SUFFIXES, Batch, BatchError
from ..io.image import OUTPUT_FORMATS
from ..io.paths import check_output_file, check_output_folder, is_inside
from ..progress import Callback, Progress
from .transform import DecodersArg, StyleAugment, StyleSource, strength_range

log = logging.getLogger(__name__)

MANIFEST = "manifest.csv"
SETTINGS = ".augment.json"
FIELDS = ("path", "source", "copy", "style", "strength", "method")


@dataclass
class AugmentResult:
    """What one process of ``impasto augment`` did."""

    written: int = 0
    skipped: int = 0  # outputs that existed already (resumed)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    manifest: Path | None = None  # written by rank 0 only
    seconds: float = 0.0


def find_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files below ``folder`` (recursive, hidden files and folders skipped), relative and sorted."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"input folder not found: {root}")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [
            Path(dirpath, f).relative_to(root)
            for f in filenames
            if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES
        ]
    if not found:
        raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {root} or its subfolders")
    return sorted(found, key=lambda p: p.as_posix())


def output_name(rel: Path, copy: int, copies: int) -> Path:
    """Relative output path of copy ``copy`` of ``rel`` (its own path when there is one copy)."""
    suffix = rel.suffix.lower() if rel.suffix.lower() in OUTPUT_FORMATS else ".png"
    return rel.with_suffix(suffix) if copies == 1 else rel.with_name(f"{rel.stem}-s{copy}{suffix}")


def choose(seed: int, rel: Path, copy: int, num_styles: int, strength: tuple[float, float]) -> tuple[int, float]:
    """(painting index, strength) of copy ``copy`` of ``rel``: a function of these arguments only."""
    digest = hashlib.sha256(f"{seed}/{rel.as_posix()}/{copy}".encode()).digest()
    gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)
    style = int(torch.randint(num_styles, (), generator=gen))
    lo, hi = strength
    return style, lo + (hi - lo) * float(torch.rand((), generator=gen))


def check_folders(in_dir: Path, out_dir: Path) -> None:
    """Refuse an output folder that is the input folder, lies inside it or contains it."""
    check_output_folder(out_dir, [in_dir])
    if out_dir.is_dir() and is_inside(in_dir, out_dir):
        raise InputError(
            f"the input folder {in_dir} is inside the output folder {out_dir}; choose an output folder outside it"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output {out_dir} exists and is not a folder")


def _check_settings(out_dir: Path, settings: dict[str, Any], write: bool) -> None:
    from ..io.atomic import write_text

    path = out_dir / SETTINGS
    if path.is_file():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != settings:
            changed = sorted(k for k in settings.keys() | previous.keys() if settings.get(k) != previous.get(k))
            raise InputError(
                f"{out_dir} holds a run with other settings ({', '.join(changed)}); "
                "resume with the same settings or choose a new output folder"
            )
    elif write:
        write_text(path, json.dumps(settings, indent=1, sort_keys=True))


def _csv_text(rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda r: r["path"]))
    return buf.getvalue()


def merge_manifests(out_dir: str | os.PathLike[str]) -> Path:
    """Merge the shards ``.manifest.rank*.csv`` of ``out_dir`` into ``manifest.csv`` (atomic) and remove them."""
    from ..io.atomic import write_text

    out_dir = Path(out_dir)
    shards = sorted(out_dir.glob(".manifest.rank*.csv"))
    rows: dict[str, dict[str, Any]] = {}
    for shard in shards:
        with shard.open(newline="", encoding="utf-8") as fh:
            rows.update({row["path"]: row for row in csv.DictReader(fh)})
    path = write_text(out_dir / MANIFEST, _csv_text(list(rows.values())))
    for shard in shards:
        shard.unlink()
    return path


def augment_folder(
    in_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    copies: int = 1,
    styles: StyleSource = "gallery",
    strength: float | tuple[float, float] = 1.0,
    method: str = "adain",
    image_size: int | None = None,
    batch_size: int = 8,
    seed: int = 0,
    levels: Sequence[str] | None = None,
    decoders: DecodersArg = None,
    style_size: int = 256,
    precision: str = "fp32",
    device: str | torch.device = "cpu",
    rank: int = 0,
    world_size: int = 1,
    callback: Callback | None = None,
) -> AugmentResult:
    """Stylise every image below ``in_dir`` into ``out_dir`` (see the module docstring).

    Args:
        copies: stylised copies per image.
        styles: the paintings (``"gallery"``, a folder, files or gallery names).
        strength: alpha, or a (low, high) range drawn per file, within [0, 1].
        method: ``"adain"`` or ``"wct"``.
        image_size: long side of the outputs (None: each image's own size).
        batch_size: images of the same size stylised together.
        seed: fixes every (file, copy) choice.
        levels, decoders, style_size, precision: as for :class:`~impasto.augment.transform.StyleAugment`.
        rank, world_size: this process's share (torchrun's ``RANK`` and ``WORLD_SIZE``).
        callback: one :class:`~impasto.progress.Progress` per (file, copy), stage ``"augment"``,
            with ``images/s`` and ``left_s`` (seconds left at the current rate).

    Returns:
        :class:`AugmentResult`; raises :class:`~impasto.io.files.BatchError` after the manifest is
        written if any file of this process failed.
    """
    from ..io import read_image, write_image
    from ..transforms import resize_long_side, to_array, to_tensor

    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if copies < 1:
        raise InputError(f"copies must be at least 1; got {copies}")
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1; got {batch_size}")
    if image_size is not None and image_size < 1:
        raise InputError(f"image size must be positive; got {image_size}")
    if not 0 <= rank < world_size:
        raise InputError(f"rank {rank} is outside a world of {world_size} process(es)")
    span = strength_range(strength)
    files = find_images(in_dir)
    check_folders(in_dir, out_dir)
    aug = StyleAugment(
        styles,
        p=1.0,
        strength=span,
        method=method,
        levels=levels,
        decoders=decoders,
        style_size=style_size,
        precision=precision,
    ).to(device)
    settings = {
        "copies": copies,
        "styles": aug.style_names,
        "strength": list(span),
        "method": method,
        "image_size": image_size,
        "seed": seed,
        "levels": aug.order,
    }
    resolved = aug.resolved_precision(torch.device(device))
    if resolved != "fp32":  # folders from before the option still resume
        settings["precision"] = resolved
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(out_dir, settings, write=rank == 0)
    mine = files[rank::world_size]
    total = len(mine) * copies
    result, batch, rows = AugmentResult(), Batch(), []
    pending: dict[tuple[int, int], list[tuple[Tensor, Path, Path, int, int, float]]] = {}
    start, done = time.perf_counter(), 0

    def report(item: Path) -> None:
        nonlocal done
        done += 1
        if callback is None:
            return
        elapsed = time.perf_counter() - start
        rate = result.written / elapsed if elapsed > 0 and result.written else 0.0
        left = (total - done) / rate if rate > 0 else float("nan")
        callback(Progress("augment", done, total, {"images/s": rate, "left_s": left}, item=item.as_posix()))

    def row(rel: Path, target: Path, k: int, style: int, alpha: float) -> dict[str, Any]:
        return {
            "path": target.relative_to(out_dir).as_posix(),
            "source": rel.as_posix(),
            "copy": k,
            "style": aug.style_names[style],
            "strength": f"{alpha:.4f}",
            "method": method,
        }

    def flush(shape: tuple[int, int]) -> None:
        group = pending.pop(shape)
        images = torch.cat([g[0] for g in group]).to(device)
        styled = aug.stylize(images, [g[4] for g in group], [g[5] for g in group])
        for i, (_, src, target, k, style, alpha) in enumerate(group):
            picture = to_array(styled[i : i + 1])
            rel = src.relative_to(in_dir)
            if batch.write(src, target, lambda path, pic=picture: write_image(path, pic)) is not None:
                result.written += 1
                rows.append(row(rel, target, k, style, alpha))
            else:
                result.failed.append((src, batch.failed[-1][1]))
            report(rel)

    for rel in mine:
        src = in_dir / rel
        todo = []
        for k in range(copies):
            target = check_output_file(out_dir / output_name(rel, k, copies), [src])
            style, alpha = choose(seed, rel, k, aug.num_styles, span)
            if target.exists():  # written atomically by an earlier run: complete
                result.skipped += 1
                rows.append(row(rel, target, k, style, alpha))
                report(rel)
            else:
                todo.append((target, k, style, alpha))
        if not todo:
            continue
        image = batch.attempt(src, lambda s=src: _load(s, image_size, aug, read_image, to_tensor, resize_long_side))
        if image is None:
            result.failed.append((src, batch.failed[-1][1]))
            for _ in todo:
                report(rel)
            continue
        shape = (int(image.shape[-2]), int(image.shape[-1]))
        for target, k, style, alpha in todo:
            pending.setdefault(shape, []).append((image, src, target, k, style, alpha))
            if len(pending[shape]) >= batch_size:
                flush(shape)
        if sum(len(g) for g in pending.values()) > 4 * batch_size:  # many sizes: bound the memory held
            flush(max(pending, key=lambda s: len(pending[s])))
    for shape in list(pending):
        flush(shape)
    result.seconds = time.perf_counter() - start
    result.manifest = _write_manifest(out_dir, rows, rank, world_size)
    log.info(
        "rank %d: %d written, %d already done, %d failed in %.1f s",
        rank,
        result.written,
        result.skipped,
        len(result.failed),
        result.seconds,
    )
    if result.failed:
        raise BatchError(list(batch.written), result.failed)
    return result


def _load(
    src: Path, image_size: int | None, aug: StyleAugment, read_image: Any, to_tensor: Any, resize_long_side: Any
) -> Tensor:
    tensor = to_tensor(read_image(src))
    if image_size is not None:
        tensor = resize_long_side(tensor, image_size)
    aug.check_batch(tensor)
    return tensor


def _write_manifest(out_dir: Path, rows: list[dict[str, Any]], rank: int, world_size: int) -> Path | None:
    from ..io.atomic import write_text

    if world_size == 1:
        return write_text(out_dir / MANIFEST, _csv_text(rows))
    import torch.distributed as dist

    write_text(out_dir / f".manifest.rank{rank}.csv", _csv_text(rows))
    if not (dist.is_available() and dist.is_initialized()):  # shards run apart: merge_manifests() when all are done
        log.info(
            "rank %d of %d wrote its manifest shard; merge them with merge_manifests(%s)", rank, world_size, out_dir
        )
        return None
    dist.barrier()  # every shard is written
    path = merge_manifests(out_dir) if rank == 0 else None
    dist.barrier()  # the merge is done before any rank leaves
    return path
