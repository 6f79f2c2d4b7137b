"""The one place that turns a report into an exit code."""

from __future__ import annotations

from pgolf_cli.audit.findings import AuditReport, Confidence, Severity

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


def exit_code(
    report: AuditReport,
    *,
    fail_on: Severity = Severity.ERROR,
    min_confidence: Confidence = Confidence.MEDIUM,
    exit_zero: bool = False,
) -> int:
    """2 when input could not be audited; 1 when an unsuppressed finding reaches the gate; else 0.

    Unreadable input wins over findings: a report that skipped a file must never look clean.
    """
    if report.errors or any(f.error for f in report.files):
        return EXIT_ERROR
    if exit_zero:
        return EXIT_CLEAN
    for finding in report.findings:
        if (
            not finding.suppressed
            and finding.severity.rank >= fail_on.rank
            and finding.confidence.rank >= min_confidence.rank
        ):
            return EXIT_FINDINGS
    return EXIT_CLEAN
