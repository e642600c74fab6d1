"""Is bf16 faster than fp32 on this CPU? The answer behind ``--precision auto``.

oneDNN reports bf16 support on any AVX-512 CPU, but without AVX512-BF16 or AMX it only
emulates bf16, and a Gatys step then runs several times slower than in fp32 (issue 15). So
``auto`` does not ask oneDNN:

* On Linux, a CPU whose ``/proc/cpuinfo`` flags lack ``avx512_bf16`` and ``amx_bf16`` runs
  fp32: its bf16 is emulated.
* Otherwise (native flags, or no ``/proc/cpuinfo`` to read) a short timing decides: a VGG-19
  convolution forward and backward at a small size, channels-last, in fp32 and under bf16
  autocast, as the engine runs them. bf16 is chosen only when it is at least
  :data:`MIN_SPEEDUP` times faster. The answer is cached per machine in
  ``$IMPASTO_CACHE`` (default ``~/.cache/impasto``), keyed by the CPU model, its flags and the
  torch version, so the timing runs once.

The one-pass methods (WCT, AdaIN) ask one more question the same way, through :func:`cached_probe`:
whether their int8 encoder is faster than bf16 here (:func:`impasto.features.int8.int8_is_faster`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["NATIVE_BF16_FLAGS", "bf16_is_faster", "cache_dir", "cached_probe", "cpu_flags", "measure_bf16_speedup"]

logger = logging.getLogger(__name__)

NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
MIN_SPEEDUP = 1.1  # bf16 changes where strokes land; take it only for a clear gain
# A loaded machine once timed bf16 at 0.1x fp32 on an avx512_bf16 CPU and cached "fp32" for good:
# a ratio below IMPLAUSIBLE is timed again, up to ROUNDS times, and the best is kept.
IMPLAUSIBLE = 0.5
ROUNDS = 3
CACHE_FORMAT = 1


def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags from ``/proc/cpuinfo``; ``None`` where it cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_dir() -> Path:
    """``$IMPASTO_CACHE``, else ``~/.cache/impasto``."""
    return Path(os.environ.get("IMPASTO_CACHE") or Path.home() / ".cache" / "impasto")


def _cache_key() -> str:
    import torch

    flags = sorted(cpu_flags() or ())
    text = "\n".join([_cpu_model(), " ".join(flags), torch.__version__, str(CACHE_FORMAT)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def measure_bf16_speedup(size: int = 64, repeats: int = 5) -> float:
    """fp32 time / bf16 time of two VGG-19 convolutions (64->128 and 256->256 channels, 3x3), forward
    and input-gradient backward, at ``size`` x ``size``; best of ``repeats``, the two interleaved."""
    import torch
    from torch.nn import functional

    gen = torch.Generator().manual_seed(0)
    shapes = [(64, 128, size), (256, 256, size // 2)]
    convs = [
        (
            torch.randn(1, cin, s, s, generator=gen).contiguous(memory_format=torch.channels_last),
            torch.randn(cout, cin, 3, 3, generator=gen).contiguous(memory_format=torch.channels_last),
        )
        for cin, cout, s in shapes
    ]

    def run(bf16: bool) -> float:
        t = time.perf_counter()
        for x, w in convs:
            x = x.detach().requires_grad_(True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                y = functional.conv2d(x, w, padding=1)
            y.float().sum().backward()
        return time.perf_counter() - t

    run(False), run(True)  # warm-up: oneDNN builds its kernels on first use
    best = 0.0
    for _ in range(ROUNDS):  # a ratio far below 1 on a bf16 CPU means the timing was disturbed: time again
        fp32, bf16 = [], []
        for _ in range(repeats):  # interleaved, best of each: other jobs on the cores slow both alike
            fp32.append(run(False))
            bf16.append(run(True))
        best = max(best, min(fp32) / min(bf16))
        if best >= IMPLAUSIBLE:
            break
    return best


def bf16_is_faster(*, refresh: bool = False) -> bool:
    """Whether ``--precision auto`` should run bf16 on this CPU (see the module docstring)."""
    flags = cpu_flags()
    if flags is not None and not flags & NATIVE_BF16_FLAGS:
        return False  # emulated bf16: several times slower than fp32
    return cached_probe("precision", "bf16_faster", measure_bf16_speedup, "bf16 is %.2fx fp32", refresh=refresh)


def cached_probe(stem: str, field: str, measure: Callable[[], float], what: str, *, refresh: bool = False) -> bool:
    """Whether ``measure()`` (a speed-up) is at least :data:`MIN_SPEEDUP` on this machine: timed once and
    kept in ``cache_dir() / f"{stem}-{key}.json"`` under ``field``, keyed by the CPU and torch; ``what`` (with
    one ``%.2f`` for the speed-up) says in the debug log what was measured."""
    path = cache_dir() / f"{stem}-{_cache_key()}.json"
    if not refresh:
        try:
            return bool(json.loads(path.read_text())[field])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    speedup = measure()
    faster = speedup >= MIN_SPEEDUP
    # debug, not info: a run's stderr stays the one line its outcome needs (an error, a saved file)
    logger.debug(what + " on this CPU: %s", speedup, "taken" if faster else "not taken")
    try:
        from .io.atomic import write_text

        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps({field: faster, "speedup": speedup, "cpu": _cpu_model()}))
    except OSError as err:  # a read-only home: time it again next run
        logger.debug("could not cache the %s probe in %s: %s", stem, path, err)
    return faster
