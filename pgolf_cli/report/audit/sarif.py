"""The report as a SARIF 2.1.0 log, for GitHub code scanning and other SARIF viewers.

One run. ``tool.driver.rules`` is the whole rule catalogue (``AuditReport.rules``), so
``ruleIndex`` points into it; a finding of a rule missing from the catalogue gets a minimal
descriptor appended, so every result still has a valid ``ruleIndex``. Each finding becomes a
result with its level (the severity), its region, the evidence as ``relatedLocations``, the
fingerprint as ``partialFingerprints["pgolf/v1"]`` and confidence, reachability and switches as
properties. A suppressed finding stays in the log with an ``inSource`` suppression, which is how
SARIF consumers learn to hide it. Files that could not be audited, and errors with the input
as a whole, become error notifications of the invocation, and ``executionSuccessful`` is false.

Findings on code decoded from a packed wrapper: their line numbers count lines of the decoded
text, which the shipped file does not contain. The region keeps those decoded line numbers
and carries the decoded source as ``region.snippet``, so the region describes the code it
means; the message says the lines are decoded ones and ``properties.decodedFrom`` names the
wrapper. Pointing at the wrapper's own line instead would lose the exact place in the code a
reviewer has to read, and the engine does not know which shipped line holds the payload.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from pgolf_cli.audit.findings import AuditReport, Finding, RuleInfo
from pgolf_cli.report.audit.text import first_paragraph

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "pgolf/v1"
SRCROOT = "%SRCROOT%"


def render(report: AuditReport) -> str:
    return json.dumps(to_dict(report), indent=2, sort_keys=True) + "\n"


def to_dict(report: AuditReport) -> dict[str, Any]:
    rules = [_rule(info) for info in report.rules]
    index = {info.id: i for i, info in enumerate(report.rules)}
    results = []
    for finding in report.findings:
        if finding.rule_id not in index:
            index[finding.rule_id] = len(rules)
            rules.append({"id": finding.rule_id, "name": finding.rule_name})
        results.append(_result(finding, index[finding.rule_id]))

    notifications: list[dict[str, Any]] = [
        {
            "level": "error",
            "message": {"text": result.error},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(result.path)}}],
        }
        for result in report.files
        if result.error is not None
    ]
    notifications += [{"level": "error", "message": {"text": error}} for error in report.errors]
    invocation: dict[str, Any] = {"executionSuccessful": not notifications}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications

    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {"name": "pgolf", "version": report.tool_version, "rules": rules}
                },
                "invocations": [invocation],
                "results": results,
            }
        ],
    }


def _rule(info: RuleInfo) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": info.id,
        "name": info.name,
        "shortDescription": {"text": info.summary},
        "defaultConfiguration": {"level": info.severity.value},
        # "precision" is the property GitHub code scanning reads for a rule's confidence.
        "properties": {"confidence": info.confidence.value, "precision": info.confidence.value},
    }
    if info.help:
        # The help is the rule's markdown documentation; its first paragraph of prose (the
        # "What it does" section) is the description.
        rule["fullDescription"] = {"text": first_paragraph(info.help) or info.summary}
        rule["help"] = {"text": info.help, "markdown": info.help}
    return rule


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    message = finding.message
    properties: dict[str, Any] = {
        "confidence": finding.confidence.value,
        "reachability": finding.reachability.value,
        "switches": [
            {"env": s.env, "default": s.default, "line": s.line}
            | ({"path": s.path} if s.path is not None else {})
            for s in finding.switches
        ],
    }
    if finding.decoded_from:
        message += f" (line {finding.line} of the code decoded from {finding.decoded_from})"
        properties["decodedFrom"] = finding.decoded_from

    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": finding.severity.value,
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": _physical(
                    finding.path, finding.line, finding.end_line, finding.snippet
                )
            }
        ],
        "properties": properties,
    }
    if finding.evidence:
        result["relatedLocations"] = [
            {
                "id": i,
                "message": {"text": evidence.label},
                "physicalLocation": _physical(
                    evidence.path or finding.path, evidence.line, evidence.line, evidence.code
                ),
            }
            for i, evidence in enumerate(finding.evidence)
        ]
    if finding.fingerprint:
        result["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    if finding.suppressed:
        suppression: dict[str, Any] = {"kind": "inSource"}
        if finding.suppression_reason:
            suppression["justification"] = finding.suppression_reason
        result["suppressions"] = [suppression]
    return result


def _physical(path: str, line: int, end_line: int, snippet: str) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": _artifact(path)}
    # Lines start at 1: a finding about the file as a whole (line 0) has no region.
    if line >= 1:
        region: dict[str, Any] = {"startLine": line, "endLine": max(end_line, line)}
        if snippet:
            region["snippet"] = {"text": snippet}
        location["region"] = region
    return location


def _artifact(path: str) -> dict[str, Any]:
    """An artifactLocation: a relative path stays relative to the checkout (``%SRCROOT%``)."""
    windows = PureWindowsPath(path)
    if windows.drive and windows.is_absolute():
        return {"uri": windows.as_uri()}
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return {"uri": posix.as_uri()}
    return {"uri": quote(posix.as_posix()), "uriBaseId": SRCROOT}
