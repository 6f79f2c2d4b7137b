"""Each report kind's table of renderers, and the command line's --format choices from it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pgolf_cli.cli import app
from pgolf_cli.gate.model import GateReport
from pgolf_cli.report import RenderOptions, ReportFormats, audit, gate, sweep, verify
from pgolf_cli.sweep.model import SweepReport

TABLES = {"audit": audit.FORMATS, "verify": verify.FORMATS, "gate": gate.FORMATS}
TABLES["sweep"] = sweep.FORMATS


@pytest.mark.parametrize("command", sorted(TABLES))
def test_format_choices_are_the_table(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--format", "yaml", "x"])
    assert result.exit_code == 2
    message = " ".join(result.output.replace("│", " ").split())
    assert "'yaml' is not one of" in message, message
    choices = re.findall(r"'([^']+)'", message.split("is not one of", 1)[1])
    assert tuple(choices) == TABLES[command].names


def test_a_format_is_case_insensitive(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["audit", "--format", "JSON", str(tmp_path / "none.py")])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"]


def test_render_passes_the_options_and_names_the_kind() -> None:
    seen: list[tuple[str, RenderOptions]] = []
    table: ReportFormats[str] = ReportFormats(
        "demo",
        {
            "plain": lambda report, options: seen.append((report, options)) or "plain\n",
            "loud": lambda report, _: report.upper() + "\n",
        },
    )
    assert table.names == ("plain", "loud")
    assert table.listed == "plain or loud"
    assert table.render("hi", "loud") == "HI\n"
    assert table.render("hi", "plain", color=True, width=60, details=True) == "plain\n"
    assert seen == [("hi", RenderOptions(color=True, width=60, details=True))]
    with pytest.raises(ValueError, match="unknown demo format 'yaml': choose one of plain, loud"):
        table.render("hi", "yaml")


def test_listed_reads_as_a_sentence() -> None:
    assert gate.FORMATS.listed == "text, markdown, json, sarif or github"
    assert sweep.FORMATS.listed == "markdown, json, html or csv"


def test_every_gate_and_sweep_format_renders() -> None:
    report = GateReport(
        base="a" * 40, head="b" * 40, merge_base=None, base_ref="main", head_ref="pr"
    )
    for name in gate.FORMATS.names:
        assert gate.FORMATS.render(report, name).endswith("\n"), name
    empty = SweepReport(repository=".", base_ref="main", base="c" * 40, patterns=(), results=())
    for name in sweep.FORMATS.names:
        assert sweep.FORMATS.render(empty, name).endswith("\n"), name


def test_every_verify_format_renders_and_text_details_follow_the_option() -> None:
    from pgolf_cli.records.verify import Check, FolderReport

    def folder(name: str) -> FolderReport:
        check = Check(id="size", status="warn", title="size", message="close", evidence=("e1",))
        return FolderReport(
            path=f"records/t/{name}",
            track="t",
            checks=(check,),
            verdict="consistent",
            aggregation=None,
        )

    reports = [folder("A"), folder("B")]
    for name in verify.FORMATS.names:
        assert verify.FORMATS.render(reports, name).endswith("\n"), name
    short = verify.FORMATS.render(reports, "text")
    detailed = verify.FORMATS.render(reports, "text", details=True)
    assert "e1" not in short and "e1" in detailed
    # A single folder is shown in detail without asking.
    assert "e1" in verify.FORMATS.render(reports[:1], "text")
