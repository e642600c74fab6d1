"""Time and peak memory of impasto's default run against output size.

Each size runs in its own subprocess (so peak memory is that run's alone):
``impasto.stylize`` on Tübingen + The Starry Night with the default config
(coarse-to-fine, precision auto) and ``--steps`` evaluations. Reports wall
time, optimisation time, the time of one step at the finest scale, peak
resident memory (CPU) and peak allocated GPU memory (CUDA), as a markdown
table, ``results/sizes.json`` and ``results/sizes.png``.

    python benchmarks/sizes.py --sizes 256 512 1024 --steps 60
    python benchmarks/sizes.py --device cuda --sizes 256 512 1024 2048 4096
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "tubingen.jpg"
STYLE = ROOT / "examples" / "starry_night.jpg"


def worker(size: int, steps: int, device: str, precision: str, tiling: str, out: Path, save: Path | None) -> None:
    import resource

    import torch

    import impasto
    from impasto.runtime import tune_allocator

    tune_allocator()
    marks: list[tuple[int, float, str]] = []
    t0 = time.perf_counter()
    result = impasto.stylize(
        CONTENT,
        STYLE,
        image_size=size,
        num_iterations=steps,
        device=device,
        precision=precision,
        tiling=tiling,
        callback=lambda e: marks.append((e.step, time.perf_counter() - t0, e.stage)),
    )
    wall = time.perf_counter() - t0
    fine = [t1 - t0_ for (s0, t0_, g0), (s1, t1, g1) in zip(marks, marks[1:]) if g0 == g1 == marks[-1][2]]
    fine.sort()
    record = {
        "size": size,
        "hw": list(result.array.shape[:2]),
        "steps": steps,
        "device": result.device,
        "precision": result.extra.get("precision"),
        "scales": result.extra.get("scales"),
        "checkpoint": result.extra.get("recompute"),
        "tile_size": result.extra.get("tile_size"),
        "lbfgs_history": result.extra.get("lbfgs_history"),
        "memory_estimate_mb": float(result.extra.get("memory_estimate_mb", "nan")),
        "wall_s": round(wall, 2),
        "optimize_s": round(result.seconds, 2),
        "fine_step_s": round(fine[len(fine) // 2], 4) if fine else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if torch.cuda.is_available() else None,
        "loss": result.losses,
    }
    if save is not None:
        result.save(save)
    out.write_text(json.dumps(record))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--tiling", default="auto", choices=("auto", "on", "off"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--save-images", action="store_true", help="keep each result as results/size_<N>.jpg")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--save", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.steps, args.device, args.precision, args.tiling, args.json_out, args.save)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes:
        tmp = args.out / f".size_{size}.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            str(size),
            "--steps",
            str(args.steps),
            "--device",
            args.device,
            "--precision",
            args.precision,
            "--tiling",
            args.tiling,
            "--json-out",
            str(tmp),
        ]
        if args.save_images:
            cmd += ["--save", str(args.out / f"size_{size}.jpg")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            rows.append({"size": size, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]})
        else:
            rows.append(json.loads(tmp.read_text()))
            tmp.unlink()
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    info = {
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    (args.out / "sizes.json").write_text(json.dumps({"info": info, "rows": rows}, indent=1))
    print(f"\n{info['processor']}, {info['cpus']} CPUs\n")
    print(
        "| long side | pixels | scales | precision | finest level | device | wall s | fine step s | peak RSS MB "
        "| peak GPU MB | estimated MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if "error" in r:
            print(f"| {r['size']} | | | | | | failed: {r['error']} | | | | |")
            continue
        h, w = r["hw"]
        how = "one pass" if r.get("tile_size", "off") == "off" else f"tiles of {r['tile_size']} px"
        how += ", checkpointed" if r.get("checkpoint") == "on" else ""
        how += f", history {r['lbfgs_history']}" if r.get("lbfgs_history") not in (None, "100") else ""
        print(
            f"| {r['size']} | {h * w / 1e6:.2f} M | {r['scales']} | {r['precision']} | {how} | {r['device']} "
            f"| {r['wall_s']} | {r['fine_step_s']} | {r['peak_rss_mb']} | {r['peak_gpu_mb'] or '-'} "
            f"| {r.get('memory_estimate_mb', '-')} |"
        )
    _plot(rows, args.out / "sizes.png")
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _plot(rows: list[dict], path: Path) -> None:
    """Time and peak memory against megapixels; runs whose finest level was tiled get their own series."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    ok = [r for r in rows if "error" not in r]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for label, marker, group in (
        ("one VGG pass", "o-", [r for r in ok if r.get("tile_size", "off") == "off"]),
        ("tiled finest level", "s--", [r for r in ok if r.get("tile_size", "off") != "off"]),
    ):
        if not group:
            continue
        px = [r["hw"][0] * r["hw"][1] / 1e6 for r in group]
        for ax, ys in (
            (axes[0], [r["wall_s"] for r in group]),
            (axes[1], [r["peak_gpu_mb"] or r["peak_rss_mb"] for r in group]),
        ):
            ax.loglog(px, ys, marker, label=label)
            for x, y, r in zip(px, ys, group):
                ax.annotate(str(r["size"]), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    steps = sorted({r["steps"] for r in ok})
    axes[0].set(
        xlabel="megapixels",
        ylabel="wall time (s)",
        title=f"time of a {'/'.join(map(str, steps))}-step coarse-to-fine run",
    )
    axes[1].set(xlabel="megapixels", ylabel="peak memory (MB)", title="peak memory (GPU if used, else RSS)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
