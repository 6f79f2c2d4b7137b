"""The whole loop on CPU, through the command line as a user runs it.

pgolf data build -> pgolf train (tiny preset, two seeds) -> run.json results -> artifact under
the cap -> pgolf audit clean on the template that was trained.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sentencepiece")

ROOT = Path(__file__).resolve().parents[2]
CAP = 16_000_000


def _pgolf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pgolf_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def test_build_train_two_seeds_then_audit(tmp_path: Path) -> None:
    built = _pgolf("data", "build", "--vocab-size", "512", "--out", "data", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    dataset = tmp_path / "data" / "datasets" / "builtin_sp512"
    assert sorted(p.name for p in dataset.glob("fineweb_*.bin")) == [
        "fineweb_train_000000.bin",
        "fineweb_val_000000.bin",
    ]

    trained = _pgolf(
        "train", "--preset", "cpu-tiny", "--seeds", "1", "2", "--data", "data",
        "--dataset", "builtin_sp512", "--name", "e2e", "--out", "runs", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout + trained.stderr

    scores = []
    for seed in (1, 2):
        folder = tmp_path / "runs" / "e2e" / f"seed{seed}"
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        results = run["results"]
        assert run["seed"] == seed and run["exit_status"] == 0 and run["flags"] == []
        assert run["env"]["VOCAB_SIZE"] == "512"
        artifact = folder / "final_model.int6.ptz"
        code_bytes = (ROOT / "templates" / "train_gpt.py").stat().st_size
        assert results["bytes_model"] == artifact.stat().st_size
        assert results["bytes_code"] == code_bytes
        assert results["bytes_total"] == code_bytes + artifact.stat().st_size <= CAP
        assert 0 < results["val_bpb"] < 8
        assert results["score_line"].startswith("final_sliding_window")
        log = (folder / "train.log").read_text(encoding="utf-8")
        assert f"  seed: {seed}" in log and f"val_bpb:{results['val_bpb']:.8f}" in log
        scores.append(results["val_bpb"])
    assert scores[0] != scores[1]  # the seed reached the script

    audited = _pgolf("audit", str(ROOT / "templates" / "train_gpt.py"), cwd=tmp_path)
    assert audited.returncode == 0, audited.stdout
