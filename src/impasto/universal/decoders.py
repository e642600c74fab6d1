"""Loading the decoders of universal style transfer: training checkpoints and shipped fp16 files.

A decoder file is either a training checkpoint written by :mod:`impasto.universal.train`
(``kind == "decoder"``) or a small exported file (:func:`export_decoder`)::

    {"format": "impasto-decoder", "version": 1, "arch": "vgg_decoder",
     "kwargs": {"level": ..., "width": ...}, "state": fp16 state dict, "info": {...}}

Both describe themselves, so :func:`load_decoder` needs no flags. A *decoder set*
(:func:`load_decoder_set`) is a folder holding ``<level>.pt`` files or
``<level>/checkpoint.pt`` run folders (as ``impasto decoders train -o DIR/<level>`` writes),
or, with no folder given, the decoders shipped in the package (``impasto/universal/weights``). The
package also ships a second set, named ``reconstruction`` (:data:`SHIPPED_SETS`): Li et al.'s
reconstruction-only decoders at every level, where the default set's levels were fine-tuned for
stylisation, the shallow ones for their place in the cascade (see the model card, ``weights/README.md``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..nets.decoder import LEVELS, VGGDecoder

FORMAT = "impasto-decoder"
VERSION = 1
SHIPPED_DIR = Path(__file__).with_name("weights")
SHIPPED_SETS = ("reconstruction",)  # sub-folders of SHIPPED_DIR, usable by name as a decoder folder


def decoder_folder(folder: str | os.PathLike[str] | None) -> Path:
    """The folder of a decoder set: the shipped default for None, a shipped set by name (unless a folder of
    that name exists here), else ``folder`` itself (not checked)."""
    if folder is None:
        return SHIPPED_DIR
    if str(folder) in SHIPPED_SETS and not Path(folder).is_dir():
        return SHIPPED_DIR / str(folder)
    return Path(folder)


def load_decoder(path: str | os.PathLike[str]) -> tuple[VGGDecoder, dict[str, Any]]:
    """A decoder (eval mode, frozen, fp32) and its info (``step``, ``config``, ...) from a file."""
    from ..train.checkpoint import FORMAT as CKPT_FORMAT
    from ..train.checkpoint import load_net, read_torch_file

    path = Path(path)
    if path.is_dir() and (path / "checkpoint.pt").is_file():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise InputError(f"decoder file not found: {path} (train one with 'impasto decoders train')")
    data = read_torch_file(path)
    if isinstance(data, dict) and data.get("format") == CKPT_FORMAT and data.get("kind") == "decoder":
        entry = data["nets"]["decoder"]
        info = {"step": data.get("step"), "config": data.get("config", {}), "source": str(path)}
    elif isinstance(data, dict) and data.get("format") == FORMAT:
        entry = {"arch": data["arch"], "kwargs": data["kwargs"], "state": data["state"]}
        info = {**data.get("info", {}), "source": str(path)}
    else:
        raise InputError(f"{path} is not an impasto decoder (neither a decoder checkpoint nor an exported decoder)")
    import impasto.nets.decoder  # noqa: F401  (registers "vgg_decoder")

    decoder = load_net(entry)
    if not isinstance(decoder, VGGDecoder):
        raise InputError(f"{path} holds a {entry['arch']!r} network, not a VGG decoder")
    decoder.eval().requires_grad_(False)
    return decoder, info


def export_decoder(path: str | os.PathLike[str], out: str | os.PathLike[str], *, fp16: bool = True) -> Path:
    """Write the decoder of checkpoint ``path`` as a small (fp16) decoder file ``out``, atomically (never
    over ``path`` itself)."""
    from ..io.paths import check_output_file

    out = check_output_file(out, [path])
    decoder, info = load_decoder(path)
    dtype = torch.float16 if fp16 else torch.float32
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": "vgg_decoder",
        "kwargs": {"level": decoder.level, "width": decoder.width, "input_scale": decoder.input_scale},
        "state": {k: v.to(dtype) for k, v in decoder.state_dict().items()},
        "info": {"step": info.get("step"), "config": info.get("config", {})},
    }
    out = Path(out)
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: folder {out.parent} does not exist")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, out)  # same-folder rename: readers never see a half-written file
    finally:
        tmp.unlink(missing_ok=True)
    return out


def decoder_path(folder: Path, level: str) -> Path | None:
    for candidate in (folder / f"{level}.pt", folder / level / "checkpoint.pt"):
        if candidate.is_file():
            return candidate
    return None


def load_decoder_set(levels: Iterable[str], folder: str | os.PathLike[str] | None = None) -> dict[str, VGGDecoder]:
    """The decoders of ``levels`` from ``folder`` (or the shipped ones); one-line error naming a missing level."""
    base = decoder_folder(folder)
    if folder is not None and not base.is_dir():
        raise InputError(f"decoder folder not found: {base}")
    out: dict[str, VGGDecoder] = {}
    for level in levels:
        if level not in LEVELS:
            raise InputError(f"unknown level {level!r}; choose from {', '.join(LEVELS)}")
        path = decoder_path(base, level)
        if path is None:
            where = "the shipped decoders" if folder is None else str(base)
            raise InputError(
                f"no decoder for {level} in {where} (expected {level}.pt or {level}/checkpoint.pt); "
                "train one with 'impasto decoders train' or choose other levels"
            )
        decoder, _ = load_decoder(path)
        if decoder.level != level:
            raise InputError(f"{path} holds the {decoder.level} decoder, not {level}")
        out[level] = decoder
    return out
