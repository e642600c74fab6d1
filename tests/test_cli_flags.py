"""The argument table of the command line, ``impasto/cli/flags.toml``: well formed, and the same
commands and actions as the parser that ``impasto.cli.build_parser`` makes from it."""

from __future__ import annotations

import argparse
import fnmatch
import tomllib
from pathlib import Path
from typing import Any

import pytest

from impasto import cli
from impasto.cli import common
from impasto.universal.config import METHODS

REPO = Path(__file__).resolve().parents[1]


def commands(table: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every command and action of the table by its name (``"evaluate"``, ``"fast.train"``)."""
    out: dict[str, dict[str, Any]] = {}
    for key, entry in table.items():
        if isinstance(entry, dict) and not (prefix == "" and key == "shared"):
            out[prefix + key] = entry
            out.update(commands(entry, f"{prefix}{key}."))
    return out


def parser_names(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every command and action of the parser by the same names."""
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[prefix + name] = sub
                out.update(parser_names(sub, f"{prefix}{name}."))
    return out


TABLE = common.flag_table()
COMMANDS = commands(TABLE)
ITEM_LISTS = {f"shared.{name}": items for name, items in TABLE["shared"].items()}
ITEM_LISTS.update({name: entry.get("args", []) for name, entry in COMMANDS.items()})


def test_table_and_parser_have_the_same_commands_and_actions():
    built = parser_names(cli.build_parser())
    assert sorted(built) == sorted(COMMANDS)
    for name, parser in built.items():
        entry = COMMANDS[name]
        assert parser.description == entry.get("description"), name
        assert bool(common.action_names(entry)) == ("dest" in entry), f"{name}: dest goes with actions"


@pytest.mark.parametrize("name", sorted(ITEM_LISTS))
def test_every_item_is_well_formed(name):
    for item in ITEM_LISTS[name]:
        kinds = [key for key in ("name", "flags", "use", "config") if key in item]
        assert len(kinds) == 1, f"{name}: {item} needs one of name, flags, use, config"
        if "config" in item:
            assert set(item) <= {"config", "title"}, f"{name}: {item}"
            assert item["config"] in common.config_classes(), f"{name}: unknown config {item['config']!r}"
            continue
        assert set(item) - {"use"} <= common.ARGUMENT_KEYS, f"{name}: unknown keys in {item}"
        if "use" in item:
            assert item["use"] in TABLE["shared"], f"{name}: no [shared] {item['use']!r}"
            if len(item) > 1:
                assert len(common.expanded_args([{"use": item["use"]}])) == 1, f"{name}: overrides a set: {item}"
        if "type" in item:
            assert item["type"] in common.TYPES, f"{name}: unknown type {item['type']!r}"
        if "flags" in item:
            assert all(flag.startswith("-") for flag in item["flags"]), f"{name}: {item['flags']}"
        else:
            assert "name" not in item or not item["name"].startswith("-"), f"{name}: {item['name']} is a flag"


@pytest.mark.parametrize("name", sorted(n for n, e in COMMANDS.items() if "args" in e))
def test_no_flag_or_name_twice_in_one_command(name):
    args = [arg for arg in common.expanded_args(COMMANDS[name]["args"]) if "config" not in arg]
    assert all(arg.get("help") for arg in args), f"{name}: an argument without help"
    flags = [flag for arg in args for flag in arg.get("flags", [])]
    assert len(flags) == len(set(flags)), f"{name}: {sorted(f for f in flags if flags.count(f) > 1)}"
    dests = [arg.get("dest") or arg.get("name") or _dest(arg["flags"]) for arg in args]
    assert len(dests) == len(set(dests)), f"{name}: {sorted(d for d in dests if dests.count(d) > 1)}"


def _dest(flags: list[str]) -> str:
    """argparse's attribute name for an option: its first long spelling, else its first."""
    long = [flag for flag in flags if flag.startswith("--")]
    return (long or flags)[0].lstrip("-").replace("-", "_")


def test_shared_sets_are_all_used():
    used = {arg["use"] for items in ITEM_LISTS.values() for arg in items if "use" in arg}
    assert set(TABLE["shared"]) == used


def test_stylize_method_choices_follow_the_universal_methods():
    method = next(arg for arg in TABLE["stylize"]["args"] if arg.get("flags") == ["--method"])
    assert tuple(method["choices"]) == ("gatys", *METHODS)


def test_a_command_needs_exactly_its_actions():
    sub = common.Parser(prog="impasto").add_subparsers(parser_class=common.Parser)
    with pytest.raises(ValueError, match="fast has the actions"):
        common.add_command(sub, "fast", train=print, apply=print)


def test_table_argument_types_reach_argparse():
    sub = common.Parser(prog="impasto").add_subparsers(parser_class=common.Parser)
    parser = common.add_command(sub, "augment", print)
    assert parser.parse_args(["--strength", "0.5:1", "--copies", "3"]).strength == (0.5, 1.0)
    assert parser.parse_args(["--copies", "3"]).copies == 3


def test_the_table_ships_with_the_package():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["impasto"]
    assert any(fnmatch.fnmatch("cli/flags.toml", pattern) for pattern in patterns)
