"""The wheel a user installs carries the code, the rule catalogue, data files and the template."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_contents(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("pgolf-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "pgolf_cli/cli/__init__.py",
        "pgolf_cli/audit/engine.py",
        "pgolf_cli/records/submission.schema.json",
        "checks/__init__.py",
        "checks/examples/pg101.py",
        "pgolf_cli/_templates/train_gpt.py",
        "pgolf_cli/records/package/templates/record_README.md",
        "pgolf_cli/records/package/templates/significance.md",
        "pgolf_cli/_templates/github/pgolf-gate.yml",
    ):
        assert required in names, required
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
