"""Audit a records tree with two checkouts of pgolf, interleaved, and compare the wall time.

Each run is a fresh interpreter whose ``PYTHONPATH`` puts that checkout first, auditing every
record folder with ``audit_paths(..., jobs=1)``; runs alternate between the checkouts so machine
noise hits both alike. Usage (from the repository root):

    .venv/bin/python bench/compare_tree.py --before ../old-checkout --after . \\
        --records ../shared/data/parameter-golf-records-full --repeat 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

_RUN = (
    "import sys; from pathlib import Path; from pgolf_cli.audit.engine import audit_paths; "
    "root = Path(sys.argv[1]); "
    "audit_paths(sorted(p for p in root.glob('*/*') if p.is_dir()), jobs=1)"
)


def _once(checkout: Path, records: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(checkout.resolve()))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _RUN, str(records.resolve())], env=env, check=True, cwd=checkout
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the baseline checkout")
    parser.add_argument("--after", type=Path, required=True, help="the checkout measured")
    parser.add_argument("--records", type=Path, required=True, help="a records tree (track/folder)")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved runs of each")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.repeat):
        for name in ("before", "after"):
            times[name].append(_once(getattr(args, name), args.records))
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    print("| checkout | runs (s) | median (s) |")
    print("|---|---|---|")
    for name in ("before", "after"):
        runs = ", ".join(f"{t:.1f}" for t in times[name])
        print(f"| {name} | {runs} | {statistics.median(times[name]):.1f} |")
    print(f"\nafter / before: {after / before:.2f}")


if __name__ == "__main__":
    main()
