"""The one markdown escaper, and every markdown report through it, against hostile strings.

Each report is rendered to HTML by markdown-it (CommonMark with GitHub's tables, raw HTML
passed through as GitHub would sanitize it later) and read back: a hostile string must come
back as the same text in the cell it was put in, with no element, link or extra cell of its
own, and every ``@`` must be followed by the zero-width space that stops a mention.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from pgolf_cli.audit.findings import Severity
from pgolf_cli.gate.git import display_path as inert
from pgolf_cli.gate.model import Checked, GateReport, Reason
from pgolf_cli.records.verify import Check, FolderReport
from pgolf_cli.report import gate, sweep, verify
from pgolf_cli.report import markdown as md
from pgolf_cli.sweep.model import Change, RefResult, SweepReport

HOSTILE = (
    "a | b || c",
    "```js\nalert(1)\n```",
    "`tick` ``two``",
    "</details><details><summary>owned</summary>",
    "@octocat and @org/team, cc:@someone",
    '<img src=x onerror="alert(1)"> <script>alert(2)</script>',
    "line one\nline two\r\nthree",
    "[click](javascript:alert(1)) ![x](https://evil.example/p.png)",
    "# heading",
    "- item",
    "1. first",
    "> quote",
    "&lt;b&gt; &amp;",
    "back\\slash | \\| *star* _under_ ~~strike~~",
    "esc\x1b[31m bell\x07",
)
_RENDERER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


class _Page(HTMLParser):
    """The elements, links, prose and tables of rendered markdown."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.prose: list[str] = []
        """Text outside code: where GitHub would link a mention."""
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [value or "" for name, value in attrs if name in ("href", "src")]
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("code", "pre"):
            self._code += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag in ("code", "pre"):
            self._code -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if not self._code:
            self.prose.append(data)
        if self._cell is not None:
            self._cell.append(data)


def page(markdown: str) -> _Page:
    parser = _Page()
    parser.feed(_RENDERER.render(markdown))
    return parser


def text_of(markdown: str) -> str:
    return "".join(page(markdown).text).strip("\n")


def seen(untrusted: str, *, mention: bool = False) -> str:
    """What a reader sees of ``untrusted``: one line, control bytes spelled out, and outside
    code each ``@`` followed by the zero-width space that stops a mention."""
    flat = inert(" ".join(untrusted.split()))
    return flat if mention else flat.replace("@", "@\u200b")


def assert_inert(markdown: str, own_tags: set[str]) -> _Page:
    """No element but pgolf's own, no link, no live mention, and every table row whole."""
    rendered = page(markdown)
    assert set(rendered.tags) <= own_tags, set(rendered.tags) - own_tags
    assert rendered.links == []
    prose = "".join(rendered.prose)
    for index in (i for i, char in enumerate(prose) if char == "@"):
        assert prose[index + 1] == "\u200b", prose[index - 20 : index + 20]
    for table in rendered.tables:
        assert {len(row) for row in table} == {len(table[0])}, table
    return rendered


# --------------------------------------------------------------------------------------------
# The escaper
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("untrusted", HOSTILE)
def test_text_is_one_inert_paragraph_that_reads_as_written(untrusted: str) -> None:
    escaped = md.text(untrusted)
    assert "\n" not in escaped and "\r" not in escaped
    rendered = assert_inert(escaped, {"p"})
    assert rendered.tags == ["p"]
    assert text_of(escaped) == seen(untrusted)


@pytest.mark.parametrize("untrusted", HOSTILE)
def test_code_span_shows_the_text_as_written(untrusted: str) -> None:
    span = md.code(untrusted)
    assert page(span).tags == ["p", "code"]
    assert text_of(span) == seen(untrusted, mention=True)


@pytest.mark.parametrize("untrusted", HOSTILE)
def test_text_and_code_keep_a_table_cell_whole(untrusted: str) -> None:
    table = "\n".join(
        [
            "| a | b | c |",
            "|---|---|---|",
            md.row([md.text(untrusted), md.code(untrusted, in_table=True), "end"]),
        ]
    )
    rendered = assert_inert(table, {"table", "thead", "tbody", "tr", "th", "td", "code"})
    assert rendered.tables == [
        [["a", "b", "c"], [seen(untrusted), seen(untrusted, mention=True), "end"]]
    ]


def test_fence_outlasts_the_backticks_inside() -> None:
    lines = ["```", "</details>", "@octocat", "````` five"]
    fence = md.fence(lines)
    assert fence[0] == fence[-1] == "``````"
    assert page("\n".join(fence)).tags == ["pre", "code"]
    assert text_of("\n".join(fence)) == "\n".join(lines)


def test_fence_spells_control_bytes() -> None:
    assert md.fence(["a\x1b[2Jb"]) == ["```", "a\\x1b[2Jb", "```"]


def test_cell_makes_pgolf_markdown_fit_a_cell() -> None:
    assert md.cell("**mean** | x\ny") == "**mean** \\| x y"
    table = "| a | b |\n|---|---|\n" + md.row([md.cell("1 | 2"), md.cell("[log](a.txt)")])
    assert page(table).tables == [[["a", "b"], ["1 | 2", "log"]]]


def test_known_escapes() -> None:
    assert md.text("# a *b* <i> [x](y) @someone") == (
        "\\# a \\*b\\* \\<i\\> \\[x\\](y) @\u200bsomeone"
    )
    assert md.text("1. first") == "1\\. first"
    assert md.code("a`b") == "``a`b``"
    assert md.code("`x") == "`` `x ``"
    assert md.code("a|b", in_table=True) == "`a\\|b`"
    assert md.text("bell\x07 esc\x1b[31m") == "bell\\\\x07 esc\\\\x1b\\[31m"


# --------------------------------------------------------------------------------------------
# Through each report
# --------------------------------------------------------------------------------------------

_REPORT_TAGS = {"h1", "h2", "h3", "h4", "p", "ul", "li", "strong", "code", "pre", "sub", "br"}
_TABLE_TAGS = {"table", "thead", "tbody", "tr", "th", "td"}
# pgolf's own HTML in the reports: the folded details and the gate's comment marker.
_OWN_HTML = {"details", "summary"}


def _gate_report(hostile: str) -> GateReport:
    reason = Reason(
        id="verify.json-valid",
        severity=Severity.WARNING,
        title=hostile,
        message=hostile,
        evidence=(hostile, f"submission.json: {hostile}"),
        path=f"records/track_10min_16mb/2026-01-01_X/{hostile}",
        line=3,
    )
    return GateReport(
        base="a" * 40,
        head="b" * 40,
        merge_base="c" * 40,
        base_ref="main",
        head_ref=hostile,
        folder=f"records/track_10min_16mb/{hostile}",
        track=hostile,
        reasons=(reason,),
        checked=(Checked(id="verify.size", title="size", status="pass", message=hostile),),
    )


@pytest.mark.parametrize("hostile", HOSTILE)
def test_gate_markdown(hostile: str) -> None:
    report = gate.render_markdown(_gate_report(hostile))
    rendered = assert_inert(report, _REPORT_TAGS | _TABLE_TAGS | _OWN_HTML)
    assert rendered.tags.count("details") == 2
    assert rendered.tables == [
        [["check", "status", "result"], ["verify.size", "pass", seen(hostile)]]
    ]


def _folder_report(hostile: str) -> FolderReport:
    checks = (
        Check(id="structure", status="pass", title="structure", message=hostile),
        Check(
            id="json-valid",
            status="warn",
            title="json",
            message=hostile,
            evidence=(hostile, "```", "</details>"),
        ),
    )
    return FolderReport(
        path=f"records/track_10min_16mb/{hostile}",
        track=hostile,
        checks=checks,
        verdict="consistent",
        aggregation="single",
    )


@pytest.mark.parametrize("hostile", HOSTILE)
def test_verify_markdown(hostile: str) -> None:
    report = verify.render_markdown([_folder_report(hostile)])
    rendered = assert_inert(report, _REPORT_TAGS | _TABLE_TAGS | _OWN_HTML)
    assert rendered.tags.count("details") == 1
    summary, checks = rendered.tables
    assert summary[1] == [
        seen(Path(f"records/track_10min_16mb/{hostile}").name),
        seen(hostile),
        "needs-review",
        "-",
        "json-valid",
    ]
    assert [row[2] for row in checks[1:]] == [seen(hostile), seen(hostile)]


def _sweep_report(hostile: str) -> SweepReport:
    reason = Reason(
        id=f"audit.{hostile}",
        severity=Severity.ERROR,
        title="t",
        message=hostile,
        path=hostile,
        line=1,
    )
    results = (
        RefResult(ref=f"refs/pull/{hostile}", head="d" * 40, verdict="fail", reasons=(reason,)),
        RefResult(ref="refs/pull/2/head", head="e" * 40, verdict="error", error=hostile),
    )
    changes = (Change(ref=hostile, old="pass", new="fail", added=(hostile,)),)
    return SweepReport(
        repository="repo",
        base_ref=hostile,
        base="f" * 40,
        patterns=("refs/pull/*/head",),
        results=results,
        compared_with=hostile,
        changes=changes,
    )


@pytest.mark.parametrize("hostile", HOSTILE)
def test_sweep_markdown(hostile: str) -> None:
    report = sweep.render_markdown(_sweep_report(hostile))
    rendered = assert_inert(report, _REPORT_TAGS | _TABLE_TAGS)
    changes, by_reason, refs = rendered.tables
    assert changes[1] == [seen(hostile), "pass", "fail", seen(hostile), ""]
    assert by_reason[1] == [seen(f"audit.{hostile}"), "error", "1"]
    assert [row[0] for row in refs[1:]] == [seen(f"refs/pull/{hostile}"), "refs/pull/2/head"]
    assert refs[2][4] == seen(hostile)
