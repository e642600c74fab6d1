"""``ConfigBase``: what every configuration dataclass shares.

A config is a frozen dataclass whose fields carry their help text and their
checks in ``metadata`` (see :func:`opt`). ``ConfigBase`` gives it one behaviour
for all: ``replace`` / ``to_dict`` / ``from_dict``, one policy for unknown keys
(an :class:`~impasto.errors.InputError` with a "did you mean" suggestion), old
option names accepted as aliases (``ALIASES``), list fields given as a comma
string or a sequence, and ``validate()`` running the per-field checks before
the config's own cross-field rules (``_check``). Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import field
from typing import Any, ClassVar, TypeVar

from ..errors import InputError

C = TypeVar("C", bound="ConfigBase")

PRECISIONS = ("auto", "fp32", "bf16")
POOLINGS = ("max", "avg")
SWITCH = ("auto", "on", "off")
DEVICES_HELP = "auto, cpu, cuda, cuda:N or mps"


def opt(default: Any, help: str, **checks: Any) -> Any:
    """A config field: its default, its help text, and the checks ``validate()`` runs on it.

    Checks (all skipped when the value is ``None``): ``choices=(...)``; ``minimum=N`` (an integer
    >= N); ``number="positive"|"nonnegative"`` (a finite number, each item for list fields);
    ``layers=True`` (VGG-19 layer names). ``nargs="+"`` marks a list field for the command line.
    """
    kw: dict[str, Any] = {"metadata": {"help": help, **checks}}
    if isinstance(default, (list, dict)):
        kw["default_factory"] = lambda: type(default)(default)
    else:
        kw["default"] = default
    return field(**kw)


def image_size_opt() -> Any:
    """The ``image_size`` field of every config that makes one output image."""
    return opt(512, "longest side of the output, in pixels", minimum=16)


def style_scale_opt() -> Any:
    """The ``style_scale`` field of every config that resizes its style images with the output."""
    return opt(1.0, "size of the style image relative to the output", number="positive")


def style_blend_weights_opt() -> Any:
    """The ``style_blend_weights`` field of every config that blends several styles."""
    return opt(
        None,
        "with several styles: their blend weights, normalised to sum 1 (default: equal)",
        nargs="+",
        number="nonnegative",
    )


def style_masks_opt() -> Any:
    """The ``style_masks`` field of every config that confines each style to a region."""
    return opt(
        None,
        "one mask image per style (white: the style applies, black: it does not; grey blends); "
        "'none' for a style that covers the whole image. Where every mask is black the content stays unstyled",
        nargs="+",
    )


def device_opt() -> Any:
    """The ``device`` field of every config that runs on one device."""
    return opt("auto", f"compute device: {DEVICES_HELP}")


def tile_size_opt() -> Any:
    """The ``tile_size`` field of every config whose runs are planned in tiles."""
    return opt(
        None,
        "core side of a tile in pixels (each tile also sees a 96 px margin); "
        "default: the largest that fits in memory, at most 2048",
        minimum=64,
    )


def max_memory_opt() -> Any:
    """The ``max_memory`` field of every config whose runs are planned against the free memory."""
    return opt(
        None,
        "memory (GB) the run may use; the plan tiles, or refuses, to stay "
        "under it (default: 90% of the memory that is free)",
        number="positive",
    )


def check_style_lists(config: Any, names: tuple[str, ...]) -> None:
    """The per-style list options ``names`` of ``config`` are not empty when given, and
    ``style_blend_weights`` (one of them) does not sum to 0."""
    for name in names:
        if getattr(config, name) is not None and not getattr(config, name):
            raise InputError(f"{name} is empty")
    weights = config.style_blend_weights
    if weights and not sum(float(w) for w in weights) > 0:
        raise InputError("style_blend_weights must not all be 0")


def _positive_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}; got {value!r}")


def _finite(name: str, value: Any, *, positive: bool) -> None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number; got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise InputError(f"{name} must be a finite number {bound}; got {value!r}")


SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.manual_seed and numpy generators accept


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed every generator accepts: an integer within 64 bits. Returns it; InputError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer; got {value!r}")
    if not SEED_RANGE[0] <= value <= SEED_RANGE[1]:
        raise InputError(f"{name} {value} does not fit in 64 bits; choose one from 0 to {SEED_RANGE[1]}")
    return value


def _choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


def is_list_field(f: dataclasses.Field) -> bool:
    return "tuple" in str(f.type)


def holds_numbers(f: dataclasses.Field) -> bool:
    return "float" in str(f.type)


def as_list(f: dataclasses.Field, value: Any) -> tuple:
    """A list field's value as a tuple: ``"a,b"``, ``["a", "b"]`` and ``["a,b"]`` all give ``("a", "b")``;
    number fields convert strings to floats."""
    parts = [value] if isinstance(value, str) else list(value)
    items: list[Any] = []
    for part in parts:
        items += [s.strip() for s in part.split(",") if s.strip()] if isinstance(part, str) else [part]
    if holds_numbers(f):
        try:
            items = [float(x) if isinstance(x, str) else x for x in items]
        except ValueError:
            raise InputError(f"{f.name} takes numbers; got {' '.join(map(str, parts))}") from None
    return tuple(items)


class ConfigBase:
    """Mixin for frozen config dataclasses; see the module docstring."""

    ALIASES: ClassVar[Mapping[str, str]] = {}  # old option name -> field name

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    @classmethod
    def canonical(cls, key: str) -> str:
        """The field that ``key`` names (itself or through an alias); InputError with a suggestion otherwise."""
        names = cls.field_names()
        if key in names:
            return key
        if key in cls.ALIASES:
            return cls.ALIASES[key]
        close = difflib.get_close_matches(key, [*names, *cls.ALIASES], n=1)
        hint = f"; did you mean {cls.ALIASES.get(close[0], close[0])!r}?" if close else ""
        raise InputError(f"unknown option {key!r} for {cls.__name__}{hint}")

    @classmethod
    def _normalise(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        out: dict[str, Any] = {}
        given: dict[str, str] = {}
        for key, value in data.items():
            name = cls.canonical(key)
            if name in out and out[name] != value:
                raise InputError(f"{given[name]} and {key} are the same option ({name}); give it once")
            if value is not None and is_list_field(fields[name]):
                value = as_list(fields[name], value)
            out[name], given[name] = value, key
        return out

    def replace(self: C, **changes: Any) -> C:
        """A copy with ``changes`` applied (old names accepted); ``None`` values are ignored (unset CLI flags)."""
        values = self._normalise({k: v for k, v in changes.items() if v is not None})
        return dataclasses.replace(self, **values)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """The config stored by ``to_dict`` (or an older one, with old option names); ``None`` values are kept."""
        return dataclasses.replace(cls(), **cls._normalise(dict(data)))  # type: ignore[type-var]

    def validate(self: C) -> C:
        """Raise InputError on the first nonsense value; return self."""
        from ..features.layers import check_layers

        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value, meta = getattr(self, f.name), f.metadata
            if value is None:
                continue
            if "choices" in meta:
                _choice(f.name, value, meta["choices"])
            if "minimum" in meta:
                _positive_int(f.name, value, minimum=meta["minimum"])
            if "number" in meta:
                for item in value if is_list_field(f) else (value,):
                    _finite(f.name, item, positive=meta["number"] == "positive")
            if meta.get("layers"):
                check_layers(value, f.name)
            if f.name == "seed":  # every config's seed reaches torch.manual_seed
                check_seed(value)
        self._check()
        return self

    def _check(self) -> None:
        """Rules that involve several fields; subclasses raise InputError here."""

    def __getattr__(self, name: str) -> Any:  # old names still read: cfg.learning_rate is cfg.lr
        aliases = type(self).ALIASES
        if name in aliases:
            return getattr(self, aliases[name])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
