"""The audit's one flow walker (see :mod:`pgolf_cli.audit.flow.walker`)."""

from __future__ import annotations

from pgolf_cli.audit.flow.walker import (
    Flow,
    Guard,
    Loop,
    NamesFlow,
    case_test,
    comprehension_scopes,
    early_exit,
    element_pairs,
    irrefutable,
    pattern_names,
    statements,
)

__all__ = [
    "Flow",
    "Guard",
    "Loop",
    "NamesFlow",
    "case_test",
    "comprehension_scopes",
    "early_exit",
    "element_pairs",
    "irrefutable",
    "pattern_names",
    "statements",
]
