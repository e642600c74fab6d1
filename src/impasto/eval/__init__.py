"""Evaluation and explanatory figures: image metrics (SSIM, PSNR, VGG content and style
distances) in :mod:`impasto.eval.metrics`, and the paper's figures (reconstructions, the
alpha/beta grid, loss curves, comparison sheets) in :mod:`impasto.eval.figures`.

matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

from .metrics import FeatureDistances, Scores, psnr, ssim

__all__ = ["FeatureDistances", "Scores", "psnr", "ssim"]
