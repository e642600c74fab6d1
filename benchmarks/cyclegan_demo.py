"""CycleGAN on a CPU: learn "photo -> sepia print" from two unpaired sets of Kodak photos.

Domains (no photo in both):
  A (train)    kodim01-08 as they are;
  B (train)    kodim11-20 after a sepia tone transform (``sepia`` below);
  held out     kodim09-10 and the two photos of shared/images/content, never trained on.

Because B was made by a known transform, we can check what G learned: on the
held-out photos we measure

  off_sepia    mean distance (x100) of each pixel's chromaticity r,g,b/(r+g+b)
               from the mean chromaticity of domain B: large for colour photos,
               small for sepia prints;
  warmth       mean R - B (0-255);
  map_err      mean |G(a) - sepia(a)| (0-255): the distance to the true mapping;
  cycle_err    mean |F(G(a)) - a| (0-255),

before training, every ``--eval-every`` steps, and at the end. Training goes
through the same pieces as ``impasto cyclegan train`` (build_state, the
CycleGAN step, ``fit``), with a lighter generator (ngf 32, 6 blocks), ndf 32 and
64-px crops from images shrunk to 128 px. It checkpoints every
``--eval-every`` steps; running the script again resumes.

    python benchmarks/cyclegan_demo.py --steps 3000 --threads 1

Outputs in ``--out`` (default benchmarks/results/cyclegan/): stats.json,
summary.json, heldout_grid.png (A | G(A) | sepia(A) | F(G(A))), samples/,
curves.png, checkpoint.pt.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "images"

SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float32)


def sepia(x: np.ndarray) -> np.ndarray:
    """The domain-B transform: classic sepia matrix, clipped, then a slight fade (lifted blacks)."""
    y = np.clip(x @ SEPIA.T, 0, 1)
    return (0.05 + 0.9 * y).astype(np.float32)


def chroma(x: np.ndarray) -> np.ndarray:
    px = x.reshape(-1, 3)
    s = px.sum(1)
    keep = s > 0.15
    return px[keep] / s[keep, None]


def stats(x: np.ndarray, c_b: np.ndarray) -> dict[str, float]:
    return {
        "off_sepia": float(np.linalg.norm(chroma(x) - c_b, axis=1).mean() * 100),
        "warmth": float((x[..., 0] - x[..., 2]).mean() * 255),
    }


def mean_stats(images: list[np.ndarray], c_b: np.ndarray) -> dict[str, float]:
    rows = [stats(x, c_b) for x in images]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def prepare(out: Path) -> dict[str, list[Path]]:
    from impasto.io import read_image, write_image

    kodak = SHARED / "kodak"
    if not kodak.is_dir():
        sys.exit(f"needs the Kodak photos in {kodak}")
    names = {
        "A": [f"kodim{i:02d}.png" for i in range(1, 9)],
        "B": [f"kodim{i:02d}.png" for i in range(11, 21)],
        "heldout": ["kodim09.png", "kodim10.png"],
    }
    files: dict[str, list[Path]] = {}
    for domain, items in names.items():
        folder = out / domain
        folder.mkdir(parents=True, exist_ok=True)
        files[domain] = []
        for name in items:
            dst = folder / name
            if not dst.exists():
                img = read_image(kodak / name)
                write_image(dst, sepia(img) if domain == "B" else img)
            files[domain].append(dst)
    for extra in ("tubingen.jpg", "golden_gate.jpg"):
        if (SHARED / "content" / extra).exists():
            files["heldout"].append(SHARED / "content" / extra)
    assert not set(names["A"]) & set(names["B"]) and not set(names["heldout"]) & (set(names["A"]) | set(names["B"]))
    return files


def load_small(path: Path, short: int) -> np.ndarray:
    from impasto.io import read_image
    from impasto.transforms import resize, to_array, to_tensor

    x = to_tensor(read_image(path))
    h, w = x.shape[-2:]
    s = short / min(h, w)
    return to_array(resize(x, (round(h * s), round(w * s))))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "cyclegan")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a shared 2-core box)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from impasto.cyclegan.train import CycleGANConfig, build_state, make_step, sample_grid
    from impasto.io import write_image
    from impasto.train.data import ImageFolder
    from impasto.train.loop import fit, fit_options, resume
    from impasto.transforms import to_array, to_tensor

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "samples").mkdir(exist_ok=True)
    files = prepare(out)
    cfg = CycleGANConfig(
        steps=args.steps,
        decay_steps=args.steps // 2,
        crop=64,
        load_size=128,
        ngf=32,
        n_blocks=6,
        ndf=32,
        checkpoint_every=args.eval_every,
        sample_every=args.eval_every,
        device="cpu",
        seed=0,
    ).validate()
    device = torch.device("cpu")
    data_a = ImageFolder(files["A"], crop=cfg.crop, max_side=cfg.load_size)
    data_b = ImageFolder(files["B"], crop=cfg.crop, max_side=cfg.load_size)
    b_pixels = np.concatenate([chroma(load_small(p, 128)) for p in files["B"]])
    c_b = b_pixels.mean(0)
    heldout = [load_small(p, 128) for p in files["heldout"]]
    truth = [sepia(x) for x in heldout]
    ckpt = out / "checkpoint.pt"
    stats_path = out / "stats.json"
    record = (
        json.loads(stats_path.read_text())
        if stats_path.exists() and ckpt.exists()
        else {
            "domains": {
                "A_heldout": mean_stats(heldout, c_b),
                "B_train": mean_stats([load_small(p, 128) for p in files["B"]], c_b),
                "sepia_of_heldout": mean_stats(truth, c_b),
                "map_err_identity": float(np.mean([np.abs(a - t).mean() for a, t in zip(heldout, truth)]) * 255),
            },
            "evals": [],
            "threads": args.threads,
            "seconds": 0.0,
        }
    )
    record["config"] = cfg.to_dict()
    state = build_state(cfg, device)
    if ckpt.exists():
        resume(state, ckpt, "cyclegan")
        state.extra = {k: list(v) for k, v in state.extra.items()}
        print(f"resumed at step {state.step}", flush=True)
    sample_a = data_a.batch(3, 0, seed=1000)
    sample_b = data_b.batch(3, 0, seed=1001)
    t_start = time.perf_counter()
    base_seconds = record["seconds"]

    def evaluate(st, step: int) -> None:
        G, Fn = st.nets["G"], st.nets["F"]
        fakes, cyc = [], []
        for a in heldout:
            x = to_tensor(a) * 2 - 1
            fb = G(x)
            fakes.append(to_array((fb + 1) / 2))
            cyc.append(to_array((Fn(fb) + 1) / 2))
        row = {
            "step": step,
            "seconds": base_seconds + time.perf_counter() - t_start,
            **mean_stats(fakes, c_b),
            "map_err": float(np.mean([np.abs(f - t).mean() for f, t in zip(fakes, truth)]) * 255),
            "cycle_err": float(np.mean([np.abs(c - a).mean() for c, a in zip(cyc, heldout)]) * 255),
        }
        record["evals"] = [e for e in record["evals"] if e["step"] < step] + [row]
        record["seconds"] = row["seconds"]
        stats_path.write_text(json.dumps(record, indent=1))
        write_image(out / "samples" / f"step_{step:06d}.png", sample_grid(G, Fn, sample_a, sample_b))
        rows = [np.concatenate([im[:128, :128] for im in quad], axis=1) for quad in zip(heldout, fakes, truth, cyc)]
        write_image(out / "heldout_grid.png", np.concatenate(rows, axis=0))
        print(f"eval step {step}: " + "  ".join(f"{k} {v:.2f}" for k, v in row.items() if k != "step"), flush=True)

    if state.step == 0:
        with torch.no_grad():
            for net in state.nets.values():
                net.eval()
            evaluate(state, 0)

    def on_step(event) -> None:
        if event.step % 50 == 0:
            terms = "  ".join(f"{k} {v:.3g}" for k, v in event.losses.items())
            print(f"step {event.step}/{event.total} ({time.perf_counter() - t_start:.0f} s)  {terms}", flush=True)

    fit(
        state,
        make_step(cfg, data_a, data_b, device),
        kind="cyclegan",
        checkpoint=ckpt,
        sample_fn=evaluate,  # every cfg.sample_every (--eval-every) steps
        callback=on_step,
        **fit_options(cfg),
    )
    if record["evals"][-1]["step"] != state.step:
        with torch.no_grad():
            evaluate(state, state.step)
    history = state.history
    plot(out / "curves.png", history, record)
    summary = {
        "steps": state.step,
        "train_seconds": record["seconds"],
        "before": record["evals"][0],
        "after": record["evals"][-1],
        "domains": record["domains"],
        "cycle_train_first100": float(np.mean([h["cycle_A"] + h["cycle_B"] for h in history[:100]])),
        "cycle_train_last100": float(np.mean([h["cycle_A"] + h["cycle_B"] for h in history[-100:]])),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


def plot(path: Path, history: list[dict], record: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from impasto.eval.figures import draw_loss_curves

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    labels = {"cycle_A": "cycle A (x10 L1)", "cycle_B": "cycle B (x10 L1)", "gan_G": "GAN G", "D_B": "D_B"}
    draw_loss_curves(axes[0], history, list(labels), labels=labels, smooth=50, log=False)
    axes[0].set(xlabel="step", title="training losses (moving mean of 50)")
    ev = record["evals"]
    es = [e["step"] for e in ev]
    dom = record["domains"]
    axes[1].plot(es, [e["off_sepia"] for e in ev], "o-", label="G(held-out A)")
    axes[1].axhline(dom["A_heldout"]["off_sepia"], color="tab:green", ls="--", label="held-out A")
    axes[1].axhline(dom["B_train"]["off_sepia"], color="tab:brown", ls="--", label="domain B")
    axes[1].set(xlabel="step", title="off-sepia chromaticity (x100)")
    axes[1].legend(fontsize=8)
    axes[2].plot(es, [e["map_err"] for e in ev], "o-", label="|G(a) - sepia(a)|")
    axes[2].plot(es, [e["cycle_err"] for e in ev], "s-", label="|F(G(a)) - a|")
    axes[2].axhline(dom["map_err_identity"], color="gray", ls="--", label="|a - sepia(a)|")
    axes[2].set(xlabel="step", title="held-out errors (0-255)")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
