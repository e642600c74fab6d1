"""The figures that explain the method (Gatys, Ecker & Bethge 2016), each one labelled PNG.

* :func:`reconstruct` / :func:`reconstructions_figure`: images synthesised from white noise so that
  they match one representation of a target: the content representation of one layer (conv1_2 ...
  conv5_2; lower layers reproduce the pixels, higher ones keep the arrangement and lose detail),
  or the style representation (Gram matrices) of a growing set of layers (conv1_1; conv1_1 +
  conv2_1; ...; larger sets give larger, smoother texture): the paper's Fig. 1.
* :func:`ratio_grid` / :func:`grid_figure`: results over content/style ratios alpha/beta and style
  layer sets: the paper's Fig. 3.
* :func:`loss_curves_figure` / :func:`draw_loss_curves`: each loss term of a run over the steps (the one
  loss-curve plotter: Gatys runs, feed-forward training's ``loss.png``, the CycleGAN demo).
* :func:`comparison_sheet`: several images side by side with their numbers (``impasto evaluate``).

Like the paper, these use its normalisations (``gram_norm="paper"``: E_l = 1/(4 N^2 M^2) sum (G - A)^2,
``content_reduction="paper"``: 1/2 sum (F - P)^2), equal layer weights 1/|layers|, average pooling and
no total variation; the optimiser is impasto's L-BFGS. Where the paper starts from white noise,
reconstructions start from uniform noise in [0, 1], and grid runs from stylize's noise start.
Ratios are those of the paper's loss, but the content term is a sum over positions, so the same
ratio keeps more of the photo at a larger size.

Figures are drawn on a bare matplotlib ``Figure`` (no pyplot, no global state) and written
atomically (:func:`impasto.io.atomic.atomic_path`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io.atomic import atomic_path

CONTENT_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")
STYLE_DEPTHS = (1, 2, 3, 4, 5)
RATIOS = (1e-5, 1e-4, 1e-3, 1e-2)
PAPER_LOSS = dict(gram_norm="paper", content_reduction="paper", pooling="avg", tv_weight=0.0)


def style_layer_set(depth: int) -> tuple[str, ...]:
    """conv1_1 ... conv{depth}_1, the paper's growing style layer sets.

    >>> style_layer_set(3)
    ('conv1_1', 'conv2_1', 'conv3_1')
    """
    if not 1 <= depth <= 5:
        raise ValueError(f"style depth must be 1 to 5; got {depth}")
    return tuple(f"conv{i}_1" for i in range(1, depth + 1))


def layer_set_label(layers: Sequence[str]) -> str:
    return layers[0] if len(layers) == 1 else f"{layers[0]} ... {layers[-1]}"


def _cached(
    cache_dir: str | os.PathLike | None, key: Mapping[str, Any], compute: Callable[[], np.ndarray]
) -> np.ndarray:
    """``compute()``, kept as ``<cache_dir>/<hash of key>.npy`` so a long figure can be resumed."""
    if cache_dir is None:
        return compute()
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = folder / f"{key.get('kind', 'panel')}_{digest}.npy"
    if path.is_file():
        return np.load(path)
    array = compute()
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, array)
    return array


def reconstruct(
    target: np.ndarray,
    *,
    content_layers: Sequence[str] = (),
    style_layers: Sequence[str] = (),
    size: int = 256,
    steps: int = 300,
    pooling: str = "avg",
    weights: str = "embedded",
    device: str = "cpu",
    seed: int = 0,
    callback: Callable[[Any], None] | None = None,
) -> np.ndarray:
    """Synthesise an image from uniform white noise that matches ``target``'s content features on
    ``content_layers`` and/or its Gram matrices on ``style_layers`` (equal layer weights).

    Args:
        target: (H, W, 3) float image in [0, 1]; resized to ``size`` px on its long side.
        steps: L-BFGS evaluations.

    Returns:
        (h, w, 3) float32 array in [0, 1] at the resized target's size.
    """
    import torch

    from ..device import resolve_device
    from ..features.vgg import FeatureExtractor
    from ..losses.perceptual import StyleTransferLoss
    from ..optim.loop import optimize_image
    from ..transforms import resize_long_side, to_array, to_tensor

    if not content_layers and not style_layers:
        raise ValueError("give content_layers, style_layers or both")
    dev = resolve_device(device)
    image = resize_long_side(to_tensor(target, dev), size)
    extractor = FeatureExtractor([*content_layers, *style_layers], pooling=pooling, weights=weights).to(dev)
    objective = StyleTransferLoss(
        extractor,
        image,
        image,
        content_layers=tuple(content_layers),
        content_layer_weights=[1 / max(1, len(content_layers))] * len(content_layers),
        style_layers=tuple(style_layers),
        style_layer_weights=[1 / max(1, len(style_layers))] * len(style_layers),
        content_weight=1.0,
        style_weight=1.0,
        tv_weight=0.0,
        gram_norm="paper",
        content_reduction="paper",
    )
    generator = torch.Generator().manual_seed(seed)
    start = torch.rand(image.shape, generator=generator).to(dev)
    result, _ = optimize_image(start, objective, optimizer="lbfgs", steps=steps, callback=callback)
    return to_array(result)


def content_reconstructions(
    content: np.ndarray,
    layers: Sequence[str] = CONTENT_LAYERS,
    *,
    cache_dir: str | os.PathLike | None = None,
    **kwargs: Any,
) -> list[np.ndarray]:
    """One reconstruction of ``content`` per layer (the paper's Fig. 1, content row)."""
    runs = [(layer, {"content_layers": (layer,)}) for layer in layers]
    return _reconstructions(content, "content", "layer", runs, cache_dir, kwargs)


def style_reconstructions(
    style: np.ndarray,
    depths: Sequence[int] = STYLE_DEPTHS,
    *,
    cache_dir: str | os.PathLike | None = None,
    **kwargs: Any,
) -> list[np.ndarray]:
    """One texture synthesis of ``style`` per growing layer set conv1_1 ... conv{d}_1 (Fig. 1, style row)."""
    runs = [(d, {"style_layers": style_layer_set(d)}) for d in depths]
    return _reconstructions(style, "style", "depth", runs, cache_dir, kwargs)


def _reconstructions(
    image: np.ndarray,
    kind: str,
    label: str,
    runs: Sequence[tuple[Any, dict[str, Any]]],
    cache_dir: str | os.PathLike | None,
    kwargs: dict[str, Any],
) -> list[np.ndarray]:
    """One cached :func:`reconstruct` of ``image`` per ``(value, layer arguments)`` of ``runs``, ``value``
    named ``label`` in the cache key (which leaves out the callback)."""
    key = {k: v for k, v in kwargs.items() if k != "callback"}
    return [
        _cached(
            cache_dir,
            {"kind": kind, label: value, "image": _fingerprint(image), **key},
            lambda layers=layers: reconstruct(image, **layers, **kwargs),
        )
        for value, layers in runs
    ]


def ratio_grid(
    content: np.ndarray,
    style: np.ndarray,
    *,
    ratios: Sequence[float] = RATIOS,
    depths: Sequence[int] = STYLE_DEPTHS,
    size: int = 256,
    steps: int = 300,
    device: str = "cpu",
    seed: int = 0,
    weights: str = "embedded",
    cache_dir: str | os.PathLike | None = None,
    callback: Callable[[Any], None] | None = None,
) -> list[list[np.ndarray]]:
    """Stylise at every (style layer set, ratio alpha/beta): rows are depths, columns ratios (Fig. 3).

    Content on conv4_2, style on conv1_1 ... conv{d}_1 with weights 1/d, beta = 1, alpha = ratio,
    the paper's normalisations, average pooling, no TV, one scale.
    """
    from ..config import GatysConfig
    from ..gatys import run  # the engine itself: the façade (impasto.api) sits above this module

    rows = []
    for d in depths:
        layers = style_layer_set(d)
        row = []
        for ratio in ratios:
            options = dict(
                content_layers=("conv4_2",),
                style_layers=layers,
                style_layer_weights=[1 / d] * d,
                content_weight=float(ratio),
                style_weight=1.0,
                image_size=size,
                steps=steps,
                multiscale="off",
                device=device,
                seed=seed,
                weights=weights,
                precision="fp32",
                **PAPER_LOSS,
            )
            key = {"kind": "grid", "content": _fingerprint(content), "style": _fingerprint(style), **options}
            row.append(
                _cached(
                    cache_dir,
                    key,
                    lambda o=options: run(GatysConfig().replace(**o).validate(), content, style, None, callback).array,
                )
            )
        rows.append(row)
    return rows


def _fingerprint(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image, dtype=np.float32).tobytes()).hexdigest()[:16]


# ----------------------------------------------------------------------------- drawing


def _figure(
    rows: int, cols: int, panel: float = 2.2, extra_height: float = 0.0, aspect: float = 1.0
) -> tuple[Any, Any]:
    """A grid of image panels ``panel`` inches wide; ``aspect`` = height / width of the images."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(cols * panel, rows * (panel * aspect + 0.3) + extra_height), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def _aspect(*images: np.ndarray) -> float:
    """The largest height / width among ``images`` (panels are sized for it)."""
    return max(image.shape[0] / image.shape[1] for image in images)


def _show(ax: Any, image: np.ndarray | None, title: str = "", fontsize: float = 8) -> None:
    if image is None:
        ax.set_axis_off()
        return
    ax.imshow(np.clip(image, 0, 1), interpolation="lanczos")
    if title:
        ax.set_title(title, fontsize=fontsize)


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` (.png or .jpg) atomically; raises InputError on a bad path."""
    from ..errors import InputError
    from ..io import check_output_path

    out = check_output_path(path)
    fmt = out.suffix.lower().lstrip(".")
    fmt = {"jpeg": "jpg"}.get(fmt, fmt)
    if fmt not in ("png", "jpg"):
        raise InputError(f"figures are written as .png or .jpg; got {out.name}")
    extra = {"pil_kwargs": {"quality": 90}} if fmt == "jpg" else {}
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, **extra)
    return out


def reconstructions_figure(
    content: np.ndarray,
    style: np.ndarray,
    content_recs: Sequence[np.ndarray],
    style_recs: Sequence[np.ndarray],
    path: str | os.PathLike,
    *,
    content_layers: Sequence[str] = CONTENT_LAYERS,
    depths: Sequence[int] = STYLE_DEPTHS,
    title: str | None = None,
) -> Path:
    """The paper's Fig. 1: the content and its per-layer reconstructions (top), the style and its
    texture syntheses from growing layer sets (bottom)."""
    cols = 1 + max(len(content_recs), len(style_recs))
    fig, axes = _figure(2, cols, extra_height=0.4, aspect=_aspect(content, style))
    _show(axes[0, 0], content, "content image")
    _show(axes[1, 0], style, "style image")
    for i in range(1, cols):
        _show(
            axes[0, i],
            content_recs[i - 1] if i <= len(content_recs) else None,
            f"content: {content_layers[i - 1]}" if i <= len(content_recs) else "",
        )
        _show(
            axes[1, i],
            style_recs[i - 1] if i <= len(style_recs) else None,
            f"style: {layer_set_label(style_layer_set(depths[i - 1]))}" if i <= len(style_recs) else "",
        )
    fig.suptitle(
        title or "Reconstructions from white noise: content from one layer, style from growing layer sets", fontsize=10
    )
    return save_figure(fig, path)


def grid_figure(
    grid: Sequence[Sequence[np.ndarray]],
    path: str | os.PathLike,
    *,
    ratios: Sequence[float] = RATIOS,
    depths: Sequence[int] = STYLE_DEPTHS,
    title: str | None = None,
) -> Path:
    """The paper's Fig. 3: rows are style layer sets, columns content/style ratios alpha/beta."""
    fig, axes = _figure(len(grid), len(ratios), extra_height=0.4, aspect=_aspect(grid[0][0]))
    for r, (row, d) in enumerate(zip(grid, depths)):
        for c, (image, ratio) in enumerate(zip(row, ratios)):
            _show(axes[r, c], image, f"alpha/beta = {ratio:.0e}" if r == 0 else "")
        axes[r, 0].set_ylabel(f"style: {layer_set_label(style_layer_set(d))}", fontsize=8)
    fig.suptitle(title or "Content/style ratio (columns) and style layers (rows); content on conv4_2", fontsize=10)
    return save_figure(fig, path)


GATYS_LOSS_KEYS = ("total", "style", "content", "tv")


def draw_loss_curves(
    ax: Any,
    history: Sequence[Mapping[str, float]],
    keys: Sequence[str] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    smooth: int = 1,
    log: bool = True,
    stages: Sequence[int] = (),
) -> None:
    """Draw loss terms over the steps onto a matplotlib axis: the one loss-curve plotter.

    Used by :func:`loss_curves_figure` (a Gatys run, a feed-forward training run's ``loss.png``)
    and by ``benchmarks/cyclegan_demo.py`` as one panel of its figure.

    Args:
        history: one mapping per step; its ``"step"`` is the x value when present, else steps count 1, 2, ...
        keys: the terms to draw, in order (default: every key but ``"step"`` of the first entry). A term with
            no positive value is left out on a log scale.
        labels: legend text per key (default: the key).
        smooth: moving average over this many steps (1: none); the curve then starts at the ``smooth``-th step.
        log: log-scale y axis (non-positive values are not drawn).
        stages: steps where a new stage starts (drawn as dashed vertical lines).
    """
    if not history:
        raise ValueError("empty loss history")
    keys = [k for k in history[0] if k != "step"] if keys is None else list(keys)
    steps = np.array([h.get("step", i) for i, h in enumerate(history, start=1)], dtype=float)
    window = max(1, min(int(smooth), len(history)))
    for key in keys:
        values = np.array([h.get(key, np.nan) for h in history], dtype=float)
        if log:
            if np.all(~(values > 0)):
                continue
            values = np.where(values > 0, values, np.nan)
        if window > 1:
            values = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(
            steps[len(steps) - len(values) :],
            values,
            label=(labels or {}).get(key, key),
            lw=1.5 if key == "total" else 1.0,
        )
    for s in stages:
        ax.axvline(s, color="0.6", lw=0.8, ls="--")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def loss_curves_figure(
    history: Sequence[Mapping[str, float]],
    path: str | os.PathLike,
    *,
    title: str | None = None,
    stages: Sequence[int] = (),
    keys: Sequence[str] | None = None,
    smooth: int = 1,
    xlabel: str = "step (one evaluation of the objective)",
) -> Path:
    """Each weighted loss term over the steps, on a log scale, as one figure file (see :func:`draw_loss_curves`).

    ``keys`` defaults to a Gatys run's terms (total, style, content, tv); ``stages``: steps where a new
    scale of the coarse-to-fine schedule starts (drawn as lines).
    """
    from matplotlib.figure import Figure

    if not history:
        raise ValueError("empty loss history")
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    draw_loss_curves(ax, history, GATYS_LOSS_KEYS if keys is None else keys, smooth=smooth, stages=stages)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("weighted loss")
    ax.set_title(title or "Loss terms over the run", fontsize=10)
    return save_figure(fig, path)


def comparison_sheet(
    entries: Sequence[tuple[str, np.ndarray, Sequence[str]]],
    path: str | os.PathLike,
    *,
    title: str | None = None,
    per_row: int = 5,
) -> Path:
    """Images side by side, each with a title and lines of numbers under it."""
    n = len(entries)
    if n == 0:
        raise ValueError("nothing to show")
    cols = min(per_row, n)
    rows = -(-n // cols)
    fig, axes = _figure(rows, cols, panel=3.0, extra_height=0.5 * rows, aspect=_aspect(*(e[1] for e in entries)))
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.set_axis_off()
            continue
        name, image, lines = entries[i]
        _show(ax, image, name, fontsize=9)
        ax.set_xlabel("\n".join(lines), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
