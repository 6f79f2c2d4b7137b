"""The options several commands share, declared once.

Each is a type alias a command names as a parameter's annotation (``quiet: Quiet = False``), so
a flag reads and behaves the same in every command that has it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from pgolf_cli.report import ReportFormats

Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress and no summary on stderr; errors still print."),
]

Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        metavar="N",
        help="Worker processes. [dim]\\[default: the number of CPUs][/]",
        show_default=False,
    ),
]

OutputFile = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        dir_okay=False,
        help="Write the report to this file instead of stdout (replaced atomically; '-' is "
        "stdout).",
        show_default=False,
    ),
]

#: ``--output`` of the commands that write several reports from one run (gate, sweep).
Outputs = Annotated[
    list[str] | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the report to FILE (replaced atomically; '-' is stdout). With several "
        "--format, one --output each, in the same order.",
        show_default=False,
    ),
]

GitRepo = Annotated[
    Path,
    typer.Option(
        "--repo",
        metavar="PATH",
        help="The clone of the challenge repository (bare or shallow works; only its git "
        "objects are read). For pgolf sweep, with the pull requests fetched.",
    ),
]

MaxFileBytes = Annotated[
    int,
    typer.Option(
        "--max-file-bytes",
        metavar="N",
        min=1,
        help="Per-file cap: a larger file in a records folder fails its pull request and is "
        "not read.",
    ),
]

#: The data folder of ``pgolf data`` (``--out``, also spelled ``--data`` as in pgolf train).
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "--data",
        "-o",
        help="The data folder (datasets/ and tokenizers/ go inside). [dim]\\[default: "
        "$PGOLF_DATA, else [bold]data[/] from pgolf.toml, else ./data][/]",
        metavar="DIR",
        file_okay=False,
        show_default=False,
    ),
]


def repeated_format(formats: ReportFormats[Any], default: str) -> Any:
    """``--format`` for a command that writes several reports from one run, each paired in
    order with its own ``--output``; the choices are the report's table of renderers."""
    return typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help=f"Report format: {formats.listed}. Repeat it, each with its own --output, for "
        "several reports from one run.",
        case_sensitive=False,
        show_default=default,
    )
