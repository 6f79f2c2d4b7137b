"""Replay the challenge's leaderboard through ``pgolf gate``: every merged record as its own PR.

A real git repository is built in a temporary folder: a first commit shaped like the challenge
repository (a root README.md and train_gpt.py), then one commit per merged record folder of
``../shared/data/parameter-golf-records-full`` in date order (the date in the folder name, then
the name), each adding its folder under ``records/<track>/`` on top of the earlier ones. The
gate then runs on every commit with ``--base`` its parent, as CI would have run it on that pull
request, and the verdict and the error and warning reason ids of each are collected.

The expected table (``tests/gate/replay_expected.json``) is what the shared replay test asserts;
``docs/accuracy.md``'s "## Gate" section is generated from the same run.

Usage (from the repository root):
    .venv/bin/python bench/gate_replay.py                   # print the table and the timing
    .venv/bin/python bench/gate_replay.py --write-expected  # rewrite the expected verdicts
    .venv/bin/python bench/gate_replay.py --write-docs      # rewrite docs/accuracy.md "## Gate"
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

RECORDS = REPO_ROOT.parent / "shared" / "data" / "parameter-golf-records-full"
TRACKS = ("track_10min_16mb", "track_non_record_16mb")
EXPECTED = REPO_ROOT / "tests" / "gate" / "replay_expected.json"
ACCURACY = REPO_ROOT / "docs" / "accuracy.md"
SECTION = "## Gate"
COMMAND = "python bench/gate_replay.py --write-expected --write-docs"
_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "replay",
    "GIT_AUTHOR_EMAIL": "replay@example.invalid",
    "GIT_COMMITTER_NAME": "replay",
    "GIT_COMMITTER_EMAIL": "replay@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


@dataclass(frozen=True, slots=True)
class Row:
    """The gate's verdict on one folder's pull request."""

    folder: str
    track: str
    verdict: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    why: tuple[str, ...]
    """One line per error reason: its id and message (what rule it breaks, with the evidence)."""
    seconds: float


def folders(records: Path) -> list[tuple[str, Path]]:
    """(track, folder) of every merged record, in date order (folder-name date, then name)."""
    found = [
        (track, path) for track in TRACKS for path in (records / track).iterdir() if path.is_dir()
    ]
    return sorted(found, key=lambda item: (item[1].name[:10], item[1].name, item[0]))


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, env=_ENV, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def build(repo: Path, records: Path) -> list[tuple[str, str, str]]:
    """The replay repository at ``repo``: (track, folder, commit) per record, in order."""
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# Parameter Golf (replay)\n", encoding="utf-8")
    (repo / "train_gpt.py").write_text("print('the baseline script')\n", encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "the challenge repository")
    commits = []
    for track, source in folders(records):
        target = repo / "records" / track / source.name
        shutil.copytree(source, target)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"Record: {source.name}")
        commits.append((track, source.name, _git(repo, "rev-parse", "HEAD")))
    return commits


def gate_one(repo: Path, track: str, folder: str, commit: str) -> Row:
    from pgolf_cli.audit.findings import Severity
    from pgolf_cli.gate.run import GateOptions, run_gate

    start = time.perf_counter()
    report = run_gate(repo, GateOptions(base=f"{commit}^", head=commit))
    seconds = time.perf_counter() - start
    errors = [r for r in report.reasons if r.severity == Severity.ERROR]
    return Row(
        folder=folder,
        track=track,
        verdict=report.verdict.value,
        errors=tuple(r.id for r in errors),
        warnings=tuple(r.id for r in report.reasons if r.severity == Severity.WARNING),
        why=tuple(f"{r.id}: {r.message}" for r in errors),
        seconds=seconds,
    )


def _gate_star(args: tuple[Path, str, str, str]) -> Row:
    return gate_one(*args)


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (workers, git)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def replay(records: Path, jobs: int = 1) -> tuple[list[Row], float]:
    """Build the replay repository and gate every commit; the rows and the wall time."""
    with tempfile.TemporaryDirectory(prefix="pgolf-replay-") as temporary:
        repo = Path(temporary) / "parameter-golf"
        start = time.perf_counter()
        commits = build(repo, records)
        work = [(repo, track, folder, commit) for track, folder, commit in commits]
        if jobs > 1:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                rows = list(pool.map(_gate_star, work))
        else:
            rows = [_gate_star(item) for item in work]
        return rows, time.perf_counter() - start


def expected(rows: Sequence[Row]) -> dict[str, dict[str, object]]:
    return {
        row.folder: {
            "verdict": row.verdict,
            "errors": list(row.errors),
            "warnings": list(row.warnings),
        }
        for row in rows
    }


# --------------------------------------------------------------------------------------------
# The docs section
# --------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _short(text: str, limit: int = 260) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(rows: Sequence[Row], wall: float, cpu: float, load: float, jobs: int) -> str:
    verdicts = Counter(row.verdict for row in rows)
    error_ids = Counter(reason for row in rows for reason in dict.fromkeys(row.errors))
    audit_fails = sum(1 for row in rows if any(e.startswith("audit.") for e in row.errors))
    other_fails = sum(1 for row in rows if any(not e.startswith("audit.") for e in row.errors))
    only_audit = sum(
        1 for row in rows if row.errors and all(e.startswith("audit.") for e in row.errors)
    )
    lines = [
        SECTION,
        "",
        f"Generated by `{COMMAND}` (the expected verdicts the shared test "
        "`tests/gate/test_gate_replay.py` asserts are rewritten by the same command).",
        "",
        f"The {len(rows)} merged record folders of `../shared/data/parameter-golf-records-full`, "
        "replayed in date order into a git repository, one commit per folder on top of the "
        "earlier ones; `pgolf gate --base <parent> --head <commit>` on each. The gate fails only "
        "for a rule the challenge enforces, broken by the folder's own evidence (see the README's "
        "gate policy); everything a maintainer weighs is needs-review.",
        "",
        f"- verdicts: {verdicts.get('pass', 0)} pass, {verdicts.get('needs-review', 0)} "
        f"needs-review, {verdicts.get('fail', 0)} fail",
        f"- failing folders with an audit error: {audit_fails}; with an error of another rule: "
        f"{other_fails}; failed by audit errors only: {only_audit} (these turn into "
        "needs-review or pass when the audit stops flagging them); without them, "
        f"{len(rows) - other_fails} of {len(rows)} folders pass or need review",
        "- error reasons (folders): "
        + (", ".join(f"`{k}` {v}" for k, v in sorted(error_ids.items())) or "none"),
        f"- cost of the whole replay (building the repository and 60 gate runs): "
        f"{cpu:.0f} s of CPU; {wall:.0f} s wall with {jobs} worker(s) at a load average of "
        f"{load:.1f} on {os.cpu_count()} CPUs (the slowest folder: "
        f"{max(r.seconds for r in rows):.1f} s wall)",
        "",
        "### Why each failing folder fails",
        "",
    ]
    for row in rows:
        if row.verdict != "fail":
            continue
        lines.append(f"- `{row.folder}`:")
        lines += [f"  - {_short(why)}" for why in row.why]
    lines += [
        "",
        "### Every folder",
        "",
        "| # | folder | track | verdict | errors | warnings |",
        "|---|---|---|---|---|---|",
    ]
    for number, row in enumerate(rows, start=1):
        track = "10min" if row.track == "track_10min_16mb" else "non-record"
        lines.append(
            f"| {number} | {_cell(row.folder)} | {track} | {row.verdict} | "
            f"{', '.join(row.errors) or '-'} | {', '.join(row.warnings) or '-'} |"
        )
    return "\n".join(lines) + "\n"


def write_docs(text: str) -> None:
    """Replace the "## Gate" section of docs/accuracy.md (to the end of the file), or append it."""
    old = ACCURACY.read_text(encoding="utf-8") if ACCURACY.exists() else "# Accuracy\n"
    at = old.find(f"\n{SECTION}\n")
    head = old if at == -1 else old[: at + 1]
    ACCURACY.write_text(head.rstrip("\n") + "\n\n" + text, encoding="utf-8")


def _table(rows: Sequence[Row]) -> Iterator[str]:
    for number, row in enumerate(rows, start=1):
        yield (
            f"{number:>2} {row.verdict:<12} {row.seconds:5.1f}s {row.folder[:60]:<60} "
            f"E: {','.join(row.errors) or '-'}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--records", type=Path, default=RECORDS)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--write-expected", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--json", type=Path, help="write every row (with timings) here")
    args = parser.parse_args(argv)
    if not args.records.is_dir():
        print(f"error: no record folders at {args.records}", file=sys.stderr)
        return 2
    load = os.getloadavg()[0]
    cpu_before = cpu_seconds()
    rows, wall = replay(args.records, jobs=args.jobs)
    cpu = cpu_seconds() - cpu_before
    for line in _table(rows):
        print(line)
    verdicts = Counter(row.verdict for row in rows)
    print(f"{dict(verdicts)}; wall {wall:.1f} s with {args.jobs} worker(s), CPU {cpu:.1f} s")
    if args.write_expected:
        EXPECTED.write_text(json.dumps(expected(rows), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {EXPECTED.relative_to(REPO_ROOT)}")
    if args.write_docs:
        write_docs(section(rows, wall, cpu, load, args.jobs))
        print(f"wrote {ACCURACY.relative_to(REPO_ROOT)} ({SECTION})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
