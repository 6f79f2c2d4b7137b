"""README.md of the records folder, rendered from the templates in ``templates/``.

The words live in the templates (``string.Template`` files: ``record_README.md`` for the page,
the others for the paragraphs that depend on the run); this module only computes the values,
the tables and the lists that fill them.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pgolf_cli import __version__
from pgolf_cli.records.package.code import Code
from pgolf_cli.records.package.request import PLOT_NAME
from pgolf_cli.records.package.seeds import PackagedSeed
from pgolf_cli.records.package.submission_json import COMPLIANCE_RULES
from pgolf_cli.records.submission import Submission
from pgolf_cli.report import markdown

if TYPE_CHECKING:
    from pgolf_cli.audit.findings import FileResult
    from pgolf_cli.records.stats import Significance

README_TEMPLATE = "record_README.md"

_FAMILY_TEXT = {
    "roundtrip": "the standard evaluation, every token scored once in fixed blocks",
    "sliding": "the sliding-window evaluation",
    "ttt": "the evaluation with test-time training",
    "prequant": "a pre-quantization evaluation",
}


def template(name: str) -> str:
    """The text of the bundled template ``name`` (installed with the package)."""
    source = resources.files("pgolf_cli.records.package").joinpath("templates", name)
    return source.read_text(encoding="utf-8")


def _fill(name: str, **values: object) -> str:
    """A paragraph template filled in, without the file's final newline."""
    return string.Template(template(name)).substitute(values).removesuffix("\n")


def render_readme(
    seeds: Sequence[PackagedSeed],
    code: Code,
    submission: Submission,
    audit: FileResult,
    significance: Significance | None,
    steps: Mapping[str, str],
    run_dir: Path,
    plotted: bool = False,
) -> str:
    """README.md: the results per seed, the comparison, the compliance claims, the audit, how
    to reproduce the run and who to credit."""
    summary = submission.compliance.audit
    values = {
        "title": submission.name,
        "blurb": submission.blurb.strip(),
        "val_bpb": f"{submission.val_bpb:.8f}",
        "val_bpb_std": _decimals(submission.val_bpb_std),
        "seeds": _count(len(seeds), "seed"),
        "track": submission.track,
        "date": submission.date.isoformat(),
        "hardware": submission.hardware,
        "score_label": seeds[0].score.label,
        "score_kind": _FAMILY_TEXT[seeds[0].score.family],
        "seed_table": _seed_table(seeds, submission),
        "plot": _fill("plot.md", plot_file=PLOT_NAME) if plotted else _fill("no_plot.md"),
        "code": _code_paragraph(code),
        "significance": (
            _fill("no_baseline.md")
            if significance is None
            else _significance_text(significance, submission)
        ),
        "compliance_table": _compliance_table(seeds, submission),
        "audit_errors": summary.errors,
        "audit_warnings": summary.warnings,
        "audit_notes": summary.notes,
        "audit_suppressed": summary.suppressed,
        "audit_details": "".join(f"\n{line}" for line in _audit_lines(audit)),
        "data_step": _fill("data_step.md", command=steps["data"]) + "\n\n" if steps["data"] else "",
        "pgolf_command": steps["pgolf"],
        "plain_command": steps["plain"],
        "versions": _versions_line(submission),
        "author": submission.author,
        "github_id": submission.github_id,
        "credits": "".join(f"\n- {key}: {who}" for key, who in submission.attribution.items()),
        "run": run_dir.name,
        "pgolf_version": __version__,
    }
    return string.Template(template(README_TEMPLATE)).substitute(values)


def _seed_table(seeds: Sequence[PackagedSeed], submission: Submission) -> str:
    results = submission.seed_results
    rows = []
    for run in seeds:
        result = results[str(run.seed)]
        rows.append(
            [
                str(run.seed),
                f"{run.score.val_bpb:.8f}",
                f"{run.score.val_loss:.8f}",
                f"{result.artifact_bytes:,}",
                _thousands(result.bytes_model),
                _thousands(run.log.steps),
                _seconds(run.log.train_time_ms),
                _seconds(run.score.eval_time_ms),
                f"[{run.log_file}]({run.log_file})",
            ]
        )
    rows.append(
        [
            "**mean ± std**",
            f"**{submission.val_bpb:.8f}** ± {_decimals(submission.val_bpb_std)}",
            f"{submission.val_loss:.8f} ± {_decimals(submission.val_loss_std)}",
            f"max {submission.bytes_total:,}",
            "",
            "",
            "",
            "",
            "",
        ]
    )
    header = [
        "seed",
        "val_bpb",
        "val_loss",
        "artifact bytes",
        "model bytes",
        "steps",
        "train",
        "scoring pass",
        "log",
    ]
    return _table(header, rows, "lrrrrrrrl")


def _code_paragraph(code: Code) -> str:
    if code.packed:
        return _fill(
            "code_packed.md",
            codec=code.packed,
            shipped_bytes=f"{code.shipped_bytes:,}",
            raw_bytes=f"{code.raw_bytes:,}",
            sha256=code.sha256,
            saved_bytes=f"{code.saved_bytes:,}",
        )
    return _fill("code_as_run.md", raw_bytes=f"{code.raw_bytes:,}", sha256=code.sha256)


def _compliance_table(seeds: Sequence[PackagedSeed], submission: Submission) -> str:
    from pgolf_cli.audit.registry import all_rules

    claims = submission.compliance
    registered = {rule.id for rule in all_rules()}
    rows = [
        [
            "artifact ≤ 16,000,000 bytes",
            _mark(claims.artifact_under_16mb),
            "largest artifact " + f"{submission.bytes_total:,} bytes",
        ],
        [
            "training ≤ 600 s",
            _mark(claims.train_under_600s),
            "longest " + _seconds(max((r.log.train_time_ms or 0.0) for r in seeds)),
        ],
        [
            "evaluation < 600 s",
            _mark(claims.eval_under_600s),
            "longest scoring pass " + _seconds(max((r.score.eval_time_ms or 0.0) for r in seeds)),
        ],
        ["three seeds", _mark(claims.three_seeds), _count(len(seeds), "seed")],
    ]
    for key, rules in COMPLIANCE_RULES.items():
        checked = [rule for rule in rules if rule in registered]
        how = (
            f"audit rule {', '.join(checked)}"
            if checked
            else f"rule {', '.join(rules)} is not in pgolf {__version__}'s catalogue; "
            "submission.json records null (not checked)"
        )
        holds = _mark(getattr(claims, key)) if checked else "unchecked"
        rows.append([f"`{key}`", holds, how])
    return _table(["claim", "holds", "from"], rows, "lll")


def _audit_lines(audit: FileResult) -> list[str]:
    lines = []
    if audit.error:
        lines.append(f"The script could not be audited: {audit.error}")
    for finding in audit.findings:
        mark = " (suppressed)" if finding.suppressed else ""
        lines.append(
            f"- {finding.rule_id} {finding.rule_name} ({finding.severity}), line "
            f"{finding.line}{mark}: {finding.message}"
        )
    return lines


def _significance_text(result: Significance, submission: Submission) -> str:
    comparison = submission.comparison
    assert comparison is not None
    factor = result.factor
    rows = [
        [
            decision.name,
            f"{decision.test.shift:.8f}",
            f"{decision.test.t:.4f}",
            f"{decision.test.df:.3f}",
            f"{decision.test.p:.3g}",
            f"p < {decision.alpha:g}",
            "pass" if decision.passed else "fail",
        ]
        for decision in (result.shifted, result.unshifted, result.progression)
    ]
    return _fill(
        "significance.md",
        baseline=comparison.baseline,
        baseline_bpb=f"{result.baseline.mean:.8f}",
        baseline_seeds=_count(result.baseline.n or 1, "seed"),
        delta_bpb=f"{result.delta_bpb:+.8f}",
        delta_nats=f"{result.delta_nats_per_token:+.8f}",
        nats_per_bpb=f"{factor.nats_per_bpb:.5f}",
        factor_source=factor.detail + (f"; matches {factor.tokenizer}" if factor.tokenizer else ""),
        bar_nats=f"{result.delta_nats:g}",
        bar_bpb=f"{result.threshold_bpb:.8f}",
        test_kind=(
            "Welch two-sample t-test, Welch–Satterthwaite df"
            if result.kind == "welch"
            else "one-sample t-test against the baseline's mean, df = n − 1"
        ),
        table=_table(["test", "shift (bpb)", "t", "df", "p", "level", "result"], rows, "lrrrrll"),
        verdict=result.verdict,
        notes="".join(f"\n\nNote: {note}" for note in result.warnings),
    )


def _versions_line(submission: Submission) -> str:
    parts = [f"Python {submission.python_version}", f"PyTorch {submission.pytorch_version}"]
    parts.append(f"CUDA {submission.cuda_version}" if submission.cuda_version else "no CUDA")
    parts += [f"{key} {value}" for key, value in submission.software.items()]
    return ", ".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += [markdown.row(markdown.cell(cell) for cell in row) for row in rows]
    return "\n".join(lines)


def _seconds(ms: float | None) -> str:
    if ms is None:
        return "-"
    seconds = ms / 1000
    return f"{seconds:,.3f} s" if seconds < 10 else f"{seconds:,.1f} s"


def _decimals(value: float | None) -> str:
    return "-" if value is None else f"{value:.8f}"


def _thousands(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _mark(value: bool) -> str:
    return "yes" if value else "**no**"
