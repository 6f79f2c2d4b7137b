"""The rule catalogue: the only place that imports the top-level ``checks`` package."""

from __future__ import annotations

from functools import cache

from pgolf_cli.audit.rule import Rule


@cache
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule, sorted by id."""
    import checks

    found = [rule for rule in checks.CATALOGUE]
    ids = [rule.id for rule in found]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise RuntimeError(f"rule ids defined twice: {sorted(duplicates)}")
    return tuple(sorted(found, key=lambda rule: rule.id))


def get_rule(rule_id: str) -> type[Rule] | None:
    wanted = rule_id.strip().upper()
    for rule in all_rules():
        if rule.id == wanted:
            return rule
    return None


def matches(rule_id: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``rule_id`` is selected by ids or prefixes like ``PG1``."""
    return any(rule_id.startswith(p.strip().upper()) for p in patterns)
