"""Fixtures for the command-line tests.

Helpers are fixtures rather than importable functions so the tests work under any pytest
import mode.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pgolf_cli.cli import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "templates" / "examples"

CLEAN_SCRIPT = """\
import os

STEPS = int(os.environ.get("ITERATIONS", "10"))


def main() -> None:
    total = 0
    for step in range(STEPS):
        total += step
    print(f"total:{total}")


if __name__ == "__main__":
    main()
"""

Invoke = Callable[..., Result]
RunModule = Callable[..., "subprocess.CompletedProcess[str]"]
SubprocessEnv = Callable[..., dict[str, str]]


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's NO_COLOR/FORCE_COLOR must not change what the tests see.
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cwd, so no pyproject.toml of the checkout configures the audit."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


@pytest.fixture
def illegal_example() -> Path:
    return EXAMPLES / "pre_quant_ttt.py"


@pytest.fixture
def legal_example() -> Path:
    return EXAMPLES / "score_first_ttt.py"


@pytest.fixture
def clean_script(workdir: Path) -> Path:
    path = workdir / "clean.py"
    path.write_text(CLEAN_SCRIPT, encoding="utf-8")
    return path


@pytest.fixture
def invoke() -> Invoke:
    """Run the app in-process: ``invoke("audit", path, "--format", "json")``."""

    def run(*args: str | os.PathLike[str]) -> Result:
        return CliRunner().invoke(app, [str(a) for a in args])

    return run


@pytest.fixture
def subprocess_env() -> SubprocessEnv:
    """The environment for a fresh interpreter that imports this checkout's pgolf_cli.

    Directories given come first on PYTHONPATH.
    """

    def make(*first_on_path: Path) -> dict[str, str]:
        path = [str(p) for p in first_on_path] + [str(REPO)]
        inherited = os.environ.get("PYTHONPATH")
        if inherited:
            path.append(inherited)
        return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}

    return make


@pytest.fixture
def run_module(subprocess_env: SubprocessEnv) -> RunModule:
    """Run ``python -m pgolf_cli`` in a fresh interpreter, with stdin closed so nothing waits."""

    def run(
        *args: str | os.PathLike[str], cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pgolf_cli", *(str(a) for a in args)],
            cwd=cwd,
            env=env if env is not None else subprocess_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run
