"""Benchmark the train-log parser: throughput in MB/s.

Inputs:
(a) every train log of the merged records (``../shared/data/parameter-golf-records-full``, 165 files
    of all eras), when that folder exists; skipped otherwise;
(b) one synthetic log of --synthetic-mb MB, generated here deterministically, so the benchmark
    runs anywhere. It is shaped like the longest real logs: the script's source logged first
    (mostly indented lines), a hyperparameter dump, train/val step lines, export sizes, then
    many test-time-training progress lines and the final score lines.

Each input is parsed --repeat times (after one warm-up pass) with ``parse_log`` and, for (b),
also fed line by line to a ``LogReader`` that takes a ``result()`` snapshot after every line,
which is what ``pgolf train`` does while a run streams. Reported: median seconds and MB/s
(MB = 10^6 bytes of UTF-8 text), and the fastest and slowest pass.

Usage (from the repository root):
    .venv/bin/python bench/bench_logs.py
    .venv/bin/python bench/bench_logs.py --repeat 11 --synthetic-mb 32 --json bench/out/logs.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_RECORDS = REPO_ROOT.parent / "shared" / "data" / "parameter-golf-records-full"

# Measure the parser of this checkout, not whatever pgolf the interpreter has installed.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from pgolf_cli.records.logs import LogReader, parse_log  # noqa: E402


@dataclass(frozen=True)
class Timing:
    input: str
    method: str
    files: int
    megabytes: float
    lines: int
    median_s: float
    min_s: float
    max_s: float

    @property
    def mb_per_s(self) -> float:
        return self.megabytes / self.median_s


def synthetic_log(megabytes: float, seed: int = 0) -> str:
    """A log of about ``megabytes`` MB in the new script's format, the same for the same seed."""
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    out: list[str] = ["=" * 100, "Hyperparameters:"]
    out += [f"  key_{i:03d}: {rng.random():.6f}" for i in range(120)]
    out += ["  seed: 1337", "=" * 100]
    # The logged source: a few thousand lines, mostly indented, some shaped like output.
    for block in range(60):
        out.append(f"def helper_{block}(h, x):")
        for i in range(40):
            out.append(f"    y_{i} = x * {rng.random():.4f} + h.scale_{i % 7}  # step {i}")
        out.append('    log(f"final_sliding val_loss:{val_loss:.8f} val_bpb:{val_bpb:.8f}")')
        out.append("")
    out += ["=" * 100, "Running Python 3.12.3", "Running PyTorch 2.9.1+cu128"]
    out += ["train_shards: 80", "val_tokens: 40540160", "model_params:35944602"]
    loss = 9.0
    for step in range(0, 5000, 10):
        loss = max(2.7, loss * 0.995)
        minutes = step * 0.12 / 60
        out.append(f"{step}/20000 train_loss: {loss:.4f} train_time: {minutes:.1f}m tok/s: 6543210")
        if step % 500 == 0:
            out.append(f"{step}/20000 val_loss: {loss:.4f} val_bpb: {loss / 2.58:.4f}")
    out += [
        "stopping_early: wallclock_cap train_time: 599544ms step: 4958/20000",
        "peak memory allocated: 41710 MiB reserved: 44036 MiB",
        "diagnostic pre-quantization post-ema val_loss:2.76990528 val_bpb:1.07228209 eval_time:6424ms",
        "Code size (uncompressed): 151766 bytes",
        "Code size (compressed): 31250 bytes",
        "Serialized model quantized+brotli: 15921440 bytes",
        "Total submission size quantized+brotli: 15952690 bytes",
        "diagnostic quantized val_loss:2.79852399 val_bpb:1.08336093 eval_time:55851ms",
    ]
    size = sum(len(line) + 1 for line in out)
    tail = [
        "quantized_ttt_phased val_loss:2.76951521 val_bpb:1.07216564 eval_time:500104ms",
        "total_eval_time:500.1s",
    ]
    size += sum(len(line) + 1 for line in tail)
    batch = 782
    while size < target:
        bl = 2.6 + rng.random()
        line = (
            f"ttp: b{batch}/782 bl:{bl:.4f} bb:{bl / 2.58:.4f} rl:2.7638 rb:1.0694 "
            f"dl:{rng.randint(60, 9000)}-{rng.randint(60, 9000)} gd:{rng.randint(0, 1)}"
        )
        out.append(line)
        size += len(line) + 1
        batch = batch - 1 if batch > 1 else 782
    out += tail
    return "\n".join(out) + "\n"


def streaming(text: str) -> None:
    reader = LogReader()
    for line in text.splitlines(keepends=True):
        reader.feed(line)
        reader.result()


def time_passes(work: Callable[[], object], repeat: int) -> list[float]:
    work()
    times: list[float] = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return times


def measure(
    name: str, method: str, texts: Sequence[str], work: Callable[[], object], repeat: int
) -> Timing:
    times = time_passes(work, repeat)
    return Timing(
        input=name,
        method=method,
        files=len(texts),
        megabytes=sum(len(text.encode("utf-8")) for text in texts) / 1e6,
        lines=sum(text.count("\n") for text in texts),
        median_s=statistics.median(times),
        min_s=min(times),
        max_s=max(times),
    )


def record_logs(folder: Path) -> list[str]:
    return [
        path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix in {".log", ".txt"} and path.name != "requirements.txt"
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7, help="timed passes per input")
    parser.add_argument(
        "--synthetic-mb", type=float, default=16.0, help="size of the synthetic log"
    )
    parser.add_argument("--records", type=Path, default=SHARED_RECORDS, help="record folders")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    timings: list[Timing] = []
    if args.records.is_dir():
        texts = record_logs(args.records)

        def parse_all() -> None:
            for text in texts:
                parse_log(text)

        timings.append(measure("records (all eras)", "parse_log", texts, parse_all, args.repeat))
    else:
        print(f"(no record data at {args.records}: only the synthetic log is measured)")
    synthetic = synthetic_log(args.synthetic_mb)
    timings.append(
        measure("synthetic", "parse_log", [synthetic], lambda: parse_log(synthetic), args.repeat)
    )
    timings.append(
        measure(
            "synthetic",
            "LogReader, result() per line",
            [synthetic],
            lambda: streaming(synthetic),
            args.repeat,
        )
    )

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"Machine: {cpus} CPUs, Python {platform.python_version()}, {platform.platform()}, "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}; median of {args.repeat} passes"
    )
    print()
    print("| input | method | files | MB | lines | median s | MB/s | fastest s | slowest s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for t in timings:
        print(
            f"| {t.input} | {t.method} | {t.files} | {t.megabytes:.2f} | {t.lines:,} | "
            f"{t.median_s:.3f} | **{t.mb_per_s:.1f}** | {t.min_s:.3f} | {t.max_s:.3f} |"
        )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        rows = [{**asdict(t), "mb_per_s": t.mb_per_s} for t in timings]
        args.json.write_text(json.dumps({"repeat": args.repeat, "timings": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
