"""The sweep benchmark's repository generator: real refs, shared scripts, deterministic."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    # bench/ is not a package; its modules import each other by name.
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("gen_sweep_repo", BENCH / "gen_sweep_repo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _refs(repo: Path) -> list[str]:
    done = subprocess.run(
        ["git", "-C", str(repo), "for-each-ref", "--format=%(objectname) %(refname)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_pull_requests_share_scripts_and_the_build_is_deterministic(
    gen: ModuleType, tmp_path: Path
) -> None:
    built = gen.build(tmp_path / "a.git", refs=24, scripts=8, records=3, size_kb=45)
    again = gen.build(tmp_path / "b.git", refs=24, scripts=8, records=3, size_kb=45)
    refs = _refs(built.repo)
    assert len(refs) == 25 and refs == _refs(again.repo)  # main + 24 pull requests
    assert len(built.scripts) < 24 and len(set(built.script_of.values())) == len(built.scripts)
    show = subprocess.run(
        ["git", "-C", str(built.repo), "show", "--stat", "--format=", "refs/pull/1/head"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "train_gpt.py" in show and "submission.json" in show and "train_seed42.log" in show
