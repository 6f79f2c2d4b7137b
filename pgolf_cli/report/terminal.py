"""Untrusted text in a report for a terminal (rich markup)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pgolf_cli.gate.git import display_path as inert


def shown(untrusted: str) -> str:
    """Untrusted text for rich: no markup, no control characters (no escape sequence from a
    hostile file name reaches the terminal)."""
    return escape(inert(untrusted))


def checks_table(*names: str) -> Table:
    """A table with a header: every column on one line but the last (the message), folded."""
    table = Table(show_header=True, header_style="bold")
    for name in names[:-1]:
        table.add_column(name, no_wrap=True)
    table.add_column(names[-1], overflow="fold")
    return table


def print_evidence(console: Console, evidence: Sequence[str], limit: int) -> None:
    """The first ``limit`` lines of untrusted evidence, indented, and how many more there are."""
    for line in evidence[:limit]:
        console.print(f"    {shown(line)}", soft_wrap=True)
    if len(evidence) > limit:
        console.print(
            f"    … {len(evidence) - limit} more (--format json lists all)", soft_wrap=True
        )
