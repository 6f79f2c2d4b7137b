"""The README's examples must match the code: every command and rule id it shows exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import typer

from pgolf_cli.audit.registry import all_rules
from pgolf_cli.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def _selects(pattern: str) -> bool:
    return any(rule.id.startswith(pattern.upper()) for rule in all_rules())


def test_every_pgolf_command_shown_exists() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.main.TyperGroup)
    for block in _blocks("bash"):
        for command in re.findall(r"pgolf ([a-z-]+)", block):
            assert command in group.commands, command


def test_every_rule_selector_shown_selects_a_rule() -> None:
    for block in _blocks("bash"):
        for flag_value in re.findall(r"--(?:select|ignore) (\S+)", block):
            for pattern in flag_value.split(","):
                assert _selects(pattern), pattern
    for block in _blocks("toml"):
        audit = tomllib.loads(block).get("tool", {}).get("pgolf", {}).get("audit", {})
        for pattern in [*audit.get("select", []), *audit.get("ignore", [])]:
            assert _selects(pattern), pattern


def test_set_up_and_test_commands_are_the_ones_ci_runs() -> None:
    bash = _blocks("bash")
    assert any(b.strip().endswith(".venv/bin/pgolf train") for b in bash)
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(b.strip() for b in bash if "pytest" in b)
    assert test_command in ci


def test_the_rule_table_lists_every_rule_of_the_catalogue_by_id_and_name() -> None:
    text = README.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| (PG\d{3}) ([a-z0-9-]+) \|", text, flags=re.MULTILINE))
    expected = {(rule.id, rule.name) for rule in all_rules() if not rule.id.startswith("PG9")}
    assert listed == expected
