"""The gate's report in each output format; pure functions of a :class:`GateReport`.

- ``text``: for a terminal (rich).
- ``markdown``: a pull-request comment, short summary first and the evidence folded. Every
  string that comes from the pull request (paths, messages quoting its files) is escaped or
  sits in a code span or fence, so a hostile file name cannot inject markup, HTML or mentions.
- ``json``: ``schema_version``, ``verdict`` and the ``reasons`` with stable ids.
- ``sarif``: the audit findings, with repository-relative paths (the audit reporter's SARIF).
- ``github``: workflow commands, one annotation per reason; the command writes the markdown
  to ``$GITHUB_STEP_SUMMARY`` as the job summary.
"""

from __future__ import annotations

import json
import re

from rich.markup import escape
from rich.table import Table

from pgolf_cli import __version__
from pgolf_cli.audit.findings import AuditReport, Severity
from pgolf_cli.console import text_console
from pgolf_cli.gate.git import display_path as inert
from pgolf_cli.gate.model import EXIT_CODES, GATE_SCHEMA_VERSION, GateReport, Reason, Verdict

FORMATS = ("text", "markdown", "json", "sarif", "github")
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
# Characters that mean something to GitHub markdown anywhere in a line, escaped with a
# backslash; and what means something at the start of a line (headings, lists, quotes).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_LINE_START = re.compile(r"^([#+\-=>])")
_MD_ORDERED = re.compile(r"^(\d+)([.)])")


def render(report: GateReport, fmt: str, *, color: bool = False, width: int = 100) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`), ending with a newline."""
    if fmt == "text":
        return render_text(report, color=color, width=width)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "json":
        return render_json(report)
    if fmt == "sarif":
        return render_sarif(report)
    if fmt == "github":
        return render_github(report)
    raise ValueError(f"unknown gate format {fmt!r}: choose one of {', '.join(FORMATS)}")


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
    from pgolf_cli.report import sarif

    audit = report.audit or AuditReport(
        files=(), rules=tuple(rule.info() for rule in all_rules()), tool_version=__version__
    )
    return sarif.render(audit)


# --------------------------------------------------------------------------------------------
# markdown
# --------------------------------------------------------------------------------------------


def md_text(text: str) -> str:
    """Untrusted text as inert markdown: one line, markup escaped, no @mentions."""
    flat = inert(" ".join(text.split()))
    escaped = _MD_SPECIAL.sub(r"\\\1", flat).replace("@", "@\u200b")
    return _MD_ORDERED.sub(r"\1\\\2", _MD_LINE_START.sub(r"\\\1", escaped))


def md_code(text: str) -> str:
    """Untrusted text as an inline code span (nothing inside is interpreted)."""
    flat = inert(" ".join(text.split()))
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def _fence(untrusted: list[str]) -> list[str]:
    lines = [inert(line) for line in untrusted]
    body = "\n".join(lines)
    ticks = "`" * max(3, max((len(run) for run in re.findall(r"`+", body)), default=0) + 1)
    return [ticks, *lines, ticks]


def _where(reason: Reason) -> str:
    if reason.path is None:
        return ""
    return f"{reason.path}:{reason.line}" if reason.line is not None else reason.path


def _headline(report: GateReport) -> list[str]:
    verdict = report.verdict
    lines = [COMMENT_MARKER, f"## pgolf gate: {_VERDICT_ICON[verdict]} {verdict.value}", ""]
    facts = []
    if report.folder:
        facts.append(f"folder {md_code(report.folder + '/')}")
    if report.track:
        facts.append(f"track {md_code(report.track)}")
    if report.record_claim and report.baseline is not None:
        facts.append(
            f"record claim against {md_code(report.baseline.path)} "
            f"(val_bpb {report.baseline.val_bpb:.5f})"
        )
    facts.append(f"head {md_code(report.head[:12])} on {md_code(report.base_ref)}")
    lines += [" · ".join(facts), "", f"**{_MEANING[verdict]}** ({_tally(report)})", ""]
    return lines


def render_markdown(report: GateReport) -> str:
    lines = _headline(report)
    important = [r for r in report.reasons if r.severity != Severity.NOTE]
    for reason in important[:_SHOWN_REASONS]:
        where = f" ({md_code(_where(reason))})" if reason.path else ""
        lines.append(
            f"- {_SEVERITY_ICON[reason.severity]} {md_code(reason.id)} "
            f"{md_text(reason.message)}{where}"
        )
    if len(important) > _SHOWN_REASONS:
        lines.append(f"- … {len(important) - _SHOWN_REASONS} more in the details below")
    if important:
        lines.append("")

    details: list[str] = []
    for reason in report.reasons:
        details += [
            f"#### {_SEVERITY_ICON[reason.severity]} {md_code(reason.id)} {md_text(reason.title)}",
            "",
            md_text(reason.message),
            "",
        ]
        if reason.evidence:
            shown = list(reason.evidence[:_EVIDENCE_LINES])
            if len(reason.evidence) > _EVIDENCE_LINES:
                shown.append(f"… {len(reason.evidence) - _EVIDENCE_LINES} more (json output)")
            details += [*_fence(shown), ""]
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
            *(f"| {md_code(c.id)} | {c.status} | {md_text(c.message)} |" for c in report.checked),
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

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def _workflow_command(name: str, properties: dict[str, str], message: str) -> str:
    from pgolf_cli.report.github import escape_data, escape_property

    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' if rendered else ''}{rendered}::{escape_data(message)}"


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
        lines.append(_workflow_command(_COMMAND[reason.severity], properties, message))
    verdict = report.verdict
    lines.append(
        _workflow_command(
            "notice" if verdict is Verdict.PASS else _COMMAND[_worst(report)],
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


def _shown(text: str) -> str:
    """Untrusted text for rich: no markup, no control characters."""
    return escape(inert(text))


def render_text(report: GateReport, *, color: bool = False, width: int = 100) -> str:
    console = text_console(color=color, width=width)
    verdict = report.verdict
    with console.capture() as capture:
        console.print(
            f"pgolf gate: [{_VERDICT_STYLE[verdict]}]{verdict.value}[/] — {_MEANING[verdict]}",
            soft_wrap=True,
        )
        facts = [f"head {report.head[:12]} ({_shown(report.head_ref)})"]
        facts.append(f"base {report.base[:12]} ({_shown(report.base_ref)})")
        if report.folder:
            facts.insert(0, f"folder {_shown(report.folder)}/")
        if report.record_claim and report.baseline is not None:
            facts.append(
                f"record claim against {_shown(report.baseline.path)} "
                f"(val_bpb {report.baseline.val_bpb:.5f})"
            )
        console.print("  ".join(facts), soft_wrap=True)
        if report.reasons:
            table = Table(show_header=True, header_style="bold")
            table.add_column("severity", no_wrap=True)
            table.add_column("reason", no_wrap=True)
            table.add_column("message", overflow="fold")
            for reason in report.reasons:
                style = _SEVERITY_STYLE[reason.severity]
                where = _where(reason)
                message = reason.message + (f" ({where})" if where else "")
                table.add_row(
                    f"[{style}]{reason.severity.value}[/]", _shown(reason.id), _shown(message)
                )
            console.print(table)
        for reason in report.reasons:
            if not reason.evidence or reason.severity == Severity.NOTE:
                continue
            console.print(f"  [{_SEVERITY_STYLE[reason.severity]}]{_shown(reason.id)}[/]:")
            for line in reason.evidence[:_EVIDENCE_LINES]:
                console.print(f"    {_shown(line)}", soft_wrap=True)
            if len(reason.evidence) > _EVIDENCE_LINES:
                more = len(reason.evidence) - _EVIDENCE_LINES
                console.print(f"    … {more} more (--format json lists all)", soft_wrap=True)
        passed = sum(1 for check in report.checked if check.status == "pass")
        console.print(
            f"{_tally(report)}; {passed} check(s) passed; exit {EXIT_CODES[verdict]}",
            soft_wrap=True,
        )
    return capture.get()
