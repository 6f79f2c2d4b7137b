"""Reports: pure functions from a result to text, one table of renderers per report kind.

The layout, one owner for each piece:

- :mod:`pgolf_cli.report.audit`: ``pgolf audit`` (text, json, sarif, github; a module each).
- :mod:`pgolf_cli.report.verify`: ``pgolf verify`` (text, json, markdown).
- :mod:`pgolf_cli.report.gate`: ``pgolf gate`` (text, markdown, json, sarif, github).
- :mod:`pgolf_cli.report.sweep`: ``pgolf sweep`` (markdown, json, html, csv).
- :mod:`pgolf_cli.report.markdown`: the escaper of every untrusted string in markdown.

Each kind exposes ``FORMATS``, a :class:`ReportFormats`: the format names (which the command
line offers as ``--format`` choices) and the renderer of each. Every renderer returns the
complete output ending with a newline (the github formats return an empty string when there
is nothing to annotate), so the caller writes it as it is.

This module stays light: the command line imports the tables to build its options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pgolf_cli.console import DEFAULT_WIDTH

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How a report for people is laid out; the formats for machines ignore these."""

    color: bool = False
    width: int = DEFAULT_WIDTH
    show_suppressed: bool = False
    """Audit text: also list findings silenced by a suppression comment."""
    details: bool = False
    """Verify text: every check of every folder, not only the one-line summary."""


Renderer = Callable[[R, RenderOptions], str]


class ReportFormats(Generic[R]):
    """The formats of one report kind, in the order the help lists them, and their renderers."""

    def __init__(self, kind: str, renderers: Mapping[str, Renderer[R]]) -> None:
        self.kind = kind
        self._renderers = dict(renderers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._renderers)

    @property
    def choice(self) -> Any:
        """The names as an enum (a ``str`` each): typer makes it the ``--format`` choices.

        A command annotates its option with it at run time and with ``str`` for mypy, which
        cannot read a type built from a value.
        """
        members = [(name.upper().replace("-", "_"), name) for name in self.names]
        return StrEnum(f"{self.kind.capitalize()}Format", members)

    @property
    def listed(self) -> str:
        """The names for a sentence: ``text, json or sarif``."""
        *rest, last = self.names
        return f"{', '.join(rest)} or {last}" if rest else last

    def render(
        self,
        report: R,
        fmt: str,
        *,
        color: bool = False,
        width: int = DEFAULT_WIDTH,
        show_suppressed: bool = False,
        details: bool = False,
    ) -> str:
        """``report`` in format ``fmt``, one of :attr:`names`."""
        renderer = self._renderers.get(fmt)
        if renderer is None:
            raise ValueError(
                f"unknown {self.kind} format {fmt!r}: choose one of {', '.join(self.names)}"
            )
        options = RenderOptions(
            color=color, width=width, show_suppressed=show_suppressed, details=details
        )
        return renderer(report, options)
