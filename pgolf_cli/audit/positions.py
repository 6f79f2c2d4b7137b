"""Line numbers of statements, cheaply.

libcst's ``PositionProvider`` derives positions by regenerating the whole source with position
tracking, which costs more than parsing the file in the first place. Findings only need the
lines of statements, and CPython's own parser (``ast``) computes those at a fraction of the
cost, so we parse once more with ``ast`` and pair its statements with libcst's: both trees list
the same statements in the same order. Code of a newer Python, which CPython cannot parse, is
paired instead with the logical lines the guard's tokenizer pass delimited (:class:`_Lines`). If
a pairing ever disagrees (a grammar difference between the parsers, a misread token), we fall
back to :func:`_codegen_lines`: the lines libcst's provider would give, from a codegen pass that
counts lines and records statements only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any, cast

import libcst as cst
from libcst._nodes.internal import CodegenState

#: id(libcst statement) -> (first line, last line)
LineMap = dict[int, tuple[int, int]]

#: A statement as CPython parsed it, reduced to what the pairing reads: its type, first and
#: last line, and the statement lists nested in it (see :func:`skeleton`).
Statement = tuple[type[ast.stmt], int, int, tuple[Any, ...]]
#: The statements of a block, each reduced to a :data:`Statement`.
Skeleton = list[Statement]

#: A part of a logical line between separators at bracket depth 0: (first row, last row, the
#: separator after it: ";", ":" or "" at the line's end); rows are 0 for a part without a token.
Part = tuple[int, int, str]
#: A logical line: its first token (a keyword, "@", ...) and its parts.
LogicalLine = tuple[str, list[Part]]
#: The logical lines of a module in order, as the tokenizer delimits them (see
#: :func:`pgolf_cli.audit.guard._shallow`); empty when its reading cannot be trusted.
Layout = list[LogicalLine]


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


_ONE_BODY = frozenset(
    {ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.With, ast.AsyncWith}
)
_BODY_AND_ELSE = frozenset({ast.If, ast.For, ast.AsyncFor, ast.While})


def skeleton(tree: ast.Module) -> Skeleton:
    """The statements of ``tree`` as the pairing reads them: CPython's tree reduced to a few
    tuples, so that it can be freed before libcst parses (a parse next to a live ``ast`` tree
    of the same file runs ~5% slower: the memory the tree holds is not reused)."""
    return _skeleton(tree.body)


def _skeleton(body: list[ast.stmt]) -> Skeleton:
    out: Skeleton = []
    for a in body:
        kind = type(a)
        parts: tuple[Any, ...] = ()
        if kind in _ONE_BODY:
            parts = (_skeleton(a.body),)  # type: ignore[attr-defined]
        elif kind in _BODY_AND_ELSE:
            parts = (_skeleton(a.body), _skeleton(a.orelse))  # type: ignore[attr-defined]
        elif kind is ast.Try or kind is ast.TryStar:
            tried = cast(ast.Try, a)
            handlers = [_skeleton(h.body) for h in tried.handlers]
            parts = (
                _skeleton(tried.body),
                handlers,
                _skeleton(tried.orelse),
                _skeleton(tried.finalbody),
            )
        elif kind is ast.Match:
            parts = ([_skeleton(case.body) for case in cast(ast.Match, a).cases],)
        out.append((kind, a.lineno, a.end_lineno or a.lineno, parts))
    return out


def _pair(
    cst_body: cst.BaseSuite | Sequence[cst.BaseStatement], ast_body: Skeleton, out: LineMap
) -> None:
    cst_stmts = list(_cst_statements(cst_body))
    if len(cst_stmts) != len(ast_body):
        raise _Mismatch
    for c, a in zip(cst_stmts, ast_body, strict=True):
        expected = _PAIRS.get(type(c))
        if expected is not None and a[0] not in expected:
            raise _Mismatch
        out[id(c)] = (a[1], a[2])
        if expected is not None:
            _pair_children(c, a[3], out)


def _pair_children(c: cst.CSTNode, parts: tuple[Any, ...], out: LineMap) -> None:
    """The blocks nested in a compound statement ``c``, paired with those of the CPython
    statement of its kind (:func:`_pair` checked the kinds match) as :func:`skeleton` lists
    them."""
    kind = type(c)
    if kind is cst.FunctionDef or kind is cst.ClassDef or kind is cst.With:
        _pair(cast(cst.FunctionDef, c).body, parts[0], out)
    elif kind is cst.If:
        branch = cast(cst.If, c)
        _pair(branch.body, parts[0], out)
        if type(branch.orelse) is cst.If:
            _pair([branch.orelse], parts[1], out)
        elif type(branch.orelse) is cst.Else:
            _pair(branch.orelse.body, parts[1], out)
    elif kind is cst.For or kind is cst.While:
        loop = cast(cst.For, c)
        _pair(loop.body, parts[0], out)
        if loop.orelse is not None:
            _pair(loop.orelse.body, parts[1], out)
    elif kind is cst.Try or kind is cst.TryStar:
        tried = cast(cst.Try, c)
        _pair(tried.body, parts[0], out)
        if len(tried.handlers) != len(parts[1]):
            raise _Mismatch
        for handler, body in zip(tried.handlers, parts[1], strict=True):
            _pair(handler.body, body, out)
        if tried.orelse is not None:
            _pair(tried.orelse.body, parts[2], out)
        if tried.finalbody is not None:
            _pair(tried.finalbody.body, parts[3], out)
    elif kind is cst.Match:
        cases = cast(cst.Match, c).cases
        if len(cases) != len(parts[0]):
            raise _Mismatch
        for case, body in zip(cases, parts[0], strict=True):
            _pair(case.body, body, out)


def statement_lines(
    module: cst.Module,
    text: str,
    statements: Skeleton | None = None,
    layout: Layout | None = None,
) -> LineMap:
    """Map every statement of ``module`` (small statements individually) to its lines.

    ``statements`` is the :func:`skeleton` of CPython's tree of ``text`` when the caller already
    has it; ``layout`` its logical lines when CPython cannot parse it (see
    :class:`pgolf_cli.audit.guard.Parsed`).
    """
    out: LineMap = {}
    try:
        if statements is None and layout is not None:
            _Lines(layout, out).module(module)
        else:
            if statements is None:
                statements = skeleton(ast.parse(text))
            _pair(module.body, statements, out)
        return out
    except RecursionError:
        # libcst's provider nests deeper than ast: it would overflow too, sometimes with a
        # KeyError from inside its own bookkeeping instead of a RecursionError.
        raise
    except (_Mismatch, SyntaxError, ValueError):
        pass
    return _codegen_lines(module)


#: The first token of a compound statement's header or clause: no simple statement starts so.
_COMPOUND = frozenset(
    {"@", "async", "class", "def", "elif", "else", "except", "finally", "for", "if", "try"}
    | {"while", "with"}
)
_HEADERS: dict[type[cst.CSTNode], frozenset[str]] = {
    cst.FunctionDef: frozenset(["def", "async"]),
    cst.ClassDef: frozenset(["class"]),
    cst.If: frozenset(["if"]),
    cst.For: frozenset(["for", "async"]),
    cst.While: frozenset(["while"]),
    cst.With: frozenset(["with", "async"]),
    cst.Try: frozenset(["try"]),
    cst.TryStar: frozenset(["try"]),
    cst.Match: frozenset(["match"]),
}
_DECORATOR, _ELIF, _ELSE = frozenset(["@"]), frozenset(["elif"]), frozenset(["else"])
_EXCEPT, _FINALLY, _CASE = frozenset(["except"]), frozenset(["finally"]), frozenset(["case"])


class _Lines:
    """Statement lines from a module's logical lines, without a CPython tree: libcst's
    statements, in order, with the logical lines the tokenizer delimits.

    Each decorator, compound header, clause (``else:``, ``except E:``, ``case p:``) and simple
    statement line is one logical line; the small statements of a line (or of a header's
    one-line body) are its parts between semicolons. A small statement spans from its first
    token to its last, and a compound statement, as libcst's ``end_node`` chain has it, from its
    keyword (after its decorators) to the end of the last small statement inside it. Any
    disagreement between the two (a keyword where none belongs, too few or too many lines or
    statements) is a :class:`_Mismatch`.
    """

    __slots__ = ("end", "layout", "next", "out")

    def __init__(self, layout: Layout, out: LineMap) -> None:
        self.layout, self.out = layout, out
        self.next = 0
        self.end = 0  # the last row of the last small statement so far

    def module(self, module: cst.Module) -> None:
        self.statements(module.body)
        if self.next != len(self.layout):
            raise _Mismatch

    def take(self, first: frozenset[str] | None) -> list[Part]:
        """The next logical line's parts; it must start with one of ``first`` (or, for None,
        none of a compound statement's keywords)."""
        if self.next == len(self.layout):
            raise _Mismatch
        token, parts = self.layout[self.next]
        self.next += 1
        if (token in _COMPOUND) if first is None else (token not in first):
            raise _Mismatch
        return parts

    def statements(self, body: Sequence[cst.BaseStatement]) -> None:
        for statement in body:
            if type(statement) is cst.SimpleStatementLine:
                self.small(statement.body, self.take(None))
            else:
                self.compound(statement, _HEADERS.get(type(statement)))

    def compound(self, statement: cst.BaseStatement, header: frozenset[str] | None) -> None:
        if header is None:
            raise _Mismatch  # a statement kind this pairing does not know
        for _ in getattr(statement, "decorators", ()):
            self.take(_DECORATOR)
        parts = self.take(header)
        start = parts[0][0]
        kind = type(statement)
        if kind is cst.Match:
            if self.colon(parts) != [(0, 0, "")]:
                raise _Mismatch
            for case in statement.cases:  # type: ignore[attr-defined]
                self.suite(case.body, self.take(_CASE))
            self.out[id(statement)] = (start, self.end)
            return
        self.suite(statement.body, parts)  # type: ignore[attr-defined]
        if kind is cst.If:
            orelse = statement.orelse  # type: ignore[attr-defined]
            if type(orelse) is cst.If:
                self.compound(orelse, _ELIF)
            elif orelse is not None:
                self.suite(orelse.body, self.take(_ELSE))
        elif kind is cst.For or kind is cst.While:
            if statement.orelse is not None:  # type: ignore[attr-defined]
                self.suite(statement.orelse.body, self.take(_ELSE))  # type: ignore[attr-defined]
        elif kind is cst.Try or kind is cst.TryStar:
            for handler in statement.handlers:  # type: ignore[attr-defined]
                self.suite(handler.body, self.take(_EXCEPT))
            if statement.orelse is not None:  # type: ignore[attr-defined]
                self.suite(statement.orelse.body, self.take(_ELSE))  # type: ignore[attr-defined]
            if statement.finalbody is not None:  # type: ignore[attr-defined]
                self.suite(statement.finalbody.body, self.take(_FINALLY))  # type: ignore[attr-defined]
        self.out[id(statement)] = (start, self.end)

    def suite(self, body: cst.BaseSuite, parts: list[Part]) -> None:
        """The statements of a header's suite; ``parts`` are the header's logical line."""
        rest = self.colon(parts)
        if type(body) is cst.IndentedBlock:
            if rest != [(0, 0, "")]:  # nothing but a comment after the colon
                raise _Mismatch
            self.statements(body.body)
        else:
            self.small(cast(cst.SimpleStatementSuite, body).body, rest)

    @staticmethod
    def colon(parts: list[Part]) -> list[Part]:
        """The parts of a header's logical line after the colon that ends the header."""
        for i, part in enumerate(parts):
            if part[2] == ":":
                return parts[i + 1 :]
        raise _Mismatch

    def small(self, statements: Sequence[cst.BaseSmallStatement], parts: list[Part]) -> None:
        """Pairs small statements with a line's parts: one statement up to each semicolon (a
        colon inside one, as in ``x: int = 1``, joins its parts), the last may end with one."""
        spans: list[tuple[int, int]] = []
        start = end = 0
        for first, last, separator in parts:
            if first:
                start = start or first
                end = last
            if separator != ":":
                spans.append((start, end))
                start = 0
        if spans and spans[-1][0] == 0 and parts[-1] == (0, 0, "") and len(spans) > 1:
            spans.pop()  # after a trailing semicolon
        if len(spans) != len(statements) or any(first == 0 for first, _ in spans):
            raise _Mismatch
        for statement, span in zip(statements, spans, strict=True):
            self.out[id(statement)] = span
        self.end = spans[-1][1]


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
