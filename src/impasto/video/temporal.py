"""Gatys et al. on video with the short-term temporal loss of Ruder, Dosovitskiy & Brox (2016).

Frame 0 is stylised by the still-image engine (:func:`impasto.gatys.run`, with its memory plan and
coarse-to-fine levels). Every later frame t is started from the previous stylised frame warped into
place by the backward optical flow of the input frames, and optimised (one level, ``later_steps``
evaluations, fewer than the first frame's) against the Gatys objective
(:class:`~impasto.losses.perceptual.StyleTransferLoss`) plus

    L_temporal = temporal_weight * mean_x c_t(x) * |x_t(x) - warp(x_{t-1})(x)|^2

on the 0-255 scale (mean over pixels and channels, as Ruder et al.'s ``1/D sum``), where c_t is 1
on reliable pixels and 0 at disocclusions and motion boundaries
(:func:`impasto.video.flow.reliable_weights`). The objective is wrapped, not changed: the engine,
the losses and the optimisation loop are used as they are.

Departures from Ruder et al.: only the short-term loss (not the long-term or multi-pass variants);
frames after the first are optimised at the final size only. With ``temporal_weight`` 0 every frame
is an independent Gatys run (the per-frame baseline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import GatysConfig
from ..losses.terms import LossTerms
from .flow import FlowEstimator, flow_pair, grey

DEFAULT_TEMPORAL_WEIGHT = 1e3  # Ruder et al.'s artistic-videos default, with neural-style's weights 5 / 100


@dataclass
class TemporalTerms(LossTerms):
    """The Gatys terms plus the weighted temporal term."""

    temporal: Any = None

    @property
    def total(self) -> Any:
        return self.content + self.style + self.tv + self.temporal

    def as_floats(self) -> dict[str, float]:
        return {**super().as_floats(), "temporal": float(self.temporal.detach()), "total": float(self.total.detach())}


class TemporalObjective:
    """``objective(image) + temporal_weight * mean(c * (255 (image - warped))^2)``.

    Args:
        objective: the still-image objective (returns :class:`LossTerms`).
        warped: (1, 3, H, W) the previous stylised frame warped into this frame's place.
        weights: (1, 1, H, W) reliability c in [0, 1].
        temporal_weight: the term's weight.
    """

    def __init__(self, objective: Any, warped: Any, weights: Any, temporal_weight: float) -> None:
        self.objective, self.warped, self.weights, self.temporal_weight = objective, warped, weights, temporal_weight

    def __call__(self, image: Any) -> TemporalTerms:
        terms = self.objective(image)
        diff = (image - self.warped) * 255.0
        temporal = self.temporal_weight * (self.weights * diff * diff).mean()
        return TemporalTerms(terms.content, terms.style, terms.tv, temporal)


class TemporalGatys:
    """Stylise a stream of frames with Gatys et al. and the temporal loss; call once per frame in order.

    Args:
        cfg: a validated :class:`GatysConfig` (``image_size`` is set from each frame; ``steps`` is
            the first frame's budget).
        style: the style image, float32 (H, W, 3) in [0, 1].
        temporal_weight: weight of the temporal term; 0 = independent per-frame runs.
        later_steps: evaluations for frames after the first (default: half of ``cfg.steps``).
        preset: DIS flow preset.
    """

    def __init__(
        self,
        cfg: GatysConfig,
        style: np.ndarray,
        *,
        temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT,
        later_steps: int | None = None,
        preset: str = "medium",
    ) -> None:
        from ..errors import InputError

        if temporal_weight < 0:
            raise InputError(f"temporal_weight must be >= 0; got {temporal_weight}")
        if later_steps is not None and later_steps < 1:
            raise InputError(f"later_steps must be >= 1; got {later_steps}")
        if cfg.preserve_color != "none" or cfg.style_masks or cfg.init == "image":
            raise InputError("video with method gatys does not support preserve_color, style_masks or init image yet")
        self.cfg, self.style = cfg, style
        self.temporal_weight = float(temporal_weight)
        self.later_steps = later_steps if later_steps is not None else max(1, cfg.steps // 2)
        self.flow = FlowEstimator(preset) if temporal_weight > 0 else None
        self.previous_grey: np.ndarray | None = None
        self.previous_out: np.ndarray | None = None
        self._extractor: Any = None

    def reset(self, input_frame: np.ndarray, output_frame: np.ndarray) -> None:
        """Continue after ``input_frame`` whose output was ``output_frame`` (a resumed run)."""
        self.previous_grey, self.previous_out = grey(input_frame), output_frame.astype(np.float32)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Stylise the next (H, W, 3) float32 frame; returns the stylised frame, same size."""
        cfg = self.cfg.replace(image_size=max(frame.shape[:2]))
        if self.flow is None or self.previous_out is None or self.previous_grey is None:
            from ..gatys import run

            out = run(cfg, frame, self.style, None, None).array
        else:
            current_grey = grey(frame)
            pair = flow_pair(self.flow, self.previous_grey, current_grey)
            out = self._next(cfg, frame, pair.warp_previous(self.previous_out), pair.weights)
        if self.flow is not None:
            self.previous_grey, self.previous_out = grey(frame), out
        return out

    def _next(self, cfg: GatysConfig, frame: np.ndarray, warped: np.ndarray, weights: np.ndarray) -> np.ndarray:
        import torch

        from ..device import resolve_device, resolve_precision
        from ..losses.perceptual import StyleTransferLoss
        from ..optim.loop import optimize_image
        from ..transforms import resize_long_side, style_long_side, to_array, to_tensor

        device = resolve_device(cfg.device)
        precision = resolve_precision(cfg.precision, device)
        if self._extractor is None:
            from ..features.vgg import FeatureExtractor

            self._extractor = FeatureExtractor(
                [*cfg.content_layers, *cfg.style_layers],
                pooling=cfg.pooling,
                weights=cfg.weights,
                channels_last=device.type in ("cpu", "cuda"),
            ).to(device)
        content = to_tensor(frame, device)
        style = resize_long_side(to_tensor(self.style, device), style_long_side(cfg.image_size, cfg.style_scale))
        base = StyleTransferLoss.from_config(cfg, self._extractor, content, style, precision=precision)
        start = to_tensor(np.clip(warped, 0, 1), device)
        c = torch.from_numpy(np.ascontiguousarray(weights))[None, None].to(device)
        objective = TemporalObjective(base, start, c, self.temporal_weight)
        options = cfg.optimizer_options(lbfgs_history=min(cfg.lbfgs_history, self.later_steps))
        result, _ = optimize_image(start, objective, steps=self.later_steps, stage="temporal", **options)
        return to_array(result)
