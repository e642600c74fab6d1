"""The style-statistics prior of style augmentation: a multivariate normal over paintings' VGG statistics.

Jackson et al. 2019 ("Style Augmentation") draw a style embedding from a multivariate normal
fitted to the embeddings of ~79,000 paintings. impasto has no embedding network; the analogue
used here is the vector of VGG-19 channel statistics that AdaIN transfers: for each level
``reluN_1`` the channel means and log standard deviations, concatenated over the levels
(``D = 2 * sum(C)``; 1920 numbers for relu1_1 ... relu4_1). A drawn vector is a complete
AdaIN target for the cascade, consistent across levels because the levels are drawn jointly.

Departures from the paper, because a handful of paintings gives far fewer samples than
dimensions:

* samples are the statistics of many random crops of each painting, at random scales (the
  within-painting spread), not one vector per painting;
* the covariance is low rank plus diagonal: the ``rank`` leading principal directions of the
  samples, scaled by their standard deviations, and each dimension's remaining variance on the
  diagonal (a full ``D x D`` covariance from a few hundred correlated samples would be singular),
  so every dimension keeps the samples' own variance.

:func:`fit_prior` fits one, :func:`save_prior` / :func:`load_prior` store it (the gallery's fit is
shipped as ``gallery_prior.pt`` beside this file; ``impasto augment --fit-prior OUT.pt`` recomputes it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..errors import InputError

FORMAT = "impasto-style-prior"
VERSION = 1
SHIPPED_PRIOR = Path(__file__).with_name("gallery_prior.pt")
PRIOR_LEVELS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
EPS = 1e-5  # added to the variance before the log, as AdaIN's std does


@dataclass(frozen=True)
class StylePrior:
    """A normal distribution over style-statistics vectors ``[mean_l, log std_l for l in levels]``.

    Attributes:
        levels: VGG levels, shallowest first; ``channels`` their channel counts.
        mean: (D,) float32 mean vector.
        factor: (k, D) principal directions scaled by their standard deviations.
        residual: (D,) variance left on the diagonal (positive).
        info: how it was fitted (sources, crops, crop size, rank).
    """

    levels: tuple[str, ...]
    channels: tuple[int, ...]
    mean: Tensor
    factor: Tensor
    residual: Tensor
    info: dict[str, Any] = field(default_factory=dict)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` vectors (n, D), float32 on the CPU, drawn with ``generator`` (noise drawn on its device)."""
        dev = generator.device if generator is not None else torch.device("cpu")
        w = torch.randn(n, self.factor.shape[0], generator=generator, device=dev).cpu()
        e = torch.randn(n, self.mean.shape[0], generator=generator, device=dev).cpu()
        return self.mean + w @ self.factor.float() + e * self.residual.sqrt()

    def split(self, vectors: Tensor) -> dict[str, tuple[Tensor, Tensor]]:
        """{level: (means (n, C), log stds (n, C))} of (n, D) ``vectors``."""
        out, start = {}, 0
        for level, c in zip(self.levels, self.channels):
            out[level] = (vectors[:, start : start + c], vectors[:, start + c : start + 2 * c])
            start += 2 * c
        return out


def statistics_vector(feats: dict[str, Tensor], levels: Sequence[str]) -> Tensor:
    """(B, D) vectors of channel means and log stds of {level: (B, C, h, w)} features (float64 sums)."""
    parts = []
    for level in levels:
        f = feats[level].double().flatten(2)
        parts += [f.mean(dim=2), 0.5 * (f.var(dim=2, unbiased=False) + EPS).log()]
    return torch.cat(parts, dim=1).float()


def crop_statistics(
    images: Sequence[Tensor],
    *,
    levels: Sequence[str] = PRIOR_LEVELS,
    crops: int = 64,
    crop_size: int = 224,
    seed: int = 0,
    weights: str = "embedded",
) -> Tensor:
    """Statistics vectors (N, D) of ``crops`` random crops of each (1, 3, H, W) painting in [0, 1].

    Each crop is taken from the painting resized so its short side is uniform in
    ``[crop_size, 2 * crop_size]`` (at most its own size), so the spread covers scale as well as place.
    """
    from ..features.vgg import FeatureExtractor
    from ..transforms import resize

    if not images:
        raise InputError("fitting a style prior needs at least one painting")
    extractor = FeatureExtractor(list(levels), weights=weights)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for image in images:
        h, w = image.shape[-2:]
        batch = []
        for _ in range(crops):
            short = crop_size * (1.0 + float(torch.rand((), generator=gen)))
            scale = short / min(h, w)
            size = (max(crop_size, round(h * scale)), max(crop_size, round(w * scale)))
            scaled = resize(image, size)
            top = int(torch.randint(size[0] - crop_size + 1, (), generator=gen))
            left = int(torch.randint(size[1] - crop_size + 1, (), generator=gen))
            batch.append(scaled[..., top : top + crop_size, left : left + crop_size])
        with torch.no_grad():
            for chunk in torch.cat(batch).split(16):
                rows.append(statistics_vector(extractor(chunk), levels))
    return torch.cat(rows)


def fit_prior(
    vectors: Tensor,
    levels: Sequence[str],
    channels: Sequence[int],
    *,
    rank: int = 16,
    info: dict[str, Any] | None = None,
) -> StylePrior:
    """Fit a low-rank-plus-diagonal normal to (N, D) statistics vectors.

    Returns a :class:`StylePrior` whose covariance is ``factor.T @ factor + diag(residual)``: the
    ``rank`` leading principal components of the samples and the rest of each dimension's variance.
    """
    if vectors.dim() != 2 or vectors.shape[1] != 2 * sum(channels):
        raise InputError(f"statistics vectors must be (N, {2 * sum(channels)}); got {tuple(vectors.shape)}")
    if vectors.shape[0] < 2:
        raise InputError("fitting a style prior needs at least two samples")
    x = vectors.double()
    mean = x.mean(dim=0)
    centred = x - mean
    n = x.shape[0]
    _, s, vt = torch.linalg.svd(centred, full_matrices=False)
    k = min(rank, len(s))
    factor = (s[:k, None] / (n - 1) ** 0.5) * vt[:k]
    variance = centred.pow(2).sum(dim=0) / (n - 1)
    # each dimension's own floor: the vector mixes means (variances up to 1e6 at relu4_1) with log stds (about
    # 1), and a floor from the mean variance gave every log std a spread of e^±14
    residual = torch.maximum(variance - factor.pow(2).sum(dim=0), 1e-3 * variance).clamp_min(1e-12)
    return StylePrior(
        tuple(levels),
        tuple(int(c) for c in channels),
        mean.float(),
        factor.float(),
        residual.float(),
        dict(info or {}, samples=n, rank=k),
    )


def fit_prior_to_paintings(
    paths: Sequence[str | os.PathLike[str]],
    *,
    levels: Sequence[str] = PRIOR_LEVELS,
    crops: int = 64,
    crop_size: int = 224,
    rank: int = 16,
    seed: int = 0,
) -> StylePrior:
    """Read the paintings at ``paths`` and fit the prior to their crops' statistics."""
    from ..io import read_image
    from ..nets.decoder import level_channels
    from ..transforms import to_tensor

    images = [to_tensor(read_image(p)) for p in paths]
    vectors = crop_statistics(images, levels=levels, crops=crops, crop_size=crop_size, seed=seed)
    info = {"sources": [Path(p).name for p in paths], "crops": crops, "crop_size": crop_size, "seed": seed}
    return fit_prior(vectors, levels, [level_channels(lv) for lv in levels], rank=rank, info=info)


def save_prior(prior: StylePrior, path: str | os.PathLike[str]) -> Path:
    """Write ``prior`` atomically (the factor in fp16: ~70 kB for relu1_1 ... relu4_1 at rank 16)."""
    from ..io.atomic import atomic_path

    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.parent} does not exist")
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "levels": list(prior.levels),
        "channels": list(prior.channels),
        "mean": prior.mean,
        "factor": prior.factor.half(),
        "residual": prior.residual,
        "info": prior.info,
    }
    with atomic_path(path) as temp:
        torch.save(payload, temp)
    return path


def load_prior(path: str | os.PathLike[str] | None = None) -> StylePrior:
    """The prior stored at ``path`` (default: the gallery's, shipped with impasto)."""
    path = SHIPPED_PRIOR if path is None else Path(path)
    if not path.is_file():
        hint = "recompute it with 'impasto augment --fit-prior OUT.pt'" if path == SHIPPED_PRIOR else "check the path"
        raise InputError(f"style prior not found: {path}; {hint}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001  (a corrupt or foreign file: one line)
        raise InputError(f"{path} is not a readable style prior ({type(err).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path} is not an impasto style prior (write one with 'impasto augment --fit-prior')")
    return StylePrior(
        tuple(data["levels"]),
        tuple(data["channels"]),
        data["mean"].float(),
        data["factor"].float(),
        data["residual"].float(),
        dict(data.get("info", {})),
    )
