"""A run folder and its run.json: where ``pgolf train`` puts each seed, and what it records.

The layout is ``<runs>/<name>/seed<S>/{run.json, train.log, final_model.<tag>.ptz}``; node
ranks above 0 of a multi-node run write ``<runs>/<name>-node<R>/``. :class:`RunManifest` is
run.json's one model: the runner builds it (:mod:`pgolf_cli.runner.manifest`) and writes it
with :func:`write_run_json`; packaging reads it back with :func:`read_run_json`. Its fields are
documented in docs/pipeline.md.

This module needs neither the runner nor the records: both depend on it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pgolf_cli.challenge import ARTIFACT_LIMIT_BYTES
from pgolf_cli.errors import PgolfInputError
from pgolf_cli.files import write_atomically

SCHEMA_VERSION = 1
RUN_JSON = "run.json"
TRAIN_LOG = "train.log"

_SEED_FOLDER = re.compile(r"seed(\d+)")
_NODE_FOLDER = re.compile(r"-node\d+$")
_HEX64 = re.compile(r"[0-9a-f]{64}")

#: run.json's ``flags``: facts a reviewer checks (docs/pipeline.md); the challenge's limits are
#: 10 minutes of training, 10 of evaluation and a 16 MB (decimal) artifact.
FLAG_TRAIN_TIME = "train_time_over_600s"
FLAG_OVER_CAP = "train_time_over_cap"
FLAG_EVAL_TIME = "eval_time_over_600s"
FLAG_ARTIFACT = f"artifact_over_{ARTIFACT_LIMIT_BYTES}_bytes"
FLAG_NO_SCORE = "no_score"
FLAG_CODE_CHANGED = "code_sha256_mismatch"
FLAG_SEED = "seed_mismatch"

StoppedBy = Literal["interrupt", "failure"]


# --------------------------------------------------------------------------------------------
# The layout
# --------------------------------------------------------------------------------------------


def seed_folder(seed: int) -> str:
    """The name of one seed's folder inside the run folder."""
    return f"seed{seed}"


def node_folder(name: str, node_rank: int) -> str:
    """The run folder's name on node ``node_rank`` (rank 0, which has the scores, uses
    ``name``; on a shared filesystem every other node writes its own)."""
    return name if node_rank == 0 else f"{name}-node{node_rank}"


def is_node_folder(name: str) -> bool:
    """``name`` is the folder of a node rank above 0 (it holds no scores)."""
    return _NODE_FOLDER.search(name) is not None


def seed_folders(run_dir: Path) -> list[Path]:
    """The seed folders of ``run_dir``, by name."""
    return sorted(
        child
        for child in run_dir.iterdir()
        if _SEED_FOLDER.fullmatch(child.name) and child.is_dir()
    )


def run_seeds(run_dir: Path) -> tuple[int, ...]:
    """The seeds that have a seed folder in ``run_dir``, in increasing order."""
    return tuple(sorted(int(folder.name.removeprefix("seed")) for folder in seed_folders(run_dir)))


def seed_logs(run_dir: Path) -> list[Path]:
    """The seeds' train logs: ``seed<S>/<the log run.json names>`` (``train.log`` when run.json
    is missing or names none), by seed folder name; a seed whose log is missing has none."""
    logs = []
    for folder in seed_folders(run_dir):
        name = _log_name(folder / RUN_JSON)
        if (folder / name).is_file():
            logs.append(folder / name)
    return logs


def _log_name(path: Path) -> str:
    # Only the one key, read leniently: plotting or testing logs must not fail on a run.json
    # that packaging (read_run_json) would refuse.
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return TRAIN_LOG
    name = data.get("log") if isinstance(data, dict) else None
    return (Path(name).name or TRAIN_LOG) if isinstance(name, str) else TRAIN_LOG


def run_json_paths(run_dir: Path) -> list[Path]:
    """The run.json of every seed folder of ``run_dir``."""
    return [folder / RUN_JSON for folder in seed_folders(run_dir) if (folder / RUN_JSON).is_file()]


# --------------------------------------------------------------------------------------------
# run.json
# --------------------------------------------------------------------------------------------


class _Part(BaseModel):
    # Strict types catch a hand-edited "42" for 42; unknown keys are fine (a newer pgolf's).
    # A key that an older pgolf did not write reads as its default.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class RunVersions(_Part):
    pgolf: str | None = None
    python: str | None = None
    torch: str | None = None
    cuda: str | None = None
    template: str | None = None


class RunHardware(_Part):
    cpu_count: int | None = None
    machine: str | None = None
    device: str | None = None
    gpus: int | None = None
    world_size: int | None = None
    nnodes: int | None = None
    nproc_per_node: int | None = None


class RunData(_Part):
    dataset: str | None = None
    dataset_dir: str | None = None
    tokenizer: str | None = None
    fingerprint: dict[str, int] | None = None
    """The log's ``data:`` line as an object."""
    manifest: dict[str, Any] | None = None
    """The dataset's manifest.json."""


class RunArtifact(_Part):
    path: str
    bytes: int = Field(ge=0)


class RunResults(_Part):
    val_bpb: float | None = None
    val_loss: float | None = None
    score_line: str | None = None
    score_label: str | None = None
    score_family: str | None = None
    bytes_total: int | None = None
    bytes_code: int | None = None
    bytes_model: int | None = None
    model_tag: str | None = None
    steps: int | None = None
    total_steps: int | None = None
    stop_reason: str | None = None
    train_time_ms: float | None = None
    step_avg_ms: float | None = None
    eval_time_ms: float | None = None
    score_eval_time_ms: float | None = None
    peak_memory_allocated_mib: int | None = None


class RunManifest(_Part):
    """run.json, in the order of its keys."""

    schema_version: int
    name: str
    seed: int = Field(ge=0)
    script: str
    code_sha256: str
    command: list[str]
    cwd: str | None = None
    env: dict[str, str]
    preset: str | None = None
    versions: RunVersions = Field(default_factory=RunVersions)
    hardware: RunHardware = Field(default_factory=RunHardware)
    data: RunData | None = None
    started_at: str | None = None
    finished_at: str | None = None
    """None while the seed runs."""
    exit_status: int | None = None
    stopped_by: StoppedBy | None = None
    log: str = TRAIN_LOG
    artifact: RunArtifact | None = None
    results: RunResults = Field(default_factory=RunResults)
    flags: list[str] = Field(default_factory=list)

    @property
    def scored(self) -> bool:
        """The seed finished with a score (the only seeds a records folder may hold)."""
        return self.finished_at is not None and self.stopped_by is None


def write_run_json(path: Path, manifest: RunManifest) -> None:
    """Write ``manifest`` to ``path`` so that a reader sees the old file or the whole new one."""
    data = manifest.model_dump(mode="json")
    write_atomically(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_run_json(path: Path) -> RunManifest:
    """Read and type-check one seed's run.json; :class:`PgolfInputError` names what is wrong."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PgolfInputError(
            where,
            "is missing, so this seed folder was not written by `pgolf train`",
            "Package a run folder made by `pgolf train`, or leave this seed out with --seeds",
        ) from None
    except (OSError, UnicodeDecodeError) as problem:
        reason = getattr(problem, "strerror", None) or problem
        raise PgolfInputError(
            where, f"cannot be read ({reason})", "Check that the file exists and is readable"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as problem:
        raise PgolfInputError(
            where,
            f"is not valid JSON (line {problem.lineno}, column {problem.colno}: {problem.msg})",
            "Restore it from the run, or re-run the seed with `pgolf train`",
        ) from None
    if not isinstance(data, dict):
        raise PgolfInputError(where, "is not a JSON object", "Re-run the seed with `pgolf train`")
    try:
        manifest = RunManifest.model_validate(data)
    except ValidationError as error:
        problems = []
        for detail in error.errors(include_url=False):
            key = ".".join(str(part) for part in detail["loc"]) or "(top level)"
            if detail["type"] == "missing":
                problems.append(f"{key}: required key is missing")
            else:
                got = json.dumps(detail["input"], default=str)
                got = got if len(got) <= 60 else got[:57] + "..."
                problems.append(f"{key}: {detail['msg'].lower()}, got {got}")
        raise PgolfInputError(
            where,
            "has values of the wrong type: " + "; ".join(problems),
            "Fix the keys named (a number must not be quoted), or re-run the seed with "
            "`pgolf train`",
        ) from None
    if not _HEX64.fullmatch(manifest.code_sha256):
        raise PgolfInputError(
            where,
            f"code_sha256 is {manifest.code_sha256!r}, not a sha256 in hex",
            "Re-run the seed with `pgolf train`",
        )
    return manifest
