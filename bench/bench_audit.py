"""Benchmark ``pgolf audit`` against the cost of parsing the same code with libcst.

Parsing with libcst is the floor: the engine cannot be cheaper than the parse it is built on,
so every result is reported as a ratio to ``libcst.parse_module`` measured in the same run.

(a) per file: ``audit_file`` vs ``libcst.parse_module`` on generated ~150 KiB scripts, interleaved
    (parse, audit, parse, audit, ...) so machine noise hits both sides alike; medians of --repeat.
(b) a directory of --dir-files such scripts: ``audit_paths`` with jobs=1 and jobs=2 vs parsing
    every file serially with libcst.
(c) with --records DIR: (a) on every ``train_gpt.py`` of a records tree (the real scripts), and
    ``audit_paths`` of the whole tree (records folders: entry points and the files they follow)
    with jobs=1 vs parsing its Python files serially.

Usage (from the repository root):
    .venv/bin/python bench/bench_audit.py                 # both benchmarks, markdown tables
    .venv/bin/python bench/bench_audit.py --json out.json # also write the numbers as JSON
    .venv/bin/python bench/bench_audit.py --profile       # cProfile of one audit_file call only
    .venv/bin/python bench/bench_audit.py --profile FILE  # ... of FILE (e.g. a record's script)
    .venv/bin/python bench/bench_audit.py --breakdown FILE --repeat 5  # ms per stage and rule
    .venv/bin/python bench/bench_audit.py --records ../shared/data/parameter-golf-records-full \
        --repeat 3                                        # the real record scripts
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import gc
import importlib.metadata
import io
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import gen_scripts
import libcst

if TYPE_CHECKING:
    from pgolf_cli.audit.findings import AuditReport

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FileTiming:
    path: str
    size_kib: float
    parse_ms: float
    audit_ms: float
    ratio: float
    """Median of the per-repeat audit/parse ratios (each pair ran back to back)."""


@dataclass(frozen=True)
class DirTiming:
    label: str
    seconds: float
    ratio_to_parse: float


def _use_this_checkout() -> None:
    # Measure the engine of this checkout, not whatever pgolf the interpreter has installed.
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def _timed(fn: Callable[[], object]) -> float:
    # Collect first so a collection triggered by the previous call's garbage is not billed here.
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _machine() -> dict[str, str]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus": str(affinity),
        "python": platform.python_version(),
        "libcst": importlib.metadata.version("libcst"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "load_avg_1m_at_start": f"{_load():.2f}",
    }


def _load() -> float:
    # Other work on the machine inflates every number; the load average says how much there was.
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def bench_files(paths: Sequence[Path], repeat: int) -> list[FileTiming]:
    from pgolf_cli.audit.engine import AuditOptions, audit_file
    from pgolf_cli.audit.source import read_source

    options = AuditOptions()
    timings = []
    for path in paths:
        # The floor is parsing the code the audit reads: a packed script's decoded text.
        source = read_source(path).text
        # Warm-up: first calls pay for imports, rule registry loading and cold caches.
        libcst.parse_module(source)
        audit_file(path, options)
        parse_s: list[float] = []
        audit_s: list[float] = []
        for _ in range(repeat):
            parse_s.append(_timed(partial(libcst.parse_module, source)))
            audit_s.append(_timed(partial(audit_file, path, options)))
        timings.append(
            FileTiming(
                path=path.name
                if path.name != "train_gpt.py"
                else f"{path.parent.name}/{path.name}",
                size_kib=path.stat().st_size / 1024,
                parse_ms=1000 * statistics.median(parse_s),
                audit_ms=1000 * statistics.median(audit_s),
                ratio=statistics.median(a / p for a, p in zip(audit_s, parse_s, strict=True)),
            )
        )
    return timings


def _parse_all(paths: Sequence[Path]) -> None:
    for path in paths:
        libcst.parse_module(path.read_text(encoding="utf-8"))


def bench_directory(
    directory: Path, repeat: int, jobs: Sequence[int]
) -> tuple[list[DirTiming], AuditReport]:
    """Returns the timings and the report of the last audit run (for the sanity summary)."""
    from pgolf_cli.audit.engine import AuditOptions, audit_paths

    paths = sorted(directory.glob("*.py"))
    options = AuditOptions()
    samples: dict[str, list[float]] = {"parse": []}
    report: AuditReport | None = None
    for _ in range(repeat):
        samples["parse"].append(_timed(partial(_parse_all, paths)))
        for j in jobs:
            start = time.perf_counter()
            report = audit_paths([directory], options, jobs=j)
            samples.setdefault(f"jobs={j}", []).append(time.perf_counter() - start)
    assert report is not None  # repeat >= 1 and jobs is non-empty
    parse = statistics.median(samples["parse"])
    rows = [DirTiming(f"libcst.parse_module, serial, {len(paths)} files", parse, 1.0)]
    for j in jobs:
        seconds = statistics.median(samples[f"jobs={j}"])
        rows.append(DirTiming(f"audit_paths jobs={j}", seconds, seconds / parse))
    return rows, report


def record_scripts(root: Path) -> list[Path]:
    """The main script of each records folder under ``root`` (a folder holding ``.py`` files):
    its ``train_gpt.py``, else its largest ``train*.py`` (``train_gpt_v5.py``, ``train_mdlm.py``)."""
    out: list[Path] = []
    for folder in sorted({p.parent for p in root.rglob("*.py")}):
        named = folder / "train_gpt.py"
        candidates = sorted(folder.glob("train*.py"), key=lambda p: (-p.stat().st_size, p.name))
        if named.is_file():
            out.append(named)
        elif candidates:
            out.append(candidates[0])
    return out


def bench_tree(root: Path, repeat: int) -> tuple[list[DirTiming], AuditReport]:
    """``audit_paths`` of a records tree (jobs=1) vs parsing its Python files serially; also
    the report of the last audit (for the findings summary)."""
    from pgolf_cli.audit.engine import AuditOptions, audit_paths

    paths = sorted(root.rglob("*.py"))
    parse_s: list[float] = []
    audit_s: list[float] = []
    reports: list[AuditReport] = []
    for _ in range(repeat):
        parse_s.append(_timed(partial(_parse_all, paths)))
        audit_s.append(_timed(lambda: reports.append(audit_paths([root], AuditOptions(), jobs=1))))
    parse = statistics.median(parse_s)
    audit = statistics.median(audit_s)
    rows = [
        DirTiming(f"libcst.parse_module, serial, {len(paths)} files", parse, 1.0),
        DirTiming("audit_paths jobs=1 (records folders)", audit, audit / parse),
    ]
    return rows, reports[-1]


def _findings_summary(report: AuditReport) -> tuple[int, int, dict[str, int]]:
    """(files audited, files with an error, findings per rule id)."""
    errors = sum(1 for f in report.files if f.error is not None)
    per_rule = Counter(f.rule_id for f in report.findings)
    return len(report.files), errors, dict(sorted(per_rule.items()))


def breakdown(path: Path, repeat: int) -> list[tuple[str, float]]:
    """Median seconds of each stage of the engine's pipeline, run stage by stage like audit_file
    (without the cyclic garbage collector, as the engine runs).

    Facts computed lazily (cached properties) are billed to the first rule that asks for them.
    """
    from pgolf_cli.audit.engine import _CollectorPaused

    samples: defaultdict[str, list[float]] = defaultdict(list)
    for _ in range(repeat):
        gc.collect()
        with _CollectorPaused():
            _stages(path, samples)
    return [(stage, statistics.median(times)) for stage, times in samples.items()]


def _stages(path: Path, samples: defaultdict[str, list[float]]) -> None:
    """One audit of ``path``, stage by stage: each stage's seconds appended to ``samples``."""
    from pgolf_cli.audit import guard, suppress
    from pgolf_cli.audit.facts import Facts
    from pgolf_cli.audit.positions import skeleton, statement_lines
    from pgolf_cli.audit.registry import all_rules
    from pgolf_cli.audit.source import read_source

    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        samples[stage].append(now - clock)
        clock = now

    source = read_source(path)
    lap("load (read, unpack wrappers)")
    suppress.parse(source.text)
    lap("suppression comments")
    layout = None
    try:
        tree: ast.Module | None = guard.python_tree(source.text)
    except guard.Refused:
        tree = None  # a newer Python's grammar: measured, and its lines found, on tokens
    lap("guard: CPython's parse (ast)")
    if tree is not None:
        guard._too_deep(tree)
    else:
        layout = guard._shallow(source.text)
    lap("guard: nesting depth")
    statements = skeleton(tree) if tree is not None else None
    del tree  # as the guard does: its memory serves libcst's parse
    lap("guard: statements kept, tree freed")
    module = libcst.parse_module(source.text)
    lap("libcst.parse_module")
    lines = statement_lines(module, source.text, statements, layout)
    lap("statement positions")
    facts = Facts(module, lines, source.text)
    lap("facts pre-pass")
    for rule in all_rules():
        if not rule.id.startswith("PG9"):
            list(rule().run(facts, None))
            lap(f"rule {rule.id}")


def profile_one(path: Path, top: int = 25) -> str:
    from pgolf_cli.audit.engine import AuditOptions, audit_file

    options = AuditOptions()
    audit_file(path, options)  # profile the steady state, not the first-call imports
    profiler = cProfile.Profile()
    profiler.enable()
    audit_file(path, options)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render(
    machine: dict[str, str],
    files: Sequence[FileTiming],
    stages: Sequence[tuple[str, float]],
    directory: Sequence[DirTiming],
    summary: tuple[int, int, dict[str, int]] | None,
    repeat: int,
    dir_repeat: int,
    *,
    files_table: bool = True,
) -> str:
    out = [
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}, libcst {machine['libcst']}, "
        f"{machine['platform']}",
        "",
    ]
    if files and files_table:
        rows = [
            [
                f.path,
                f"{f.size_kib:.0f}",
                f"{f.parse_ms:.0f}",
                f"{f.audit_ms:.0f}",
                f"{f.ratio:.2f}",
            ]
            for f in files
        ]
        if len(files) > 10:
            # A records tree: the worst files, then the summary rows.
            worst = sorted(files, key=lambda f: f.ratio, reverse=True)
            over = sum(1 for f in files if f.ratio > 1.5)
            rows = [r for f in worst[:5] for r in rows if r[0] == f.path][:5]
            rows.append([f"files over 1.5x: {over} of {len(files)}", "", "", "", ""])
        rows.append(
            [
                "**median**",
                "",
                f"{statistics.median(f.parse_ms for f in files):.0f}",
                f"{statistics.median(f.audit_ms for f in files):.0f}",
                f"**{statistics.median(f.ratio for f in files):.2f}**",
            ]
        )
        out.append(f"Per file (median of {repeat} interleaved repeats):")
        out.append("")
        out.append(
            _table(["file", "KiB", "libcst parse ms", "audit_file ms", "audit / parse"], rows)
        )
        out.append("")
    if stages:
        total = sum(sec for _, sec in stages)
        # The bound is on the audit against libcst's parse: each stage as a fraction of it.
        parse = dict(stages).get("libcst.parse_module") or float("nan")
        rows = [
            [stage, f"{1000 * sec:.1f}", f"{100 * sec / total:.0f}%", f"{sec / parse:.3f}"]
            for stage, sec in stages
        ]
        rows.append(["**sum of stages**", f"{1000 * total:.1f}", "100%", f"{total / parse:.2f}"])
        out.append(f"Breakdown of {files[0].path if files else 'one file'} (median of {repeat}):")
        out.append("")
        out.append(_table(["stage", "ms", "share", "/ parse"], rows))
        out.append("")
    if directory:
        rows = [[d.label, f"{d.seconds:.2f}", f"{d.ratio_to_parse:.2f}"] for d in directory]
        out.append(f"Directory (median of {dir_repeat}):")
        out.append("")
        out.append(_table(["run", "wall s", "vs serial parse"], rows))
        by_label = {d.label: d.seconds for d in directory}
        if "audit_paths jobs=1" in by_label and "audit_paths jobs=2" in by_label:
            speedup = by_label["audit_paths jobs=1"] / by_label["audit_paths jobs=2"]
            out.append("")
            out.append(f"jobs=2 speed-up over jobs=1: {speedup:.2f}x")
        out.append("")
    out.append(
        f"Load average (1 min): {machine['load_avg_1m_at_start']} at start, {_load():.2f} at end"
    )
    out.append("")
    if summary is not None:
        n_files, n_errors, per_rule = summary
        rules = ", ".join(f"{k}: {v}" for k, v in per_rule.items()) or "none"
        out.append(
            f"Sanity: {n_files} files audited, {n_errors} with an error; findings by rule: {rules}"
        )
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark pgolf audit against libcst parsing.")
    parser.add_argument("--size-kb", type=float, default=150.0, help="size of each script (KiB)")
    parser.add_argument("--files", type=int, default=3, help="scripts for the per-file benchmark")
    parser.add_argument("--repeat", type=int, default=7, help="interleaved repeats per file")
    parser.add_argument("--dir-files", type=int, default=80, help="scripts in the directory run")
    parser.add_argument("--dir-repeat", type=int, default=1, help="repeats of the directory run")
    parser.add_argument(
        "--jobs", type=int, nargs="+", default=[1, 2], help="jobs values for audit_paths"
    )
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--skip-files", action="store_true", help="skip the per-file benchmark")
    parser.add_argument("--skip-dir", action="store_true", help="skip the directory benchmark")
    parser.add_argument("--workdir", type=Path, help="keep generated scripts here (default: temp)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--records",
        type=Path,
        metavar="DIR",
        help="benchmark the train_gpt.py scripts of this records tree instead of generated ones",
    )
    parser.add_argument(
        "--breakdown",
        type=Path,
        metavar="FILE",
        help="only time each stage of auditing FILE (guard, parse, positions, facts, each "
        "rule), median of --repeat",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="only profile one audit_file call (of FILE, or of a generated script) and print "
        "the top 25 cumulative entries",
    )
    ns = parser.parse_args(argv)
    if ns.repeat < 1 or ns.dir_repeat < 1 or ns.files < 1 or ns.dir_files < 1:
        parser.error("--repeat, --dir-repeat, --files and --dir-files must be at least 1")

    _use_this_checkout()
    with tempfile.TemporaryDirectory(prefix="pgolf-bench-") as tmp:
        work = ns.workdir or Path(tmp)
        if ns.profile is not None:
            if ns.profile:
                path = Path(ns.profile)
            else:
                (path,) = gen_scripts.write_scripts(work / "profile", 1, ns.seed, ns.size_kb)
            print(profile_one(path), end="")
            return 0
        machine = _machine()
        if ns.breakdown is not None:
            steps = breakdown(ns.breakdown, ns.repeat)
            timing = FileTiming(str(ns.breakdown), ns.breakdown.stat().st_size / 1024, 0, 0, 0)
            print(render(machine, [timing], steps, [], None, ns.repeat, 0, files_table=False))
            return 0
        files: list[FileTiming] = []
        directory: list[DirTiming] = []
        stages: list[tuple[str, float]] = []
        summary = None
        if ns.records is not None:
            paths = record_scripts(ns.records)
            print(f"records: {len(paths)} scripts x {ns.repeat} repeats ...", file=sys.stderr)
            files = bench_files(paths, ns.repeat)
            if not ns.skip_dir:
                directory, report = bench_tree(ns.records, ns.dir_repeat)
                summary = _findings_summary(report)
        elif not ns.skip_files:
            paths = gen_scripts.write_scripts(work / "files", ns.files, ns.seed, ns.size_kb)
            print(f"per-file: {len(paths)} scripts x {ns.repeat} repeats ...", file=sys.stderr)
            files = bench_files(paths, ns.repeat)
            stages = breakdown(paths[0], ns.repeat)
        if not ns.skip_dir and ns.records is None:
            # A different seed from the per-file scripts, so the two sets share nothing.
            dir_path = work / "dir"
            gen_scripts.write_scripts(dir_path, ns.dir_files, ns.seed + 1, ns.size_kb)
            print(f"directory: {ns.dir_files} scripts, jobs {ns.jobs} ...", file=sys.stderr)
            directory, report = bench_directory(dir_path, ns.dir_repeat, ns.jobs)
            summary = _findings_summary(report)
        print(render(machine, files, stages, directory, summary, ns.repeat, ns.dir_repeat), end="")
        if ns.json is not None:
            payload = {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "load_avg_1m_at_end": round(_load(), 2),
                "machine": machine,
                "params": {
                    "size_kb": ns.size_kb,
                    "files": ns.files,
                    "repeat": ns.repeat,
                    "dir_files": ns.dir_files,
                    "dir_repeat": ns.dir_repeat,
                    "jobs": ns.jobs,
                    "seed": ns.seed,
                },
                "per_file": [asdict(f) for f in files],
                "breakdown_ms": {stage: 1000 * sec for stage, sec in stages},
                "directory": [asdict(d) for d in directory],
                "sanity": None
                if summary is None
                else {"files": summary[0], "errors": summary[1], "findings_by_rule": summary[2]},
            }
            ns.json.parent.mkdir(parents=True, exist_ok=True)
            ns.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
