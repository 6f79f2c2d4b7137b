"""Benchmark ``pgolf sweep``: cold and warm sweeps of a repository with hundreds of pull requests.

The input is built by ``bench/gen_sweep_repo.py``: a bare repository shaped like the challenge's,
with ``--refs`` pull-request refs that share ``train_gpt.py`` scripts drawn with a skew from a
pool of ``--pool`` (real pull requests copy scripts: about 3,500 heads hold about 1,800 distinct
scripts). In one process, on the same machine state, interleaved:

1. Baselines, half before and half after the cold sweep: ``audit_paths([script], jobs=1)`` (the
   work of ``pgolf audit`` of one script) on ``--sample`` of the distinct scripts, and
   ``run_gate`` (the work of ``pgolf gate``) on ``--sample`` refs, each a median.
2. The cold sweep (``run_sweep`` with an empty cache and ``--jobs`` workers), then the warm
   sweep over the same refs and cache, and the warm sweep as a command in a fresh interpreter
   (``python -m pgolf_cli sweep -f json``, imports included).
3. One ``pgolf gate`` and one ``pgolf audit`` in a fresh interpreter, for the per-call cost a
   script pays.

Reported: the times, the cache statistics (audits run and reused, hit rate), the cold sweep per
distinct script against one audit (target: no more), the warm sweep (target: under 30 s for
500 refs on 2 cores), and per-ref costs against a single gate call. CPU seconds of the cold
sweep (this process and its workers) are given too, since the wall time divides by the cores.

Usage (from the repository root):
    .venv/bin/python bench/bench_sweep.py                   # 500 refs, 2 jobs, a few minutes
    .venv/bin/python bench/bench_sweep.py --json bench/out/sweep.json
"""

from __future__ import annotations

import argparse
import functools
import gc
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
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
for entry in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from gen_sweep_repo import build  # noqa: E402

from pgolf_cli.audit.engine import audit_paths  # noqa: E402
from pgolf_cli.gate.run import GateOptions, run_gate  # noqa: E402
from pgolf_cli.sweep.run import SweepOptions, run_sweep  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the sweep's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(call: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds, git's processes included) of one call."""
    gc.collect()
    cpu = _cpu()
    start = time.perf_counter()
    call()
    return time.perf_counter() - start, _cpu() - cpu


def _command(*args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pgolf_cli", *args], capture_output=True, cwd=REPO_ROOT, check=False
    )
    spent = time.perf_counter() - start
    if done.returncode not in (0, 1, 3):
        raise SystemExit(f"pgolf {args[0]} failed ({done.returncode}): {done.stderr.decode()}")
    return spent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--refs", type=int, default=500, help="pull-request refs")
    parser.add_argument("--pool", type=int, default=300, help="scripts the refs draw from")
    parser.add_argument("--size-kb", type=float, default=50.0, help="size of each script")
    parser.add_argument("--jobs", type=int, default=2, help="sweep worker processes")
    parser.add_argument("--sample", type=int, default=6, help="baseline calls of each kind")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pgolf-bench-sweep-") as temporary:
        work = Path(temporary)
        start = time.perf_counter()
        built = build(work / "repo.git", args.refs, args.pool, size_kb=args.size_kb)
        build_s = time.perf_counter() - start
        repo = built.repo
        scripts = work / "scripts"
        scripts.mkdir()
        for index, code in built.scripts.items():
            (scripts / f"train_gpt_{index:03d}.py").write_text(code)
        distinct = len(built.scripts)
        print(
            f"Input: {args.refs} refs sharing {distinct} distinct ~{args.size_kb:.0f} KiB scripts "
            f"(built in {build_s:.1f} s)"
        )
        step = max(1, args.refs // args.sample)
        sample_refs = [f"refs/pull/{n}/head" for n in range(1, args.refs + 1, step)]
        sample_scripts = sorted(scripts.iterdir())[:: max(1, distinct // args.sample)]

        audit_s: list[tuple[float, float]] = []
        gate_s: list[tuple[float, float]] = []

        def baselines(part: int) -> None:
            # Half the sample before the cold sweep and half after, against drifting load.
            for path in sample_scripts[part::2]:
                audit_s.append(_timed(functools.partial(audit_paths, [path], jobs=1)))
            for ref in sample_refs[part::2]:
                gate_s.append(_timed(functools.partial(run_gate, repo, GateOptions(head=ref))))

        audit_paths([sample_scripts[0]], jobs=1)  # warm-up: imports and the rule catalogue
        baselines(0)
        cache = work / "cache"
        cpu = _cpu()
        gc.collect()
        cold = run_sweep(repo, SweepOptions(cache=cache, jobs=args.jobs))
        cold_cpu = _cpu() - cpu
        warm = run_sweep(repo, SweepOptions(cache=cache, jobs=args.jobs))
        # As soon as they are known: a long run that is stopped later still has them.
        print(f"cold: {cold.stats.as_dict()}, CPU {cold_cpu:.1f} s", flush=True)
        print(f"warm: {warm.stats.as_dict()}", flush=True)
        print(f"baselines so far: audit {audit_s}, gate {gate_s}", flush=True)
        baselines(1)
        out = work / "sweep.json"
        warm_cli = _command(
            "sweep",
            "--repo",
            str(repo),
            "--cache",
            str(cache),
            "-q",
            "-j",
            str(args.jobs),
            "-f",
            "json",
            "-o",
            str(out),
        )
        gate_cli = _command("gate", "--repo", str(repo), "--head", sample_refs[0], "-f", "json")
        audit_cli = _command("audit", str(sample_scripts[0]), "-f", "json")
        verdicts = json.loads(out.read_text())["summary"]["by_verdict"]
    load_after = os.getloadavg()[0]

    audit_median = statistics.median(wall for wall, _ in audit_s)
    audit_cpu = statistics.median(cpu for _, cpu in audit_s)
    gate_median = statistics.median(wall for wall, _ in gate_s)
    gate_cpu = statistics.median(cpu for _, cpu in gate_s)
    stats = cold.stats
    per_script = stats.seconds / stats.audits_run
    numbers = {
        "refs": args.refs,
        "distinct_scripts": distinct,
        "audits_run": stats.audits_run,
        "audits_reused": stats.audits_reused,
        "audit_hit_rate": stats.audit_hit_rate,
        "jobs": args.jobs,
        "cold_s": stats.seconds,
        "cold_cpu_s": cold_cpu,
        "warm_s": warm.stats.seconds,
        "warm_refs_from_cache": warm.stats.refs_from_cache,
        "warm_cli_s": warm_cli,
        "audit_one_script_s": audit_median,
        "audit_one_script_cpu_s": audit_cpu,
        "gate_one_ref_s": gate_median,
        "gate_one_ref_cpu_s": gate_cpu,
        "gate_cli_s": gate_cli,
        "audit_cli_s": audit_cli,
        "cold_per_distinct_script_s": per_script,
        "cold_cpu_per_distinct_script_s": cold_cpu / stats.audits_run,
        "cold_per_ref_s": stats.seconds / args.refs,
        "warm_per_ref_s": warm.stats.seconds / args.refs,
        "verdicts": verdicts,
    }
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"Machine: {cpus} CPUs, Python {platform.python_version()}, {platform.platform()}, "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}; load average {load_before:.2f} -> "
        f"{load_after:.2f}; verdicts {verdicts}"
    )
    print()
    print("| what | seconds | per ref s | per distinct script s |")
    print("|---|---|---|---|")
    rows = [
        (f"cold sweep, --jobs {args.jobs} (wall)", stats.seconds),
        (f"cold sweep, --jobs {args.jobs} (CPU, workers included)", cold_cpu),
        (f"warm sweep, --jobs {args.jobs}", warm.stats.seconds),
        (f"warm `pgolf sweep -f json` (fresh interpreter, --jobs {args.jobs})", warm_cli),
    ]
    for what, seconds in rows:
        print(
            f"| {what} | **{seconds:.2f}** | {seconds / args.refs:.4f} | "
            f"{seconds / stats.audits_run:.3f} |"
        )
    print(
        f"| audit of one script, in-process (median of {len(audit_s)}; CPU {audit_cpu:.3f}) | "
        f"**{audit_median:.3f}** | | |"
    )
    print(
        f"| run_gate on one ref, in-process (median of {len(gate_s)}; CPU {gate_cpu:.3f}) | "
        f"**{gate_median:.3f}** | | |"
    )
    print(f"| `pgolf gate -f json` (fresh interpreter) | **{gate_cli:.2f}** | | |")
    print(f"| `pgolf audit -f json` of one script (fresh interpreter) | **{audit_cli:.2f}** | | |")
    print()
    print(
        f"Cache: cold {stats.audits_run} audits run, {stats.audits_reused} reused (hit rate "
        f"{stats.audit_hit_rate:.0%}); warm {warm.stats.refs_from_cache}/{args.refs} refs from "
        "the cache, 0 audits."
    )
    print(
        f"Cold sweep per distinct script / one audit: wall {per_script / audit_median:.2f}x, "
        f"CPU {cold_cpu / stats.audits_run / audit_cpu:.2f}x (target <= 1)"
    )
    print(
        f"Per ref / one run_gate: cold {stats.seconds / args.refs / gate_median:.2f}x wall, "
        f"{cold_cpu / args.refs / gate_cpu:.2f}x CPU; warm "
        f"{warm.stats.seconds / args.refs / gate_median:.4f}x; warm sweep of {args.refs} refs: "
        f"{warm.stats.seconds:.2f} s in-process, {warm_cli:.2f} s as a command (target < 30 s)"
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
