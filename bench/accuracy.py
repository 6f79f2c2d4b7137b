"""Audit accuracy on real submissions: the accepted record folders and the labelled corpus.

Every record folder under ``records/`` was accepted by the organizers, so an error there is a
false error; a warning is right only where a reviewer judged it so (``accuracy_review.json``).
Every corpus script is labelled legal or illegal (``labels.json``: categories, whether the
illegal path is on by default, evidence with approximate lines). A finding on an illegal file is
right when its rule is one the label's categories call for and it sits near a line the evidence
names (or the evidence names no line); a legal file must get no error, and a dormant illegal
path on it (``default_enabled: false``) must get a warning.

Usage (from the repository root; the data lives in ../shared, or pass --shared):
    .venv/bin/python bench/accuracy.py                    # docs/accuracy.md + bench/accuracy.json
    .venv/bin/python bench/accuracy.py --only VarLenAttn  # targets whose name contains a string
    .venv/bin/python bench/accuracy.py --write-expected   # also tests/checks/real/expected_*.json

The expected-findings files are what ``tests/checks/test_real_submissions.py`` checks exactly;
regenerate them with ``--write-expected`` after any rule change, and review the diff.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = REPO_ROOT.parent / "shared"
RECORDS = Path("data/parameter-golf-records-full")
CORPUS = Path("data/audit-corpus")
REVIEW = Path(__file__).resolve().parent / "accuracy_review.json"
GATE_SECTION = "\n## Gate"
EXPECTED_DIR = REPO_ROOT / "tests" / "checks" / "real"
EXPECTED_FILES = {"record": "expected_records.json", "corpus": "expected_corpus.json"}

#: The rules a label category calls for. A category not listed here names no statically
#: checkable mechanism (style of the script, legal shapes) and calls for none.
CATEGORY_RULES: dict[str, frozenset[str]] = {
    "prequant-ttt-on-val": frozenset({"PG101", "PG102", "PG105"}),
    "train-on-val": frozenset({"PG101", "PG105"}),
    "multi-epoch-ttt-score-last-epoch": frozenset({"PG102"}),
    "train-then-score-same-tokens": frozenset({"PG101", "PG102"}),
    "ngram-target-in-key": frozenset({"PG201", "PG205"}),
    "unnormalized-distribution": frozenset({"PG205"}),
    "slot-scored-region": frozenset({"PG202"}),
    "two-pass-rescoring": frozenset({"PG104"}),
    "post-ttt-rescore": frozenset({"PG104"}),
    "temperature-on-rescored": frozenset({"PG104"}),
    "oracle-min-over-targets": frozenset({"PG204"}),
    "calibration-on-val": frozenset({"PG106"}),
    "train-data-after-wallclock": frozenset({"PG402", "PG403"}),
}
#: How far (in lines) a finding may sit from a line the evidence names: the labels give
#: approximate lines ("~L825"), and a mechanism spans a function.
NEAR = 40
_EVIDENCE_LINE = re.compile(r"L(\d+)(?:\s*[-–]\s*L?(\d+))?")


@dataclass(frozen=True)
class Seen:
    """One finding as the accuracy table and the expected-findings files know it."""

    file: str
    """Path relative to the target (a record folder, or the corpus script's folder)."""
    rule: str
    line: int
    severity: str
    message: str
    evidence: tuple[int, ...] = ()
    """Lines of the same file the finding names as its evidence."""


@dataclass
class Verdict:
    seen: Seen
    right: bool | None
    """None: no reviewer has judged this warning yet."""
    why: str


@dataclass
class Target:
    kind: str  # "record" or "corpus"
    name: str
    findings: list[Seen]
    errors: list[str]
    label: dict[str, Any] | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    outcome: str = ""


def _seen(report: Any, root: Path) -> tuple[list[Seen], list[str]]:
    from pgolf_cli.audit.findings import Severity

    found: list[Seen] = []
    errors = list(report.errors)
    for result in report.files:
        rel = str(Path(result.path).resolve().relative_to(root.resolve()))
        if result.error is not None:
            errors.append(f"{rel}: {result.error}")
        for f in result.findings:
            if f.suppressed or f.severity == Severity.NOTE:
                continue
            evidence = tuple(e.line for e in f.evidence if e.path is None)
            found.append(Seen(rel, f.rule_id, f.line, f.severity.value, f.message, evidence))
    found.sort(key=lambda s: (s.file, s.line, s.rule))
    return found, errors


def audit_record(folder: str) -> tuple[list[Seen], list[str]]:
    """A record folder audited as ``pgolf audit DIR`` and ``pgolf verify`` audit it (a folder
    that ships no script, only its logs, has nothing to audit)."""
    from pgolf_cli.audit.engine import audit_paths

    if not any(Path(folder).rglob("*.py")):
        return [], []

    return _seen(audit_paths([Path(folder)], jobs=1), Path(folder))


def audit_script(path: str) -> tuple[list[Seen], list[str]]:
    """A corpus script audited on its own, as ``pgolf audit FILE``."""
    from pgolf_cli.audit.engine import audit_paths

    return _seen(audit_paths([Path(path)], jobs=1), Path(path).parent)


def _evidence_lines(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _EVIDENCE_LINE.finditer(text):
        start = int(match[1])
        end = int(match[2]) if match[2] else start
        spans.append((start, max(start, end)))
    return spans


def _near(line: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start - NEAR <= line <= end + NEAR for start, end in spans)


def expected_rules(label: dict[str, Any]) -> frozenset[str]:
    rules: set[str] = set()
    for category in label["categories"]:
        rules |= CATEGORY_RULES.get(category.removeprefix("dormant:"), frozenset())
    return frozenset(rules)


def _reviewed(review: dict[str, Any], target: Target, seen: Seen) -> Verdict | None:
    entry = review.get(target.name, {}).get(f"{seen.file}:{seen.rule}:{seen.line}")
    if entry is None:
        return None
    return Verdict(seen, entry["verdict"] == "right", entry["why"])


def judge(target: Target, review: dict[str, Any]) -> None:
    if target.kind == "record":
        _judge_record(target, review)
    else:
        _judge_corpus(target, review)


def _judge_record(target: Target, review: dict[str, Any]) -> None:
    for seen in target.findings:
        if seen.severity == "error":
            reviewed = _reviewed(review, target, seen)
            why = "an error on a folder the organizers accepted"
            if reviewed is not None:
                why += f": {reviewed.why}"
            target.verdicts.append(Verdict(seen, False, why))
            continue
        reviewed = _reviewed(review, target, seen)
        target.verdicts.append(reviewed or Verdict(seen, None, "warning not reviewed yet"))
    errors = sum(1 for s in target.findings if s.severity == "error")
    target.outcome = "false error" if errors or target.errors else "ok"


def _judge_corpus(target: Target, review: dict[str, Any]) -> None:
    label = target.label
    assert label is not None
    rules = expected_rules(label)
    spans = _evidence_lines(label["evidence"])
    illegal = label["label"] == "illegal"
    dormant = label["default_enabled"] is False
    # The label's mechanism: an illegal file's, or the dormant illegal path of a legal file.
    mechanism = illegal or dormant
    for seen in target.findings:
        lines = (seen.line, *seen.evidence)
        on_lines = not spans or any(_near(line, spans) for line in lines)
        if mechanism and seen.rule in rules:
            where = "on its lines" if on_lines else "away from the lines its evidence names"
            if seen.severity == "error" and (dormant or not illegal):
                why = (
                    f"the illegal mechanism ({where}), but off by default: a warning, not an error"
                )
                target.verdicts.append(Verdict(seen, False, why))
            else:
                how = "off by default" if dormant else "on by default"
                target.verdicts.append(
                    Verdict(seen, True, f"the labelled mechanism ({how}, {where})")
                )
            continue
        reviewed = _reviewed(review, target, seen)
        if reviewed is not None:
            target.verdicts.append(reviewed)
        elif seen.severity == "error" and not illegal:
            target.verdicts.append(Verdict(seen, False, "an error on a file labelled legal"))
        elif seen.severity == "error":
            why = "an error away from the labelled mechanism (rule or lines differ)"
            target.verdicts.append(Verdict(seen, None, why))
        else:
            target.verdicts.append(Verdict(seen, None, "warning not reviewed yet"))
    target.outcome = _corpus_outcome(target, rules, mechanism, illegal, dormant)


def _corpus_outcome(
    target: Target, rules: frozenset[str], mechanism: bool, illegal: bool, dormant: bool
) -> str:
    label = target.label
    assert label is not None
    if target.errors:
        return "not audited"
    errors = any(v.seen.severity == "error" and v.right is False for v in target.verdicts)
    hits = [v for v in target.verdicts if v.right and v.why.startswith("the labelled")]
    if illegal and not rules:
        return "undecidable from source" + (" (false error)" if errors else "")
    if not mechanism:
        return "false error" if errors else "ok"
    if not hits:
        return "missed" + (" (false error)" if errors else "")
    if illegal and not dormant and not any(v.seen.severity == "error" for v in hits):
        return "warned only (should be an error)"
    return "false error" if errors else "ok"


# ----------------------------------------------------------------------------------- targets


def record_folders(shared: Path) -> list[Path]:
    root = shared / RECORDS
    return sorted(
        p
        for track in sorted(root.iterdir())
        if track.is_dir()
        for p in track.iterdir()
        if p.is_dir()
    )


def corpus_labels(shared: Path) -> list[dict[str, Any]]:
    labels: list[dict[str, Any]] = json.loads((shared / CORPUS / "labels.json").read_text())
    return sorted(labels, key=lambda label: label["id"])


def collect(shared: Path, only: str | None, jobs: int) -> list[Target]:
    work: list[tuple[str, str, str, dict[str, Any] | None]] = []
    for folder in record_folders(shared):
        name = f"{folder.parent.name}/{folder.name}"
        work.append(("record", name, str(folder), None))
    for label in corpus_labels(shared):
        script = shared / CORPUS / label["id"] / "train_gpt.py"
        work.append(("corpus", label["id"], str(script), label))
    if only:
        work = [w for w in work if only in w[1]]
    targets: list[Target] = []
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [
            pool.submit(audit_record if kind == "record" else audit_script, path)
            for kind, _, path, _ in work
        ]
        for (kind, name, _, labelled), future in zip(work, futures, strict=True):
            found, errors = future.result()
            targets.append(Target(kind, name, found, errors, labelled))
            print(f"{kind} {name}: {len(found)} finding(s)", file=sys.stderr)
    return targets


# ----------------------------------------------------------------------------------- report


def summary(targets: Iterable[Target]) -> dict[str, Any]:
    targets = list(targets)
    records = [t for t in targets if t.kind == "record"]
    corpus = [t for t in targets if t.kind == "corpus"]
    illegal = [t for t in corpus if t.label and t.label["label"] == "illegal"]
    decidable = [t for t in illegal if t.label and expected_rules(t.label)]
    legal = [t for t in corpus if t.label and t.label["label"] == "legal"]
    dormant_legal = [t for t in legal if t.label and t.label["default_enabled"] is False]
    per_rule: dict[str, Counter[str]] = defaultdict(Counter)
    for target in targets:
        for v in target.verdicts:
            counts = per_rule[v.seen.rule]
            counts[v.seen.severity] += 1
            if v.right is True:
                counts[f"right {v.seen.severity}"] += 1
            elif v.right is False:
                counts[f"false {v.seen.severity}"] += 1
            else:
                counts[f"unreviewed {v.seen.severity}"] += 1
    for target in decidable:
        assert target.label is not None
        hit_rules = {
            v.seen.rule for v in target.verdicts if v.right and v.why.startswith("the labelled")
        }
        for rule in hit_rules:
            per_rule[rule]["files caught"] += 1
    return {
        "records": {
            "folders": len(records),
            "with an error": sum(1 for t in records if t.outcome != "ok"),
            "errors": sum(1 for t in records for s in t.findings if s.severity == "error"),
            "warnings": sum(1 for t in records for s in t.findings if s.severity == "warning"),
            "warnings unreviewed": sum(1 for t in records for v in t.verdicts if v.right is None),
            "warnings judged wrong": sum(
                1
                for t in records
                for v in t.verdicts
                if v.right is False and v.seen.severity == "warning"
            ),
        },
        "corpus": {
            "files": len(corpus),
            "illegal": len(illegal),
            "illegal decidable": len(decidable),
            "illegal caught": sum(
                1 for t in decidable if t.outcome.startswith(("ok", "false error", "warned only"))
            ),
            "illegal caught at the right severity": sum(1 for t in decidable if t.outcome == "ok"),
            "illegal caught on the labelled lines": sum(
                1 for t in decidable if any(v.right and "on its lines" in v.why for v in t.verdicts)
            ),
            "illegal missed": sorted(t.name for t in decidable if t.outcome.startswith("missed")),
            "legal": len(legal),
            "legal with an error": sorted(
                t.name for t in legal if any(v.seen.severity == "error" for v in t.verdicts)
            ),
            "dormant paths on legal files": len(dormant_legal),
            "dormant paths warned": sum(1 for t in dormant_legal if t.outcome == "ok"),
            "false errors": sum(
                1
                for t in corpus
                for v in t.verdicts
                if v.right is False and v.seen.severity == "error"
            ),
            "false warnings": sum(
                1
                for t in corpus
                for v in t.verdicts
                if v.right is False and v.seen.severity == "warning"
            ),
            "unreviewed": sum(1 for t in corpus for v in t.verdicts if v.right is None),
        },
        "per_rule": {rule: dict(sorted(c.items())) for rule, c in sorted(per_rule.items())},
        "per_category": _per_category(decidable),
    }


def _per_category(decidable: Sequence[Target]) -> dict[str, dict[str, Any]]:
    """Recall per label category: the decidable illegal files carrying it, and those caught."""
    out: dict[str, dict[str, Any]] = {}
    for target in decidable:
        assert target.label is not None
        caught = target.outcome.startswith(("ok", "false error", "warned only"))
        for category in target.label["categories"]:
            if category.removeprefix("dormant:") not in CATEGORY_RULES:
                continue
            row = out.setdefault(category, {"files": 0, "caught": 0, "missed": []})
            row["files"] += 1
            row["caught"] += int(caught)
            if not caught:
                row["missed"].append(target.name)
    return dict(sorted(out.items()))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(targets: Sequence[Target], numbers: dict[str, Any], command: str) -> str:
    out = [
        "# Audit accuracy on real submissions",
        "",
        "Produced by `bench/accuracy.py` (do not edit by hand); regenerate it in the same commit",
        "as any rule change:",
        "",
        f"    {command}",
        "",
        "Targets: the 60 accepted record folders (audited as `pgolf audit DIR` / `pgolf verify` do)",
        "and the 88 labelled corpus scripts (audited as `pgolf audit FILE`), from ../shared.",
        "How a finding is judged: an error on an accepted folder is wrong; a finding on an illegal",
        "corpus file is right when its rule is one the label's categories call for; it is on the",
        "mechanism's own lines when it lies",
        f"(or one of its evidence lines does) within {NEAR} lines of a line the label's evidence names; an error on a legal file is wrong; other",
        "warnings carry a reviewer's verdict from `bench/accuracy_review.json`.",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
    ]
    for group in ("records", "corpus"):
        for key, value in numbers[group].items():
            shown = ", ".join(value) if isinstance(value, list) else str(value)
            if isinstance(value, list):
                shown = f"{len(value)}" + (f" ({shown})" if value else "")
            out.append(f"| {group}: {key} | {_cell(shown)} |")
    out += [
        "",
        "## Per rule",
        "",
        "Files caught: decidable illegal corpus files whose labelled mechanism the rule found.",
        "",
        "| rule | errors | warnings | right | false errors | false warnings | unreviewed | files caught |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rule, c in numbers["per_rule"].items():
        right = c.get("right error", 0) + c.get("right warning", 0)
        unrev = c.get("unreviewed error", 0) + c.get("unreviewed warning", 0)
        out.append(
            f"| {rule} | {c.get('error', 0)} | {c.get('warning', 0)} | {right} | "
            f"{c.get('false error', 0)} | {c.get('false warning', 0)} | {unrev} | "
            f"{c.get('files caught', 0)} |"
        )
    out += [
        "",
        "## Recall per label category (decidable illegal corpus files)",
        "",
        "| category | rules that count | files | caught | missed |",
        "|---|---|---|---|---|",
    ]
    for category, row in numbers["per_category"].items():
        rules = ", ".join(sorted(CATEGORY_RULES[category.removeprefix("dormant:")]))
        missed = ", ".join(row["missed"])
        out.append(f"| {category} | {rules} | {row['files']} | {row['caught']} | {missed} |")
    for kind, title in (("record", "Record folders"), ("corpus", "Corpus scripts")):
        out += [
            "",
            f"## {title}",
            "",
            "| target | outcome | finding | verdict | why |",
            "|---|---|---|---|---|",
        ]
        for t in targets:
            if t.kind != kind:
                continue
            name = t.name if t.label is None else f"{t.name} ({t.label['label']})"
            if not t.verdicts:
                out.append(f"| {_cell(name)} | {t.outcome} | none | | |")
            for i, v in enumerate(t.verdicts):
                verdict = {True: "right", False: "wrong", None: "unreviewed"}[v.right]
                where = f"{v.seen.rule} {v.seen.severity} {v.seen.file}:{v.seen.line}"
                first = _cell(name) if i == 0 else ""
                out.append(
                    f"| {first} | {t.outcome if i == 0 else ''} | {where} | {verdict} | {_cell(v.why)} |"
                )
    return "\n".join(out) + "\n"


def write_expected(targets: Sequence[Target], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for kind in ("record", "corpus"):
        expected = {
            t.name: [
                {"file": s.file, "rule": s.rule, "line": s.line, "severity": s.severity}
                for s in t.findings
            ]
            for t in targets
            if t.kind == kind
        }
        path = directory / EXPECTED_FILES[kind]
        path.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument(
        "--only", help="audit only targets whose name contains this text; prints findings"
    )
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--markdown", type=Path, default=REPO_ROOT / "docs" / "accuracy.md")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "accuracy.json")
    parser.add_argument("--write-expected", action="store_true", help=f"write {EXPECTED_DIR}")
    args = parser.parse_args(argv)
    if not (args.shared / RECORDS).is_dir():
        print(f"{args.shared}: no {RECORDS} here; pass --shared PATH", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO_ROOT))
    review = json.loads(REVIEW.read_text(encoding="utf-8")) if REVIEW.exists() else {}
    started = time.perf_counter()
    targets = collect(args.shared, args.only, args.jobs)
    for target in targets:
        judge(target, review)
    if args.only:
        for t in targets:
            print(
                f"== {t.name} [{t.outcome}]"
                + (f" {t.label['label']} {t.label['categories']}" if t.label else "")
            )
            for e in t.errors:
                print(f"   cannot audit: {e}")
            for v in t.verdicts:
                verdict = {True: "right", False: "WRONG", None: "?"}[v.right]
                print(
                    f"   {v.seen.file}:{v.seen.line} {v.seen.rule} {v.seen.severity} [{verdict}: {v.why}] {v.seen.message[:160]}"
                )
        return 0
    numbers = summary(targets)
    numbers["seconds"] = round(time.perf_counter() - started, 1)
    command = "python bench/accuracy.py" + (" --write-expected" if args.write_expected else "")
    # bench/gate_replay.py owns the file's "## Gate" section, from there to the end: keep it.
    previous = args.markdown.read_text(encoding="utf-8") if args.markdown.is_file() else ""
    gate = previous[previous.index(GATE_SECTION) :].lstrip("\n") if GATE_SECTION in previous else ""
    text = markdown(targets, numbers, "python bench/accuracy.py --write-expected")
    args.markdown.write_text(text.rstrip("\n") + "\n\n" + gate if gate else text, encoding="utf-8")
    detail = {
        "summary": numbers,
        "targets": [
            {
                "kind": t.kind,
                "name": t.name,
                "outcome": t.outcome,
                "errors": t.errors,
                "verdicts": [
                    {**asdict(v.seen), "right": v.right, "why": v.why} for v in t.verdicts
                ],
            }
            for t in targets
        ],
    }
    args.json.write_text(json.dumps(detail, indent=1) + "\n", encoding="utf-8")
    if args.write_expected:
        write_expected(targets, EXPECTED_DIR)
    print(json.dumps({k: numbers[k] for k in ("records", "corpus")}, indent=1))
    print(f"{command}: {numbers['seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
