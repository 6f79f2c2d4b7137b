"""`pgolf audit` reads scripts; it never imports or runs them, and never imports torch."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SubprocessEnv = Callable[..., dict[str, str]]
RunModule = Callable[..., subprocess.CompletedProcess[str]]

# Module-level code with side effects we can observe from outside: a marker file, a TCP
# connection, and an import of torch (a fake one, see below). The same side effects inside
# main() and behind `if __name__ == "__main__"` cover a runner that calls main().
HOSTILE_SCRIPT = """\
import pathlib
import socket

pathlib.Path({marker!r}).write_text("module code ran")
with socket.create_connection(("127.0.0.1", {port}), timeout=5) as conn:
    conn.sendall(b"audited code ran")
import torch


def main():
    pathlib.Path({marker!r}).write_text("main ran")


if __name__ == "__main__":
    main()
"""

# Stands in for torch, so that any import of it anywhere is visible (a real torch may or may not
# be installed; this one is always first on the path).
FAKE_TORCH = """\
import pathlib

pathlib.Path({marker!r}).write_text("torch imported")
"""


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    yield server
    server.close()


@pytest.fixture
def hostile(tmp_path: Path, listener: socket.socket) -> dict[str, Path]:
    """A hostile script and a fake torch package, with the marker files they would write."""
    port = listener.getsockname()[1]
    marker = tmp_path / "executed.txt"
    torch_marker = tmp_path / "torch_imported.txt"
    script = tmp_path / "train_gpt.py"
    script.write_text(HOSTILE_SCRIPT.format(marker=str(marker), port=port), encoding="utf-8")
    fake_site = tmp_path / "fake_site"
    (fake_site / "torch").mkdir(parents=True)
    (fake_site / "torch" / "__init__.py").write_text(
        FAKE_TORCH.format(marker=str(torch_marker)), encoding="utf-8"
    )
    return {"script": script, "marker": marker, "torch_marker": torch_marker, "site": fake_site}


def connection_arrived(listener: socket.socket) -> bool:
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        return False
    conn.close()
    return True


def test_audit_never_runs_the_script(
    run_module: RunModule,
    subprocess_env: SubprocessEnv,
    listener: socket.socket,
    hostile: dict[str, Path],
    tmp_path: Path,
) -> None:
    env = subprocess_env(hostile["site"])
    result = run_module("audit", hostile["script"], "--format", "json", cwd=tmp_path, env=env)
    assert result.returncode in (0, 1), result.stderr
    assert not hostile["marker"].exists()
    assert not hostile["torch_marker"].exists()
    assert not connection_arrived(listener)

    # The detectors work: running the script for real trips all three.
    ran = subprocess.run(
        [sys.executable, str(hostile["script"])],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert hostile["marker"].read_text() == "main ran"
    assert hostile["torch_marker"].exists()
    assert connection_arrived(listener)


def test_audit_paths_does_not_import_torch(
    subprocess_env: SubprocessEnv,
    hostile: dict[str, Path],
    examples: Path,
    tmp_path: Path,
) -> None:
    # The examples import torch at the top, as every real train_gpt.py does.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pgolf_cli.audit.engine import AuditOptions, audit_paths\n"
        "import pgolf_cli.cli\n"
        f"paths = [Path({str(hostile['script'])!r}), Path({str(examples)!r})]\n"
        "for jobs in (1, 2):\n"
        "    report = audit_paths(paths, AuditOptions(), jobs=jobs)\n"
        "    assert len(report.files) == 3, report\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=subprocess_env(hostile["site"]),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert not hostile["torch_marker"].exists()
    assert not hostile["marker"].exists()
