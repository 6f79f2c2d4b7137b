"""Audit a records tree with two checkouts of pgolf, interleaved, and compare the wall time.

Each run is a fresh interpreter whose ``PYTHONPATH`` puts that checkout first, auditing every
record folder with ``audit_paths(..., jobs=1)``; runs alternate between the checkouts so machine
noise hits both alike. Usage (from the repository root):

    .venv/bin/python bench/compare_tree.py --before ../old-checkout --after . \\
        --records ../shared/data/parameter-golf-records-full --repeat 2
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bench_common import checkouts_parser, interleaved, run_in_checkout

_RUN = (
    "import sys; from pathlib import Path; from pgolf_cli.audit.engine import audit_paths; "
    "root = Path(sys.argv[1]); "
    "audit_paths(sorted(p for p in root.glob('*/*') if p.is_dir()), jobs=1)"
)


def main() -> None:
    parser = checkouts_parser(__doc__.splitlines()[0], repeat=2)
    parser.add_argument("--records", type=Path, required=True, help="a records tree (track/folder)")
    args = parser.parse_args()
    records = str(args.records.resolve())
    times = interleaved(
        args.repeat, lambda name: run_in_checkout(getattr(args, name), ["-c", _RUN, records])
    )
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    print("| checkout | runs (s) | median (s) |")
    print("|---|---|---|")
    for name in ("before", "after"):
        runs = ", ".join(f"{t:.1f}" for t in times[name])
        print(f"| {name} | {runs} | {statistics.median(times[name]):.1f} |")
    print(f"\nafter / before: {after / before:.2f}")


if __name__ == "__main__":
    main()
