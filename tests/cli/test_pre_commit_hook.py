"""The repository's pre-commit hook (``.pre-commit-hooks.yaml``) run by pre-commit itself on a
scratch git repository.

pre-commit would install a ``language: python`` hook from the network, so the test runs the
hook's own definition (id, file pattern, arguments, serial flag) as a ``repo: local`` hook
whose ``pgolf`` is this checkout's: everything but the installation step is pre-commit's.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # pre-commit's own dependency

pytest.importorskip("pre_commit")

ROOT = Path(__file__).resolve().parents[2]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
ILLEGAL = ROOT / "templates" / "examples" / "pre_quant_ttt.py"
LEGAL = ROOT / "templates" / "examples" / "score_first_ttt.py"


def hook() -> dict[str, object]:
    [definition] = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert isinstance(definition, dict)
    return definition


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=repo, env=_env(repo), capture_output=True, text=True, timeout=120
    )


def _env(repo: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
        "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),  # no cache outside tmp
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo.parent),
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "my-golf"
    repo.mkdir()
    assert git(repo, "init", "-q").returncode == 0
    definition = hook()
    program, *args = shlex.split(str(definition["entry"]))
    assert program == "pgolf"  # the console script pip installs in the hook's environment
    local = {
        **definition,
        "language": "system",
        "entry": shlex.join([sys.executable, "-m", "pgolf_cli", *args]),
    }
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert git(repo, "add", ".pre-commit-config.yaml").returncode == 0
    return repo


def pre_commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=repo,
        env=_env(repo),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_hook_definition() -> None:
    definition = hook()
    assert definition["id"] == "pgolf-audit"
    assert definition["language"] == "python"  # pre-commit installs pgolf from this repository
    assert definition["entry"] == "pgolf audit"
    # The install step needs these: pyproject's console script and the package itself.
    assert 'pgolf = "pgolf_cli.cli:app"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_an_illegal_train_gpt_fails_the_commit(repo: Path) -> None:
    record = repo / "records" / "track_10min_16mb" / "2026-05-01_Mine"
    record.mkdir(parents=True)
    shutil.copy(ILLEGAL, record / "train_gpt.py")
    shutil.copy(ILLEGAL, repo / "scratch.py")  # not a train_gpt.py: not the hook's business
    git(repo, "add", ".")

    result = pre_commit(repo, "run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pgolf audit" in result.stdout and "Failed" in result.stdout
    assert "records/track_10min_16mb/2026-05-01_Mine/train_gpt.py:64: PG101" in result.stdout
    assert "scratch.py" not in result.stdout

    assert pre_commit(repo, "install").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "my record")
    assert commit.returncode != 0, commit.stdout + commit.stderr
    assert "PG101" in commit.stdout + commit.stderr
    assert git(repo, "rev-parse", "--verify", "HEAD").returncode != 0  # nothing was committed


def test_a_legal_train_gpt_passes_and_commits(repo: Path) -> None:
    shutil.copy(LEGAL, repo / "train_gpt.py")
    git(repo, "add", ".")
    result = pre_commit(repo, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout
    assert pre_commit(repo, "install").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "legal")
    assert commit.returncode == 0, commit.stdout + commit.stderr
