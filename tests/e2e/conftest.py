"""One real CPU training run shared by the end-to-end tests: building data and training are the
slow part, and every test here reads the same run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
Pgolf = Callable[..., "subprocess.CompletedProcess[str]"]


def run_pgolf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``pgolf ARGS`` in a subprocess, as a user runs it."""
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


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace after ``pgolf data build`` and ``pgolf train`` (cpu-tiny, seeds 1 2 3) as runs/tiny."""
    pytest.importorskip("torch")
    pytest.importorskip("sentencepiece")
    workspace = tmp_path_factory.mktemp("workspace")
    built = run_pgolf("data", "build", "--vocab-size", "512", "--out", "data", cwd=workspace)
    assert built.returncode == 0, built.stderr
    result = run_pgolf(
        "train", "--preset", "cpu-tiny", "--seeds", "1", "2", "3", "--data", "data",
        "--dataset", "builtin_sp512", "--name", "tiny", "--quiet",
        cwd=workspace,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return workspace


@pytest.fixture
def pgolf() -> Pgolf:
    return run_pgolf
