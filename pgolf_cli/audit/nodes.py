"""Walking libcst trees fast: the semantic children of a node.

The analyses walk expressions about 5 * 10^4 times per file; libcst's own ``children`` property
re-visits the node to collect them, many times slower than reading the node's fields.
"""

from __future__ import annotations

import dataclasses

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
_CHILD_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}
_IS_NODE: dict[type, bool] = {}
"""Per type, whether it is a libcst node that holds code. Every libcst class has ABCMeta as its
metaclass, so ``isinstance(x, cst.CSTNode)`` goes through the slow ABC check; the walk asks
this ~10^5 times per file, so it asks a dict instead."""


def _is_node(value: object) -> bool:
    kind = type(value)
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = issubclass(kind, cst.CSTNode) and kind not in LAYOUT
    return known


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Semantic children of a node: its code, without whitespace, comments and punctuation.

    The analyses walk expressions through this about 5 * 10^4 times per file: a list (no
    generator) and the node test inlined as a dict look-up keep each call cheap."""
    kind = type(node)
    names = _CHILD_FIELDS.get(kind)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(node) if f.name not in _SKIP_FIELDS)
        _CHILD_FIELDS[kind] = names
    out: list[cst.CSTNode] = []
    is_node = _IS_NODE
    for name in names:
        value = getattr(node, name)
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
