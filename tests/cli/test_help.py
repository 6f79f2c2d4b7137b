"""``--help`` of every command reads cleanly: reflowed paragraphs, no type placeholders, a
usage line in click's convention, exit codes stated."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from pgolf_cli.cli import app
from pgolf_cli.cli._help import PgolfCommand, PgolfGroup, reflow


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    root = typer.main.get_command(app)

    def walk(path: tuple[str, ...], command: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
        yield path, command
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk((*path, name), sub)

    yield from walk((), root)


COMMANDS = [path for path, _ in _commands()]


def _help(path: tuple[str, ...], width: int = 100) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_every_command_uses_the_pgolf_classes() -> None:
    # A command added later without them would print <bool> and ragged paragraphs again.
    for path, command in _commands():
        expected = PgolfGroup if isinstance(command, TyperGroup) else PgolfCommand
        assert isinstance(command, expected), (path, type(command))


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "pgolf")
def test_no_type_placeholders(path: tuple[str, ...]) -> None:
    text = _help(path)
    for placeholder in re.findall(r"<(?:bool|int|float|str|path|list\[[^\]]*\]|Path)>", text):
        pytest.fail(f"pgolf {' '.join(path)} --help shows {placeholder}")
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage, usage


@pytest.mark.parametrize("path", [p for p in COMMANDS if p], ids=" ".join)
def test_exit_codes_are_stated(path: tuple[str, ...]) -> None:
    if path == ("data",):
        return  # a group: its commands state theirs
    assert "Exit codes:" in " ".join(_help(path, width=200).split()), path


def test_paragraphs_are_not_broken_at_the_source_width() -> None:
    # train's docstring wraps after "the"; at a wide terminal the sentence is one line.
    text = _help(("train",), width=200)
    assert "with the full train.log, the artifact and run.json. A failed seed" in text


def test_usage_lines() -> None:
    usages = {
        path: " ".join(next(line for line in _help(path).splitlines() if "Usage:" in line).split())
        for path in (("audit",), ("train",), ("verify",), ("rules",), ("data", "check-bytes"))
    }
    assert usages == {
        ("audit",): "Usage: pgolf audit [OPTIONS] PATH...",
        ("train",): "Usage: pgolf train [OPTIONS] [SCRIPT]",  # one script
        ("verify",): "Usage: pgolf verify [OPTIONS] RECORD_DIR...",
        ("rules",): "Usage: pgolf rules [OPTIONS] [RULE_ID]",
        ("data", "check-bytes"): "Usage: pgolf data check-bytes [OPTIONS] TOKENIZER [TEXT]",
    }


def test_top_level_help_describes_the_whole_loop() -> None:
    text = " ".join(_help(()).split())
    for command in ("data", "train", "plot", "stats", "package", "verify", "audit", "gate"):
        assert f"pgolf {command}" in text, command


def test_reflow() -> None:
    text = "First line\n    of a paragraph.\n\nSecond\nparagraph.\n\n- item one\n- item\n  two"
    assert (
        reflow(text) == "First line of a paragraph.\n\nSecond paragraph.\n\n- item one\n- item two"
    )
    examples = "[bold]pgolf a --x 1\n--y 2[/]\n[bold]pgolf b[/]"
    assert reflow(examples) == "[bold]pgolf a --x 1 --y 2[/]\n[bold]pgolf b[/]"
    # Prose that names a command is not an example paragraph.
    assert reflow("Run\n[bold]pgolf x[/] now.") == "Run [bold]pgolf x[/] now."
    assert reflow(None) is None
