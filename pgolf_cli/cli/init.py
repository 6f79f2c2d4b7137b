"""``pgolf init``: start a working folder from the reference training script."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pgolf_cli.cli._common import crash_exits_2, fail
from pgolf_cli.console import stderr_console


@crash_exits_2
def init(
    name: Annotated[
        Path,
        typer.Argument(help="The folder to create.", metavar="NAME", show_default=False),
    ],
) -> None:
    """Create a folder with a copy of the reference [bold]train_gpt.py[/] and a [bold]pgolf.toml[/].

    Refuses to write into a folder that already has files in it.

    Exit codes: [bold]0[/] created; [bold]2[/] the folder exists or cannot be written.
    """
    from pgolf_cli.runner.init import FolderExistsError, TemplateMissingError, init_project

    try:
        files = init_project(name)
    except (FolderExistsError, TemplateMissingError) as problem:
        fail(str(problem))
    except OSError as problem:
        fail(f"cannot create {name}: {problem.strerror or problem}")
    console = stderr_console()
    console.print(f"created [bold]{escape(str(name))}[/]:", soft_wrap=True)
    for path in files:
        console.print(f"  {escape(str(path))}", soft_wrap=True)
    console.print(
        f"next: cd {escape(str(name))} && pgolf train    [dim]# the cpu preset without a GPU[/]",
        soft_wrap=True,
    )
