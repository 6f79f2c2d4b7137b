"""The words PG301 reads from a call's string literals keep the order they are written in."""

from __future__ import annotations

import libcst as cst

from checks.artifact import _literal_words


def _call(code: str) -> cst.Call:
    expr = cst.parse_expression(code)
    assert isinstance(expr, cst.Call)
    return expr


def test_words_follow_source_order_through_a_conditional() -> None:
    # `body if test else orelse`: libcst stores test first, the source writes body first.
    call = _call('run("nvcc a.cu" if mode == "fast b.c" else "gcc c.c", cwd="d.cpp")')
    assert _literal_words(call) == ["nvcc", "a.cu", "fast", "b.c", "gcc", "c.c", "d.cpp"]


def test_words_are_deduplicated_and_skip_non_strings() -> None:
    call = _call('run(["gcc", f"{x}.c", b"bytes.c", "gcc", ("x.cu" "y.cu")], 3)')
    assert _literal_words(call) == ["gcc", "x.cu", "y.cu"]
