"""Style augmentation throughput: StyleAugment alone and ``impasto augment`` end to end, in images/s.

    python benchmarks/augment.py --decoders /tmp/decoders                  # 224x224, batch 32, AdaIN and WCT
    python benchmarks/augment.py --random-decoders --levels relu3_1 relu2_1 relu1_1   # no trained decoders needed
    python benchmarks/augment.py --device cuda --decoders DIR               # on a GPU

Parts:
  * ``transform``: ``StyleAugment.stylize`` on a (32, 3, 224, 224) batch, every image restyled with a
    random painting of the gallery (AdaIN, WCT) or with drawn statistics (``prior``, AdaIN); the
    median of ``--repeats`` timed runs after one warm-up run.
  * ``end2end``: ``augment_folder`` over ``--files`` JPEGs of 224x224 (crops of the Kodak photos) with
    ``--batch-size 32``, one painting per image; images/s of the run (reading, the cascade, JPEG
    writing, the manifest), and the wall time including the model and painting set-up.

The machine is printed with the figures: CPU model, SIMD flags, cores, torch threads, and the load
average before and after; figures from a busy machine say so there. Writes ``augment.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_model_and_flags

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def machine(device: str) -> dict:
    model, flags = cpu_model_and_flags()
    info = {
        "cpu": model,
        "flags": [f for f in FLAGS if f in flags],
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": device,
        "loadavg_before": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def make_decoders(args: argparse.Namespace) -> dict | str | None:
    if not args.random_decoders:
        return args.decoders
    from impasto.nets.decoder import VGGDecoder

    torch.manual_seed(0)
    return {lv: VGGDecoder(lv, width=1.0 if lv in ("relu1_1", "relu2_1") else 0.5) for lv in args.levels}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def transform_rows(args: argparse.Namespace, decoders: dict | str | None) -> list[dict]:
    from impasto.augment.transform import StyleAugment

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch_size, 3, args.size, args.size, generator=gen).to(args.device)
    rows = []
    kinds = (("adain", "adain", "gallery"), ("wct", "wct", "gallery"), ("prior", "adain", "prior"))
    for (name, method, styles), precision in itertools.product(kinds, args.precisions):
        if name not in args.methods:
            continue
        aug = StyleAugment(
            styles, p=1.0, strength=1.0, method=method, decoders=decoders, levels=args.levels, precision=precision
        )
        aug.to(args.device)
        times = []
        for i in range(args.repeats + 1):
            plan = aug.draw(args.batch_size, torch.Generator().manual_seed(i))
            sync(args.device)
            start = time.perf_counter()
            aug.restyle(x, plan)
            sync(args.device)
            if i:  # the first run warms up
                times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        rows.append(
            {
                "part": "transform",
                "method": name,
                "precision": precision,
                "levels": ",".join(aug.order),
                "batch": args.batch_size,
                "size": args.size,
                "seconds": seconds,
                "images_per_s": args.batch_size / seconds,
                "runs": times,
            }
        )
        print(f"transform {name} {precision}: {args.batch_size / seconds:.2f} images/s", file=sys.stderr)
    return rows


def make_folder(folder: Path, n: int, size: int) -> None:
    import numpy as np

    from impasto.io import read_image, write_image

    photos = sorted((SHARED / "kodak").glob("*.png")) or sorted((Path(__file__).parents[1] / "examples").glob("*.jpg"))
    rng = np.random.default_rng(0)
    for i in range(n):
        image = read_image(photos[i % len(photos)])
        top, left = rng.integers(0, image.shape[0] - size + 1), rng.integers(0, image.shape[1] - size + 1)
        (folder / f"class{i % 4}").mkdir(parents=True, exist_ok=True)
        write_image(folder / f"class{i % 4}" / f"{i:05d}.jpg", image[top : top + size, left : left + size])


def end2end_rows(args: argparse.Namespace, decoders: dict | str | None) -> list[dict]:
    from impasto.augment.dataset import augment_folder

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        make_folder(src, args.files, args.size)
        for method, precision in itertools.product(("adain", "wct"), args.precisions):
            if method not in args.methods:
                continue
            rates, walls = [], []
            for i in range(args.repeats):
                start = time.perf_counter()
                result = augment_folder(
                    src,
                    Path(tmp) / f"out-{method}-{precision}-{i}",
                    method=method,
                    precision=precision,
                    decoders=decoders,
                    levels=args.levels,
                    batch_size=args.batch_size,
                    device=args.device,
                )
                walls.append(time.perf_counter() - start)
                rates.append(result.written / result.seconds)
            rows.append(
                {
                    "part": "end2end",
                    "method": method,
                    "precision": precision,
                    "levels": ",".join(
                        json.loads((Path(tmp) / f"out-{method}-{precision}-0" / ".augment.json").read_text())["levels"]
                    ),
                    "files": args.files,
                    "batch": args.batch_size,
                    "size": args.size,
                    "images_per_s": statistics.median(rates),
                    "wall_s_with_setup": statistics.median(walls),
                    "runs": rates,
                }
            )
            print(f"end2end {method} {precision}: {statistics.median(rates):.2f} images/s", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decoders", default=None, help="decoder folder [the shipped decoders]")
    parser.add_argument("--random-decoders", action="store_true", help="untrained decoders (speed only)")
    parser.add_argument("--levels", nargs="+", default=None, help="decoder levels [all found]")
    parser.add_argument("--methods", nargs="+", default=["adain", "wct", "prior"])
    parser.add_argument("--parts", nargs="+", default=["transform", "end2end"])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--files", type=int, default=64, help="images of the end-to-end run [64]")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--precisions", nargs="+", default=["fp32"], help="fp32, bf16 and/or auto [fp32]")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.random_decoders and not args.levels:
        args.levels = ["relu3_1", "relu2_1", "relu1_1"]
    if args.threads:
        torch.set_num_threads(args.threads)
    info = machine(args.device)
    decoders = make_decoders(args)
    rows = (transform_rows(args, decoders) if "transform" in args.parts else []) + (
        end2end_rows(args, decoders) if "end2end" in args.parts else []
    )
    info["loadavg_after"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    print(
        f"\nMachine: {info['cpu']}, {info['cores']} cores, torch {info['torch']} on {info['torch_threads']} "
        f"threads, flags {', '.join(info['flags']) or 'none'}, device {args.device} {info.get('gpu', '')}; "
        f"load average before {info['loadavg_before']}, after {info['loadavg_after']}\n"
    )
    print("| part | method | precision | levels | batch x size | images/s |\n| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['part']} | {r['method']} | {r['precision']} | {r.get('levels', ','.join(args.levels or ['all']))} | "
            f"{r['batch']} x {r['size']}px | {r['images_per_s']:.2f} |"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "augment.json").write_text(json.dumps({"machine": info, "args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
