"""Parse the code to audit within bounds: hostile input gets a finding, never a crash or a hang.

libcst's parser is native code with no depth limit of its own: 3,000 nested brackets overflow
its stack (SIGSEGV, no report), and one expression of 100,000 terms keeps it busy for minutes.
So the text goes through CPython's own parser first (``ast.parse`` builds a tree and runs
nothing). CPython rejects what no Python can run (more than 200 nested brackets, 100 nested
blocks, an expression too deep to compile), at C speed; that is a PG901 like any syntax error.
What CPython accepts is then measured: an expression or block structure nested deeper than
:data:`MAX_DEPTH` is refused (PG906) before libcst sees it, because libcst's cost grows with the
nesting (about quadratically) and the audit's own tree walks recurse. Only then does libcst
parse it. The statements of the tree CPython built are kept (the statement positions reuse
them), the tree itself is freed first.

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

from pgolf_cli.audit.positions import Layout, Part, Skeleton, skeleton

#: Deepest syntax tree (statements and expressions, as ``ast`` nests them) that is parsed. The
#: deepest of 162 real submissions and record scripts nests 22 levels; CPython's tokenizer
#: itself stops at 200 nested brackets.
MAX_DEPTH = 200


_NO_STATEMENTS = cst.Module(body=[])
"""The tree of code without a statement (libcst's trees are immutable: one serves every file)."""


@dataclass(frozen=True, slots=True)
class Parsed:
    module: cst.Module
    statements: Skeleton | None
    """The statements of the same code as CPython parsed it (:func:`positions.skeleton`); None
    for grammar this Python does not know."""
    layout: Layout | None = None
    """For grammar this Python does not know, its logical lines as Python's tokenizer delimits
    them, f-strings read as Python 3.12 reads them (:func:`_shallow`), to find the statement
    lines without a CPython tree."""


class Refused(Exception):
    """The code is not parsed; ``rule_id`` is PG901 (not valid Python) or PG906 (over a bound)."""

    def __init__(
        self,
        rule_id: str,
        line: int,
        detail: str,
        *,
        grammar: bool = False,
        python_reads: bool = False,
    ) -> None:
        super().__init__(detail)
        self.rule_id = rule_id
        self.line = line
        self.detail = detail
        self.grammar = grammar
        """CPython's parser rejected the grammar (a SyntaxError), not the size or depth."""
        self.python_reads = python_reads
        """CPython parsed the code and only pgolf's parser (libcst) refused it."""


def parse(text: str) -> Parsed:
    """Parse ``text`` with CPython, check its depth, then parse it with libcst.

    Raises:
        Refused: with PG901 when CPython cannot parse the text, PG906 when it nests deeper
            than :data:`MAX_DEPTH`.
    """
    if not text:
        return Parsed(_NO_STATEMENTS, [])  # an empty file
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
        return Parsed(_NO_STATEMENTS, [])
    line = _too_deep(tree)
    if line is not None:
        raise Refused(
            "PG906",
            line,
            f"the code nests more than {MAX_DEPTH} levels deep at line {line} (real "
            "submissions nest at most about 20), and pgolf does not parse code that deep",
        )
    statements = skeleton(tree)
    del tree  # its memory serves libcst's parse, which runs ~5% slower beside a live tree
    try:
        module = _parse(text)
    except cst.CSTValidationError as error:
        raise Refused(
            "PG901",
            1,
            f"pgolf's parser (libcst) rejects this valid Python: {error}",
            python_reads=True,
        ) from None
    except cst.ParserSyntaxError as error:
        # CPython accepted it: a grammar libcst lacks (a newer Python than libcst knows).
        line = max(error.raw_line, 1)
        raise Refused(
            "PG901",
            line,
            f"{error.message} (line {error.raw_line}, column {error.raw_column}): "
            "pgolf's parser (libcst) does not support this syntax",
            python_reads=True,
        ) from None
    except RecursionError:
        raise Refused("PG906", 1, "the code nests too deeply for pgolf's parser") from None
    return Parsed(module, statements)


#: Deepest indentation admitted when CPython cannot parse the code itself (its tokenizer stops at
#: 100 levels; real scripts indent about 10).
MAX_INDENT = 100


def _shallow(text: str) -> Layout | None:
    """The logical lines of ``text``, which CPython's parser rejected, when it stays inside the
    bounds libcst is safe within: at most :data:`MAX_DEPTH` nested brackets and f-string
    replacement fields, :data:`MAX_INDENT` indentation levels and operators in one logical line
    (a chain of them nests as deep as it is long); None when it does not, or when its strings,
    brackets or indentation cannot be read to their end. Measured without parsing.

    The same pass delimits the logical lines that :func:`positions.statement_lines` takes the
    statement lines from when there is no CPython tree (see :data:`positions.Layout`), as this
    Python's tokenizer would delimit them, but reading f-strings as Python 3.12 does (PEP 701: a
    replacement field is code, where a string may reuse the f-string's own quote). What it
    cannot vouch for (a lone carriage return, which libcst ends a line at; a line that starts
    with no token; a stray bracket, brace, backslash or quote) empties the layout, and the lines
    come from libcst's codegen.

    Python's ``tokenize`` builds an object per token: about 0.2x of libcst's parse on a real
    script. Here one regular expression finds only what delimits (brackets, colons, semicolons,
    strings, comments, line ends and continuations), and the code between two of those is only
    looked at for its first token and, on a long line, counted for operators.
    """
    trusted = text.count("\r") == text.count("\r\n")
    lines: Layout = []
    parts: list[Part] = []
    first = ""  # the current logical line's first token; "" before it
    start = end = 0  # rows of the current part of the line; start is 0 while it is empty
    lambdas = 0  # `lambda`s at bracket depth 0 whose colon is still to come
    depth = 0  # open brackets and replacement fields
    indents = [0]  # the columns of the open indentation levels, as tokenize keeps them
    row, line_at = 1, 0  # the current row and the offset its physical line starts at
    fresh = True  # nothing but blank lines and comments since the last logical line ended
    logical_at = 0  # where the current logical line starts
    code: list[int] = []  # the current logical line's code, as (start, end) offsets in a row
    strings: list[_Open] = []  # the open f-strings, replacement fields and format specs
    string_at = string_row = string_depth = 0  # where the outermost open f-string starts
    pos, size = 0, len(text)
    while True:
        if strings and strings[-1][0] != _FIELD:
            # Literal text of an f-string or a format spec, up to a brace or the quote.
            kind, quote, body, base = strings[-1]
            matched = body.match(text, pos)
            at = pos if matched is None else matched.end()
            lines_in = text.count("\n", pos, at)
            if lines_in:
                row += lines_in
                line_at = text.rfind("\n", pos, at) + 1
            if at == size:
                return None  # EOF in a string
            pos, char = at, text[at]
            if char == "{":
                depth += 1
                if depth > MAX_DEPTH:
                    return None
                strings.append((_FIELD, quote, _SPEC_BODY[quote], depth))
                pos += 1
            elif char == "}" and kind == _SPEC:
                del strings[-2:]  # the spec ends its field
                depth -= 1
                pos += 1
            elif char == quote[0] and kind == _STRING:
                pos += len(quote)
                strings.pop()
                if not strings:  # the f-string is one token of the line
                    if not first:
                        first = text[string_at:pos]
                    if not start:
                        start = string_row
                    end = row
            elif char == "}":
                trusted = False  # a single closing brace in literal text
                pos += 1
            else:
                # A line break in a one-line string, or the quote in a format spec: the string
                # does not end where its code does. Read on as code.
                trusted = False
                strings.clear()
                depth = string_depth
            continue
        found = _CODE.search(text, pos)
        if found is None:
            at, char = size, ""
        else:
            at = found.start()
            char = text[at]
            if char in _QUOTES:
                at = _string_start(text, pos, at)
        if at > pos:  # code between delimiters: names, numbers, operators
            token_at = pos
            if text[pos] in " \t\f":
                solid = _SOLID.search(text, pos, at)
                token_at = -1 if solid is None else solid.start()
            if token_at >= 0:
                if fresh:
                    if not _indent(text, line_at, token_at, indents):
                        return None
                    fresh, logical_at = False, token_at
                code += (pos, at)
                if not strings:
                    if not first:
                        token = _FIRST.match(text, token_at)
                        if token is None:
                            trusted = False  # a character that starts no token
                        else:
                            first = token.group()
                    if not start:
                        start = row
                    end = row
                    if depth == 0 and text.find("lambda", pos, at) >= 0:
                        lambdas += len(_LAMBDA.findall(text, pos, at))
        if found is None:
            break
        pos = found.end()
        if char == "\n" or char == "\r":
            row += 1
            line_at = pos
            if depth == 0 and not fresh:  # a logical line ends
                if _too_many_operators(text, logical_at, at, code):
                    return None
                parts.append((start, end if start else 0, ""))
                lines.append((first, parts))
                parts, first, start, lambdas = [], "", 0, 0
                code = []
                fresh = True
            continue
        if char == "#":
            continue
        if fresh:
            if not _indent(text, line_at, at, indents):
                return None
            fresh, logical_at = False, at
        if char == "\\":
            if pos == at + 1:
                trusted = False  # not before a line break: no token
                continue
            if pos == size:
                return None  # EOF in a continued line
            row += 1
            line_at = pos
            continue
        base = strings[-1][3] if strings else 0
        if char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                return None
        elif char in ")]}":
            if depth == base:
                if strings and char == "}":  # a replacement field ends
                    strings.pop()
                    depth -= 1
                    continue
                trusted = False  # a bracket closed before it was opened
            else:
                depth -= 1
        elif char == ":" and strings and depth == base:
            strings.append((_SPEC, strings[-1][1], _SPEC_BODY[strings[-1][1]], base))
            continue
        elif (char == ";" or (char == ":" and not text.startswith("=", pos))) and depth == 0:
            if char == ";" or not lambdas:
                parts.append((start, end if start else 0, char))
                start = 0
                continue
            lambdas -= 1  # a lambda's own colon
        elif char in _QUOTES:
            prefix = text[at : pos - 1].lower()
            quote = text[pos - 1 : pos + 2] if text.startswith(char * 3, pos - 1) else char
            pos += len(quote) - 1
            if "f" in prefix:
                if not strings:
                    string_at, string_row, string_depth = at, row, depth
                strings.append((_STRING, quote, _FSTRING_BODY[quote, "r" in prefix], 0))
                continue
            closed = _STRING_BODY[quote].match(text, pos)
            if closed is None:
                if len(quote) == 3:
                    return None  # EOF in a string
                trusted = False  # a string without its closing quote on its line
                continue
            line = row
            pos = closed.end()
            lines_in = text.count("\n", at, pos)
            if lines_in:
                row += lines_in
                line_at = text.rfind("\n", at, pos) + 1
            if strings:
                continue
            if not first:
                first = text[at:pos]
            if not start:
                start = line
            end = row
            continue
        if not strings:  # a bracket, colon or semicolon: a token of the line
            if not first:
                first = char
            if not start:
                start = row
            end = row
    if strings or depth:
        return None  # EOF in a string or a bracket
    if not fresh:
        if _too_many_operators(text, logical_at, size, code):
            return None
        if not text[line_at:].strip().startswith("#"):
            # As tokenize: the last line ends its logical line without a line break, unless it
            # is a comment (a continued line's).
            parts.append((start, end if start else 0, ""))
            lines.append((first, parts))
    return lines if trusted else []


def _string_start(text: str, pos: int, quote: int) -> int:
    """Where the string whose quote is at ``quote`` starts: at its prefix (after ``pos``, where
    the code before it starts), when the word before the quote is one, else at the quote."""
    at = quote
    while at > pos and quote - at < 3 and text[at - 1] in "bBrRuUfF":
        at -= 1
    if at == quote or text[at:quote].lower() not in _PREFIXES:
        return quote
    if at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_"):
        return quote  # the end of a longer name, as tokenize reads it
    return at


def _indent(text: str, line_at: int, at: int, indents: list[int]) -> bool:
    """Opens or closes indentation levels for a logical line whose first token is at ``at``;
    False when it is deeper than :data:`MAX_INDENT` or dedents to no open level."""
    blank = text[line_at:at]
    column = len(blank)
    if "\t" in blank or "\f" in blank:
        column = 0
        for char in blank:  # as tokenize counts: tabs to the next multiple of 8
            column = (column // 8 + 1) * 8 if char == "\t" else 0 if char == "\f" else column + 1
    if column > indents[-1]:
        indents.append(column)
        return len(indents) <= MAX_INDENT + 1
    while column < indents[-1]:
        indents.pop()
    return column == indents[-1]


def _too_many_operators(text: str, at: int, end: int, code: list[int]) -> bool:
    """Whether the logical line from ``at`` to ``end``, whose code (outside strings and
    comments) is the offset pairs ``code``, holds more than :data:`MAX_DEPTH` operators.

    Each operator is at least one character, and holds an operator character or is ``==``,
    ``!=`` or a keyword, each counted by ``str.count`` at least as often as it occurs: a line
    that is short, or has few of those even in its strings, is not counted token by token."""
    if end - at <= MAX_DEPTH:
        return False
    rough = sum(text.count(mark, at, end) for mark in _OPERATOR_MARKS)
    if rough <= MAX_DEPTH:
        return False
    operators = 0
    for i in range(0, len(code), 2):
        found = _OPERATOR.findall(text, code[i], code[i + 1])
        operators += len(found) - found.count("")  # "" for what is no operator
    return operators > MAX_DEPTH


#: What the scan stops at in code: a bracket, a colon or semicolon, a line end, a comment, a
#: backslash, a string's quote. (Each alternative starts with a fixed character, which lets the
#: regular expression engine skip to the next candidate quickly.)
_CODE = re.compile(r"""\(|\)|\[|\]|\{|\}|:|;|\n|\r\n|\#[^\r\n]*|\\(?:\r?\n)?|'|\"""")
_QUOTES = "'\""
_PREFIXES = frozenset(["b", "r", "u", "f", "br", "rb", "fr", "rf"])
#: Anything but the blanks between tokens.
_SOLID = re.compile(r"[^ \t\f]")
_LAMBDA = re.compile(r"\blambda\b")
#: A token as tokenize reads one: a number, an operator or bracket, a name.
_FIRST = re.compile("|".join([tokenize.Number, tokenize.Funny, tokenize.Name]))
#: The operators of a chain, each once; the sign in a number's exponent and augmented
#: assignments are read whole, as tokenize reads them, and are no operator ("").
_OPERATOR = re.compile(
    r"(?<![\w.])(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)[eE][-+]"
    r"|\*\*=|//=|<<=|>>=|[-+*/%@&|^]=|->"
    r"|(\*\*|//|<<|>>|<=|>=|==|!=|[-+*/%@&|^<>]|\b(?:and|or|not|in|is|if)\b)"
)
_OPERATOR_MARKS = (*"+-*/%@&|^<>", "==", "!=", "and", "or", "not", "in", "is", "if")

#: What is open inside an f-string: (kind, the f-string's quote, the pattern of its literal
#: text, the bracket depth at which a replacement field ends).
_Open = tuple[int, str, re.Pattern[str], int]
_STRING, _FIELD, _SPEC = 0, 1, 2


def _body(quote: str, *, fstring: bool = False, raw: bool = True, doubled: bool = True) -> str:
    """A pattern of a string's text after its opening quote, up to its closing quote or a line
    break when the quote is single; in an f-string, up to a single brace too (``doubled``: a
    doubled one is text).

    Possessive: what the text matched is never given back to try another way (a string without
    its end would try every way to split its text first: exponential in its length). The text
    never holds the closing quote, so no match needs it given back."""
    mark = re.escape(quote[0])
    stop = "\\\\" + mark + ("" if len(quote) == 3 else "\\n") + ("{}" if fstring else "")
    plain = f"[^{stop}]*+"
    escapes = []
    if len(quote) == 3:
        escapes.append(f"{mark}(?!{mark}{mark})")
    if fstring and not raw:
        escapes.append(r"\\N\{[^}\n" + mark + r"]*\}")  # a character by its name, not a field
    # A backslash keeps the character after it in the text (a brace aside: it stays one).
    escapes.append(r"\\(?:\r\n|[^{}])?" if fstring else r"\\(?:\r\n|[\s\S])")
    if fstring and doubled:
        escapes.append(r"\{\{|\}\}")
    return f"{plain}(?:(?:{'|'.join(escapes)}){plain})*+"


_ALL_QUOTES = ("'", '"', "'''", '"""')
#: A string's text after its opening quote, with the closing quote.
_STRING_BODY = {quote: re.compile(_body(quote) + re.escape(quote)) for quote in _ALL_QUOTES}
#: An f-string's literal text, up to a replacement field or the closing quote.
_FSTRING_BODY = {
    (quote, raw): re.compile(_body(quote, fstring=True, raw=raw))
    for quote in _ALL_QUOTES
    for raw in (False, True)
}
#: A format spec's literal text, up to a nested replacement field or its end.
_SPEC_BODY = {quote: re.compile(_body(quote, fstring=True, doubled=False)) for quote in _ALL_QUOTES}


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
    """libcst's tree of ``text``, which CPython tokenizes. Two forms CPython reads and libcst
    refuses are rewritten first, each without moving a line: a keyword written against its
    neighbours is spaced (see :func:`_spaced_keywords`), and the parentheses around an annotated
    assignment's target are taken off (see :func:`_bare_annotated_targets`)."""
    try:
        return cst.parse_module(text)
    except cst.CSTValidationError:
        spaced = _spaced_keywords(text)
        if spaced == text:
            raise
        return cst.parse_module(spaced)
    except cst.ParserSyntaxError:
        bare = _bare_annotated_targets(text)
        if bare == text:
            raise
        return _parse(bare)


_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
"""A line and its end, as CPython numbers lines (``str.splitlines`` also splits at form feeds)."""


def _bare_annotated_targets(text: str) -> str:
    """``text`` without the parentheses around the target of an annotated assignment written on
    one line: ``(self.x): int = 0`` (python-minifier writes it) reads as ``self.x : int = 0``.
    The opening ones are removed, so the statement keeps its indentation, and the closing ones
    blanked; no line moves. For an attribute or subscript target the two forms mean the same;
    for a name they differ only in whether the annotation is recorded, which no rule reads."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return text
    # Per line, the column spans before and after each such target (UTF-8 byte offsets).
    edits: dict[int, list[tuple[int, int]]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.AnnAssign):
            continue
        target, annotation = node.target, node.annotation
        if node.lineno == target.end_lineno == annotation.lineno and target.col_offset > (
            node.col_offset
        ):
            spans = edits.setdefault(node.lineno, [])
            spans.append((node.col_offset, target.col_offset))
            spans.append((cast(int, target.end_col_offset), annotation.col_offset))
    if not edits:
        return text
    lines = _LINES.findall(text)
    for number, spans in edits.items():
        line = lines[number - 1].encode()
        for start, stop in sorted(spans, reverse=True):  # from the right: removals shift columns
            part = line[start:stop]
            part = part.replace(b"(", b"") if part.lstrip(b" \t(") == b"" else part
            line = line[:start] + part.replace(b")", b" ") + line[stop:]
        lines[number - 1] = line.decode()
    return "".join(lines)


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
