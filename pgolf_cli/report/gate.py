"""The gate's report in each output format; pure functions of a :class:`GateReport`.

- ``text``: for a terminal (rich).
- ``markdown``: a pull-request comment, short summary first and the evidence folded. Every
  string that comes from the pull request (paths, messages quoting its files) goes through
  :mod:`pgolf_cli.report.markdown`, so a hostile file name cannot inject markup, HTML or
  mentions.
- ``json``: ``schema_version``, ``verdict`` and the ``reasons`` with stable ids.
- ``sarif``: the audit findings, with repository-relative paths (the audit reporter's SARIF).
- ``github``: workflow commands, one annotation per reason; the command writes the markdown
  to ``$GITHUB_STEP_SUMMARY`` as the job summary.
"""

from __future__ import annotations

import json

from pgolf_cli import __version__
from pgolf_cli.audit.findings import AuditReport, Severity
from pgolf_cli.console import text_console
from pgolf_cli.gate.git import display_path as inert
from pgolf_cli.gate.model import EXIT_CODES, GATE_SCHEMA_VERSION, GateReport, Reason, Verdict
from pgolf_cli.report import ReportFormats
from pgolf_cli.report import markdown as md
from pgolf_cli.report.audit.github import COMMAND, workflow_command
from pgolf_cli.report.terminal import checks_table, print_evidence, shown

#: The first line of every markdown report: a workflow finds its earlier comment by it.
COMMENT_MARKER = "<!-- pgolf-gate -->"
# GitHub rejects comments over 65,536 characters; the evidence is cut well before that.
MAX_COMMENT_CHARS = 60_000
_SHOWN_REASONS = 10
_EVIDENCE_LINES = 25

_VERDICT_ICON = {Verdict.PASS: "✅", Verdict.FAIL: "❌", Verdict.NEEDS_REVIEW: "⚠️"}
_SEVERITY_ICON = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.NOTE: "ℹ️"}
_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
_VERDICT_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.FAIL: "bold red",
    Verdict.NEEDS_REVIEW: "bold yellow",
}
_MEANING = {
    Verdict.PASS: "every check passed; nothing needs a person's judgement",
    Verdict.FAIL: "the pull request breaks a rule the challenge states; see the errors",
    Verdict.NEEDS_REVIEW: "nothing is clearly wrong, but a person has to judge the warnings",
}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _tally(report: GateReport) -> str:
    counts = report.counts()
    return ", ".join(
        _plural(counts[severity.value], severity.value)
        for severity in (Severity.ERROR, Severity.WARNING, Severity.NOTE)
    )


# --------------------------------------------------------------------------------------------
# json
# --------------------------------------------------------------------------------------------


def to_dict(report: GateReport) -> dict[str, object]:
    baseline = report.baseline
    return {
        "schema_version": GATE_SCHEMA_VERSION,
        "tool": {"name": "pgolf", "version": __version__},
        "verdict": report.verdict.value,
        "exit_code": report.exit_code,
        "summary": report.counts(),
        "repository": {
            "base_ref": report.base_ref,
            "base": report.base,
            "head_ref": report.head_ref,
            "head": report.head,
            "merge_base": report.merge_base,
            "changed_files": report.changed_files,
        },
        "folder": report.folder,
        "track": report.track,
        "record_claim": report.record_claim,
        "baseline": None
        if baseline is None
        else {"path": baseline.path, "val_bpb": baseline.val_bpb, "source": baseline.source},
        "reasons": [reason.as_dict() for reason in report.reasons],
        "checked": [check.as_dict() for check in report.checked],
    }


def render_json(report: GateReport) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# sarif
# --------------------------------------------------------------------------------------------


def render_sarif(report: GateReport) -> str:
    from pgolf_cli.audit.registry import all_rules
    from pgolf_cli.report.audit import sarif

    audit = report.audit or AuditReport(
        files=(), rules=tuple(rule.info() for rule in all_rules()), tool_version=__version__
    )
    return sarif.render(audit)


# --------------------------------------------------------------------------------------------
# markdown
# --------------------------------------------------------------------------------------------


def where(reason: Reason) -> str:
    """``path:line`` (or the path) a reason points at; empty when it has none."""
    if reason.path is None:
        return ""
    return f"{reason.path}:{reason.line}" if reason.line is not None else reason.path


def _headline(report: GateReport) -> list[str]:
    verdict = report.verdict
    lines = [COMMENT_MARKER, f"## pgolf gate: {_VERDICT_ICON[verdict]} {verdict.value}", ""]
    facts = []
    if report.folder:
        facts.append(f"folder {md.code(report.folder + '/')}")
    if report.track:
        facts.append(f"track {md.code(report.track)}")
    if report.record_claim and report.baseline is not None:
        facts.append(
            f"record claim against {md.code(report.baseline.path)} "
            f"(val_bpb {report.baseline.val_bpb:.5f})"
        )
    facts.append(f"head {md.code(report.head[:12])} on {md.code(report.base_ref)}")
    lines += [" · ".join(facts), "", f"**{_MEANING[verdict]}** ({_tally(report)})", ""]
    return lines


def render_markdown(report: GateReport) -> str:
    lines = _headline(report)
    important = [r for r in report.reasons if r.severity != Severity.NOTE]
    for reason in important[:_SHOWN_REASONS]:
        place = f" ({md.code(where(reason))})" if reason.path else ""
        lines.append(
            f"- {_SEVERITY_ICON[reason.severity]} {md.code(reason.id)} "
            f"{md.text(reason.message)}{place}"
        )
    if len(important) > _SHOWN_REASONS:
        lines.append(f"- … {len(important) - _SHOWN_REASONS} more in the details below")
    if important:
        lines.append("")

    details: list[str] = []
    for reason in report.reasons:
        details += [
            f"#### {_SEVERITY_ICON[reason.severity]} {md.code(reason.id)} {md.text(reason.title)}",
            "",
            md.text(reason.message),
            "",
        ]
        if reason.evidence:
            shown = list(reason.evidence[:_EVIDENCE_LINES])
            if len(reason.evidence) > _EVIDENCE_LINES:
                shown.append(f"… {len(reason.evidence) - _EVIDENCE_LINES} more (json output)")
            details += [*md.fence(shown), ""]
    if details:
        lines += [
            "<details><summary>Reasons and evidence</summary>",
            "",
            *details,
            "</details>",
            "",
        ]
    if report.checked:
        lines += [
            f"<details><summary>Checks with nothing to report ({len(report.checked)})</summary>",
            "",
            "| check | status | result |",
            "|---|---|---|",
            *(
                md.row([md.code(c.id, in_table=True), c.status, md.text(c.message)])
                for c in report.checked
            ),
            "",
            "</details>",
            "",
        ]
    lines.append(
        f"<sub>pgolf {__version__} · exit {report.exit_code} · head {report.head} · "
        f"base {report.base}</sub>"
    )
    text = "\n".join(lines) + "\n"
    if len(text) > MAX_COMMENT_CHARS:
        # Keep the summary, which always fits; drop the folded details.
        cut = _headline(report)
        cut += [line for line in lines[len(cut) :] if line.startswith("- ")]
        cut += ["", "The details are too long for a comment; see the json report.", ""]
        text = "\n".join(cut) + "\n"
    return text


# --------------------------------------------------------------------------------------------
# github
# --------------------------------------------------------------------------------------------


def render_github(report: GateReport) -> str:
    lines = []
    for reason in report.reasons:
        properties: dict[str, str] = {}
        if reason.path:
            properties["file"] = inert(reason.path)
            if reason.line is not None:
                properties["line"] = str(reason.line)
        properties["title"] = inert(f"pgolf gate {reason.id}: {reason.title}")
        message = "\n".join(inert(line) for line in [reason.message, *reason.evidence[:10]])
        lines.append(workflow_command(COMMAND[reason.severity], properties, message))
    verdict = report.verdict
    lines.append(
        workflow_command(
            "notice" if verdict is Verdict.PASS else COMMAND[_worst(report)],
            {"title": f"pgolf gate: {verdict.value}"},
            f"{_MEANING[verdict]} ({_tally(report)})",
        )
    )
    return "".join(line + "\n" for line in lines)


def _worst(report: GateReport) -> Severity:
    return max((r.severity for r in report.reasons), key=lambda s: s.rank, default=Severity.NOTE)


# --------------------------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------------------------


def render_text(report: GateReport, *, color: bool = False, width: int = 100) -> str:
    console = text_console(color=color, width=width)
    verdict = report.verdict
    with console.capture() as capture:
        console.print(
            f"pgolf gate: [{_VERDICT_STYLE[verdict]}]{verdict.value}[/] — {_MEANING[verdict]}",
            soft_wrap=True,
        )
        facts = [f"head {report.head[:12]} ({shown(report.head_ref)})"]
        facts.append(f"base {report.base[:12]} ({shown(report.base_ref)})")
        if report.folder:
            facts.insert(0, f"folder {shown(report.folder)}/")
        if report.record_claim and report.baseline is not None:
            facts.append(
                f"record claim against {shown(report.baseline.path)} "
                f"(val_bpb {report.baseline.val_bpb:.5f})"
            )
        console.print("  ".join(facts), soft_wrap=True)
        if report.reasons:
            table = checks_table("severity", "reason", "message")
            for reason in report.reasons:
                style = _SEVERITY_STYLE[reason.severity]
                place = where(reason)
                message = reason.message + (f" ({place})" if place else "")
                table.add_row(
                    f"[{style}]{reason.severity.value}[/]", shown(reason.id), shown(message)
                )
            console.print(table)
        for reason in report.reasons:
            if not reason.evidence or reason.severity == Severity.NOTE:
                continue
            console.print(f"  [{_SEVERITY_STYLE[reason.severity]}]{shown(reason.id)}[/]:")
            print_evidence(console, reason.evidence, _EVIDENCE_LINES)
        passed = sum(1 for check in report.checked if check.status == "pass")
        console.print(
            f"{_tally(report)}; {passed} check(s) passed; exit {EXIT_CODES[verdict]}",
            soft_wrap=True,
        )
    return capture.get()


FORMATS: ReportFormats[GateReport] = ReportFormats(
    "gate",
    {
        "text": lambda report, options: render_text(
            report, color=options.color, width=options.width
        ),
        "markdown": lambda report, _: render_markdown(report),
        "json": lambda report, _: render_json(report),
        "sarif": lambda report, _: render_sarif(report),
        "github": lambda report, _: render_github(report),
    },
)
render = FORMATS.render
