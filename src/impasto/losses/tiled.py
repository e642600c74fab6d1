"""The Gatys objective on images too large for one VGG pass: overlapping tiles, global statistics.

A 4096 px image needs tens of GB of VGG activations for one backward pass. Here
the image is cut into tiles whose *cores* partition it; each tile is run with a
margin of context around its core, wide enough that the features of the core
are exactly those of the whole image (the receptive field of relu5_1 is 156 px,
so 78 px either side; the margin is 96 px and tile edges fall on multiples of
32, the stride of pool5, so poolings line up). Then:

* the style term needs the Gram matrix of the *whole* image at each layer. The
  Grams of the tile cores add up to it (``G = sum_t F_t F_t^T``), so a first,
  gradient-free pass over the tiles gives the global Grams, the loss, and the
  derivative ``D = dL/dG`` of the style term with respect to each Gram (a few
  small C x C matrices);
* the content term is a sum over feature positions, so it splits over cores;
* the gradient comes from a second pass, one tile at a time with autograd: the
  surrogate ``<D, F_t F_t^T> + content_t`` has the same gradient as the loss
  with respect to the tile's pixels, because the loss depends on each tile's
  features only through its share of the Gram sum. Summing the tiles' input
  gradients (margins included) gives the gradient of the whole image.

So the result is the same objective and the same gradient as an untiled pass
(up to float summation order): no seams to blend, and the style statistics are
global. The cost is one extra forward pass per evaluation plus the margins
(about 1.3-1.6x the untiled time); the memory is one tile's activations plus
image-sized buffers. The second pass runs only when a gradient is asked for, so
judging a result under ``torch.no_grad()`` costs one pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from ..features.layers import layer_hw, layer_stride
from ..tiles import ALIGN, MARGIN, Tile, tile_grid
from .functional import gram_distance, gram_matrix, masked_gram_matrix, normalise_gram
from .perceptual import StyleTransferLoss
from .terms import LossTerms


def _crop(t: Tensor, box: tuple[int, int, int, int]) -> Tensor:
    return t[..., box[0] : box[1], box[2] : box[3]]


def _core_in_tile(tile: Tile, stride: int) -> tuple[int, int, int, int]:
    """The core's box in the coordinates of the padded tile's features at ``stride``."""
    (y0, y1, x0, x1), (py, _, px, _) = tile.core, tile.padded
    return (y0 - py) // stride, (y1 - py) // stride, (x0 - px) // stride, (x1 - px) // stride


def _core_in_image(tile: Tile, stride: int) -> tuple[int, int, int, int]:
    """The core's box in the coordinates of the whole image's features at ``stride``."""
    return tuple(v // stride for v in tile.core)  # type: ignore[return-value]


class TiledStyleTransferLoss(StyleTransferLoss):
    """:class:`StyleTransferLoss` evaluated tile by tile; same arguments plus ``tile_size``.

    Calling it returns :class:`LossTerms` whose content and style terms are
    differentiable with respect to the image (the tiled second pass runs in
    their backward); the TV term is computed on the whole image as usual.
    """

    def __init__(self, *args: Any, tile_size: int, margin: int = MARGIN, **kwargs: Any) -> None:
        if tile_size < ALIGN:
            raise ValueError(f"tile_size must be at least {ALIGN}; got {tile_size}")
        object.__setattr__(self, "tile_size", int(tile_size))
        object.__setattr__(self, "margin", int(margin))
        super().__init__(*args, **kwargs)

    # -- targets, computed tile by tile --------------------------------------------------------

    def _tiles(self, image: Tensor) -> list[Tile]:
        return tile_grid(image.shape[-2], image.shape[-1], self.tile_size, self.margin)

    def _core_features(self, patch: Tensor, tile: Tile) -> dict[str, Tensor]:
        """Features of a padded tile, cropped to its core."""
        return {k: _crop(f, _core_in_tile(tile, layer_stride(k))) for k, f in self.features(patch).items()}

    def _features_by_tile(self, image: Tensor) -> Iterator[tuple[Tile, dict[str, Tensor]]]:
        """Each tile of ``image`` with the features of its core."""
        for tile in self._tiles(image):
            yield tile, self._core_features(_crop(image, tile.padded), tile)

    def _content_targets(self, content: Tensor) -> dict[str, Tensor]:
        hw = (content.shape[-2], content.shape[-1])
        targets: dict[str, Tensor] = {}
        for tile, feats in self._features_by_tile(content):
            for k in self.content_layers:
                if k not in targets:
                    targets[k] = content.new_zeros((1, feats[k].shape[1], *layer_hw(hw, k)))
                _crop(targets[k], _core_in_image(tile, layer_stride(k))).copy_(feats[k].float())
        return targets

    def _style_grams(self, style: Tensor) -> dict[str, Tensor]:
        hw = (style.shape[-2], style.shape[-1])
        raw: dict[str, Tensor] = {}
        for _, feats in self._features_by_tile(style):
            for k in self.style_layers:
                g = gram_matrix(feats[k], "none")
                raw[k] = g if k not in raw else raw[k] + g
        return {k: normalise_gram(g, self.gram_norm, math.prod(layer_hw(hw, k))) for k, g in raw.items()}

    def _content_scale(self, target: Tensor) -> float:
        """The factor that turns a sum of squared content errors into the configured reduction."""
        return {"mean": 1.0 / target.numel(), "sum": 1.0, "paper": 0.5}[self.content_reduction]

    # -- the loss and its gradient ---------------------------------------------------------------

    def forward(self, image: Tensor) -> LossTerms:
        if image.shape[0] != 1:
            raise ValueError(f"tiled evaluation takes one image at a time; got a batch of {image.shape[0]}")
        content, style = _TiledTerms.apply(image, self)
        return LossTerms(content, style, self._tv_term(image))

    def _tile_terms(self, patch: Tensor, tile: Tile) -> tuple[Tensor, list[dict[str, Tensor]]]:
        """One tile's share: the (unweighted) sum of squared content errors per layer, and per style
        the raw (masked) Gram of its core per layer."""
        feats = self._core_features(patch, tile)
        sq = {
            k: (feats[k].float() - _crop(self.content_targets[k], _core_in_image(tile, layer_stride(k)))).pow(2).sum()
            for k in self.content_layers
        }
        plain: dict[str, Tensor] = {}
        grams = []
        for masks in self.style_masks:
            per_layer = {}
            for k in self.style_layers:
                if masks is None:
                    if k not in plain:
                        plain[k] = gram_matrix(feats[k], "none")
                    per_layer[k] = plain[k]
                else:
                    mask = _crop(masks[k], _core_in_image(tile, layer_stride(k)))
                    per_layer[k] = masked_gram_matrix(feats[k], mask, "none")
            grams.append(per_layer)
        return sq, grams

    def _values(self, image: Tensor) -> tuple[Tensor, Tensor, list[dict[str, Tensor]]]:
        """Pass 1: the weighted content and style terms, and d(style term)/d(raw Gram) per style and layer."""
        sq_sum: dict[str, Tensor] = {}
        gram_sum: list[dict[str, Tensor]] = [{} for _ in self.style_masks]
        with torch.no_grad():
            for tile in self._tiles(image):
                sq, grams = self._tile_terms(_crop(image, tile.padded), tile)
                for k, v in sq.items():
                    sq_sum[k] = v if k not in sq_sum else sq_sum[k] + v
                for total, per_layer in zip(gram_sum, grams):
                    for k, g in per_layer.items():
                        total[k] = g if k not in total else total[k] + g
        zero = image.new_zeros((), dtype=torch.float32)
        content = sum(
            (w * self._content_scale(self.content_targets[k]) * sq_sum[k] for k, w in self.content_layers.items()), zero
        )
        leaves = [{k: g.detach().requires_grad_(True) for k, g in per_layer.items()} for per_layer in gram_sum]
        with torch.enable_grad():
            style = zero
            for blend, raw, targets, masks in zip(self.style_blend, leaves, self.style_grams, self.style_masks):
                term = zero
                for k, w in self.style_layers.items():
                    count = layer_hw(tuple(image.shape[-2:]), k)
                    area = math.prod(count) if masks is None else float(masks[k].sum())
                    gram = normalise_gram(raw[k], self.gram_norm, max(area, torch.finfo(torch.float32).tiny))
                    term = term + w * gram_distance(gram, targets[k], self.gram_norm)
                style = term if len(self.style_grams) == 1 else style + blend * term
            style = self.style_weight * style
            flat = [g for per_layer in leaves for g in per_layer.values()]
            dgrams = torch.autograd.grad(style, flat) if flat and style.requires_grad else []
        it = iter(dgrams)
        dstyle = [{k: next(it) for k in per_layer} for per_layer in leaves] if dgrams else []
        return self.content_weight * content.detach(), style.detach(), dstyle

    def _gradient(self, image: Tensor, g_content: Tensor, g_style: Tensor, dstyle: list[dict[str, Tensor]]) -> Tensor:
        """Pass 2: the gradient of ``g_content * content + g_style * style`` with respect to ``image``."""
        grad = torch.zeros_like(image)
        content_coef = {
            k: float(g_content) * self.content_weight * w * self._content_scale(self.content_targets[k])
            for k, w in self.content_layers.items()
        }
        for tile in self._tiles(image):
            patch = _crop(image, tile.padded).detach().requires_grad_(True)
            with torch.enable_grad():
                sq, grams = self._tile_terms(patch, tile)
                surrogate = sum((content_coef[k] * v for k, v in sq.items()), patch.new_zeros(()))
                for per_layer, d in zip(grams, dstyle):
                    for k, g in per_layer.items():
                        surrogate = surrogate + float(g_style) * (d[k] * g).sum()
                if surrogate.requires_grad:
                    (tile_grad,) = torch.autograd.grad(surrogate, patch)
                    _crop(grad, tile.padded).add_(tile_grad)
        return grad


class _TiledTerms(torch.autograd.Function):
    """(image) -> (content term, style term); the forward is pass 1, the backward pass 2."""

    @staticmethod
    def forward(ctx: Any, image: Tensor, loss: TiledStyleTransferLoss) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        content, style, dstyle = loss._values(image.detach())
        ctx.loss, ctx.dstyle = loss, dstyle
        ctx.save_for_backward(image)
        return content, style

    @staticmethod
    def backward(ctx: Any, g_content: Tensor, g_style: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (image,) = ctx.saved_tensors
        return ctx.loss._gradient(image.detach(), g_content, g_style, ctx.dstyle), None
