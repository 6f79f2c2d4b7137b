"""``children`` reads only the fields whose declared types can hold code: it must give exactly
what reading every field (but the punctuation ones) and keeping the code nodes gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import libcst as cst
import pytest

from pgolf_cli.audit import nodes
from pgolf_cli.audit.nodes import children

FIXTURES = sorted((Path(__file__).parent.parent / "checks" / "fixtures").glob("*.py"))

RARE_SHAPES = """\
from . import a as b, c
from ..pkg import *
import x.y as z
@decorator(arg)
async def f(a, /, b: int = 1, *args, c, d=2, **kw) -> "T":
    global g
    async with ctx() as (p, q), other:
        async for i in aiter():
            await i
    try:
        pass
    except* ValueError as e:
        raise e from None
    else:
        del x[0], y.z
    finally:
        assert a, "message"
    match command:
        case [1, *rest] | {"k": v, **others} if v > 0:
            pass
        case Point(x=0, y=_) as point:
            pass
        case -1 | 1.5 | 2j | "s" | None:
            pass
    lambda q, *r, s=1: (yield q)
    x = [i async for i in g if i] + {k: v for k, v in d} + {*s} + (y := 3)
    t = a[1:2:3, ...] if b else f"{c!r:>{w}}" "tail"
    nonlocal_like: list[int] = []
    return not a, -b, a @ b, a < b <= c, *star
class K(Base, metaclass=M):
    x: int
    def m(self): ...
"""


def _reference(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Every field but the punctuation ones, kept when it holds a node with code."""
    out: list[cst.CSTNode] = []
    for field in dataclasses.fields(node):
        if field.name in nodes._SKIP_FIELDS:
            continue
        value = getattr(node, field.name)
        for item in value if isinstance(value, tuple | list) else [value]:
            if isinstance(item, cst.CSTNode) and type(item) not in nodes.LAYOUT:
                out.append(item)
    return out


def _all_nodes(module: cst.Module) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(node.children)  # libcst's own: every node, layout included
    return found


@pytest.mark.parametrize("code", [RARE_SHAPES, *(p.read_text() for p in FIXTURES)])
def test_children_are_the_code_nodes_of_every_field(code: str) -> None:
    module = cst.parse_module(code)
    seen = _all_nodes(module)
    assert len({type(n) for n in seen}) > 20
    for node in seen:
        assert children(node) == _reference(node), type(node).__name__


def test_fields_declared_as_text_flags_or_layout_are_not_read() -> None:
    assert not nodes._may_hold_code(str)
    assert not nodes._may_hold_code(cst.SimpleWhitespace | cst.MaybeSentinel)
    assert nodes._may_hold_code(cst.BaseExpression | None)
    assert children(cst.Name("x")) == []
    assert nodes._READERS[cst.Name] is None  # a leaf: no field read at all
