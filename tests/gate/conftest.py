"""Fixtures for the gate tests: one base repository per session, a fresh clone per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gate_helpers import Repo, build_base


@pytest.fixture(scope="session")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    return build_base(tmp_path_factory.mktemp("upstream") / "parameter-golf")


@pytest.fixture
def clone(base_repo: Repo, tmp_path: Path) -> Repo:
    """A clone of the base repository (main at origin/main) on a fresh branch ``pr``."""
    repo = base_repo.clone(tmp_path / "clone")
    repo.branch("pr")
    return repo
