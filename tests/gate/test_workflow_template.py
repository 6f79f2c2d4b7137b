"""The GitHub Actions workflow template: safe on pull requests from forks, and in step with the
command it runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer
import yaml

from pgolf_cli.cli import app
from pgolf_cli.report.gate import COMMENT_MARKER

WORKFLOW = Path(__file__).resolve().parents[2] / "templates" / "github" / "pgolf-gate.yml"
README = WORKFLOW.parents[2] / "README.md"


def _workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _steps() -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in _workflow()["jobs"].items() for step in job["steps"]]


def _runs() -> list[str]:
    return [step["run"] for _, step in _steps() if "run" in step]


def test_it_triggers_on_pull_requests_that_touch_records_only() -> None:
    workflow = _workflow()
    # YAML 1.1 reads the key `on` as the boolean true.
    triggers = workflow.get("on", workflow.get(True))
    assert set(triggers) == {"pull_request_target"}
    assert triggers["pull_request_target"]["paths"] == ["records/**"]


def test_permissions_are_minimal_and_per_job() -> None:
    workflow = _workflow()
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["gate"]["permissions"] == {"contents": "read"}
    assert jobs["report"]["permissions"] == {
        "pull-requests": "write",
        "security-events": "write",
        "contents": "read",
        "actions": "read",
    }


def test_the_pull_request_is_never_checked_out() -> None:
    uses = [step["uses"] for _, step in _steps() if "uses" in step]
    assert not any(action.startswith("actions/checkout") for action in uses)
    # The only actions: setting up Python, artifacts, the SARIF upload and the comment.
    assert {action.split("@")[0] for action in uses} == {
        "actions/setup-python",
        "actions/upload-artifact",
        "actions/download-artifact",
        "github/codeql-action/upload-sarif",
        "actions/github-script",
    }
    fetch = next(run for run in _runs() if "fetch" in run)
    assert "git init --quiet --bare" in fetch


def test_no_expression_is_expanded_inside_a_script() -> None:
    for run in _runs():
        assert "${{" not in run, run
    for _, step in _steps():
        script = step.get("with", {}).get("script", "")
        assert "${{" not in script


def test_no_step_runs_or_installs_anything_from_the_pull_request() -> None:
    for run in _runs():
        for forbidden in ("records/", "train_gpt", "pip install -e", "pip install .", "-r "):
            assert forbidden not in run, (forbidden, run)
    install = next(run for run in _runs() if "pip install" in run)
    assert '"pgolf==$PGOLF_VERSION"' in install
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(_workflow()["env"]["PGOLF_VERSION"]))


def test_the_write_job_reads_only_the_reports() -> None:
    report = _workflow()["jobs"]["report"]
    assert report["needs"] == "gate"
    for step in report["steps"]:
        assert "bin/pgolf" not in step.get("run", "")
    script = next(s["with"]["script"] for s in report["steps"] if "script" in s.get("with", {}))
    assert f'const marker = "{COMMENT_MARKER}";' in script
    assert "updateComment" in script and "createComment" in script


def test_the_gate_command_matches_the_cli() -> None:
    run = next(run for run in _runs() if 'pgolf-venv/bin/pgolf" gate' in run)
    command = run[run.index('"$RUNNER_TEMP/pgolf-venv/bin/pgolf" gate') :].split("\n\n")[0]
    command = command.split("echo ")[0].replace("\\\n", " ")
    words = shlex.split(command.split("\n")[0] + " " + " ".join(command.split("\n")[1:]))
    group = typer.main.get_command(app)
    assert isinstance(group, typer.main.TyperGroup)
    gate = group.commands["gate"]
    options = {opt for param in gate.params for opt in getattr(param, "opts", [])}
    used = [word for word in words if word.startswith("--")]
    assert set(used) <= options, set(used) - options
    formats = [words[i + 1] for i, word in enumerate(words) if word == "--format"]
    outputs = [words[i + 1] for i, word in enumerate(words) if word == "--output"]
    assert formats == ["github", "markdown", "sarif", "json"]
    assert len(outputs) == len(formats) and outputs[0] == "-"


def test_the_readme_documents_the_permissions() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## `pgolf gate`", 1)[1].split("\n## ", 1)[0]
    for permission in ("contents: read", "pull-requests: write", "security-events: write"):
        assert permission in section
    assert "pull_request_target" in section and "templates/github/pgolf-gate.yml" in section
