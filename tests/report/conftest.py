"""Hand-built audit reports for the reporter tests.

The reports cover what reporters must get right: several rules and severities, a suppressed
finding, one on code decoded from a packed wrapper, evidence lines, a dormant finding behind an
env switch, a file that could not be audited, input errors, and clean and empty reports.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pgolf_cli.audit.findings import (
    AuditReport,
    Confidence,
    Evidence,
    FileResult,
    Finding,
    Reachability,
    RuleInfo,
    Severity,
    Suppression,
    Switch,
)

RECORD = "records/track_10min_16mb/2026-02-01_Demo/train_gpt.py"
PACKED = "records/track_10min_16mb/2026-02-02_Packed/train_gpt.py"
BROKEN = "records/track_10min_16mb/2026-02-03_Broken/train_gpt.py"

CATALOGUE = (
    RuleInfo(
        id="PG101",
        name="val-finetune-before-scoring",
        severity=Severity.ERROR,
        confidence=Confidence.HIGH,
        summary="The model trains on validation tokens before they are scored.",
        help="## What it does\n\nFlags optimizer steps on validation tokens ahead of scoring.\n\n"
        "## Use instead\n\nScore each chunk first, then adapt on it.",
    ),
    RuleInfo(
        id="PG103",
        name="val-warmup-training",
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        summary="Warm-up steps read validation data.",
        help="Warm up on training shards only.",
    ),
    RuleInfo(
        id="PG205",
        name="unnormalized-target-blend",
        severity=Severity.WARNING,
        confidence=Confidence.MEDIUM,
        summary="A blend of distributions that does not sum to one.",
        help="",
    ),
    RuleInfo(
        id="PG401",
        name="network-at-eval",
        severity=Severity.ERROR,
        confidence=Confidence.HIGH,
        summary="Evaluation reaches the network.",
        help="Evaluation must be self-contained.",
    ),
    RuleInfo(
        id="PG402",
        name="training-data-at-eval",
        severity=Severity.ERROR,
        confidence=Confidence.MEDIUM,
        summary="Evaluation reads training data.",
        help="Keep training shards out of evaluation.",
    ),
    RuleInfo(
        id="PG902",
        name="packed-source-decoded",
        severity=Severity.NOTE,
        confidence=Confidence.HIGH,
        summary="The script is a packed wrapper; its decoded code was audited.",
        help="Nothing to fix: this says where the audited lines come from.",
    ),
)


def make_finding(
    rule_id: str,
    line: int,
    snippet: str,
    *,
    path: str = RECORD,
    message: str | None = None,
    end_line: int | None = None,
    severity: Severity | None = None,
    **extra: object,
) -> Finding:
    """A complete finding of a catalogue rule, with the rule's severity unless given."""
    info = next(r for r in CATALOGUE if r.id == rule_id)
    fields: dict[str, object] = {
        "rule_id": info.id,
        "rule_name": info.name,
        "severity": severity or info.severity,
        "confidence": info.confidence,
        "message": message or info.summary,
        "path": path,
        "line": line,
        "end_line": end_line if end_line is not None else line + snippet.count("\n"),
        "snippet": snippet,
        "help": info.help,
        "fingerprint": Finding.make_fingerprint(info.id, path, snippet, 0),
    }
    fields.update(extra)
    return Finding(**fields)  # type: ignore[arg-type]


def full_report() -> AuditReport:
    finetune = make_finding(
        "PG101",
        120,
        "    loss = model(val_x, val_y)\n    loss.backward(); opt.step()",
        message="opt.step() trains on val_tokens before eval_val() scores them",
        evidence=(
            Evidence(40, "validation tokens loaded here", "val_tokens = load_val(args.val_files)"),
            Evidence(118, "batch sliced from val_tokens", "    val_x = val_tokens[i : i + n]"),
        ),
    )
    dormant = make_finding(
        "PG103",
        200,
        "\tfor _ in range(20): warm(val_tokens)",
        severity=Severity.WARNING,
        reachability=Reachability.OFF_BY_DEFAULT,
        switches=(Switch("VAL_WARMUP", "0", 12),),
        evidence=(Evidence(12, "switch", 'VAL_WARMUP = int(os.environ.get("VAL_WARMUP", "0"))'),),
    )
    silenced = make_finding(
        "PG205",
        250,
        "p = 0.7 * p_model + 0.4 * p_cache",
        suppressed=True,
        suppression_reason="renormalised on the next line",
    )
    eight_gpus = make_finding(
        "PG402",
        310,
        "if world_size > 1: tokens = load_train_shard(0)",
        reachability=Reachability.WORLD_SIZE,
    )
    record = FileResult(
        path=RECORD,
        findings=(finetune, dormant, silenced, eight_gpus),
        suppressions=(Suppression(249, ("PG205",), "renormalised on the next line", True),),
        shipped_bytes=48_213,
    )

    network = make_finding(
        "PG401",
        57,
        "urllib.request.urlopen(URL).read()",
        path=PACKED,
        decoded_from="lzma+base85",
    )
    decoded_note = make_finding(
        "PG902",
        1,
        'import lzma,base64;exec(lzma.decompress(base64.b85decode("...")))',
        path=PACKED,
        message="decoded a lzma+base85 wrapper (2 layers); findings count decoded lines",
    )
    packed = FileResult(
        path=PACKED,
        findings=(network, decoded_note),
        layers=("lzma", "base85"),
        shipped_bytes=15_034,
    )
    broken = FileResult(path=BROKEN, error="cannot read the file: permission denied")
    return AuditReport(files=(record, packed, broken), rules=CATALOGUE, tool_version="0.1.0")


def clean_report() -> AuditReport:
    return AuditReport(
        files=(FileResult(path="train_gpt.py", shipped_bytes=47_000),),
        rules=CATALOGUE,
        tool_version="0.1.0",
    )


def empty_report() -> AuditReport:
    return AuditReport(files=(), rules=(), tool_version="0.1.0")


def input_error_report() -> AuditReport:
    return AuditReport(
        files=(),
        rules=CATALOGUE,
        tool_version="0.1.0",
        errors=("no Python files under 'records/empty/': pass a train_gpt.py or a records folder",),
    )


REPORTS: dict[str, Callable[[], AuditReport]] = {
    "full": full_report,
    "clean": clean_report,
    "empty": empty_report,
    "input-error": input_error_report,
}


@pytest.fixture
def report() -> AuditReport:
    return full_report()


@pytest.fixture(params=sorted(REPORTS))
def any_report(request: pytest.FixtureRequest) -> AuditReport:
    return REPORTS[request.param]()


@pytest.fixture
def finding_factory() -> Callable[..., Finding]:
    return make_finding


@pytest.fixture
def clean() -> AuditReport:
    return clean_report()


@pytest.fixture
def empty() -> AuditReport:
    return empty_report()


@pytest.fixture
def input_error() -> AuditReport:
    return input_error_report()


@pytest.fixture
def build_full_report() -> Callable[[], AuditReport]:
    """Builds the full report afresh on each call (for determinism checks)."""
    return full_report
