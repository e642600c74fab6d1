"""Property-based fuzz (Hypothesis) of the option parser, the configuration and the memory planner.

Any combination of option values must either give a configuration and a memory plan or be
refused with an :class:`~impasto.errors.InputError` (or a one-line argparse error, exit 2), within
a bounded time (Hypothesis' deadline) and allocation (tracemalloc). Everything runs in-process:
parsing, validation and planning only, never a run.
"""

from __future__ import annotations

import contextlib
import functools
import io
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impasto import memory
from impasto.errors import InputError

ALLOCATION_LIMIT = 64 * 2**20  # planning a run allocates kilobytes; a per-tile list for 10^9 px would be GBs

settings.register_profile(
    "fuzz", max_examples=100, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

ints = st.one_of(st.integers(-5, 5000), st.sampled_from([0, -1, 2**31, 2**63, 2**70, 10**9, 10**30]))
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1.0, 1.000000000001, 1e-300, 1e35, 1e300]),
)
junk = st.sampled_from(["", "abc", "1e3", "0x10", "--", "nan", "-inf", " 7", "1,2", "relu9_9"])


def value(kind: st.SearchStrategy) -> st.SearchStrategy[str]:
    return st.one_of(kind.map(repr), junk)


OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--image-size": value(ints),
    "--steps": value(ints),
    "--min-scale": value(ints),
    "--lbfgs-history": value(ints),
    "--tile-size": value(ints),
    "--seed": value(ints),
    "--style-scale": value(floats),
    "--scale-factor": value(floats),
    "--fine-steps-ratio": value(floats),
    "--content-weight": value(floats),
    "--style-weight": value(floats),
    "--tv-weight": value(floats),
    "--lr": value(floats),
    "--max-memory": value(floats),
    "--init-noise-std": value(floats),
    "--tv-beta": value(floats),
    "--multiscale": st.sampled_from(["auto", "on", "off", "sometimes"]),
    "--tiling": st.sampled_from(["auto", "on", "off", "x"]),
    "--optimizer": st.sampled_from(["lbfgs", "adam", "sgd"]),
    "--precision": st.sampled_from(["auto", "fp32", "bf16", "fp8"]),
}


@contextlib.contextmanager
def bounded_allocation():
    tracemalloc.start()
    try:
        yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < ALLOCATION_LIMIT, f"allocated {peak / 2**20:.0f} MiB"


@functools.lru_cache(maxsize=1)
def _parser():
    from impasto.cli import build_parser

    return build_parser()


def plan_from_argv(argv: list[str]) -> object:
    """What ``impasto stylize`` does before reading any image: parse, validate, size checks, plan."""
    from impasto.cli import config_from_args

    with contextlib.redirect_stderr(io.StringIO()):
        args = _parser().parse_args(["stylize", "c.png", "s.png", "-o", "out.png", *argv])
    cfg = config_from_args(args)
    # the size checks the configuration's validation is to call (issue 13 hook)
    memory.check_scales(
        cfg.image_size, cfg.min_scale, cfg.scale_factor, cfg.multiscale, cfg.style_scales or [cfg.style_scale]
    )
    sizes = cfg.scale_sizes()
    assert sizes and sizes[-1] == cfg.image_size and len(sizes) <= memory.MAX_PYRAMID_LEVELS
    hw = (max(1, cfg.image_size * 3 // 4), cfg.image_size)
    budget = None if cfg.max_memory is None else int(cfg.max_memory * 1e9)
    try:
        return memory.plan_memory(
            hw, budget, device_type="cpu", precision="bf16", steps=cfg.steps, **cfg.memory_options()
        )
    except memory.DoesNotFit as err:
        assert 16 <= err.largest <= max(16, min(cfg.image_size, memory.MAX_SIDE))
        raise InputError("does not fit") from None


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Import and build the parser once, outside the allocation and time limits."""
    plan_from_argv([])


@settings(settings.get_profile("fuzz"))
@given(
    st.dictionaries(st.sampled_from(sorted(OPTIONS)), st.just(None), max_size=8).flatmap(
        lambda keys: st.fixed_dictionaries({k: OPTIONS[k] for k in keys})
    )
)
def test_any_stylize_options_plan_or_fail_cleanly(options: dict[str, str]) -> None:
    argv = [part for flag, text in options.items() for part in (f"{flag}={text}",)]
    with bounded_allocation():
        try:
            plan_from_argv(argv)
        except InputError as err:
            assert "\n" not in str(err) and str(err)
        except SystemExit as exit_:  # argparse: a one-line usage error
            assert exit_.code == 2


@settings(settings.get_profile("fuzz"))
@given(
    h=st.integers(1, 10**12),
    w=st.integers(1, 10**12),
    budget=st.one_of(st.none(), st.integers(0, 2**50)),
    options=st.fixed_dictionaries(  # the planner's options, under its own names
        {
            "optimizer": st.sampled_from(["lbfgs", "adam"]),
            "lbfgs_history": st.integers(1, 10**12),
            "steps": st.integers(1, 10**12),
            "recompute": st.sampled_from(["auto", "on", "off"]),
            "tiling": st.sampled_from(["auto", "on", "off"]),
            "tile_size": st.one_of(st.none(), st.integers(64, 10**9)),
        }
    ),
)
def test_the_planner_is_closed_form_for_any_size(h, w, budget, options) -> None:
    with bounded_allocation():
        try:
            plan = memory.plan_memory((h, w), budget, device_type="cpu", precision="bf16", **options)
        except memory.DoesNotFit as err:
            assert budget is not None and 16 <= err.largest <= memory.MAX_SIDE
            return
        except InputError:
            assert budget is None and max(h, w) > memory.MAX_SIDE
            return
    assert budget is None or plan.estimate <= budget
    assert 1 <= plan.lbfgs_history <= options["lbfgs_history"]


@pytest.mark.parametrize("factor", [1.000000000001, 1.0000001, 1.01])
def test_a_factor_near_one_is_refused_without_building_the_levels(factor: float) -> None:
    with bounded_allocation(), pytest.raises(InputError, match="levels"):
        memory.pyramid_level_count(4096, 16, factor, "on")
