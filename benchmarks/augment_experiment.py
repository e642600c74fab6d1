"""Does StyleAugment make a small classifier robust to paintings it never saw? A CPU-sized experiment.

    python benchmarks/augment_experiment.py --decoders /tmp/decoders --threads 1   # ~20 min on 2 busy cores
    python benchmarks/augment_experiment.py --decoders DIR --seeds 2 --steps 100    # a quicker look

Task: tell apart ``--classes`` Kodak photographs from 32x32 crops. Each photo is shrunk to 128 px on its
long side; training crops come from its left 55 %, test crops from its right 45 % (no pixel shared).
Test sets: the clean test crops, and the same crops stylised by WCT at strength 1 with the three
gallery paintings *not* used in training (great-wave, the-scream, woman-with-hat).

Arms, each trained from the same seeds (initialisation, batches, flips):
  * ``none``: no style augmentation;
  * ``paintings``: StyleAugment(p=0.5, strength 0.5-1, AdaIN) with the three training paintings
    (composition-vii, starry-night, udnie);
  * ``prior``: StyleAugment(styles="prior") with a prior fitted to the three training paintings only.

To fit a CPU, each augmented arm draws from a pool of ``--variants`` stylisations per training crop made
once by the arm's StyleAugment (its own random paintings/statistics and strengths); at each step every
image is replaced by one of its variants with probability 0.5. The pool is made once, not per seed.

How the comparison could fail, and one confound: photos are told apart largely by colour and texture,
which is what a painting replaces, so a classifier may gain nothing from styles it sees in training if
the held-out paintings differ enough; the augmentation may also cost clean accuracy. The test
stylisation uses the same decoders as the augmentation (WCT for the test, AdaIN for training), so part of
any gain may be robustness to the decoders' own artefacts rather than to painting styles.

Prints a Markdown table (accuracy mean +- std over seeds, and the per-seed paired difference to ``none``)
and writes ``augment_experiment.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"
PHOTOS = ["kodim01", "kodim03", "kodim05", "kodim07", "kodim08", "kodim13", "kodim14", "kodim22"]
TRAIN_PAINTINGS = ["composition-vii", "starry-night", "udnie"]
TEST_PAINTINGS = ["great-wave", "the-scream", "woman-with-hat"]
CROP, LONG_SIDE, SPLIT, BATCH = 32, 128, 0.55, 32


def load_photos(n: int) -> list[torch.Tensor]:
    from impasto.io import read_image
    from impasto.transforms import resize_long_side, to_tensor

    names = [p for p in PHOTOS if (SHARED / "kodak" / f"{p}.png").is_file()][:n]
    if len(names) < n:
        raise SystemExit(f"need {n} Kodak photos under {SHARED / 'kodak'}; found {len(names)}")
    return [resize_long_side(to_tensor(read_image(SHARED / "kodak" / f"{p}.png")), LONG_SIDE) for p in names]


def crops(photos: list[torch.Tensor], per_class: int, part: str, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    xs, ys = [], []
    for label, photo in enumerate(photos):
        h, w = photo.shape[-2:]
        cut = int(w * SPLIT)
        lo, hi = (0, cut - CROP) if part == "train" else (cut, w - CROP)
        for _ in range(per_class):
            top = int(torch.randint(h - CROP + 1, (), generator=gen))
            left = int(torch.randint(lo, hi + 1, (), generator=gen))
            xs.append(photo[..., top : top + CROP, left : left + CROP])
            ys.append(label)
    return torch.cat(xs), torch.tensor(ys)


class SmallCNN(nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c in (16, 32, 64, 64):
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


def make_pool(aug: torch.nn.Module, x: torch.Tensor, variants: int, seed: int) -> torch.Tensor:
    """(variants, N, 3, H, W): every crop restyled ``variants`` times by ``aug`` (p = 1)."""
    gen = torch.Generator().manual_seed(seed)
    out = torch.empty(variants, *x.shape)
    for v in range(variants):
        for i in range(0, len(x), 64):
            plan = aug.draw(len(x[i : i + 64]), gen)
            out[v, i : i + 64] = aug.restyle(x[i : i + 64], plan)
    return out


def train(
    x: torch.Tensor, y: torch.Tensor, pool: torch.Tensor | None, classes: int, steps: int, seed: int, p: float = 0.5
) -> SmallCNN:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = SmallCNN(classes)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    for _ in range(steps):
        idx = torch.randint(len(x), (BATCH,), generator=gen)
        batch = x[idx].clone()
        swap = torch.rand(BATCH, generator=gen) < p  # drawn in every arm, so the arms see the same batches and flips
        variant = torch.randint(pool.shape[0] if pool is not None else 1, (BATCH,), generator=gen)
        if pool is not None:
            batch[swap] = pool[variant[swap], idx[swap]]
        flip = torch.rand(BATCH, generator=gen) < 0.5
        batch[flip] = batch[flip].flip(-1)
        loss = F.cross_entropy(net(batch), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


@torch.no_grad()
def accuracy(net: SmallCNN, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((net(x).argmax(dim=1) == y).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decoders", default=None, help="decoder folder [the shipped decoders]")
    parser.add_argument("--levels", nargs="+", default=None, help="decoder levels [all found]")
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--train-crops", type=int, default=96, help="training crops per class [96]")
    parser.add_argument("--test-crops", type=int, default=40, help="test crops per class [40]")
    parser.add_argument("--variants", type=int, default=3, help="stylisations per training crop [3]")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--arms", nargs="+", default=["none", "paintings", "prior"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from impasto.augment.stats import fit_prior_to_paintings
    from impasto.augment.transform import StyleAugment
    from impasto.gallery import resolve_style

    start = time.perf_counter()
    gen = torch.Generator().manual_seed(1234)
    photos = load_photos(args.classes)
    x_train, y_train = crops(photos, args.train_crops, "train", gen)
    x_test, y_test = crops(photos, args.test_crops, "test", gen)
    log = lambda msg: print(f"[{time.perf_counter() - start:6.0f} s] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    tester = StyleAugment(
        TEST_PAINTINGS, p=1.0, strength=1.0, method="wct", decoders=args.decoders, levels=args.levels, style_size=128
    )
    levels = tester.order
    test_sets = {"clean": x_test}
    for k, name in enumerate(TEST_PAINTINGS):
        test_sets[f"held-out {name}"] = torch.cat(
            [
                tester.stylize(x_test[i : i + 60], [k] * len(x_test[i : i + 60]), [1.0] * len(x_test[i : i + 60]))
                for i in range(0, len(x_test), 60)
            ]
        )
    log(f"test sets ready: {', '.join(f'{k} {len(v)}' for k, v in test_sets.items())}; levels {levels}")
    pools: dict[str, torch.Tensor | None] = {"none": None}
    if "paintings" in args.arms:
        aug = StyleAugment(
            TRAIN_PAINTINGS,
            p=1.0,
            strength=(0.5, 1.0),
            method="adain",
            decoders=args.decoders,
            levels=levels,
            style_size=128,
        )
        pools["paintings"] = make_pool(aug, x_train, args.variants, seed=1)
        log("paintings pool ready")
    if "prior" in args.arms:
        prior = fit_prior_to_paintings(
            [resolve_style(n) for n in TRAIN_PAINTINGS], levels=sorted(levels), crops=32, crop_size=64, rank=8
        )
        aug = StyleAugment("prior", prior=prior, p=1.0, strength=(0.5, 1.0), decoders=args.decoders, levels=levels)
        pools["prior"] = make_pool(aug, x_train, args.variants, seed=2)
        log("prior pool ready")
    results: dict[str, dict[str, list[float]]] = {arm: {t: [] for t in test_sets} for arm in args.arms}
    for seed in range(args.seeds):
        for arm in args.arms:
            net = train(x_train, y_train, pools[arm], args.classes, args.steps, seed)
            for t, xs in test_sets.items():
                results[arm][t].append(accuracy(net, xs, y_test))
        log(
            f"seed {seed} done: "
            + "; ".join(
                f"{arm} clean {results[arm]['clean'][-1]:.3f} held-out "
                f"{statistics.mean(results[arm][t][-1] for t in test_sets if t != 'clean'):.3f}"
                for arm in args.arms
            )
        )
    for arm in args.arms:
        results[arm]["held-out (mean of 3)"] = [
            statistics.mean(v) for v in zip(*(results[arm][t] for t in test_sets if t != "clean"))
        ]

    def cell(values: list[float]) -> str:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{100 * statistics.mean(values):.1f} ± {100 * spread:.1f}"

    columns = list(results[args.arms[0]])
    print(
        f"\n{args.classes} classes, chance {100 / args.classes:.1f} %; {len(x_train)} training crops, "
        f"{len(x_test)} test crops per set; {args.steps} steps, {args.seeds} seeds; levels {', '.join(levels)}; "
        f"{time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| arm | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    for arm in args.arms:
        print(f"| {arm} | " + " | ".join(cell(results[arm][c]) for c in columns) + " |")
    for arm in args.arms:
        if arm != "none" and "none" in args.arms:
            diffs = {c: [a - b for a, b in zip(results[arm][c], results["none"][c])] for c in columns}
            print(f"| {arm} − none (paired) | " + " | ".join(cell(diffs[c]) for c in columns) + " |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "augment_experiment.json").write_text(
        json.dumps({"args": vars(args), "levels": levels, "results": results}, indent=1)
    )


if __name__ == "__main__":
    main()
