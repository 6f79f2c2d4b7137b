"""Fixtures for the runner tests: a fake training script that speaks the pipeline's log format.

The fake stands in for templates/train_gpt.py wherever the runner, not the model, is under
test: it prints the header, the hyperparameter dump, step lines, sizes and score lines of
docs/pipeline.md, writes an artifact, and records the environment and working directory it
saw. ``FAKE_MODE`` picks its behaviour.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FAKE_SCRIPT = """\
import hashlib
import json
import os
import sys
import time
from pathlib import Path

mode = os.environ.get("FAKE_MODE", "ok")
seed = int(os.environ.get("SEED", "0"))
fail_seed = os.environ.get("FAKE_FAIL_SEED")
if fail_seed is not None and int(fail_seed) == seed:
    mode = "fail"
Path("seen.json").write_text(json.dumps({
    "cwd": os.getcwd(),
    "env": {k: v for k, v in os.environ.items() if k.isupper()},
}))

print("pgolf_template: fake-1")
print("python: 3.11.7 torch: 2.13.0 cuda: none device: cpu world_size: 1")
print("command: " + " ".join(sys.argv))
print("code_sha256: " + hashlib.sha256(Path(__file__).read_bytes()).hexdigest())
print("Hyperparameters:")
print(f"  seed: {seed}")
print("  iterations: 20")
print("  train_batch_tokens: 2048")
print("  max_wallclock_seconds: " + os.environ.get("MAX_WALLCLOCK_SECONDS", "600.0"))
print("data: train_shards:1 val_shards:1 train_tokens:5000 val_tokens:1000 val_bytes:4000")
print("step:10/20 train_loss:5.5000 train_time:100ms step_avg:10.00ms tok_s:204800")

if mode == "sleep":
    try:
        time.sleep(60)
    except KeyboardInterrupt:
        print("fake: stopping on SIGINT")
        sys.exit(1)
if mode == "fail":
    raise RuntimeError("fake training failed")

train_ms = int(os.environ.get("FAKE_TRAIN_MS", "200"))
eval_s = float(os.environ.get("FAKE_EVAL_S", "0.5"))
print(f"step:20/20 train_loss:5.0000 train_time:{train_ms}ms step_avg:{train_ms / 20:.2f}ms tok_s:204800")
print(f"step:20/20 val_loss:5.1000 val_bpb:3.1000 train_time:{train_ms}ms step_avg:{train_ms / 20:.2f}ms")
print("peak memory allocated: 12 MiB reserved: 16 MiB")
blob = b"w" * int(os.environ.get("FAKE_MODEL_BYTES", "1000"))
Path("final_model.int6.ptz").write_bytes(blob)
code = len(Path(__file__).read_bytes())
print(f"Code size: {code} bytes")
print(f"Serialized model int6+zstd-22: {len(blob)} bytes")
print(f"Total submission size int6+zstd-22: {code + len(blob)} bytes")
if mode != "noscore":
    bpb = 3.0 + seed / 1e6
    print(f"final_int6_roundtrip val_loss:5.0000 val_bpb:{bpb:.4f} eval_time:{eval_s * 400:.0f}ms")
    print(f"final_int6_roundtrip_exact val_loss:5.00000000 val_bpb:{bpb:.8f}")
    print(f"final_sliding_window val_loss:4.9000 val_bpb:{bpb - 0.1:.4f} stride:64 eval_seq_len:128 eval_time:{eval_s * 600:.0f}ms")
    print(f"final_sliding_window_exact val_loss:4.90000000 val_bpb:{bpb - 0.1:.8f}")
print(f"total_eval_time:{eval_s:.1f}s")
"""


@pytest.fixture
def fake_script(tmp_path: Path) -> Path:
    path = tmp_path / "fake_train.py"
    path.write_text(FAKE_SCRIPT, encoding="utf-8")
    return path


@pytest.fixture
def fake_data(tmp_path: Path) -> dict[str, str]:
    """``--env`` values that point the run at data of its own, so pgolf neither checks nor
    builds a dataset."""
    return {"DATA_PATH": str(tmp_path / "ds"), "TOKENIZER_PATH": str(tmp_path / "tok.model")}


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "PGOLF_DATA", "FAKE_MODE", "FAKE_FAIL_SEED"):
        monkeypatch.delenv(name, raising=False)


StartPgolf = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture
def start_pgolf() -> StartPgolf:
    """Start ``python -m pgolf_cli ARGS`` in a fresh interpreter that imports this checkout."""

    def start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        path = [str(REPO)]
        if os.environ.get("PYTHONPATH"):
            path.append(os.environ["PYTHONPATH"])
        full_env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(path)}
        return subprocess.Popen(
            [sys.executable, "-m", "pgolf_cli", *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    return start
