"""Numbers that describe a stylised image: SSIM and PSNR against the content photo, and the
content and style (Gram) distances on VGG-19 features.

SSIM (Wang, Bovik, Sheikh & Simoncelli 2004) uses their settings: an 11x11 Gaussian window of
sigma 1.5 (truncated at 3.5 sigma and renormalised), K1 = 0.01, K2 = 0.03, data range 1,
population (not sample) covariances, computed per RGB channel and averaged, over the pixels
whose window lies inside the image. That is exactly ``skimage.metrics.structural_similarity(a, b,
data_range=1, channel_axis=2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``:
scikit-image filters with reflected borders and then crops 5 px from each side, so the mean is
over the same pixels. Computed in float64.

PSNR is ``10 log10(1 / MSE)`` on [0, 1] images, and ``inf`` for identical images (not capped;
``impasto evaluate --json`` writes it as ``null``).

The feature distances are impasto's own loss terms without their weights alpha and beta, from
the pieces of the Gatys objective (:mod:`impasto.losses.functional`: ``content_targets``,
``style_targets``, ``content_losses``, ``style_losses``): the content distance is the mean squared
difference of the relu4_2 features, the style distance the sum over relu1_1..relu5_1 of the mean
squared difference of the Gram matrices / (C*H*W) (neural-style's normalisation). Per-layer values
are summed as Python floats; each score keeps the style distance's terms by layer (``style_by_layer``),
since one layer can carry nearly all of it (relu4_1 does for impasto's one-pass methods:
docs/universal.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _gaussian_kernel(sigma: float = SSIM_SIGMA, truncate: float = SSIM_TRUNCATE) -> np.ndarray:
    radius = int(truncate * sigma + 0.5)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def _filter_valid(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable filtering of (H, W, C) over the positions where the whole window fits."""
    x = sliding_window_view(x, len(kernel), axis=0) @ kernel
    return sliding_window_view(x, len(kernel), axis=1) @ kernel


def _as_float_images(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape; got {a.shape} and {b.shape}")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    if a.ndim != 3:
        raise ValueError(f"images must be (H, W) or (H, W, C); got {a.shape}")
    return a, b


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Mean structural similarity of two images (see the module docstring for the exact settings).

    Args:
        a, b: (H, W) or (H, W, C) float images of the same shape, values in [0, data_range].

    Returns:
        SSIM in [-1, 1]; 1 exactly when ``a`` equals ``b``.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).random((32, 32, 3))
        >>> ssim(x, x)
        1.0
    """
    a, b = _as_float_images(a, b)
    kernel = _gaussian_kernel()
    if min(a.shape[:2]) < len(kernel):
        raise ValueError(f"SSIM needs images of at least {len(kernel)}x{len(kernel)} px; got {a.shape[1]}x{a.shape[0]}")
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a, kernel), _filter_valid(b, kernel)
    var_a = _filter_valid(a * a, kernel) - mu_a * mu_a
    var_b = _filter_valid(b * b, kernel) - mu_b * mu_b
    cov = _filter_valid(a * b, kernel) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(s.mean(axis=(0, 1)).mean())


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range^2 / MSE)``; ``inf`` for identical images."""
    a, b = _as_float_images(a, b)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return float("inf")
    return float(10 * np.log10(data_range**2 / mse))


@dataclass(frozen=True)
class Scores:
    """The numbers of one image: against the content (SSIM, PSNR, content distance) and the style."""

    name: str
    ssim: float
    psnr: float
    content_distance: float
    style_distance: float
    style_by_layer: dict[str, float] = field(default_factory=dict)  # the style distance's terms, by VGG layer

    def as_dict(self) -> dict[str, float | str | None | dict[str, float]]:
        """JSON-ready: an infinite PSNR becomes None."""
        psnr_value = None if self.psnr == float("inf") else self.psnr
        return {
            "name": self.name,
            "ssim": self.ssim,
            "psnr": psnr_value,
            "content_distance": self.content_distance,
            "style_distance": self.style_distance,
            "style_by_layer": dict(self.style_by_layer),
        }


class FeatureDistances:
    """Content and style distances of images to a fixed content and style, on VGG-19 features.

    Args:
        content: (1, 3, H, W) content image in [0, 1]; images compared with it must have its size.
        style: (1, 3, H', W') style image in [0, 1].
        content_layers, style_layers: VGG-19 layer names.
        weights, pooling: as in :class:`impasto.GatysConfig`.
    """

    def __init__(
        self,
        content,
        style,
        *,
        content_layers: Sequence[str] = ("relu4_2",),
        style_layers: Sequence[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        weights: str = "embedded",
        pooling: str = "max",
    ) -> None:
        import torch

        from ..features.vgg import FeatureExtractor
        from ..losses.functional import content_targets, style_targets

        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        self.extractor = FeatureExtractor(
            [*self.content_layers, *self.style_layers], pooling=pooling, weights=weights
        ).to(content.device)
        self.hw = tuple(content.shape[-2:])
        with torch.no_grad():
            self.content_targets = content_targets(self.extractor(content), self.content_layers)
            self.style_targets = style_targets(self.extractor(style), self.style_layers, "chw")

    def features(self, image) -> dict:
        import torch

        with torch.no_grad():
            return self.extractor(image)

    def content_distance(self, feats: dict) -> float:
        from ..losses.functional import content_losses

        return sum(float(v) for v in content_losses(feats, self.content_targets, "mean").values())

    def style_by_layer(self, feats: dict) -> dict[str, float]:
        """The style distance's term at each style layer."""
        from ..losses.functional import style_losses

        return {k: float(v) for k, v in style_losses(feats, self.style_targets, "chw").items()}

    def style_distance(self, feats: dict) -> float:
        return sum(self.style_by_layer(feats).values())

    def breakdown(self, image) -> tuple[float, dict[str, float]]:
        """(content distance, the style distance by layer) of a (1, 3, H, W) image with the content's size."""
        if tuple(image.shape[-2:]) != self.hw:
            raise ValueError(f"image is {tuple(image.shape[-2:])}, the content {self.hw}: resize it first")
        feats = self.features(image)
        return self.content_distance(feats), self.style_by_layer(feats)

    def __call__(self, image) -> tuple[float, float]:
        """(content distance, style distance) of a (1, 3, H, W) image with the content's size."""
        content, by_layer = self.breakdown(image)
        return content, sum(by_layer.values())
