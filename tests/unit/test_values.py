"""Static evaluation of env switches: the defaults decide whether a path is on."""

from __future__ import annotations

import libcst as cst
import pytest

from pgolf_cli.audit.values import UNKNOWN, WORLD, Evaluator


def _evaluate(setup: str, expr: str) -> object:
    module = cst.parse_module(setup)
    names: dict[str, cst.BaseExpression | None] = {}
    attrs: dict[str, cst.BaseExpression | None] = {}
    for line in module.body:
        assert isinstance(line, cst.SimpleStatementLine)
        assign = line.body[0]
        assert isinstance(assign, cst.Assign)
        target = assign.targets[0].target
        if isinstance(target, cst.Name):
            names[target.value] = assign.value
        elif isinstance(target, cst.Attribute):
            attrs[target.attr.value] = assign.value
    value, _reads = Evaluator(names, attrs, lambda _: 7).evaluate(cst.parse_expression(expr))
    return value


@pytest.mark.parametrize(
    ("setup", "expr", "expected"),
    [
        ('T = bool(int(os.environ.get("T", "1")))\n', "T", True),
        ('T = bool(int(os.environ.get("T", "0")))\n', "T", False),
        ('T = os.environ.get("T", "0") == "1"\n', "T", False),
        ('T = os.getenv("T", "True").lower() in ("1", "true")\n', "T", True),
        ('E = int(os.environ.get("TTT_EPOCHS", "0"))\n', "E > 0", False),
        ('E = int(os.environ.get("TTT_EPOCHS", "3"))\n', "E > 0 and not False", True),
        ('self.ttt = float(os.environ.get("TTT_LR", "0.0"))\n', "args.ttt", 0.0),
        ('T = os.environ.get("T")\n', "T", None),
        ('T = os.environ["T"]\n', "T", UNKNOWN),
        ('T = int(os.environ.get("T", "1" if world_size > 1 else "0"))\n', "T", WORLD),
        ('T = int(os.environ.get("WORLD_SIZE", "1")) > 1\n', "T", WORLD),
        ('T = int(os.environ.get("T", "1" if world_size > 1 else "1"))\n', "T", 1),
        ("T = step % 100 == 0\n", "T", UNKNOWN),
        ('A = int(os.environ.get("A", "0"))\n', "A or B", UNKNOWN),
        ('A = int(os.environ.get("A", "0"))\n', "A and B", 0),
    ],
)
def test_switch_defaults(setup: str, expr: str, expected: object) -> None:
    result = _evaluate(setup, expr)
    if expected is UNKNOWN or expected is WORLD:
        assert result is expected
    else:
        assert result == expected


def test_reads_name_the_switch_and_its_line() -> None:
    module = cst.parse_module('T = bool(int(os.environ.get("TTT_ENABLED", "0")))\n')
    assign = module.body[0].body[0]  # type: ignore[attr-defined]
    evaluator = Evaluator({"T": assign.value}, {}, lambda _: 4)
    value, reads = evaluator.evaluate(cst.parse_expression("not T"), 9)
    assert value is True
    assert [(r.env, r.default, r.line) for r in reads] == [("TTT_ENABLED", "'0'", 4)]


def test_self_reference_does_not_loop() -> None:
    assert _evaluate("T = T + 1\n", "T") is UNKNOWN
