"""The same seed gives the same run on an idle and on a busy machine.

The CPU presets are step-based (no wallclock cap, a warmdown counted in steps) and the template
picks deterministic CPU kernels, so machine load may change how long a run takes but never what
it computes. The rerun below competes with two processes that burn CPU the whole time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

Pgolf = Callable[..., "subprocess.CompletedProcess[str]"]

_LOSS = re.compile(r"^step:(\d+)/\d+ (?:train_loss|val_loss):(\S+)", re.M)


@contextmanager
def busy_cpus(count: int) -> Iterator[None]:
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def test_cpu_tiny_agrees_with_itself_under_load(trained: Path, pgolf: Pgolf) -> None:
    with busy_cpus(2):
        rerun = pgolf(
            "train", "--preset", "cpu-tiny", "--seeds", "1", "--data", "data",
            "--dataset", "builtin_sp512", "--name", "tiny-busy", "--quiet",
            cwd=trained,
        )  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    runs = [trained / "runs" / name / "seed1" for name in ("tiny", "tiny-busy")]
    first, second = (json.loads((run / "run.json").read_text())["results"] for run in runs)
    assert first["steps"] == second["steps"] == 20
    assert second["val_bpb"] == pytest.approx(first["val_bpb"], abs=1e-6)
    assert second["val_loss"] == pytest.approx(first["val_loss"], abs=1e-6)
    # Not only the end: every logged loss on the way.
    curves = [_LOSS.findall((run / "train.log").read_text()) for run in runs]
    assert curves[0] and curves[0] == curves[1]
