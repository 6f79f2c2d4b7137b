"""``pgolf rules``: the rule catalogue and each rule's documentation."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from pgolf_cli.audit.findings import Severity
from pgolf_cli.cli._common import crash_exits_2, fail
from pgolf_cli.console import stdout_console, write_result

if TYPE_CHECKING:
    from pgolf_cli.audit.rule import Example, Rule

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}


class RulesFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@crash_exits_2
def rules(
    rule_id: Annotated[
        str | None,
        typer.Argument(
            help="A rule id such as [bold]PG101[/]; leave it out for the whole catalogue.",
            metavar="RULE_ID",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        RulesFormat,
        typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
    ] = RulesFormat.TEXT,
) -> None:
    """List the audit rules, or show one rule's documentation and examples.

    [bold]pgolf rules[/]
    [bold]pgolf rules PG101 --format json[/]

    Exit codes: [bold]0[/] shown; [bold]2[/] an unknown rule id.
    """
    # Imported here to keep `pgolf --help` and shell completion fast (see the audit command).
    from pgolf_cli.audit.registry import all_rules, get_rule

    if rule_id is None:
        catalogue = all_rules()
        if output_format is RulesFormat.JSON:
            write_result(json.dumps([_summary(rule) for rule in catalogue], indent=2))
        else:
            stdout_console().print(_catalogue_table(catalogue))
            stdout_console().print(
                "\nRun [bold]pgolf rules RULE_ID[/] for a rule's documentation and examples."
            )
        return

    rule = get_rule(rule_id.strip().upper())
    if rule is None:
        fail(f"unknown rule {rule_id}; run `pgolf rules` for the list")
    if output_format is RulesFormat.JSON:
        write_result(json.dumps(_details(rule), indent=2))
    else:
        stdout_console().print(_documentation(rule))


def _summary(rule: type[Rule]) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "severity": rule.severity.value,
        "confidence": rule.confidence.value,
        "summary": rule.summary,
    }


def _details(rule: type[Rule]) -> dict[str, Any]:
    return {
        **_summary(rule),
        "documentation": rule.documentation(),
        "valid": [{"title": e.title, "code": e.code} for e in rule.VALID],
        "invalid": [
            {
                "title": e.title,
                "code": e.code,
                "line": e.line,
                "severity": (e.severity or rule.severity).value,
            }
            for e in rule.INVALID
        ],
    }


def _catalogue_table(catalogue: tuple[type[Rule], ...]) -> Table:
    table = Table(title="pgolf audit rules", title_justify="left", expand=False)
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("confidence", no_wrap=True)
    table.add_column("summary", ratio=1)
    for rule in catalogue:
        table.add_row(
            rule.id,
            rule.name,
            Text(rule.severity.value, style=SEVERITY_STYLE[rule.severity]),
            rule.confidence.value,
            rule.summary,
        )
    return table


def _documentation(rule: type[Rule]) -> RenderableType:
    # Imported here: markdown-it costs ~40 ms at the start of every command, and only a
    # rule's documentation is rendered from Markdown.
    from rich.markdown import Markdown

    header = Text.assemble(
        (rule.id, "bold"),
        " ",
        (rule.name, "bold"),
        "  ",
        (rule.severity.value, SEVERITY_STYLE[rule.severity]),
        f", {rule.confidence.value} confidence",
    )
    parts: list[RenderableType] = [
        header,
        Text(rule.summary),
        Text(),
        Markdown(rule.documentation()),
    ]
    if rule.VALID:
        parts.append(Text("\nValid examples (no finding)", style="bold green"))
        parts.extend(_example(example, expected=None) for example in rule.VALID)
    if rule.INVALID:
        parts.append(Text("\nInvalid examples", style="bold red"))
        parts.extend(
            _example(example, expected=example.severity or rule.severity)
            for example in rule.INVALID
        )
    return Group(*parts)


def _example(example: Example, *, expected: Severity | None) -> Panel:
    # Only trailing newlines go: the expected line counts from the snippet's first line.
    code = example.code.rstrip("\n")
    highlight = {example.line} if expected is not None and example.line is not None else set()
    syntax = Syntax(
        code,
        "python",
        line_numbers=True,
        highlight_lines=highlight,
        word_wrap=True,
        background_color="default",
    )
    subtitle = None
    if expected is not None:
        where = f"line {example.line}" if example.line is not None else "this snippet"
        subtitle = f"expected: {expected.value} on {where}"
    return Panel(
        syntax,
        title=escape(example.title),
        title_align="left",
        subtitle=subtitle,
        subtitle_align="left",
        border_style="green" if expected is None else "red",
    )
