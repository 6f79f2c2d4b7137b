"""Building real git repositories shaped like the challenge repository, and pull requests on them.

A base commit has a root README.md and train_gpt.py and a few merged record folders; a test
clones it, commits a pull request on a branch, and runs the gate on the clone. Logs are written
in the template's log format (docs/pipeline.md), which the log parser reads.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import statistics
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

# val_loss / val_bpb on the sp1024 export: ln 2 x bytes / tokens of the validation set.
NATS_PER_BPB = math.log(2) * 151_080_363 / 62_021_632

TEN_MIN = "records/track_10min_16mb"
NON_RECORD = "records/track_non_record_16mb"

LEGAL_SCRIPT = """\
import os
import time

import torch

MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))


def train(model, batches):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    started = time.perf_counter()
    for x, y in batches:
        if time.perf_counter() - started > MAX_WALLCLOCK_SECONDS:
            break
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()


def main():
    model = torch.nn.Linear(16, 16)
    train(model, [])
    print("trained")


if __name__ == "__main__":
    main()
"""

# Fine-tunes on the validation tokens, then scores those same tokens: pre-quant TTT (PG101).
PREQUANT_TTT_SCRIPT = """\
import glob

import numpy as np
import torch


def read_val(pattern):
    parts = [np.fromfile(name, dtype="<u2") for name in sorted(glob.glob(pattern))]
    return torch.from_numpy(np.concatenate(parts).astype(np.int64))


def sharpen_on_val(model, val_tokens, rounds=3):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for _ in range(rounds):
        for start in range(0, val_tokens.numel() - 129, 128):
            window = val_tokens[start : start + 129]
            loss = model(window[:-1], window[1:])
            loss.backward()
            opt.step()
            opt.zero_grad()


def final_score(model, val_tokens):
    with torch.no_grad():
        return model(val_tokens[:-1], val_tokens[1:]).item()


def main():
    model = torch.nn.Linear(32, 32)
    val_tokens = read_val("./data/fineweb_val_*.bin")
    sharpen_on_val(model, val_tokens)
    print(f"final_int6_roundtrip val_loss:{final_score(model, val_tokens):.4f}")


if __name__ == "__main__":
    main()
"""


@dataclass(frozen=True)
class Seed:
    """One seed's run, as its log reports it."""

    seed: int
    val_bpb: float
    model_bytes: int = 15_700_000
    train_ms: int = 599_700
    eval_ms: int = 91_000

    @property
    def val_loss(self) -> float:
        return self.val_bpb * NATS_PER_BPB


def train_log(run: Seed, code: bytes) -> str:
    """A finished run's log in the template's format."""
    roundtrip = run.val_bpb + 0.018
    lines = [
        "pgolf_template: 0.1.0",
        "python: 3.11.7 torch: 2.13.0 cuda: 12.8 device: NVIDIA H100 80GB HBM3 world_size: 8",
        "command: train_gpt.py",
        f"code_sha256: {hashlib.sha256(code).hexdigest()}",
        "Hyperparameters:",
        "  iterations: 20000",
        "  max_wallclock_seconds: 600",
        f"  seed: {run.seed}",
        "  train_seq_len: 1024",
        "data: train_shards:80 val_shards:1 train_tokens:8000000000 val_tokens:62021632 "
        "val_bytes:151080363",
        "step:100/20000 train_loss:3.6120 train_time:6000ms step_avg:60.00ms tok_s:8700000",
        f"step:9990/20000 train_loss:2.0211 train_time:{run.train_ms}ms step_avg:60.03ms "
        "tok_s:8710000",
        f"step:9990/20000 val_loss:2.0500 val_bpb:1.2141 train_time:{run.train_ms}ms "
        "step_avg:60.03ms",
        f"stopping_early: wallclock_cap train_time:{run.train_ms}ms step:9990/20000",
        "peak memory allocated: 10011 MiB reserved: 10400 MiB",
        f"Code size: {len(code)} bytes",
        f"Serialized model int6+zstd-22: {run.model_bytes} bytes",
        f"Total submission size int6+zstd-22: {run.model_bytes + len(code)} bytes",
        f"final_int6_roundtrip val_loss:{roundtrip * NATS_PER_BPB:.4f} val_bpb:{roundtrip:.4f} "
        "eval_time:1700ms",
        f"final_int6_roundtrip_exact val_loss:{roundtrip * NATS_PER_BPB:.8f} "
        f"val_bpb:{roundtrip:.8f}",
        f"final_sliding_window val_loss:{run.val_loss:.4f} val_bpb:{run.val_bpb:.4f} stride:64 "
        f"eval_seq_len:1024 eval_time:{run.eval_ms}ms",
        f"final_sliding_window_exact val_loss:{run.val_loss:.8f} val_bpb:{run.val_bpb:.8f}",
        f"total_eval_time:{(run.eval_ms + 1700) / 1000:.1f}s",
    ]
    return "\n".join(lines) + "\n"


def record_files(
    runs: tuple[Seed, ...],
    *,
    script: str | bytes = LEGAL_SCRIPT,
    track: str = "10min_16mb",
    edit_json: Callable[[dict[str, object]], None] | None = None,
) -> dict[str, bytes]:
    """The files of a record folder: README.md, submission.json, one log per seed, the script."""
    code = script.encode() if isinstance(script, str) else script
    document: dict[str, object] = {
        "track": track,
        "name": "A test record",
        "author": "T. Ester",
        "github_id": "tester",
        "date": "2026-05-01",
        "blurb": "Written by the gate tests.",
        "val_bpb": round(statistics.fmean(run.val_bpb for run in runs), 8),
        "val_loss": round(statistics.fmean(run.val_loss for run in runs), 8),
        "seeds": [run.seed for run in runs],
        "seed_results": {
            str(run.seed): {
                "val_bpb": round(run.val_bpb, 8),
                "val_loss": round(run.val_loss, 8),
                "artifact_bytes": run.model_bytes + len(code),
            }
            for run in runs
        },
        "bytes_total": max(run.model_bytes for run in runs) + len(code),
        "bytes_code": len(code),
    }
    if edit_json is not None:
        edit_json(document)
    files = {
        "README.md": b"# A test record\n\n`torchrun --standalone --nproc_per_node=8 train_gpt.py`\n",
        "submission.json": json.dumps(document, indent=2).encode(),
        "train_gpt.py": code,
    }
    for run in runs:
        files[f"train_seed{run.seed}.log"] = train_log(run, code).encode()
    return files


OLD_RUNS = (Seed(1337, 1.23011111), Seed(42, 1.23105555), Seed(7, 1.22987777))
BEST_RUNS = (Seed(1337, 1.21012345), Seed(42, 1.21061234), Seed(2025, 1.20975312))
# About 0.0085 bpb (0.0144 nats) better than BEST_RUNS: a significant record.
GOOD_RUNS = (Seed(1337, 1.20123456), Seed(42, 1.20234567), Seed(2025, 1.20198765))
STUDY_RUNS = (Seed(1, 1.31234567),)


class Repo:
    """A git repository in a temporary folder, driven through the git command line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def env() -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
        env.update(
            {
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_AUTHOR_NAME": "Gate Test",
                "GIT_AUTHOR_EMAIL": "gate@test.invalid",
                "GIT_COMMITTER_NAME": "Gate Test",
                "GIT_COMMITTER_EMAIL": "gate@test.invalid",
                "GIT_AUTHOR_DATE": "2026-05-01T12:00:00Z",
                "GIT_COMMITTER_DATE": "2026-05-01T12:00:00Z",
            }
        )
        return env

    @classmethod
    def init(cls, path: Path) -> Repo:
        path.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=cls.env())
        return cls(path)

    def git(self, *args: str | bytes) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.path), *args],
            check=True,
            capture_output=True,
            env=self.env(),
        )
        return done.stdout.decode("utf-8", "replace").strip()

    def clone(self, target: Path, *options: str) -> Repo:
        subprocess.run(
            ["git", "clone", "-q", *options, f"file://{self.path}", str(target)],
            check=True,
            env=self.env(),
        )
        return Repo(target)

    def write(self, relative: str | bytes, data: bytes | str) -> None:
        name = os.fsdecode(relative)
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    def write_folder(self, folder: str, files: Mapping[str, bytes]) -> None:
        for name, data in files.items():
            self.write(f"{folder}/{name}", data)

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "-m", message)
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("switch", "-q", "-c", name, start)


def build_base(path: Path) -> Repo:
    """The challenge repository before the pull request: two records and a non-record study."""
    repo = Repo.init(path)
    repo.write("README.md", "# Parameter Golf (test copy)\n")
    repo.write("train_gpt.py", "print('the baseline script')\n")
    repo.write_folder(f"{TEN_MIN}/2026-03-20_OldRecord", record_files(OLD_RUNS))
    repo.write_folder(f"{TEN_MIN}/2026-04-10_BestRecord", record_files(BEST_RUNS))
    repo.write_folder(
        f"{NON_RECORD}/2026-03-25_Study", record_files(STUDY_RUNS, track="non_record_16mb")
    )
    repo.commit("the challenge repository")
    return repo
