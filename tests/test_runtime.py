"""Allocator settings: kept memory is reused, and release_freed_memory hands freed pages back."""

from __future__ import annotations

import os
import sys

import pytest
import torch

from impasto.runtime import release_freed_memory, tune_allocator

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc allocator settings are Linux-only")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_release_hands_freed_memory_back_after_tuning():
    assert tune_allocator()
    size = 256 * 2**20
    block = torch.ones(size // 4)  # touched, so resident
    before_free = rss_bytes()
    del block
    kept = rss_bytes()
    assert kept > before_free - size // 2  # tuned: the freed block stays in the process
    release_freed_memory()
    assert rss_bytes() < kept - size // 2  # trimmed: it is handed back
