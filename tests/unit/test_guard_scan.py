"""The guard's scan of code in a newer grammar (``guard._shallow``): its bounds, its reading of
Python 3.12 f-strings, and its layout, which must be the one Python's own tokenizer delimits
(the scan it replaced, kept here as the reference) wherever that tokenizer reads the code right.
"""

from __future__ import annotations

import ast
import io
import re
import time
import tokenize
from collections.abc import Callable
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgolf_cli.audit import guard, positions
from pgolf_cli.audit.guard import MAX_DEPTH, MAX_INDENT
from pgolf_cli.audit.positions import Layout, LogicalLine, Part

FIXTURES = Path(__file__).resolve().parents[1] / "checks" / "fixtures"

# --- The reference: the guard's former scan, on Python's tokenize (one object per token). ---

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


def _tokenize_layout(text: str) -> Layout | None:
    """The layout (or None: out of bounds) as the guard read it with ``tokenize`` until b42fcc7."""
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


# --- Helpers. ---


def _comparable(layout: Layout | None) -> Layout | None:
    """A layout with a string that starts a line as "STRING": tokenize's first token of a line
    starting with an f-string that nests its quotes ends at the nested quote, the guard's at
    the f-string's end; only keywords and "@" are ever looked up."""
    if not layout:
        return layout
    return [("STRING" if _A_STRING.match(first) else first, parts) for first, parts in layout]


_A_STRING = re.compile("[a-zA-Z]{0,2}['\"]")


def _lines_of(text: str, layout: Layout) -> positions.LineMap | None:
    """The statement lines the layout gives libcst's tree of ``text`` (None: libcst rejects
    it); they must be the codegen's."""
    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, cst.CSTValidationError):
        return None
    out: positions.LineMap = {}
    positions._Lines(layout, out).module(module)
    assert out == positions._codegen_lines(module)
    return out


def _agrees(text: str) -> None:
    """The scan's answer is the tokenizer's wherever that is a layout, and otherwise a layout
    only when it is right (the tokenizer misreads a newer f-string) or libcst rejects the code."""
    old, new = _tokenize_layout(text), guard._shallow(text)
    if old:
        assert _comparable(new) == _comparable(old)
    elif new:
        _lines_of(text, new)
    if new is None and old is not None:
        # Refused where the tokenizer was not: a string or bracket without its end (these
        # texts are far from the bounds), which libcst rejects too.
        with pytest.raises((cst.ParserSyntaxError, cst.CSTValidationError)):
            cst.parse_module(text)


# --- The layout of real code: the tokenizer's. ---


@pytest.mark.shared
def test_every_record_corpus_and_fixture_script_gets_the_tokenizers_layout(
    real_scripts: list[Path],
) -> None:
    from pgolf_cli.audit.source import read_source

    paths = real_scripts
    newer = 0
    for path in [*paths, *sorted(FIXTURES.glob("*.py"))]:
        text = read_source(path).text
        layout = guard._shallow(text)
        assert layout == _tokenize_layout(text), path
        try:
            ast.parse(text)
        except SyntaxError:
            newer += 1
            assert layout, path  # 3.12 f-strings: read, not left to the codegen
    assert newer >= 4


# --- Generated code: every shape of line, string and f-string the scan tells apart. ---

_SIMPLE = [
    "x = 1",
    "y = (a,\n     b)",
    "z = [1, 2,\n  3]; w = {'a': 1}",
    "import os; from a import (b,\n  c)",
    "n = x[1:2, ::3]",
    "e = 1e-5 - 2E+3 * .5e-1 ** 0x1e-2",
    "a += 1; b **= 2; c //= 3; d @= e; f >>= 1",
    "f = lambda: 1",
    "g = lambda x, y=2: (lambda: x)()",
    "if (k := 1): pass",
    "print(not a and b or c in d is e if f else g)",
    "s = '''a\nb'''; t = \"\"\"c\"\"\" + 'd' \"e\"",
    "q = rb'\\x' + Rb\"y\" + u'z' + br'\\''",
    "v = 1 + \\\n    2",
    "assert x, \\\n  'm'",
    "del a; global g",
    "x: int = 1",
    "m = 'it''s' 'a\\'b' \"c\\\"d\"",
    "notf = inf; lambda_ = xlambda; rf = br; ub = 1",
]
_FSTRINGS = [
    "s = f'{x!r:>{w}}'",
    "s = f'{{literal}} {x}' F\"{y=}\" rf'{z}\\n' fR'{a}'",
    "s = f\"{a['k']}\" f'{b[\"j\"]}'",
    's = f"{d["k"]}"',
    's = f"{", ".join(xs)}"',
    's = f"{d[":"]}{e[";"]}{g["#"]}"',
    's = f"""{d["""q"""]}"""',
    's = f"{x:{"<"}{w}}"',
    's = f"{"a" if x else "b"}"',
    's = f"{f"{f"{x}"}"}"',
    's = f"\\N{BULLET} {x}"',
    's = f"{(lambda: 1)()}"',
    's = f"{x:%H:%M}"',
    's = f"""a\n{x +\n y}\nb"""',
    's = f"{d["a" + \'b\']}" + f"{d["a" + b"c"]}"',
    's = f"{[\n  1,\n  2]}"',
]
_HEADERS = [
    "if a:",
    "def f(a, b=lambda q: q) -> int:",
    "class C(B):",
    "for i in x:",
    "with a as b:",
]
_DECORATORS = ["@dec", "@other(\n  1)"]


@st.composite
def _programs(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["simple", "fstring", "block", "comment", "blank", "oneline"]))
        statement = draw(st.sampled_from(_SIMPLE + _FSTRINGS))
        if kind in ("simple", "fstring"):
            lines.append(draw(st.sampled_from(_FSTRINGS if kind == "fstring" else _SIMPLE)))
        elif kind == "block":
            indent = draw(st.sampled_from(["    ", "\t", "  ", "\t    "]))
            if draw(st.booleans()):
                lines.append(draw(st.sampled_from(_DECORATORS)))
                header = draw(st.sampled_from(_HEADERS[1:3]))
            else:
                header = draw(st.sampled_from(_HEADERS))
            lines.append(header)
            lines.append(indent + statement.replace("\n", "\n" + indent))
            if draw(st.booleans()):
                lines.append(indent + "# inside")
        elif kind == "comment":
            lines.append(draw(st.sampled_from(["# c", "  # indented", "#"])))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "   ", "\t"])))
        else:
            header = draw(st.sampled_from(_HEADERS))
            lines.append(f"{header} {statement.splitlines()[0]}")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    ending = draw(st.sampled_from([newline, "", "  ", newline + "# end"]))
    return newline.join(line.replace("\n", newline) for line in lines) + ending


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_programs())
def test_generated_code_gets_the_tokenizers_layout_or_a_right_one(text: str) -> None:
    _agrees(text)


@pytest.mark.parametrize("text", _SIMPLE + _FSTRINGS)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_each_shape_gets_the_tokenizers_layout_or_a_right_one(text: str, newline: str) -> None:
    text = (text + "\ny = 2\n").replace("\n", newline)
    _agrees(text)
    layout = guard._shallow(text)
    assert layout  # every shape is read, none left to the codegen
    assert _lines_of(text, layout) is not None


@pytest.mark.parametrize(
    "text",
    [
        # The last line, without a line break, ends its logical line (unless it is a comment).
        "x = a\nf",
        "x = a\nrb",
        "f",
        "x = 1  # c",
        "x = 1\n# c",
        'x = """a\n#b"""',
        "x = 1 \\\n# c",
        "x = 1\n   ",
        # Indentation: tabs, form feeds, a continuation that starts a line.
        "if x:\n\ty\n        z\n",
        "\x0cx = 1\nif y:\n \x0c  z = 2\n",
        "x = 1\n\\\ny = 2\n",
        "if a:\n    \\\n  b\n",
        # Colons: walrus, lambdas, annotations, slices, dict displays.
        "if n := f(): g = lambda: lambda x: x; h: int = d[1:2]; k = {1: 2}\n",
        "f = lambda_ = xlambda; y = lambda: 1\n",
        # Blank lines, comments and semicolons alone.
        "\n\n  \n# c\n\t# d\nx = 1;\n;\n",
        "",
    ],
)
def test_edges_get_the_tokenizers_layout(text: str) -> None:
    for newline in ["\n", "\r\n"]:
        same = text.replace("\n", newline)
        assert _comparable(guard._shallow(same)) == _comparable(_tokenize_layout(same)), same


def test_fstrings_that_nest_their_quotes_are_one_token_of_their_line() -> None:
    text = 's = f"{d[":"]}{e[";"]}{g["#"]}" + f"""{x:{"<"}\n{w}}"""; t = 1\nu = 2\n'
    assert guard._shallow(text) == [("s", [(1, 2, ";"), (2, 2, "")]), ("u", [(3, 3, "")])]
    assert not _tokenize_layout(text)  # the tokenizer refused it, or could not vouch for it


# --- What is left to the codegen, and what is refused. ---


@pytest.mark.parametrize(
    "text",
    [
        "x = 1\ry = 2\n",  # a lone carriage return: libcst ends a line there, tokenize does not
        "$x = 1\n",  # a line that starts with a character that starts no token
        "x = 1\\ \ny = 2\n",  # a backslash not before the line break
        "x = )\n",  # a bracket closed before it was opened
        "x = 'abc\ny = 2\n",  # a one-line string without its closing quote
        "x = f'a}'\n",  # a single closing brace in an f-string's text
        "x = f'a\n'\n",  # a one-line f-string's text broken by the line end
        'x = f"{y:a"\n',  # an f-string that ends inside a format spec
    ],
)
def test_what_the_scan_cannot_vouch_for_is_left_to_the_codegen(text: str) -> None:
    assert guard._shallow(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "x = '''abc\n",  # EOF in a string
        'x = f"""{y}\n',
        'x = f"{y',
        "x = f'{y\n",  # a replacement field may hold a line break, not the file's end
        "x = (1,\n",  # EOF in a bracket
        "x = 1 \\\n",  # EOF in a continued line
        "if x:\n    a\n  b\n",  # a dedent to no open level
    ],
)
def test_what_cannot_be_read_to_its_end_is_refused(text: str) -> None:
    assert guard._shallow(text) is None


def _deep(opening: str, closing: str, levels: int) -> str:
    return 'm = f"{"a"}"\nx = ' + opening * levels + "1" + closing * levels + "\n"


@pytest.mark.parametrize(
    ("opening", "closing"),
    [("(", ")"), ("[", "]"), ("{", "}"), ('f"{', '}"'), ("f'{(", ")}'"), ('f"{x:{', '}}"')],
)
def test_nesting_is_bounded_in_code_and_in_fstrings(opening: str, closing: str) -> None:
    # A replacement field is a level, like a bracket: libcst's parse recurses into both.
    levels = MAX_DEPTH if opening[0] in "([{" else MAX_DEPTH // 2
    assert guard._shallow(_deep(opening, closing, levels))
    assert guard._shallow(_deep(opening, closing, MAX_DEPTH + 1)) is None


def test_indentation_is_bounded_with_spaces_and_tabs() -> None:
    for unit in [" ", "\t", "  "]:
        lines = ["if x:\n" if i == 0 else unit * i + "if x:\n" for i in range(MAX_INDENT + 1)]
        admitted = 'm = f"{"a"}"\n' + "".join(lines) + unit * (MAX_INDENT + 1) + "pass\n"
        assert guard._shallow(admitted) is None  # MAX_INDENT + 1 levels
        assert guard._shallow('m = f"{"a"}"\n' + "".join(lines[:-1]) + unit * MAX_INDENT + "y\n")
    # A tab reaches the next multiple of 8 columns, as tokenize counts: the same level as 8 spaces.
    assert guard._shallow("if x:\n\ty = 1\n        z = 2\n") == [
        ("if", [(1, 1, ":"), (0, 0, "")]),
        ("y", [(2, 2, "")]),
        ("z", [(3, 3, "")]),
    ]


@pytest.mark.parametrize(
    "chain",
    [
        lambda n: " + ".join(["1"] * (n + 1)),
        lambda n: " and ".join(["a"] * (n + 1)),
        lambda n: "-" * n + "1",
        lambda n: "f(" + ",\n".join(["a < b"] * n) + ")",  # one logical line over many rows
        lambda n: 'f"{' + " * ".join(["a"] * (n + 1)) + '}"',  # in a replacement field
        lambda n: "; ".join(["x = a | b"] * n),  # statements of one line
    ],
)
def test_operators_in_one_logical_line_are_bounded(chain: Callable[[int], str]) -> None:
    assert guard._shallow('m = f"{"a"}"\n' + chain(MAX_DEPTH) + "\n")
    assert guard._shallow('m = f"{"a"}"\n' + chain(MAX_DEPTH + 1) + "\n") is None


def test_what_is_no_operator_is_not_counted() -> None:
    # Exponent signs, augmented assignments, arrows, operators in strings and comments, and
    # keywords inside names: none is an operator, however many there are in a line.
    many = MAX_DEPTH * 2
    texts = [
        "x = [" + ", ".join(["1e-5", "2E+3", ".5e-1"] * many) + "]",
        "; ".join(["a += 1", "b -= 2", "c **= 3", "d //= 4", "e <<= 5", "f @= 6"] * many),
        "x = '" + "+-*/ and or not in is if " * many + "'",
        "x = f'" + "+ - * /" * many + "{y}'",
        "x = ["
        + ", ".join(["android", "origin", "notice", "index", "island", "iffy"] * many)
        + "]",
        "x = (1 +  # " + "+ " * many + "\n  2)",
    ]
    for text in texts:
        assert guard._shallow('m = f"{"a"}"\n' + text + "\n"), text[:40]


def test_a_hostile_line_is_refused_quickly() -> None:
    started = time.monotonic()
    wide = 'm = f"{"a"}"\nx = ' + " + ".join(["1"] * 100_000) + "\n"
    assert guard._shallow(wide) is None
    deep = 'm = f"{"a"}"\nx = ' + "(" * 100_000 + ")" * 100_000 + "\n"
    assert guard._shallow(deep) is None
    # Strings without their end: the patterns of their text fail in linear time.
    assert guard._shallow("x = '" + "ab" * 100_000 + "\ny = 1\n") == []
    assert guard._shallow('x = f"' + "a\\" * 100_000 + "\ny = 1\n") == []
    assert guard._shallow('x = """' + "ab\\" * 100_000) is None
    assert guard._shallow('x = f"""{y:' + "a\\" * 100_000) is None
    assert guard._shallow('x = """' + "\\\r\n" * 100_000) is None  # two ways to read each
    assert time.monotonic() - started < 2
