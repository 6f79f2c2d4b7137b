"""The audit ends in a report on every syntactically valid Python program (hypothesmith).

hypothesmith generates programs from Python's grammar (``from_grammar``) and from libcst's node
types (``from_node``); every one compiles. The audit must give no exception, no tool error and
no PG901 for them (CPython accepts them). A crash found here is a bug: it is fixed, and the
program that showed it becomes a regression test of its own. The fuzz run with 10,000 programs
is ``bench/fuzz_audit.py`` (docs/benchmarks.md).
"""

from __future__ import annotations

import warnings

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings

from pgolf_cli.audit.engine import audit_source
from pgolf_cli.audit.source import source_from_bytes


def _assert_audited(program: str) -> None:
    try:
        data = program.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates: not text a file can hold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # `"a"()` compiles, with a warning
        compile(program, "<generated>", "exec")
    result = audit_source(source_from_bytes("generated.py", data))
    assert result.error is None, result.error
    assert not [f for f in result.findings if f.rule_id == "PG901"], result.findings


_SETTINGS = {
    "deadline": None,
    "derandomize": True,  # CI reruns the same programs; bench/fuzz_audit.py explores
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}


@settings(max_examples=250, **_SETTINGS)  # type: ignore[arg-type]
@given(hypothesmith.from_grammar())
def test_the_audit_never_crashes_on_programs_from_the_grammar(program: str) -> None:
    _assert_audited(program)


@settings(max_examples=50, **_SETTINGS)  # type: ignore[arg-type]
@given(hypothesmith.from_node())
def test_the_audit_never_crashes_on_programs_from_libcst_nodes(program: str) -> None:
    # Slower to generate (about 0.2 s a program): fewer of them, other shapes.
    _assert_audited(program)


# A keyword written against a number that starts with a dot, or against a bracketed conditional
# expression: CPython reads it, libcst's parser raised a validation error out of the audit (a
# traceback, later a PG901 on valid code). python-minifier writes `return.5`
# for `return 0.5`; the metamorphic harness found it on the minified fixtures.
@pytest.mark.parametrize(
    "program",
    [
        "def f():\n    return.5\n",
        "def g():\n    yield.5j\n",
        "x = 1 if y else.5\n",
        "x = a and.5 or.25\n",
        "x = not.5\n",
        "assert.5\n",
        "x = [a for a in.5]\n",
        "x = a is.5\n",
        "s = 'return.5'  # in a string it stays as written\n",
        # python-minifier drops the space before a bracket, and libcst refuses a keyword
        # against a parenthesised conditional expression on either side.
        "def f(a, b, c):\n    return(a if b else c).d\n",
        "def f(a, b, c):\n\tif(a if b else c).d:return\n",
        "x = (a if b else c)if d else e\n",
        "x = a if b else(c if d else e)\n",
        "x = (a if b else c)and d\n",
        "x = [a for a in(b if c else d).e]\n",
    ],
)
def test_keywords_written_against_their_neighbours_are_audited(program: str) -> None:
    _assert_audited(program)
    result = audit_source(source_from_bytes("t.py", program.encode()))
    assert result.findings == ()


def test_the_space_libcst_needs_moves_no_finding() -> None:
    code = (
        "import torch\n\ndef main(val_tokens):\n    s=.5\n    if s>0: return.5\n"
        "    opt = torch.optim.SGD([], lr=.1)\n    for x in val_tokens:\n"
        "        loss = (x * 2.).sum(); loss.backward(); opt.step()\n\nmain(None)\n"
    )
    spaced = code.replace("return.5", "return .5")
    rows = [
        [(f.rule_id, f.line) for f in audit_source(source_from_bytes("t.py", c.encode())).findings]
        for c in (code, spaced)
    ]
    assert rows[0] == rows[1]


# python-minifier writes an annotated attribute assignment with its target in parentheses:
# CPython reads it, libcst's parser refused it and the whole file was PG901 (found by
# bench/invariance_real.py: 71 of the real scripts, minified, lost every finding).
@pytest.mark.parametrize(
    "program",
    [
        "class A:\n    def __init__(s):\n        (s.x): int | None = None\n",
        "class A:\n    def __init__(s):(s.x):int=0;(s.y):'T'=None\n",
        "t = {}\n(t['k']): int = 1\n",
        "(x): int = 1\n",
        "((x)): int\n",
        "é = 1; (y.z) : float = é  # (not these: ) \n",
        "s = '(a.b): int = 1'\n",
    ],
)
def test_annotated_targets_in_parentheses_are_audited(program: str) -> None:
    _assert_audited(program)
    result = audit_source(source_from_bytes("t.py", program.encode()))
    assert result.findings == ()


def test_the_parentheses_taken_off_move_no_finding() -> None:
    code = (
        "import torch\n\nclass T:\n    def __init__(s, val_tokens):\n"
        "        (s.opt): object = torch.optim.SGD([], lr=.1)\n"
        "        for x in val_tokens:\n"
        "            loss = (x * 2.).sum(); loss.backward(); s.opt.step()\n\nT(None)\n"
    )
    plain = code.replace("(s.opt): object", "s.opt: object")
    rows = [
        [(f.rule_id, f.line) for f in audit_source(source_from_bytes("t.py", c.encode())).findings]
        for c in (code, plain)
    ]
    assert rows[0] == rows[1] != []


def test_a_file_without_statements_ending_in_a_line_continuation_is_audited() -> None:
    # Found by bench/fuzz_audit.py (seed 1): CPython compiles it, libcst's tokenizer rejected it,
    # and the audit reported valid code as PG901.
    _assert_audited("\r\n     \\\r\n")
