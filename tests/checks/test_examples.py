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


@pytest.mark.parametrize(
    "rule", [r for r in all_rules() if not r.id.startswith("PG9")], ids=lambda r: r.id
)
def test_every_rule_has_enough_examples(rule: type[Rule]) -> None:
    # The engine's own findings (PG9xx) are covered by the engine tests instead.
    assert len(rule.VALID) >= 8 and len(rule.INVALID) >= 8, rule.id


def test_the_catalogue_covers_every_statically_checkable_rule() -> None:
    expected = {
        *(f"PG10{i}" for i in range(1, 7)),
        *(f"PG20{i}" for i in range(1, 7)),
        "PG301",
        "PG302",
        "PG303",
        "PG401",
        "PG402",
        "PG403",
    }
    assert expected <= {rule.id for rule in all_rules()}


_HEADINGS = (
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## Known problems",
    "## Ruling",
)


@pytest.mark.parametrize(
    "rule", [r for r in all_rules() if not r.id.startswith("PG9")], ids=lambda r: r.id
)
def test_every_rule_is_documented_under_the_six_headings_in_order(rule: type[Rule]) -> None:
    doc = rule.documentation()
    positions = [doc.find(heading + "\n") for heading in _HEADINGS]
    assert -1 not in positions, [h for h, p in zip(_HEADINGS, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    sections = [doc[a:b] for a, b in zip(positions, [*positions[1:], len(doc)], strict=True)]
    assert all(len(section.split()) > 6 for section in sections), "an empty section"
