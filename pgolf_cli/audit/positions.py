"""Line numbers of statements, cheaply.

libcst's ``PositionProvider`` derives positions by regenerating the whole source with position
tracking, which costs more than parsing the file in the first place. Findings only need the
lines of statements, and CPython's own parser (``ast``) computes those at a fraction of the
cost, so we parse once more with ``ast`` and pair its statements with libcst's: both trees list
the same statements in the same order. If the pairing ever disagrees (a grammar difference
between the two parsers), we fall back to libcst's provider for correctness.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

#: id(libcst statement) -> (first line, last line)
LineMap = dict[int, tuple[int, int]]


class _Mismatch(Exception):
    pass


_PAIRS: dict[type[cst.CSTNode], tuple[type[ast.AST], ...]] = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.Try: (ast.Try,),
    cst.TryStar: (ast.TryStar,),
    cst.Match: (ast.Match,),
}


def _cst_statements(body: cst.BaseSuite | Sequence[cst.BaseStatement]) -> Iterator[cst.CSTNode]:
    """The statements of a suite as ``ast`` lists them: small statements one by one."""
    items: Sequence[cst.CSTNode] = (
        body.body if isinstance(body, cst.IndentedBlock | cst.SimpleStatementSuite) else body  # type: ignore[assignment]
    )
    for item in items:
        if isinstance(item, cst.SimpleStatementLine):
            yield from item.body
        else:
            yield item


def _pair(
    cst_body: cst.BaseSuite | Sequence[cst.BaseStatement], ast_body: list[ast.stmt], out: LineMap
) -> None:
    cst_stmts = list(_cst_statements(cst_body))
    if len(cst_stmts) != len(ast_body):
        raise _Mismatch
    for c, a in zip(cst_stmts, ast_body, strict=True):
        expected = _PAIRS.get(type(c))
        if expected is not None and not isinstance(a, expected):
            raise _Mismatch
        out[id(c)] = (a.lineno, a.end_lineno or a.lineno)
        _pair_children(c, a, out)


def _pair_children(c: cst.CSTNode, a: ast.AST, out: LineMap) -> None:
    if isinstance(c, cst.FunctionDef | cst.ClassDef | cst.With) and isinstance(
        a, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.With | ast.AsyncWith
    ):
        _pair(c.body, a.body, out)
    elif isinstance(c, cst.If) and isinstance(a, ast.If):
        _pair(c.body, a.body, out)
        if isinstance(c.orelse, cst.If):
            _pair([c.orelse], a.orelse, out)
        elif isinstance(c.orelse, cst.Else):
            _pair(c.orelse.body, a.orelse, out)
    elif isinstance(c, cst.For | cst.While) and isinstance(a, ast.For | ast.AsyncFor | ast.While):
        _pair(c.body, a.body, out)
        if c.orelse is not None:
            _pair(c.orelse.body, a.orelse, out)
    elif isinstance(c, cst.Try | cst.TryStar) and isinstance(a, ast.Try | ast.TryStar):
        _pair(c.body, a.body, out)
        if len(c.handlers) != len(a.handlers):
            raise _Mismatch
        for ch, ah in zip(c.handlers, a.handlers, strict=True):
            _pair(ch.body, ah.body, out)  # type: ignore[attr-defined]
        if c.orelse is not None:
            _pair(c.orelse.body, a.orelse, out)
        if c.finalbody is not None:
            _pair(c.finalbody.body, a.finalbody, out)
    elif isinstance(c, cst.Match) and isinstance(a, ast.Match):
        if len(c.cases) != len(a.cases):
            raise _Mismatch
        for cc, ac in zip(c.cases, a.cases, strict=True):
            _pair(cc.body, ac.body, out)


def statement_lines(module: cst.Module, text: str, tree: ast.Module | None = None) -> LineMap:
    """Map every statement of ``module`` (small statements individually) to its lines.

    ``tree`` is CPython's tree of ``text`` when the caller already has it.
    """
    out: LineMap = {}
    try:
        _pair(module.body, (tree or ast.parse(text)).body, out)
        return out
    except RecursionError:
        # libcst's provider nests deeper than ast: it would overflow too, sometimes with a
        # KeyError from inside its own bookkeeping instead of a RecursionError.
        raise
    except (_Mismatch, SyntaxError, ValueError):
        out.clear()
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    for node, pos in positions.items():
        if isinstance(node, cst.BaseSmallStatement | cst.BaseCompoundStatement):
            out[id(node)] = (pos.start.line, pos.end.line)
    return out
