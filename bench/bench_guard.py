"""What the hostile-input guard costs a normal script.

The guard (``pgolf_cli.audit.guard``) parses with CPython before libcst and measures the tree's
depth; the engine runs each unit of work in a forked worker with a time and memory limit. The
CPython parse is not new work: the statement positions parsed with CPython after libcst before,
and now reuse the guard's tree. So the guard adds the depth walk, and the worker adds a fork and
a pipe per unit. This script measures both on generated scripts (``gen_scripts.py``):

- ``parse`` pairs, interleaved: before = ``libcst.parse_module`` + ``ast.parse`` (what the engine
  did), after = ``guard.parse`` (``ast.parse``, the depth walk, ``libcst.parse_module``);
- the depth walk alone, and ``audit_file`` for scale;
- ``audit_paths([file], jobs=1)`` (in a worker) against ``audit_file`` (in process).

CPU times (``time.process_time``) are reported next to wall times: they do not count other work
on the machine, but the worker's CPU is not the caller's, so the worker comparison is wall time.

Usage (from the repository root):
    .venv/bin/python bench/bench_guard.py                 # 3 scripts of 60 KiB, 7 repeats
    .venv/bin/python bench/bench_guard.py --size-kb 150 --repeat 5
"""

from __future__ import annotations

import argparse
import ast
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gen_scripts
import libcst

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from pgolf_cli.audit import guard  # noqa: E402
from pgolf_cli.audit.engine import AuditOptions, audit_file, audit_paths  # noqa: E402


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one call, after a collection so earlier garbage is not billed."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _median(pairs: list[tuple[float, float]], index: int) -> float:
    return statistics.median(p[index] for p in pairs)


def _row(path: Path, repeat: int) -> str:
    """One table row: the medians of ``repeat`` interleaved rounds on ``path``."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    options = AuditOptions()
    calls: dict[str, Callable[[], object]] = {
        "before": lambda: (libcst.parse_module(text), ast.parse(text)),
        "after": lambda: guard.parse(text),
        "walk": lambda: guard._too_deep(tree),
        "audit": lambda: audit_file(path, options),
        "worker": lambda: audit_paths([path], options, jobs=1),
    }
    for call in calls.values():
        call()  # warm-up
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            times[name].append(_timed(call))

    def cell(name: str, digits: int = 1) -> str:
        return f"{_median(times[name], 0):.{digits}f} ({_median(times[name], 1):.{digits}f})"

    share = _median(times["walk"], 1) / _median(times["audit"], 1)
    return (
        f"| {path.name} | {len(text.encode()) / 1024:.0f} | {cell('before')} | {cell('after')} "
        f"| {cell('walk', 2)} | {cell('audit')} | {share:.1%} "
        f"| {_median(times['worker'], 0):.1f} | {_median(times['audit'], 0):.1f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=3)
    parser.add_argument("--size-kb", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        "| file | KiB | before: libcst + ast ms (CPU) | after: guard.parse ms (CPU) | "
        "depth walk ms (CPU) | audit_file ms (CPU) | walk / audit CPU | audit_paths jobs=1 "
        "(worker) ms | audit_file (in process) ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for path in gen_scripts.write_scripts(Path(tmp), args.files, args.seed, args.size_kb):
            print(_row(path, args.repeat), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
