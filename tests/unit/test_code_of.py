"""``code_of`` puts common expressions together itself: it must match libcst's generated code
with every whitespace character removed, on every node of tricky code."""

from __future__ import annotations

import libcst as cst
import pytest

from pgolf_cli.audit.facts import code_of
from pgolf_cli.audit.nodes import children

_MODULE = cst.Module(body=[])

TRICKY = [
    "a.b.c[i - n : i](x, *args, key = 'a  b', **kw)",
    "f(\n    a,  # a comment\n    b=(c  # another\n       + d),\n)",
    "x[1:2:3, ::2, :, -1, a[b][c],]",
    "x = (  # opened\n    y\n    .z\n)",
    "y = a \\\n    + b",
    "t = a not in b and c is not d or not e",
    "u = ((a)) < -b <= ~c == +d != e >= f > g",
    "v = a ** b // c % d @ e << f >> g | h & i ^ j",
    "w = f'{x} y' + 'p q' 'r'",
    "s = x[lambda: 1, [1, 2], {k: v for k, v in d}]",
    "r = obj.method()(1)[0].attr",
    "q = call(*[a, b], **{'k': 1})",
    "p = x[ *idx ]",
]


def _nodes(code: str) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [cst.parse_module(code)]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.BaseExpression):
            out.append(node)
        stack.extend(children(node))
    return out


@pytest.mark.parametrize("code", TRICKY)
def test_code_of_matches_libcst_without_whitespace(code: str) -> None:
    nodes = _nodes(code)
    assert nodes
    for node in nodes:
        expected = "".join(_MODULE.code_for_node(node).split())
        assert code_of(node) == expected, type(node).__name__


def test_code_of_keeps_comments_and_continuations() -> None:
    (call,) = (n for n in _nodes("f(a,  # note\n  b)") if isinstance(n, cst.Call))
    assert code_of(call) == "f(a,#noteb)"
    (sum_,) = (n for n in _nodes("y = a \\\n    + b") if isinstance(n, cst.BinaryOperation))
    assert code_of(sum_) == "a\\+b"
