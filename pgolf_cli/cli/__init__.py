"""The ``pgolf`` command line: argument parsing, output streams and exit codes.

Each command lives in its own module and stays thin: it reads flags and configuration, calls
the library, writes the result to stdout and status to stderr, and picks the exit code.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pgolf_cli import __version__
from pgolf_cli.cli._help import PgolfTyper
from pgolf_cli.cli.audit import audit
from pgolf_cli.cli.data import data_app
from pgolf_cli.cli.gate import gate
from pgolf_cli.cli.init import init
from pgolf_cli.cli.package import package
from pgolf_cli.cli.plot import plot
from pgolf_cli.cli.rules import rules
from pgolf_cli.cli.schema import schema
from pgolf_cli.cli.stats import stats
from pgolf_cli.cli.sweep import sweep
from pgolf_cli.cli.train import train
from pgolf_cli.cli.verify import verify

app = PgolfTyper(
    name="pgolf",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    # Locals can hold the audited source; a crash report should not dump it.
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"pgolf {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Show the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """The Parameter Golf toolchain for participants and reviewers.

    The whole loop: [bold]pgolf data[/] builds or downloads a dataset, [bold]pgolf train[/]
    trains and scores a script for several seeds (on a CPU or on GPUs), [bold]pgolf plot[/]
    draws the runs, [bold]pgolf stats[/] tests a result against a record, and [bold]pgolf
    package[/] makes the records folder of a pull request, which [bold]pgolf verify[/] checks.
    [bold]pgolf audit[/] checks a training script against the challenge's rules without running
    it ([bold]pgolf rules[/] explains each rule), and [bold]pgolf gate[/] gives the verdict on a
    pull request to the challenge repository.

    Start with [bold]pgolf train[/] (a small real run on a CPU) or [bold]pgolf init NAME[/].
    """


app.command("audit", no_args_is_help=True)(audit)
app.command("rules")(rules)
app.add_typer(data_app, name="data")
app.command("train")(train)
app.command("init", no_args_is_help=True)(init)
app.command("schema")(schema)
app.command("stats", no_args_is_help=True)(stats)
app.command("package")(package)
app.command("plot", no_args_is_help=True)(plot)
app.command("verify", no_args_is_help=True)(verify)
app.command("gate")(gate)
app.command("sweep")(sweep)

__all__ = ["app"]
