"""Small helpers the benchmark scripts share. Each script runs on its own (``python benchmarks/NAME.py``)
and puts this folder on ``sys.path`` before importing from here."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """The CPU's model name and feature flags (``avx512_bf16``...) from /proc/cpuinfo; where there is none,
    ``platform.processor()`` and no flags."""
    model, flags = platform.processor(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model, flags
