"""The facts pre-pass skips what cannot matter; what it finds must not change.

Each pruned scan is compared with the same scan unpruned, on code shaped to defeat the pruning
(windows over several lines, several statements on a line, other line ends)."""

from __future__ import annotations

import libcst as cst
import pytest

from pgolf_cli.audit.context import Context
from pgolf_cli.audit.facts import TGT, Facts, _context_ends
from pgolf_cli.audit.flow import Guard
from pgolf_cli.audit.positions import statement_lines
from pgolf_cli.audit.values import Assigned


def _facts(code: str) -> Facts:
    module = cst.parse_module(code)
    return Facts(module, statement_lines(module, code), code)


def _target_lookups(code: str) -> list[tuple[int, str]]:
    fn = _facts(code).functions["score"]
    return [(lookup.where.line, lookup.table) for lookup in fn.lookups if TGT in lookup.key_labels]


WINDOWS = {
    "one line": "    ctx = tokens[i - n : i]\n",
    "bracket and colon on other lines": "    ctx = tokens[\n        i - n\n        :\n        i]\n",
    "after another statement": "    k = 1; ctx = tokens[max(0, i - n) : i]\n",
    "in a call": "    ctx = hash(tuple(tokens[:i]))\n",
    "in a header": "    if tokens[i - n : i].sum() > 0:\n        pass\n",
    "after a form feed in a string": '    s = "a\x0cb"\n    ctx = tokens[i - n : i]\n',
    "after a log line": '    print(f"{n:.3f}")\n    ctx = tokens[i - n : i]\n',
}


@pytest.mark.parametrize("window", WINDOWS.values(), ids=WINDOWS.keys())
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_a_context_window_makes_the_read_at_its_end_the_target(window: str, newline: str) -> None:
    code = "def score(tokens, i, n, table):\n" + window + "    return table[tokens[i]]\n"
    line = code.count("\n")
    assert _target_lookups(code.replace("\n", newline)) == [(line, "table")]


def test_without_a_window_the_read_is_no_target() -> None:
    code = (
        "def score(tokens, i, n, table):\n"
        '    print(f"{n:.3f}", {"a": i})\n'  # colons, but no slice
        "    ctx = tokens[i - n]\n"  # brackets, but no slice
        "    return table[tokens[i]]\n"
    )
    assert _target_lookups(code) == []


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_pruned_window_scan_equals_the_full_scan(newline: str) -> None:
    code = "def score(tokens, i, n, table):\n" + "".join(WINDOWS.values()) + "    return 0\n"
    code = code.replace("\n", newline)
    facts = _facts(code)
    node = facts.functions["score"].node
    assert node is not None
    full = _context_ends([node.body], lambda _: True)
    assert full == _context_ends([node.body], facts.may_slice)
    assert ("tokens", "i") in full


def test_records_built_without_frozen_stay_hashable_and_equal_by_value() -> None:
    # Context, Guard and Assigned are not frozen (for speed) but are keys of the gate caches.
    test = cst.Name("enabled")
    guards = (Guard(test, False, 3), Guard(test, True, 5))
    assert {guards: 1}[(Guard(test, False, 3), Guard(test, True, 5))] == 1
    assert Guard(test, False, 3) != Guard(test, True, 3)
    where = Context(1, 3, (), guards, False, False)
    assert hash(where) == hash(Context(1, 3, (), guards, False, False))
    assert len({Assigned(test, guards), Assigned(test, guards), Assigned(test)}) == 2
