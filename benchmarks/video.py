"""Video benchmark: steadiness (warping error, Lai et al. 2018) per frame against stabilised, the
style and content distances that show what steadiness cost, throughput at 640x360, and Gatys with
the temporal loss against per-frame Gatys.

    python benchmarks/video.py [--frames 40] [--gatys-frames 6] [--clip PATH] [--model NAME]
                               [--methods fast,adain,wct] [--precision fp32|bf16|auto] [--parts fast,gatys]

Clips: ../shared/videos (Big Buck Bunny for the one-pass methods, carphone for Gatys). Prints a
Markdown table with the CPU's flags (avx512_bf16 / amx: what bf16 kernels can use).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from impasto.config import GatysConfig
from impasto.video.io import VideoWriter, probe, read_frames
from impasto.video.metrics import evaluate_video
from impasto.video.pipeline import stylize_video

SHARED = ROOT.parent / "shared" / "videos"


def cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    names = [f for f in ("avx512_bf16", "amx_bf16", "amx_tile") if f in text.split()]
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "?")
    return f"{model}; flags: {', '.join(names) or 'no avx512_bf16/amx'}"


def cut(src: Path, dst: Path, frames: int, long_side: int | None) -> Path:
    """The first ``frames`` frames of ``src`` (with its audio), resized to ``long_side``."""
    from impasto.video.io import even_size

    info = probe(src)
    size = even_size(info.width, info.height, long_side)
    with VideoWriter(dst, info, size, crf=12) as writer:
        for frame in read_frames(info, size):
            if frame.index >= frames:
                break
            writer.write(frame.rgb, frame.pts, frame.duration)
    return dst


HEADER = (
    "| run | warping error | x input floor | content dist | style dist | s/frame | frames/s | CPU s/frame |\n"
    "|---|---|---|---|---|---|---|---|"
)


def row(name: str, ev, seconds_per_frame: float, floor: float, cpu_per_frame: float) -> str:
    return (
        f"| {name} | {ev.warping_error:.5f} | {ev.warping_error / floor:.2f} | {ev.content_distance:.4g} | "
        f"{ev.style_distance:.4g} | {seconds_per_frame:.3f} | {1 / seconds_per_frame:.2f} | {cpu_per_frame:.3f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default=str(SHARED / "bigbuckbunny.mp4"))
    ap.add_argument("--gatys-clip", default=str(SHARED / "carphone_pristine.mp4"))
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--gatys-frames", type=int, default=6)
    ap.add_argument("--gatys-size", type=int, default=128)
    ap.add_argument("--gatys-steps", type=int, default=60)
    ap.add_argument("--model", default="starry-night-lite")
    ap.add_argument("--stabilize", type=float, default=0.7)
    ap.add_argument("--flow", default="medium")
    ap.add_argument("--keep", default=None, help="folder to keep the clips in")
    ap.add_argument("--parts", default="fast,gatys", help="fast, gatys or both")
    ap.add_argument("--methods", default="fast,adain,wct", help="one-pass methods of the fast part")
    ap.add_argument("--smooth", type=float, default=0.8, help="wct/adain: --smooth-stats of the third run")
    ap.add_argument("--precision", default=None, help="fast, wct, adain: fp32, bf16 or auto [as the CLI]")
    args = ap.parse_args()
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="impasto-video-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {cpu_flags()}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")

    if "fast" in args.parts:
        fast_part(args, tmp)
    if "gatys" in args.parts:
        gatys_part(args, tmp)
    print(f"\nclips in {tmp}")


def fast_part(args: argparse.Namespace, tmp: Path) -> None:
    clip = cut(Path(args.clip), tmp / "input.mp4", args.frames, 640)
    info = probe(clip)
    print(f"one-pass clip: {Path(args.clip).name}, first {info.frames} frames at {info.width}x{info.height}\n")
    print(HEADER)
    summary = []
    for method in args.methods.split(","):
        runs = [("per-frame", 0.0, 0.0), (f"stabilised {args.stabilize}", args.stabilize, 0.0)]
        if method in ("wct", "adain"):
            runs.append((f"stabilised {args.stabilize} + statistics {args.smooth}", args.stabilize, args.smooth))
        evs = []
        for name, strength, smooth in runs:
            out = tmp / f"{method}_{strength}_{smooth}.mp4"
            options = {"model": args.model} if method == "fast" else {"style": "starry-night", "smooth_stats": smooth}
            t0, c0 = time.perf_counter(), time.process_time()
            res = stylize_video(
                clip,
                out,
                method=method,
                stabilize=strength,
                flow_preset=args.flow,
                precision=args.precision,
                **options,  # type: ignore[arg-type]
            )
            spf, cpf = (time.perf_counter() - t0) / res.frames, (time.process_time() - c0) / res.frames
            ev = evaluate_video(clip, out, "starry-night", every=4, preset=args.flow)
            evs.append(ev)
            print(row(f"{method} {name}", ev, spf, ev.input_warping_error, cpf), flush=True)
        base = evs[0]
        for (name, _, _), ev in zip(runs[1:], evs[1:]):
            summary.append(
                f"{method} {name} vs per-frame: warping error {100 * (1 - ev.warping_error / base.warping_error):.1f}% "
                f"lower, content distance {100 * (ev.content_distance / base.content_distance - 1):+.1f}%, "
                f"style distance {100 * (ev.style_distance / base.style_distance - 1):+.1f}%"
            )
    print("\n" + "\n".join(summary) + "\n")


def gatys_part(args: argparse.Namespace, tmp: Path) -> None:
    gclip = cut(Path(args.gatys_clip), tmp / "gatys_input.mp4", args.gatys_frames, args.gatys_size)
    ginfo = probe(gclip)
    print(
        f"gatys clip: {Path(args.gatys_clip).name}, first {ginfo.frames} frames at {ginfo.width}x{ginfo.height}, "
        f"{args.gatys_steps} steps first frame\n"
    )
    print(HEADER)
    cfg = GatysConfig(steps=args.gatys_steps, multiscale="off")
    for name, weight, later in (
        ("gatys per-frame", 0.0, None),
        ("gatys temporal (Ruder)", 1e3, args.gatys_steps // 2),
    ):
        out = tmp / f"gatys_{weight}.mp4"
        t0, c0 = time.perf_counter(), time.process_time()
        res = stylize_video(
            gclip,
            out,
            method="gatys",
            style="starry-night",
            config=cfg,
            temporal_weight=weight,
            later_steps=later,
            flow_preset=args.flow,
        )
        spf, cpf = (time.perf_counter() - t0) / res.frames, (time.process_time() - c0) / res.frames
        ev = evaluate_video(gclip, out, "starry-night", image_size=args.gatys_size, every=1, preset=args.flow)
        print(row(name, ev, spf, ev.input_warping_error, cpf), flush=True)


if __name__ == "__main__":
    main()
