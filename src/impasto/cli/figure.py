"""``impasto figure reconstructions|grid|losses ...``: the figures that explain the method.

* ``reconstructions CONTENT STYLE -o FIG.png``: the paper's Fig. 1 (content from one layer at a
  time, style from growing layer sets, each synthesised from white noise).
* ``grid CONTENT STYLE -o FIG.png``: the paper's Fig. 3 (content/style ratios x style layer sets).
* ``losses CONTENT STYLE -o FIG.png [stylize options]``: runs ``impasto stylize`` and plots each
  loss term over the steps (``--result`` also saves the image).

Reconstructions and grids run many optimisations; ``--cache-dir DIR`` keeps each finished panel
there, so an interrupted figure resumes where it stopped.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from ..config import GatysConfig
from ..errors import InputError
from .common import ProgressBar, add_command, config_from_args, picked

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    add_command(sub, "figure", reconstructions=run_reconstructions, grid=run_grid, losses=run_losses)


def _checked_inputs(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Validate the options, the output path and both images before any compute: (output, content, style)."""
    from ..config.base import check_seed
    from ..features.layers import check_layers
    from ..io import check_output_path, load_image
    from ..io.paths import check_folder_path

    if args.size < 32:
        raise InputError(f"--size must be at least 32; got {args.size}")
    if args.steps < 1:
        raise InputError(f"--steps must be at least 1; got {args.steps}")
    check_seed(args.seed, "--seed")
    if args.cache_dir is not None:
        check_folder_path(args.cache_dir, "--cache-dir")
    for d in getattr(args, "style_depths", []):
        if not 1 <= d <= 5:
            raise InputError(f"--style-depths takes 1 to 5 (conv1_1 ... conv5_1); got {d}")
    if getattr(args, "content_layers", None):
        check_layers(args.content_layers)
    for ratio in getattr(args, "ratios", []):
        if not ratio > 0:
            raise InputError(f"--ratios must be > 0; got {ratio}")
    return (
        check_output_path(args.output, [args.content, args.style]),
        load_image(args.content, "content image"),
        load_image(args.style, "style image"),
    )


def _device(name: str) -> str:
    from ..device import resolve_device

    return str(resolve_device(name))


def run_reconstructions(args: argparse.Namespace) -> int:
    from ..eval import figures
    from ..transforms import resize_long_side, to_array, to_tensor

    output, content, style = _checked_inputs(args)
    total = args.steps * (len(args.content_layers) + len(args.style_depths))
    with ProgressBar("reconstructions", quiet=args.quiet) as bar:
        kwargs = dict(
            **picked(args, "size", "steps", "seed", "weights", "cache_dir"),
            device=_device(args.device),
            callback=lambda event: bar.update(total, event.losses),
        )
        content_recs = figures.content_reconstructions(content, args.content_layers, **kwargs)
        style_recs = figures.style_reconstructions(style, args.style_depths, **kwargs)
    small = [to_array(resize_long_side(to_tensor(x), args.size)) for x in (content, style)]
    figures.reconstructions_figure(
        small[0],
        small[1],
        content_recs,
        style_recs,
        output,
        content_layers=args.content_layers,
        depths=args.style_depths,
    )
    log.info("wrote %s", output)
    return 0


def run_grid(args: argparse.Namespace) -> int:
    from ..eval import figures

    output, content, style = _checked_inputs(args)
    total = args.steps * len(args.ratios) * len(args.style_depths)
    with ProgressBar("grid", quiet=args.quiet) as bar:
        grid = figures.ratio_grid(
            content,
            style,
            ratios=args.ratios,
            depths=args.style_depths,
            **picked(args, "size", "steps", "seed", "weights", "cache_dir"),
            device=_device(args.device),
            callback=lambda event: bar.update(total, event.losses),
        )
    figures.grid_figure(grid, output, ratios=args.ratios, depths=args.style_depths)
    log.info("wrote %s", output)
    return 0


def run_losses(args: argparse.Namespace) -> int:
    from ..api import stylize
    from ..eval import figures
    from ..io import check_output_path, load_image

    cfg = config_from_args(args, GatysConfig)
    inputs = [args.content, args.style, *(cfg.style_masks or ()), cfg.init_image]
    output = check_output_path(args.output, inputs)
    result_path = check_output_path(args.result, [*inputs, output]) if args.result else None
    content = load_image(args.content, "content image")
    style = load_image(args.style, "style image")
    bar = ProgressBar("stylize", quiet=args.quiet)
    stages: list[int] = []
    seen: set[str] = set()

    def on_step(event: Any) -> None:
        bar.update(event.total, event.losses)
        if event.stage not in seen:
            seen.add(event.stage)
            if event.step > 1:
                stages.append(event.step)

    with bar:
        result = stylize(content, style, config=cfg, callback=on_step)
    if result_path is not None:
        result.save(result_path)
    figures.loss_curves_figure(
        result.history,
        output,
        stages=stages,
        title=f"Loss terms of a {result.array.shape[1]}x{result.array.shape[0]} run "
        f"({cfg.optimizer}, {len(result.history)} steps)",
    )
    log.info("wrote %s", output)
    return 0
