"""Training a decoder to invert VGG-19 at one level (Li et al. 2017, section 3.1).

The decoder of ``reluN_1`` learns reconstruction only: for a photo ``I``,
``I' = decoder(VGG(I))`` and the loss is

    L = ||I' - I||^2 + feature_weight * ||VGG(I') - VGG(I)||^2 / mean(VGG(I)^2)

with both terms averaged over their elements. Li et al. use lambda = 1 on raw
features; impasto divides the feature term by the mean square of the target
features so that one ``feature_weight`` means the same at every level and with
either VGG preprocessing (the Caffe weights see 0-255 pixels, so raw feature
errors are ~1e4 times the pixel error), and weights it 0.1 by default so the
pixel term (which the PSNR measures) is not drowned out. No style images are involved, so any
photographs serve as data (:mod:`impasto.universal.data`).

With ``style_weight > 0`` a decoder is trained (usually fine-tuned, ``init``) for stylisation
instead, as Huang & Belongie 2017 train theirs: each photo crop's features are given the channel
mean and std of a style crop's (:func:`~impasto.universal.transforms.adain_batch`), the decoder
decodes that target ``t``, and the loss is

    L = feature_weight * ||VGG(I') - t||^2 / mean(t^2) + style_weight * sum_l ||G_l(I') - G_l(S)||^2 / ||G_l(S)||^2

over the VGG layers relu1_1 ... the level, or a deeper ``style_depth`` (``G`` the Gram matrix, each
layer's term relative to the style's own so no layer dominates). A reconstruction-only decoder
inverts the features of photos; the features WCT and AdaIN hand it are off that set, and it decodes
them to images whose re-encoded statistics fall far from the painting's (measured in
docs/universal.md). This objective trains on such features.

The cascade runs the deepest level first, and each shallower level re-encodes the image the deeper one
painted. Trained as above, a shallow level's decoder knows nothing of the deeper statistics and undoes
part of them (measured in docs/universal.md). ``cascade_from`` (deeper decoders, frozen, deepest first)
first stylises the photos at their levels, so the decoder trains on the images the cascade hands it, and a
``style_depth`` at or below that level puts the deeper Gram matrices in its loss.
``content_weight`` adds ``content_weight * ||VGG(I') - VGG(P)||^2 / mean(VGG(P)^2)`` at relu4_1, with ``P``
the image the level is handed (the photo, or the ``cascade_from`` decoders' picture of it), so the level
keeps that picture's layout (it did not lower the cascade's judged content distance: docs/universal.md).

:func:`train` hands a step function to :func:`impasto.train.loop.fit`, the one
training loop (progress events, atomic checkpoints every ``checkpoint_every``
steps, resume, Ctrl-C). With ``eval_images``, every ``eval_every`` steps the
decoder's reconstruction PSNR on those held-out photos is logged and kept in
the checkpoint's ``extra["psnr"]``.

A run writes ``<run_dir>/checkpoint.pt``; :func:`impasto.universal.decoders.load_decoder`
reads it (or a shipped fp16 file) back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError, ResumeError
from ..nets.decoder import VGGDecoder
from ..progress import Callback
from ..train.loop import TrainState, fit, linear_decay
from .config import DecoderTrainConfig

log = logging.getLogger(__name__)

KIND = "decoder"
ARCH = "vgg_decoder"
CHECKPOINT_NAME = "checkpoint.pt"


def relative_mse(features: Tensor, target: Tensor) -> Tensor:
    """Mean squared error relative to the target's mean square (so no layer or scale dominates)."""
    return F.mse_loss(features, target) / target.pow(2).mean().clamp_min(1e-12)


class ReconstructionLoss(nn.Module):
    """Pixel MSE plus the relative VGG feature MSE at the decoder's level (see the module docstring)."""

    def __init__(
        self, level: str, *, feature_weight: float = 1.0, weights: str = "embedded", precision: str = "fp32"
    ) -> None:
        super().__init__()
        from ..features.vgg import FeatureExtractor

        self.level, self.feature_weight, self.precision = level, feature_weight, precision
        self.encoder = FeatureExtractor([level], weights=weights)

    def encode(self, image: Tensor) -> Tensor:
        with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return self.encoder(image)[self.level]

    def forward(self, output: Tensor, photos: Tensor, target: Tensor) -> dict[str, Tensor]:
        pixel = F.mse_loss(output.float(), photos)
        terms = {"pixel": pixel}
        if self.feature_weight:
            feats = self.encode(output).float()
            terms["feature"] = self.feature_weight * relative_mse(feats, target)
        terms["total"] = sum(terms.values(), torch.zeros((), device=output.device))
        return terms


CONTENT_LAYER = "relu4_1"  # where ``content_weight`` compares the output with the image the level is handed
PHOTO = "photo"  # the key of that image's features among the references


class StylizationLoss(nn.Module):
    """Feature loss on the AdaIN target plus the relative Gram loss at relu1_1 ... ``style_depth`` (the
    level by default; see the module docstring). With ``before`` (deeper levels' decoders, deepest first,
    frozen) the photos are first stylised by each in turn, as the cascade does before this level's turn."""

    def __init__(
        self,
        level: str,
        *,
        feature_weight: float = 1.0,
        style_weight: float = 1.0,
        style_depth: str | None = None,
        content_weight: float = 0.0,
        before: Sequence[nn.Module] = (),
        weights: str = "embedded",
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        from ..features.vgg import FeatureExtractor
        from ..nets.decoder import LEVELS

        self.level, self.precision = level, precision
        self.feature_weight, self.style_weight = feature_weight, style_weight
        self.content_weight = content_weight
        self.layers = LEVELS[: LEVELS.index(style_depth or level) + 1]
        used = (level, self.layers[-1], *(d.level for d in before), *([CONTENT_LAYER] if content_weight else []))
        deepest = max(LEVELS.index(x) for x in used)
        self.encoder = FeatureExtractor(list(LEVELS[: deepest + 1]), weights=weights)
        self.encoder.requires_grad_(False)
        self.before = nn.ModuleList(before)
        self.before.requires_grad_(False).eval()

    def encode_all(self, image: Tensor) -> dict[str, Tensor]:
        with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return {k: v.float() for k, v in self.encoder(image).items()}

    def encode(self, image: Tensor) -> Tensor:
        """The level's features, as :meth:`ReconstructionLoss.encode` (the held-out PSNR and ``input_scale``)."""
        return self.encode_all(image)[self.level]

    def stylize_before(self, photos: Tensor, style: dict[str, Tensor]) -> Tensor:
        """The photos stylised (AdaIN) by each ``before`` decoder in turn: what the cascade hands this level."""
        from .transforms import adain_batch

        for decoder in self.before:
            target = adain_batch(self.encode_all(photos)[decoder.level], style[decoder.level])
            with torch.autocast(photos.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
                photos = decoder(target, size=tuple(photos.shape[-2:])).float().clamp(0, 1)
        return photos

    def targets(self, photos: Tensor, styles: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """(the decoder's input: the photos' features with the styles' channel statistics, the references:
        the styles' Grams by layer and, with a ``content_weight``, the ``PHOTO`` features at ``CONTENT_LAYER``
        of the image this level is handed)."""
        from ..losses.functional import gram_matrix
        from .transforms import adain_batch

        with torch.no_grad():
            style = self.encode_all(styles)
            photos = self.stylize_before(photos, style)
            feats = self.encode_all(photos)
            refs = {k: gram_matrix(style[k]) for k in self.layers}
            if self.content_weight:
                refs[PHOTO] = feats[CONTENT_LAYER]
            return adain_batch(feats[self.level], style[self.level]), refs

    def forward(self, output: Tensor, target: Tensor, refs: dict[str, Tensor]) -> dict[str, Tensor]:
        from ..losses.functional import gram_matrix

        feats = self.encode_all(output.float())
        feature = relative_mse(feats[self.level], target)
        style = sum(
            ((gram_matrix(feats[k]) - refs[k]).pow(2).sum((1, 2)) / refs[k].pow(2).sum((1, 2)).clamp_min(1e-12)).mean()
            for k in self.layers
        )
        terms = {"feature": self.feature_weight * feature, "style": self.style_weight * style}
        if self.content_weight:
            terms["content"] = self.content_weight * relative_mse(feats[CONTENT_LAYER], refs[PHOTO])
        terms["total"] = sum(terms.values())
        return terms


LevelLoss = ReconstructionLoss | StylizationLoss  # either encodes a level (``encode``, ``precision``)


def reconstruct(decoder: nn.Module, loss_fn: LevelLoss, image: Tensor) -> Tensor:
    """encode -> decode of (B, 3, H, W) images, clamped to [0, 1]."""
    feats = loss_fn.encode(image).float()
    with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=loss_fn.precision == "bf16"):
        out = decoder(feats, size=tuple(image.shape[-2:]))
    return out.float().clamp(0, 1)


def heldout_psnr(decoder: nn.Module, loss_fn: LevelLoss, images: Sequence[Tensor]) -> float:
    """Mean PSNR (dB) of encode -> decode over ``images`` ((1, 3, H, W) each)."""
    values = []
    with torch.no_grad():
        for image in images:
            mse = float((reconstruct(decoder, loss_fn, image) - image).pow(2).mean())
            values.append(10 * math.log10(1.0 / max(mse, 1e-12)))
    return float(np.mean(values))


def load_eval_images(files: Sequence[str | Path], long_side: int = 256) -> list[Tensor]:
    """Held-out photos as (1, 3, H, W) tensors with the long side ``long_side``."""
    from ..io import read_image
    from ..transforms import resize_long_side, to_tensor

    return [resize_long_side(to_tensor(read_image(f)), long_side) for f in files]


def feature_rms(loss_fn: LevelLoss, photos: Tensor) -> float:
    """Root mean square of the level's features on ``photos`` (the decoder's ``input_scale`` is its inverse).

    The Caffe VGG sees 0-255 pixels, so its shallow features reach the hundreds; a decoder fed them
    unscaled starts with outputs ~100x too large, and shrinking its first weights instead makes Adam's
    fixed step size huge relative to them.
    """
    with torch.no_grad():
        return float(loss_fn.encode(photos).float().pow(2).mean().sqrt().clamp_min(1e-6))


def init_output(decoder: VGGDecoder) -> None:
    """Start the RGB layer near mid-grey (small weights, bias 0.5) instead of random colours."""
    with torch.no_grad():
        last = decoder.stages[-1][-1]
        last.weight.mul_(0.1)
        last.bias.fill_(0.5)


def make_step(decoder_name: str, loss_fn: ReconstructionLoss, data: Any, *, batch_size: int, seed: int) -> Any:
    """The step function for :func:`fit`: draw the step's crops, reconstruct them, one Adam update."""

    def step_fn(state: TrainState, step: int) -> dict[str, float]:
        decoder, opt = state.nets[decoder_name], state.optimizers[decoder_name]
        photos = data.batch(batch_size, step, seed=seed)
        with torch.no_grad():
            target = loss_fn.encode(photos).float()
        with torch.autocast(photos.device.type, dtype=torch.bfloat16, enabled=loss_fn.precision == "bf16"):
            output = decoder(target, size=tuple(photos.shape[-2:]))
        terms = loss_fn(output, photos, target)
        opt.zero_grad(set_to_none=True)
        terms["total"].backward()
        opt.step()
        out = {k: float(v.detach()) for k, v in terms.items()}
        out["psnr"] = 10 * math.log10(1.0 / max(out["pixel"], 1e-12))
        return out

    return step_fn


def make_stylize_step(
    decoder_name: str, loss_fn: StylizationLoss, data: Any, style_data: Any, *, batch_size: int, seed: int
) -> Any:
    """The step function of stylisation training: photo and style crops, their AdaIN target, one Adam update."""

    def step_fn(state: TrainState, step: int) -> dict[str, float]:
        decoder, opt = state.nets[decoder_name], state.optimizers[decoder_name]
        photos = data.batch(batch_size, step, seed=seed)
        target, refs = loss_fn.targets(photos, style_data.batch(batch_size, step, seed=seed + 1))
        with torch.autocast(photos.device.type, dtype=torch.bfloat16, enabled=loss_fn.precision == "bf16"):
            output = decoder(target, size=tuple(photos.shape[-2:]))
        terms = loss_fn(output.clamp(0, 1), target, refs)
        opt.zero_grad(set_to_none=True)
        terms["total"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in terms.items()}

    return step_fn


def cascade_decoders(cfg: DecoderTrainConfig) -> list[nn.Module]:
    """The ``cfg.cascade_from`` decoders (frozen), of levels deeper than ``cfg.level``, deepest first."""
    from ..nets.decoder import LEVELS
    from .decoders import load_decoder

    decoders: list[nn.Module] = []
    for path in cfg.cascade_from or ():
        decoder, _ = load_decoder(path)
        depth = LEVELS.index(decoder.level)
        if depth <= LEVELS.index(cfg.level):
            raise InputError(
                f"{path} holds the {decoder.level} decoder: --cascade-from needs levels deeper than {cfg.level}"
            )
        if decoders and depth >= LEVELS.index(decoders[-1].level):
            raise InputError(f"--cascade-from lists the deepest level first; {path} ({decoder.level}) comes too late")
        decoders.append(decoder)  # fp32, eval mode, frozen (load_decoder)
    return decoders


def initial_weights(cfg: DecoderTrainConfig) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """(architecture, state dict) of the ``cfg.init`` decoder; its level must be ``cfg.level``."""
    from .decoders import load_decoder

    decoder, _ = load_decoder(cfg.init)  # type: ignore[arg-type]
    if decoder.level != cfg.level:
        raise InputError(f"{cfg.init} holds the {decoder.level} decoder; --level is {cfg.level}")
    if decoder.width != cfg.width:
        raise InputError(f"{cfg.init} is a decoder of width {decoder.width:g}; --width is {cfg.width:g}")
    kwargs = {"level": decoder.level, "width": decoder.width, "input_scale": decoder.input_scale}
    return kwargs, {k: v.float() for k, v in decoder.state_dict().items()}


def train(
    cfg: DecoderTrainConfig,
    data: Any,
    run_dir: str | Path,
    *,
    style_data: Any = None,
    resume: bool = False,
    eval_images: Sequence[Tensor] = (),
    callback: Callback | None = None,
) -> TrainState:
    """Train (or, with ``resume``, continue) the decoder of ``cfg.level`` on ``data``.

    Args:
        cfg: the run's settings.
        data: a :class:`impasto.universal.data.ReconstructionData` (anything with ``batch(n, step, seed)``).
        style_data: the style crops when ``cfg.style_weight > 0`` (same interface as ``data``).
        run_dir: folder for ``checkpoint.pt`` (created).
        resume: continue ``run_dir/checkpoint.pt``; its level and width must match ``cfg``.
        eval_images: held-out (1, 3, H, W) photos for the periodic PSNR.
        callback: receives a :class:`impasto.progress.Progress` per step.

    Returns:
        The final :class:`impasto.train.loop.TrainState` (``state.nets["decoder"]``).
    """
    from ..io.paths import check_folder_path

    run_dir = check_folder_path(run_dir, "run folder")
    ckpt = run_dir / CHECKPOINT_NAME
    if resume and not ckpt.is_file():
        raise ResumeError(f"nothing to resume: {ckpt} does not exist (drop --resume to start a new run)")
    if not resume and ckpt.is_file():
        raise InputError(f"{ckpt} exists; pass --resume to continue it or choose another run folder")
    if cfg.style_weight and style_data is None:
        raise InputError("style_weight > 0 needs style data (--style-data)")
    torch.manual_seed(cfg.seed)
    # one VGG serves the step, the held-out PSNR and the first input_scale
    loss_fn: LevelLoss = (
        StylizationLoss(
            cfg.level,
            feature_weight=cfg.feature_weight,
            style_weight=cfg.style_weight,
            style_depth=cfg.style_depth,
            content_weight=cfg.content_weight,
            before=cascade_decoders(cfg),
            weights=cfg.weights,
            precision=cfg.precision,
        )
        if cfg.style_weight
        else ReconstructionLoss(
            cfg.level, feature_weight=cfg.feature_weight, weights=cfg.weights, precision=cfg.precision
        )
    )
    if resume:
        from ..train.checkpoint import load_checkpoint

        saved_ckpt = load_checkpoint(ckpt, kind=KIND)
        arch_kwargs = dict(saved_ckpt["nets"]["decoder"]["kwargs"])
        if (arch_kwargs.get("level"), arch_kwargs.get("width")) != (cfg.level, cfg.width):
            raise ResumeError(f"{ckpt} holds a decoder with {arch_kwargs}; use the same --level/--width")
    elif cfg.init:
        arch_kwargs, init_state = initial_weights(cfg)
    else:
        scale = 1.0 / feature_rms(loss_fn, data.batch(cfg.batch_size, 0, seed=cfg.seed))
        arch_kwargs = {"level": cfg.level, "width": cfg.width, "input_scale": float(f"{scale:.4g}")}
    run_dir.mkdir(parents=True, exist_ok=True)  # only once the inputs are known to be good
    decoder = VGGDecoder(**arch_kwargs)
    if not resume and cfg.init:
        decoder.load_state_dict(init_state)
    elif not resume:
        init_output(decoder)
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    schedulers = {}
    if cfg.lr_decay_steps:
        factor = linear_decay(cfg.steps - cfg.lr_decay_steps, cfg.lr_decay_steps)
        schedulers["decoder"] = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    state = TrainState(
        nets={"decoder": decoder},
        archs={"decoder": (ARCH, arch_kwargs)},
        optimizers={"decoder": opt},
        schedulers=schedulers,
    )
    if resume:
        state.load(saved_ckpt)
        log.info("resumed %s at step %d", ckpt, state.step)
    if isinstance(loss_fn, StylizationLoss):
        step_fn = make_stylize_step("decoder", loss_fn, data, style_data, batch_size=cfg.batch_size, seed=cfg.seed)
    else:
        step_fn = make_step("decoder", loss_fn, data, batch_size=cfg.batch_size, seed=cfg.seed)

    def evaluate(state: TrainState, step: int) -> None:
        value = heldout_psnr(state.nets["decoder"], loss_fn, eval_images)
        state.extra.setdefault("psnr", []).append([step, value])
        log.info("step %d: held-out PSNR %.2f dB (%s)", step, value, cfg.level)

    return fit(
        state,
        step_fn,
        steps=cfg.steps,
        kind=KIND,
        config=cfg.to_dict(),
        checkpoint=ckpt,
        checkpoint_every=cfg.checkpoint_every,
        sample_fn=evaluate if eval_images else None,
        sample_every=cfg.eval_every if eval_images else 0,
        callback=callback,
    )
