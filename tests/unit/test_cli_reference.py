"""docs/reference-cli.md documents every command and every long option of the parser."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from canapy.cli import build_parser

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference-cli.md"
TOP_SECTION = "Options of every command"


def _sections(text: str) -> dict[str, str]:
    """Markdown sections keyed by their heading text."""
    parts = re.split(r"^#{2,3} (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def _long_options(parser: argparse.ArgumentParser) -> list[str]:
    return [
        opt
        for action in parser._actions
        for opt in action.option_strings
        if opt.startswith("--") and opt != "--help"
    ]


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, bool]]:
    """(command path, parser, whether it has sub-commands) for every (sub-)command."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if path:
        yield path, parser, bool(subs)
    for action in subs:
        for name, sub in action.choices.items():
            yield from _commands(sub, (*path, name))


def _mentions(section: str, option: str) -> bool:
    return re.search(rf"`{re.escape(option)}[` ]", section) is not None


def test_walk_finds_every_command():
    names = {" ".join(path) for path, _, _ in _commands(build_parser())}
    assert {"train", "review", "history export", "config show"} <= names


def test_top_level_options_are_documented():
    section = _sections(REFERENCE.read_text())[TOP_SECTION]
    for option in _long_options(build_parser()):
        assert _mentions(section, option), f"{option} missing from '{TOP_SECTION}'"


@pytest.mark.parametrize(
    "path,parser,has_subcommands",
    list(_commands(build_parser())),
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else "",
)
def test_command_options_are_documented(path, parser, has_subcommands):
    sections = _sections(REFERENCE.read_text())
    title = "canapy " + " ".join(path)
    options = _long_options(parser)
    if has_subcommands and not options:
        return  # a command group such as `canapy config`: its actions have the sections
    assert title in sections, f"no section '## {title}' in {REFERENCE.name}"
    missing = [o for o in options if not _mentions(sections[title], o)]
    assert not missing, f"{title}: {missing} not in its section of {REFERENCE.name}"


def test_a_missing_option_is_caught():
    section = _sections(REFERENCE.read_text())["canapy train"]
    assert _mentions(section, "--overlap-tolerance")
    assert not _mentions(section.replace("`--overlap-tolerance`", ""), "--overlap-tolerance")
