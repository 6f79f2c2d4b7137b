"""The audit's layering: one flow walker, analyses that describe, rules that decide."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pgolf_cli.audit
from pgolf_cli.audit.flow import Flow

_AUDIT = Path(next(iter(pgolf_cli.audit.__path__)))
_RULE_ID = re.compile(r"PG(?!9)\d{3}")


def test_no_module_of_the_audit_names_a_rule_id_but_the_engines_own() -> None:
    # Which rule reports what an analysis describes is decided in checks/, nowhere else.
    named = [
        f"{path.relative_to(_AUDIT)}:{number}: {match.group()}"
        for path in sorted(_AUDIT.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for match in _RULE_ID.finditer(line)
    ]
    assert named == []


def test_the_rule_id_pattern_would_catch_a_rule_id() -> None:
    assert _RULE_ID.search('owner = "PG101"') and not _RULE_ID.search("PG901 engine")


def _audit_classes() -> list[type]:
    found: list[type] = []
    for info in pkgutil.walk_packages([str(_AUDIT)], prefix="pgolf_cli.audit."):
        module = importlib.import_module(info.name)
        found += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if cls.__module__ == module.__name__
        ]
    return found


def test_every_statement_walker_is_a_flow_walker() -> None:
    # A class that walks blocks of statements must inherit Python's control flow from the one
    # base rather than re-implementing it (and drifting from it).
    walkers = [cls for cls in _audit_classes() if hasattr(cls, "block")]
    assert len(walkers) >= 8
    assert [cls.__qualname__ for cls in walkers if not issubclass(cls, Flow)] == []
