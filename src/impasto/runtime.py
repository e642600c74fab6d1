"""Process-level settings that make the CPU path faster. Front-ends call them; the library never does.

``tune_allocator()``: glibc's malloc hands large blocks back to the OS after
every free, so each VGG pass page-faults its activations in again (its cost is
in docs/benchmarks.md). Disabling mmap for large blocks and raising
the trim threshold keeps that memory in the process for reuse. Peak memory is
unchanged within one image size; memory is returned when the process exits.
Linux/glibc only; set ``IMPASTO_NO_MALLOPT=1`` to skip.

``release_freed_memory()``: with the tuning above, the freed activations of
one pyramid level stay resident, and the next, larger level cannot reuse their
smaller holes, so a coarse-to-fine run's peak grew to the sum of its levels
(figures in docs/large-images.md).
``malloc_trim(0)`` between levels hands those free pages back. The pyramid
driver calls it; it is a no-op off glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4


def tune_allocator() -> bool:
    """Keep freed memory in the process (glibc); return True if applied."""
    if not sys.platform.startswith("linux") or os.environ.get("IMPASTO_NO_MALLOPT"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) and mallopt(_M_TOP_PAD, 256 << 20)
    log.debug("glibc mallopt tuning %s", "applied" if ok else "refused")
    return bool(ok)


def release_freed_memory() -> bool:
    """Return freed heap pages to the OS (glibc ``malloc_trim``); True if it released any."""
    if not sys.platform.startswith("linux") or os.environ.get("IMPASTO_NO_TRIM"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False
