"""StyleAugment: random stylisation of training images, as a batch transform (``torch.nn.Module``).

Two sources of style:

* **paintings** (Geirhos et al. 2019, Stylized-ImageNet; the default): each restyled image gets a
  painting drawn at random from a set (the gallery, a folder, or a list of files / gallery
  names); the universal cascade (:mod:`impasto.universal`, WCT or multi-level AdaIN) transfers it,
  blended with the image's own features by the strength alpha (Li et al. eq. 4).
* **random statistics** (Jackson et al. 2019, "Style Augmentation"; ``styles="prior"``): each
  image gets a vector of VGG channel means and log stds drawn from a multivariate normal fitted
  to paintings (:mod:`.stats`); the image's own statistics and the drawn ones are interpolated by
  alpha (Jackson et al. interpolate the style embedding the same way) and transferred by AdaIN
  at every level. The prior holds no covariances, so this source is AdaIN only.

Each image is restyled with probability ``p``; alpha is uniform in ``strength = (lo, hi)``. All
random draws happen on ``generator`` (or torch's global generator, which ``DataLoader`` seeds per
worker), the same number of draws per batch whatever ``p``, so a seeded generator gives the
same batch on every run and device. VGG and the decoders run under ``torch.no_grad`` (nothing
is kept for backward) in float32; the result has the input's dtype and device.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import torch
from torch import Tensor, nn

from ..config.base import PRECISIONS
from ..errors import InputError
from ..nets.decoder import LEVELS, VGGDecoder
from ..universal.transforms import FeatureStats, adain, feature_stats, wct
from .stats import StylePrior, load_prior

log = logging.getLogger(__name__)

METHODS = ("adain", "wct")
StyleSource = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]
DecodersArg = Union[None, str, "os.PathLike[str]", Mapping[str, VGGDecoder]]


@dataclass(frozen=True)
class AugmentPlan:
    """The random choices for one batch of ``n`` images (CPU tensors).

    ``apply`` (n,) bool: restyle this image; ``style`` (n,) painting index (paintings source);
    ``strength`` (n,) alpha; ``vectors`` (n, D) drawn statistics (prior source) or None.
    """

    apply: Tensor
    style: Tensor
    strength: Tensor
    vectors: Tensor | None


def style_files(styles: StyleSource) -> list[tuple[str, Path]]:
    """(name, path) of each painting of ``styles``: ``"gallery"``, a folder, a file, a gallery name, or a list."""
    from ..gallery import is_style_name, list_styles, resolve_style
    from ..io.files import list_images

    if isinstance(styles, (str, os.PathLike)):
        if str(styles) == "gallery":
            return [(name, resolve_style(name)) for name in list_styles()]
        items: Sequence[str | os.PathLike[str]] = [styles]
    else:
        items = list(styles)
    out: list[tuple[str, Path]] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            out += [(p.name, p) for p in list_images(path)]
        elif path.is_file():
            out.append((path.name, path))
        elif isinstance(item, str) and is_style_name(item):
            out.append((item, resolve_style(item)))
        else:
            raise InputError(f"style not found: {item} (give 'gallery', 'prior', a folder, files or gallery names)")
    if not out:
        raise InputError("no style images given")
    return out


def resolve_decoders(decoders: DecodersArg, levels: Sequence[str] | None) -> dict[str, VGGDecoder]:
    """The decoders of ``levels`` (default: every level found) from a folder, a mapping, or the shipped set."""
    from ..universal.decoders import decoder_folder, decoder_path, load_decoder_set

    if isinstance(decoders, (Mapping, nn.ModuleDict)):  # a ModuleDict is not a Mapping
        found = dict(decoders.items())
        wanted = list(levels) if levels is not None else list(found)
        missing = [lv for lv in wanted if lv not in found]
        if missing:
            raise InputError(f"no decoder for {', '.join(missing)}; have {', '.join(sorted(found)) or 'none'}")
        return {lv: found[lv].eval().requires_grad_(False) for lv in wanted}
    if levels is None:
        base = decoder_folder(decoders)
        levels = [lv for lv in LEVELS if base.is_dir() and decoder_path(base, lv) is not None]
        if not levels:
            where = "no decoders are shipped in this installation" if decoders is None else f"no decoders in {base}"
            raise InputError(
                f"{where}; pass decoders=FOLDER (--decoders) holding relu1_1.pt ... or "
                "relu1_1/checkpoint.pt ... ('impasto decoders train')"
            )
    return load_decoder_set(levels, decoders)


def strength_range(strength: float | tuple[float, float]) -> tuple[float, float]:
    lo, hi = (strength, strength) if isinstance(strength, (int, float)) else tuple(strength)
    if not (0.0 <= lo <= hi <= 1.0):
        raise InputError(f"strength must be a number or a (low, high) range within [0, 1]; got {strength}")
    return float(lo), float(hi)


class _LevelBank(nn.Module):
    """Statistics of every painting at one level, as buffers (so ``.to(device)`` moves them)."""

    def __init__(self, stats: Sequence[FeatureStats], covariance: bool) -> None:
        super().__init__()
        self.register_buffer("mean", torch.stack([s.mean.double() for s in stats]))
        self.register_buffer("std", torch.stack([s.std.double() for s in stats]))
        self.covariance = covariance
        if covariance:
            self.register_buffer("eigvecs", torch.stack([s.eigvecs.double() for s in stats]))  # type: ignore[union-attr]
            self.register_buffer("eigvals", torch.stack([s.eigvals.double() for s in stats]))  # type: ignore[union-attr]

    def get(self, i: int) -> FeatureStats:
        vecs = self.eigvecs[i].double() if self.covariance else None
        vals = self.eigvals[i].double() if self.covariance else None
        return FeatureStats(self.mean[i].double(), vecs, vals, self.std[i].double())


class StyleAugment(nn.Module):
    """Restyle each image of a batch with probability ``p``: a random painting, or random style statistics.

    Args:
        styles: ``"gallery"`` (the six shipped paintings), a folder, files or gallery names, or
            ``"prior"`` for statistics drawn from :class:`~impasto.augment.stats.StylePrior`.
        p: probability that an image is restyled.
        strength: alpha, or a ``(low, high)`` range it is drawn from uniformly; within [0, 1].
        method: ``"adain"`` or ``"wct"`` (paintings only).
        prior: with ``styles="prior"``: a :class:`StylePrior` or its file (default: the gallery's, shipped).
        levels: decoder levels of the cascade (default: every level of ``decoders``).
        decoders: None (the shipped fp16 decoders), a folder of ``<level>.pt`` or ``<level>/checkpoint.pt``,
            or a mapping level -> :class:`~impasto.nets.decoder.VGGDecoder`.
        style_size: long side the paintings are resized to before their statistics are taken.
        weights: VGG-19 weights of the encoder (``"embedded"``).
        precision: ``"fp32"`` (the default: the same pixels on every machine), ``"bf16"`` (autocast of
            VGG and the decoders; statistics and transforms stay float64) or ``"auto"`` (bf16 where the
            batch's device runs it natively and faster, as for every method). int8 is the one-pass
            methods' only: its prepacked weights neither pickle into workers nor move to a GPU.

    Shape:
        (B, 3, H, W) or (3, H, W) float in [0, 1] -> the same shape, dtype and device.

    Example:
        >>> aug = StyleAugment("gallery", p=0.5, strength=(0.5, 1.0), decoders="decoders/")  # doctest: +SKIP
        >>> out = aug(batch, generator=torch.Generator().manual_seed(0))                    # doctest: +SKIP
    """

    def __init__(
        self,
        styles: StyleSource = "gallery",
        *,
        p: float = 0.5,
        strength: float | tuple[float, float] = (0.5, 1.0),
        method: str = "adain",
        prior: StylePrior | str | os.PathLike[str] | None = None,
        levels: Sequence[str] | None = None,
        decoders: DecodersArg = None,
        style_size: int = 256,
        weights: str = "embedded",
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        from ..universal.cascade import Encoder

        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; choose adain or wct")
        if not 0.0 <= p <= 1.0:
            raise InputError(f"p (the probability of restyling an image) must be within [0, 1]; got {p}")
        if style_size < 16:
            raise InputError(f"style_size must be at least 16 px; got {style_size}")
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
        self.precision = precision
        self.p, self.method, self.strength = float(p), method, strength_range(strength)
        self.use_prior = isinstance(styles, str) and styles == "prior"
        if self.use_prior and method != "adain":
            raise InputError("random style statistics (styles='prior') hold means and stds only: use method='adain'")
        self.decoders = nn.ModuleDict(resolve_decoders(decoders, levels))
        self.order = sorted(self.decoders, key=LEVELS.index, reverse=True)  # deepest first
        self.encoder = Encoder(self.order[0], weights=weights)
        self.encoder.requires_grad_(False).eval()
        self.style_names: list[str] = []
        self.prior: StylePrior | None = None
        if self.use_prior:
            self.prior = prior if isinstance(prior, StylePrior) else load_prior(prior)
            missing = [lv for lv in self.order if lv not in self.prior.levels]
            if missing:
                raise InputError(
                    f"the style prior has no statistics for {', '.join(missing)}; "
                    f"it covers {', '.join(self.prior.levels)}"
                )
        else:
            self.banks = nn.ModuleDict(self._painting_banks(style_files(styles), style_size))

    def _painting_banks(self, files: list[tuple[str, Path]], style_size: int) -> dict[str, _LevelBank]:
        from ..io import read_image
        from ..transforms import resize_long_side, to_tensor
        from ..universal.cascade import check_size

        stats: dict[str, list[FeatureStats]] = {lv: [] for lv in self.order}
        for name, path in files:
            image = resize_long_side(to_tensor(read_image(path)), style_size)
            check_size(f"style {name} at style_size {style_size}", image, self.order)
            feats = self.encoder.encode(image, self.order)
            for lv in self.order:
                stats[lv].append(feature_stats(feats[lv], covariance=self.method == "wct"))
            self.style_names.append(name)
        return {lv: _LevelBank(s, self.method == "wct") for lv, s in stats.items()}

    @property
    def num_styles(self) -> int:
        return len(self.style_names)

    def extra_repr(self) -> str:
        source = "prior" if self.use_prior else f"{self.num_styles} paintings"
        return f"{source}, p={self.p}, strength={self.strength}, method={self.method}, levels={self.order}"

    def draw(self, n: int, generator: torch.Generator | None = None) -> AugmentPlan:
        """The random choices for ``n`` images (always the same draws in the same order, whatever ``p``)."""
        dev = generator.device if generator is not None else torch.device("cpu")
        apply = torch.rand(n, generator=generator, device=dev).cpu() < self.p
        style = torch.randint(max(self.num_styles, 1), (n,), generator=generator, device=dev).cpu()
        lo, hi = self.strength
        strength = lo + (hi - lo) * torch.rand(n, generator=generator, device=dev).cpu()
        vectors = self.prior.sample(n, generator) if self.prior is not None else None
        return AugmentPlan(apply, style, strength, vectors)

    def forward(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Restyle the images of ``images`` chosen with probability ``p``; the others are returned unchanged."""
        batch = self.check_batch(images)
        plan = self.draw(batch.shape[0], generator)
        out = self.restyle(batch, plan)
        return out[0] if images.dim() == 3 else out

    def check_batch(self, images: Tensor) -> Tensor:
        """``images`` as (B, 3, H, W), or a one-line error for the wrong type, shape, dtype or size."""
        from ..universal.cascade import check_size

        if not isinstance(images, Tensor):
            raise InputError(f"StyleAugment takes a torch.Tensor (B, 3, H, W) in [0, 1]; got {type(images).__name__}")
        if images.dim() not in (3, 4) or images.shape[-3] != 3:
            raise InputError(
                f"StyleAugment takes RGB images (B, 3, H, W) or (3, H, W); got shape {tuple(images.shape)}"
            )
        if not images.is_floating_point():
            raise InputError(
                f"StyleAugment takes float images in [0, 1]; got dtype {images.dtype} "
                "(convert with images.float() / 255)"
            )
        batch = images if images.dim() == 4 else images[None]
        check_size("each image", batch, self.order)
        return batch

    def restyle(self, images: Tensor, plan: AugmentPlan) -> Tensor:
        """``images`` (B, 3, H, W) with the images ``plan.apply`` selects restyled (a new tensor)."""
        chosen = plan.apply.nonzero().flatten()
        if len(chosen) == 0:
            return images.clone()
        vectors = plan.vectors[chosen] if plan.vectors is not None else None
        index = chosen.to(images.device)
        styled = self.stylize(images[index], plan.style[chosen].tolist(), plan.strength[chosen].tolist(), vectors)
        out = images.clone()
        out[index] = styled
        return out

    def stylize(
        self, images: Tensor, styles: Sequence[int], strengths: Sequence[float], vectors: Tensor | None = None
    ) -> Tensor:
        """Every image of ``images`` (B, 3, H, W) restyled: painting ``styles[i]`` (or ``vectors[i]``) at
        ``strengths[i]``. The cascade runs batched; each image's features are transformed on their own."""
        self._follow(images.device)
        if vectors is None and self.use_prior:
            raise InputError("this StyleAugment draws statistics from its prior: pass vectors")
        if vectors is None and any(not 0 <= s < self.num_styles for s in styles):
            raise InputError(f"style indices must be within 0 ... {self.num_styles - 1}; got {list(styles)}")
        x = images.float()
        size = (int(x.shape[-2]), int(x.shape[-1]))
        levels = self.prior.split(vectors.to(x.device)) if vectors is not None and self.prior else None
        bf16 = self.resolved_precision(x.device) == "bf16"
        self.encoder.precision = "bf16" if bf16 else "fp32"  # the encoder's autocast follows it
        with torch.no_grad():
            for level in self.order:
                feats = self.encoder.encode(x, [level])[level]
                mixed = []
                for i in range(feats.shape[0]):
                    alpha = float(strengths[i])
                    if levels is not None:
                        mean, log_std = levels[level]
                        mixed.append(_adain_towards(feats[i], mean[i], log_std[i], alpha))
                    else:
                        transform = wct if self.method == "wct" else adain
                        mixed.append(transform(feats[i], self.banks[level].get(int(styles[i])), strength=alpha))
                with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
                    x = self.decoders[level](torch.stack(mixed), size=size).float().clamp(0, 1)
        return x.to(images.dtype)

    def resolved_precision(self, device: torch.device) -> str:
        """``fp32`` or ``bf16``: what :attr:`precision` means on ``device`` (``auto`` asks
        :func:`impasto.device.resolve_precision`, which times bf16 once per machine)."""
        if self.precision != "auto":
            return self.precision
        from ..device import resolve_precision

        return resolve_precision("auto", device)

    def _follow(self, device: torch.device) -> None:
        """Move to the batch's device if needed (a transform may meet CPU batches in a worker, GPU ones later)."""
        current = next(self.encoder.parameters()).device
        if current != device:
            log.debug("StyleAugment moves from %s to %s", current, device)
            self.to(device)


def _adain_towards(feats: Tensor, mean: Tensor, log_std: Tensor, alpha: float) -> Tensor:
    """AdaIN of (C, h, w) ``feats`` towards the statistics interpolated between their own and the drawn ones."""
    own = feature_stats(feats, covariance=False)
    # a ReLU's channel means are never negative; the normal's draws can be, for channels near zero
    target_mean = alpha * mean.double().clamp_min(0)[:, None] + (1 - alpha) * own.mean
    target_std = (alpha * log_std.double()[:, None] + (1 - alpha) * own.std.log()).exp()
    return adain(feats, FeatureStats(target_mean, None, None, target_std))
