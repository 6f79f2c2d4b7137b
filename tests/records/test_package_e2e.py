"""From a real training run to a verified records folder, through the command line.

pgolf data build -> pgolf train (tiny preset, three seeds) -> pgolf package -> verify_folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgolf_cli.records.submission import validate_strict
from pgolf_cli.records.verify import verify_folder

pytest.importorskip("torch")
pytest.importorskip("sentencepiece")

ROOT = Path(__file__).resolve().parents[2]


def _pgolf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pgolf_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_train_three_seeds_then_package(tmp_path: Path) -> None:
    built = _pgolf("data", "build", "--vocab-size", "512", "--out", "data", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    trained = _pgolf(
        "train", "--preset", "cpu-tiny", "--seeds", "1", "2", "3", "--data", "data",
        "--dataset", "builtin_sp512", "--name", "tiny", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout + trained.stderr

    packaged = _pgolf(
        "package", "--name", "CPU_Tiny", "--author", "Ada Lovelace", "--github-id", "ada",
        "--blurb", "The reference pipeline's smoke preset.", "--date", "2026-05-01",
        cwd=tmp_path,
    )  # fmt: skip
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    assert "packaging the most recent run: runs/tiny" in packaged.stderr

    folder = tmp_path / "records" / "track_10min_16mb" / "2026-05-01_CPU_Tiny"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "requirements.txt", "submission.json", "train_gpt.py",
        "train_seed1.log", "train_seed2.log", "train_seed3.log",
    ]  # fmt: skip
    assert (folder / "train_gpt.py").read_bytes() == (ROOT / "templates/train_gpt.py").read_bytes()

    data = json.loads((folder / "submission.json").read_text(encoding="utf-8"))
    validate_strict(data, source="submission.json")
    for seed in (1, 2, 3):
        run = json.loads(
            (tmp_path / "runs" / "tiny" / f"seed{seed}" / "run.json").read_text(encoding="utf-8")
        )
        result = data["seed_results"][str(seed)]
        assert result["val_bpb"] == run["results"]["val_bpb"]
        assert result["artifact_bytes"] == run["results"]["bytes_total"]
    assert data["bytes_code"] == (ROOT / "templates/train_gpt.py").stat().st_size

    report = verify_folder(folder)
    failed = [check for check in report.checks if check.status == "fail"]
    assert not failed, failed
    assert report.verdict == "consistent" and report.match == "full"

    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "pgolf data build --vocab-size 512" in readme
    assert "pgolf train train_gpt.py --preset cpu-tiny --seeds 1 2 3" in readme
