"""The scheduled sweep workflow template: read-only, no checkout, and in step with the command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer
import yaml

from pgolf_cli.cli import app

WORKFLOW = Path(__file__).resolve().parents[2] / "templates" / "github" / "pgolf-sweep.yml"
README = WORKFLOW.parents[2] / "README.md"


def _workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _steps() -> list[dict[str, Any]]:
    return [step for job in _workflow()["jobs"].values() for step in job["steps"]]


def _runs() -> list[str]:
    return [step["run"] for step in _steps() if "run" in step]


def _sweep_commands() -> list[list[str]]:
    """The words of every `pgolf sweep` invocation, continuation lines joined."""
    commands = []
    for run in _runs():
        joined = run.replace("\\\n", " ")
        for line in joined.splitlines():
            if 'pgolf-venv/bin/pgolf" sweep' in line:
                commands.append(shlex.split(line.split("||")[0]))
    return commands


def test_it_runs_on_a_schedule_and_on_demand_only() -> None:
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as true
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert triggers["schedule"][0]["cron"]


def test_every_job_only_reads() -> None:
    workflow = _workflow()
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert job["permissions"] == {"contents": "read"}


def test_nothing_from_a_pull_request_is_checked_out_run_or_installed() -> None:
    uses = {step["uses"].split("@")[0] for step in _steps() if "uses" in step}
    assert uses == {
        "actions/setup-python",
        "actions/cache/restore",
        "actions/cache/save",
        "actions/upload-artifact",
        "actions/download-artifact",
    }
    fetches = [run for run in _runs() if " fetch " in run]
    assert fetches and all("git init --quiet --bare" in run for run in fetches)
    for run in _runs():
        assert "${{" not in run, run
        for forbidden in ("records/", "train_gpt", "pip install -e", "pip install .", "-r "):
            assert forbidden not in run, (forbidden, run)
    installs = [run for run in _runs() if "pip install" in run]
    assert installs and all('"pgolf==$PGOLF_VERSION"' in run for run in installs)
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(_workflow()["env"]["PGOLF_VERSION"]))


def test_the_sweep_commands_match_the_cli() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.main.TyperGroup)
    options = {opt for param in group.commands["sweep"].params for opt in param.opts}
    commands = _sweep_commands()
    assert len(commands) == 2
    for words in commands:
        used = {word for word in words if word.startswith("--")}
        assert used <= options, used - options
    shard, report = commands
    assert "--shard" in shard and "--cache" in report
    formats = [report[i + 1] for i, word in enumerate(report) if word == "--format"]
    assert formats == ["html", "json", "csv", "markdown"]
    matrix = _workflow()["jobs"]["sweep"]["strategy"]["matrix"]["shard"]
    assert matrix == list(range(1, int(_workflow()["env"]["SHARDS"]) + 1))


def test_the_readme_documents_the_workflow() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## `pgolf sweep`", 1)[1].split("\n## ", 1)[0]
    assert "templates/github/pgolf-sweep.yml" in section
    assert "--shard" in section and "--cache" in section and "contents: read" in section
