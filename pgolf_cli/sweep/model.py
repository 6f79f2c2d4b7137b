"""What a sweep found: one row per ref, the summaries, and the changes since an earlier sweep.

A row keeps what a reviewer sorts and filters by (verdict, folder, claimed val_bpb) and every
reason of the gate without its evidence (``pgolf gate --head REF`` shows that for one ref). A
ref that could not be judged (its objects are missing, the clone is too shallow to reach its
merge base) gets the status ``error`` with the message, and is not cached.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pgolf_cli.audit.findings import Severity
from pgolf_cli.errors import PgolfInputError
from pgolf_cli.gate.model import GateReport, Reason, Verdict

#: Bumped whenever a key of the json report changes meaning or disappears.
SWEEP_SCHEMA_VERSION = 1
#: The status of a ref the gate could not judge (a tool/input error for that ref).
ERROR = "error"
#: Statuses in report order: the ones that need a person first.
STATUSES = (Verdict.FAIL.value, Verdict.NEEDS_REVIEW.value, ERROR, Verdict.PASS.value)


@dataclass(frozen=True, slots=True)
class RefResult:
    """The gate's verdict on one ref."""

    ref: str
    head: str
    verdict: str
    """A :class:`Verdict` value, or :data:`ERROR`."""
    merge_base: str | None = None
    folder: str | None = None
    track: str | None = None
    record_claim: bool | None = None
    claimed_val_bpb: float | None = None
    reasons: tuple[Reason, ...] = ()
    error: str | None = None
    """Why the ref could not be judged (status :data:`ERROR`)."""

    @classmethod
    def from_gate(cls, ref: str, report: GateReport) -> RefResult:
        return cls(
            ref=ref,
            head=report.head,
            verdict=report.verdict.value,
            merge_base=report.merge_base,
            folder=report.folder,
            track=report.track,
            record_claim=report.record_claim,
            claimed_val_bpb=report.claimed_val_bpb,
            reasons=tuple(
                Reason(r.id, r.severity, r.title, r.message, (), r.path, r.line, r.order)
                for r in report.reasons
            ),
        )

    @property
    def blocking(self) -> tuple[Reason, ...]:
        """The reasons that decide the verdict: errors, then warnings."""
        return tuple(r for r in self.reasons if r.severity != Severity.NOTE)

    def as_dict(self) -> dict[str, Any]:
        reasons = []
        for reason in self.reasons:
            entry = reason.as_dict()
            del entry["evidence"]
            reasons.append(entry)
        return {
            "ref": self.ref,
            "head": self.head,
            "verdict": self.verdict,
            "merge_base": self.merge_base,
            "folder": self.folder,
            "track": self.track,
            "record_claim": self.record_claim,
            "claimed_val_bpb": self.claimed_val_bpb,
            "counts": {s.value: sum(r.severity == s for r in self.reasons) for s in Severity},
            "reasons": reasons,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], ref: str | None = None) -> RefResult:
        """A row written by :meth:`as_dict` (KeyError, TypeError, ValueError on another shape)."""
        value = data["claimed_val_bpb"]
        return cls(
            ref=ref if ref is not None else str(data["ref"]),
            head=str(data["head"]),
            verdict=str(data["verdict"]),
            merge_base=data["merge_base"],
            folder=data["folder"],
            track=data["track"],
            record_claim=data["record_claim"],
            claimed_val_bpb=None if value is None else float(value),
            reasons=tuple(
                Reason(
                    str(r["id"]),
                    Severity(r["severity"]),
                    str(r["title"]),
                    str(r["message"]),
                    (),
                    r["path"],
                    r["line"],
                )
                for r in data["reasons"]
            ),
            error=data["error"],
        )


@dataclass(frozen=True, slots=True)
class Stats:
    """How the sweep was run and what the cache saved."""

    seconds: float = 0.0
    jobs: int = 1
    refs_from_cache: int = 0
    audits_run: int = 0
    audits_reused: int = 0
    distinct_audits: int = 0

    @property
    def audit_hit_rate(self) -> float | None:
        total = self.audits_run + self.audits_reused
        return self.audits_reused / total if total else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "jobs": self.jobs,
            "refs_from_cache": self.refs_from_cache,
            "audits_run": self.audits_run,
            "audits_reused": self.audits_reused,
            "distinct_audits": self.distinct_audits,
            "audit_hit_rate": self.audit_hit_rate,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """A ref whose verdict differs from an earlier sweep's."""

    ref: str
    old: str | None
    """The earlier verdict; None: the ref is new."""
    new: str | None
    """None: the ref is gone."""
    added: tuple[str, ...] = ()
    """Reason ids (errors and warnings) the ref has now and did not have."""
    removed: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "old": self.old,
            "new": self.new,
            "added": list(self.added),
            "removed": list(self.removed),
        }


@dataclass(frozen=True, slots=True)
class SweepReport:
    repository: str
    base_ref: str
    base: str
    patterns: tuple[str, ...]
    results: tuple[RefResult, ...]
    stats: Stats = field(default_factory=Stats)
    compared_with: str | None = None
    """The earlier sweep's json report, when --compare was given."""
    changes: tuple[Change, ...] = ()

    def by_verdict(self) -> dict[str, int]:
        counts = Counter(result.verdict for result in self.results)
        return {status: counts[status] for status in STATUSES}

    def by_reason(self) -> list[tuple[str, str, int]]:
        """(reason id, severity, refs that have it) for errors and warnings, most refs first."""
        counts: Counter[tuple[str, str]] = Counter()
        for result in self.results:
            for pair in {(r.id, r.severity.value) for r in result.blocking}:
                counts[pair] += 1
        return sorted(
            ((rid, severity, n) for (rid, severity), n in counts.items()),
            key=lambda item: (-item[2], item[1] != Severity.ERROR.value, item[0]),
        )

    @property
    def has_errors(self) -> bool:
        return any(result.verdict == ERROR for result in self.results)


def _blocking_ids(result: dict[str, Any]) -> set[str]:
    return {r["id"] for r in result["reasons"] if r["severity"] != Severity.NOTE.value}


def load_previous(path: Path) -> dict[str, dict[str, Any]]:
    """The rows of an earlier sweep's json report, by ref; PgolfInputError when unusable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as problem:
        raise PgolfInputError(
            str(path), f"cannot be read ({problem.strerror or problem})", "Check the path"
        ) from None
    except (UnicodeDecodeError, ValueError) as problem:
        raise PgolfInputError(
            str(path),
            f"is not json ({problem})",
            "Pass the json report of an earlier `pgolf sweep -f json`",
        ) from None
    if not isinstance(document, dict) or "refs" not in document:
        raise PgolfInputError(
            str(path),
            "has no key 'refs': it is not a sweep report",
            "Pass the json report of an earlier `pgolf sweep -f json`",
        )
    if document.get("schema_version") != SWEEP_SCHEMA_VERSION:
        raise PgolfInputError(
            str(path),
            f"key 'schema_version' is {document.get('schema_version')!r}, this pgolf reads "
            f"{SWEEP_SCHEMA_VERSION}",
            "Compare with a report written by this pgolf version (run the old sweep again)",
        )
    rows: dict[str, dict[str, Any]] = {}
    for index, row in enumerate(document["refs"]):
        try:
            rows[str(row["ref"])] = {"verdict": str(row["verdict"]), "reasons": row["reasons"]}
            _blocking_ids(row)
        except (KeyError, TypeError):
            raise PgolfInputError(
                str(path),
                f"refs[{index}] lacks 'ref', 'verdict' or 'reasons' with ids and severities",
                "Pass an unedited json report of `pgolf sweep -f json`",
            ) from None
    return rows


def compare(previous: dict[str, dict[str, Any]], results: tuple[RefResult, ...]) -> list[Change]:
    """The refs whose verdict changed since ``previous``, new refs and gone refs, by ref."""
    changes: list[Change] = []
    now = {result.ref: result for result in results}
    for ref in sorted(set(previous) | set(now)):
        old = previous.get(ref)
        new = now.get(ref)
        old_verdict = old["verdict"] if old is not None else None
        new_verdict = new.verdict if new is not None else None
        if old_verdict == new_verdict:
            continue
        before = _blocking_ids(old) if old is not None else set()
        after = {r.id for r in new.blocking} if new is not None else set()
        changes.append(
            Change(
                ref,
                old_verdict,
                new_verdict,
                tuple(sorted(after - before)),
                tuple(sorted(before - after)),
            )
        )
    return changes


def compare_report(
    report: SweepReport, previous: dict[str, dict[str, Any]], name: str
) -> SweepReport:
    """``report`` with the changes since the earlier sweep ``previous`` (read from ``name``)."""
    return replace(report, compared_with=name, changes=tuple(compare(previous, report.results)))
