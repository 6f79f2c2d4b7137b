"""The top level of the command line: version, help, the module entry point."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import Result

from pgolf_cli import __version__
from pgolf_cli.cli import app

Invoke = Callable[..., Result]
RunModule = Callable[..., "subprocess.CompletedProcess[str]"]

COMMANDS = (
    "audit",
    "rules",
    "data",
    "train",
    "init",
    "stats",
    "schema",
    "verify",
    "package",
    "plot",
    "gate",
    "sweep",
)
#: Commands whose output is a report with a choice of formats.
REPORTING = ("audit", "rules", "stats", "verify", "gate", "sweep")


def test_version(invoke: Invoke) -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"pgolf {__version__}"


def test_no_arguments_shows_help(invoke: Invoke) -> None:
    result = invoke()
    # no_args_is_help: the help is printed and the run counts as a usage error.
    assert "audit" in result.output
    assert "rules" in result.output
    assert result.exit_code == 2


def test_help_lists_every_command(invoke: Invoke) -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout
    assert "--install-completion" in result.stdout


def test_the_commands_tested_here_are_all_the_commands() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.main.TyperGroup)
    assert sorted(group.commands) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_on_every_command(invoke: Invoke, command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert f"pgolf {command}" in result.stdout or "Usage" in result.stdout
    if command in REPORTING:
        assert "--format" in result.stdout


def test_audit_help_shows_every_option(invoke: Invoke) -> None:
    result = invoke("audit", "--help")
    for option in (
        "--format",
        "--output",
        "--select",
        "--ignore",
        "--fail-on",
        "--min-confidence",
        "--exit-zero",
        "--show-suppressed",
        "--jobs",
        "--quiet",
    ):
        assert option in result.stdout, option


def test_bad_option_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("audit", "--format", "xml", "x.py")
    assert result.exit_code == 2
    assert "xml" in result.output


def test_python_dash_m(run_module: RunModule, tmp_path: Path) -> None:
    result = run_module("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"pgolf {__version__}"


def test_python_dash_m_show_completion(run_module: RunModule, tmp_path: Path) -> None:
    result = run_module("--show-completion", "bash", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "complete" in result.stdout
