"""``pgolf audit``: formats, output file, rule selection, the gate flags."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from pgolf_cli.audit.registry import all_rules

Invoke = Callable[..., Result]

GITHUB_COMMAND = re.compile(r"^::(error|warning|notice)( [^:]*)?::.+$")


def rule_ids(report_json: str) -> set[str]:
    report = json.loads(report_json)
    return {f["rule_id"] for r in report["files"] for f in r["findings"] if not f["suppressed"]}


def test_clean_file_exits_0(invoke: Invoke, clean_script: Path) -> None:
    result = invoke("audit", clean_script, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "no findings" in result.stdout


def test_legal_example_exits_0(invoke: Invoke, workdir: Path, legal_example: Path) -> None:
    result = invoke("audit", legal_example, "--format", "json", "--jobs", "1")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["error"] == 0


def test_illegal_example_exits_1_with_pg101(
    invoke: Invoke, workdir: Path, illegal_example: Path
) -> None:
    result = invoke("audit", illegal_example, "--format", "json", "--jobs", "1")
    assert result.exit_code == 1, result.output
    assert "PG101" in rule_ids(result.stdout)
    # The summary goes to stderr so stdout stays one json document.
    assert "exit 1" in result.stderr


def test_examples_directory(invoke: Invoke, workdir: Path, examples: Path) -> None:
    result = invoke("audit", examples, "--format", "json", "--jobs", "2")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    by_file = {Path(r["path"]).name: r for r in report["files"]}
    assert set(by_file) == {"score_first_ttt.py", "pre_quant_ttt.py"}
    assert [f["rule_id"] for f in by_file["pre_quant_ttt.py"]["findings"]] == ["PG101"]
    assert by_file["score_first_ttt.py"]["findings"] == []


def test_text_report_names_the_finding(
    invoke: Invoke, workdir: Path, illegal_example: Path
) -> None:
    result = invoke("audit", illegal_example, "--jobs", "1")
    assert result.exit_code == 1
    assert "PG101" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes


def test_sarif_is_parseable(invoke: Invoke, workdir: Path, illegal_example: Path) -> None:
    result = invoke("audit", illegal_example, "--format", "sarif", "--jobs", "1")
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert "PG101" in {r["ruleId"] for r in results}


def test_github_is_parseable(invoke: Invoke, workdir: Path, illegal_example: Path) -> None:
    result = invoke("audit", illegal_example, "--format", "github", "--jobs", "1")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines
    assert all(GITHUB_COMMAND.match(line) for line in lines), lines
    assert any("title=PG101" in line for line in lines)


def test_output_file(invoke: Invoke, workdir: Path, illegal_example: Path) -> None:
    target = workdir / "report.json"
    result = invoke("audit", illegal_example, "-f", "json", "-o", target, "--jobs", "1")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "PG101" in rule_ids(target.read_text(encoding="utf-8"))


def test_output_replaces_an_existing_file_atomically(
    invoke: Invoke, workdir: Path, illegal_example: Path
) -> None:
    target = workdir / "report.json"
    target.write_text("old report\n", encoding="utf-8")
    target.chmod(0o640)
    old_inode = target.stat().st_ino
    result = invoke("audit", illegal_example, "-f", "json", "-o", target, "--jobs", "1")
    assert result.exit_code == 1
    assert "PG101" in rule_ids(target.read_text(encoding="utf-8"))
    # A rename put a new file in place (no in-place rewrite) and kept the permissions.
    assert target.stat().st_ino != old_inode
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in workdir.iterdir()) == ["report.json"]


def test_failed_write_keeps_the_old_file(
    invoke: Invoke, workdir: Path, clean_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = workdir / "report.json"
    target.write_text("old report\n", encoding="utf-8")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pgolf_cli.files.os.replace", broken_replace)
    result = invoke("audit", clean_script, "-f", "json", "-o", target, "--jobs", "1")
    assert result.exit_code == 2
    assert "cannot write the report to" in result.stderr
    assert "No space left on device" in result.stderr
    assert target.read_text(encoding="utf-8") == "old report\n"
    assert sorted(p.name for p in workdir.iterdir()) == ["clean.py", "report.json"]


def test_output_into_missing_directory(invoke: Invoke, workdir: Path, clean_script: Path) -> None:
    result = invoke("audit", clean_script, "-o", workdir / "nope" / "r.txt", "--jobs", "1")
    assert result.exit_code == 2
    assert "cannot write the report to" in result.stderr


def test_output_dash_is_stdout(invoke: Invoke, workdir: Path, clean_script: Path) -> None:
    # '-' means stdout for every command's --output (cli/_common.write_report), as in gate.
    result = invoke("audit", clean_script, "-f", "json", "-o", "-", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"]
    assert sorted(p.name for p in workdir.iterdir()) == ["clean.py"]


def test_exit_zero(invoke: Invoke, workdir: Path, illegal_example: Path) -> None:
    result = invoke("audit", illegal_example, "--exit-zero", "-f", "json", "--jobs", "1")
    assert result.exit_code == 0
    assert "PG101" in rule_ids(result.stdout)


@pytest.fixture
def dormant_example(workdir: Path, illegal_example: Path) -> Path:
    """The illegal example with its pre-quant TTT behind a switch that is off by default."""
    source = illegal_example.read_text(encoding="utf-8")
    call = "    ttt_adapt(model, val_tokens, TTT_EPOCHS)\n"
    assert call in source
    source = source.replace(call, "    if TTT_ENABLED:\n    " + call)
    switch = 'TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "0")))\n'
    source = source.replace("TTT_EPOCHS = ", switch + "TTT_EPOCHS = ", 1)
    path = workdir / "dormant.py"
    path.write_text(source, encoding="utf-8")
    return path


def test_fail_on(invoke: Invoke, dormant_example: Path) -> None:
    result = invoke("audit", dormant_example, "-f", "json", "-j", "1")
    findings = json.loads(result.stdout)["files"][0]["findings"]
    assert [(f["rule_id"], f["severity"]) for f in findings] == [("PG101", "warning")]
    assert result.exit_code == 0
    assert invoke("audit", dormant_example, "--fail-on", "warning", "-j", "1").exit_code == 1
    assert invoke("audit", dormant_example, "--fail-on", "note", "-j", "1").exit_code == 1


def test_min_confidence(invoke: Invoke, workdir: Path, illegal_example: Path) -> None:
    report = json.loads(invoke("audit", illegal_example, "-f", "json", "-j", "1").stdout)
    pg101 = next(f for r in report["files"] for f in r["findings"] if f["rule_id"] == "PG101")
    result = invoke("audit", illegal_example, "--min-confidence", "high", "-j", "1")
    assert result.exit_code == (1 if pg101["confidence"] == "high" else 0)
    result = invoke("audit", illegal_example, "--min-confidence", "low", "-j", "1")
    assert result.exit_code == 1


def test_ignore_removes_the_rule(invoke: Invoke, workdir: Path, illegal_example: Path) -> None:
    result = invoke("audit", illegal_example, "--ignore", "PG101", "-f", "json", "-j", "1")
    assert "PG101" not in rule_ids(result.stdout)
    assert result.exit_code == 0


def test_select_keeps_only_the_selected(
    invoke: Invoke, workdir: Path, illegal_example: Path
) -> None:
    result = invoke(
        "audit", illegal_example, "--select", "PG2,PG90", "--select", "pg102", "-f", "json"
    )
    assert result.exit_code == 0
    assert not {i for i in rule_ids(result.stdout) if i.startswith("PG1")}
    result = invoke("audit", illegal_example, "--select", "PG1", "-f", "json", "-j", "1")
    assert result.exit_code == 1
    assert "PG101" in rule_ids(result.stdout)


@pytest.mark.parametrize("flag", ["--select", "--ignore"])
def test_unknown_rule_id_exits_2(invoke: Invoke, clean_script: Path, flag: str) -> None:
    result = invoke("audit", clean_script, flag, "PG101,PG999")
    assert result.exit_code == 2
    assert "unknown rule id 'PG999'" in result.stderr
    assert flag in result.stderr
    # The message lists the valid ids.
    for rule in all_rules():
        assert rule.id in result.stderr
    assert result.stdout == ""


def test_selector_that_is_not_a_rule_id(invoke: Invoke, clean_script: Path) -> None:
    result = invoke("audit", clean_script, "--ignore", "E501")
    assert result.exit_code == 2
    assert "unknown rule id 'E501'" in result.stderr


def test_quiet_keeps_stderr_empty(invoke: Invoke, workdir: Path, illegal_example: Path) -> None:
    result = invoke("audit", illegal_example, "-f", "json", "--quiet", "-j", "1")
    assert result.exit_code == 1
    assert result.stderr == ""


def test_no_progress_bar_without_a_terminal(
    invoke: Invoke, workdir: Path, illegal_example: Path
) -> None:
    result = invoke("audit", illegal_example, "-f", "json", "-j", "1")
    assert "auditing" not in result.stderr
    assert "\x1b[" not in result.stderr


def test_subprocess_streams(
    run_module: Callable[..., subprocess.CompletedProcess[str]],
    workdir: Path,
    illegal_example: Path,
) -> None:
    result = run_module("audit", illegal_example, "--format", "json", cwd=workdir)
    assert result.returncode == 1, result.stderr
    assert "PG101" in rule_ids(result.stdout)
    # stderr holds the summary line and nothing else.
    assert len(result.stderr.strip().splitlines()) == 1
    assert "exit 1" in result.stderr


def test_internal_error_exits_2(
    invoke: Invoke, clean_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the engine")

    monkeypatch.setattr("pgolf_cli.audit.engine.audit_paths", crash)
    result = invoke("audit", clean_script)
    # Not 1: a crash must never read as "findings" to a CI job.
    assert result.exit_code == 2
    assert "internal error" in result.stderr
    assert "a bug in the engine" in result.stderr


def test_suppressed_finding_passes_and_can_be_shown(
    invoke: Invoke, workdir: Path, illegal_example: Path
) -> None:
    source = illegal_example.read_text(encoding="utf-8")
    flagged = "            loss.backward()\n            optimizer.step()\n"
    assert source.count(flagged) == 1  # the update inside ttt_adapt(), where PG101 points
    reason = "val_tokens here is a held-out slice of the training shards"
    comment = f"            # pgolf: ignore[PG101] {reason}\n"
    path = workdir / "suppressed.py"
    path.write_text(source.replace(flagged, comment + flagged), encoding="utf-8")

    result = invoke("audit", path, "-j", "1")
    assert result.exit_code == 0, result.output
    assert "1 suppressed" in result.stdout
    assert reason not in result.stdout
    shown = invoke("audit", path, "--show-suppressed", "-j", "1")
    assert shown.exit_code == 0
    assert "PG101" in shown.stdout
    assert f"suppressed: {reason}" in shown.stdout
