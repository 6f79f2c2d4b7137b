"""The gate's result: one verdict, the reasons for it in order of importance, and what passed.

A reason has a stable id (``diff.outside-records``, ``verify.size``, ``audit.PG101``, ...), a
severity and its evidence. The verdict follows from the severities alone: any error fails the
pull request, any warning asks a person to look (needs-review), notes are information.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pgolf_cli.audit.findings import AuditReport, Severity

#: Bumped whenever a key of the json report changes meaning or disappears.
GATE_SCHEMA_VERSION = 1


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NEEDS_REVIEW = "needs-review"


#: The exit code of each verdict; 2 stays the tool/input error of every pgolf command.
EXIT_CODES = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.NEEDS_REVIEW: 3}

# Reasons of one severity are ordered by where they come from: the shape of the diff decides
# whether the PR can be merged at all, the audit whether the run was legal, verify whether the
# numbers hold, and the record claim whether they are a record.
_CATEGORY_ORDER = ("gate", "diff", "audit", "verify", "record")


@dataclass(frozen=True, slots=True)
class Reason:
    """One thing the gate found, with the lines that prove it."""

    id: str
    severity: Severity
    title: str
    message: str
    evidence: tuple[str, ...] = ()
    """``path:line: text`` (repository-relative) or ``key: value`` strings."""
    path: str | None = None
    """The repository-relative file the reason is about, where there is one."""
    line: int | None = None
    """The line of ``path`` (of the shipped file: None for code decoded from a packed wrapper)."""
    order: int = 0
    """Position among the reasons of its category (verify's check order, ...)."""

    @property
    def category(self) -> str:
        return self.id.split(".", 1)[0]

    def sort_key(self) -> tuple[int, int, int, str, int]:
        category = self.category
        rank = _CATEGORY_ORDER.index(category) if category in _CATEGORY_ORDER else 99
        return (-self.severity.rank, rank, self.order, self.path or "", self.line or 0)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class Checked:
    """A check that found nothing to report: it passed, or did not apply (skip)."""

    id: str
    title: str
    status: str
    """``pass`` | ``skip``."""
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "status": self.status, "message": self.message}


@dataclass(frozen=True, slots=True)
class Baseline:
    """The record the pull request is compared with."""

    path: str
    """Repository-relative folder in the base tree, or the --baseline path."""
    val_bpb: float
    source: str
    """Where the score was read: ``submission.json`` of the folder, or its logs."""


@dataclass(frozen=True, slots=True)
class GateReport:
    """Everything the gate decided about one pull request."""

    base: str
    """The commit the pull request targets (the existing records are read from its tree)."""
    head: str
    merge_base: str | None
    """Where head branched from base: the diff is taken from here (None: no shared history)."""
    base_ref: str
    head_ref: str
    folder: str | None = None
    """The new record folder, repository-relative; None unless exactly one was added."""
    track: str | None = None
    record_claim: bool | None = None
    claimed_val_bpb: float | None = None
    """The folder's own val_bpb (its submission.json), whether or not it claims a record."""
    baseline: Baseline | None = None
    reasons: tuple[Reason, ...] = ()
    checked: tuple[Checked, ...] = ()
    audit: AuditReport | None = None
    """The audit of the folder's scripts (repository-relative paths) for the SARIF output."""
    changed_files: int = 0

    @property
    def verdict(self) -> Verdict:
        if any(reason.severity == Severity.ERROR for reason in self.reasons):
            return Verdict.FAIL
        if any(reason.severity == Severity.WARNING for reason in self.reasons):
            return Verdict.NEEDS_REVIEW
        return Verdict.PASS

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def counts(self) -> dict[str, int]:
        counts = {severity.value: 0 for severity in Severity}
        for reason in self.reasons:
            counts[reason.severity.value] += 1
        return counts


def ordered(reasons: list[Reason]) -> tuple[Reason, ...]:
    """Reasons in order of importance: errors first, then by category and position."""
    return tuple(sorted(reasons, key=Reason.sort_key))
