"""Fuzz the audit with generated, syntactically valid Python programs (hypothesmith).

Every program hypothesmith generates compiles, so the audit must end in a report for it: no
exception, no tool error (``FileResult.error``), and no PG901 (CPython accepts the code). A
program that hits one of the audit's bounds (PG906) is counted apart: it is a refusal, not a
crash. Crashes are collected rather than stopping the run, grouped by where in pgolf they were
raised, and written with their programs to ``--json`` so each one can become a regression test.

Usage (from the repository root):
    .venv/bin/python bench/fuzz_audit.py --examples 10000 --json bench/out/fuzz.json
    .venv/bin/python bench/fuzz_audit.py --examples 5000 --seed 1   # another 5,000 programs
    .venv/bin/python bench/fuzz_audit.py --examples 500 --strategy node
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import hypothesmith
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    # Fuzz the engine of this checkout, not whatever pgolf the interpreter has installed.
    sys.path.insert(0, str(REPO_ROOT))

from pgolf_cli.audit.engine import audit_source  # noqa: E402
from pgolf_cli.audit.source import source_from_bytes  # noqa: E402


@dataclass
class Crash:
    signature: str
    """Exception type and the innermost pgolf frame that raised it."""
    error: str
    program: str


@dataclass
class Tally:
    programs: int = 0
    skipped: int = 0
    """Programs that are not UTF-8 encodable text (lone surrogates): not Python source files."""
    refused: int = 0
    crashes: list[Crash] = field(default_factory=list)
    slowest_s: float = 0.0
    slowest_program: str = ""


def _signature(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "pgolf_cli" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    cause = error.__cause__ if error.__cause__ is not None else error
    if cause is not error:
        inner = [f for f in traceback.extract_tb(cause.__traceback__) if "pgolf" in f.filename]
        if inner:
            where = f"{Path(inner[-1].filename).name}:{inner[-1].lineno}"
    return f"{type(cause).__name__} at {where}"


def audit_one(program: str, tally: Tally) -> None:
    try:
        data = program.encode("utf-8")
    except UnicodeEncodeError:
        tally.skipped += 1
        return
    tally.programs += 1
    start = time.perf_counter()
    try:
        result = audit_source(source_from_bytes("fuzz.py", data))
    except Exception as error:  # the point of the run: record it and go on
        tally.crashes.append(Crash(_signature(error), repr(error)[:500], program))
        return
    finally:
        spent = time.perf_counter() - start
        if spent > tally.slowest_s:
            tally.slowest_s, tally.slowest_program = spent, program
    if result.error is not None:
        signature = result.error.split("(", 1)[0].split(":", 1)[-1].strip()
        tally.crashes.append(Crash(signature, result.error[:500], program))
    elif any(f.rule_id == "PG901" for f in result.findings):
        message = next(f.message for f in result.findings if f.rule_id == "PG901")
        tally.crashes.append(Crash("PG901 on code CPython compiles", message, program))
    elif any(f.rule_id == "PG906" for f in result.findings):
        tally.refused += 1


def run(
    examples: int, strategy: str, seed: int, progress: Callable[[Tally], None] | None = None
) -> Tally:
    tally = Tally()
    strategies = {
        "grammar": hypothesmith.from_grammar(),
        "node": hypothesmith.from_node(),
    }
    chosen = (
        st.one_of(strategies["grammar"], strategies["node"])
        if strategy == "both"
        else strategies[strategy]
    )

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # count programs; shrinking happens when writing the test
        suppress_health_check=list(HealthCheck),
    )
    @given(chosen)
    def fuzz(program: str) -> None:
        audit_one(program, tally)
        if progress is not None and tally.programs % 250 == 0:
            progress(tally)

    fuzz()
    return tally


def _document(args: argparse.Namespace, tally: Tally, seconds: float, done: bool) -> str:
    by_signature = Counter(c.signature for c in tally.crashes)
    return json.dumps(
        {
            "examples": args.examples,
            "strategy": args.strategy,
            "seed": args.seed,
            "finished": done,
            "seconds": seconds,
            "programs": tally.programs,
            "skipped": tally.skipped,
            "refused": tally.refused,
            "slowest_s": tally.slowest_s,
            "crashes_by_signature": dict(by_signature),
            # The smallest program of each signature: the regression example to write.
            "examples_by_signature": {
                sig: min(
                    (c for c in tally.crashes if c.signature == sig), key=lambda c: len(c.program)
                ).program
                for sig in by_signature
            },
            "crashes": [asdict(c) for c in tally.crashes],
        },
        indent=1,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--strategy", choices=("grammar", "node", "both"), default="grammar")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="written every 250 programs too")
    args = parser.parse_args(argv)
    start = time.perf_counter()

    def save(tally: Tally, done: bool = False) -> None:
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            text = _document(args, tally, time.perf_counter() - start, done)
            args.json.write_text(text, encoding="utf-8")

    tally = run(args.examples, args.strategy, args.seed, save)
    seconds = time.perf_counter() - start
    save(tally, done=True)
    by_signature = Counter(c.signature for c in tally.crashes)
    print(f"programs audited: {tally.programs} (skipped, not UTF-8 text: {tally.skipped})")
    print(
        f"crashes: {len(tally.crashes)} in {len(by_signature)} places; "
        f"refused (PG906): {tally.refused}"
    )
    for signature, count in by_signature.most_common():
        print(f"  {count:5d}  {signature}")
    print(f"time: {seconds:.0f} s ({1000 * seconds / max(tally.programs, 1):.1f} ms per program)")
    print(f"slowest audit: {tally.slowest_s * 1000:.0f} ms ({len(tally.slowest_program)} chars)")
    return 1 if tally.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
