"""The human-readable report, rendered with rich.

Findings are grouped by file. Each one shows where it is, what it is, whether the official run
reaches it, a short code excerpt (the finding's own lines marked with ``>``, evidence lines with
their labels) and the first paragraph of its help. The wording helpers here (:func:`count`,
:func:`reachability_note`) are shared with the other reporters so every format says the same.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from pgolf_cli.audit.findings import AuditReport, FileResult, Finding, Reachability, Severity

_SEVERITY_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "bold yellow",
    Severity.NOTE: "bold cyan",
}


@dataclass(frozen=True, slots=True)
class Counts:
    """What a report amounts to. Severity counts leave out suppressed findings."""

    error: int
    warning: int
    note: int
    suppressed: int
    files: int
    file_errors: int
    """Files that could not be audited at all."""
    input_errors: int
    """Problems with the input as a whole (``AuditReport.errors``)."""

    @property
    def findings(self) -> int:
        return self.error + self.warning + self.note


def count(report: AuditReport) -> Counts:
    by_severity = dict.fromkeys(Severity, 0)
    suppressed = 0
    for finding in report.findings:
        if finding.suppressed:
            suppressed += 1
        else:
            by_severity[finding.severity] += 1
    return Counts(
        error=by_severity[Severity.ERROR],
        warning=by_severity[Severity.WARNING],
        note=by_severity[Severity.NOTE],
        suppressed=suppressed,
        files=len(report.files),
        file_errors=sum(1 for r in report.files if r.error is not None),
        input_errors=len(report.errors),
    )


def reachability_note(finding: Finding) -> str | None:
    """One line on whether the official run executes the finding's code; None when it does by default."""
    if finding.reachability is Reachability.DEFAULT_ON:
        return None
    if finding.reachability is Reachability.OFF_BY_DEFAULT:
        switches = ", ".join(
            f"{s.env}={s.default} ({f'{s.path} ' if s.path else ''}line {s.line})"
            for s in finding.switches
        )
        if not switches:
            return "dormant: off by default"
        noun = "switch" if len(finding.switches) == 1 else "switches"
        return f"dormant: off by default, {noun} {switches}"
    if finding.reachability is Reachability.WORLD_SIZE:
        return "runs when world_size > 1, as in the official 8-GPU run"
    return "reachability unknown: no entry point to reason from"


def summary_line(counts: Counts) -> str:
    if counts.findings == 0:
        text = "no findings"
        if counts.suppressed:
            text += f" ({counts.suppressed} suppressed)"
        text += f" in {_plural(counts.files, 'file')}"
    else:
        text = (
            f"{_plural(counts.error, 'error')}, {_plural(counts.warning, 'warning')}, "
            f"{_plural(counts.note, 'note')}, {counts.suppressed} suppressed, "
            f"in {_plural(counts.files, 'file')}"
        )
    if counts.file_errors:
        text += f"; {_plural(counts.file_errors, 'file')} not audited"
    if counts.input_errors:
        text += f"; {_plural(counts.input_errors, 'input error')}"
    return text


def render(
    report: AuditReport, *, color: bool = False, width: int = 100, show_suppressed: bool = False
) -> str:
    buffer = io.StringIO()
    # An explicit colour system and height keep the output the same whatever TERM says
    # (rich ignores the width it is given on a "dumb" terminal unless the height is set too).
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=width,
        height=25,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    for result in report.files:
        findings = [f for f in result.findings if show_suppressed or not f.suppressed]
        if not findings and result.error is None:
            continue
        _print(console, _file_header(result), 0)
        if result.error is not None:
            _print(console, Text.assemble(("error: ", "bold red"), result.error), 1)
        for finding in findings:
            for text, level in _finding(finding, width):
                _print(console, text, level)
        console.print()
    for error in report.errors:
        _print(console, Text.assemble(("error: ", "bold red"), error), 0)
    if report.errors:
        console.print()
    counts = count(report)
    style = "bold red" if counts.error or counts.file_errors or counts.input_errors else "bold"
    _print(console, Text(summary_line(counts), style=style), 0)
    return buffer.getvalue()


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _file_header(result: FileResult) -> Text:
    header = Text(result.path, style="bold underline")
    if result.layers:
        header.append(f"  decoded from packed wrapper: {' > '.join(result.layers)}", style="dim")
    return header


def _print(console: Console, text: Text, level: int) -> None:
    """Print ``text`` indented by ``level`` steps, wrapped lines included."""
    indent = "  " * level
    if text.no_wrap:
        console.print(Text(indent) + text, no_wrap=True, overflow="ellipsis")
        return
    for line in text.wrap(console, max(console.width - len(indent), 20)):
        line.rstrip()
        console.print(Text(indent) + line, no_wrap=True, overflow="ignore")


def _finding(finding: Finding, width: int) -> Iterable[tuple[Text, int]]:
    head = Text.assemble(
        (f"{finding.path}:{finding.line}: ", "bold"),
        (finding.rule_id, "bold"),
        " ",
        finding.rule_name,
        " ",
        (finding.severity.value, _SEVERITY_STYLE[finding.severity]),
        f"/{finding.confidence.value}",
    )
    if finding.decoded_from:
        head.append(f"  (line of code decoded from {finding.decoded_from})", style="dim")
    if finding.suppressed:
        head.stylize("dim")
    yield head, 1
    yield Text(finding.message), 2
    if finding.suppressed:
        reason = finding.suppression_reason or "no reason given"
        yield Text(f"suppressed: {reason}", style="dim"), 2
    note = reachability_note(finding)
    if note is not None:
        yield Text(note, style="yellow"), 2
    for line in _excerpt(finding, width - 4):
        yield line, 2
    # Evidence in another file of the program (a records folder) is listed with its file.
    for evidence in finding.evidence:
        if evidence.path is not None:
            elsewhere = Text.assemble(
                (f"{evidence.path}:{evidence.line}: ", "dim"),
                evidence.code.strip(),
                (f"  <- {evidence.label}", "italic cyan"),
            )
            yield elsewhere, 2
    help_line = first_paragraph(finding.help)
    if help_line:
        yield Text.assemble(("help: ", "bold"), help_line), 2


def _excerpt(finding: Finding, width: int) -> Iterable[Text]:
    """The finding's own lines and its evidence lines, in line order, with gaps marked."""
    code: dict[int, str] = {}
    labels: dict[int, list[str]] = {}
    own: set[int] = set()
    for offset, source in enumerate(finding.snippet.splitlines()):
        code[finding.line + offset] = source
        own.add(finding.line + offset)
    for evidence in finding.evidence:
        if evidence.path is not None:
            continue  # another file's line: listed after the excerpt
        if evidence.code and not code.get(evidence.line):
            code[evidence.line] = evidence.code
        code.setdefault(evidence.line, "")
        labels.setdefault(evidence.line, []).append(evidence.label)
    if not code:
        return
    lines = sorted(code)
    sources = _dedent([code[n].expandtabs(4) for n in lines])
    gutter = len(str(lines[-1]))
    previous: int | None = None
    for number, source in zip(lines, sources, strict=True):
        if previous is not None and number > previous + 1:
            yield Text(f"  {'...':>{gutter}}", style="dim")
        previous = number
        marker = "> " if number in own else "  "
        line = Text(f"{marker}{number:>{gutter}} | ", style="dim")
        label = Text()
        if number in labels:
            label = Text(f"  <- {'; '.join(labels[number])}", style="italic cyan")
        # Minified code puts a whole program on one line: crop the code, keep the label.
        code_text = Text(source)
        room = width - line.cell_len - label.cell_len
        code_text.truncate(max(room, 8), overflow="ellipsis")
        line.append_text(code_text)
        line.append_text(label)
        line.no_wrap = True
        yield line


def _dedent(sources: list[str]) -> list[str]:
    indents = [len(s) - len(s.lstrip()) for s in sources if s.strip()]
    common = min(indents, default=0)
    return [s[common:].rstrip() for s in sources]


def first_paragraph(help_text: str) -> str:
    """The first paragraph of prose, skipping markdown headings, as one line."""
    for paragraph in help_text.split("\n\n"):
        prose = [line for line in paragraph.splitlines() if not line.lstrip().startswith("#")]
        if any(line.strip() for line in prose):
            return " ".join(" ".join(prose).split())
    return ""
