"""``pgolf rules``: the catalogue and one rule's documentation."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import Result

from pgolf_cli.audit.registry import all_rules, get_rule

Invoke = Callable[..., Result]


def test_catalogue_lists_every_rule(invoke: Invoke) -> None:
    result = invoke("rules")
    assert result.exit_code == 0
    for rule in all_rules():
        assert rule.id in result.stdout
        assert rule.name in result.stdout


def test_catalogue_as_json(invoke: Invoke) -> None:
    result = invoke("rules", "--format", "json")
    assert result.exit_code == 0
    entries = json.loads(result.stdout)
    assert [e["id"] for e in entries] == [rule.id for rule in all_rules()]
    assert set(entries[0]) == {"id", "name", "severity", "confidence", "summary"}


def test_one_rule_shows_documentation_and_examples(invoke: Invoke) -> None:
    rule = get_rule("PG101")
    assert rule is not None
    result = invoke("rules", "PG101")
    assert result.exit_code == 0
    assert "PG101" in result.stdout
    assert rule.name in result.stdout
    assert "Why is this bad?" in result.stdout
    assert "Invalid examples" in result.stdout
    first_invalid = rule.INVALID[0]
    assert first_invalid.title in result.stdout
    assert f"on line {first_invalid.line}" in result.stdout


def test_rule_id_is_case_insensitive(invoke: Invoke) -> None:
    assert invoke("rules", "pg101").exit_code == 0


def test_one_rule_as_json(invoke: Invoke) -> None:
    rule = get_rule("PG101")
    assert rule is not None
    result = invoke("rules", "PG101", "--format", "json")
    assert result.exit_code == 0
    details = json.loads(result.stdout)
    assert details["id"] == "PG101"
    assert details["documentation"] == rule.documentation()
    assert len(details["invalid"]) == len(rule.INVALID)
    assert [e["line"] for e in details["invalid"]] == [e.line for e in rule.INVALID]


def test_unknown_rule_exits_2(invoke: Invoke) -> None:
    result = invoke("rules", "PG999")
    assert result.exit_code == 2
    assert "unknown rule PG999; run `pgolf rules` for the list" in result.stderr
    assert result.stdout == ""
