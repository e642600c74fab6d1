#!/usr/bin/env python
"""Gatys in a minute (issue 15): the README's default 512 px command, end to end, and where a step's time goes.

    python benchmarks/gatys_minute.py [--size 512] [--steps 300] [--runs fp32,bf16,...] [--profile]
                                      [--reference neural_style_result.png] [--out benchmarks/results]

Run it on an otherwise idle machine (the contended runs add their own load). Every run is a separate
process running ``impasto stylize examples/tubingen.jpg examples/starry_night.jpg -o OUT`` through the
CLI's ``main`` (so the wall time includes imports, image loading and the memory plan), with the
run's options added. A run is named by ``+``-joined tokens:

  fp32 | bf16          ``--precision`` (default fp32)
  torch | compact      the L-BFGS: torch.optim.LBFGS or impasto's CompactLBFGS (default compact)
  contended            a second 2-thread job (a torch GEMM loop) runs on the same cores meanwhile
  optthreads=N         CompactLBFGS runs its vector work on N threads
  ratio=X              ``--fine-steps-ratio X`` (the finer level's steps relative to the coarse one's)
  history=N            ``--lbfgs-history N``
  init=X               ``--init X`` (e.g. ``init=wct``: start from a one-pass result, issue 14, where built)
  steps=N, cw=X, sw=X, minscale=N, lr=X   ``--steps``, ``--content-weight``, ``--style-weight``,
                       ``--min-scale``, ``--lr`` (a run's own value overrides the benchmark's ``--steps``)

Per run: wall time of the process; steps; median s/step; per step, the time inside the objective's
evaluation (the closure: VGG forward and backward, the loss, the loop's bookkeeping) and the
optimiser's own work (the rest of ``optimizer.step``), and the optimiser's share; the judged content and
style distances of the saved image (``impasto evaluate``'s numbers: impasto's loss terms without their
weights, neural-style's normalisation), next to neural-style's published 512 px result: judged from
``--reference`` (an image) when given, else the figures quoted in issue 15 (``--published-content``,
``--published-style``; those were not necessarily judged the same way: give ``--reference`` for a
like-for-like comparison).

The machine is recorded with the figures: CPU model, the native-bf16 flags (avx512_bf16, amx_bf16),
cores, torch threads, torch version, the load average before the runs, the git commit. ``--profile``
adds torch.profiler's top operators (self CPU time) over 5 steps of each run to its log and the JSON.
Output: a markdown table on stdout and in ``--out``/gatys_minute.md, everything in gatys_minute.json,
the images in ``--out``/gatys_minute/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_model_and_flags

REPO = Path(__file__).resolve().parent.parent
CONTENT, STYLE = REPO / "examples" / "tubingen.jpg", REPO / "examples" / "starry_night.jpg"
DEFAULT_RUNS = "fp32,bf16,fp32+torch,fp32+contended,fp32+contended+torch,fp32+contended+optthreads=1"
PUBLISHED = {"content": 4.05e5, "style": 3.48e10}  # neural-style's published 512 px result, as issue 15 quotes it


CLI_TOKENS = {  # run tokens that set one more CLI option
    "steps": "--steps",
    "cw": "--content-weight",
    "sw": "--style-weight",
    "minscale": "--min-scale",
    "lr": "--lr",
}


def parse_run(name: str) -> dict:
    spec = {"precision": "fp32", "impl": "compact", "contended": False, "optthreads": None, "cli": []}
    for token in name.split("+"):
        key, _, value = token.partition("=")
        if key in ("fp32", "bf16"):
            spec["precision"] = key
        elif key in ("torch", "compact"):
            spec["impl"] = key
        elif key == "contended":
            spec["contended"] = True
        elif key == "optthreads":
            spec["optthreads"] = int(value)
        elif key == "ratio":
            spec["cli"] += ["--fine-steps-ratio", value]
        elif key == "history":
            spec["cli"] += ["--lbfgs-history", value]
        elif key == "init":
            spec["cli"] += ["--init", value]
        elif key in CLI_TOKENS:
            spec["cli"] += [CLI_TOKENS[key], value]
        else:
            raise SystemExit(f"unknown token {token!r} in run {name!r}")
    return spec


def machine() -> dict:
    import torch

    model, flags = cpu_model_and_flags()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": model,
        "native_bf16_flags": sorted(flags & {"avx512_bf16", "amx_bf16"}),
        "avx512f": "avx512f" in flags,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "commit": commit,
        "loadavg_before": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


# ------------------------------------------------------------------------------------------ worker


def worker(args) -> None:
    """One run, in this process: the CLI's main with timers around the optimiser's step and closure."""
    t_start = time.perf_counter()
    import torch

    from impasto.cli import main as cli_main
    from impasto.optim import loop, optimizers

    spec = parse_run(args.worker)
    optimizers.LBFGS_IMPL = spec["impl"]
    timing: dict[str, list[float]] = {"step_s": [], "closure_s": []}
    stamps: list[float] = []  # the end of every evaluation inside optimizer.step
    prof = None
    real_make = loop.make_optimizer

    def timed_make(*a, **kw):
        opt = real_make(*a, **kw)
        if spec["optthreads"] is not None and hasattr(opt, "threads"):
            opt.threads = spec["optthreads"]
        real_step = opt.step

        def step(closure):
            inside = [0.0]

            def timed_closure():
                t = time.perf_counter()
                try:
                    return closure()
                finally:
                    now = time.perf_counter()
                    inside[0] += now - t
                    stamps.append(now)
                    if prof is not None:
                        prof.step()

            t = time.perf_counter()
            try:
                return real_step(timed_closure)
            finally:
                timing["step_s"].append(time.perf_counter() - t)
                timing["closure_s"].append(inside[0])

        opt.step = step
        return opt

    loop.make_optimizer = timed_make
    if args.profile:
        from torch.profiler import ProfilerActivity, profile, schedule

        prof = profile(activities=[ProfilerActivity.CPU], schedule=schedule(wait=20, warmup=2, active=5, repeat=1))
        prof.__enter__()
    argv = [
        "stylize",
        str(CONTENT),
        str(STYLE),
        "-o",
        str(args.image_out),
        "--precision",
        spec["precision"],
        "--image-size",
        str(args.size),
        "--steps",
        str(args.steps),
        *spec["cli"],
    ]
    rc = cli_main(argv)
    wall = time.perf_counter() - t_start
    top = None
    if prof is not None:
        prof.__exit__(None, None, None)
        try:
            top = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
            print(top)
        except Exception as err:  # fewer than 27 steps: the profiler never became active
            top = f"no profile: {err}"
    steps_s = sum(timing["step_s"])
    closure_s = sum(timing["closure_s"])
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    out = {
        "run": args.worker,
        "spec": spec,
        "rc": rc,
        "wall_s": wall,
        "evaluations": len(stamps),
        "median_s_per_step": statistics.median(gaps[2:]) if len(gaps) > 2 else None,
        "step_calls_s": steps_s,
        "objective_s": closure_s,
        "optimizer_s": steps_s - closure_s,
        "optimizer_share": (steps_s - closure_s) / steps_s if steps_s else None,
        "torch_threads": torch.get_num_threads(),
        "profile_top": top,
    }
    Path(args.json_out).write_text(json.dumps(out, indent=1))


# ------------------------------------------------------------------------------------------ parent


def competitor() -> subprocess.Popen:
    """A second 2-thread job on the same cores: a torch GEMM loop (as another program would be)."""
    code = (
        "import torch; torch.set_num_threads(2); a = torch.randn(768, 768); b = torch.randn(768, 768)\n"
        "while True: a = torch.mm(a, b); a /= a.norm()"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spawn(run: str, args) -> dict:
    out_dir = args.out / "gatys_minute"
    out_dir.mkdir(parents=True, exist_ok=True)
    safe = run.replace("+", "_").replace("=", "")
    image, json_out, log = out_dir / f"{safe}.png", out_dir / f"{safe}.json", out_dir / f"{safe}.log"
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        run,
        "--json-out",
        str(json_out),
        "--image-out",
        str(image),
        "--size",
        str(args.size),
        "--steps",
        str(args.steps),
    ]
    if args.profile:
        cmd.append("--profile")
    other = competitor() if parse_run(run)["contended"] else None
    try:
        with open(log, "w") as fh:
            rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT).returncode
    finally:
        if other is not None:
            other.kill()
            other.wait()
    if rc:
        print(f"  {run}: exit {rc}, see {log}", file=sys.stderr)
        return {"run": run, "error": f"exit {rc}, log {log}"}
    rec = json.loads(json_out.read_text())
    rec["image"] = str(image)
    print(f"  {run}: {rec['wall_s']:.1f} s", file=sys.stderr)
    return rec


def judge(records: list[dict], args) -> dict | None:
    """Content and style distances of every saved image (and of --reference) at the run's size."""
    import impasto

    images = [r["image"] for r in records if "image" in r]
    names = [r["run"] for r in records if "image" in r]
    if args.reference:
        images.append(str(args.reference))
        names.append("reference")
    if not images:
        return None
    ev = impasto.evaluate(CONTENT, STYLE, images, names=names, image_size=args.size, device="cpu")
    scores = {row.name: row for row in ev.rows}
    for rec in records:
        if rec["run"] in scores:
            rec["judged_content"] = scores[rec["run"]].content_distance
            rec["judged_style"] = scores[rec["run"]].style_distance
    if args.reference:
        ref = scores["reference"]
        return {"content": ref.content_distance, "style": ref.style_distance, "source": str(args.reference)}
    return {"content": args.published_content, "style": args.published_style, "source": "issue 15's quote"}


def report(results: dict) -> str:
    m, pub = results["machine"], results["published"] or {}
    fmt = lambda v, spec=".3g": "—" if v is None else format(v, spec)  # noqa: E731
    lines = [
        f"{results['size']} px, {results['steps']} steps; {m['cpu']}, {m['cores']} cores, torch "
        f"{m['torch']} on {m['torch_threads']} threads; native bf16 flags: "
        f"{', '.join(m['native_bf16_flags']) or 'none'}; load average before: {m['loadavg_before']}",
        "",
        f"neural-style's published result ({pub.get('source', '—')}): content {fmt(pub.get('content'))}, "
        f"style {fmt(pub.get('style'))}",
        "",
        "| run | wall (s) | closure calls | s/step | objective ms/step | optimiser ms/step | optimiser share "
        "| judged content | judged style | both <= published |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["records"]:
        if "error" in r:
            lines.append(f"| {r['run']} | failed: {r['error']} |||||||||")
            continue
        n = max(1, r["evaluations"])
        ok = None
        if pub and r.get("judged_content") is not None:
            ok = r["judged_content"] <= pub["content"] and r["judged_style"] <= pub["style"]
        lines.append(
            f"| {r['run']} | {r['wall_s']:.1f} | {r['evaluations']} | {fmt(r['median_s_per_step'])} | "
            f"{1e3 * r['objective_s'] / n:.0f} | {1e3 * r['optimizer_s'] / n:.1f} | "
            f"{fmt(100 * r['optimizer_share'], '.1f')}% | {fmt(r.get('judged_content'))} | "
            f"{fmt(r.get('judged_style'))} | {'—' if ok is None else 'yes' if ok else 'no'} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=512, help="--image-size of every run (the README's default 512)")
    p.add_argument("--steps", type=int, default=300, help="--steps of every run (the default 300)")
    p.add_argument("--runs", default=DEFAULT_RUNS, help="comma-separated runs (see the module docstring)")
    p.add_argument("--reference", type=Path, help="neural-style's published result, to judge alongside")
    p.add_argument("--published-content", type=float, default=PUBLISHED["content"])
    p.add_argument("--published-style", type=float, default=PUBLISHED["style"])
    p.add_argument("--profile", action="store_true", help="torch.profiler's top operators over 5 steps per run")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--json-out", help=argparse.SUPPRESS)
    p.add_argument("--image-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    for r in runs:
        parse_run(r)
    args.out = args.out.resolve()
    results = {"size": args.size, "steps": args.steps, "machine": machine(), "runs": runs}
    print(f"machine: {results['machine']}", file=sys.stderr)
    results["records"] = [spawn(r, args) for r in runs]
    results["published"] = judge(results["records"], args)
    table = report(results)
    print(table)
    (args.out / "gatys_minute.md").write_text(table + "\n")
    (args.out / "gatys_minute.json").write_text(json.dumps(results, indent=1, default=str))
    return 0 if all("error" not in r for r in results["records"]) else 1


if __name__ == "__main__":
    sys.exit(main())
