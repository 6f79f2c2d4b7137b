"""Configuration from pyproject.toml / pgolf.toml, and flags overriding it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from pgolf_cli.audit.findings import Confidence, Severity
from pgolf_cli.config import (
    DEFAULT_DATA_DIR,
    DEFAULT_RUNS_DIR,
    AuditConfig,
    ConfigError,
    Setting,
    TrainConfig,
    data_dir,
    find_config,
    load_audit_config,
    load_train_config,
    resolve,
    runs_dir,
)

Invoke = Callable[..., Result]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_no_settings(tmp_path: Path) -> None:
    assert load_audit_config(tmp_path) == AuditConfig()


def test_pyproject_table(tmp_path: Path) -> None:
    config_file = write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.pgolf.audit]\n'
        'select = ["PG1", "PG402"]\nignore = "PG103"\nfail-on = "warning"\n'
        'min-confidence = "low"\nformat = "sarif"\n',
    )
    config = load_audit_config(tmp_path)
    assert config == AuditConfig(
        source=config_file,
        select=("PG1", "PG402"),
        ignore=("PG103",),
        fail_on=Severity.WARNING,
        min_confidence=Confidence.LOW,
        format="sarif",
    )


def test_search_goes_upward_and_skips_unrelated_pyproject(tmp_path: Path) -> None:
    top = write(tmp_path / "pgolf.toml", '[audit]\nformat = "json"\n')
    # A pyproject.toml without [tool.pgolf] in between does not stop the search.
    write(tmp_path / "project" / "pyproject.toml", '[project]\nname = "x"\n')
    start = tmp_path / "project" / "records" / "run1"
    start.mkdir(parents=True)
    assert find_config(start) == top
    assert load_audit_config(start).format == "json"


def test_nearest_file_wins(tmp_path: Path) -> None:
    write(tmp_path / "pgolf.toml", '[audit]\nformat = "json"\n')
    near = write(tmp_path / "sub" / "pyproject.toml", '[tool.pgolf.audit]\nformat = "github"\n')
    assert find_config(tmp_path / "sub") == near


def test_pgolf_toml_beats_pyproject_in_the_same_directory(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.pgolf.audit]\nformat = "github"\n')
    write(tmp_path / "pgolf.toml", '[audit]\nformat = "json"\n')
    assert load_audit_config(tmp_path).format == "json"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[tool.pgolf.audit]\nfail_on = "error"\n', ["'fail_on'", "fail-on, min-confidence"]),
        ('[tool.pgolf.audit]\nfail-on = "fatal"\n', ["fail-on", "'fatal'", "error, warning, note"]),
        ("[tool.pgolf.audit]\nmin-confidence = 2\n", ["min-confidence", "high"]),
        ('[tool.pgolf.audit]\nformat = "xml"\n', ["format", "text, json, sarif, github"]),
        ("[tool.pgolf.audit]\nselect = [101]\n", ["select", "list of rule ids"]),
        ("[tool.pgolf]\naudit = 3\n", ["[tool.pgolf.audit] must be a table"]),
        ("[tool.pgolf.audit\n", ["not valid TOML"]),
    ],
)
def test_bad_settings_name_file_key_and_fix(tmp_path: Path, text: str, expected: list[str]) -> None:
    write(tmp_path / "pyproject.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_audit_config(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "pyproject.toml") in message
    for part in expected:
        assert part in message


def test_cli_uses_the_config(invoke: Invoke, workdir: Path, illegal_example: Path) -> None:
    write(workdir / "pyproject.toml", '[tool.pgolf.audit]\nformat = "json"\nignore = ["PG101"]\n')
    result = invoke("audit", illegal_example, "-j", "1")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["findings"] == 0


def test_flags_override_the_config(invoke: Invoke, workdir: Path, illegal_example: Path) -> None:
    write(workdir / "pyproject.toml", '[tool.pgolf.audit]\nformat = "json"\nignore = ["PG101"]\n')
    result = invoke("audit", illegal_example, "--format", "github", "--ignore", "PG2", "-j", "1")
    assert result.exit_code == 1
    assert result.stdout.startswith("::error ")
    assert "PG101" in result.stdout


def test_config_in_a_parent_directory(
    invoke: Invoke, workdir: Path, illegal_example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workdir / "pgolf.toml", '[audit]\nfail-on = "error"\nformat = "json"\n')
    (workdir / "deeper").mkdir()
    monkeypatch.chdir(workdir / "deeper")
    result = invoke("audit", illegal_example, "-j", "1")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["error"] >= 1


def test_bad_config_exits_2(invoke: Invoke, workdir: Path, clean_script: Path) -> None:
    write(workdir / "pgolf.toml", '[audit]\nfail-on = "sometimes"\n')
    result = invoke("audit", clean_script)
    assert result.exit_code == 2
    assert "pgolf.toml" in result.stderr
    assert "fail-on" in result.stderr
    assert "error, warning, note" in result.stderr


def test_unknown_rule_in_config_exits_2(invoke: Invoke, workdir: Path, clean_script: Path) -> None:
    write(workdir / "pgolf.toml", '[audit]\nselect = ["PG7"]\n')
    result = invoke("audit", clean_script)
    assert result.exit_code == 2
    assert "'PG7'" in result.stderr
    assert "pgolf.toml [audit] select" in result.stderr


# --------------------------------------------------------------------------------------------
# One order of precedence
# --------------------------------------------------------------------------------------------


def test_resolve_takes_the_first_set_value_in_one_order() -> None:
    assert resolve(5, flag=1, env=2, config=3, preset=4) == Setting(1, "flag")
    assert resolve(5, env=2, config=3, preset=4) == Setting(2, "environment")
    assert resolve(5, config=3, preset=4) == Setting(3, "config")
    assert resolve(5, preset=4) == Setting(4, "preset")
    assert resolve(5) == Setting(5, "default")
    # A false value that is set still wins: only None means "not given".
    assert resolve(5, flag=0, config=3) == Setting(0, "flag")
    assert resolve(5, flag=0).explicit and resolve(5, env=1).explicit
    assert not resolve(5, config=3).explicit


def test_data_dir_flag_then_environment_then_pgolf_toml_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "pgolf.toml", '[train]\ndata = "project-data"\n')
    config = load_train_config(tmp_path)
    monkeypatch.setenv("PGOLF_DATA", "from-env")
    assert data_dir(Path("flag"), config) == Setting(Path("flag"), "flag")
    assert data_dir(None, config) == Setting(Path("from-env"), "environment")
    monkeypatch.setenv("PGOLF_DATA", "")  # empty is unset, as in a shell
    assert data_dir(None, config) == Setting(tmp_path / "project-data", "config")
    assert data_dir(None, TrainConfig()) == Setting(DEFAULT_DATA_DIR, "default")
    assert runs_dir(None, TrainConfig()) == Setting(DEFAULT_RUNS_DIR, "default")
