"""The README and the command line agree: every registered command (and every command of
every group) is in the README's table of commands and has help with an example; every
command the README names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from omvarld.cli.main import app

README = Path(__file__).resolve().parent.parent.parent / "README.md"


def _commands() -> list[tuple[str, ...]]:
    """Every command path, groups walked: ("crawl",), ("db", "upgrade"), …"""
    out: list[tuple[str, ...]] = []

    def walk(command, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):  # a group (Typer's own click)
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        else:
            out.append(path)

    walk(typer.main.get_command(app), ())
    return sorted(out)


COMMANDS = _commands()


def _table_rows() -> list[str]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Commands"):]
    table = table[:table.index("\n\n", table.index("| command"))]
    return [line for line in table.splitlines() if line.startswith("| `omvarld ")]


def test_the_cli_has_the_commands_of_every_group():
    assert len(COMMANDS) >= 25
    assert {("crawl",), ("weekly",), ("db", "upgrade"), ("watch", "add"),
            ("models", "build")} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_is_in_the_readme(path):
    rows = _table_rows()
    head, *rest = path
    row = [r for r in rows if re.match(rf"\| `omvarld {re.escape(head)}\b", r)]
    assert row, f"`omvarld {head}` is missing from the README's table of commands"
    if rest:
        first_cell = re.split(r"(?<!\\)\|", row[0])[1]
        assert re.search(rf"\b{re.escape(rest[0])}\b", first_cell), (
            f"`omvarld {' '.join(path)}` is missing from the README's row for `{head}`")


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output, f"`omvarld {' '.join(path)} --help` has no example"


def test_every_command_the_readme_names_exists():
    heads = {path[0] for path in COMMANDS}
    for row in _table_rows():
        named = re.match(r"\| `omvarld ([a-z-]+)", row).group(1)
        assert named in heads, f"the README names `omvarld {named}`, which does not exist"
