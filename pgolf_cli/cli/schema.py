"""``pgolf schema``: the JSON Schema of the submission.json that pgolf writes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pgolf_cli.cli._common import crash_exits_2, fail
from pgolf_cli.console import stderr_console, write_result
from pgolf_cli.files import write_atomically


@crash_exits_2
def schema(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the schema to this file (atomically) instead of stdout.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema (draft 2020-12) of the [bold]submission.json[/] pgolf writes.

    Editors and CI jobs can validate a submission against it; [bold]pgolf package[/] output
    always conforms.

    Exit codes: [bold]0[/] written; [bold]2[/] the output file cannot be written.
    """
    # Imported here so `pgolf --help` does not pay for importing pydantic.
    from pgolf_cli.records.submission import schema_text

    text = schema_text()
    if output is None:
        write_result(text)
        return
    try:
        write_atomically(output, text)
    except OSError as problem:
        fail(f"cannot write the schema to {output}: {problem.strerror or problem}")
    stderr_console().print(f"wrote {escape(str(output))}", soft_wrap=True)
