"""Building a seed's run.json (:class:`pgolf_cli.run_folder.RunManifest`) from what pgolf
launched and what the log says.

The runner writes it when the seed starts (so a crash of pgolf itself still leaves a record)
and again when it ends, each time atomically.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from pgolf_cli import __version__
from pgolf_cli.challenge import ARTIFACT_LIMIT_BYTES, EVAL_LIMIT_MS, trained_within_cap
from pgolf_cli.records.logs import ParsedLog
from pgolf_cli.run_folder import (
    FLAG_ARTIFACT,
    FLAG_CODE_CHANGED,
    FLAG_EVAL_TIME,
    FLAG_NO_SCORE,
    FLAG_OVER_CAP,
    FLAG_SEED,
    FLAG_TRAIN_TIME,
    SCHEMA_VERSION,
    TRAIN_LOG,
    RunArtifact,
    RunData,
    RunHardware,
    RunManifest,
    RunResults,
    RunVersions,
    StoppedBy,
)
from pgolf_cli.runner.dataset import DataSelection
from pgolf_cli.runner.launch import Topology


@dataclass(frozen=True, slots=True)
class SeedRun:
    """What pgolf knows about one seed's run before the script prints anything."""

    name: str
    seed: int
    script: Path
    code_sha256: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    preset: str
    topology: Topology
    data: DataSelection | None
    started_at: datetime


def flags(log: ParsedLog, *, seed: int, code_sha256: str) -> list[str]:
    """The facts of ``log`` that break a challenge limit or do not match what pgolf launched.

    Training time is judged as verify and package judge it
    (:func:`pgolf_cli.challenge.trained_within_cap`), so a run pgolf flags is one they fail.
    """
    found: list[str] = []
    stopped_by_wallclock = log.stop_reason == "wallclock_cap"
    if log.train_time_ms is not None and not trained_within_cap(
        log.train_time_ms, log.step_avg_ms, stopped_by_wallclock=stopped_by_wallclock
    ):
        found.append(FLAG_TRAIN_TIME)
    cap_ms = _own_cap_ms(log)
    # The script's own cap (MAX_WALLCLOCK_SECONDS), judged the same way: a run past the cap it
    # was given did not run as configured, whatever the challenge's limit says.
    if (
        cap_ms is not None
        and log.train_time_ms is not None
        and FLAG_TRAIN_TIME not in found
        and not trained_within_cap(
            log.train_time_ms,
            log.step_avg_ms,
            stopped_by_wallclock=stopped_by_wallclock,
            cap_ms=cap_ms,
        )
    ):
        found.append(FLAG_OVER_CAP)
    if log.eval_time_ms is not None and log.eval_time_ms > EVAL_LIMIT_MS:
        found.append(FLAG_EVAL_TIME)
    if log.total_bytes is not None and log.total_bytes > ARTIFACT_LIMIT_BYTES:
        found.append(FLAG_ARTIFACT)
    if log.score is None:
        found.append(FLAG_NO_SCORE)
    if log.header.code_sha256 is not None and log.header.code_sha256 != code_sha256:
        found.append(FLAG_CODE_CHANGED)
    if log.seed is not None and log.seed != seed:
        found.append(FLAG_SEED)
    return found


def _own_cap_ms(log: ParsedLog) -> float | None:
    """The ``max_wallclock_seconds`` the script printed in its dump; None when it has none or
    it is 0 (no cap)."""
    raw = log.hyperparameters.get("max_wallclock_seconds")
    try:
        seconds = float(raw) if raw is not None else 0.0
    except ValueError:
        return None
    return seconds * 1000.0 if seconds > 0 else None


def results(log: ParsedLog) -> RunResults:
    score = log.score
    return RunResults(
        val_bpb=score.val_bpb if score else None,
        val_loss=score.val_loss if score else None,
        score_line=score.text if score else None,
        score_label=score.label if score else None,
        score_family=score.family if score else None,
        bytes_total=log.total_bytes,
        bytes_code=log.code_bytes,
        bytes_model=log.model_bytes,
        model_tag=log.total_tag or log.model_tag,
        steps=log.steps,
        total_steps=log.total_steps,
        stop_reason=log.stop_reason,
        train_time_ms=log.train_time_ms,
        step_avg_ms=log.step_avg_ms,
        eval_time_ms=log.eval_time_ms,
        score_eval_time_ms=score.eval_time_ms if score else None,
        peak_memory_allocated_mib=log.peak_memory_allocated_mib,
    )


def run_manifest(
    run: SeedRun,
    log: ParsedLog,
    *,
    finished_at: datetime | None = None,
    exit_status: int | None = None,
    stopped_by: StoppedBy | None = None,
    artifact: Path | None = None,
) -> RunManifest:
    """The seed's run.json; ``finished_at`` None means the run is still going."""
    header = log.header
    cuda = header.cuda if header.cuda not in (None, "none") else None
    return RunManifest(
        schema_version=SCHEMA_VERSION,
        name=run.name,
        seed=run.seed,
        script=str(run.script),
        code_sha256=run.code_sha256,
        command=run.command,
        cwd=str(run.cwd),
        env=run.env,
        preset=run.preset,
        versions=RunVersions(
            pgolf=__version__,
            python=header.python or platform.python_version(),
            torch=header.torch or _installed_version("torch"),
            cuda=cuda,
            template=header.template_version,
        ),
        hardware=RunHardware(
            cpu_count=os.cpu_count(),
            machine=platform.machine(),
            device=header.device,
            gpus=run.topology.world_size if cuda else 0,
            world_size=header.world_size or run.topology.world_size,
            nnodes=run.topology.nnodes,
            nproc_per_node=run.topology.nproc_per_node,
        ),
        data=RunData(
            dataset=run.data.name if run.data else None,
            dataset_dir=run.env.get("DATA_PATH"),
            tokenizer=run.env.get("TOKENIZER_PATH"),
            fingerprint=log.data or None,
            manifest=run.data.manifest if run.data else None,
        ),
        started_at=_timestamp(run.started_at),
        finished_at=_timestamp(finished_at) if finished_at else None,
        exit_status=exit_status,
        stopped_by=stopped_by,
        log=TRAIN_LOG,
        artifact=(
            RunArtifact(path=artifact.name, bytes=artifact.stat().st_size)
            if artifact is not None and artifact.is_file()
            else None
        ),
        results=results(log),
        flags=flags(log, seed=run.seed, code_sha256=run.code_sha256) if finished_at else [],
    )


def now() -> datetime:
    return datetime.now(UTC)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _installed_version(package: str) -> str | None:
    # The distribution's metadata, not an import: pgolf itself never imports torch to record it.
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
