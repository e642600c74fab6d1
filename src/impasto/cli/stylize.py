"""``impasto stylize CONTENT STYLE [STYLE...] -o OUT.png``: Gatys et al. optimisation, or with
``--method wct|adain`` one pass of universal style transfer (:mod:`impasto.universal`; ``--strength``,
``--levels``, ``--decoders``). A STYLE may be a gallery name (``starry-night``, see ``impasto.gallery``).

Several STYLE images are blended (``--style-blend 0.7 0.3``, normalised to sum 1), each at its
own size (``--style-scales``) and optionally confined to a region by a mask image
(``--style-mask sky.png none``: one per style, white = that style applies, black = it does not,
``none`` = the whole image; where every mask is black the photo stays unstyled).
``--preserve-color luminance|histogram`` keeps the photo's colours (Gatys et al. 2017).

Flags are generated from the fields of :class:`impasto.config.GatysConfig` (one
source of defaults, see :func:`impasto.cli.common.add_config_flags`); each is
accepted with dashes and with neural-style's underscores (``--image-size`` and
``--image_size``), and old names stay accepted (``--num-iterations``,
``--num-iter``, ``--niter`` for ``--steps``; ``--learning-rate`` for ``--lr``;
``--checkpoint`` for ``--recompute``). Unset flags keep the config's defaults.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from ..config import GatysConfig
from ..errors import ImpastoError, InputError
from ..universal.config import METHODS, UniversalConfig
from .common import ProgressBar, add_command, add_config_flags, allow_int8, as_flags, config_from_args, peak_rss_mb

log = logging.getLogger("impasto")


def register(sub: Any) -> None:
    p = add_command(sub, "stylize", run_stylize)
    add_config_flags(
        p,
        UniversalConfig,
        "wct/adain options (the options above that apply: --image-size, "
        "--style-scale, --style-blend, --style-mask, --preserve-color, --tile-size, --max-memory, "
        "--precision, --seed, --device)",
        skip=("method", *GatysConfig.field_names()),
    )
    allow_int8(p)


def intermediate_path(output: Path, step: int) -> Path:
    return output.with_name(f"{output.stem}_{step}{output.suffix}")


def foreign_flags(args: argparse.Namespace, method: str) -> list[str]:
    """The option flags given on the command line that ``method`` does not take."""
    gatys, universal = set(GatysConfig.field_names()), set(UniversalConfig.field_names()) - {"method"}
    foreign = gatys - universal if method in METHODS else universal - gatys
    return [f"--{name.replace('_', '-')}" for name in sorted(foreign) if getattr(args, name, None) is not None]


def run_stylize(args: argparse.Namespace) -> int:
    from ..api import stylize
    from ..gallery import style_source

    if args.method != "gatys":
        return run_universal(args)
    flags = foreign_flags(args, "gatys") + (["--precision int8"] if args.precision == "int8" else [])
    if flags:
        raise InputError(f"{', '.join(flags)}: only for --method wct or adain")
    from ..io import check_output_path, load_image, write_image
    from ..transforms import to_array

    cfg = config_from_args(args, GatysConfig)
    if args.print_iter < 0 or args.save_iter < 0:
        raise ImpastoError("--print-iter and --save-iter must be >= 0")
    output = check_output_path(args.output, [args.content, *args.style, *(cfg.style_masks or ()), cfg.init_image])
    content = load_image(args.content, "content image")
    styles = [
        load_image(style_source(path), f"style image {i}" if len(args.style) > 1 else "style image")
        for i, path in enumerate(args.style, start=1)
    ]
    style = styles if len(styles) > 1 else styles[0]
    bar = ProgressBar("stylize", quiet=args.quiet)
    saved: list[str] = []

    def on_step(event: Any) -> None:
        bar.update(event.total, event.losses)
        if args.print_iter and event.step % args.print_iter == 0:
            terms = "  ".join(f"{k} {v:.4g}" for k, v in event.losses.items())
            log.info("step %d/%d  %s", event.step, event.total, terms)
        if args.save_iter and event.step % args.save_iter == 0 and event.step < event.total:
            path = intermediate_path(output, event.step)
            write_image(path, to_array(event.image), metadata={"impasto:step": str(event.step)})
            saved.append(str(path))

    t0 = time.perf_counter()
    with bar:
        try:
            result = stylize(content, style, config=cfg, callback=on_step)
        except InputError as err:  # the library names options; say the flags
            raise InputError(as_flags(str(err), GatysConfig)) from None
    result.save(output)
    if args.json:
        print(_json_summary(output, t0, result, "optimize_seconds", losses=result.losses, saved=saved))
    else:
        log.info("wrote %s (%.1f s)", output, time.perf_counter() - t0)
    return 0


def _json_summary(
    output: Path,
    t0: float,
    result: Any,
    seconds_key: str,
    *,
    losses: dict[str, float] | None = None,
    saved: list[str] | None = None,
) -> str:
    """The ``--json`` line of a stylisation: ``seconds`` is the whole command, ``seconds_key`` the
    method's own time; ``losses`` and ``saved`` only where the method has them."""
    summary: dict[str, Any] = {
        "output": str(output),
        "seconds": round(time.perf_counter() - t0, 3),
        seconds_key: round(result.seconds, 3),
        "device": result.device,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if losses is not None:
        summary["losses"] = losses
    summary["size"] = list(result.array.shape[1::-1])
    if saved is not None:
        summary["saved"] = saved
    summary.update(config=result.config.to_dict(), run=result.extra)
    return json.dumps(summary)


def run_universal(args: argparse.Namespace) -> int:
    """``--method wct|adain``: one pass through the decoders (see :mod:`impasto.universal`)."""
    from ..api import stylize
    from ..io import check_output_path

    flags = foreign_flags(args, args.method)
    if flags:
        raise InputError(f"{', '.join(flags)}: only for --method gatys")
    if args.save_iter < 0 or args.print_iter < 0:
        raise ImpastoError("--print-iter and --save-iter must be >= 0")
    cfg = config_from_args(args, UniversalConfig).replace(method=args.method)
    output = check_output_path(args.output, [args.content, *args.style, *(cfg.style_masks or ())])
    t0 = time.perf_counter()
    with ProgressBar(args.method, quiet=args.quiet, unit="level") as bar:
        try:
            result = stylize(args.content, args.style, config=cfg, method=args.method, callback=bar)
        except InputError as err:
            raise InputError(as_flags(str(err), UniversalConfig)) from None
    result.save(output)
    if args.json:
        print(_json_summary(output, t0, result, "stylize_seconds"))
    else:
        log.info(
            "wrote %s (%s levels %s, %.1f s)", output, args.method, result.extra.get("levels"), time.perf_counter() - t0
        )
    return 0
