"""Pieces shared by every subcommand: the one-line-error parser, common flags, flags generated from a
config dataclass (one per field, plus its old names), a progress bar."""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
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


def add_command_with_actions(sub: Any, name: str, help: str, description: str, dest: str) -> Any:
    """The parser of a command that takes an action (``impasto fast train``); returns the subparsers
    to add the actions to. Given no action, the command says which it needs (:meth:`Parser.missing_action`)."""
    p = sub.add_parser(name, help=help, description=description)
    p.set_defaults(parser=p)
    return p.add_subparsers(dest=dest, metavar="ACTION", parser_class=Parser)


def add_command(sub: Any, name: str, run: Any, **kwargs: Any) -> Any:
    """The parser of a command or an action (``impasto evaluate``, ``impasto fast apply``) that calls
    ``run(args)``; ``kwargs`` go to ``add_parser`` (help, description)."""
    p = sub.add_parser(name, **kwargs)
    p.set_defaults(run=run)
    return p


def add_content_style(parser: argparse.ArgumentParser) -> None:
    """The positional CONTENT and STYLE images."""
    parser.add_argument("content", help="content image (the photograph)")
    parser.add_argument("style", help="style image (the painting)")


def add_device_flag(parser: argparse.ArgumentParser, help: str = "compute device [auto]") -> None:
    parser.add_argument("--device", default="auto", help=help)


def add_json_flag(parser: argparse.ArgumentParser, help: str = "print a machine-readable summary on stdout") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_fail_fast_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-fast",
        action="store_true",
        help="stop at the first image that cannot be read [go on, list the failures at the end]",
    )


def add_flow_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--flow", default="medium", choices=("ultrafast", "fast", "medium"), help="optical-flow preset (DIS) [medium]"
    )


def add_run_folder_flags(parser: argparse.ArgumentParser, help: str) -> None:
    """``-o FOLDER`` (a training run's folder) and ``--resume`` (continue its checkpoint)."""
    parser.add_argument("-o", "--output", required=True, metavar="FOLDER", help=help)
    parser.add_argument("--resume", action="store_true", help="continue FOLDER/checkpoint.pt")


def picked(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The flags ``names`` as keyword arguments of the same names (``image_size=args.image_size``...)."""
    return {name: getattr(args, name) for name in names}


def config_values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of the config dataclass ``cls`` that were given as flags (unset flags are None)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None}


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


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
