"""The calibrated ranges of ``--precision int8`` (``impasto.features.int8.EMBEDDED_RANGES``): the largest
output of each int8 layer's ReLU and its largest gain (output maximum / input maximum), embedded VGG-19
weights, over Kodak 01-16 and the six paintings of
../shared/images/style at 256, 512 and 1024 px on the long side (the held-out photos kodim17-20 and golden_gate
stay out). Prints the dict to paste, and how far the shipped one is from it.

    python benchmarks/int8_ranges.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"


def calibration_files() -> list[Path]:
    return [SHARED / "kodak" / f"kodim{i:02d}.png" for i in range(1, 17)] + sorted((SHARED / "style").glob("*.jpg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024", help="long sides to calibrate at [256,512,1024]")
    args = parser.parse_args()
    from impasto.features.int8 import EMBEDDED_RANGES, calibrate_ranges
    from impasto.features.vgg import FeatureExtractor
    from impasto.io import read_image
    from impasto.transforms import resize_long_side, to_tensor

    extractor = FeatureExtractor(["relu4_1"], weights="embedded")
    images = (
        extractor.normalize(resize_long_side(to_tensor(read_image(path)), int(side)))
        for path in calibration_files()
        for side in args.sizes.split(",")
    )
    ranges = calibrate_ranges(extractor.net, images)
    print("EMBEDDED_RANGES: dict[str, tuple[float, float]] = {")
    for name, (top, gain) in ranges.items():
        print(f'    "{name}": ({top:.1f}, {gain:.3f}),')
    print("}")
    for name, calibrated in ranges.items():
        print(f"{name}: calibrated {calibrated}, shipped {EMBEDDED_RANGES.get(name)}")


if __name__ == "__main__":
    main()
