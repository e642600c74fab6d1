"""Pieces shared by every subcommand: the one-line-error parser, the commands and their arguments as
declared in ``flags.toml``, flags generated from a config dataclass (one per field, plus its old names),
a progress bar."""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import re
import sys
import tomllib
from importlib import resources
from typing import Any

from ..config import GatysConfig
from ..errors import InputError


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Every usage error, of the top command or a subcommand, starts ``impasto: error:``."""
        self.exit(2, f"impasto: error: {' '.join(message.split())} (see {self.prog} --help)\n")

    def missing_action(self) -> str:
        """The one line for a command given without its action (``impasto fast``) or without any command."""
        choices = [a for a in self._actions if isinstance(a, argparse._SubParsersAction)]
        names = ", ".join(choices[0].choices) if choices else ""
        what = "a command" if self.prog == "impasto" else "an action"
        return f"impasto: error: {self.prog} needs {what} ({names}) (see {self.prog} --help)"


def strength(text: str) -> Any:
    """The type of a style strength flag: ``0.7``, or a range ``0.5:1`` as a pair."""
    try:
        parts = [float(x) for x in text.split(":")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or LOW:HIGH within [0, 1]; got {text!r}") from None
    if len(parts) > 2:
        raise argparse.ArgumentTypeError(f"expected a number or LOW:HIGH; got {text!r}")
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


TYPES: dict[str, Any] = {"int": int, "float": float, "str": str, "strength": strength}
"""The ``type`` names flags.toml may use."""

ARGUMENT_KEYS = frozenset(
    {"name", "flags", "type", "default", "nargs", "choices", "metavar", "action", "dest", "required", "help", "group"}
)
"""The keys of one argument in flags.toml (besides ``use``, and ``config`` with ``title``)."""


def config_classes() -> dict[str, type]:
    """The config dataclasses flags.toml names in ``config = NAME``: one flag per field (:func:`add_config_flags`)."""
    from ..cyclegan.config import CycleGANConfig
    from ..feedforward.config import FeedForwardTrainConfig
    from ..universal.config import DecoderTrainConfig

    return {
        "gatys": GatysConfig,
        "fast-train": FeedForwardTrainConfig,
        "cyclegan": CycleGANConfig,
        "decoder-train": DecoderTrainConfig,
    }


@functools.cache
def flag_table() -> dict[str, Any]:
    """flags.toml, the arguments of every command (how it is written: the comments at its top)."""
    return tomllib.loads(resources.files(__package__).joinpath("flags.toml").read_text(encoding="utf-8"))


def command_entry(name: str) -> dict[str, Any]:
    """The table of the command or action ``name`` in flags.toml (``"evaluate"``, ``"fast.train"``)."""
    entry = flag_table()
    for part in name.split("."):
        entry = entry[part]
    return entry


def action_names(entry: dict[str, Any]) -> list[str]:
    """The actions of a command's table (its sub-tables), in the order of flags.toml."""
    return [key for key, value in entry.items() if isinstance(value, dict)]


def expanded_args(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``args`` items of flags.toml with each ``use = NAME`` replaced by the arguments of [shared] NAME
    (its other keys replacing that single argument's), as copies the caller may change."""
    out: list[dict[str, Any]] = []
    for item in items:
        if "use" not in item:
            out.append(copy.deepcopy(item))
            continue
        overrides = {key: value for key, value in item.items() if key != "use"}
        shared = expanded_args(flag_table()["shared"][item["use"]])
        if overrides and len(shared) != 1:
            raise ValueError(f"flags.toml: use = {item['use']!r} is {len(shared)} arguments; it takes no other keys")
        out += [{**arg, **copy.deepcopy(overrides)} for arg in shared]
    return out


def add_flags(parser: argparse.ArgumentParser, name: str) -> None:
    """Add the arguments flags.toml declares for the command or action ``name`` to ``parser``, in order."""
    groups: dict[str, Any] = {}
    for spec in expanded_args(command_entry(name).get("args", [])):
        if "config" in spec:
            if set(spec) - {"config", "title"}:
                raise ValueError(f"flags.toml: {name}: a config item has only config and title; got {sorted(spec)}")
            add_config_flags(parser, config_classes()[spec["config"]], spec.get("title", "options"))
            continue
        if set(spec) - ARGUMENT_KEYS or ("name" in spec) == ("flags" in spec):
            raise ValueError(f"flags.toml: {name}: an argument has name or flags and the keys {sorted(ARGUMENT_KEYS)}")
        names = [spec.pop("name")] if "name" in spec else spec.pop("flags")
        title = spec.pop("group", None)
        if "type" in spec:
            spec["type"] = TYPES[spec["type"]]
        if "choices" in spec:
            spec["choices"] = tuple(spec["choices"])
        if title is not None and title not in groups:
            groups[title] = parser.add_argument_group(title)
        (parser if title is None else groups[title]).add_argument(*names, **spec)


def add_command(sub: Any, name: str, run: Any = None, **actions: Any) -> Any:
    """The parser of the command or action ``name`` of flags.toml (``"evaluate"``, ``"fast.apply"``), with
    the help, description and arguments written there, that calls ``run(args)``. A command that takes an
    action is given one run function per action instead (``add_command(sub, "fast", train=run_train,
    apply=run_apply, export=run_export)``); without an action it says which it needs
    (:meth:`Parser.missing_action`)."""
    entry = command_entry(name)
    texts = {key: entry[key] for key in ("help", "description") if key in entry}
    p = sub.add_parser(name.rsplit(".", 1)[-1], **texts)
    add_flags(p, name)
    if run is not None:
        p.set_defaults(run=run)
    names = action_names(entry)
    if sorted(actions) != sorted(names):
        raise ValueError(f"flags.toml: {name} has the actions {names}; got run functions for {sorted(actions)}")
    if names:
        p.set_defaults(parser=p)
        actions_sub = p.add_subparsers(dest=entry["dest"], metavar=entry.get("metavar", "ACTION"), parser_class=Parser)
        for action in names:
            add_command(actions_sub, f"{name}.{action}", actions[action])
    return p


def picked(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The flags ``names`` as keyword arguments of the same names (``image_size=args.image_size``...)."""
    return {name: getattr(args, name) for name in names}


def config_values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of the config dataclass ``cls`` that were given as flags (unset flags are None)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None}


def _field_type(f: dataclasses.Field) -> Any:
    text = str(f.type)
    if "float" in text:
        return float
    if "int" in text and "tuple" not in text:
        return int
    return str


def flag_names(name: str) -> list[str]:
    """``--image-size`` and neural-style's ``--image_size`` for the option ``image_size``."""
    return [f"--{name.replace('_', '-')}"] + ([f"--{name}"] if "_" in name else [])


def add_config_flags(
    parser: argparse.ArgumentParser, cls: type = GatysConfig, title: str = "options", skip: tuple[str, ...] = ()
) -> None:
    """One flag per field of the config dataclass ``cls`` (default None, so unset flags keep the
    dataclass default), plus hidden flags for its old option names (``cls.ALIASES``); fields named in
    ``skip`` get no flag (they have one already, e.g. from another config)."""
    group = parser.add_argument_group(f"{title} (defaults in brackets)")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    aliases: dict[str, list[str]] = {}
    for old, new in getattr(cls, "ALIASES", {}).items():
        aliases.setdefault(new, []).append(old)
    for f in fields.values():
        meta = dict(f.metadata)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        kwargs: dict[str, Any] = {
            "dest": f.name,
            "default": None,
            "help": f"{meta.get('help', '')} [{shown}]".replace("%", "%%"),
        }  # argparse %-formats
        if f.type in (bool, "bool"):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif meta.get("nargs"):
            kwargs.update(nargs="+", metavar="X")
        else:
            kwargs.update(type=_field_type(f), metavar=f.name.split("_")[-1].upper())
        if "choices" in meta:
            kwargs["choices"] = meta["choices"]
        group.add_argument(*flag_names(f.name), **kwargs)
        old_flags = [flag for old in aliases.get(f.name, []) for flag in flag_names(old)]
        if old_flags:
            group.add_argument(*old_flags, **{**kwargs, "help": argparse.SUPPRESS})


def allow_int8(parser: argparse.ArgumentParser) -> None:
    """Let the ``--precision`` flag (from the Gatys options) also take ``int8``, which only wct and adain run
    (their encoder, :mod:`impasto.features.int8`); the other methods refuse it with a one-line error."""
    from ..universal.config import PRECISIONS

    for action in parser._actions:
        if action.dest == "precision":
            action.choices = PRECISIONS
            head, _, default = (action.help or "").rpartition(" [")
            action.help = f"{head}; wct/adain also int8 (CPU: VGG's convolutions in int8) [{default}"


def config_from_args(args: argparse.Namespace, cls: type = GatysConfig) -> Any:
    """The validated config from parsed flags; list flags accept spaces or commas ("relu1_1,relu2_1")."""
    try:
        return cls().replace(**config_values(args, cls)).validate()
    except InputError as err:
        raise InputError(as_flags(str(err), cls)) from None


def as_flags(message: str, cls: type = GatysConfig) -> str:
    """A library message in command-line words: the hints ``image_size=512`` and ``recompute="on"`` become
    ``--image-size 512`` and ``--recompute on`` (options of ``cls`` only; other text is left as it is)."""
    names = {f.name for f in dataclasses.fields(cls)} | set(getattr(cls, "ALIASES", {}))

    def flag(match: re.Match[str]) -> str:
        name, value = match[1], match[2]
        return f"--{name.replace('_', '-')} {value}" if name in names else match[0]

    return re.sub(r'\b([a-z][a-z0-9_]*)="?([\w.]+)"?', flag, message)


class ProgressBar:
    """A tqdm bar on stderr, created at the first event so a run that fails while setting up prints only its error.

    Pass it as the ``callback`` of any long operation (one :class:`impasto.progress.Progress` per unit), or
    call ``update(total, losses)`` per step; ``close()`` when done, or use it as a context manager
    (``with ProgressBar(...) as bar:``), which closes it however the block ends. Silent when ``quiet``.
    """

    def __init__(self, desc: str, quiet: bool = False, unit: str = "step") -> None:
        self.desc, self.quiet, self.unit = desc, quiet, unit
        self.bar: Any = None

    def update(self, total: int, losses: dict[str, float] | None = None, n: int = 1) -> None:
        from .interrupts import check

        check()  # a Ctrl-C that Python swallowed (see cli.interrupts) ends the run at the next step
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, file=sys.stderr, dynamic_ncols=True)
        self.bar.update(n)
        if losses:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)

    def __call__(self, event: Any) -> None:
        """Render one :class:`impasto.progress.Progress` event: the callback every long operation takes."""
        self.update(event.total, dict(event.losses))
        if event.item is not None and self.bar is not None:
            self.bar.set_postfix_str(event.item.rsplit("/", 1)[-1], refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux/macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
