"""``pgolf plot``: draw runs and records folders (train loss by step and time, val_bpb per seed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pgolf_cli.cli._common import crash_exits_2, fail
from pgolf_cli.console import stderr_console


@crash_exits_2
def plot(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="RUN_OR_RECORD...",
            help="Run folders of [bold]pgolf train[/] (runs/<name>), records folders or train "
            "logs; each is one colour.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="The picture: [bold]*.png[/] or [bold]*.svg[/] (the suffix picks the format).",
        ),
    ] = Path("pgolf-plot.png"),
    title: Annotated[
        str | None,
        typer.Option(
            "--title", metavar="TEXT", help="A title over the panels.", show_default=False
        ),
    ] = None,
) -> None:
    """Draw what participants compare: train loss by step and by time, and val_bpb per seed.

    Each input is a run folder, a records folder or a train log; the logs are read with the
    same parser as everywhere else, and the seeds of one input are scored by one evaluation.
    Needs matplotlib (the [bold]plot[/] extra).

    [bold]pgolf plot runs/tiny/ -o tiny.png[/]
    [bold]pgolf plot runs/new/ records/track_10min_16mb/<best>/ -o compare.svg[/]

    Exit codes: [bold]0[/] written; [bold]2[/] bad input, or matplotlib is not installed.
    """
    from pgolf_cli.errors import PgolfInputError
    from pgolf_cli.files import write_atomically
    from pgolf_cli.records.plot import draw, plot_format, read_inputs

    try:
        fmt = plot_format(output)
        groups = read_inputs(inputs)
        picture = draw(groups, fmt, title=title)
    except PgolfInputError as problem:  # PlotError, and unreadable logs
        fail(str(problem))
    try:
        write_atomically(output, picture)
    except OSError as problem:
        fail(f"{output}: cannot be written ({problem.strerror or problem})")
    seeds = sum(len(group.curves) for group in groups)
    stderr_console().print(
        f"wrote {escape(str(output))}: {len(groups)} input(s), {seeds} log(s)", soft_wrap=True
    )
