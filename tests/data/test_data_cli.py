"""The `pgolf data` commands: help, defaults, check-bytes output and exit codes, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

import pgolf_cli.cli.data as cli_data
from pgolf_cli.data import build, fineweb, shards, tokenizer

Invoke = Callable[..., Result]
REPO = Path(__file__).resolve().parents[2]


def test_help_lists_the_commands(invoke: Invoke) -> None:
    result = invoke("data", "--help")
    assert result.exit_code == 0
    for command in ("build", "fineweb", "check-bytes"):
        assert command in result.stdout
    build_help = invoke("data", "build", "--help").stdout
    for option in ("--text", "--vocab-size", "--out", "--val-docs", "--force", "--shard-tokens"):
        assert option in build_help


def test_cli_defaults_match_the_library() -> None:
    assert cli_data.DEFAULT_VOCAB_SIZE == build.DEFAULT_VOCAB_SIZE
    assert cli_data.DEFAULT_VAL_DOCS == build.DEFAULT_VAL_DOCS
    assert cli_data.DEFAULT_SHARD_TOKENS == shards.MAX_SHARD_TOKENS
    assert cli_data.DEFAULT_REPO == fineweb.REPO_ID


def test_importing_the_command_loads_no_heavy_library() -> None:
    code = (
        "import sys, pgolf_cli.cli.data; "
        "print([m for m in ('numpy', 'sentencepiece', 'huggingface_hub') if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_check_bytes_ok(
    invoke: Invoke, trained_model: Path, text_file: Path, documents: list[str]
) -> None:
    result = invoke("data", "check-bytes", trained_model, text_file)
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout
    report = invoke("data", "check-bytes", trained_model, text_file, "--format", "json")
    assert report.exit_code == 0
    data = json.loads(report.stdout)
    assert data["ok"] is True
    assert data["documents"] == 16
    assert data["utf8_bytes"] == data["lut_bytes"] == sum(len(d.encode()) for d in documents)
    assert data["mismatches"] == []


def test_check_bytes_mismatch_exits_1(invoke: Invoke, trained_model: Path, tmp_path: Path) -> None:
    text = tmp_path / "docs.jsonl"
    lines = [{"text": "fine words"}, {"text": " starts with a space"}, {"text": "more words"}]
    text.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    result = invoke("data", "check-bytes", trained_model, text)
    assert result.exit_code == 1
    assert "first 1 of 1 mismatched documents" in result.stdout
    assert "mismatch" in result.stdout
    report = invoke("data", "check-bytes", trained_model, text, "--format", "json")
    assert report.exit_code == 1
    data = json.loads(report.stdout)
    assert data["ok"] is False and data["difference"] == -1
    assert [m["document"] for m in data["mismatches"]] == [1]
    first = data["mismatches"][0]["pieces"][0]
    assert first["token_index"] == 0
    assert first["text"].startswith(" ") and first["utf8_bytes"] == first["lut_bytes"] + 1


def test_wrong_lut_makes_check_bytes_exit_1(
    invoke: Invoke, trained_model: Path, text_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    right = tokenizer.build_luts

    def space_counts_three(processor: object) -> tokenizer.ByteLuts:
        luts = right(processor)  # type: ignore[arg-type]
        base = luts.base_bytes.copy()
        # Every "▁" counted as its three UTF-8 bytes instead of one space.
        base[luts.has_leading_space] += 2
        return tokenizer.ByteLuts(base, luts.has_leading_space, luts.is_boundary)

    monkeypatch.setattr(tokenizer, "build_luts", space_counts_three)
    result = invoke("data", "check-bytes", trained_model, text_file, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["lut_bytes"] > data["utf8_bytes"]
    assert data["mismatched_documents"] == 16


def test_check_bytes_bad_input_exits_2(invoke: Invoke, trained_model: Path, tmp_path: Path) -> None:
    missing = invoke("data", "check-bytes", tmp_path / "none.model")
    assert missing.exit_code == 2
    assert "none.model: no such file" in missing.stderr
    vocab = trained_model.with_suffix(".vocab")
    not_model = invoke("data", "check-bytes", vocab)
    assert not_model.exit_code == 2
    assert "is not a sentencepiece model" in not_model.stderr
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x80\x81")
    unreadable = invoke("data", "check-bytes", trained_model, binary)
    assert unreadable.exit_code == 2
    assert "binary.txt: is not UTF-8" in unreadable.stderr


def test_build_finds_the_data_folder_as_train_does(
    invoke: Invoke, text_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --data > $PGOLF_DATA > pgolf.toml's [train] data > ./data: config.data_dir's one order.
    seen: list[Path] = []

    def record(corpus: object, data_dir: Path, **kwargs: object) -> None:
        seen.append(data_dir)

    monkeypatch.setattr(build, "build_dataset", record)
    project = tmp_path / "project"
    (project / "notes").mkdir(parents=True)
    (project / "pgolf.toml").write_text('[train]\ndata = "shared-data"\n', encoding="utf-8")
    monkeypatch.chdir(project / "notes")
    monkeypatch.delenv("PGOLF_DATA", raising=False)
    args = ("data", "build", "--text", text_file, "--quiet")
    assert invoke(*args).exit_code == 0
    monkeypatch.setenv("PGOLF_DATA", str(tmp_path / "env"))
    assert invoke(*args).exit_code == 0
    assert invoke(*args, "--data", tmp_path / "flag").exit_code == 0
    (project / "pgolf.toml").unlink()
    monkeypatch.delenv("PGOLF_DATA")
    assert invoke(*args).exit_code == 0
    assert seen == [project / "shared-data", tmp_path / "env", tmp_path / "flag", Path("data")]


def test_build_names_a_broken_pgolf_toml(
    invoke: Invoke, text_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pgolf.toml").write_text("[train]\ndata = 3\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PGOLF_DATA", raising=False)
    result = invoke("data", "build", "--text", text_file, "--quiet")
    assert result.exit_code == 2
    assert "pgolf.toml" in result.stderr and "data must be a path" in result.stderr
