"""Starting images for the optimisation: noise, the content, the style or a given image."""

from __future__ import annotations

import torch
from torch import Tensor

from ..transforms import resize


def initial_image(
    kind: str,
    content: Tensor,
    style: Tensor,
    *,
    noise_std: float = 0.25,
    generator: torch.Generator | None = None,
    image: Tensor | None = None,
) -> Tensor:
    """The first iterate, shaped like ``content``.

    ``noise``: the content's mean colour plus white Gaussian noise of ``noise_std``
    (Gatys et al. start from white noise; centring it on the mean colour keeps
    the first steps from spending effort on the global tint). The noise is drawn
    on the CPU so a seed gives the same start on every device.
    """
    if kind == "content":
        return content.clone()
    if kind == "style":
        return resize(style, tuple(content.shape[-2:]))
    if kind == "image":
        if image is None:
            raise ValueError("init 'image' needs an image")
        return resize(image.to(content.device), tuple(content.shape[-2:]))
    if kind == "noise":
        noise = torch.randn(content.shape, generator=generator, dtype=torch.float32).to(content.device)
        return (content.mean(dim=(2, 3), keepdim=True) + noise_std * noise).clamp(0, 1)
    raise ValueError(f"unknown init {kind!r}")
