"""The sweep's report in each format; pure functions of a :class:`SweepReport`.

- ``markdown``: summaries by verdict and by reason, the changes since an earlier sweep, and the
  table of refs. Every string from a pull request (ref names, folders, paths, messages) goes
  through :mod:`pgolf_cli.report.markdown`.
- ``html``: one self-contained file (inline style and script, a Content-Security-Policy that
  forbids any network access) with the same content, the table sortable by any column and
  filterable by verdict, reason and text. Untrusted strings are made inert
  (:func:`pgolf_cli.gate.git.display_path`) and HTML-escaped, attributes included.
- ``json``: ``schema_version``, the summaries, the cache statistics and one row per ref.
- ``csv``: one row per ref for spreadsheets and scripts; a cell that a spreadsheet would read
  as a formula is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import html
import io
import json
from typing import Any

from pgolf_cli import __version__
from pgolf_cli.audit.findings import Severity
from pgolf_cli.gate.git import display_path as inert
from pgolf_cli.report import ReportFormats
from pgolf_cli.report import markdown as md
from pgolf_cli.report.gate import where
from pgolf_cli.sweep.model import ERROR, STATUSES, SWEEP_SCHEMA_VERSION, RefResult, SweepReport

_ICON = {"pass": "✅", "fail": "❌", "needs-review": "⚠️", ERROR: "💥"}
# Characters that make a spreadsheet cell a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _score(result: RefResult) -> str:
    return "" if result.claimed_val_bpb is None else f"{result.claimed_val_bpb:.5f}"


def _verdict_line(report: SweepReport) -> str:
    counts = report.by_verdict()
    return " · ".join(f"{_ICON[status]} {status} {counts[status]}" for status in STATUSES)


def _stats_line(report: SweepReport) -> str:
    stats = report.stats
    rate = stats.audit_hit_rate
    return (
        f"{len(report.results)} refs in {stats.seconds:.1f} s with {stats.jobs} job(s); "
        f"{stats.refs_from_cache} from the cache; audits: {stats.audits_run} run, "
        f"{stats.audits_reused} reused" + (f" (hit rate {rate:.0%})" if rate is not None else "")
    )


# --------------------------------------------------------------------------------------------
# json
# --------------------------------------------------------------------------------------------


def to_dict(report: SweepReport) -> dict[str, Any]:
    return {
        "schema_version": SWEEP_SCHEMA_VERSION,
        "tool": {"name": "pgolf", "version": __version__},
        "repository": {
            "path": report.repository,
            "base_ref": report.base_ref,
            "base": report.base,
            "patterns": list(report.patterns),
        },
        "summary": {
            "refs": len(report.results),
            "by_verdict": report.by_verdict(),
            "by_reason": [
                {"id": rid, "severity": severity, "refs": n}
                for rid, severity, n in report.by_reason()
            ],
        },
        "stats": report.stats.as_dict(),
        "compared_with": report.compared_with,
        "changes": [change.as_dict() for change in report.changes],
        "refs": [result.as_dict() for result in report.results],
    }


def render_json(report: SweepReport) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# csv
# --------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "ref",
    "head",
    "verdict",
    "folder",
    "track",
    "claimed_val_bpb",
    "record_claim",
    "errors",
    "warnings",
    "blocking",
    "error",
)


def _cell(value: object) -> object:
    if isinstance(value, str):
        value = inert(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


def render_csv(report: SweepReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in report.results:
        blocking = result.blocking
        row: list[object] = [
            result.ref,
            result.head,
            result.verdict,
            result.folder or "",
            result.track or "",
            "" if result.claimed_val_bpb is None else repr(result.claimed_val_bpb),
            "" if result.record_claim is None else str(result.record_claim).lower(),
            sum(r.severity == Severity.ERROR for r in blocking),
            sum(r.severity == Severity.WARNING for r in blocking),
            "; ".join(f"{r.id} {where(r)}".strip() for r in blocking),
            result.error or "",
        ]
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# markdown
# --------------------------------------------------------------------------------------------


def _md_reasons(result: RefResult) -> str:
    if result.error is not None:
        return md.text(result.error)
    return "<br>".join(
        f"{_ICON['fail'] if r.severity == Severity.ERROR else _ICON['needs-review']} "
        + md.text(r.id)
        + (f" at {md.text(where(r))}" if r.path else "")
        for r in result.blocking
    )


def render_markdown(report: SweepReport) -> str:
    lines = [
        f"## pgolf sweep: {len(report.results)} refs against {md.code(report.base_ref)} "
        f"({md.code(report.base[:12])})",
        "",
        _verdict_line(report),
        "",
        f"<sub>{md.text(_stats_line(report))}</sub>",
        "",
    ]
    if report.compared_with is not None:
        lines += [f"### Changes since {md.code(report.compared_with)}", ""]
        if report.changes:
            lines += ["| ref | was | now | reasons added | reasons gone |", "|---|---|---|---|---|"]
            lines += [
                f"| {md.text(c.ref)} | {c.old or 'absent'} | {c.new or 'absent'} | "
                f"{md.text(', '.join(c.added))} | {md.text(', '.join(c.removed))} |"
                for c in report.changes
            ]
        else:
            lines.append("No ref changed its verdict.")
        lines.append("")
    by_reason = report.by_reason()
    if by_reason:
        lines += ["### By reason", "", "| reason | severity | refs |", "|---|---|---:|"]
        lines += [f"| {md.text(rid)} | {sev} | {n} |" for rid, sev, n in by_reason]
        lines.append("")
    lines += [
        "### Refs",
        "",
        "| ref | verdict | folder | val_bpb | blocking reasons |",
        "|---|---|---|---:|---|",
    ]
    for result in report.results:
        lines.append(
            f"| {md.text(result.ref)} | {_ICON[result.verdict]} {result.verdict} | "
            f"{md.text(result.folder or '')} | {_score(result)} | {_md_reasons(result)} |"
        )
    lines += ["", f"<sub>pgolf {__version__}</sub>"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# html
# --------------------------------------------------------------------------------------------


def _h(text: str) -> str:
    """Untrusted text as inert HTML, safe in element content and in quoted attributes."""
    return html.escape(inert(text), quote=True)


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1f2328}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa;cursor:pointer;user-select:none;white-space:nowrap}
th[data-dir=asc]::after{content:" \\25B2"}th[data-dir=desc]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,monospace;word-break:break-all}
.fail{color:#cf222e}.needs-review{color:#9a6700}.error{color:#8250df}.pass{color:#1a7f37}
.controls{margin:.8em 0;display:flex;gap:.6em;align-items:center;flex-wrap:wrap}
.controls input{min-width:22em;padding:.2em .4em}
.pick{cursor:pointer;text-decoration:underline dotted}
#shown{color:#57606a}
ul.reasons{margin:0;padding-left:1.1em}
"""

# Sorting and filtering over the rows already in the page; no data is fetched or evaluated.
_SCRIPT = """
(function(){
const table=document.getElementById('refs'),body=table.tBodies[0];
const rows=Array.from(body.rows);
const q=document.getElementById('q'),verdict=document.getElementById('verdict'),
reason=document.getElementById('reason'),shown=document.getElementById('shown');
function apply(){
  const text=q.value.toLowerCase(),v=verdict.value,r=reason.value;let n=0;
  for(const row of rows){
    const ok=(!v||row.dataset.verdict===v)&&(!r||row.dataset.reasons.split(' ').includes(r))
      &&(!text||row.textContent.toLowerCase().includes(text));
    row.hidden=!ok;if(ok)n++;
  }
  shown.textContent=n+' of '+rows.length+' refs shown';
}
for(const input of [q,verdict,reason]){input.addEventListener('input',apply);}
for(const pick of document.querySelectorAll('[data-pick]')){
  pick.addEventListener('click',()=>{
    const [what,value]=[pick.dataset.pick,pick.dataset.value];
    (what==='verdict'?verdict:reason).value=value;apply();
  });
}
const heads=Array.from(table.tHead.rows[0].cells);
heads.forEach((th,column)=>th.addEventListener('click',()=>{
  const dir=th.dataset.dir==='asc'?'desc':'asc';
  heads.forEach(h=>delete h.dataset.dir);th.dataset.dir=dir;
  const numeric=th.dataset.type==='num',sign=dir==='asc'?1:-1;
  const key=row=>{const cell=row.cells[column];const s=cell.dataset.sort??cell.textContent;
    return numeric?(s===''?Infinity:parseFloat(s)):s.toLowerCase();};
  rows.sort((a,b)=>{const x=key(a),y=key(b);return (x<y?-1:x>y?1:0)*sign;});
  for(const row of rows)body.appendChild(row);
}));
apply();
})();
"""


def _html_reasons(result: RefResult) -> str:
    if result.error is not None:
        return f'<span class="error">{_h(result.error)}</span>'
    items = []
    for r in result.blocking:
        place = f" <code>{_h(where(r))}</code>" if r.path else ""
        items.append(
            f'<li class="{r.severity.value}" title="{_h(r.message)}">'
            f"<code>{_h(r.id)}</code>{place}</li>"
        )
    return f'<ul class="reasons">{"".join(items)}</ul>' if items else ""


def render_html(report: SweepReport) -> str:
    counts = report.by_verdict()
    by_reason = report.by_reason()
    verdict_rank = {status: index for index, status in enumerate(STATUSES)}
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>pgolf sweep: {len(report.results)} refs</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>pgolf sweep: {len(report.results)} refs against <code>{_h(report.base_ref)}</code>"
        f" (<code>{_h(report.base[:12])}</code>)</h1>",
        "<p>"
        + " · ".join(
            f'<span class="pick {status}" data-pick="verdict" data-value="{status}">'
            f"{_ICON[status]} {status} {counts[status]}</span>"
            for status in STATUSES
        )
        + "</p>",
        f"<p><small>{_h(_stats_line(report))}</small></p>",
    ]
    if report.compared_with is not None:
        parts.append(f"<h2>Changes since <code>{_h(report.compared_with)}</code></h2>")
        if report.changes:
            parts.append(
                "<table><thead><tr><th>ref</th><th>was</th><th>now</th><th>reasons added</th>"
                "<th>reasons gone</th></tr></thead><tbody>"
            )
            parts += [
                f"<tr><td><code>{_h(c.ref)}</code></td><td>{_h(c.old or 'absent')}</td>"
                f"<td>{_h(c.new or 'absent')}</td><td>{_h(', '.join(c.added))}</td>"
                f"<td>{_h(', '.join(c.removed))}</td></tr>"
                for c in report.changes
            ]
            parts.append("</tbody></table>")
        else:
            parts.append("<p>No ref changed its verdict.</p>")
    if by_reason:
        parts.append(
            "<h2>By reason</h2><table><thead><tr><th>reason</th><th>severity</th>"
            "<th>refs</th></tr></thead><tbody>"
        )
        parts += [
            f'<tr><td><span class="pick" data-pick="reason" data-value="{_h(rid)}">'
            f'<code>{_h(rid)}</code></span></td><td class="{_h(sev)}">{_h(sev)}</td>'
            f'<td class="num">{n}</td></tr>'
            for rid, sev, n in by_reason
        ]
        parts.append("</tbody></table>")
    options = "".join(f'<option value="{s}">{s} ({counts[s]})</option>' for s in STATUSES)
    reason_options = "".join(
        f'<option value="{_h(rid)}">{_h(rid)} ({n})</option>' for rid, _, n in by_reason
    )
    parts += [
        "<h2>Refs</h2>",
        '<div class="controls"><input id="q" type="search" placeholder="filter: ref, folder, '
        'reason, path…">'
        f'<select id="verdict"><option value="">every verdict</option>{options}</select>'
        f'<select id="reason"><option value="">every reason</option>{reason_options}</select>'
        '<span id="shown"></span></div>',
        '<table id="refs"><thead><tr><th data-type="num">ref</th><th data-type="num">verdict</th>'
        '<th>folder</th><th data-type="num">val_bpb</th><th data-type="num">blocking reasons'
        "</th></tr></thead><tbody>",
    ]
    # Refs come in natural order (pull 9 before pull 10): their column sorts by that position.
    for position, result in enumerate(report.results):
        reason_ids = " ".join(sorted({r.id for r in result.blocking}))
        parts.append(
            f'<tr data-verdict="{_h(result.verdict)}" data-reasons="{_h(reason_ids)}">'
            f'<td data-sort="{position}"><code>{_h(result.ref)}</code></td>'
            f'<td class="{_h(result.verdict)}" data-sort="{verdict_rank[result.verdict]}">'
            f"{_ICON[result.verdict]} {_h(result.verdict)}</td>"
            f"<td><code>{_h(result.folder or '')}</code></td>"
            f'<td class="num">{_score(result)}</td>'
            f'<td data-sort="{len(result.blocking)}">{_html_reasons(result)}</td></tr>'
        )
    parts += [
        "</tbody></table>",
        f"<p><small>pgolf {_h(__version__)}</small></p>",
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


FORMATS: ReportFormats[SweepReport] = ReportFormats(
    "sweep",
    {
        "markdown": lambda report, _: render_markdown(report),
        "json": lambda report, _: render_json(report),
        "html": lambda report, _: render_html(report),
        "csv": lambda report, _: render_csv(report),
    },
)
render = FORMATS.render
