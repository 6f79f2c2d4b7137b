"""run.json: its fields, the flags, the atomic write, and reading back what was written."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.logs import parse_log
from pgolf_cli.run_folder import (
    FLAG_ARTIFACT,
    FLAG_CODE_CHANGED,
    FLAG_EVAL_TIME,
    FLAG_NO_SCORE,
    FLAG_OVER_CAP,
    FLAG_SEED,
    FLAG_TRAIN_TIME,
    SCHEMA_VERSION,
    RunManifest,
    read_run_json,
    write_run_json,
)
from pgolf_cli.runner.dataset import DataSelection
from pgolf_cli.runner.launch import Topology
from pgolf_cli.runner.manifest import SeedRun, flags, run_manifest

SHA = "cd" * 32


def log_text(
    *, train_ms: int = 590_000, eval_s: float = 100.0, total: int = 15_900_000, seed: int = 7
) -> str:
    return (
        f"python: 3.11.7 torch: 2.13.0 cuda: 12.8 device: NVIDIA H100 80GB HBM3 world_size: 8\n"
        f"code_sha256: {SHA}\n"
        f"Hyperparameters:\n  seed: {seed}\n"
        "data: train_shards:2 val_shards:1 train_tokens:10 val_tokens:5 val_bytes:20\n"
        f"stopping_early: wallclock_cap train_time:{train_ms}ms step:900/1000\n"
        "Code size: 50000 bytes\n"
        f"Serialized model int6+lzma-9: {total - 50000} bytes\n"
        f"Total submission size int6+lzma-9: {total} bytes\n"
        "final_int6_roundtrip val_loss:2.0000 val_bpb:1.2000 eval_time:2000ms\n"
        "final_int6_roundtrip_exact val_loss:2.00000001 val_bpb:1.20000001\n"
        f"total_eval_time:{eval_s:.1f}s\n"
    )


def test_a_clean_run_has_no_flags() -> None:
    assert flags(parse_log(log_text()), seed=7, code_sha256=SHA) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Stopped by the wallclock check: the step that crossed the cap may finish (up to
        # two average steps, ~667 ms here); a step more is over.
        (log_text(train_ms=600_001), []),
        (log_text(train_ms=601_300), []),
        (log_text(train_ms=603_000), [FLAG_TRAIN_TIME]),
        (
            log_text(train_ms=600_001).replace(
                "stopping_early: wallclock_cap train_time:600001ms step:900/1000",
                "step:900/1000 train_loss:2.5000 train_time:600001ms step_avg:666.67ms",
            ),
            [FLAG_TRAIN_TIME],
        ),
        (log_text(train_ms=600_000), []),
        (log_text(eval_s=600.1), [FLAG_EVAL_TIME]),
        (log_text(total=16_000_001), [FLAG_ARTIFACT]),
        (log_text(total=16_000_000), []),
        (log_text(seed=8), [FLAG_SEED]),
        (log_text().replace("final_int6", "pre_quant"), [FLAG_NO_SCORE]),
        (log_text(train_ms=700_000, total=17_000_000), [FLAG_TRAIN_TIME, FLAG_ARTIFACT]),
    ],
)
def test_flags(text: str, expected: list[str]) -> None:
    assert flags(parse_log(text), seed=7, code_sha256=SHA) == expected


def test_a_run_past_its_own_cap_is_flagged() -> None:
    """2m57s of training under a 2m30s cap is not a run that went as configured, even though it
    is far inside the challenge's 600 s."""
    text = log_text(train_ms=177_000).replace(
        "  seed: 7\n", "  seed: 7\n  max_wallclock_seconds: 150.0\n"
    )
    assert flags(parse_log(text), seed=7, code_sha256=SHA) == [FLAG_OVER_CAP]
    inside = text.replace("train_time:177000ms", "train_time:149000ms")
    assert flags(parse_log(inside), seed=7, code_sha256=SHA) == []
    no_cap = text.replace("max_wallclock_seconds: 150.0", "max_wallclock_seconds: 0.0")
    assert flags(parse_log(no_cap), seed=7, code_sha256=SHA) == []


def test_flag_names_match_the_contract() -> None:
    assert FLAG_TRAIN_TIME == "train_time_over_600s"
    assert FLAG_OVER_CAP == "train_time_over_cap"
    assert FLAG_EVAL_TIME == "eval_time_over_600s"
    assert FLAG_ARTIFACT == "artifact_over_16000000_bytes"


def test_a_script_that_changed_under_the_run_is_flagged() -> None:
    assert flags(parse_log(log_text()), seed=7, code_sha256="0" * 64) == [FLAG_CODE_CHANGED]


def _seed_run(tmp_path: Path) -> SeedRun:
    return SeedRun(
        name="exp",
        seed=7,
        script=tmp_path / "train_gpt.py",
        code_sha256=SHA,
        command=["python", "-m", "torch.distributed.run", "--standalone"],
        env={"SEED": "7", "DATA_PATH": "/d/ds", "TOKENIZER_PATH": "/d/tok.model"},
        cwd=tmp_path,
        preset="challenge",
        topology=Topology(nproc_per_node=8),
        data=DataSelection(
            data_dir=Path("/d"),
            name="fineweb10B_sp1024",
            dataset_dir=Path("/d/ds"),
            tokenizer_path=Path("/d/tok.model"),
            manifest={"vocab_size": 1024},
        ),
        started_at=datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC),
    )


#: run.json's keys as docs/pipeline.md lists them; packaging and older runs rely on each.
KEYS = [
    "schema_version", "name", "seed", "script", "code_sha256", "command", "cwd", "env",
    "preset", "versions", "hardware", "data", "started_at", "finished_at", "exit_status",
    "stopped_by", "log", "artifact", "results", "flags",
]  # fmt: skip
RESULT_KEYS = [
    "val_bpb", "val_loss", "score_line", "score_label", "score_family", "bytes_total",
    "bytes_code", "bytes_model", "model_tag", "steps", "total_steps", "stop_reason",
    "train_time_ms", "step_avg_ms", "eval_time_ms", "score_eval_time_ms",
    "peak_memory_allocated_mib",
]  # fmt: skip


def _written(tmp_path: Path, manifest: RunManifest) -> dict[str, Any]:
    """run.json as written to disk, read as plain json."""
    path = tmp_path / "run.json"
    write_run_json(path, manifest)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _finished(tmp_path: Path) -> RunManifest:
    artifact = tmp_path / "final_model.int6.ptz"
    artifact.write_bytes(b"x" * 123)
    return run_manifest(
        _seed_run(tmp_path),
        parse_log(log_text()),
        finished_at=datetime(2026, 5, 1, 12, 12, 0, tzinfo=UTC),
        exit_status=0,
        artifact=artifact,
    )


def test_run_json_fields(tmp_path: Path) -> None:
    data = _written(tmp_path, _finished(tmp_path))
    assert list(data) == KEYS
    assert list(data["results"]) == RESULT_KEYS
    assert list(data["versions"]) == ["pgolf", "python", "torch", "cuda", "template"]
    assert list(data["hardware"]) == [
        "cpu_count", "machine", "device", "gpus", "world_size", "nnodes", "nproc_per_node"
    ]  # fmt: skip
    assert list(data["data"]) == ["dataset", "dataset_dir", "tokenizer", "fingerprint", "manifest"]
    assert data["schema_version"] == SCHEMA_VERSION
    assert (data["name"], data["seed"], data["preset"]) == ("exp", 7, "challenge")
    assert data["script"] == str(tmp_path / "train_gpt.py")
    assert data["cwd"] == str(tmp_path)
    assert data["code_sha256"] == SHA
    assert data["command"][:3] == ["python", "-m", "torch.distributed.run"]
    assert data["env"]["SEED"] == "7"
    assert data["versions"]["python"] == "3.11.7"
    assert data["versions"]["torch"] == "2.13.0"
    assert data["versions"]["cuda"] == "12.8"
    assert data["hardware"]["device"] == "NVIDIA H100 80GB HBM3"
    assert data["hardware"]["gpus"] == 8
    assert data["data"]["dataset"] == "fineweb10B_sp1024"
    assert data["data"]["fingerprint"]["val_bytes"] == 20
    assert data["data"]["manifest"] == {"vocab_size": 1024}
    assert data["started_at"] == "2026-05-01T12:00:00+00:00"
    assert data["finished_at"] == "2026-05-01T12:12:00+00:00"
    assert (data["exit_status"], data["stopped_by"]) == (0, None)
    assert data["log"] == "train.log"
    assert data["artifact"] == {"path": "final_model.int6.ptz", "bytes": 123}
    results = data["results"]
    assert results["val_bpb"] == 1.20000001
    assert results["val_loss"] == 2.00000001
    assert (
        results["score_line"] == "final_int6_roundtrip_exact val_loss:2.00000001 val_bpb:1.20000001"
    )
    assert (results["bytes_total"], results["bytes_code"]) == (15_900_000, 50_000)
    assert results["bytes_model"] == 15_850_000
    assert (results["steps"], results["train_time_ms"]) == (900, 590_000)
    assert results["eval_time_ms"] == 100_000
    assert data["flags"] == []


def test_run_json_while_running_has_no_results(tmp_path: Path) -> None:
    data = _written(tmp_path, run_manifest(_seed_run(tmp_path), parse_log("")))
    assert list(data) == KEYS
    assert data["finished_at"] is None
    assert data["exit_status"] is None
    assert data["results"]["val_bpb"] is None
    assert data["flags"] == []
    assert data["artifact"] is None
    assert read_run_json(tmp_path / "run.json").scored is False


def test_what_the_runner_writes_packaging_reads_back(tmp_path: Path) -> None:
    manifest = _finished(tmp_path)
    _written(tmp_path, manifest)
    again = read_run_json(tmp_path / "run.json")
    assert again == manifest
    assert again.scored


def test_a_run_json_of_an_older_pgolf_reads_with_defaults(tmp_path: Path) -> None:
    """Keys a run.json lacks read as their defaults; keys pgolf does not know are ignored."""
    path = tmp_path / "run.json"
    minimal = {
        "schema_version": 1, "name": "exp", "seed": 7, "script": "/s/train_gpt.py",
        "code_sha256": SHA, "command": ["python"], "env": {}, "finished_at": "x",
        "from_the_future": True,
    }  # fmt: skip
    path.write_text(json.dumps(minimal), encoding="utf-8")
    manifest = read_run_json(path)
    assert (manifest.log, manifest.artifact, manifest.results.val_bpb) == ("train.log", None, None)
    assert manifest.scored


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"seed": "7"}, 'seed: input should be a valid integer, got "7"'),
        ({"stopped_by": "crash"}, "stopped_by: input should be 'interrupt' or 'failure'"),
        ({"code_sha256": "abc"}, "code_sha256 is 'abc', not a sha256 in hex"),
    ],
)
def test_a_bad_run_json_is_named_with_its_key(
    tmp_path: Path, change: dict[str, object], problem: str
) -> None:
    data = _written(tmp_path, _finished(tmp_path))
    (tmp_path / "run.json").write_text(json.dumps({**data, **change}), encoding="utf-8")
    with pytest.raises(PgolfInputError) as raised:
        read_run_json(tmp_path / "run.json")
    assert raised.value.path == str(tmp_path / "run.json")
    assert problem in raised.value.problem


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "seed7"
    folder.mkdir()
    target = folder / "run.json"
    write_run_json(target, run_manifest(_seed_run(tmp_path), parse_log("")))
    before = target.read_text()
    finished = _finished(tmp_path)

    def broken_replace(source: str, destination: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_run_json(target, finished)
    # The old file is intact and no temporary file is left behind.
    assert target.read_text() == before
    assert sorted(os.listdir(folder)) == ["run.json"]
