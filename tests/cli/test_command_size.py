"""The command modules stay thin: parse, call the library, render.

A function in pgolf_cli/cli/ that grows past the limit is doing the library's work; move that
work to the package it belongs to (runner/, records/, gate/, ...) as a plain function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pgolf_cli.cli

MAX_LINES = 60
CLI = Path(pgolf_cli.cli.__file__).parent


def function_lengths(source: str) -> dict[str, int]:
    """Each function's length in lines, from ``def`` to its last line (decorators excluded)."""
    lengths: dict[str, int] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            lengths[f"{node.name}:{node.lineno}"] = node.end_lineno - node.lineno + 1
    return lengths


def test_the_measure_counts_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    lengths = function_lengths(f"@decorator\ndef long():\n{body}\n\ndef short():\n    pass\n")
    assert lengths == {"long:2": MAX_LINES + 1, f"short:{MAX_LINES + 4}": 2}


def test_no_command_function_is_longer_than_the_limit() -> None:
    modules = sorted(CLI.glob("*.py"))
    assert len(modules) > 10  # the command modules are where this test looks
    too_long = [
        f"{path.name} {name} ({length} lines)"
        for path in modules
        for name, length in function_lengths(path.read_text(encoding="utf-8")).items()
        if length > MAX_LINES
    ]
    assert not too_long, f"functions in pgolf_cli/cli/ over {MAX_LINES} lines: {too_long}"
