"""Device selection and seeding."""

from __future__ import annotations

import torch

from .errors import InputError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; explicit names are checked to exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise InputError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {name!r} asked for, but this torch build sees no CUDA GPU; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise InputError(f"device {name!r} does not exist: {torch.cuda.device_count()} CUDA device(s) present")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError("device 'mps' asked for, but MPS is not available here; use --device cpu")
    if device.type not in ("cpu", "cuda", "mps"):
        raise InputError(f"unsupported device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def make_generator(seed: int | None) -> torch.Generator:
    """A CPU generator, seeded (or from fresh entropy when seed is None): noise drawn on the CPU
    is the same on every device."""
    gen = torch.Generator(device="cpu")
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` -> ``bf16`` where it is faster: on the CPU only where it is native and measured
    faster (:func:`impasto.precision.bf16_is_faster`: oneDNN also reports emulated bf16, which is
    several times slower), on CUDA where the GPU supports bf16; else ``fp32``. MPS stays fp32."""
    if name in ("fp32", "bf16"):
        return name
    if name != "auto":
        raise InputError(f"precision must be auto, fp32 or bf16; got {name!r}")
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        from .precision import bf16_is_faster

        try:
            return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() and bf16_is_faster() else "fp32"
        except (AttributeError, RuntimeError):
            return "fp32"
    return "fp32"
