"""Wall time of short ``pgolf`` commands, start-up included, with two checkouts, interleaved.

A command starts a fresh interpreter that imports the whole command tree before it runs:
``pgolf --help`` measures that start alone, ``pgolf audit FILE`` the start plus one audit (the
rule catalogue's import and the first audit's warm-up). Runs alternate between the checkouts so
machine noise hits both alike. Usage (from the repository root):

    .venv/bin/python bench/bench_startup.py --before ../old-checkout --after . \\
        --script ../shared/data/parameter-golf-baseline/train_gpt.py --repeat 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _once(checkout: Path, arguments: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(checkout.resolve()))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pgolf_cli", *arguments],
        env=env,
        cwd=checkout,
        stdout=subprocess.DEVNULL,
        check=False,  # an audit with findings exits 1
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the baseline checkout")
    parser.add_argument("--after", type=Path, required=True, help="the checkout measured")
    parser.add_argument("--script", type=Path, required=True, help="a train_gpt.py to audit")
    parser.add_argument("--repeat", type=int, default=9, help="interleaved runs of each")
    args = parser.parse_args()
    commands = {
        "pgolf --help": ["--help"],
        "pgolf audit SCRIPT": ["audit", str(args.script.resolve())],
    }
    print("| command | before (s) | after (s) | after / before |")
    print("|---|---|---|---|")
    for label, arguments in commands.items():
        times: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.repeat):
            for name in ("before", "after"):
                times[name].append(_once(getattr(args, name), arguments))
        before, after = statistics.median(times["before"]), statistics.median(times["after"])
        print(f"| `{label}` | {before:.2f} | {after:.2f} | {after / before:.2f} |")
    print(
        f"\nmedians of {args.repeat} runs each; load average (1 min) at the end: "
        f"{os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
