"""The figure of docs/augment.md: four Kodak photos, restyled by StyleAugment with gallery paintings and
with statistics drawn from the shipped prior (rows), at strength 0.7 with the shipped decoders.

    python benchmarks/augment_samples.py docs/figures/augment_samples.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the JPEG to write")
    parser.add_argument("--size", type=int, default=160, help="side of each square tile [160]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from PIL import Image

    from impasto.augment import StyleAugment
    from impasto.io import read_image
    from impasto.transforms import to_tensor

    photos = [SHARED / "kodak" / f"kodim0{i}.png" for i in range(1, 5)]
    batch = torch.cat([F.interpolate(to_tensor(read_image(p)), size=(args.size,) * 2, mode="area") for p in photos])
    rows = [batch]
    for styles in ("gallery", "prior"):
        augment = StyleAugment(styles, p=1.0, strength=0.7, method="adain")
        rows.append(augment(batch, generator=torch.Generator().manual_seed(args.seed)))
    grid = torch.cat([torch.cat(list(row), dim=2) for row in rows], dim=1).permute(1, 2, 0).numpy()
    Image.fromarray((np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8)).save(args.out, quality=88)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
