"""Colour control for style transfer (Gatys, Ecker, Bethge, Hertzmann & Shechtman 2017,
"Controlling Perceptual Factors in Neural Style Transfer", section 5).

Two ways to keep the photograph's colours:

* **luminance-only transfer**: style and content are reduced to their luminance
  (Y of YIQ); the style's luminance is shifted and scaled to the content's mean
  and standard deviation (the paper's eq. 1); the optimisation runs on the
  luminance replicated into three channels (VGG wants RGB); the result's
  luminance is then recombined with the content's I and Q channels.
* **colour histogram matching**: the style image's colours are transformed by an
  affine map ``x' = A (x - mu_s) + mu_c`` so that their mean and covariance equal
  the content's, before stylising. ``A = Sigma_c^(1/2) Sigma_s^(-1/2)`` with
  symmetric matrix square roots (the "3D colour matching" the paper takes from
  Image Analogies; the paper also mentions a Cholesky variant, which matches the
  same moments with a rotated ``A``).

Every function works on float (H, W, 3) RGB arrays in [0, 1] and returns float32.
Results are clipped to [0, 1], so out-of-gamut colours move slightly.
"""

from __future__ import annotations

import numpy as np

# FCC NTSC YIQ (1953 coefficients, as in Gatys et al. 2017); rows give Y, I, Q from R, G, B.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)
PRESERVE_COLOR = ("none", "luminance", "histogram")


def _check_rgb(name: str, image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3), got {image.shape}")
    return image.astype(np.float64)


def rgb_to_yiq(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W, 3) YIQ (Y in [0, 1], I in about +-0.6, Q in about +-0.52)."""
    return (_check_rgb("rgb", rgb) @ RGB_TO_YIQ.T).astype(np.float32)


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_yiq`; not clipped."""
    return (_check_rgb("yiq", yiq) @ YIQ_TO_RGB.T).astype(np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Y (Rec. 601 luma) of an (H, W, 3) RGB image -> (H, W) float32."""
    return (_check_rgb("rgb", rgb) @ RGB_TO_YIQ[0]).astype(np.float32)


def match_luminance(style_y: np.ndarray, content_y: np.ndarray) -> np.ndarray:
    """Gatys et al. 2017 eq. 1: ``(sigma_c / sigma_s) (L_s - mu_s) + mu_c``, clipped to [0, 1].

    A flat style (std 0) is moved to the content's mean.
    """
    s = np.asarray(style_y, dtype=np.float64)
    c = np.asarray(content_y, dtype=np.float64)
    scale = c.std() / s.std() if s.std() > 0 else 0.0
    return np.clip(scale * (s - s.mean()) + c.mean(), 0.0, 1.0).astype(np.float32)


def grey_rgb(y: np.ndarray) -> np.ndarray:
    """(H, W) luminance -> (H, W, 3) with Y in every channel (a grey image whose Y is ``y``)."""
    y = np.clip(np.asarray(y, dtype=np.float32), 0.0, 1.0)
    return np.repeat(y[..., None], 3, axis=2)


def luminance_only_inputs(content: np.ndarray, styles: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The grey images the optimisation runs on: the content's luminance, and each style's luminance
    matched to the content's mean and spread (eq. 1), each replicated into three channels."""
    content_y = luminance(content)
    return grey_rgb(content_y), [grey_rgb(match_luminance(luminance(s), content_y)) for s in styles]


def recombine_luminance(result: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The result's luminance with the content's I and Q channels, back in RGB, clipped to [0, 1].

    ``content`` must have the result's shape (resize it first).
    """
    result, content = _check_rgb("result", result), _check_rgb("content", content)
    if result.shape != content.shape:
        raise ValueError(f"result {result.shape} and content {content.shape} must have the same shape")
    yiq = content @ RGB_TO_YIQ.T
    yiq[..., 0] = result @ RGB_TO_YIQ[0]
    return np.clip(yiq @ YIQ_TO_RGB.T, 0.0, 1.0).astype(np.float32)


def _sqrtm_psd(cov: np.ndarray, power: float, eps: float) -> np.ndarray:
    """``cov ** power`` of a symmetric positive semi-definite 3x3 matrix (eigenvalues floored at ``eps``)."""
    values, vectors = np.linalg.eigh(cov)
    return (vectors * np.maximum(values, eps) ** power) @ vectors.T


def color_moments(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (3,) and covariance (3, 3) of the pixel colours (population covariance)."""
    x = _check_rgb("rgb", rgb).reshape(-1, 3)
    mean = x.mean(axis=0)
    centred = x - mean
    return mean, centred.T @ centred / len(x)


def match_color_histogram(style: np.ndarray, content: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Transform ``style``'s colours so their mean and covariance equal ``content``'s.

    ``x' = Sigma_c^(1/2) Sigma_s^(-1/2) (x - mu_s) + mu_c`` per pixel, then clipped to [0, 1]
    (the clipping is the only reason the moments can differ slightly afterwards).
    ``eps`` floors the eigenvalues so a style with (nearly) one colour does not blow up.
    """
    mu_s, cov_s = color_moments(style)
    mu_c, cov_c = color_moments(content)
    a = _sqrtm_psd(cov_c, 0.5, eps) @ _sqrtm_psd(cov_s, -0.5, eps)
    x = _check_rgb("style", style)
    out = (x - mu_s) @ a.T + mu_c
    return np.clip(out, 0.0, 1.0).astype(np.float32)
