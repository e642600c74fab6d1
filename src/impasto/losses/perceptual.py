"""The Gatys et al. objective: alpha * content + beta * style + tv_weight * TV.

``StyleTransferLoss`` holds a frozen VGG-19 feature extractor and the targets
(content features, style Gram matrices), computed once at construction. Calling
it on an image returns the weighted terms as :class:`LossTerms`.

Departures from the 2016 paper, by default (each configurable): the Gram and
content errors use neural-style's normalisation (Gram / (C*H*W), mean squared
error) so the weights 5 / 100 of neural-style mean the same here; TV is taken
on the 0-255 image as in neural-style.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from ..config import GatysConfig
from ..features.vgg import FeatureExtractor
from .functional import content_loss, gram_target, style_loss, tv_loss


@dataclass
class LossTerms:
    """Weighted loss terms of one evaluation (scalars)."""

    content: Tensor
    style: Tensor
    tv: Tensor

    @property
    def total(self) -> Tensor:
        return self.content + self.style + self.tv

    def as_floats(self) -> dict[str, float]:
        terms = {"content": self.content, "style": self.style, "tv": self.tv, "total": self.total}
        return {k: float(v.detach()) for k, v in terms.items()}


def _weights(layers: Sequence[str], weights: Sequence[float] | None) -> dict[str, float]:
    return dict(zip(layers, weights if weights is not None else [1.0] * len(layers)))


class StyleTransferLoss(nn.Module):
    """Content, style and TV terms against fixed targets.

    Args:
        extractor: VGG feature extractor covering every content and style layer.
        content: content image (1, 3, H, W) in [0, 1].
        style: style image (1, 3, H', W') in [0, 1]; its size may differ from the content's.
    """

    def __init__(
        self,
        extractor: FeatureExtractor,
        content: Tensor,
        style: Tensor,
        *,
        content_layers: Sequence[str] = ("relu4_2",),
        content_layer_weights: Sequence[float] | None = None,
        style_layers: Sequence[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        style_layer_weights: Sequence[float] | None = None,
        content_weight: float = 5.0,
        style_weight: float = 100.0,
        tv_weight: float = 1e-3,
        tv_kind: str = "l2",
        tv_beta: float = 2.0,
        gram_norm: str = "chw",
        content_reduction: str = "mean",
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        self.extractor = extractor
        self.content_layers = _weights(content_layers, content_layer_weights)
        self.style_layers = _weights(style_layers, style_layer_weights)
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        self.tv_kind, self.tv_beta = tv_kind, tv_beta
        self.gram_norm, self.content_reduction = gram_norm, content_reduction
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16; got {precision!r}")
        self.precision = precision
        missing = (set(self.content_layers) | set(self.style_layers)) - set(extractor.layers)
        if missing:
            raise ValueError(f"extractor lacks layers {sorted(missing)}")
        with torch.no_grad():
            content_feats = self.features(content)
            style_feats = self.features(style)
        self.content_targets = {k: content_feats[k].detach().float() for k in self.content_layers}
        self.style_targets = {k: gram_target(style_feats[k].detach(), gram_norm) for k in self.style_layers}

    @classmethod
    def from_config(cls, cfg: GatysConfig, extractor: FeatureExtractor, content: Tensor, style: Tensor,
                    precision: str = "fp32") -> "StyleTransferLoss":
        return cls(
            extractor, content, style,
            content_layers=cfg.content_layers, content_layer_weights=cfg.content_layer_weights,
            style_layers=cfg.style_layers, style_layer_weights=cfg.style_layer_weights,
            content_weight=cfg.content_weight, style_weight=cfg.style_weight, tv_weight=cfg.tv_weight,
            tv_kind=cfg.tv_kind, tv_beta=cfg.tv_beta, gram_norm=cfg.gram_norm, content_reduction=cfg.content_reduction,
            precision=precision,
        )

    def features(self, image: Tensor) -> dict[str, Tensor]:
        """VGG features, under bf16 autocast when asked (Gram matrices and loss sums stay fp32)."""
        with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return self.extractor(image)

    def forward(self, image: Tensor) -> LossTerms:
        feats = self.features(image)
        zero = image.new_zeros(())
        content = sum(
            (w * content_loss(feats[k].float(), self.content_targets[k], self.content_reduction)
             for k, w in self.content_layers.items()), zero)
        style = sum(
            (w * style_loss(feats[k], self.style_targets[k], self.gram_norm) for k, w in self.style_layers.items()),
            zero)
        tv = tv_loss(image * 255.0, self.tv_kind, self.tv_beta, reduction="sum") if self.tv_weight else zero
        return LossTerms(self.content_weight * content, self.style_weight * style, self.tv_weight * tv)
