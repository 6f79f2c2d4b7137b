"""The colour policy: NO_COLOR, FORCE_COLOR, terminals."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from pgolf_cli.console import color_enabled


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "terminal", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        # Empty values count as unset, as the NO_COLOR convention says.
        ({"NO_COLOR": ""}, True, True),
        ({"FORCE_COLOR": ""}, False, False),
    ],
)
def test_color_policy(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], terminal: bool, expected: bool
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    stream = FakeTerminal() if terminal else io.StringIO()
    assert color_enabled(stream) is expected


def test_closed_stream_is_not_a_terminal() -> None:
    class Closed(io.StringIO):
        def isatty(self) -> bool:
            raise ValueError("I/O operation on closed file")

    assert color_enabled(Closed()) is False


def test_force_color_colours_the_text_report(
    invoke: Callable[..., Result],
    workdir: Path,
    illegal_example: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = invoke("audit", illegal_example, "-j", "1")
    assert "\x1b[" in coloured.stdout
    monkeypatch.setenv("NO_COLOR", "1")
    plain = invoke("audit", illegal_example, "-j", "1")
    assert "\x1b[" not in plain.stdout
    assert "PG101" in plain.stdout


def test_json_never_carries_colour(
    invoke: Callable[..., Result],
    workdir: Path,
    illegal_example: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    result = invoke("audit", illegal_example, "-f", "json", "-j", "1")
    assert "\x1b[" not in result.stdout
