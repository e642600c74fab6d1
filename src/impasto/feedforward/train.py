"""Training a feed-forward stylisation network (Johnson, Alahi & Fei-Fei 2016).

:class:`FastTrainConfig` holds every choice of a run (it is stored in the
checkpoints). :func:`train` builds the network, the perceptual loss and Adam,
and hands a step function to :func:`impasto.train.loop.fit`, the one training
loop (progress, checkpoints every ``checkpoint_every`` steps, resume, Ctrl-C).

The loss is the Gatys et al. objective built from the same pieces as
:class:`impasto.losses.perceptual.StyleTransferLoss` (:mod:`impasto.losses.functional`:
mean squared feature error for content, Gram/(C*H*W) mean squared error for
style, sum of squared neighbour differences on the 0-255 image for TV, here
averaged over the batch), with the batch's own photos as content targets. So
the benchmark can judge a network's output and an L-BFGS result on the same
objective (Johnson et al.'s Fig. 5). The style's Gram targets are
computed once, before the first step.

A run writes into one folder: ``checkpoint.pt`` (latest), ``samples/step_N.jpg``
(fixed photos stylised every ``sample_every`` steps), ``loss.png`` and
``history.csv``.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import InputError, ResumeError
from ..io.atomic import atomic_open
from ..losses.functional import content_losses, content_targets, style_losses, style_targets, tv_255, weighted_sum
from ..progress import Callback
from ..train.data import crop_side
from ..train.loop import TrainState, fit, fit_options, linear_decay
from .config import FastTrainConfig

log = logging.getLogger(__name__)

KIND = "fast"
ARCH = "johnson"
CHECKPOINT_NAME = "checkpoint.pt"


class PerceptualLoss(nn.Module):
    """Johnson et al.'s training objective: content to the batch's photos, style to fixed Gram targets, TV.

    Built from the pieces of the Gatys objective (:mod:`impasto.losses.functional`: the same
    targets, per-layer losses, weighted layer sums and 0-255 TV as
    :class:`impasto.losses.perceptual.StyleTransferLoss`), with two differences: the content
    targets are the features of each batch's photos rather than of one fixed image, and TV is
    averaged over the batch.

    ``forward(output, photos)`` returns ``{"content", "style", "tv", "total"}`` (weighted, scalar tensors),
    plus ``"teacher"`` when a ``teacher`` network is given: the mean squared difference, in 0-255 units,
    between the output and the teacher's stylisation of the same photos (knowledge distillation).
    With content and style weights both 0 the VGG is not run at all.
    """

    def __init__(
        self, cfg: FastTrainConfig, style: Tensor, *, precision: str = "fp32", teacher: nn.Module | None = None
    ) -> None:
        super().__init__()
        from ..features.vgg import FeatureExtractor

        self.cfg = cfg
        self.precision = precision
        self.teacher = teacher.eval().requires_grad_(False) if teacher is not None else None
        self.perceptual = bool(cfg.content_weight or cfg.style_weight)
        weights = cfg.style_layer_weights or (1.0,) * len(cfg.style_layers)
        self.content_layer_weights = dict.fromkeys(cfg.content_layers, 1.0)
        self.style_layer_weights = dict(zip(cfg.style_layers, weights))
        self.targets: dict[str, Tensor] = {}
        if self.perceptual:  # pure distillation loads no VGG at all
            layers = list(dict.fromkeys([*cfg.content_layers, *cfg.style_layers]))
            self.extractor = FeatureExtractor(layers, pooling=cfg.pooling, weights=cfg.weights)
            self.content_extractor = FeatureExtractor(cfg.content_layers, pooling=cfg.pooling, weights=cfg.weights)
            with torch.no_grad():  # the style's Gram targets, once
                self.targets = style_targets(self._features(self.extractor, style), cfg.style_layers, "chw")

    def _features(self, extractor: nn.Module, image: Tensor) -> dict[str, Tensor]:
        with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return extractor(image)

    def forward(self, output: Tensor, photos: Tensor) -> dict[str, Tensor]:
        zero = output.new_zeros(())
        content = style = zero
        if self.perceptual:  # skipped in pure distillation
            with torch.no_grad():
                target = content_targets(self._features(self.content_extractor, photos), self.cfg.content_layers)
            feats = self._features(self.extractor, output)
            content = weighted_sum(content_losses(feats, target), self.content_layer_weights, zero)
            style = weighted_sum(style_losses(feats, self.targets, "chw"), self.style_layer_weights, zero)
        tv = tv_255(output.float(), "l2") / output.shape[0] if self.cfg.tv_weight else zero
        terms = {
            "content": self.cfg.content_weight * content,
            "style": self.cfg.style_weight * style,
            "tv": self.cfg.tv_weight * tv,
        }
        if self.teacher is not None:
            with torch.no_grad():
                wanted = self.teacher(photos).float()
            terms["teacher"] = self.cfg.teacher_weight * ((output.float() - wanted) * 255.0).pow(2).mean()
        terms["total"] = sum(terms.values(), zero)
        return terms


def make_step(
    loss_fn: PerceptualLoss, data: Any, cfg: FastTrainConfig, *, rank: int, device: torch.device, net_name: str = "net"
) -> Any:
    """The step function for :func:`fit`: draw the step's ``cfg.batch_size`` crops (seeded by ``cfg.seed``
    and the step; of a side drawn between ``cfg.crop_min`` and the data's crop, if set), stylise, one Adam
    update."""

    def step_fn(state: TrainState, step: int) -> dict[str, float]:
        net = state.nets[net_name]
        opt = state.optimizers[net_name]
        side = crop_side(step, cfg.seed, cfg.crop_min, data.crop) if cfg.crop_min else None
        photos = data.batch(cfg.batch_size, step, seed=cfg.seed, rank=rank, crop=side).to(device)
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
        crop = img[:, top : top + s, left : left + s].float()[None] / 255.0
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
    """``history.csv`` and ``loss.png`` (:func:`impasto.eval.figures.loss_curves_figure`)."""
    from ..eval.figures import loss_curves_figure

    if not history:
        return
    keys = [k for k in history[0] if k != "step"]
    with atomic_open(folder / "history.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", *keys])
        for row in history:
            writer.writerow([int(row["step"]), *(f"{row.get(k, float('nan')):.6g}" for k in keys)])
    loss_curves_figure(
        history,
        folder / "loss.png",
        keys=keys,
        smooth=len(history) // 100,
        xlabel="training step",
        title="Training loss terms (moving mean over 1% of the run)",
    )


def _load_initial_weights(net: nn.Module, cfg: FastTrainConfig) -> None:
    """Copy the weights of ``cfg.init_from`` (a training checkpoint or an exported model) into ``net``."""
    from .model import load_model

    source = load_model(cfg.init_from)
    if source.arch != ARCH or source.arch_kwargs != cfg.arch_kwargs():
        raise InputError(
            f"--init-from {cfg.init_from} is a {source.arch} {source.arch_kwargs} network; "
            f"this run builds {ARCH} {cfg.arch_kwargs()}"
        )
    net.load_state_dict(source.net.state_dict())
    log.info("initial weights from %s (step %d)", cfg.init_from, source.step)


def train(
    cfg: FastTrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    callback: Callback | None = None,
    steps: int | None = None,
) -> TrainState:
    """Train a feed-forward network for ``cfg.style`` on the photos of ``cfg.data``; see the module docstring.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) this is one process of a DistributedDataParallel
    run: each rank draws its own crops, gradients are averaged, rank 0 writes the files.
    With ``resume``, ``out_dir/checkpoint.pt`` is loaded first and the run continues from its
    step (to ``steps``, or the config's). Returns the final :class:`TrainState`.
    """
    from ..device import resolve_device, resolve_precision
    from ..gallery import style_source
    from ..io import load_image
    from ..io.paths import check_folder_path, check_output_folder
    from ..nets import create_net
    from ..train import distributed
    from ..train.checkpoint import load_checkpoint
    from ..train.data import ImageFolder
    from ..transforms import resize_long_side, to_tensor
    from .model import load_model

    cfg = cfg.validate()
    assert cfg.data is not None  # validate() refused a run without --data
    out = check_output_folder(check_folder_path(out_dir, "output folder"), [cfg.data])  # never the photos' folder
    ckpt_path = out / CHECKPOINT_NAME
    saved: dict[str, Any] | None = None
    if resume:
        saved = load_checkpoint(ckpt_path, kind=KIND)
        old = FastTrainConfig.from_dict(saved.get("config", {}))
        differs = [
            f.name
            for f in dataclasses.fields(cfg)
            if f.name not in ("steps", "checkpoint_every", "sample_every", "device")
            and getattr(old, f.name) != getattr(cfg, f.name)
        ]
        if differs:
            raise ResumeError(f"cannot resume {ckpt_path}: the run was started with different {', '.join(differs)}")
    elif ckpt_path.exists():
        raise InputError(f"{ckpt_path} exists; pass --resume to continue it or choose another output folder")

    dist = distributed.init_from_env(cfg.device)
    device = dist.device if dist.enabled else resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    try:
        data = ImageFolder.from_folder(cfg.data, cfg.crop, cfg.load_size, exclude=cfg.exclude)
        style = to_tensor(load_image(style_source(cfg.style), "style image"), device)  # type: ignore[arg-type]
        style = resize_long_side(style, cfg.style_size)
        torch.manual_seed(cfg.seed)
        net = create_net(ARCH, **cfg.arch_kwargs()).to(device)
        teacher = load_model(cfg.teacher, device).inference_net if cfg.teacher else None
        loss_fn = PerceptualLoss(cfg, style, precision=precision, teacher=teacher).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        if cfg.init_from and saved is None:
            _load_initial_weights(net, cfg)
        decay = min(cfg.lr_decay_steps, cfg.steps)  # over the planned run, also when stopped early with steps
        schedulers = (
            {"net": torch.optim.lr_scheduler.LambdaLR(opt, linear_decay(cfg.steps - decay, decay))} if decay else {}
        )
        state = TrainState(
            nets={"net": net}, archs={"net": (ARCH, cfg.arch_kwargs())}, optimizers={"net": opt}, schedulers=schedulers
        )
        if saved is not None:
            state.load(saved)
            log.info("resumed %s at step %d", ckpt_path, state.step)
        if dist.enabled:
            state.nets["net"] = distributed.wrap(net, device)
        step_fn = make_step(loss_fn, data, cfg, rank=dist.rank, device=device)
        samples = sample_photos(data).to(device)
        if dist.is_main:  # only once every input has loaded: a bad option leaves no empty run folder
            (out / "samples").mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        start_step = state.step

        def sample_fn(st: TrainState, step: int) -> None:
            inner = getattr(st.nets["net"], "module", st.nets["net"])
            write_samples(out / "samples" / f"step_{step:06d}.jpg", samples, inner(samples))
            write_history(out, st.history)
            rate = (step - start_step) * cfg.batch_size * dist.world_size / (time.perf_counter() - t0)
            log.info(
                "step %d: %s (%.2f images/s)",
                step,
                ", ".join(f"{k} {v:.4g}" for k, v in st.history[-1].items() if k != "step"),
                rate,
            )

        fit(
            state,
            step_fn,
            kind=KIND,
            checkpoint=ckpt_path,
            sample_fn=sample_fn,
            callback=callback,
            is_main=dist.is_main,
            **fit_options(cfg, steps),
        )
        seconds = time.perf_counter() - t0
        if dist.is_main:
            write_history(out, state.history)
            done = state.step - start_step
            log.info(
                "trained %d steps in %.1f s (%.2f images/s)",
                done,
                seconds,
                done * cfg.batch_size * dist.world_size / max(seconds, 1e-9),
            )
        state.nets["net"] = getattr(state.nets["net"], "module", state.nets["net"])
        return state
    finally:
        distributed.cleanup(dist)
