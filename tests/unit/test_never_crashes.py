"""The audit ends in a report on every syntactically valid Python program (hypothesmith).

hypothesmith generates programs from Python's grammar (``from_grammar``) and from libcst's node
types (``from_node``); every one compiles. The audit must give no exception, no tool error and
no PG901 for them (CPython accepts them). A crash found here is a bug: it is fixed, and the
program that showed it is added to the examples below, which always run. The fuzz run with
10,000 programs is ``bench/fuzz_audit.py`` (docs/benchmarks.md).
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


# Programs the fuzz run (bench/fuzz_audit.py) or this test once crashed the audit on.
REGRESSIONS: list[str] = []


@pytest.mark.parametrize("program", REGRESSIONS)
def test_programs_that_once_crashed_the_audit(program: str) -> None:
    _assert_audited(program)
