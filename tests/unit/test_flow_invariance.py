"""The flow walker: reshaping a function body without changing what it does keeps the findings.

Each illegal example below is real-shaped (the catalogue's own examples, written in the styles
real scripts use). Every function body is wrapped in a construct that runs it exactly once —
``match 0: case _:``, ``if True:``, ``try/finally``, ``with contextlib.nullcontext():``,
``for _ in range(1):`` — or moved into a nested function called at once; the rule ids found
must stay the same.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst
import pytest

from pgolf_cli.audit.engine import audit_source
from pgolf_cli.audit.facts import VAL, Facts
from pgolf_cli.audit.findings import Reachability
from pgolf_cli.audit.positions import statement_lines
from pgolf_cli.audit.registry import get_rule
from pgolf_cli.audit.source import source_from_bytes

Wrap = Callable[[cst.IndentedBlock], cst.BaseStatement]


def _block(*lines: str) -> cst.IndentedBlock:
    return cst.IndentedBlock([cst.parse_statement(line) for line in lines])


_WRAPS: dict[str, Wrap] = {
    "match": lambda body: cst.Match(
        subject=cst.Integer("0"), cases=[cst.MatchCase(pattern=cst.MatchAs(), body=body)]
    ),
    "if-true": lambda body: cst.If(test=cst.Name("True"), body=body),
    "try-finally": lambda body: cst.Try(body=body, finalbody=cst.Finally(body=_block("pass"))),
    "with": lambda body: cst.With(
        items=[cst.WithItem(cst.parse_expression("contextlib.nullcontext()"))], body=body
    ),
    "for-once": lambda body: cst.For(
        target=cst.Name("_"), iter=cst.parse_expression("range(1)"), body=body
    ),
}


class _Wrapper(cst.CSTTransformer):
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        body = updated_node.body
        inner = (
            body
            if isinstance(body, cst.IndentedBlock)
            else cst.IndentedBlock([cst.SimpleStatementLine(list(body.body))])
        )
        if self.kind == "nested":
            # def f(a): <body>  ->  def f(a): def _run(): <body>; return _run()
            run = cst.FunctionDef(name=cst.Name("_run"), params=cst.Parameters(), body=inner)
            call = cst.parse_statement("return _run()")
            return updated_node.with_changes(body=cst.IndentedBlock([run, call]))
        return updated_node.with_changes(body=cst.IndentedBlock([_WRAPS[self.kind](inner)]))


def _rule_ids(code: str) -> list[str]:
    result = audit_source(source_from_bytes("example.py", code.encode()))
    assert result.error is None, result.error
    return sorted(f.rule_id for f in result.findings if not f.rule_id.startswith("PG9"))


def _example(rule_id: str, index: int) -> str:
    rule = get_rule(rule_id)
    assert rule is not None
    return rule.INVALID[index].code


# Rules the issue saw disappear when bodies were wrapped in `match`: test-time training on
# validation data (PG101), calibration on it (PG106), a look-up gating the scored token (PG203),
# a token shift across documents (PG206), training data read at eval (PG402), work after the
# wallclock cap (PG403); and a scoring-order rule (PG102).
_CASES = [
    ("PG101", 0),
    ("PG101", 3),
    ("PG102", 0),
    ("PG106", 0),
    ("PG203", 0),
    ("PG206", 0),
    ("PG303", 2),
    ("PG402", 0),
    ("PG403", 0),
]


@pytest.mark.parametrize("kind", [*_WRAPS, "nested"])
@pytest.mark.parametrize(("rule_id", "index"), _CASES, ids=[f"{r}-{i}" for r, i in _CASES])
def test_wrapping_every_function_body_keeps_the_findings(
    rule_id: str, index: int, kind: str
) -> None:
    code = _example(rule_id, index)
    before = _rule_ids(code)
    assert rule_id in before
    reshaped = cst.parse_module(code).visit(_Wrapper(kind)).code
    assert reshaped != code
    assert _rule_ids(reshaped) == before


def _facts(code: str) -> Facts:
    module = cst.parse_module(code)
    return Facts(module, statement_lines(module, code), code)


def test_a_case_comparing_a_switch_gates_like_the_equivalent_if() -> None:
    body = "def ttt():\n    pass\n\ndef main():\n{}\n\nmain()\n"
    as_if = '    if os.environ.get("TTT", "0") == "1":\n        ttt()'
    as_match = '    match os.environ.get("TTT", "0"):\n        case "1":\n            ttt()'
    gates = [
        _facts("import os\n" + body.format(branch)).gates["ttt"] for branch in (as_if, as_match)
    ]
    assert gates[0].reach == gates[1].reach == Reachability.OFF_BY_DEFAULT
    assert [s.env for s in gates[0].switches] == [s.env for s in gates[1].switches] == ["TTT"]


def test_a_later_case_is_guarded_by_the_earlier_cases_not_matching() -> None:
    code = (
        "import os\n"
        "def ttt():\n    pass\n"
        "def main():\n"
        '    match os.environ.get("MODE", "ttt"):\n'
        '        case "ttt":\n            pass\n'
        "        case _:\n            ttt()\n"
        "main()\n"
    )
    assert _facts(code).gates["ttt"].reach == Reachability.OFF_BY_DEFAULT


def test_a_capture_pattern_binds_the_subject_and_an_irrefutable_case_ends_the_match() -> None:
    code = (
        "def f(val_tokens, other):\n"
        "    x = other\n"
        "    match val_tokens:\n"
        "        case chunk:\n            x = chunk\n"
        "    return x\n"
    )
    fn = _facts(code).functions["f"]
    assert VAL in fn.returns
    # the state before an always-matching case does not flow past it: `other` (P1) is gone
    assert "P1" not in fn.returns


def test_a_closure_reads_what_its_enclosing_function_holds() -> None:
    code = (
        "def outer(val_tokens, model):\n"
        "    chunk = val_tokens[:100]\n"
        "    def step():\n"
        "        loss = model(chunk)\n"
        "        loss.backward()\n"
        "    step()\n"
    )
    facts = _facts(code)
    inner = facts.functions["outer.step"]
    assert inner.free == ("chunk", "model")
    assert facts.carries_val(inner.backwards[0].labels, "outer.step")


def test_nested_definitions_inside_a_match_case_are_found() -> None:
    code = "match 0:\n    case _:\n        def hidden():\n            pass\n"
    assert "hidden" in _facts(code).functions


def test_a_comprehension_binds_its_targets_like_the_loop_it_stands_for() -> None:
    code = (
        "def f(val_tokens, model, t):\n"
        "    [model(chunk).backward() for chunk in val_tokens]\n"
        "    return t\n"
    )
    fn = _facts(code).functions["f"]
    assert VAL in fn.backwards[0].labels
    # the comprehension's own name does not leak into (or clobber) the function's names
    assert fn.returns == {"P2"}
    shadowed = _facts(code.replace("chunk", "t")).functions["f"]
    assert VAL in shadowed.backwards[0].labels and shadowed.returns == {"P2"}
