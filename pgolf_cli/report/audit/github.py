"""The report as GitHub Actions workflow commands: one annotation per unsuppressed finding.

``::error file=PATH,line=N,endLine=M,title=PG101 rule-name::message`` (warnings become
``::warning``, notes ``::notice``). A finding on code decoded from a packed wrapper is annotated
on the file as a whole, with the decoded line in the message: its line number does not exist
in the shipped file, and an annotation on a wrong line would mislead the reviewer. A file that
could not be audited gets a file-level ``::error``; an error with the input as a whole a bare
one.
"""

from __future__ import annotations

from pgolf_cli.audit.findings import AuditReport, Finding, Severity
from pgolf_cli.report.audit.text import reachability_note

#: The workflow command of each severity.
COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def render(report: AuditReport) -> str:
    lines: list[str] = []
    for result in report.files:
        if result.error is not None:
            lines.append(workflow_command("error", {"file": result.path}, result.error))
        lines += [_annotation(f) for f in result.findings if not f.suppressed]
    lines += [workflow_command("error", {}, error) for error in report.errors]
    return "".join(line + "\n" for line in lines)


def escape_data(value: str) -> str:
    """Escape a command's message the way the Actions runner unescapes it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a property value, where ``:`` and ``,`` are separators as well."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _annotation(finding: Finding) -> str:
    properties = {"file": finding.path}
    message = finding.message
    if finding.decoded_from:
        message = f"line {finding.line} of the code decoded from {finding.decoded_from}: {message}"
    elif finding.line >= 1:
        properties["line"] = str(finding.line)
        properties["endLine"] = str(max(finding.end_line, finding.line))
    properties["title"] = f"{finding.rule_id} {finding.rule_name}"
    note = reachability_note(finding)
    if note is not None:
        message += f"\n{note}"
    return workflow_command(COMMAND[finding.severity], properties, message)


def workflow_command(name: str, properties: dict[str, str], message: str) -> str:
    """``::name key=value,...::message``, every part escaped as the runner expects."""
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    separator = " " if rendered else ""
    return f"::{name}{separator}{rendered}::{escape_data(message)}"
