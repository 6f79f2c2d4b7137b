"""submission.json's content: per-seed figures, means, compliance claims and the comparison
with a baseline, every figure read from the logs (and the packed code)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pgolf_cli import __version__
from pgolf_cli.challenge import ARTIFACT_LIMIT_BYTES, EVAL_LIMIT_MS, trained_within_cap
from pgolf_cli.records.logs import ParsedLog
from pgolf_cli.records.package.code import Code
from pgolf_cli.records.package.request import SCRIPT_NAME, PackageError, PackageRequest
from pgolf_cli.records.package.seeds import PackagedSeed
from pgolf_cli.records.submission import SUBMISSION_SCHEMA_VERSION
from pgolf_cli.run_folder import RunManifest

if TYPE_CHECKING:
    from pgolf_cli.audit.findings import FileResult
    from pgolf_cli.records.stats import Significance

RECORD_SEEDS = 3
# Compliance keys of the schema that rest on audit rules: true when none of these rules
# reported an unsuppressed error. PG202's shape covers both SLOT and the eval-time logit bias.
COMPLIANCE_RULES: Mapping[str, tuple[str, ...]] = {
    "score_first_ttt": ("PG102",),
    "no_pre_quant_ttt": ("PG101",),
    "no_ngram_cache": ("PG201",),
    "no_slot": ("PG202",),
    "no_etlb": ("PG202",),
}
_FAIL_CLOSED = ("PG901", "PG903", "PG906")


def artifact_bytes(run: PackagedSeed, code: Code) -> int:
    """The seed's artifact size with the code as shipped.

    Unpacked, it is the logged total. Packed, the logged code size is swapped for the packed
    file's (the model part is the logged total minus the logged code, or the model line).
    """
    if code.packed is None:
        return run.total_bytes
    if code.logged_bytes is not None:
        return run.total_bytes - code.logged_bytes + code.shipped_bytes
    if run.log.model_bytes is not None:
        return run.log.model_bytes + code.shipped_bytes
    raise PackageError(
        str(run.log_path),
        "prints neither the code size nor the model size, so the total with packed code "
        "cannot be computed",
        "Drop --pack-code",
    )


def trained_in_time(log: ParsedLog) -> bool:
    """Training ended inside the budget (:func:`pgolf_cli.challenge.trained_within_cap`)."""
    if log.train_time_ms is None:
        return False
    return trained_within_cap(
        log.train_time_ms, log.step_avg_ms, stopped_by_wallclock=log.stop_reason == "wallclock_cap"
    )


def audit_summary(result: FileResult) -> dict[str, object]:
    from pgolf_cli.audit.findings import Severity

    counted = [f for f in result.findings if not f.suppressed]
    return {
        "files": [SCRIPT_NAME],
        "errors": sum(1 for f in counted if f.severity == Severity.ERROR),
        "warnings": sum(1 for f in counted if f.severity == Severity.WARNING),
        "notes": sum(1 for f in counted if f.severity == Severity.NOTE),
        "suppressed": sum(1 for f in result.findings if f.suppressed),
        "rule_ids": sorted({f.rule_id for f in counted}),
    }


def rule_claims(result: FileResult) -> dict[str, bool | None]:
    """The audit-based compliance claims: no unsuppressed error of the rules behind each.

    A claim whose rules are not in this pgolf's catalogue is None ("not checked"): absence of
    a finding from a rule that does not exist proves nothing.
    """
    from pgolf_cli.audit.findings import Severity
    from pgolf_cli.audit.registry import all_rules

    registered = {rule.id for rule in all_rules()}
    errors = {
        f.rule_id for f in result.findings if not f.suppressed and f.severity == Severity.ERROR
    }
    unaudited = result.error is not None or bool(errors & set(_FAIL_CLOSED))
    claims: dict[str, bool | None] = {}
    for key, rules in COMPLIANCE_RULES.items():
        if not set(rules) & registered:
            claims[key] = None
        else:
            claims[key] = not unaudited and not (errors & set(rules))
    return claims


def compare(
    seeds: Sequence[PackagedSeed], baseline: Path
) -> tuple[Significance, dict[str, object], tuple[str, ...]]:
    """The shifted Welch test (one-sample with a one-seed baseline) against ``baseline``."""
    from pgolf_cli.records.stats import (
        Sample,
        StatsError,
        collect,
        cross_tokenizer_note,
        ratio_factor,
        significance,
    )

    if not baseline.is_dir():
        raise PackageError(
            f"--baseline {baseline}",
            "is not a folder",
            "Pass the records folder of the record to beat",
        )
    try:
        side = collect([str(baseline)], "baseline")
        factor = ratio_factor(
            [run.score.val_loss for run in seeds], [run.score.val_bpb for run in seeds]
        )
        notes = [*side.notes]
        crossing = cross_tokenizer_note(factor, side.factor())
        if crossing:
            notes.append(crossing)
        result = significance(
            Sample.of(run.score.val_bpb for run in seeds),
            side.sample,
            nats_per_bpb=factor,
            warnings=notes,
        )
    except StatsError as problem:
        raise PackageError(
            f"--baseline {baseline}",
            f"the significance test cannot be computed: {problem}",
            "Package at least 2 seeds with different scores, or leave out --baseline",
        ) from None
    test = result.shifted.test
    comparison: dict[str, object] = {
        "baseline": f"{baseline.resolve().parent.name}/{baseline.resolve().name}",
        "baseline_val_bpb": _round(result.baseline.mean),
        "baseline_n_seeds": result.baseline.n if result.baseline.has_spread else None,
        "delta_bpb": _round(result.delta_bpb),
        "delta_nats": _round(result.delta_nats_per_token),
        "nats_per_bpb": result.factor.nats_per_bpb,
        "nats_per_bpb_source": result.factor.detail,
        "threshold_nats": result.delta_nats,
        "test": result.kind,
        "t": test.t,
        "df": test.df,
        "p": test.p,
    }
    return result, comparison, result.warnings


def _round(value: float) -> float:
    # The logs print exact scores with 8 decimals; more digits in a mean are noise.
    return round(value, 8)


def _mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) >= 2 else None
    return _round(mean), None if std is None else _round(std)


def hardware_text(manifest: RunManifest) -> str:
    hw = manifest.hardware
    if hw.gpus:
        nodes = f" on {hw.nnodes} nodes" if hw.nnodes and hw.nnodes > 1 else ""
        return f"{hw.gpus}x{hw.device or 'GPU'}{nodes}"
    cores = f", {hw.cpu_count} cores" if hw.cpu_count else ""
    processes = hw.world_size or 1
    plural = "es" if processes > 1 else ""
    return f"CPU ({hw.machine or 'unknown machine'}{cores}), {processes} process{plural}"


def submission_data(
    request: PackageRequest,
    seeds: Sequence[PackagedSeed],
    code: Code,
    audit: FileResult,
    comparison: dict[str, object] | None,
) -> dict[str, object]:
    """submission.json as a dict, every figure read from the logs (and the packed code)."""
    manifest = seeds[0].manifest
    totals = {run.seed: artifact_bytes(run, code) for run in seeds}
    bpb_mean, bpb_std = _mean_std([run.score.val_bpb for run in seeds])
    loss_mean, loss_std = _mean_std([run.score.val_loss for run in seeds])
    if code.packed or code.logged_bytes is None:
        bytes_code = code.shipped_bytes
    else:
        bytes_code = code.logged_bytes
    software = {
        key: value
        for key, value in (
            ("pgolf", manifest.versions.pgolf),
            ("pgolf_template", manifest.versions.template),
        )
        if value
    }
    seed_results = {
        str(run.seed): {
            "val_bpb": run.score.val_bpb,
            "val_loss": run.score.val_loss,
            "artifact_bytes": totals[run.seed],
            "bytes_model": run.log.model_bytes,
            "steps": run.log.steps,
            "train_time_s": None if run.log.train_time_ms is None else run.log.train_time_ms / 1000,
            "eval_time_s": None
            if run.score.eval_time_ms is None
            else run.score.eval_time_ms / 1000,
            "log_file": run.log_file,
        }
        for run in seeds
    }
    compliance: dict[str, object] = {
        "artifact_under_16mb": all(total <= ARTIFACT_LIMIT_BYTES for total in totals.values()),
        "train_under_600s": all(trained_in_time(run.log) for run in seeds),
        "eval_under_600s": all(
            run.score.eval_time_ms is not None and run.score.eval_time_ms < EVAL_LIMIT_MS
            for run in seeds
        ),
        "three_seeds": len(seeds) >= RECORD_SEEDS,
        **rule_claims(audit),
        "audit": audit_summary(audit),
    }
    return {
        "track": request.track,
        "name": request.name,
        "author": request.author,
        "github_id": request.github_id,
        "date": request.date.isoformat(),
        "blurb": request.blurb,
        "val_bpb": bpb_mean,
        "val_loss": loss_mean,
        "val_bpb_std": bpb_std,
        "val_loss_std": loss_std,
        "seeds": [run.seed for run in seeds],
        "seed_results": seed_results,
        "bytes_code": bytes_code,
        "bytes_total": max(totals.values()),
        "artifact_bytes_mean": round(statistics.fmean(totals.values()), 2),
        "artifact_bytes_max": max(totals.values()),
        "hardware": hardware_text(manifest),
        "python_version": manifest.versions.python or "unknown",
        "pytorch_version": manifest.versions.torch or "unknown",
        "cuda_version": manifest.versions.cuda,
        "software": software,
        "compliance": compliance,
        "comparison": comparison,
        "attribution": dict(request.credits),
        "generated_by": {
            "tool": "pgolf",
            "version": __version__,
            "schema_version": SUBMISSION_SCHEMA_VERSION,
        },
    }
