"""The parse guard and the bounded workers: what is refused, why, and that normal code is not."""

from __future__ import annotations

import ast
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgolf_cli.audit import engine, guard
from pgolf_cli.audit.engine import AuditOptions, audit_paths, audit_source
from pgolf_cli.audit.source import source_from_bytes


def _refusal(text: str) -> tuple[str, int]:
    with pytest.raises(guard.Refused) as caught:
        guard.parse(text)
    return caught.value.rule_id, caught.value.line


def test_cpython_rejections_are_pg901_at_cpythons_line() -> None:
    assert _refusal("x = " + "(" * 3000 + "1" + ")" * 3000 + "\n") == ("PG901", 1)
    assert _refusal("import os\n\ndef main(:\n    pass\n") == ("PG901", 3)
    blocks = "".join(" " * i + "if x:\n" for i in range(120)) + " " * 120 + "pass\n"
    assert _refusal(blocks) == ("PG901", 101)


def test_an_expression_cpython_cannot_build_is_pg901_in_milliseconds() -> None:
    started = time.monotonic()
    assert _refusal("x = " + " + ".join(["1"] * 100_000) + "\n") == ("PG901", 1)
    assert time.monotonic() - started < 5  # libcst alone took minutes


def test_a_parser_stack_overflow_in_cpython_is_pg906() -> None:
    # CPython 3.11's parser raises MemoryError past 6,000 nested levels of a unary operator.
    assert _refusal("x = " + "-" * 8000 + "1\n") == ("PG906", 1)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="the memory limit is Linux's")
def test_a_huge_valid_file_is_stopped_by_the_memory_limit(tmp_path: Path) -> None:
    huge = tmp_path / "train_gpt.py"
    huge.write_text("x = [1, 2, 3]\n" * 150_000)  # 2.1 MB: gigabytes of syntax trees
    report = audit_paths([huge], AuditOptions(memory_limit_bytes=300 * 2**20), jobs=1)
    (finding,) = report.files[0].findings
    assert (finding.rule_id, finding.line) == ("PG906", 1)
    assert "memory" in finding.message


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("y = 1\nx = a" + "[0]" * (guard.MAX_DEPTH + 1) + "\n", 2),
        ("x = " + "-" * 500 + "1\n", 1),
        ("x = " + "lambda: " * 400 + "1\n", 1),
        ("def f():\n    return " + " or ".join(["a"] * 400) + "\n", 2),
    ],
    ids=["subscripts", "unary", "lambdas", "or-chain"],
)
def test_valid_code_deeper_than_the_bound_is_pg906_at_its_line(code: str, line: int) -> None:
    compile(code, "<deep>", "exec")  # valid Python: CPython takes it
    assert _refusal(code) == ("PG906", line)


def test_the_bound_admits_everything_up_to_it() -> None:
    # A statement adds levels above the expression (module, assignment): stay under the bound.
    guard.parse("x = a" + "[0]" * (guard.MAX_DEPTH - 5) + "\n")
    guard.parse("flag = " + " or ".join(["a"] * 150) + "\n")


def _heights(tree: ast.AST) -> Iterator[tuple[ast.AST, int]]:
    """Every node with its height: the levels below it as ``_too_deep`` counts them (the
    operands of ``a or b or c`` counting the operators in front of them)."""
    found: list[tuple[ast.AST, int]] = []

    def height(node: ast.AST) -> int:
        if isinstance(node, ast.BoolOp):
            n = len(node.values)
            below = max(height(v) + n - i for i, v in enumerate(node.values))
        else:
            kids = [c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.expr_context)]
            below = max((height(c) + 1 for c in kids), default=0)
        found.append((node, below))
        return below

    height(tree)
    return iter(found)


_NARROW_SHAPES = [
    "x = " + "-" * 40 + "1",
    "x = " + "not " * 20 + "a",
    "x = a" + ".b" * 30,
    "x = f" + "()" * 30,
    "x = a" + "[0]" * 25,
    "x = " + " + ".join(["a"] * 30),
    "x = " + " or ".join(["a"] * 30),
    "x = " + " < ".join(["a"] * 30),
    "x = " + "lambda: " * 12 + "1",
    "x = " + "lambda a, *b, c=1, **d: " * 4 + "1",
    "x = f'{" + "-" * 20 + "a!r:>{w}}'",
    "x = f'{f\"{a}\"}'",
    "x = " + "[" * 30 + "]" * 30,
    "x = {a: {b: {c: (d, e)}}}",
    "x = [y for y in z if y for w in y]",
    "x = a if b else c if d else e if f else g",
    "x = (y := (z := 1))",
    "x = a[1:2:3, ::, ...]",
    "async def f():\n    await g(await h(await i()))",
    "def f(*, a=lambda: 1, b: int = 2) -> int: return a",
    "with a as b, c as d: pass",
    "match x:\n    case [1, {'a': b}, C(d=e)] | None if e: pass",
    "x = *a, *b",
    "del a[0], b.c",
    "assert a, b",
]


@pytest.mark.parametrize("code", _NARROW_SHAPES)
def test_a_node_on_one_line_holds_no_more_levels_than_its_width_allows(code: str) -> None:
    # `_too_deep` skips narrow one-line nodes on this bound: it must hold for every shape.
    for node, below in _heights(ast.parse(code)):
        lineno, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if lineno is not None and lineno == end:
            width = node.end_col_offset - node.col_offset  # type: ignore[attr-defined]
            assert below <= guard._narrow_height(width), ast.dump(node)


def test_skipping_narrow_nodes_finds_what_a_full_walk_finds() -> None:
    # A deep expression inside an f-string, a lambda and a narrow neighbour are still measured.
    assert _refusal("y = 1\nx = f'{" + "-" * 300 + "1}'\n") == ("PG906", 2)
    assert _refusal("x = (1, lambda: " + "-" * 300 + "1)\n") == ("PG906", 1)
    assert _refusal("def f():\n    a = 1\n    b = " + "~" * 300 + "1\n") == ("PG906", 3)


def test_the_statements_cpython_found_are_kept_for_the_positions() -> None:
    parsed = guard.parse("import os\n\ndef main():\n    return os.sep\n")
    assert parsed.statements is not None
    assert [(kind.__name__, first, last) for kind, first, last, _ in parsed.statements] == [
        ("Import", 1, 1),
        ("FunctionDef", 3, 4),
    ]
    assert parsed.statements[1][3] == ([(ast.Return, 4, 4, ())],)
    assert len(parsed.module.body) == 2


def test_refusals_fail_closed_even_when_pg9_is_ignored() -> None:
    deep = "x = a" + "[0]" * 300 + "\n"
    result = audit_source(source_from_bytes("d.py", deep.encode()), AuditOptions(ignore=("PG9",)))
    assert [(f.rule_id, f.line, f.severity.value) for f in result.findings] == [
        ("PG906", 1, "error")
    ]
    assert "200 levels" in result.findings[0].message


# --------------------------------------------------------------------------- bounded workers


def _crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _sleep() -> None:
    time.sleep(30)


def _allocate() -> int:
    return len(bytearray(2 * 2**30))


def _raise() -> None:
    raise ValueError("a bug in pgolf")


def _run(job: object, options: AuditOptions) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []
    engine._bounded([(job, ())], options, 1, lambda _i, outcome: seen.append(outcome))  # type: ignore[list-item]
    return seen


def test_a_worker_that_crashes_is_a_refusal_naming_the_signal() -> None:
    assert _run(_crash, AuditOptions()) == [
        ("refused", "the audit's worker process crashed (SIGSEGV) while reading the code")
    ]


def test_a_worker_past_the_time_limit_is_stopped() -> None:
    started = time.monotonic()
    assert _run(_sleep, AuditOptions(time_limit_s=0.5)) == [
        ("refused", "the audit ran for more than 0.5 s and was stopped")
    ]
    assert time.monotonic() - started < 10


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="the memory limit is Linux's")
def test_a_worker_past_the_memory_limit_is_stopped() -> None:
    (outcome,) = _run(_allocate, AuditOptions(memory_limit_bytes=256 * 2**20))
    assert outcome == ("refused", "the audit needed more than 0.25 GiB of memory and was stopped")


def test_an_exception_in_a_worker_is_raised_in_the_caller() -> None:
    with pytest.raises(ValueError, match="a bug in pgolf"):
        _run(_raise, AuditOptions())


def test_a_unit_past_the_time_limit_is_a_pg906_of_its_file(tmp_path: Path) -> None:
    # Valid, shallow enough to be admitted, and slow for libcst: 400 statements 150 deep.
    slow = tmp_path / "train_gpt.py"
    slow.write_text(("x = a" + "[0]" * 150 + "\n") * 400)
    fast = tmp_path / "other.py"
    fast.write_text("print('hello')\n")
    report = audit_paths([slow, fast], AuditOptions(time_limit_s=0.3), jobs=2)
    by_name = {Path(r.path).name: r for r in report.files}
    (finding,) = by_name["train_gpt.py"].findings
    assert (finding.rule_id, finding.line) == ("PG906", 1)
    assert "ran for more than 0.3 s" in finding.message
    assert by_name["other.py"].findings == () and by_name["other.py"].error is None


# Python 3.12 lets an f-string's expression reuse the string's own quotes (PEP 701); merged
# records do it, so on an older Python it must still be audited, by libcst.
NEWER_GRAMMAR = 'mode = "a"\nprint(f"start={"physical" if mode else "virtual"} x={mode}")\n'


def test_grammar_of_a_newer_python_is_parsed_by_libcst() -> None:
    parsed = guard.parse(NEWER_GRAMMAR)
    assert parsed.module.code == NEWER_GRAMMAR
    findings = audit_source(source_from_bytes("train_gpt.py", NEWER_GRAMMAR.encode()))
    assert [f.rule_id for f in findings.findings] == []


def test_invalid_code_keeps_cpythons_refusal_when_libcst_rejects_it_too() -> None:
    assert _refusal('x = f"{"a" +}"\n')[0] == "PG901"
    assert _refusal("import os\n\ndef main(:\n    pass\n") == ("PG901", 3)


def test_code_cpython_rejects_is_not_handed_to_libcst_when_deep() -> None:
    # A newer-grammar line does not open the way past the bounds.
    deep = NEWER_GRAMMAR + "x = " + "(" * 300 + "1" + ")" * 300 + "\n"
    assert _refusal(deep) == ("PG901", 3)
    started = time.monotonic()
    wide = NEWER_GRAMMAR + "x = " + " + ".join(["1"] * 100_000) + "\n"
    assert _refusal(wide)[0] in {"PG901", "PG906"}
    assert time.monotonic() - started < 5


def test_a_hostile_file_the_script_imports_is_refused_not_parsed(tmp_path: Path) -> None:
    # Finding what an entry point pulls in parses the files it names: through the guard too.
    (tmp_path / "train_gpt.py").write_text("import helpers\n\nhelpers.run()\n")
    (tmp_path / "helpers.py").write_text(
        "import train_gpt\n\nx = " + "(" * 3000 + "1" + ")" * 3000 + "\n"
    )
    report = audit_paths([tmp_path], AuditOptions(), jobs=1)
    assert all(r.error is None for r in report.files)
    found = {(Path(f.path).name, f.rule_id) for f in report.findings}
    assert ("helpers.py", "PG901") in found


def test_a_file_only_pgolfs_parser_refuses_is_not_called_invalid_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(text: str) -> guard.Parsed:
        raise guard.Refused("PG901", 2, "libcst refuses it", python_reads=True)

    monkeypatch.setattr(guard, "parse", refuse)
    (finding,) = audit_source(source_from_bytes("t.py", b"x = 1\ny = 2\n")).findings
    assert (finding.rule_id, finding.line) == ("PG901", 2)
    assert "Python reads the file but pgolf's parser does not" in finding.message
    assert "not valid Python" not in finding.message


def test_a_file_python_refuses_is_called_invalid_python() -> None:
    (finding,) = audit_source(source_from_bytes("t.py", b"def f(:\n")).findings
    assert "the file is not valid Python 3" in finding.message
