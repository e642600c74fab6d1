"""``--precision auto`` on the CPU: bf16 only where native and measured faster (impasto.precision)."""

from __future__ import annotations

import json

import pytest
import torch

from impasto import precision
from impasto.device import resolve_precision

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPASTO_CACHE", str(tmp_path))
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)  # oneDNN says yes everywhere
    return tmp_path


def _no_timing(*args, **kwargs):
    raise AssertionError("the timing probe ran")


def test_emulated_bf16_chooses_fp32_without_timing(monkeypatch):
    """AVX-512 without AVX512-BF16/AMX: oneDNN reports bf16, but it is emulated."""
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512f", "avx512bw", "avx2", "fma"}))
    monkeypatch.setattr(precision, "measure_bf16_speedup", _no_timing)
    assert resolve_precision("auto", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"  # an explicit choice is kept


@pytest.mark.parametrize(("speedup", "expected"), [(0.3, "fp32"), (1.02, "fp32"), (1.9, "bf16")])
def test_native_flags_are_timed_and_the_answer_cached(monkeypatch, _cache, speedup, expected):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    calls = []
    monkeypatch.setattr(precision, "measure_bf16_speedup", lambda: calls.append(1) or speedup)
    assert resolve_precision("auto", CPU) == expected
    assert resolve_precision("auto", CPU) == expected
    assert calls == [1]  # timed once; the second answer came from the cache
    (cached,) = _cache.glob("precision-*.json")
    assert json.loads(cached.read_text())["bf16_faster"] is (expected == "bf16")


def test_cache_is_keyed_by_the_cpu(monkeypatch):
    monkeypatch.setattr(precision, "measure_bf16_speedup", lambda: 2.0)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    assert precision.bf16_is_faster()
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16", "avx512_bf16"}))
    monkeypatch.setattr(precision, "measure_bf16_speedup", lambda: 0.5)
    assert not precision.bf16_is_faster()  # another CPU: timed again, not the first one's answer


def test_onednn_without_bf16_is_fp32(monkeypatch):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    monkeypatch.setattr(precision, "measure_bf16_speedup", _no_timing)
    assert resolve_precision("auto", CPU) == "fp32"


def test_the_probe_times_real_kernels():
    ratio = precision.measure_bf16_speedup(size=16, repeats=1)
    assert 0.01 < ratio < 100
