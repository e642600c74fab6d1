#!/usr/bin/env python
"""Where the default Gatys run's time goes by level, and what the finer level's steps buy (issue 15).

    python benchmarks/gatys_levels.py [--coarse-steps 225] [--fine-steps 75] [--marks 5,10,20,30,40,60]
                                      [--variants cw=20:20,noise=0.05:40] [--precision bf16]

The README's default command runs 225 steps at 256 px, then 75 at 512 px (tubingen.jpg + starry_night.jpg).
This script runs those two levels as two single-scale runs (the second starts from the first's result,
resized as the pyramid resizes it; it passes through an 8-bit PNG, which the pyramid does not) and
judges the image after ``--marks`` steps of the fine level with ``impasto.evaluate``: content and
style distance at 512 px, and ``5c + 100s``, the default objective's content and style terms with
their weights (the TV term left out). Then each ``--variants`` entry reruns the fine level from the
same coarse result with one change, for its given number of steps:

  cw=X          the fine level's content weight (the coarse level keeps the default 5)
  noise=S       Gaussian noise of std S (0-1 pixels) added to the upsampled start
  steps=N       only the step count (a plain shorter fine level; no ``:STEPS`` needed)
  pyramid=KxR   L-BFGS on a pyramid parameterisation of the image instead of its pixels (see below)

``pyramid=KxR`` (and ``--coarse-pyramid KxR`` for the 256 px level) optimises K images, the k-th at
1/2^k of the size, whose bilinearly upsampled sum (level k scaled by (R/4)^(k/2)) is the picture. The
objective is unchanged; only the variables L-BFGS sees are, which acts as a preconditioner that lets
coarse changes move R^k times faster (R = 1: every octave's gain equal). The image is kept in [0, 1] by
moving the finest level. This is a measured lever of issue 15, not an option of impasto.

A mark k is the image that the fine level's k-th step (one objective evaluation, impasto's unit of
``--steps``) scores, so the image after k - 1 L-BFGS updates; the last row is the level's result.

Every row carries the wall time of the level(s) it ran; the machine line (CPU model, native-bf16 flags,
threads, load) comes first. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_model_and_flags

REPO = Path(__file__).resolve().parent.parent
CONTENT, STYLE = REPO / "examples" / "tubingen.jpg", REPO / "examples" / "starry_night.jpg"
WEIGHTS = {"content": 5.0, "style": 100.0}  # the defaults, for the 5c + 100s column


@contextlib.contextmanager
def pyramid_parameterised(spec: str | None) -> Iterator[None]:
    """Within the block, impasto's levels run L-BFGS on a ``KxR`` pyramid of images (see the docstring)."""
    import impasto.optim.pyramid as levels

    if not spec:
        yield
        return
    k_text, _, r_text = spec.partition("x")
    plain = levels.optimize_image
    levels.optimize_image = functools.partial(plain, parameterization=Pyramid(int(k_text), float(r_text or 1)))
    try:
        yield
    finally:
        levels.optimize_image = plain


class Pyramid:
    """:class:`impasto.optim.loop.Parameterization` over K images, the k-th at 1/2^k of the size, whose
    bilinearly upsampled sum (level k scaled by (R/4)^(k/2)) is the picture; the clamp moves the finest."""

    def __init__(self, octaves: int, gain: float) -> None:
        self.octaves, self.scales = octaves, [(gain / 4) ** (k / 2) for k in range(octaves)]

    def variables(self, image):
        import torch

        from impasto.optim.loop import PIXEL_SCALE

        self.hw = h, w = image.shape[-2:]
        self.shapes = [(1, 3, -(-h // 2**k), -(-w // 2**k)) for k in range(self.octaves)]
        self.counts = [int(np.prod(shape)) for shape in self.shapes]
        v = torch.zeros(sum(self.counts))
        v[: self.counts[0]] = (image.detach() * PIXEL_SCALE).flatten() / self.scales[0]
        return v

    def picture(self, v):
        import torch
        import torch.nn.functional as F

        parts = torch.split(v, self.counts)
        out = parts[0].view(self.shapes[0]) * self.scales[0]
        for part, shape, scale in zip(parts[1:], self.shapes[1:], self.scales[1:]):
            out = out + scale * F.interpolate(part.view(shape), size=self.hw, mode="bilinear", align_corners=False)
        return out

    def project_(self, v) -> None:
        from impasto.optim.loop import PIXEL_SCALE

        x = self.picture(v)
        v[: self.counts[0]] += (x.clamp(0, PIXEL_SCALE) - x).flatten() / self.scales[0]


def fine_run(impasto, start: Path, steps: int, marks: set[int], precision: str, **overrides) -> tuple[dict, float]:
    """The 512 px level from ``start``; the images after each mark (and the last step) and the seconds."""
    images: dict[int, np.ndarray] = {}

    def keep(event) -> None:
        if event.step in marks and event.image is not None:
            images[event.step] = event.image[0].permute(1, 2, 0).float().clamp(0, 1).numpy().copy()

    t = time.perf_counter()
    result = impasto.stylize(
        CONTENT,
        STYLE,
        image_size=512,
        steps=steps,
        multiscale="off",
        precision=precision,
        init="image",
        init_image=str(start),
        callback=keep,
        **overrides,
    )
    seconds = time.perf_counter() - t
    images[steps] = result.array
    return images, seconds


def judged(impasto, images: dict[str, np.ndarray]) -> list[tuple[str, float, float]]:
    ev = impasto.evaluate(CONTENT, STYLE, list(images.values()), names=list(images), image_size=512)
    return [(r.name, r.content_distance, r.style_distance) for r in ev.rows[2:]]


def row(name: str, content: float, style: float, seconds: str) -> str:
    total = WEIGHTS["content"] * content + WEIGHTS["style"] * style
    return f"| {name} | {seconds} | {content:.3e} | {style:.3e} | {total:.3e} |"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--coarse-steps", type=int, default=225)
    p.add_argument("--fine-steps", type=int, default=75)
    p.add_argument("--marks", default="5,10,20,30,40,60", help="fine-level steps after which to judge the image")
    p.add_argument("--variants", default="cw=20:20,cw=60:10,noise=0.05:40", help="CHANGE:STEPS,... (see above)")
    p.add_argument("--precision", default="bf16")
    p.add_argument("--coarse-pyramid", help="KxR: the 256 px level on a pyramid of images (see above)")
    args = p.parse_args()

    import torch
    from PIL import Image

    import impasto
    from impasto.io import read_image
    from impasto.transforms import resize, size_for_long_side, to_array, to_tensor

    model, flags = cpu_model_and_flags()
    native = sorted(flags & {"avx512_bf16", "amx_bf16"}) or ["none"]
    print(
        f"CPU: {model}; native bf16: {', '.join(native)}; torch {torch.__version__}, {torch.get_num_threads()} "
        f"threads; load {os.getloadavg()[0]:.2f}; precision {args.precision}\n"
    )
    marks = {int(m) for m in args.marks.split(",") if m}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        with pyramid_parameterised(args.coarse_pyramid):
            coarse = impasto.stylize(
                CONTENT, STYLE, image_size=256, steps=args.coarse_steps, multiscale="off", precision=args.precision
            )
        coarse_seconds = time.perf_counter() - t
        start = Path(tmp) / "coarse.png"
        Image.fromarray((np.clip(coarse.array, 0, 1) * 255 + 0.5).astype(np.uint8)).save(start)

        print("| image | seconds | judged content | judged style | 5c + 100s |\n| --- | --- | --- | --- | --- |")
        images, fine_seconds = fine_run(impasto, start, args.fine_steps, marks, args.precision)
        # the 512 px level's start, resized as impasto resizes an --init image (and as the pyramid does)
        h, w = read_image(CONTENT).shape[:2]
        up = to_array(resize(to_tensor(read_image(start)), size_for_long_side(h, w, 512)))
        named = {"256 px result, upsampled": up, **{f"+{k} steps at 512 px": images[k] for k in sorted(images)}}
        for i, (name, c, s) in enumerate(judged(impasto, named)):
            seconds = f"{coarse_seconds:.1f}" if i == 0 else "-"
            if name.startswith(f"+{args.fine_steps} "):
                seconds = f"{coarse_seconds:.1f} + {fine_seconds:.1f}"
            print(row(name, c, s, seconds), flush=True)

        for spec in filter(None, args.variants.split(",")):
            change, _, steps_text = spec.partition(":")
            key, _, value = change.partition("=")
            steps, begin, overrides, pyramid = int(steps_text or args.fine_steps), start, {}, None
            if key == "cw":
                overrides["content_weight"] = float(value)
            elif key == "noise":
                rng = np.random.default_rng(0)
                noisy = np.clip(up + rng.normal(0, float(value), up.shape), 0, 1)
                begin = Path(tmp) / "noisy.png"
                Image.fromarray((noisy * 255 + 0.5).astype(np.uint8)).save(begin)
            elif key == "steps":
                steps = int(value)
            elif key == "pyramid":
                pyramid = value
            else:
                p.error(f"unknown variant {spec!r}")
            with pyramid_parameterised(pyramid):
                images, seconds = fine_run(impasto, begin, steps, set(), args.precision, **overrides)
            ((name, c, s),) = judged(impasto, {f"{change}, {steps} steps at 512 px": images[steps]})
            print(row(name, c, s, f"{coarse_seconds:.1f} + {seconds:.1f}"), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
