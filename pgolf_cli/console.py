"""The two consoles: results go to stdout, status (progress, summary, errors) to stderr.

Keeping the streams apart lets ``pgolf audit --format json > report.json`` stay valid json
while the user still sees progress and errors. Colour follows the common conventions:
``NO_COLOR`` (any non-empty value) turns it off, ``FORCE_COLOR`` turns it on, and otherwise
a stream gets colour only when it is a terminal.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

#: Width of reports that go to a file or a pipe, where there is no terminal to measure.
DEFAULT_WIDTH = 100


def color_enabled(stream: TextIO) -> bool:
    """Whether text written to ``stream`` should carry colour codes."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return is_terminal(stream)


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


def _console(stream: TextIO) -> Console:
    color = color_enabled(stream)
    return Console(
        file=stream,
        # Forcing the terminal flag on when colour is forced keeps rich from stripping styles;
        # forcing it off otherwise keeps cursor movement out of pipes and files.
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        width=None if is_terminal(stream) else DEFAULT_WIDTH,
        soft_wrap=False,
    )


# The consoles are built on each call, not at import time, so they follow the streams that are
# current when a command runs (a test runner swaps sys.stdout and sys.stderr).
def stdout_console() -> Console:
    """The console for results: reports, the rule catalogue, documentation."""
    return _console(sys.stdout)


def stderr_console() -> Console:
    """The console for status: progress bars, the summary line, error messages."""
    return _console(sys.stderr)


def report_width() -> int:
    """The width a rendered report should fit: the terminal's, or a fixed one in a pipe."""
    if is_terminal(sys.stdout):
        return stdout_console().width
    return DEFAULT_WIDTH


def text_console(*, color: bool, width: int) -> Console:
    """A console that renders into a string (``with console.capture()``) for a report."""
    return Console(
        file=io.StringIO(),
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        width=width,
    )


def write_result(text: str) -> None:
    """Write an already rendered report to stdout exactly as rendered.

    The reporters produce the final text (json must stay byte-exact, the text report carries
    its own colour codes), so this bypasses rich's markup and wrapping.
    """
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


def item_progress(verb: str) -> Progress:
    """The transient stderr progress bar of commands that work through many files or folders.

    Tasks carry a ``current`` field: the name of the item just finished.
    """
    return Progress(
        SpinnerColumn(),
        TextColumn(verb),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[current]}"),
        console=stderr_console(),
        transient=True,
    )


class StageProgress:
    """Shows each stage of a dataset build (corpus, tokenizer, shards) as a progress task on
    stderr; ``pgolf data build`` and ``pgolf train``'s first-use build show the same.

    Called as the build's ``progress(stage, done, total)``; enter ``self.progress`` around it.
    """

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stderr_console(),
            transient=True,
            disable=not enabled,
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)
