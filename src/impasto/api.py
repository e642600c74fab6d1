"""The one façade under every interface: ``stylize()`` and friends.

The CLI and any other front-end are thin layers over these functions. They
validate everything first (config, images, output path), then hand over to the
method's own module (:mod:`impasto.gatys`, :mod:`impasto.feedforward`,
:mod:`impasto.cyclegan`, :mod:`impasto.eval`) and wrap what comes back in a
result dataclass. Nothing here computes, and torch is imported only by the
methods.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from . import gatys
from .config import GatysConfig
from .cyclegan.train import train_cyclegan  # the façade's CycleGAN training is the method's own function
from .errors import InputError
from .io import ImageLike, load_image, write_image
from .progress import Callback

if TYPE_CHECKING:
    from .cyclegan.apply import Translated
    from .feedforward.config import FeedForwardTrainConfig
    from .train.loop import TrainState
    from .universal.config import UniversalConfig
    from .video.pipeline import VideoResult

__all__ = [
    "Stylized",
    "Evaluation",
    "ImageLike",
    "load_image",
    "stylize",
    "evaluate",
    "stylize_fast",
    "train_fast",
    "translate",
    "train_cyclegan",
    "GatysConfig",
    "stylize_video",
]


@dataclass
class Stylized:
    """The result of a run: the image plus what produced it.

    Attributes:
        image: the result as a Pillow RGB image.
        array: the same, float32 (H, W, 3) in [0, 1].
        losses: weighted loss terms at the last step.
        history: loss terms of every step.
        config: the full configuration used (a ``GatysConfig``, or a ``UniversalConfig`` for wct/adain).
        seconds: wall time of the optimisation (of the cascade for wct/adain).
    """

    array: np.ndarray
    losses: dict[str, float]
    history: list[dict[str, float]]
    config: GatysConfig | UniversalConfig
    seconds: float
    device: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def image(self) -> Image.Image:
        return Image.fromarray((np.clip(self.array, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")

    def metadata(self) -> dict[str, str]:
        """Text metadata to store with the image so the result can be reproduced."""
        import json

        return {
            "Software": "impasto",
            "impasto:config": json.dumps(self.config.to_dict(), sort_keys=True),
            **{f"impasto:{k}": v for k, v in self.extra.items() if isinstance(v, str)},
        }

    def save(self, path: str | os.PathLike) -> Path:
        return write_image(path, self.array, metadata=self.metadata())


def stylize(
    content: ImageLike,
    style: ImageLike | Sequence[ImageLike],
    *,
    config: GatysConfig | UniversalConfig | None = None,
    callback: Callback | None = None,
    masks: Sequence[ImageLike | None] | None = None,
    method: str | None = None,
    **overrides: Any,
) -> Stylized:
    """Repaint ``content`` in the style of ``style`` (Gatys et al. 2016), with the perceptual
    controls of Gatys et al. 2017: colour preservation, several styles, spatial masks.

    With ``method="wct"`` or ``"adain"`` the image is made in one pass instead, by universal style
    transfer (Li et al. 2017; Huang & Belongie 2017) on impasto's decoders (:mod:`impasto.universal`);
    its options are the fields of :class:`~impasto.universal.config.UniversalConfig` (``strength``,
    ``levels``, ``decoders``, and the fields it shares with :class:`GatysConfig`).

    Args:
        content: the photograph (path, PIL image, array or tensor).
        style: the painting (also a gallery name such as ``"starry-night"``), or a list of paintings
            blended by ``style_blend_weights`` (with Gatys each at its own size with ``style_scales``).
        config: a :class:`GatysConfig` (or a ``UniversalConfig`` for wct/adain); keyword ``overrides``
            replace its fields (old names such as ``num_iterations``, ``learning_rate`` and
            ``checkpoint`` are accepted too).
        method: ``"gatys"`` (optimisation, the default), ``"wct"`` or ``"adain"`` (default: the
            config's method when ``config`` is a ``UniversalConfig``).
        callback: receives a :class:`~impasto.progress.Progress` after every step.
        masks: one mask per style (path, PIL image or (H, W) / (H, W, 3) array in [0, 1] with the
            content's aspect ratio; white = the style applies) or ``None`` for a style over the whole
            image; replaces ``config.style_masks`` (mask files).

    Returns:
        :class:`Stylized` with ``.image`` (PIL), ``.array``, ``.losses`` and ``.history``.

    Example:
        >>> out = stylize("photo.jpg", "starry.jpg", image_size=256, steps=200)  # doctest: +SKIP
        >>> out.save("photo_starry.png")                                                  # doctest: +SKIP
        >>> stylize("photo.jpg", ["starry.jpg", "scream.jpg"], style_blend_weights=[0.7, 0.3],
        ...         preserve_color="luminance")                                           # doctest: +SKIP
    """
    from .gallery import style_source
    from .universal.config import METHODS, UniversalConfig

    if method is None:
        method = config.method if isinstance(config, UniversalConfig) else "gatys"
    if method not in ("gatys", *METHODS):
        raise InputError(f"unknown method {method!r}; choose gatys, {', '.join(METHODS)}")
    if method == "gatys" and isinstance(config, UniversalConfig):
        raise InputError("a UniversalConfig is for method wct or adain; give a GatysConfig for method gatys")
    if method != "gatys" and isinstance(config, GatysConfig):
        raise InputError(f"method {method} takes a UniversalConfig (or keyword options), not a GatysConfig")
    many = isinstance(style, (list, tuple))
    styles = list(style) if many else [style]
    if not styles:
        raise InputError("no style image given")
    if method != "gatys":
        ucfg = (config or UniversalConfig()).replace(method=method, **overrides).validate()  # type: ignore[union-attr]
        return _stylize_universal(content, styles, ucfg, masks, callback)
    cfg = (config or GatysConfig()).replace(**overrides).validate()  # type: ignore[union-attr]
    content_arr = load_image(content, "content image")
    style_arrs = [
        load_image(style_source(s), f"style image {i + 1}" if many else "style image")  # type: ignore[arg-type]
        for i, s in enumerate(styles)
    ]
    if masks is None and cfg.style_masks is not None:
        masks = [None if m.lower() == "none" else m for m in cfg.style_masks]
    mask_arrs = gatys.load_masks(masks, content_arr.shape[:2], len(style_arrs))
    init_arr = load_image(cfg.init_image, "init image") if cfg.init == "image" else None
    out = gatys.run(cfg, content_arr, style_arrs if many else style_arrs[0], init_arr, callback, masks=mask_arrs)
    return Stylized(out.array, out.losses, out.history, cfg, out.seconds, out.device, extra=out.extra)


def _stylize_universal(
    content: ImageLike,
    styles: list[Any],
    cfg: UniversalConfig,
    masks: Sequence[ImageLike | None] | None,
    callback: Callback | None,
) -> Stylized:
    """The wct/adain branch of :func:`stylize`: load and check the inputs, hand over to :mod:`impasto.universal`."""
    from .gallery import style_source
    from .universal.cascade import run

    content_arr = load_image(content, "content image")
    many = len(styles) > 1
    style_arrs = [
        load_image(style_source(s), f"style image {i + 1}" if many else "style image") for i, s in enumerate(styles)
    ]
    if masks is None and cfg.style_masks is not None:
        masks = [None if m.lower() == "none" else m for m in cfg.style_masks]
    mask_arrs = gatys.load_masks(masks, content_arr.shape[:2], len(style_arrs))
    array, info = run(cfg, content_arr, style_arrs, mask_arrs, callback)
    seconds = float(info.pop("seconds"))
    return Stylized(array, {}, [], cfg, seconds, info.pop("device"), extra=info)


@dataclass
class Evaluation:
    """Scores of several results against one content and style image.

    Attributes:
        rows: one :class:`~impasto.eval.metrics.Scores` per image: first the content and the style
            themselves (reference points), then each result.
        size: (height, width) at which everything was compared.
        images: the compared images (float32 (H, W, 3)), in the order of ``rows``.
    """

    rows: list[Any]
    size: tuple[int, int]
    images: list[np.ndarray] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"size": list(self.size[::-1]), "images": [row.as_dict() for row in self.rows]}


def evaluate(
    content: ImageLike,
    style: ImageLike,
    results: Sequence[ImageLike],
    *,
    names: Sequence[str] | None = None,
    image_size: int | None = None,
    device: str = "auto",
    weights: str = "embedded",
    pooling: str = "max",
) -> Evaluation:
    """Score stylised images: SSIM and PSNR against the content, and the VGG content and style
    distances (impasto's content and style loss terms without alpha and beta, see
    :mod:`impasto.eval.metrics`; each row also has the style distance by VGG layer, ``style_by_layer``); the
    content and style images are scored too, as reference points.

    Every image is compared at the content's shape with its long side ``image_size`` (default: the
    first result's long side): results are resized to it (a result of another aspect ratio is refused
    rather than stretched, see :mod:`impasto.eval.inputs`); the style's Gram target uses the style
    resized to that long side with its own aspect ratio, and for SSIM/PSNR the style is resized to
    the content's shape.

    Example:
        >>> ev = evaluate("photo.jpg", "starry.jpg", ["out_a.png", "out_b.png"])   # doctest: +SKIP
        >>> [(r.name, round(r.ssim, 3)) for r in ev.rows]                           # doctest: +SKIP
    """
    from .device import resolve_device
    from .eval.inputs import check_evaluation
    from .eval.metrics import FeatureDistances, Scores, psnr, ssim
    from .transforms import resize, resize_long_side, to_array, to_tensor

    if isinstance(results, (str, os.PathLike)) or not isinstance(results, Sequence):
        results = [results]
    names = (
        list(names)
        if names is not None
        else [Path(r).name if isinstance(r, (str, os.PathLike)) else f"result {i}" for i, r in enumerate(results, 1)]
    )
    if len(names) != len(results):
        raise InputError(f"{len(names)} names for {len(results)} results")
    content_arr = load_image(content, "content image")
    from .gallery import style_source

    style_arr = load_image(style_source(style), "style image")  # a gallery name works too
    result_arrs = [load_image(r, f"result {name}") for r, name in zip(results, names)]
    dev = resolve_device(device)
    image_size = check_evaluation(content_arr.shape[:2], [a.shape[:2] for a in result_arrs], names, image_size, dev)
    content_t = resize_long_side(to_tensor(content_arr, dev), image_size)
    hw = tuple(content_t.shape[-2:])
    style_t = resize_long_side(to_tensor(style_arr, dev), image_size)
    distances = FeatureDistances(content_t, style_t, weights=weights, pooling=pooling)
    reference = to_array(content_t)
    images = [("content", reference), ("style", to_array(resize(style_t, hw)))]
    images += [(name, to_array(resize(to_tensor(arr, dev), hw))) for name, arr in zip(names, result_arrs)]
    rows = []
    for name, arr in images:
        c_dist, by_layer = distances.breakdown(to_tensor(arr, dev))
        if name == "style":  # its Gram target is the style at its own aspect ratio: distance 0
            by_layer = distances.style_by_layer(distances.features(style_t))
        rows.append(Scores(name, ssim(arr, reference), psnr(arr, reference), c_dist, sum(by_layer.values()), by_layer))
    return Evaluation(rows, hw, [arr for _, arr in images])


def translate(checkpoint: str | os.PathLike[str] | Any, image: ImageLike, **options: Any) -> Translated:
    """Translate one image with a CycleGAN generator (impasto checkpoint or a recognised foreign ``.pth``).

    Args:
        checkpoint: an impasto CycleGAN checkpoint, a foreign generator ``.pth``, or a loaded generator.
        image: path, PIL image, (H, W, 3) array in [0, 1] or (1, 3, H, W) tensor.
        options: ``direction`` ("AtoB" or "BtoA"), ``image_size``, ``device``; see
            :func:`impasto.cyclegan.apply.translate`.

    Returns:
        a ``Translated`` result with ``.array``, ``.image`` and ``.save(path)``.

    Example:
        >>> impasto.translate("horse2zebra.pt", "horse.jpg").save("zebra.png")   # doctest: +SKIP
    """
    from .cyclegan.apply import translate as _translate

    return _translate(checkpoint, image, **options)


def stylize_fast(
    images: ImageLike | list[ImageLike], model: str | os.PathLike[str] | Any = "starry-night", **options: Any
) -> np.ndarray | list[np.ndarray]:
    """Stylise one image (returns an (H, W, 3) array) or a list (returns a list) with a feed-forward network.

    Args:
        images: one image (path, PIL image, array, tensor) or a list of them.
        model: a shipped model's name (``"starry-night"``, ``"starry-night-lite"``), a checkpoint or an
            exported model file.
        options: ``preserve_color``, ``max_size``, ``batch_size``, ``device``, ``precision``: see
            :func:`impasto.feedforward.apply.stylize_arrays`; for files and folders see
            :func:`impasto.feedforward.apply.stylize_files`.

    Example:
        >>> out = impasto.stylize_fast("photo.jpg")                                 # doctest: +SKIP
    """
    from .feedforward.apply import stylize_arrays

    single = not isinstance(images, (list, tuple))
    arrays = [load_image(im) for im in ([images] if single else images)]
    out = stylize_arrays(arrays, model, **options)
    return out[0] if single else out


def train_fast(
    style: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    callback: Callback | None = None,
    config: FeedForwardTrainConfig | None = None,
    **options: Any,
) -> TrainState:
    """Train a feed-forward network for ``style`` on the photos in ``data``, writing into ``out_dir``.

    Args:
        style: the painting.
        data: a folder of training photographs.
        out_dir: the run folder (``checkpoint.pt``, samples, loss curve).
        resume: continue ``out_dir/checkpoint.pt`` at its saved step.
        callback: receives a :class:`~impasto.progress.Progress` after every step.
        config: a :class:`~impasto.feedforward.config.FeedForwardTrainConfig`; keyword ``options``
            (its fields, or old names such as ``learning_rate``) replace single values.

    Returns:
        the final training state; ``out_dir/checkpoint.pt`` is the model (use it with :func:`stylize_fast`).
    """
    from .feedforward.config import FeedForwardTrainConfig
    from .feedforward.train import train

    cfg = (config or FeedForwardTrainConfig()).replace(style=str(style), data=str(data), **options)
    return train(cfg, out_dir, resume=resume, callback=callback)


def stylize_video(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    method: str = "fast",
    callback: Callback | None = None,
    **options: Any,
) -> VideoResult:
    """Stylise a video clip, steady from frame to frame, keeping its timing, rotation and sound.

    Args:
        input: the clip.
        output: the video to write (.mp4 by default H.264); it appears only when every frame is in.
        method: ``"fast"`` (feed-forward ``model``), ``"wct"`` / ``"adain"`` (universal, ``style``) or
            ``"gatys"`` (optimisation with Ruder et al.'s temporal loss, ``style`` and ``config``).
        callback: one :class:`~impasto.progress.Progress` per frame (frames done, fps, time left).
        options: ``model``, ``style``, ``stabilize``, ``image_size``, ``codec``, ``crf``, ``resume``, ...:
            see :func:`impasto.video.pipeline.stylize_video`.

    Returns:
        a ``VideoResult`` (output path, frames, frames resumed, seconds, frames per second, size).

    Example:
        >>> impasto.stylize_video("clip.mp4", "clip_starry.mp4", model="starry-night-lite")  # doctest: +SKIP
    """
    from .video.pipeline import stylize_video as _stylize_video

    return _stylize_video(input, output, method=method, callback=callback, **options)
