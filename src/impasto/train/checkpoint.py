"""Self-describing, atomic checkpoints.

A checkpoint is a ``torch.save`` dict::

    {"format": "impasto-checkpoint", "version": 1, "kind": "fast" | "cyclegan" | ...,
     "nets": {name: {"arch": registry name, "kwargs": {...}, "state": state_dict}},
     "optimizers": {name: state_dict}, "schedulers": {name: state_dict},
     "step": int, "config": {...}, "history": [{"step": n, loss: value, ...}, ...],
     "rng": {...}, "extra": {...}}

so a network is rebuilt from the file alone (:func:`load_net`) and training
resumes where it stopped. Files are written with :func:`impasto.io.atomic.atomic_open`
(a temporary beside the target, fsynced and renamed): an interrupted save never
leaves a half-written checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import InputError, ResumeError
from ..io.atomic import atomic_open

FORMAT = "impasto-checkpoint"
VERSION = 1


def net_entry(arch: str, kwargs: dict[str, Any], net: nn.Module) -> dict[str, Any]:
    """The stored form of one network: its registry name, constructor arguments and weights."""
    net = getattr(net, "module", net)  # unwrap DistributedDataParallel
    return {"arch": arch, "kwargs": dict(kwargs), "state": {k: v.detach().cpu() for k, v in net.state_dict().items()}}


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus the format tag) atomically to ``path``."""
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot write checkpoint {path}: folder {path.parent} does not exist")
    data = {"format": FORMAT, "version": VERSION, **payload}
    with atomic_open(path, "wb") as fh:
        torch.save(data, fh)
    return path


def _looks_like_torch_file(path: Path) -> bool:
    """Whether the file starts like one torch.save writes: a zip archive, or a legacy pickle (protocol 2+)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return True  # let the loader's own error speak
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def read_torch_file(path: str | os.PathLike[str]) -> Any:
    """``torch.load`` (weights only, to the CPU) with one-line errors for a missing or unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch errors all mean "not readable"
        reason = " ".join(str(err).split())
        if "Weights only load failed" in reason:  # torch's long advice on weights_only is beside the point here
            reason = "not a PyTorch weights file (or one holding code, which impasto does not run)"
        elif not _looks_like_torch_file(path):  # a text file gives pickle's riddles ("101", "pop from empty list")
            reason = "not a PyTorch file (neither a zip archive nor a pickle)"
        raise InputError(f"cannot read checkpoint {path}: {reason[:200]}") from None


def load_checkpoint(path: str | os.PathLike[str], kind: str | None = None) -> dict[str, Any]:
    """Read an impasto checkpoint; one-line errors for missing, corrupt or foreign files."""
    path = Path(path)
    data = read_torch_file(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path} is not an impasto checkpoint")
    if data.get("version", 0) > VERSION:
        raise InputError(f"{path} was written by a newer impasto (checkpoint version {data['version']})")
    if kind is not None and data.get("kind") != kind:
        raise InputError(f"{path} is a {data.get('kind')!r} checkpoint, not {kind!r}")
    return data


def load_net(entry: dict[str, Any]) -> nn.Module:
    """Rebuild a network from a checkpoint's ``nets[name]`` entry (architecture, kwargs, weights)."""
    from ..nets import create_net

    net = create_net(entry["arch"], **entry.get("kwargs", {}))
    state = {k: v.float() if v.is_floating_point() else v for k, v in entry["state"].items()}
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise InputError(
            f"checkpoint weights do not fit network {entry['arch']!r}: {str(err).splitlines()[0]}"
        ) from None
    return net


def check_resumable(data: dict[str, Any], names: set[str]) -> None:
    missing = names - set(data.get("nets", {}))
    if missing:
        raise ResumeError(f"checkpoint lacks network(s) {', '.join(sorted(missing))}; cannot resume")
