"""Benchmark the no-GPU default: `pgolf train` with no settings (the `cpu` preset on the built-in
data), run as a user runs it, through the CLI in a subprocess.

Reported from the run's run.json and train.log: wall time of the whole command, training time
and steps, training tokens/s, the pre-quantization val_bpb (of the EMA weights that are
exported), the scored val_bpb (roundtrip and sliding window), artifact and submission bytes. The
preset is step-based, so val_bpb does not depend on how busy the machine is, but the times do:
the 1-minute load average is sampled before, during and after the run, and the CPU time of the
command (its children's user + system time) is reported next to its wall time.

Usage (from the repository root):
    .venv/bin/python bench/bench_train.py                  # one run, ~3-4 minutes on 2 cores
    .venv/bin/python bench/bench_train.py --json bench/out/train.json --keep bench/out/runs
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import bench_common as bc

from pgolf_cli.run_folder import RUN_JSON, read_run_json, seed_folders

RUN_NAME = "bench-cpu"
_NUMBER = r"([-+0-9.eE]+|nan|inf)"
_PRE_QUANT = re.compile(rf"^step:(\d+)/\d+ val_loss:{_NUMBER} val_bpb:{_NUMBER}")
_TOK_S = re.compile(r"^step:\d+/\d+ train_loss:.* tok_s:(\d+)")
_ROUNDTRIP = re.compile(rf"^final_int6_roundtrip_exact val_loss:{_NUMBER} val_bpb:{_NUMBER}")
_SLIDING = re.compile(rf"^final_sliding_window_exact val_loss:{_NUMBER} val_bpb:{_NUMBER}")


@dataclass(frozen=True)
class TrainRun:
    command: list[str]
    exit_status: int
    preset: str | None
    wall_s: float
    cpu_s: float
    """User + system CPU time of the command and everything it started."""
    train_time_s: float
    eval_time_s: float | None
    steps: int
    total_steps: int | None
    stop_reason: str | None
    step_avg_ms: float | None
    batch_tokens: int
    tokens_per_s: float
    """Training tokens per second of training time: steps x TRAIN_BATCH_TOKENS / train time."""
    last_logged_tok_s: int | None
    pre_quant_val_bpb: float | None
    roundtrip_val_bpb: float | None
    sliding_val_bpb: float | None
    score_val_bpb: float | None
    score_label: str | None
    artifact_bytes: int | None
    code_bytes: int | None
    total_bytes: int | None
    val_tokens: int | None
    load_start: float
    load_max: float
    load_end: float


def pgolf_command() -> list[str]:
    # The console script next to this interpreter is what a user of this environment runs.
    script = Path(sys.executable).with_name("pgolf")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "pgolf_cli"]


def _last(pattern: re.Pattern[str], lines: list[str]) -> re.Match[str] | None:
    found = None
    for line in lines:
        match = pattern.match(line)
        if match:
            found = match
    return found


def run_default(data_dir: Path, out_dir: Path) -> TrainRun:
    command = [
        *pgolf_command(),
        "train",
        "--name",
        RUN_NAME,
        "--out",
        str(out_dir),
        "--data",
        str(data_dir),
        "--quiet",
    ]
    load_start = bc.load_avg()
    loads = [load_start]
    start = time.perf_counter()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # A folder of its own as the working directory: no pgolf.toml from elsewhere applies.
    with (out_dir / "pgolf-train.out").open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            command, cwd=out_dir, stdout=sink, stderr=subprocess.STDOUT, text=True
        )
        while True:
            try:
                exit_status = process.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                loads.append(bc.load_avg())
    wall_s = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    load_end = bc.load_avg()

    run_dir = out_dir / RUN_NAME
    seed_dirs = seed_folders(run_dir) if run_dir.is_dir() else []
    if exit_status != 0 or not seed_dirs:
        output = (out_dir / "pgolf-train.out").read_text(encoding="utf-8")
        raise RuntimeError(f"pgolf train exited {exit_status}:\n{output[-3000:]}")
    seed_dir = seed_dirs[0]
    record = read_run_json(seed_dir / RUN_JSON)
    log = (seed_dir / record.log).read_text(encoding="utf-8").splitlines()
    results = record.results
    if results.steps is None or results.train_time_ms is None:
        raise RuntimeError(f"{seed_dir / RUN_JSON}: the run recorded no steps or training time")
    batch_tokens = int(record.env["TRAIN_BATCH_TOKENS"])
    steps = results.steps
    train_time_s = results.train_time_ms / 1000
    eval_ms = results.eval_time_ms
    pre_quant = _last(_PRE_QUANT, log)
    tok_s = _last(_TOK_S, log)
    roundtrip = _last(_ROUNDTRIP, log)
    sliding = _last(_SLIDING, log)
    fingerprint = (record.data.fingerprint if record.data else None) or {}
    return TrainRun(
        command=command,
        exit_status=exit_status,
        preset=record.preset,
        wall_s=wall_s,
        cpu_s=cpu_s,
        train_time_s=train_time_s,
        eval_time_s=None if eval_ms is None else eval_ms / 1000,
        steps=steps,
        total_steps=results.total_steps,
        stop_reason=results.stop_reason,
        step_avg_ms=results.step_avg_ms,
        batch_tokens=batch_tokens,
        tokens_per_s=steps * batch_tokens / train_time_s if train_time_s > 0 else float("nan"),
        last_logged_tok_s=int(tok_s[1]) if tok_s else None,
        pre_quant_val_bpb=float(pre_quant[3]) if pre_quant else None,
        roundtrip_val_bpb=float(roundtrip[2]) if roundtrip else None,
        sliding_val_bpb=float(sliding[2]) if sliding else None,
        score_val_bpb=results.val_bpb,
        score_label=results.score_label,
        artifact_bytes=record.artifact.bytes if record.artifact else None,
        code_bytes=results.bytes_code,
        total_bytes=results.bytes_total,
        val_tokens=fingerprint.get("val_tokens"),
        load_start=load_start,
        load_max=max(loads),
        load_end=load_end,
    )


def _fmt(value: object, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def render(info: dict[str, str], run: TrainRun, built_s: float) -> str:
    rows = [
        ["command", "`pgolf " + " ".join(run.command[run.command.index("train") :]) + "`"],
        ["preset", _fmt(run.preset)],
        ["wall time of the command", f"{run.wall_s:.1f} s"],
        ["CPU time of the command (user + system, all processes)", f"{run.cpu_s:.1f} s"],
        ["training time (clock of the script)", f"{run.train_time_s:.1f} s"],
        ["evaluation time (total_eval_time)", f"{_fmt(run.eval_time_s, '.1f')} s"],
        [
            "steps",
            f"{run.steps} / {_fmt(run.total_steps)} (stopped by {_fmt(run.stop_reason)})",
        ],
        ["step average", f"{_fmt(run.step_avg_ms, '.0f')} ms"],
        ["training tokens / s", f"{run.tokens_per_s:,.0f} ({run.batch_tokens:,} per step)"],
        ["last logged tok_s", _fmt(run.last_logged_tok_s, ",")],
        [
            "val_bpb at the last step (EMA weights, before quantization)",
            _fmt(run.pre_quant_val_bpb, ".4f"),
        ],
        ["val_bpb after int6 roundtrip", _fmt(run.roundtrip_val_bpb, ".4f")],
        ["val_bpb sliding window (the score)", _fmt(run.sliding_val_bpb, ".4f")],
        ["score (run.json)", f"{_fmt(run.score_val_bpb, '.4f')} ({_fmt(run.score_label)})"],
        ["validation tokens", _fmt(run.val_tokens, ",")],
        ["artifact bytes", _fmt(run.artifact_bytes, ",")],
        ["code bytes", _fmt(run.code_bytes, ",")],
        ["submission bytes (code + artifact)", _fmt(run.total_bytes, ",")],
        [
            "load average (1 min) start / max sampled / end",
            f"{run.load_start:.2f} / {run.load_max:.2f} / {run.load_end:.2f}",
        ],
    ]
    out = [bc.machine_line(info), ""]
    if built_s:
        out += [
            f"The built-in dataset was built first in {built_s:.1f} s (not in the wall time).",
            "",
        ]
    out.append(bc.table(["quantity", "value"], rows))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark `pgolf train` with its defaults.")
    parser.add_argument("--data", type=Path, default=bc.DEFAULT_DATA_DIR, help="data folder")
    parser.add_argument("--keep", type=Path, help="keep the run folder here (default: temp)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    ns = parser.parse_args(argv)

    info = bc.machine()
    # Built (if needed) before the clock starts: the first run on a machine pays for it once.
    _, _, built_s = bc.builtin_data(ns.data)
    with tempfile.TemporaryDirectory(prefix="pgolf-bench-train-") as tmp:
        out_dir = Path(tmp)
        print(f"running pgolf train (cpu default) in {out_dir} ...", file=sys.stderr)
        run = run_default(ns.data.resolve(), out_dir)
        if ns.keep is not None:
            ns.keep.mkdir(parents=True, exist_ok=True)
            shutil.copytree(out_dir / RUN_NAME, ns.keep / RUN_NAME, dirs_exist_ok=True)
    print(render(info, run, built_s), end="")
    if ns.json is not None:
        bc.write_json(ns.json, {"machine": info, "data_build_s": built_s, "run": asdict(run)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
