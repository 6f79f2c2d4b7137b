"""Benchmark ``pgolf gate``: its wall time on a typical pull request.

The input is built here, deterministically, as a real git repository in a temporary folder: a
base commit shaped like the challenge repository (a root README.md and train_gpt.py, --records
merged record folders in the 10-minute track, each with submission.json, three train logs and a
small script), then a pull-request commit adding one folder with README.md, submission.json,
three train logs and a ~150 KiB ``train_gpt.py`` from ``bench/gen_scripts.py``. Each log
embeds the script's source first, as most real logs do, then the template's log lines.

Measured in one process, interleaved, --repeat times after one warm-up call of each, with a
``gc.collect()`` before every timed call:

1. ``run_gate`` (the library call ``pgolf gate`` makes): git reads, diff shape, the folder's
   files, the best record of the base tree, verify and the audit.
2. Baseline: ``verify_folder`` (with the audit) on the same folder already on disk, against the
   same best record already on disk: what checking the folder costs without git.
3. Floor: one ``git diff-tree -r`` of the pull request (a process start and a tree walk).

Then the command as CI runs it, ``pgolf gate -f json`` in a fresh interpreter, --cli-repeat
times: what a workflow step pays, imports included. Reported: medians, fastest and slowest,
and the ratio of the gate to the verify baseline.

Usage (from the repository root):
    .venv/bin/python bench/bench_gate.py
    .venv/bin/python bench/bench_gate.py --repeat 9 --json bench/out/gate.json
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Measure the gate of this checkout, not whatever pgolf the interpreter has installed.
for entry in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from gen_scripts import generate_script  # noqa: E402

from pgolf_cli.gate.run import GateOptions, run_gate  # noqa: E402
from pgolf_cli.records.size import _minified  # noqa: E402
from pgolf_cli.records.verify import verify_folder  # noqa: E402

TRACK = "records/track_10min_16mb"
NEW_FOLDER = f"{TRACK}/2026-05-01_BenchRecord"
SEEDS = (1337, 42, 2025)
# val_loss / val_bpb of the sp1024 export.
NATS_PER_BPB = 1.6885


@dataclass(frozen=True)
class Timing:
    what: str
    median_s: float
    min_s: float
    max_s: float


def _git(repo: Path, *args: str) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@example.invalid",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@example.invalid",
        }
    )
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def train_log(seed: int, val_bpb: float, code: str) -> str:
    """A finished run's log: the script's source, then the template's log lines."""
    data = code.encode()
    val_loss = val_bpb * NATS_PER_BPB
    lines = [*code.splitlines(), "=" * 100]
    lines += [
        "pgolf_template: 0.1.0",
        "python: 3.11.7 torch: 2.13.0 cuda: 12.8 device: NVIDIA H100 80GB HBM3 world_size: 8",
        "command: train_gpt.py",
        f"code_sha256: {hashlib.sha256(data).hexdigest()}",
        "Hyperparameters:",
        "  iterations: 20000",
        f"  seed: {seed}",
        "data: train_shards:80 val_shards:1 train_tokens:8000000000 val_tokens:62021632 "
        "val_bytes:151080363",
    ]
    lines += [
        f"step:{step}/20000 train_loss:{3.5 - step / 5000:.4f} train_time:{step * 60}ms "
        "step_avg:60.00ms tok_s:8700000"
        for step in range(100, 10_000, 100)
    ]
    lines += [
        "stopping_early: wallclock_cap train_time:599700ms step:9995/20000",
        f"Code size: {len(data)} bytes",
        "Serialized model int6+zstd-22: 15600000 bytes",
        f"Total submission size int6+zstd-22: {15_600_000 + len(data)} bytes",
        f"final_sliding_window val_loss:{val_loss:.4f} val_bpb:{val_bpb:.4f} stride:64 "
        "eval_seq_len:1024 eval_time:91000ms",
        f"final_sliding_window_exact val_loss:{val_loss:.8f} val_bpb:{val_bpb:.8f}",
    ]
    return "\n".join(lines) + "\n"


def record_files(scores: tuple[float, ...], code: str, track: str = "10min_16mb") -> dict[str, str]:
    """The files of a record folder: the script, a README, one log per seed, submission.json."""
    files = {"train_gpt.py": code, "README.md": "# A benchmark record\n"}
    results = {}
    for seed, score in zip(SEEDS, scores, strict=True):
        files[f"train_seed{seed}.log"] = train_log(seed, score, code)
        results[str(seed)] = {
            "val_bpb": score,
            "val_loss": round(score * NATS_PER_BPB, 8),
            "artifact_bytes": 15_600_000 + len(code.encode()),
        }
    mean = round(statistics.fmean(scores), 8)
    document = {
        "track": track,
        "name": "bench",
        "author": "bench",
        "github_id": "bench",
        "date": "2026-05-01",
        "val_bpb": mean,
        "val_loss": round(mean * NATS_PER_BPB, 8),
        "seeds": list(SEEDS),
        "seed_results": results,
    }
    files["submission.json"] = json.dumps(document, indent=2)
    return files


def write_record(folder: Path, scores: tuple[float, ...], code: str) -> None:
    folder.mkdir(parents=True)
    for name, text in record_files(scores, code).items():
        (folder / name).write_text(text)


def build(
    workdir: Path, records: int, size_kb: float, counted_wrapper: bool = False
) -> tuple[Path, Path, Path]:
    """The repository (base on main, the pull request on ``pr``), and on-disk copies of the new
    folder and of the best record for the verify baseline."""
    repo = workdir / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# Parameter Golf (benchmark copy)\n")
    (repo / "train_gpt.py").write_text("print('baseline')\n")
    small = "import torch\n\n\ndef main():\n    print('a merged record')\n"
    for index in range(records):
        base = 1.25 - index * 0.001
        write_record(
            repo / TRACK / f"2026-03-{1 + index % 28:02d}_Record{index:02d}",
            (base, base + 0.0004, base - 0.0003),
            small,
        )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    best = min(scores for scores in [1.25 - i * 0.001 for i in range(records)])
    _git(repo, "switch", "-q", "-c", "pr")
    script = generate_script(seed=11, size_kb=size_kb)
    if counted_wrapper:
        script += COUNTED_WRAPPER
    new_scores = (best - 0.009, best - 0.0085, best - 0.0093)
    write_record(repo / NEW_FOLDER, new_scores, script)
    # The generated script imports zstandard, which the base image lacks.
    (repo / NEW_FOLDER / "requirements.txt").write_text("zstandard\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "a record")
    on_disk = workdir / "disk" / NEW_FOLDER
    write_record(on_disk, new_scores, script)
    (on_disk / "requirements.txt").write_text("zstandard\n")
    best_disk = workdir / "best" / TRACK / "best"
    write_record(best_disk, (best, best + 0.0004, best - 0.0003), small)
    return repo, on_disk, best_disk


# Appended to the new script with --counted-wrapper: the size function the April records use,
# so verify rebuilds the minified lzma wrapper it describes (records.md §6.9).
COUNTED_WRAPPER = """

def _compressed_code_size(code):
    code_raw = code.encode("utf-8")
    minified = subprocess.run(
        ["pyminify", "--no-rename-locals", "--no-hoist-literals", "--remove-literal-statements", "-"],
        input=code_raw, capture_output=True, check=True,
    ).stdout
    compressed = lzma.compress(minified)
    encoded = base64.b85encode(compressed)
    wrapper = b'import lzma as L,base64 as B\\nexec(L.decompress(B.b85decode("' + encoded + b'")))\\n'
    return len(code_raw), len(wrapper)
"""


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (git)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def interleaved(
    calls: dict[str, Callable[[], object]], repeat: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of each call. The code-size cache is emptied before every call, so
    each one pays for rebuilding a counted wrapper as a fresh ``pgolf`` process would."""
    for call in calls.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            _minified.cache_clear()
            gc.collect()
            start, start_cpu = time.perf_counter(), cpu_seconds()
            call()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(cpu_seconds() - start_cpu)
    return times, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7, help="timed calls of each, in-process")
    parser.add_argument("--cli-repeat", type=int, default=3, help="timed runs of the command")
    parser.add_argument("--records", type=int, default=40, help="merged records in the base")
    parser.add_argument("--size-kb", type=float, default=150.0, help="the new script's size")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument(
        "--counted-wrapper",
        action="store_true",
        help="the new script counts its code as a minified wrapper (verify rebuilds it)",
    )
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pgolf-bench-gate-") as temporary:
        repo, on_disk, best = build(
            Path(temporary), args.records, args.size_kb, args.counted_wrapper
        )
        report = run_gate(repo, GateOptions(head="pr"))
        script_kb = (on_disk / "train_gpt.py").stat().st_size / 1024
        log_kb = sum(p.stat().st_size for p in on_disk.glob("*.log")) / 1024
        print(
            f"Input: {args.records} merged records; the new folder has a {script_kb:.0f} KiB "
            f"script and three logs ({log_kb:.0f} KiB in all). Gate verdict: "
            f"{report.verdict.value} ({', '.join(r.id for r in report.reasons) or 'no reasons'})"
        )
        calls: dict[str, Callable[[], object]] = {
            "run_gate (pgolf gate, in-process)": lambda: run_gate(repo, GateOptions(head="pr")),
            "verify_folder + audit, folder on disk (baseline)": lambda: verify_folder(
                on_disk, baseline=best, audit=True
            ),
            "git diff-tree -r alone (floor)": lambda: subprocess.run(
                ["git", "-C", str(repo), "diff-tree", "-r", "main", "pr"],
                check=True,
                capture_output=True,
            ),
        }
        times, cpu = interleaved(calls, args.repeat)
        command = [sys.executable, "-m", "pgolf_cli", "gate", "--repo", str(repo)]
        command += ["--head", "pr", "-f", "json", "-q"]
        cli: list[float] = []
        for _ in range(args.cli_repeat):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, cwd=REPO_ROOT, check=False)
            cli.append(time.perf_counter() - start)
            if done.returncode not in (0, 1, 3):
                print(done.stderr.decode(), file=sys.stderr)
                return 2
        times[f"pgolf gate -f json (fresh interpreter, {args.cli_repeat} runs)"] = cli
    load_after = os.getloadavg()[0]

    timings = [
        Timing(what, statistics.median(spent), min(spent), max(spent))
        for what, spent in times.items()
    ]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"Machine: {cpus} CPUs, Python {platform.python_version()}, {platform.platform()}, "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}; median of {args.repeat} calls; "
        f"load average {load_before:.2f} -> {load_after:.2f}"
    )
    print()
    print("| what | median s | fastest s | slowest s | median CPU s |")
    print("|---|---|---|---|---|")
    for t in timings:
        spent = statistics.median(cpu[t.what]) if t.what in cpu else None
        shown = f"{spent:.3f}" if spent is not None else "-"
        print(f"| {t.what} | **{t.median_s:.3f}** | {t.min_s:.3f} | {t.max_s:.3f} | {shown} |")
    ratio = timings[0].median_s / timings[1].median_s
    names = list(cpu)
    cpu_ratio = statistics.median(cpu[names[0]]) / statistics.median(cpu[names[1]])
    print()
    print(f"Gate / verify baseline: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "repeat": args.repeat,
            "records": args.records,
            "size_kb": args.size_kb,
            "timings": [asdict(t) for t in timings],
            "gate_over_verify": ratio,
            "gate_over_verify_cpu": cpu_ratio,
            "counted_wrapper": args.counted_wrapper,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
