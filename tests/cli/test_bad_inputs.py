"""Input pgolf cannot use: each gives one clear message and the documented exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

Invoke = Callable[..., Result]


def audit_json(invoke: Invoke, *paths: Path) -> Result:
    return invoke("audit", *paths, "--format", "json", "--jobs", "1")


def assert_clear_error(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors, result.stderr
    for word in words:
        assert any(word in line for line in errors), (word, errors)


def test_unparseable_file_is_a_pg901_finding(invoke: Invoke, workdir: Path) -> None:
    path = workdir / "broken.py"
    path.write_text("def main(:\n    pass\n", encoding="utf-8")
    result = audit_json(invoke, path)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    findings = report["files"][0]["findings"]
    assert [f["rule_id"] for f in findings] == ["PG901"]
    assert findings[0]["line"] == 1


@pytest.mark.parametrize("name", ["garbage.json", "train.log", "notes"])
def test_a_file_that_is_not_python_is_an_input_error(
    invoke: Invoke, workdir: Path, name: str
) -> None:
    # Passed by mistake, it is not "unparseable code" (PG901, exit 1) but a usage error.
    path = workdir / name
    path.write_text('{"val_bpb": 1.2, broken\n', encoding="utf-8")
    result = audit_json(invoke, path)
    assert_clear_error(result, name, "not a Python file", "Pass the train_gpt.py script")
    assert json.loads(result.stdout)["summary"]["findings"] == 0


def test_a_script_named_without_py_but_with_a_python_shebang_is_audited(
    invoke: Invoke, workdir: Path
) -> None:
    path = workdir / "train"
    path.write_text("#!/usr/bin/env python3\ndef main(:\n", encoding="utf-8")
    result = audit_json(invoke, path)
    assert result.exit_code == 1, result.output
    assert [f["rule_id"] for f in json.loads(result.stdout)["files"][0]["findings"]] == ["PG901"]


def test_binary_file(invoke: Invoke, workdir: Path) -> None:
    path = workdir / "model.py"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    result = audit_json(invoke, path)
    assert_clear_error(result, "model.py")
    assert json.loads(result.stdout)["summary"]["file_errors"] == 1


def test_empty_file_is_clean(invoke: Invoke, workdir: Path) -> None:
    path = workdir / "empty.py"
    path.write_bytes(b"")
    result = audit_json(invoke, path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["findings"] == 0


def test_huge_file(invoke: Invoke, workdir: Path) -> None:
    path = workdir / "huge.py"
    with path.open("wb") as handle:
        handle.write(b"x = 1\n")
        handle.truncate(50 * 1024 * 1024)
    result = audit_json(invoke, path)
    assert_clear_error(result, "huge.py")


def test_non_utf8_file(invoke: Invoke, workdir: Path) -> None:
    path = workdir / "latin1.py"
    path.write_bytes("NAME = 'Müller'\nprint(NAME)\n".encode("latin-1"))
    result = audit_json(invoke, path)
    assert_clear_error(result, "latin1.py")


def test_directory_without_python_files(invoke: Invoke, workdir: Path) -> None:
    folder = workdir / "logs"
    folder.mkdir()
    (folder / "train.log").write_text("step:1/10 train_loss:6.9\n", encoding="utf-8")
    result = audit_json(invoke, folder)
    assert_clear_error(result, "logs")


def test_missing_path(invoke: Invoke, workdir: Path) -> None:
    result = audit_json(invoke, workdir / "no_such_file.py")
    assert_clear_error(result, "no_such_file.py")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_bad_file_does_not_hide_the_others(
    invoke: Invoke, workdir: Path, illegal_example: Path, fmt: str
) -> None:
    missing = workdir / "missing.py"
    result = invoke("audit", illegal_example, missing, "--format", fmt, "--jobs", "1")
    # Unreadable input outranks findings: the run could not check everything it was given.
    assert result.exit_code == 2
    assert "PG101" in result.stdout
    assert "missing.py" in result.output


def test_text_report_shows_the_error_on_stdout(invoke: Invoke, workdir: Path) -> None:
    result = invoke("audit", workdir / "nowhere.py", "--jobs", "1")
    assert result.exit_code == 2
    assert "nowhere.py" in result.stdout
    assert "Traceback" not in result.output
