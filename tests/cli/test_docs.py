"""Every command block of README.md and docs/*.md, checked without running anything long.

* every ``bash`` block is valid shell (``bash -n``), the set-up block included;
* every ``pgolf`` command in them parses with the real command line: the subcommand exists,
  every flag exists, choices are valid and no required option is missing (placeholder paths
  that do not exist here are fine);
* every benchmark command names a script that exists and flags it defines.

tests/e2e/test_docs_run.py runs the commands on a real CPU run and compares the outputs the
documents show. A failure names the document, the line and the command.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup

from pgolf_cli.cli import app

ROOT = Path(__file__).resolve().parents[2]
# Flags that act while parsing (they print or install something and exit).
_EAGER = {"--install-completion", "--show-completion", "--help", "-h", "--version", "-V"}


def _segments(text: str) -> list[list[str]]:
    """The simple commands of a line: split at &&, ||, ; and |."""
    words = shlex.split(text, comments=True)
    segments: list[list[str]] = [[]]
    for word in words:
        if word in ("&&", "||", ";", "|"):
            segments.append([])
        else:
            segments[-1].append(word)
    return [segment for segment in segments if segment]


def _pgolf_invocations(text: str) -> list[list[str]]:
    return [seg[1:] for seg in _segments(text) if Path(seg[0]).name == "pgolf"]


def parse_problem(args: list[str]) -> str | None:
    """Why ``pgolf ARGS`` does not parse, or None. Nothing is run."""
    if _EAGER & set(args):
        return None
    command: Any = typer.main.get_command(app)
    name, rest, parent = "pgolf", list(args), None
    while True:
        try:
            ctx = command.make_context(name, rest, parent=parent)
        except typer.Exit:
            return None  # a group's no_args_is_help
        except Exception as problem:  # typer's vendored click errors
            format_message = getattr(problem, "format_message", None)
            message = format_message() if format_message else str(problem)
            if "does not exist" in message:
                return None  # a placeholder path of the example
            return message
        if not isinstance(command, TyperGroup):
            return None
        # The group keeps the subcommand's name aside (click's protected args).
        remaining = [
            *getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])),
            *ctx.args,
        ]
        if not remaining:
            return None
        try:
            _, sub, rest = command.resolve_command(ctx, remaining)
        except Exception as problem:  # no such command
            return str(problem)
        if sub is None:
            return f"no such command {remaining[0]!r}"
        name, parent, command = remaining[0], ctx, sub


def test_the_documents_have_command_blocks(doc_blocks: list[Any], doc_commands: list[Any]) -> None:
    assert sum(1 for b in doc_blocks if b.language == "bash") >= 10
    assert sum(1 for c in doc_commands if _pgolf_invocations(c.text)) >= 30
    assert sum(1 for b in doc_blocks if b.output_of) >= 4


def test_every_bash_block_is_valid_shell(doc_blocks: list[Any]) -> None:
    problems = []
    for block in doc_blocks:
        if block.language != "bash":
            continue
        checked = subprocess.run(
            ["bash", "-n"], input=block.text, capture_output=True, text=True, timeout=30
        )
        if checked.returncode != 0:
            problems.append(f"{block.where}: {checked.stderr.strip()}")
    assert not problems, "\n".join(problems)


def test_every_pgolf_command_parses(doc_commands: list[Any], doc_blocks: list[Any]) -> None:
    shown = [(c.where, c.text, args) for c in doc_commands for args in _pgolf_invocations(c.text)]
    shown += [
        (b.where, b.output_of, args)
        for b in doc_blocks
        if b.output_of
        for args in _pgolf_invocations(b.output_of)
    ]
    problems = [
        f"{where}: `{text}`: {problem}"
        for where, text, args in shown
        if (problem := parse_problem(args)) is not None
    ]
    assert not problems, "\n".join(problems)


def test_a_command_that_does_not_parse_is_caught() -> None:
    # The test above would have caught `pgolf data fineweb --variant sp1024` before
    # --train-shards had a default, and flags that no longer exist.
    assert parse_problem(["data", "fineweb", "--variant", "sp1024"]) is None
    assert "No such option" in (parse_problem(["audit", "x.py", "--no-such-flag"]) or "")
    assert parse_problem(["no-such-command"]) is not None
    assert parse_problem(["audit", "x.py", "--format", "yaml"]) is not None


def test_benchmark_commands_name_real_scripts_and_flags(doc_commands: list[Any]) -> None:
    problems = []
    for command in doc_commands:
        for segment in _segments(command.text):
            scripts = [w for w in segment if re.fullmatch(r"bench/\w+\.py", w)]
            if not scripts:
                continue
            script = ROOT / scripts[0]
            if not script.is_file():
                problems.append(f"{command.where}: {scripts[0]} does not exist")
                continue
            source = script.read_text(encoding="utf-8")
            for flag in (w for w in segment if w.startswith("--")):
                if f'"{flag}"' not in source:
                    problems.append(f"{command.where}: {scripts[0]} defines no {flag}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cd my-record && pgolf train # note", [["train"]]),
        ('pgolf package --blurb "a # b" --name X  # comment', [["package", "--blurb", "a # b", "--name", "X"]]),
        (".venv/bin/pgolf train", [["train"]]),
        ("python3 -m venv .venv", []),
    ],
)  # fmt: skip
def test_invocations(text: str, expected: list[list[str]]) -> None:
    assert _pgolf_invocations(text) == expected
