"""Training a feed-forward stylisation network (Johnson, Alahi & Fei-Fei 2016).

:class:`FastTrainConfig` holds every choice of a run (it is stored in the
checkpoints). :func:`train` builds the network, the perceptual loss and Adam,
and hands a step function to :func:`impasto.train.loop.fit`, the one training
loop (progress, checkpoints every ``checkpoint_every`` steps, resume, Ctrl-C).

The loss is the Gatys et al. objective with impasto's own VGG-19 and loss
functions, exactly as :class:`impasto.losses.perceptual.StyleTransferLoss`
computes it (mean squared feature error for content, Gram/(C*H*W) mean squared
error for style, sum of squared neighbour differences on the 0-255 image for
TV, here averaged over the batch), with the batch's own photos as content
targets. So the benchmark can judge a network's output and an L-BFGS result
on the same objective (Johnson et al.'s Fig. 5). The style's Gram targets are
computed once, before the first step.

A run writes into one folder: ``checkpoint.pt`` (latest), ``samples/step_N.jpg``
(fixed photos stylised every ``sample_every`` steps), ``loss.png`` and
``history.csv``.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from ..config import LAYER_NAMES, POOLINGS, _opt
from ..errors import InputError, ResumeError
from ..losses.functional import content_loss, gram_target, style_loss, tv_loss
from ..progress import Callback
from .loop import TrainState, fit

log = logging.getLogger(__name__)

KIND = "fast"
ARCH = "johnson"
CHECKPOINT_NAME = "checkpoint.pt"


@dataclass(frozen=True)
class FastTrainConfig:
    """Everything that defines one feed-forward training run (defaults: the shipped Starry Night model)."""

    style: str | None = _opt(None, "style image (the painting)")
    data: str | None = _opt(None, "folder of training photographs")
    exclude: tuple[str, ...] = _opt((), "file names in the data folder to leave out (held-out test images)", nargs="+")
    steps: int = _opt(2000, "number of training steps (batches)")
    batch_size: int = _opt(4, "photos per batch")
    crop: int = _opt(256, "side of the square random crops, in pixels")
    max_side: int | None = _opt(512, "shrink each photo so its short side is at most this before cropping")
    style_size: int = _opt(512, "long side of the style image when its Gram matrices are computed")
    learning_rate: float = _opt(1e-3, "Adam step size")
    width: int = _opt(16, "channels of the network's first layer (Johnson et al.: 32)")
    blocks: int = _opt(5, "residual blocks (Johnson et al.: 5)")
    kernel: int = _opt(9, "kernel size of the first and last convolutions (Johnson et al.: 9)")
    content_layers: tuple[str, ...] = _opt(("relu2_2",), "VGG layers for the content loss", nargs="+")
    content_weight: float = _opt(1.0, "weight of the content loss")
    style_layers: tuple[str, ...] = _opt(("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
                                         "VGG layers for the style (Gram) loss", nargs="+")
    style_layer_weights: tuple[float, ...] | None = _opt(None, "per-layer style weights (default: 1 each)", nargs="+")
    style_weight: float = _opt(30.0, "weight of the style loss")
    tv_weight: float = _opt(1e-5, "weight of the total variation (sum of squares on the 0-255 image, per photo)")
    pooling: str = _opt("max", "VGG pooling: max or avg", choices=POOLINGS)
    precision: str = _opt("auto", "VGG loss precision: auto (bf16 where native), fp32 or bf16",
                          choices=("auto", "fp32", "bf16"))
    checkpoint_every: int = _opt(50, "save a checkpoint every N steps (and at the end)")
    sample_every: int = _opt(50, "stylise the sample photos every N steps (0: never)")
    seed: int = _opt(0, "seed of the initial weights and of the crops")
    init_from: str | None = _opt(None, "start from the network weights of this checkpoint or model (fine-tuning)")
    weights: str = _opt("embedded", "VGG-19 weights: embedded, torchvision or a .pth path")
    device: str = _opt("auto", "compute device: auto, cpu, cuda, cuda:N")

    def replace(self, **changes: Any) -> "FastTrainConfig":
        """A copy with ``changes`` applied; ``None`` values are ignored (unset CLI flags)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InputError(f"unknown option(s): {', '.join(sorted(unknown))}")
        for key in ("exclude", "content_layers", "style_layers", "style_layer_weights"):
            if key in changes:
                value = changes[key]
                changes[key] = tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) \
                    else tuple(value)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FastTrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls().replace(**{k: v for k, v in dict(data).items() if k in known})

    def arch_kwargs(self) -> dict[str, int]:
        return {"width": self.width, "blocks": self.blocks, "kernel": self.kernel}

    def validate(self) -> "FastTrainConfig":
        """Raise InputError on the first nonsense value; return self."""
        if not self.style:
            raise InputError("a style image is needed (--style FILE)")
        if not self.data:
            raise InputError("a folder of training photos is needed (--data FOLDER)")
        for name, minimum in (("steps", 1), ("batch_size", 1), ("crop", 32), ("style_size", 32), ("width", 1),
                              ("blocks", 0), ("kernel", 1), ("checkpoint_every", 1), ("sample_every", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise InputError(f"{name} must be an integer >= {minimum}; got {value!r}")
        if self.kernel % 2 == 0:
            raise InputError(f"kernel must be odd; got {self.kernel}")
        if self.max_side is not None and self.max_side < self.crop:
            raise InputError(f"max_side ({self.max_side}) must be at least the crop ({self.crop})")
        for name in ("learning_rate", "content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise InputError(f"{name} must be a finite number >= 0; got {value!r}")
        if self.learning_rate <= 0:
            raise InputError("learning_rate must be > 0")
        for kind in ("content", "style"):
            layers = getattr(self, f"{kind}_layers")
            if not layers:
                raise InputError(f"{kind}_layers is empty")
            for layer in layers:
                if layer not in LAYER_NAMES:
                    raise InputError(f"unknown VGG-19 layer {layer!r}; names look like relu2_2, relu4_3")
        if self.style_layer_weights is not None and len(self.style_layer_weights) != len(self.style_layers):
            raise InputError(f"style_layer_weights has {len(self.style_layer_weights)} values for "
                             f"{len(self.style_layers)} style layers")
        if self.pooling not in POOLINGS:
            raise InputError(f"pooling must be max or avg; got {self.pooling!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise InputError(f"precision must be auto, fp32 or bf16; got {self.precision!r}")
        return self


class PerceptualLoss(nn.Module):
    """Johnson et al.'s training objective: content to the batch's photos, style to fixed Gram targets, TV.

    ``forward(output, photos)`` returns ``{"content", "style", "tv", "total"}`` (weighted, scalar tensors).
    """

    def __init__(self, cfg: FastTrainConfig, style: Tensor, *, precision: str = "fp32") -> None:
        super().__init__()
        from ..features.vgg import FeatureExtractor

        self.cfg = cfg
        self.precision = precision
        layers = list(dict.fromkeys([*cfg.content_layers, *cfg.style_layers]))
        self.extractor = FeatureExtractor(layers, pooling=cfg.pooling, weights=cfg.weights)
        self.content_extractor = FeatureExtractor(cfg.content_layers, pooling=cfg.pooling, weights=cfg.weights)
        weights = cfg.style_layer_weights or (1.0,) * len(cfg.style_layers)
        self.style_layer_weights = dict(zip(cfg.style_layers, weights))
        with torch.no_grad():  # the style's Gram targets, once
            feats = self._features(self.extractor, style)
            self.targets = {k: gram_target(feats[k].float(), "chw") for k in cfg.style_layers}

    def _features(self, extractor: nn.Module, image: Tensor) -> dict[str, Tensor]:
        with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return extractor(image)

    def forward(self, output: Tensor, photos: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            target = self._features(self.content_extractor, photos)
        feats = self._features(self.extractor, output)
        zero = output.new_zeros(())
        content = sum((content_loss(feats[k].float(), target[k].float()) for k in self.cfg.content_layers), zero)
        style = sum((w * style_loss(feats[k], self.targets[k], "chw") for k, w in self.style_layer_weights.items()),
                    zero)
        tv = tv_loss(output.float() * 255.0, "l2", reduction="sum") / output.shape[0] if self.cfg.tv_weight else zero
        terms = {"content": self.cfg.content_weight * content, "style": self.cfg.style_weight * style,
                 "tv": self.cfg.tv_weight * tv}
        terms["total"] = terms["content"] + terms["style"] + terms["tv"]
        return terms


def make_step(loss_fn: PerceptualLoss, data: Any, *, batch_size: int, seed: int, rank: int,
              device: torch.device, net_name: str = "net") -> Any:
    """The step function for :func:`fit`: draw the step's crops, stylise, one Adam update."""

    def step_fn(state: TrainState, step: int) -> dict[str, float]:
        net = state.nets[net_name]
        opt = state.optimizers[net_name]
        photos = data.batch(batch_size, step, seed=seed, rank=rank).to(device)
        output = net(photos)
        terms = loss_fn(output, photos)
        opt.zero_grad(set_to_none=True)
        terms["total"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in terms.items()}

    return step_fn


def sample_photos(data: Any, n: int = 3, side: int = 256) -> Tensor:
    """Centre crops of the first ``n`` training photos (fixed across the run), (n, 3, side, side)."""
    out = []
    for img in data.images[:n]:
        _, h, w = img.shape
        s = min(h, w, side)
        top, left = (h - s) // 2, (w - s) // 2
        crop = img[:, top:top + s, left:left + s].float()[None] / 255.0
        out.append(torch.nn.functional.interpolate(crop, size=(side, side), mode="bilinear", align_corners=False))
    return torch.cat(out)


def write_samples(path: Path, photos: Tensor, outputs: Tensor) -> None:
    """Photos on the top row, their stylisations below, as one JPEG."""
    from ..io import write_image

    top = torch.cat(list(photos), dim=-1)
    bottom = torch.cat(list(outputs.float().clamp(0, 1)), dim=-1)
    grid = torch.cat([top, bottom.to(top.device)], dim=-2)
    write_image(path, grid.permute(1, 2, 0).cpu().numpy())


def write_history(folder: Path, history: list[dict[str, float]]) -> None:
    """``history.csv`` and ``loss.png`` (drawn with Pillow: no plotting dependency)."""
    if not history:
        return
    keys = [k for k in history[0] if k != "step"]
    tmp = folder / ".history.csv.partial"
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", *keys])
        for row in history:
            writer.writerow([int(row["step"]), *(f"{row.get(k, float('nan')):.6g}" for k in keys)])
    tmp.replace(folder / "history.csv")
    plot_losses(folder / "loss.png", history, keys)


def plot_losses(path: Path, history: list[dict[str, float]], keys: list[str], size: tuple[int, int] = (720, 400)) -> None:
    """A log-scale line plot of the loss terms (moving average over ~1% of the run) as a PNG."""
    from PIL import Image, ImageDraw

    from ..io import write_image

    w, h = size
    left, right, top, bottom = 60, 110, 20, 40
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    steps = np.array([r["step"] for r in history], dtype=float)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#000000", "#9467bd"]
    series = {}
    window = max(1, len(history) // 100)
    for k in keys:
        v = np.array([max(r.get(k, np.nan), 1e-12) for r in history], dtype=float)
        if window > 1:
            v = np.convolve(v, np.ones(window) / window, mode="valid")
        series[k] = np.log10(v)
    finite = np.concatenate([s[np.isfinite(s)] for s in series.values()])
    if finite.size == 0:
        return
    lo, hi = math.floor(finite.min()), math.ceil(finite.max())
    hi = hi if hi > lo else lo + 1
    x0, x1 = steps[0], max(steps[-1], steps[0] + 1)

    def xy(step: float, val: float) -> tuple[float, float]:
        return (left + (step - x0) / (x1 - x0) * (w - left - right),
                top + (hi - val) / (hi - lo) * (h - top - bottom))

    draw.rectangle([left, top, w - right, h - bottom], outline="black")
    for dec in range(lo, hi + 1):
        _, y = xy(x0, dec)
        draw.line([left - 4, y, left, y], fill="black")
        draw.text((5, y - 6), f"1e{dec}", fill="black")
    draw.text((left, h - bottom + 8), f"step {int(x0)}", fill="black")
    draw.text((w - right - 70, h - bottom + 8), f"step {int(x1)}", fill="black")
    for i, (k, s) in enumerate(series.items()):
        pts = [xy(st, v) for st, v in zip(steps[len(steps) - len(s):], s) if np.isfinite(v)]
        colour = colours[i % len(colours)]
        if len(pts) > 1:
            draw.line(pts, fill=colour, width=2)
        draw.text((w - right + 10, top + 16 * i), k, fill=colour)
    write_image(path, np.asarray(img, dtype=np.float32) / 255.0)


def _load_initial_weights(net: nn.Module, cfg: FastTrainConfig) -> None:
    """Copy the weights of ``cfg.init_from`` (a training checkpoint or an exported model) into ``net``."""
    from ..fast import load_model

    source = load_model(cfg.init_from)
    if source.arch != ARCH or source.arch_kwargs != cfg.arch_kwargs():
        raise InputError(f"--init-from {cfg.init_from} is a {source.arch} {source.arch_kwargs} network; "
                         f"this run builds {ARCH} {cfg.arch_kwargs()}")
    net.load_state_dict(source.net.state_dict())
    log.info("initial weights from %s (step %d)", cfg.init_from, source.step)


def train(cfg: FastTrainConfig, out_dir: str | Path, *, resume: bool = False, callback: Callback | None = None,
          steps: int | None = None) -> TrainState:
    """Train a feed-forward network for ``cfg.style`` on the photos of ``cfg.data``; see the module docstring.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) this is one process of a DistributedDataParallel
    run: each rank draws its own crops, gradients are averaged, rank 0 writes the files.
    With ``resume``, ``out_dir/checkpoint.pt`` is loaded first and the run continues from its
    step (to ``steps``, or the config's). Returns the final :class:`TrainState`.
    """
    from ..api import load_image
    from ..device import resolve_device, resolve_precision
    from ..nets import create_net
    from ..transforms import resize_long_side, to_tensor
    from . import distributed
    from .checkpoint import load_checkpoint
    from .data import ImageFolder

    cfg = cfg.validate()
    total_steps = steps if steps is not None else cfg.steps
    out = Path(out_dir)
    ckpt_path = out / CHECKPOINT_NAME
    saved: dict[str, Any] | None = None
    if resume:
        saved = load_checkpoint(ckpt_path, kind=KIND)
        old = FastTrainConfig.from_dict(saved.get("config", {}))
        differs = [f.name for f in dataclasses.fields(cfg)
                   if f.name not in ("steps", "checkpoint_every", "sample_every", "device")
                   and getattr(old, f.name) != getattr(cfg, f.name)]
        if differs:
            raise ResumeError(f"cannot resume {ckpt_path}: the run was started with different "
                              f"{', '.join(differs)}")
    elif ckpt_path.exists():
        raise InputError(f"{ckpt_path} exists; pass --resume to continue it or choose another output folder")

    dist = distributed.init_from_env(cfg.device)
    device = dist.device if dist.enabled else resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "samples").mkdir(exist_ok=True)
    try:
        data = ImageFolder.from_folder(cfg.data, cfg.crop, cfg.max_side, exclude=cfg.exclude)
        style = to_tensor(load_image(cfg.style, "style image"), device)
        style = resize_long_side(style, cfg.style_size)
        torch.manual_seed(cfg.seed)
        net = create_net(ARCH, **cfg.arch_kwargs()).to(device)
        loss_fn = PerceptualLoss(cfg, style, precision=precision).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate)
        if cfg.init_from and saved is None:
            _load_initial_weights(net, cfg)
        state = TrainState(nets={"net": net}, archs={"net": (ARCH, cfg.arch_kwargs())}, optimizers={"net": opt})
        if saved is not None:
            state.load(saved)
            log.info("resumed %s at step %d", ckpt_path, state.step)
        if dist.enabled:
            state.nets["net"] = distributed.wrap(net, device)
        step_fn = make_step(loss_fn, data, batch_size=cfg.batch_size, seed=cfg.seed, rank=dist.rank, device=device)
        samples = sample_photos(data).to(device)
        t0 = time.perf_counter()
        start_step = state.step

        def sample_fn(st: TrainState, step: int) -> None:
            inner = getattr(st.nets["net"], "module", st.nets["net"])
            write_samples(out / "samples" / f"step_{step:06d}.jpg", samples, inner(samples))
            write_history(out, st.history)
            rate = (step - start_step) * cfg.batch_size * dist.world_size / (time.perf_counter() - t0)
            log.info("step %d: %s (%.2f images/s)", step,
                     ", ".join(f"{k} {v:.4g}" for k, v in st.history[-1].items() if k != "step"), rate)

        fit(state, step_fn, steps=total_steps, kind=KIND, config=cfg.to_dict(), checkpoint=ckpt_path,
            checkpoint_every=cfg.checkpoint_every, sample_fn=sample_fn, sample_every=cfg.sample_every,
            callback=callback, is_main=dist.is_main)
        seconds = time.perf_counter() - t0
        if dist.is_main:
            write_history(out, state.history)
            done = state.step - start_step
            log.info("trained %d steps in %.1f s (%.2f images/s)", done, seconds,
                     done * cfg.batch_size * dist.world_size / max(seconds, 1e-9))
        state.nets["net"] = getattr(state.nets["net"], "module", state.nets["net"])
        return state
    finally:
        distributed.cleanup(dist)
