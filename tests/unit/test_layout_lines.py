"""Statement lines without a CPython tree: the guard's token pass and libcst's statements must
give exactly the lines of libcst's codegen (``positions._codegen_lines``), or fall back to it."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from pgolf_cli.audit import guard, positions
from pgolf_cli.audit.registry import all_rules

FIXTURES = Path(__file__).resolve().parents[1] / "checks" / "fixtures"

SHAPES = {
    "simple": "import os\nx = 1\nprint(x)\n",
    "no final newline": "x = 1\ny = (2,\n     3)",
    "strings": "x = '''a\nb\n'''\ny = \"\"\"c\"\"\" + 'd'\nz = (\n  'e'\n  'f')\n",
    "backslash": "x = 1 + \\\n    2\nassert x, \\\n  'm'\nif a and \\\n   b:\n    pass\n",
    "comments": "# c\nx = 1  # t\n# d\n\ndef f():\n    # lead\n    y = 2\n    # trail\n\n# end\n",
    "decorators": "@dec\n@other(\n  1)\nclass C(B):\n    @property\n    def p(self): return 1\n",
    "one-line suites": "if x: a; b\nelif y: c = 1;\nelse: d: int = 2; e\nwhile x: break\n",
    "clauses": (
        "try:\n    a\nexcept E as e:\n    b\nexcept (F, G):\n    c\nelse:\n    d\nfinally:\n"
        "    e\nfor i in x:\n    continue\nelse:\n    f\nwhile y:\n    g\nelse: h\n"
    ),
    "try star": "try:\n    a\nexcept* E:\n    b\n",
    "nested": "def f(a,\n      b):\n    if a:\n        for i in b:\n            with i as j, k:\n"
    "                return j\n    return (b\n    )\n",
    "async": "async def f():\n    async for x in y:\n        pass\n    async with z:\n        await w\n",
    "match": "match x:\n    case [1, *r]:\n        m = 2\n    case {'k': v} if v: n = 3\n"
    "    case _:\n        pass\n",
    "soft keywords": "match = 1\ncase = match\nmatch(case).x = 2\ntype = 3\n",
    "annotations": "x: int = 1\ny: dict[str, int]\nclass D:\n    z: 'str'\n",
    "lambdas": "f = lambda: 1\ng = lambda x, y=2: (lambda: x)()\nif lambda: 1: pass\n"
    "def h(k=lambda q: q) -> int: return 0\n",
    "semicolons": "import a; import b as c; from d import (e,\n  f); x = 1;\n",
    "imports": "from a import (b,\n    c,\n)\nfrom d import *\nimport e.f\n",
    "empty lines between": "\n\n\nx = 1\n\n\n\ndef f():\n\n    return 2\n\n\n",
    "small statements": "del a; global g; raise X from y\nnonlocal_ = 1\nassert x\npass\n",
    "f-strings": "print(f'{x!r:>{w}}')\ny = f\"{a['k']}\" f'{{literal}}'\nz = rf'{b}'\n",
    "walrus": "if (n := len(a)) > 1: print(n)\n",
    "newer f-string quotes": (
        'mode = "a"\nprint(f"start={"physical" if mode else "virtual"} x={mode}")\n'
        'y = f"{", ".join(xs)}"\nz = f"{d["k"]:>{w}}{e["j"]!r}"\n'
        'if y: log(f"{d["k"]}"); w = 1\nt = f"""{d["""q"""]}"""\n'
        'u = f"{d["a" + \'b\']}" + f"{d["a" + b"c"]}"\n'
    ),
}


def _same_lines(text: str) -> None:
    """The layout's lines are the codegen's, statement by statement, for the same tree."""
    module = cst.parse_module(text)
    layout = guard._shallow(text)
    assert layout
    out: positions.LineMap = {}
    positions._Lines(layout, out).module(module)
    assert out == positions._codegen_lines(module)
    assert positions.statement_lines(module, text, None, layout) == out


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_layout_lines_are_libcsts_on_every_shape(shape: str, newline: str) -> None:
    _same_lines(SHAPES[shape].replace("\n", newline))


def test_every_rule_example_and_fixture_gets_libcsts_lines() -> None:
    texts = [example.code for rule in all_rules() for example in (*rule.VALID, *rule.INVALID)]
    texts += [path.read_text() for path in sorted(FIXTURES.glob("*.py"))]
    assert len(texts) > 50
    parsed = 0
    for text in texts:
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            continue  # an example of code that is not Python
        if module.body and guard._shallow(text) is not None:  # else refused, never paired
            _same_lines(text)
            parsed += 1
    assert parsed > 50


@pytest.mark.shared
def test_every_record_and_corpus_script_gets_libcsts_lines(real_scripts: list[Path]) -> None:
    from pgolf_cli.audit.source import read_source

    paths = real_scripts
    for path in paths:
        text = read_source(path).text
        if text.strip():
            _same_lines(text)


@pytest.mark.parametrize(
    "text",
    [
        # The nested string's text holds what would move a line's bounds if read as code.
        'x = f"{d[":"]}"\ny = 1\n',
        'x = f"{d[";"]}"\ny = 1\n',
        'x = f"{d["#"]}"\ny = 1\n',
        "x = f'{d['a{}']}'\ny = 1\n",
        # A nested string in another quote holding the f-string's own quote.
        'x = f"{d[\'a"b"c\']}"\ny = 1\n',
    ],
)
def test_fstrings_nesting_their_quotes_are_read_as_python_3_12_reads_them(text: str) -> None:
    # Python 3.11's tokenizer misreads these (the nested string as code); the guard reads the
    # replacement field as code and its strings as strings, and keeps the layout.
    _same_lines(text)
    assert sorted(guard.parse(text).layout or []) == [("x", [(1, 1, "")]), ("y", [(2, 2, "")])]


def test_a_lone_carriage_return_falls_back_to_codegen() -> None:
    # libcst ends a line at a lone carriage return, Python's tokenizer does not.
    text = "x = 1\ry = (2,\r 3)\n"
    module = cst.parse_module(text)
    layout = guard._shallow(text)
    assert layout == []
    lines = positions.statement_lines(module, text, None, layout)
    assert lines == positions._codegen_lines(module)
    assert sorted(lines.values()) == [(1, 1), (2, 3)]  # as libcst counts "\r"


def test_a_layout_that_disagrees_with_the_tree_falls_back_to_codegen() -> None:
    text = "def f():\n    x = 1; y = 2\n"
    module = cst.parse_module(text)
    for other in ["def f():\n    x = 1\n", "class f:\n    x = 1; y = 2\n", "x = 1; y = 2\n"]:
        layout = guard._shallow(other)
        assert layout
        with pytest.raises(positions._Mismatch):
            positions._Lines(layout, {}).module(module)
        lines = positions.statement_lines(module, text, None, layout)
        assert lines == positions._codegen_lines(module)
        assert sorted(lines.values()) == [(1, 2), (2, 2), (2, 2)]


def test_newer_grammar_is_parsed_with_its_layout() -> None:
    text = SHAPES["newer f-string quotes"]
    parsed = guard.parse(text)
    assert parsed.statements is None and parsed.layout
    lines = positions.statement_lines(parsed.module, text, parsed.statements, parsed.layout)
    out: positions.LineMap = {}
    positions._Lines(parsed.layout, out).module(parsed.module)
    assert lines == out == positions._codegen_lines(parsed.module)
    rows = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (5, 5), (5, 5), (6, 6), (7, 7)]
    assert sorted(lines.values()) == rows
