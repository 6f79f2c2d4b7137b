"""Every VALID / INVALID example of every rule, through the real audit pipeline."""

from __future__ import annotations

import pytest

from pgolf_cli.audit.engine import audit_source
from pgolf_cli.audit.registry import all_rules
from pgolf_cli.audit.rule import Example, Rule
from pgolf_cli.audit.source import source_from_bytes


def _cases(kind: str) -> list[object]:
    cases = []
    for rule in all_rules():
        for i, example in enumerate(getattr(rule, kind)):
            cases.append(
                pytest.param(rule, example, id=f"{rule.id}-{kind.lower()}-{i}-{example.title[:40]}")
            )
    return cases


def _findings(rule: type[Rule], example: Example) -> list[object]:
    result = audit_source(source_from_bytes("example.py", example.code.encode()))
    assert result.error is None, result.error
    return [f for f in result.findings if f.rule_id == rule.id]


@pytest.mark.parametrize(("rule", "example"), _cases("VALID"))
def test_valid_example_has_no_finding(rule: type[Rule], example: Example) -> None:
    found = _findings(rule, example)
    assert found == [], [f"{f.line}: {f.message}" for f in found]


@pytest.mark.parametrize(("rule", "example"), _cases("INVALID"))
def test_invalid_example_is_found_on_its_line(rule: type[Rule], example: Example) -> None:
    found = _findings(rule, example)
    assert [f.line for f in found] == [example.line], [f"{f.line}: {f.message}" for f in found]
    expected = example.severity or rule.severity
    assert found[0].severity == expected


def test_every_core_rule_has_enough_examples() -> None:
    for rule in all_rules():
        if rule.id in ("PG101", "PG102", "PG201"):
            assert len(rule.VALID) >= 8 and len(rule.INVALID) >= 8, rule.id
