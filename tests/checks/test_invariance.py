"""Metamorphic tests: a rewrite that keeps what the code does keeps the audit's verdict.

Every VALID and INVALID example of every rule of the catalogue, and every fixture script, is
rewritten by each behaviour-preserving transform of :mod:`metamorphic` (function bodies wrapped
in ``if True:``, ``try``/``finally``, ``match``, ``with contextlib.nullcontext()``, a one-pass
``for``; each body moved into a nested function called at once; trailing module code moved into
``main()``; local variables renamed; the whole file minified and packed). The rewrite must
produce the same rule ids at the corresponding lines as the original: the findings of the
original (whatever they are: this tests invariance, not the rules) are carried to the lines
their statements moved to and compared with the findings of the rewrite.

A new rule's examples are picked up from the catalogue, so they get this harness for free. The
engine's own rules (PG9xx) are left out of the comparison: they are about the text itself
(syntax, suppression comments, packing), which rewriting changes on purpose. A case exists only
where the transform has something to rewrite (a script without functions has no function
bodies to wrap).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import libcst as cst
import pytest
from metamorphic import TRANSFORMS, applies, undo

from pgolf_cli.audit.engine import audit_source
from pgolf_cli.audit.registry import all_rules
from pgolf_cli.audit.source import source_from_bytes, unpack

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KNOWN_DRIFT_FILE = Path(__file__).resolve().parent / "invariance_known_drift.txt"
#: Case ids (``<subject>-<transform>``) whose verdict a rewrite still moves: the audit's open gaps.
KNOWN_DRIFT = frozenset(
    line.strip()
    for line in KNOWN_DRIFT_FILE.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)


@dataclass(frozen=True)
class Subject:
    name: str
    shipped: str
    """The script as the example or fixture has it (possibly a packed wrapper)."""
    text: str
    """The code the audit reads: the decoded payload of a packed script."""

    @classmethod
    def of(cls, name: str, shipped: str) -> Subject:
        return cls(name, shipped, unpack(shipped)[0])


def _subjects() -> Iterator[Subject]:
    for rule in all_rules():
        if rule.id.startswith("PG9"):
            continue
        for kind in ("VALID", "INVALID"):
            for i, example in enumerate(getattr(rule, kind)):
                yield Subject.of(f"{rule.id}-{kind.lower()}-{i}", example.code)
    for path in sorted(FIXTURES.glob("*.py")):
        yield Subject.of(path.stem, path.read_text(encoding="utf-8"))


def _cases() -> list[object]:
    cases = []
    for subject in _subjects():
        tree = ast.parse(subject.text)
        for kind in TRANSFORMS:
            if applies(kind, subject.text, tree):
                cases.append(pytest.param(subject, kind, id=f"{subject.name}-{kind}"))
    return cases


Row = tuple[str, int]


def _findings(text: str) -> list[Row]:
    result = audit_source(source_from_bytes("train_gpt.py", text.encode()))
    assert result.error is None, result.error
    return sorted((f.rule_id, f.line) for f in result.findings if not f.rule_id.startswith("PG9"))


@cache
def _original(subject: Subject) -> list[Row]:
    return _findings(subject.shipped)


def _show(rows: list[Row], code: str) -> str:
    lines = code.splitlines()
    return "\n".join(
        f"  {rule} line {line}: {lines[line - 1].strip()[:100] if 0 < line <= len(lines) else '?'}"
        for rule, line in rows
    )


@pytest.mark.parametrize(("subject", "kind"), _cases())
def test_a_behaviour_preserving_rewrite_keeps_the_findings(subject: Subject, kind: str) -> None:
    text = subject.text
    rewritten = TRANSFORMS[kind](text, cst.parse_module(text))
    assert rewritten is not None, f"{kind} found nothing to rewrite"
    # The rewrite is what it claims: it compiles, and undoing it gives back the same tree.
    compile(rewritten.code, f"<{kind}>", "exec")
    if kind == "minify-pack":
        assert unpack(rewritten.text)[0] == rewritten.code
    else:
        assert ast.dump(undo(kind, text, rewritten.code)) == ast.dump(ast.parse(text))
    original = _original(subject)
    # Each finding of the original, at the line its statement is on after the rewrite.
    expected = sorted((rule, rewritten.lines.get(line, -line)) for rule, line in original)
    found = _findings(rewritten.text)
    case = f"{subject.name}-{kind}"
    if case in KNOWN_DRIFT:
        assert found != expected, (
            f"{case} keeps its findings now: delete its line from {KNOWN_DRIFT_FILE.name}"
        )
        return
    assert found == expected, (
        f"{kind} changed the findings of {subject.name}\n"
        f"original:\n{_show(original, text)}\n"
        f"expected after the rewrite:\n{_show(expected, rewritten.code)}\n"
        f"found after the rewrite:\n{_show(found, rewritten.code)}"
    )


def test_every_known_drift_is_a_case() -> None:
    ids = {param.id for param in _cases()}  # type: ignore[attr-defined]
    assert sorted(KNOWN_DRIFT - ids) == []
