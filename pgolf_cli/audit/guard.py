"""Parse the code to audit within bounds: hostile input gets a finding, never a crash or a hang.

libcst's parser is native code with no depth limit of its own: 3,000 nested brackets overflow
its stack (SIGSEGV, no report), and one expression of 100,000 terms keeps it busy for minutes.
So the text goes through CPython's own parser first (``ast.parse`` builds a tree and runs
nothing). CPython rejects what no Python can run (more than 200 nested brackets, 100 nested
blocks, an expression too deep to compile), at C speed; that is a PG901 like any syntax error.
What CPython accepts is then measured: an expression or block structure nested deeper than
:data:`MAX_DEPTH` is refused (PG906) before libcst sees it, because libcst's cost grows with the
nesting (about quadratically) and the audit's own tree walks recurse. Only then does libcst
parse it. The tree CPython built is kept: the statement positions reuse it.

What remains unbounded here is the time and memory of parsing and analysing admitted code of
any size; :mod:`pgolf_cli.audit.engine` runs each audit in a worker process with a time and
memory limit for that.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
from dataclasses import dataclass
from typing import cast

import libcst as cst

from pgolf_cli.audit.positions import Layout, LogicalLine, Part

#: Deepest syntax tree (statements and expressions, as ``ast`` nests them) that is parsed. The
#: deepest of 162 real submissions and record scripts nests 22 levels; CPython's tokenizer
#: itself stops at 200 nested brackets.
MAX_DEPTH = 200


_NO_STATEMENTS = cst.Module(body=[])
"""The tree of code without a statement (libcst's trees are immutable: one serves every file)."""


@dataclass(frozen=True, slots=True)
class Parsed:
    module: cst.Module
    tree: ast.Module | None
    """The same code as CPython parsed it; None for grammar this Python does not know."""
    layout: Layout | None = None
    """For grammar this Python does not know, its logical lines as this Python's tokenizer
    delimits them (:func:`_shallow`), to find the statement lines without a CPython tree."""


class Refused(Exception):
    """The code is not parsed; ``rule_id`` is PG901 (not valid Python) or PG906 (over a bound)."""

    def __init__(self, rule_id: str, line: int, detail: str, *, grammar: bool = False) -> None:
        super().__init__(detail)
        self.rule_id = rule_id
        self.line = line
        self.detail = detail
        self.grammar = grammar
        """CPython's parser rejected the grammar (a SyntaxError), not the size or depth."""


def parse(text: str) -> Parsed:
    """Parse ``text`` with CPython, check its depth, then parse it with libcst.

    Raises:
        Refused: with PG901 when CPython cannot parse the text, PG906 when it nests deeper
            than :data:`MAX_DEPTH`.
    """
    if not text:
        return Parsed(_NO_STATEMENTS, ast.Module(body=[], type_ignores=[]))  # an empty file
    try:
        tree = python_tree(text)
    except Refused as refused:
        layout = _shallow(text) if refused.grammar else None
        if layout is None:
            raise
        # Grammar of a newer Python than this one (3.12's nested f-string quotes, which real
        # records use): libcst knows it. Shallow by a bracket and indentation count, it cannot
        # overflow libcst, and the engine's worker bounds its time and memory.
        return _newer_grammar(text, refused, layout)
    if not tree.body:
        # No statement: nothing for libcst to parse, and its tokenizer rejects some such files
        # that CPython takes (blank lines ending in a lone line continuation).
        return Parsed(_NO_STATEMENTS, tree)
    line = _too_deep(tree)
    if line is not None:
        raise Refused(
            "PG906",
            line,
            f"the code nests more than {MAX_DEPTH} levels deep at line {line} (real "
            "submissions nest at most about 20), and pgolf does not parse code that deep",
        )
    try:
        module = _parse(text)
    except cst.CSTValidationError as error:
        raise Refused(
            "PG901", 1, f"pgolf's parser (libcst) rejects this valid Python: {error}"
        ) from None
    except cst.ParserSyntaxError as error:
        # CPython accepted it: a grammar libcst lacks (a newer Python than libcst knows).
        line = max(error.raw_line, 1)
        raise Refused(
            "PG901",
            line,
            f"{error.message} (line {error.raw_line}, column {error.raw_column}): "
            "pgolf's parser (libcst) does not support this syntax",
        ) from None
    except RecursionError:
        raise Refused("PG906", 1, "the code nests too deeply for pgolf's parser") from None
    return Parsed(module, tree)


#: Deepest indentation admitted when CPython cannot parse the code itself (its tokenizer stops at
#: 100 levels; real scripts indent about 10).
MAX_INDENT = 100


_OPERATORS = frozenset(
    [
        "+",
        "-",
        "*",
        "/",
        "//",
        "%",
        "@",
        "**",
        "<<",
        ">>",
        "&",
        "|",
        "^",
        "<",
        ">",
        "<=",
        ">=",
        "==",
        "!=",
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
    ]
)


def _shallow(text: str) -> Layout | None:
    """The logical lines of ``text``, which CPython's parser rejected, when it stays inside the
    bounds libcst is safe within: at most :data:`MAX_DEPTH` nested brackets, :data:`MAX_INDENT`
    indentation levels and operators in one logical line (a chain of them nests as deep as it is
    long); None when it does not. Measured on tokens, without parsing; what cannot be tokenized is
    out of bounds.

    The same pass delimits the logical lines that :func:`positions.statement_lines` takes the
    statement lines from when there is no CPython tree (see :data:`positions.Layout`). This
    Python's tokenizer reads a newer f-string that nests its own quotes inside out (the nested
    string as code, the code around it as strings); the lines are kept only when what it misreads
    cannot move a line's end or a statement's bounds (see :func:`_inside_out`). Else the layout is
    empty, and the lines come from libcst's codegen.
    """
    depth = indent = operators = 0
    lines: list[LogicalLine] = []
    parts: list[Part] = []
    first = ""  # the current logical line's first token; "" before it
    start = end = 0  # rows of the current part of the line; start is 0 while it is empty
    lambdas = 0  # `lambda`s at bracket depth 0 whose colon is still to come
    fields, quote = 0, ""  # replacement fields open in an f-string read inside out, its quote
    # libcst ends a line at a lone "\r" too; this tokenizer does not.
    trusted = text.count("\r") == text.count("\r\n")
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, string = token.type, token.string
            if kind == tokenize.OP and string in "([{":
                depth += 1
                if depth > MAX_DEPTH:
                    return None
            elif kind == tokenize.OP and string in ")]}":
                if depth == 0:
                    trusted = False  # a bracket closed before it was opened: misread
                depth = max(depth - 1, 0)
            elif kind == tokenize.INDENT:
                indent += 1
                if indent > MAX_INDENT:
                    return None
            elif kind == tokenize.DEDENT:
                indent -= 1
            elif kind == tokenize.NEWLINE:
                operators = 0
            elif string in _OPERATORS:
                operators += 1
                if operators > MAX_DEPTH:
                    return None
            if not trusted:
                continue
            if fields:
                fields = _inside_out(token, fields, quote)
                trusted = fields >= 0
                end = token.end[0]
            elif kind == tokenize.NEWLINE:
                parts.append((start, end if start else 0, ""))
                lines.append((first, parts))
                parts, first, start, lambdas = [], "", 0, 0
            elif kind in _NOT_CODE:
                pass
            elif kind == tokenize.ERRORTOKEN:
                trusted = False
            else:
                if depth == 0 and kind == tokenize.OP and string in _SEPARATORS:
                    if string == ";" or not lambdas:
                        parts.append((start, end if start else 0, string))
                        start = 0
                        continue
                    lambdas -= 1  # a lambda's own colon
                elif depth == 0 and kind == tokenize.NAME and string == "lambda":
                    lambdas += 1
                if not first:
                    first = string
                if not start:
                    start = token.start[0]
                end = token.end[0]
                if kind == tokenize.STRING:
                    fields, quote = _open_fields(string)
                    trusted = fields >= 0
    except (tokenize.TokenError, SyntaxError):
        return None
    return lines if trusted and not fields else []


#: Tokens of no statement's span: layout, comments, the end.
_NOT_CODE = frozenset(
    [tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER]
)
#: What divides a logical line into its parts at bracket depth 0 (a lambda's colon aside).
_SEPARATORS = frozenset([";", ":"])
#: Tokens that would change a logical line's bounds or parts if misread as code.
_STRUCTURE = frozenset(["(", ")", "[", "]", "{", "}", ":", ";"])
_QUOTES = re.compile("[\"']")
_MARKS = re.compile("[{}\"']")


def _open_fields(token: str) -> tuple[int, str]:
    """How many replacement fields an f-string token leaves open, and its quote; (0, "") for
    another string. An open field means that a newer grammar nests the f-string's own quote in
    it, which this tokenizer read as the string's end. -1 for what is not understood."""
    at = _QUOTES.search(token)
    if at is None or "f" not in token[: at.start()].lower():
        return 0, ""
    return _fields(token, at.start(), 0)


def _inside_out(token: tokenize.TokenInfo, fields: int, quote: str) -> int:
    """The replacement fields still open after ``token``, read inside an f-string's open field
    (that f-string quoted with ``quote``); -1 when the token can change the lines.

    Up to the nested string's closing quote, the tokens are that string's text, read as code:
    names, numbers and operators cannot change the lines, a bracket, colon, semicolon, line
    break, comment or continuation can. The next string token, from that quote to the next
    one, is the field's code, read as a string: it closes the field or opens another nested
    string."""
    kind, string = token.type, token.string
    if kind == tokenize.STRING:
        if string[0] != quote[0]:
            return -1  # prefixed, or in other quotes: a string inside the nested string's text
        fields, closing = _fields(string, 0, fields)
        return fields if closing == quote else -1
    if kind in _NESTED_TEXT and string not in _STRUCTURE:
        return fields
    return -1


_NESTED_TEXT = frozenset([tokenize.NAME, tokenize.NUMBER, tokenize.OP])


def _fields(token: str, at: int, fields: int) -> tuple[int, str]:
    """The replacement fields open at the end of the string ``token`` (its quote at ``at``),
    starting with ``fields`` open, and its quote; -1 for a nested string left unclosed."""
    mark = token[at]
    quote = mark * 3 if token.startswith(mark * 3, at) and len(token) - at >= 6 else mark
    body = token[at + len(quote) : len(token) - len(quote)]
    inner = ""  # the quote of a string inside a field
    doubled = -1  # the second brace of a doubled (literal) one
    for found in _MARKS.finditer(body):
        i, char = found.start(), found.group()
        if inner:
            if char == inner:
                inner = ""
        elif i == doubled:
            pass
        elif fields == 0:
            if char in "{}" and body.startswith(char, i + 1):
                doubled = i + 1
            elif char == "{":
                fields = 1
        elif char == "{":
            fields += 1
        elif char == "}":
            fields -= 1
        else:
            inner = char
    return (-1 if inner else fields), quote


def _newer_grammar(text: str, refused: Refused, layout: Layout) -> Parsed:
    """libcst's parse of code CPython rejected; CPython's own :class:`Refused` when libcst
    rejects it too (invalid code keeps CPython's message and line)."""
    try:
        return Parsed(_parse(text), None, layout)
    except (cst.ParserSyntaxError, cst.CSTValidationError):
        raise refused from None
    except RecursionError:
        raise Refused("PG906", 1, "the code nests too deeply for pgolf's parser") from None


#: Tokens that are the layout of lines, not code: a space next to them would change indentation.
_LAYOUT = frozenset([tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE, tokenize.NL])


def _parse(text: str) -> cst.Module:
    """libcst's tree of ``text``, which CPython tokenizes; written against its neighbours, a
    keyword is spaced first (see :func:`_spaced_keywords`) when libcst refuses it as written."""
    try:
        return cst.parse_module(text)
    except cst.CSTValidationError:
        spaced = _spaced_keywords(text)
        if spaced == text:
            raise
        return cst.parse_module(spaced)


def _is_keyword(token: tokenize.TokenInfo) -> bool:
    return token.type == tokenize.NAME and keyword.iskeyword(token.string)


def _spaced_keywords(text: str) -> str:
    """``text`` with a space on each side of a keyword that touches the token next to it.

    CPython reads a keyword written against its operand (``return.5``, ``else(a if b else
    c)``, ``(a if b else c)if d``, ``return(a if b else c).e``: minifiers write them, and
    python-minifier writes all of these), but libcst's parser rejects some of them with a
    validation error. A space between two tokens changes neither what they mean nor any line
    number, and the audit reports lines. The tokenizer finds the real keywords (not those in
    strings or comments).
    """
    lines = text.splitlines(keepends=True)
    inserts: set[tuple[int, int]] = set()
    previous: tokenize.TokenInfo | None = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if (
                previous is not None
                and previous.end == token.start
                and previous.type not in _LAYOUT
                and token.type not in _LAYOUT
                and (_is_keyword(previous) or _is_keyword(token))
            ):
                inserts.add(token.start)
            previous = token
    except (tokenize.TokenError, SyntaxError):
        return text  # CPython parsed it; libcst will say what it thinks
    for row, column in sorted(inserts, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:column] + " " + line[column:]
    return "".join(lines)


def python_tree(text: str) -> ast.Module:
    """CPython's tree of ``text``; :class:`Refused` (PG901, or PG906 on memory) when it has none."""
    try:
        return ast.parse(text)
    except SyntaxError as error:
        line = error.lineno or 1
        raise Refused("PG901", line, f"{error.msg} (line {line})", grammar=True) from None
    except RecursionError:
        raise Refused(
            "PG901",
            1,
            "CPython's parser gives up (it exceeds its recursion limit): the code nests too "
            "deeply to be compiled, so Python cannot run it",
        ) from None
    except MemoryError:
        # CPython's parser stack overflows on deep nesting (7,000 unary minuses) as well as
        # when memory runs out under the worker's limit: either way, beyond the bounds.
        raise Refused(
            "PG906",
            1,
            "CPython's parser ran out of memory (its parser stack overflows on code nested "
            "thousands of levels deep, and a worker's memory is limited)",
        ) from None
    except ValueError as error:  # NUL bytes and the like; source loading rejects most
        raise Refused("PG901", 1, str(error)) from None


def _too_deep(tree: ast.Module) -> int | None:
    """The line of a node deeper than :data:`MAX_DEPTH`; None when none is.

    An explicit stack, so the measuring itself cannot overflow. ``a or b or c`` is one node in
    ``ast`` but a chain in libcst, so each operand of a boolean operation counts the operators in
    front of it. A node written on one line is not walked when it is too narrow to reach the bound
    (see :func:`_narrow_height`): that leaves out most of a real script's nodes.
    """
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    pop, push = stack.pop, stack.append
    node_type, bool_op, fields = ast.AST, ast.BoolOp, _CHILD_FIELDS
    while stack:
        node, depth = pop()
        kind = type(node)
        line = getattr(node, "lineno", None)
        if line is not None:
            if depth > MAX_DEPTH:
                return cast(int, line)  # else its children, deeper still, have a line
            if line == getattr(node, "end_lineno", None):
                span = cast(ast.expr, node)  # every node with a line has its columns
                width = cast(int, span.end_col_offset) - span.col_offset
                if depth + _narrow_height(width) <= MAX_DEPTH:
                    continue
        depth += 1
        if kind is bool_op:
            values = cast(ast.BoolOp, node).values
            for i, value in enumerate(values):
                push((value, depth + len(values) - 1 - i))
            continue
        names = fields.get(kind)
        if names is None:
            # Every Name and Attribute has a `ctx` node (Load, Store): never deep, often there.
            names = fields[kind] = tuple(name for name in kind._fields if name != "ctx")
        for name in names:
            child = getattr(node, name)
            if type(child) is list:
                for item in child:
                    if isinstance(item, node_type):
                        push((item, depth))
            elif isinstance(child, node_type):
                push((child, depth))
    return None


def _narrow_height(width: int) -> int:
    """A bound on how many levels (as :func:`_too_deep` counts them) a node spanning ``width``
    bytes of one line holds below it.

    Each level of nesting is written with at least one more character (``-x``, ``a.b``,
    ``f()``, ``a[0]``, ``a + b``, ``a or b``); the few that are not (an expression statement and
    its value, an f-string and its replacement field, a node without a position such as an
    operator, ``arguments`` or a comprehension clause) cannot follow one another without code
    in between. Twice the width, plus a margin, is therefore out of reach.
    """
    return 2 * width + 8


_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}
