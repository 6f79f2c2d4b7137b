"""Benchmark ``pgolf verify``: the time to verify all 60 merged record folders.

Inputs: the record folders in ``../shared/data/parameter-golf-records-full`` (60 folders, 165 logs).
That copy has no scripts, so the audit check is skipped there; a second pass copies the folders
to a temporary directory and drops a generated ~150 KiB ``train_gpt.py`` (``bench/gen_scripts.py``)
into each, so the cost of the in-process audit (jobs=1) is measured too.

Each pass runs ``verify_folders`` over all folders --repeat times after one warm-up pass, with a
``gc.collect()`` before each. Reported: median, fastest and slowest wall time of a pass, the
median per folder, and the slowest folders of the last pass.

Usage (from the repository root):
    .venv/bin/python bench/bench_verify.py
    .venv/bin/python bench/bench_verify.py --repeat 5 --json bench/out/verify.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_RECORDS = REPO_ROOT.parent / "shared" / "data" / "parameter-golf-records-full"

# Measure the verifier of this checkout, not whatever pgolf the interpreter has installed.
for entry in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from gen_scripts import generate_script  # noqa: E402

from pgolf_cli.records.verify import verify_folder, verify_folders  # noqa: E402


@dataclass(frozen=True)
class Timing:
    input: str
    folders: int
    median_s: float
    min_s: float
    max_s: float

    @property
    def per_folder_ms(self) -> float:
        return self.median_s / self.folders * 1000


def record_folders(root: Path) -> list[Path]:
    return [
        folder
        for track in sorted(root.iterdir())
        if track.is_dir()
        for folder in sorted(track.iterdir())
        if folder.is_dir()
    ]


def time_passes(folders: Sequence[Path], repeat: int, *, audit: bool) -> list[float]:
    verify_folders(folders, audit=audit)
    times: list[float] = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        verify_folders(folders, audit=audit)
        times.append(time.perf_counter() - start)
    return times


def slowest(folders: Sequence[Path], count: int) -> list[tuple[float, str]]:
    spent: list[tuple[float, str]] = []
    for folder in folders:
        start = time.perf_counter()
        verify_folder(folder)
        spent.append((time.perf_counter() - start, folder.name))
    return sorted(spent, reverse=True)[:count]


def with_scripts(folders: Sequence[Path], workdir: Path, size_kb: float) -> list[Path]:
    """Copies of ``folders`` under ``workdir``, each with a generated train_gpt.py."""
    copies: list[Path] = []
    for index, folder in enumerate(folders):
        target = workdir / folder.parent.name / folder.name
        shutil.copytree(folder, target)
        for path in [target, *target.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        script = generate_script(seed=7, index=index, size_kb=size_kb)
        (target / "train_gpt.py").write_text(script, encoding="utf-8")
        copies.append(target)
    return copies


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per input")
    parser.add_argument("--records", type=Path, default=SHARED_RECORDS, help="record folders")
    parser.add_argument("--size-kb", type=float, default=150.0, help="generated script size")
    parser.add_argument("--skip-scripts", action="store_true", help="skip the pass with scripts")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    if not args.records.is_dir():
        print(f"error: no record data at {args.records}", file=sys.stderr)
        return 2
    folders = record_folders(args.records)
    load_before = os.getloadavg()[0]
    timings: list[Timing] = []
    times = time_passes(folders, args.repeat, audit=True)
    timings.append(
        Timing(
            "records as shared (no scripts)",
            len(folders),
            statistics.median(times),
            min(times),
            max(times),
        )
    )
    slow = slowest(folders, 5)
    if not args.skip_scripts:
        with tempfile.TemporaryDirectory(prefix="pgolf-bench-verify-") as workdir:
            copies = with_scripts(folders, Path(workdir), args.size_kb)
            times = time_passes(copies, args.repeat, audit=True)
            timings.append(
                Timing(
                    f"records + a {args.size_kb:g} KiB train_gpt.py each (audit, jobs=1)",
                    len(copies),
                    statistics.median(times),
                    min(times),
                    max(times),
                )
            )
    load_after = os.getloadavg()[0]

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"Machine: {cpus} CPUs, Python {platform.python_version()}, {platform.platform()}, "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}; median of {args.repeat} passes; "
        f"load average {load_before:.2f} -> {load_after:.2f}"
    )
    print()
    print("| input | folders | median s | per folder ms | fastest s | slowest s |")
    print("|---|---|---|---|---|---|")
    for t in timings:
        print(
            f"| {t.input} | {t.folders} | **{t.median_s:.2f}** | {t.per_folder_ms:.1f} | "
            f"{t.min_s:.2f} | {t.max_s:.2f} |"
        )
    print()
    print(
        "Slowest folders (as shared): " + ", ".join(f"{name} {s * 1000:.0f} ms" for s, name in slow)
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        rows = [{**asdict(t), "per_folder_ms": t.per_folder_ms} for t in timings]
        document = {
            "repeat": args.repeat,
            "timings": rows,
            "slowest": [{"folder": name, "seconds": s} for s, name in slow],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
