"""Walking libcst trees fast: the semantic children of a node.

The analyses walk expressions about 5 * 10^4 times per file; libcst's own ``children`` property
re-visits the node to collect them, many times slower than reading the node's fields.
"""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Callable
from typing import Any

import libcst as cst

_SKIP_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "whitespace_before",
        "whitespace_after",
        "comma",
        "equal",
        "star",
        "whitespace_after_star",
        "whitespace_after_param",
        "whitespace_before_in",
        "whitespace_after_in",
        "whitespace_before_if",
        "whitespace_after_if",
        "whitespace_before_else",
        "whitespace_after_else",
        "whitespace_after_await",
        "whitespace_after_lambda",
        "colon",
        "dot",
        "operator",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "asynchronous",
        "whitespace_before_args",
        "whitespace_before_walrus",
        "whitespace_after_walrus",
        "whitespace_before_indicator",
        "whitespace_after_indicator",
    }
)
LAYOUT: frozenset[type[cst.CSTNode]] = frozenset(
    {
        cst.SimpleWhitespace,
        cst.ParenthesizedWhitespace,
        cst.TrailingWhitespace,
        cst.EmptyLine,
        cst.Comment,
        cst.Newline,
        cst.Semicolon,
    }
)
"""Nodes that hold no code: the layout of the lines around it (a third of a file's nodes, in
fields the names above do not cover: ``leading_lines``, ``header``, ``trailing_whitespace``,
``whitespace_after_func``, ...). No analysis reads them through :func:`children`."""
_IS_NODE: dict[type, bool] = {}
"""Per type, whether it is a libcst node that holds code. Every libcst class has ABCMeta as its
metaclass, so ``isinstance(x, cst.CSTNode)`` goes through the slow ABC check; the walk asks
this ~10^5 times per file, so it asks a dict instead."""
_READERS: dict[type[cst.CSTNode], Callable[[cst.CSTNode], tuple[Any, ...]] | None] = {}
"""Per node type, one call that reads every field that may hold code (None: no such field)."""
_NO_CODE_TYPES: tuple[type, ...] = (
    str,
    bool,
    int,
    type(None),
    cst.MaybeSentinel,
    cst.BaseParenthesizableWhitespace,
    *LAYOUT,
)


def _is_node(value: object) -> bool:
    kind = type(value)
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = issubclass(kind, cst.CSTNode) and kind not in LAYOUT
    return known


def _may_hold_code(declared: object) -> bool:
    """Whether a field declared with this type can hold a node with code: False only when
    every type its declaration names (through ``Optional``, ``Union``, ``Sequence``) is text,
    a flag, a sentinel or layout (``Name.value: str``, ``leading_lines: Sequence[EmptyLine]``).
    A name that does not resolve (a forward reference) is kept."""
    if typing.get_origin(declared) is typing.Literal:
        return False
    arguments = typing.get_args(declared)
    if arguments:
        return any(_may_hold_code(argument) for argument in arguments)
    return not (isinstance(declared, type) and issubclass(declared, _NO_CODE_TYPES))


def _reader(kind: type[cst.CSTNode]) -> Callable[[cst.CSTNode], tuple[Any, ...]] | None:
    names = [
        f.name
        for f in dataclasses.fields(kind)
        if f.name not in _SKIP_FIELDS and _may_hold_code(f.type)
    ]
    if not names:
        return None
    if len(names) == 1:
        only = operator.attrgetter(names[0])
        return lambda node: (only(node),)
    return operator.attrgetter(*names)


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Semantic children of a node: its code, without whitespace, comments and punctuation.

    The analyses walk expressions through this about 5 * 10^4 times per file: the fields that
    can hold code are read in one call per node (a leaf such as a name has none), the result is
    a list (no generator) and the node test is a dict look-up."""
    kind = type(node)
    try:
        read = _READERS[kind]
    except KeyError:
        read = _READERS[kind] = _reader(kind)
    if read is None:
        return []
    out: list[cst.CSTNode] = []
    is_node = _IS_NODE
    for value in read(node):
        kind = type(value)
        if kind is tuple or kind is list:
            for item in value:
                known = is_node.get(type(item))
                if known is None:
                    known = _is_node(item)
                if known:
                    out.append(item)
        else:
            known = is_node.get(kind)
            if known is None:
                known = _is_node(value)
            if known:
                out.append(value)
    return out


HOLDS_STATEMENTS: frozenset[type[cst.CSTNode]] = frozenset(
    {
        cst.Module,
        cst.IndentedBlock,
        cst.SimpleStatementSuite,
        cst.SimpleStatementLine,
        cst.If,
        cst.Else,
        cst.For,
        cst.While,
        cst.With,
        cst.Try,
        cst.TryStar,
        cst.ExceptHandler,
        cst.ExceptStarHandler,
        cst.Finally,
        cst.Match,
        cst.MatchCase,
        cst.FunctionDef,
        cst.ClassDef,
    }
)
"""The node types with statements below them. Python has no statement inside an expression
(a lambda's body is an expression), so a scan for assignments or loops opens only these: the
exact type test skips the expressions, most of a function's nodes, unvisited."""
