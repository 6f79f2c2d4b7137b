"""The audit's result types: findings, per-file results and the whole report.

Everything here is frozen and complete at creation, so reporters are pure functions of an
:class:`AuditReport` and a report can cross a process boundary (files are audited in worker
processes) by pickling.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: Bumped whenever a key of the json report changes meaning or disappears.
SCHEMA_VERSION = 1


class Severity(StrEnum):
    """How bad a finding is. The values are the SARIF result levels."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        return {"note": 0, "warning": 1, "error": 2}[self.value]


class Confidence(StrEnum):
    """How sure the rule is that the shape it matched is really the violation."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return {"low": 0, "medium": 1, "high": 2}[self.value]


class Reachability(StrEnum):
    """Whether the official run (defaults, 8 GPUs) executes the code a finding points at."""

    DEFAULT_ON = "default-on"
    """Runs with the script's defaults."""
    WORLD_SIZE = "world-size-dependent"
    """Runs when world_size > 1, which the official 8-GPU run is: treated as on."""
    OFF_BY_DEFAULT = "off-by-default"
    """Behind a switch whose default is off: a dormant path, reported as a warning."""
    UNKNOWN = "unknown"
    """No entry point to reason from (a library file, a snippet)."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One line that supports a finding, with what it shows."""

    line: int
    label: str
    code: str = ""
    """The source text of that line (of the decoded text when the file is packed)."""
    path: str | None = None
    """The file the line is in when it is not the finding's own (a program that spans several
    files of a records folder); None for the finding's file."""


@dataclass(frozen=True, slots=True)
class Switch:
    """An environment switch that gates a finding's path."""

    env: str
    default: str
    line: int
    path: str | None = None
    """The file that sets the switch when it is not the finding's own; None for the finding's file."""


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    rule_name: str
    severity: Severity
    confidence: Confidence
    message: str
    path: str
    line: int
    end_line: int
    snippet: str
    evidence: tuple[Evidence, ...] = ()
    reachability: Reachability = Reachability.DEFAULT_ON
    switches: tuple[Switch, ...] = ()
    decoded_from: str | None = None
    """Set when ``line`` counts lines of code decoded from a packed wrapper: says which."""
    suppressed: bool = False
    suppression_reason: str | None = None
    help: str = ""
    fingerprint: str = ""

    @staticmethod
    def make_fingerprint(rule_id: str, path: str, snippet: str, occurrence: int) -> str:
        """A line-number-free identity, stable when unrelated lines move (SARIF partialFingerprints)."""
        normalized = " ".join(snippet.split())
        digest = hashlib.sha256(f"{rule_id}\0{path}\0{normalized}\0{occurrence}".encode())
        return digest.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Suppression:
    """A ``# pgolf: ignore[ID] reason`` comment."""

    line: int
    rule_ids: tuple[str, ...]
    reason: str
    used: bool


@dataclass(frozen=True, slots=True)
class FileResult:
    """What auditing one file produced."""

    path: str
    findings: tuple[Finding, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    layers: tuple[str, ...] = ()
    """Packed wrappers decoded on the way to the audited code, outermost first."""
    shipped_bytes: int = 0
    error: str | None = None
    """Set when the file could not be audited at all (unreadable input, exit code 2)."""

    def to_data(self) -> dict[str, Any]:
        """Every field as plain json data; :meth:`from_data` reads it back equal."""
        return _plain(self)  # type: ignore[no-any-return]

    @staticmethod
    def from_data(data: dict[str, Any]) -> FileResult:
        return FileResult(
            **{
                **data,
                "findings": tuple(_finding(item) for item in data["findings"]),
                "suppressions": tuple(
                    Suppression(**{**item, "rule_ids": tuple(item["rule_ids"])})
                    for item in data["suppressions"]
                ),
                "layers": tuple(data["layers"]),
            }
        )


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value  # str (the enums are StrEnums), int, bool, None


def _finding(data: dict[str, Any]) -> Finding:
    return Finding(
        **{
            **data,
            "severity": Severity(data["severity"]),
            "confidence": Confidence(data["confidence"]),
            "reachability": Reachability(data["reachability"]),
            "evidence": tuple(Evidence(**item) for item in data["evidence"]),
            "switches": tuple(Switch(**item) for item in data["switches"]),
        }
    )


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """The catalogue entry of a rule, as reporters need it."""

    id: str
    name: str
    severity: Severity
    confidence: Confidence
    summary: str
    help: str


@dataclass(frozen=True, slots=True)
class AuditReport:
    files: tuple[FileResult, ...]
    rules: tuple[RuleInfo, ...]
    tool_version: str
    errors: tuple[str, ...] = field(default=())
    """Problems with the input as a whole (a missing path, a directory without Python files)."""

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.files for f in r.findings)
