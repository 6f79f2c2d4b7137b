"""Untrusted text in a report for a terminal (rich markup)."""

from __future__ import annotations

from rich.markup import escape

from pgolf_cli.gate.git import display_path as inert


def shown(untrusted: str) -> str:
    """Untrusted text for rich: no markup, no control characters (no escape sequence from a
    hostile file name reaches the terminal)."""
    return escape(inert(untrusted))
