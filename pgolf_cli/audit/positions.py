"""Line numbers of statements, cheaply.

libcst's ``PositionProvider`` derives positions by regenerating the whole source with position
tracking, which costs more than parsing the file in the first place. Findings only need the
lines of statements, and CPython's own parser (``ast``) computes those at a fraction of the
cost, so we parse once more with ``ast`` and pair its statements with libcst's: both trees list
the same statements in the same order. If the pairing ever disagrees (a grammar difference
between the two parsers, or code of a newer Python that CPython cannot parse), we fall back to
:func:`_codegen_lines`: the lines libcst's provider would give, from a codegen pass that counts
lines and records statements only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType

import libcst as cst
from libcst._nodes.internal import CodegenState

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
    # Exact type tests: libcst's classes are ABCs, whose isinstance is slow, and a suite or a
    # statement line is always one of these concrete classes.
    kind = type(body)
    items: Sequence[cst.CSTNode] = (
        body.body if kind is cst.IndentedBlock or kind is cst.SimpleStatementSuite else body  # type: ignore[union-attr, assignment]
    )
    for item in items:
        if type(item) is cst.SimpleStatementLine:
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
    kind = type(c)
    if kind not in _PAIRS:
        return  # a small statement: nothing nested (and libcst's isinstance is slow)
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
        pass
    return _codegen_lines(module)


def _codegen_lines(module: cst.Module) -> LineMap:
    """The statement lines libcst's ``PositionProvider`` gives, at a fraction of its cost.

    The provider regenerates the source and builds a position object for every node (about 1.5x
    the parse). The same codegen run with :class:`_LineState`, which only counts lines and
    records the nodes a statement's span is made of, gives the same lines at about a quarter
    of the parse.
    """
    state = _LineState(default_indent=module.default_indent, default_newline=module.default_newline)
    module._codegen(state)
    return {
        key: span
        for key, (node, span) in state.spans.items()
        if isinstance(node, cst.BaseSmallStatement | cst.BaseCompoundStatement)
    }


#: Nodes whose syntactic span makes up a statement's: statements, and what a compound statement
#: ends with (``end_node`` in libcst's codegen: a suite, a clause, the last imported name).
_SPANNED = (
    cst.BaseSmallStatement,
    cst.BaseCompoundStatement,
    cst.SimpleStatementLine,
    cst.BaseSuite,
    cst.Else,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.Finally,
    cst.MatchCase,
    cst.ImportAlias,
)


class _LineState(CodegenState):
    """libcst's codegen state keeping the line count instead of the text.

    libcst's codegen calls ``record_syntactic_position`` around the syntactic part of each node
    (a statement without its leading blank lines and comments); a compound statement's span
    ends where its ``end_node`` (its last suite or clause) ends, as in ``PositionProvider``.
    """

    __slots__ = ("line", "spans")

    def __init__(self, default_indent: str, default_newline: str) -> None:
        super().__init__(default_indent=default_indent, default_newline=default_newline)
        self.line = 1
        #: id(node) -> (node, (first line, last line)); the node keeps its id unique
        self.spans: dict[int, tuple[cst.CSTNode, tuple[int, int]]] = {}

    def add_indent_tokens(self) -> None:
        pass  # indentation holds no newline

    def add_token(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            # As libcst counts them: "\r\n", "\r" and "\n" each end a line.
            self.line += value.count("\n") + value.count("\r") - value.count("\r\n")

    def pop_trailing_newline(self) -> None:
        pass  # only the end of the module, after every statement

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> AbstractContextManager[None]:
        kind = type(node)
        spanned = _SPANNED_TYPES.get(kind)
        if spanned is None:  # isinstance on a libcst class is an ABC check: asked once per type
            spanned = _SPANNED_TYPES[kind] = isinstance(node, _SPANNED)
        if not spanned:
            return _NO_SPAN
        return _Span(self, node, start_node, end_node)


_NO_SPAN: AbstractContextManager[None] = nullcontext()
_SPANNED_TYPES: dict[type, bool] = {}


class _Span:
    """Records ``node``'s lines as ``PositionProvidingCodegenState.record_syntactic_position``:
    from where it starts (or ``start_node`` starts) to where it ends (or ``end_node`` ends)."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(
        self,
        state: _LineState,
        node: cst.CSTNode,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node
        self.start = state.line

    def __enter__(self) -> None:
        pass

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        spans, end = self.state.spans, self.state.line
        start = self.start if self.start_node is None else spans[id(self.start_node)][1][0]
        if self.end_node is not None:
            # An end node without a span of its own (an import's closing parenthesis or `*`) is
            # the last token of this span: it ends where this one does.
            known = spans.get(id(self.end_node))
            end = end if known is None else known[1][1]
        spans[id(self.node)] = (self.node, (start, end))
