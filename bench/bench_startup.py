"""Wall time of short ``pgolf`` commands, start-up included, with two checkouts, interleaved.

A command starts a fresh interpreter that imports the whole command tree before it runs:
``pgolf --help`` measures that start alone, ``pgolf audit FILE`` the start plus one audit (the
rule catalogue's import and the first audit's warm-up). Runs alternate between the checkouts so
machine noise hits both alike. Usage (from the repository root):

    .venv/bin/python bench/bench_startup.py --before ../old-checkout --after . \\
        --script ../shared/data/parameter-golf-baseline/train_gpt.py --repeat 9
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bench_common import checkouts_parser, interleaved, load_avg, run_in_checkout


def main() -> None:
    parser = checkouts_parser(__doc__.splitlines()[0], repeat=9)
    parser.add_argument("--script", type=Path, required=True, help="a train_gpt.py to audit")
    args = parser.parse_args()
    commands = {
        "pgolf --help": ["--help"],
        "pgolf audit SCRIPT": ["audit", str(args.script.resolve())],
    }
    print("| command | before (s) | after (s) | after / before |")
    print("|---|---|---|---|")
    for label, arguments in commands.items():
        command = ["-m", "pgolf_cli", *arguments]

        def once(name: str, command: list[str] = command) -> float:
            return run_in_checkout(getattr(args, name), command, check=False, quiet=True)

        times = interleaved(args.repeat, once)
        before, after = statistics.median(times["before"]), statistics.median(times["after"])
        print(f"| `{label}` | {before:.2f} | {after:.2f} | {after / before:.2f} |")
    print(
        f"\nmedians of {args.repeat} runs each; load average (1 min) at the end: {load_avg():.2f}"
    )


if __name__ == "__main__":
    main()
