"""GitHub markdown from untrusted strings: the one escaper every markdown report uses.

A report quotes what a submission or pull request wrote (file names, json fields, messages
that quote its files, ref names). Each such string goes through :func:`text` (prose), :func:`code`
(an inline code span) or :func:`fence` (a code block), so that it cannot open a link, an HTML
tag such as ``<details>``, a heading or a list, break out of a table cell, or @mention someone.
:func:`cell` and :func:`row` only make pgolf's own markdown fit a table cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pgolf_cli.gate.git import display_path as inert

# Characters that mean something to GitHub markdown anywhere in a line, escaped with a
# backslash; and what means something at the start of a line (headings, lists, quotes).
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_LINE_START = re.compile(r"^([#+\-=>])")
_ORDERED = re.compile(r"^(\d+)([.)])")
_TICKS = re.compile(r"`+")
# A zero-width space after "@": GitHub links and notifies "@name", not "@\u200bname".
_NO_MENTION = "@\u200b"


def _one_line(untrusted: str) -> str:
    return inert(" ".join(untrusted.split()))


def text(untrusted: str) -> str:
    """Untrusted text as inert markdown prose: one line, markup escaped, no @mentions.

    Safe in a paragraph, a list item, a heading and a table cell.
    """
    escaped = _SPECIAL.sub(r"\\\1", _one_line(untrusted)).replace("@", _NO_MENTION)
    return _ORDERED.sub(r"\1\\\2", _LINE_START.sub(r"\\\1", escaped))


def code(untrusted: str, *, in_table: bool = False) -> str:
    """Untrusted text as an inline code span (nothing inside is interpreted).

    ``in_table``: the span sits in a table cell, where GitHub splits cells at a ``|`` even
    inside a code span unless it is written ``\\|`` (and shows it as ``|``).
    """
    flat = _one_line(untrusted)
    ticks = "`" * (max((len(run) for run in _TICKS.findall(flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    span = f"{ticks}{pad}{flat}{pad}{ticks}"
    return span.replace("|", "\\|") if in_table else span


def fence(untrusted: Iterable[str]) -> list[str]:
    """Untrusted lines as a fenced code block, longer than any run of backticks inside it."""
    lines = [inert(line) for line in untrusted]
    longest = max((len(run) for line in lines for run in _TICKS.findall(line)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [ticks, *lines, ticks]


def cell(markdown: str) -> str:
    """pgolf's own markdown made to fit one table cell (``|`` escaped, one line).

    Not for untrusted text, which :func:`text` and :func:`code` already make cell-safe.
    """
    return " ".join(markdown.split()).replace("|", "\\|")


def row(cells: Iterable[str]) -> str:
    """A table row of cells that are already cell-safe markdown."""
    return "| " + " | ".join(cells) + " |"
