"""The Gatys et al. objective: alpha * content + beta * style + tv_weight * TV.

``StyleTransferLoss`` holds a frozen VGG-19 feature extractor and the targets
(content features, style Gram matrices), computed once at construction. Calling
it on an image returns the weighted terms as :class:`LossTerms`.

Departures from the 2016 paper, by default (each configurable): the Gram and
content errors use neural-style's normalisation (Gram / (C*H*W), mean squared
error) so the weights 5 / 100 of neural-style mean the same here; TV is taken
on the 0-255 image as in neural-style.

Perceptual control (Gatys et al. 2017): several style images, each with a
blend weight (normalised to sum 1, as neural-style's ``style_blend_weights``)
and optionally a spatial mask. The style term is the weighted sum of each
style's term, ``sum_s w_s sum_l w_l E_l(s)``. Without masks its gradient equals
neural-style's loss against the blended target ``sum_s w_s A_s`` (the two differ
by a constant); with masks each style only sees its own region (masked Gram
matrices, the mask area-averaged down to each layer), and a region that no
mask covers keeps only the content (and TV) terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ..features.layers import layer_hw
from ..features.vgg import FeatureExtractor
from .functional import content_loss, gram_target, resize_mask, style_loss, tv_loss
from .terms import LossTerms

if TYPE_CHECKING:
    from ..config import GatysConfig

__all__ = ["LossTerms", "StyleTransferLoss", "blend_weights"]


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
        style: Tensor | Sequence[Tensor],
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
        style_blend_weights: Sequence[float] | None = None,
        style_masks: Sequence[Tensor | None] | None = None,
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
        styles = [style] if isinstance(style, Tensor) else list(style)
        if self.style_layers and not styles:
            raise ValueError("style layers are set but no style image was given")
        self.style_blend = blend_weights(len(styles), style_blend_weights)
        masks = list(style_masks) if style_masks is not None else [None] * len(styles)
        if len(masks) != len(styles):
            raise ValueError(f"{len(masks)} style masks for {len(styles)} styles")
        with torch.no_grad():
            self.content_targets = self._content_targets(content) if self.content_layers else {}
            # one dict of target Grams per style, and their blend (neural-style's targets; one style: its own Grams)
            self.style_grams = [self._style_grams(s) for s in styles] if self.style_layers else []
        if len(self.style_grams) == 1:
            self.style_targets = self.style_grams[0]
        else:
            self.style_targets = {
                k: sum(w * g[k] for w, g in zip(self.style_blend, self.style_grams)) for k in self.style_layers
            }
        # per style: None (the whole image) or {layer: mask at that layer's size}
        self.style_masks: list[dict[str, Tensor] | None] = []
        for i, mask in enumerate(masks):
            if mask is None:
                self.style_masks.append(None)
                continue
            if mask.ndim != 4 or mask.shape[:2] != (1, 1) or mask.shape[-2:] != content.shape[-2:]:
                raise ValueError(
                    f"style mask {i + 1} must have shape (1, 1, {content.shape[-2]}, "
                    f"{content.shape[-1]}) like the content; got {tuple(mask.shape)}"
                )
            hw = (content.shape[-2], content.shape[-1])
            self.style_masks.append({k: resize_mask(mask.float(), layer_hw(hw, k)) for k in self.style_layers})

    @classmethod
    def from_config(
        cls,
        cfg: GatysConfig,
        extractor: FeatureExtractor,
        content: Tensor,
        style: Tensor | Sequence[Tensor],
        precision: str = "fp32",
        style_masks: Sequence[Tensor | None] | None = None,
        **extra: Any,
    ) -> StyleTransferLoss:
        """The objective of ``cfg`` (:meth:`GatysConfig.loss_options`) against these targets."""
        return cls(
            extractor, content, style, precision=precision, style_masks=style_masks, **cfg.loss_options(), **extra
        )

    def _content_targets(self, content: Tensor) -> dict[str, Tensor]:
        """Content features at the content layers (float32), the content term's targets."""
        feats = self.features(content)
        return {k: feats[k].detach().float() for k in self.content_layers}

    def _style_grams(self, style: Tensor) -> dict[str, Tensor]:
        """Normalised Gram matrices of one style image at the style layers, the style term's targets."""
        feats = self.features(style)
        return {k: gram_target(feats[k].detach(), self.gram_norm) for k in self.style_layers}

    def features(self, image: Tensor) -> dict[str, Tensor]:
        """VGG features, under bf16 autocast when asked (Gram matrices and loss sums stay fp32)."""
        with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return self.extractor(image)

    def forward(self, image: Tensor) -> LossTerms:
        feats = self.features(image)
        zero = image.new_zeros(())
        content = sum(
            (
                w * content_loss(feats[k].float(), self.content_targets[k], self.content_reduction)
                for k, w in self.content_layers.items()
            ),
            zero,
        )
        style = zero
        for blend, grams, masks in zip(self.style_blend, self.style_grams, self.style_masks):
            term = sum(
                (
                    w * style_loss(feats[k], grams[k], self.gram_norm, None if masks is None else masks[k])
                    for k, w in self.style_layers.items()
                ),
                zero,
            )
            style = term if len(self.style_grams) == 1 else style + blend * term
        return LossTerms(self.content_weight * content, self.style_weight * style, self._tv_term(image))

    def _tv_term(self, image: Tensor) -> Tensor:
        """The weighted TV term, on the 0-255 image (as neural-style)."""
        if not self.tv_weight:
            return image.new_zeros(())
        return self.tv_weight * tv_loss(image * 255.0, self.tv_kind, self.tv_beta, reduction="sum")


def blend_weights(n_styles: int, weights: Sequence[float] | None) -> list[float]:
    """Blend weights of ``n_styles`` styles normalised to sum 1 (equal when ``weights`` is None)."""
    if weights is None:
        return [1.0 / n_styles] * n_styles if n_styles else []
    if len(weights) != n_styles:
        raise ValueError(f"{len(weights)} style blend weights for {n_styles} styles")
    total = float(sum(weights))
    if any(w < 0 for w in weights) or not total > 0:
        raise ValueError(f"style blend weights must be >= 0 with a positive sum; got {list(weights)}")
    return [float(w) / total for w in weights]
