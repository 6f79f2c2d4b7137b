"""Packaging a training run as a records folder: ``records/track_<track>/<YYYY-MM-DD>_<Name>/``.

Two steps with different jobs:

* :func:`plan_package` reads the run (``runs/<name>/seed<S>/{run.json, train.log, artifact}``),
  checks that the seeds form one finished, consistent run, and computes every file of the
  folder in memory: ``train_seed<S>.log`` (the logs verbatim), ``train_gpt.py`` (the script as
  run, or a self-extracting wrapper of it), ``submission.json`` (from the logs, validated
  against the strict schema), ``README.md`` (from ``templates/record_README.md``) and
  ``requirements.txt``. It writes nothing; bad input raises :class:`PackageError`.
* :func:`write_package` builds the folder in a hidden temporary directory inside the track
  folder, runs ``verify`` on it, and only then renames it into place. A folder that fails
  verification is removed and :class:`VerifyFailed` carries the report. An existing folder is
  replaced only with ``force``, and it stays in place until the new one is complete.

Nothing here runs the training script: the code is hashed, compressed and decoded as data, and
audited statically.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import lzma
import math
import os
import re
import shutil
import statistics
import string
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import pgolf_cli
from pgolf_cli import __version__
from pgolf_cli.challenge import ARTIFACT_LIMIT_BYTES, EVAL_LIMIT_MS, trained_within_cap
from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.logs import ParsedLog, Score, common_scores, read_log
from pgolf_cli.records.submission import (
    SUBMISSION_SCHEMA_VERSION,
    Submission,
    Track,
    validate_strict,
)
from pgolf_cli.report import markdown

if TYPE_CHECKING:
    from pgolf_cli.audit.findings import FileResult
    from pgolf_cli.records.stats import Significance
    from pgolf_cli.records.verify import FolderReport

PackCodec = Literal["lzma", "brotli"]
PACK_CODECS: tuple[PackCodec, ...] = get_args(PackCodec)

#: The challenge's limits, as the submission's compliance block states them.
RECORD_SEEDS = 3

README_TEMPLATE = "record_README.md"
PLOT_NAME = "train_curves.svg"
SCRIPT_NAME = "train_gpt.py"
RUN_JSON = "run.json"
STAGING_PREFIX = ".pgolf-package-"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_NAME_MAX = 100
_DATED = re.compile(r"\d{4}-\d{2}-\d{2}_")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_GITHUB_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_SEED_DIR = re.compile(r"seed(\d+)")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Variables pgolf sets for every seed that say nothing about the configuration.
_PER_SEED_ENV = frozenset({"SEED", "RUN_ID"})
_LAUNCH_ENV = frozenset({"PYTHONUNBUFFERED"})
# Variables pgolf derives from --dataset; the pgolf command names the dataset instead.
_DATA_ENV = frozenset({"DATA_PATH", "TOKENIZER_PATH", "VOCAB_SIZE"})
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


class PackageError(PgolfInputError):
    """The run cannot be packaged as asked: which file or flag, what is wrong, what to do."""


class VerifyFailed(Exception):
    """The built folder failed ``pgolf verify``; nothing was left behind."""

    def __init__(self, report: FolderReport) -> None:
        super().__init__(f"{report.path}: failed verification")
        self.report = report


# --------------------------------------------------------------------------------------------
# The request
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PackageRequest:
    """What ``pgolf package`` was asked to do."""

    run_dir: Path
    name: str
    """The description part of the folder name (``<date>_<name>``)."""
    author: str
    github_id: str
    blurb: str
    """A sentence or two on what is new (not empty: every record carries one)."""
    track: Track = "10min_16mb"
    seeds: tuple[int, ...] | None = None
    """Seeds to package; None means every seed folder of the run."""
    out: Path = Path("records")
    """The records tree: the folder goes to ``out/track_<track>/``."""
    date: dt.date = field(default_factory=dt.date.today)
    baseline: Path | None = None
    pack_code: PackCodec | None = None
    force: bool = False
    credits: Mapping[str, str] = field(default_factory=dict)
    """Attribution: technique -> who."""

    @property
    def folder_name(self) -> str:
        return f"{self.date.isoformat()}_{self.name}"


def check_name(name: str) -> None:
    """Raise :class:`PackageError` unless ``name`` is a safe folder description."""
    where = f"--name {name!r}"
    if not name:
        raise PackageError(where, "is empty", "Give a short description such as SP8192_LegalTTT")
    if any(ch.isspace() for ch in name):
        raise PackageError(
            where,
            "contains whitespace, which breaks links and tools (one merged record has spaces)",
            "Use _ or - between words, e.g. --name " + re.sub(r"\s+", "_", name.strip()),
        )
    if "/" in name or "\\" in name or ".." in name:
        raise PackageError(
            where,
            "contains a path separator or '..'; the name must stay one folder inside the track",
            "Give a plain description such as SP8192_LegalTTT",
        )
    if _DATED.match(name):
        raise PackageError(
            where,
            "starts with a date; the folder's date comes from --date",
            f"Pass only the description: --name {name[11:] or 'Description'}",
        )
    if not _NAME.fullmatch(name):
        raise PackageError(
            where,
            "may only use letters, digits and . _ + -, starting with a letter or digit",
            "Rename it, e.g. SP8192_QK5_LegalTTT",
        )
    if len(name) > _NAME_MAX:
        raise PackageError(
            where, f"is {len(name)} characters long", f"Keep it to {_NAME_MAX} characters or fewer"
        )


def parse_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` as a date, else :class:`PackageError`."""
    try:
        if _DAY.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise PackageError(f"--date {text!r}", "is not a calendar day", "Write it as YYYY-MM-DD")


@dataclass(frozen=True, slots=True)
class LatestRun:
    """The run :func:`latest_run` chose, and newer runs it passed over because no seed scored."""

    path: Path
    skipped: tuple[Path, ...] = ()


def latest_run(runs_root: Path) -> LatestRun:
    """The run folder under ``runs_root`` whose run.json files were written last, among the
    runs with at least one seed that finished with a score: a newer run that failed (a crash,
    Ctrl-C) is passed over, and named, rather than packaged into an error."""
    if not runs_root.is_dir():
        raise PackageError(
            str(runs_root),
            "no such folder of training runs",
            "Run `pgolf train` first, or name the run with --run runs/<name>",
        )
    stamped: list[tuple[float, Path, bool]] = []
    for run in runs_root.iterdir():
        # Node ranks above 0 of a multi-node run write <name>-node<R>/; rank 0 has the scores.
        if not run.is_dir() or re.search(r"-node\d+$", run.name):
            continue
        manifests = list(run.glob(f"seed*/{RUN_JSON}"))
        if manifests:
            stamp = max(manifest.stat().st_mtime for manifest in manifests)
            stamped.append((stamp, run, any(_scored(manifest) for manifest in manifests)))
    if not stamped:
        raise PackageError(
            str(runs_root),
            "holds no run folder with seed*/run.json",
            "Run `pgolf train` first, or name the run with --run runs/<name>",
        )
    stamped.sort(key=lambda item: item[0], reverse=True)
    skipped: list[Path] = []
    for _, run, scored in stamped:
        if scored:
            return LatestRun(run, tuple(skipped))
        skipped.append(run)
    raise PackageError(
        str(runs_root),
        "holds no run with a seed that finished with a score (newest: "
        f"{stamped[0][1].name}; see its seed*/train.log)",
        "Fix the run and train again with `pgolf train`",
    )


def _scored(manifest: Path) -> bool:
    """run.json says the seed finished with a score (unreadable counts as not)."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return (
        isinstance(data, dict)
        and data.get("finished_at") is not None
        and data.get("stopped_by") is None
    )


# --------------------------------------------------------------------------------------------
# run.json, as far as packaging reads it
# --------------------------------------------------------------------------------------------


class _RunPart(BaseModel):
    # Strict types catch a hand-edited "42" for 42; unknown keys are fine (newer pgolf).
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class RunVersions(_RunPart):
    pgolf: str | None = None
    python: str | None = None
    torch: str | None = None
    cuda: str | None = None
    template: str | None = None


class RunHardware(_RunPart):
    cpu_count: int | None = None
    machine: str | None = None
    device: str | None = None
    gpus: int | None = None
    world_size: int | None = None
    nnodes: int | None = None
    nproc_per_node: int | None = None


class RunData(_RunPart):
    dataset: str | None = None
    dataset_dir: str | None = None
    tokenizer: str | None = None


class RunArtifact(_RunPart):
    path: str
    bytes: int = Field(ge=0)


class RunResults(_RunPart):
    val_bpb: float | None = None
    bytes_total: int | None = None


class RunManifest(_RunPart):
    """The fields of run.json (docs/pipeline.md) that packaging uses."""

    schema_version: int
    name: str
    seed: int = Field(ge=0)
    preset: str | None = None
    script: str
    code_sha256: str
    command: list[str]
    env: dict[str, str]
    versions: RunVersions = Field(default_factory=RunVersions)
    hardware: RunHardware = Field(default_factory=RunHardware)
    data: RunData | None = None
    finished_at: str | None = None
    exit_status: int | None = None
    stopped_by: str | None = None
    log: str = "train.log"
    artifact: RunArtifact | None = None
    results: RunResults = Field(default_factory=RunResults)
    flags: list[str] = Field(default_factory=list)


def read_run_json(path: Path) -> RunManifest:
    """Read and type-check one seed's run.json."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackageError(
            where,
            "is missing, so this seed folder was not written by `pgolf train`",
            "Package a run folder made by `pgolf train`, or leave this seed out with --seeds",
        ) from None
    except (OSError, UnicodeDecodeError) as problem:
        reason = getattr(problem, "strerror", None) or problem
        raise PackageError(
            where, f"cannot be read ({reason})", "Check that the file exists and is readable"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as problem:
        raise PackageError(
            where,
            f"is not valid JSON (line {problem.lineno}, column {problem.colno}: {problem.msg})",
            "Restore it from the run, or re-run the seed with `pgolf train`",
        ) from None
    if not isinstance(data, dict):
        raise PackageError(where, "is not a JSON object", "Re-run the seed with `pgolf train`")
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
        raise PackageError(
            where,
            "has values of the wrong type: " + "; ".join(problems),
            "Fix the keys named (a number must not be quoted), or re-run the seed with "
            "`pgolf train`",
        ) from None
    if not _HEX64.fullmatch(manifest.code_sha256):
        raise PackageError(
            where,
            f"code_sha256 is {manifest.code_sha256!r}, not a sha256 in hex",
            "Re-run the seed with `pgolf train`",
        )
    return manifest


# --------------------------------------------------------------------------------------------
# Reading the seeds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeedRun:
    """One seed, read and checked."""

    seed: int
    folder: Path
    manifest: RunManifest
    log_path: Path
    log: ParsedLog
    score: Score
    total_bytes: int
    log_bytes: bytes

    @property
    def log_file(self) -> str:
        return f"train_seed{self.seed}.log"


def run_seeds(run_dir: Path) -> tuple[int, ...]:
    """The seeds that have a ``seed<S>`` folder in ``run_dir``, in increasing order."""
    found = []
    for child in run_dir.iterdir():
        match = _SEED_DIR.fullmatch(child.name)
        if match and child.is_dir():
            found.append(int(match[1]))
    return tuple(sorted(found))


def read_seed(run_dir: Path, seed: int, available: Sequence[int]) -> SeedRun:
    """Read one seed's run.json and log and check that the seed finished with a score."""
    folder = run_dir / f"seed{seed}"
    if not folder.is_dir():
        have = ", ".join(str(s) for s in available) or "none"
        raise PackageError(
            str(run_dir),
            f"has no seed {seed} (no folder seed{seed}); its seeds are: {have}",
            "Pick seeds of this run with --seeds, or run the seed with `pgolf train`",
        )
    manifest_path = folder / RUN_JSON
    manifest = read_run_json(manifest_path)
    if manifest.seed != seed:
        raise PackageError(
            str(manifest_path),
            f"is for seed {manifest.seed}, but it sits in the folder of seed {seed}",
            "Put the seed folders back as `pgolf train` wrote them",
        )
    if manifest.finished_at is None or manifest.stopped_by is not None:
        how = manifest.stopped_by or "it has not finished (finished_at is null)"
        raise PackageError(
            str(manifest_path),
            f"seed {seed} did not finish with a score ({how})",
            "Re-run that seed, or leave it out with --seeds",
        )
    for flag, problem in (
        ("code_sha256_mismatch", "the log's code_sha256 is not the launched script's"),
        ("seed_mismatch", "the log ran another seed than the one launched"),
    ):
        if flag in manifest.flags:
            raise PackageError(
                str(manifest_path),
                f"flags {flag}: {problem}",
                "Re-run the seed with `pgolf train`",
            )
    if "/" in manifest.log or "\\" in manifest.log or manifest.log in ("", ".", ".."):
        raise PackageError(
            str(manifest_path),
            f"names the log {manifest.log!r}, which is not a file in the seed folder",
            'Set "log" to "train.log"',
        )
    log_path = folder / manifest.log
    if not log_path.is_file():
        raise PackageError(
            str(log_path),
            f"is missing: seed {seed} has no train log",
            "Restore the log the run wrote, or leave the seed out with --seeds",
        )
    try:
        log_bytes = log_path.read_bytes()
    except OSError as problem:
        raise PackageError(
            str(log_path),
            f"cannot be read ({problem.strerror or problem})",
            "Check that the file is readable",
        ) from None
    log = read_log(log_path)
    where = str(log_path)
    if log.has_nonfinite_loss:
        lines = ", ".join(str(n) for n in log.nonfinite_loss_lines[:5])
        raise PackageError(
            where,
            f"has a NaN or infinite loss (line {lines}): training diverged",
            "Fix the run (learning rate, precision) and train the seed again",
        )
    score = log.score
    if score is None:
        raise PackageError(
            where,
            "has no final score line (a post-quantization val_bpb): the run was cut short or "
            "the log is truncated",
            "Re-run the seed, or leave it out with --seeds",
        )
    if log.total_bytes is None:
        raise PackageError(
            where,
            "has no `Total submission size` line, so the artifact size is unknown",
            "Package logs of the template or a script that prints the standard size lines",
        )
    if log.seed_in_log is not None and log.seed_in_log != seed:
        raise PackageError(
            where,
            f"prints seed {log.seed_in_log}, but it is the log of seed {seed}",
            "Re-run the seed with `pgolf train`",
        )
    if log.header.code_sha256 is not None and log.header.code_sha256 != manifest.code_sha256:
        raise PackageError(
            where,
            f"was printed by code with sha256 {log.header.code_sha256[:12]}…, but run.json "
            f"launched {manifest.code_sha256[:12]}…",
            "Re-run the seed with `pgolf train`",
        )
    logged = manifest.results.val_bpb
    if logged is not None and not math.isclose(logged, score.val_bpb, rel_tol=0, abs_tol=1e-9):
        raise PackageError(
            where,
            f"scores {score.val_bpb}, but run.json recorded {logged}: the log was changed "
            "after the run",
            "Restore the log the run wrote",
        )
    _check_artifact(folder, manifest, log)
    return SeedRun(
        seed=seed,
        folder=folder,
        manifest=manifest,
        log_path=log_path,
        log=log,
        score=score,
        total_bytes=log.total_bytes,
        log_bytes=log_bytes,
    )


def one_score_kind(seeds: Sequence[SeedRun]) -> tuple[SeedRun, ...]:
    """The seeds with their scores read from one evaluation kind (:func:`common_scores`)."""
    scores = common_scores([run.log for run in seeds])
    return tuple(
        run if score is None else replace(run, score=score)
        for run, score in zip(seeds, scores, strict=True)
    )


def _check_artifact(folder: Path, manifest: RunManifest, log: ParsedLog) -> None:
    # The model file is not shipped (the records never are), but when it is still there its
    # size must be the one the log counted, or the log belongs to another artifact.
    if manifest.artifact is None or log.model_bytes is None:
        return
    name = manifest.artifact.path
    if "/" in name or "\\" in name:
        return
    artifact = folder / name
    if not artifact.is_file():
        return
    size = artifact.stat().st_size
    if size != log.model_bytes:
        raise PackageError(
            str(artifact),
            f"is {size} bytes, but the log counted a {log.model_bytes}-byte model",
            "The artifact or the log was replaced after the run; re-run the seed",
        )


# --------------------------------------------------------------------------------------------
# The code
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Code:
    """The training script as run and as shipped."""

    source_path: Path
    source: bytes
    sha256: str
    shipped: bytes
    packed: PackCodec | None
    logged_bytes: int | None
    """The code size the logs counted (None when they print none)."""

    @property
    def raw_bytes(self) -> int:
        return len(self.source)

    @property
    def shipped_bytes(self) -> int:
        return len(self.shipped)

    @property
    def saved_bytes(self) -> int:
        return self.raw_bytes - self.shipped_bytes


def read_code(seeds: Sequence[SeedRun]) -> bytes:
    """The one script all seeds ran, checked by hash against run.json and the logs."""
    by_hash: dict[str, list[int]] = {}
    for run in seeds:
        by_hash.setdefault(run.manifest.code_sha256, []).append(run.seed)
    if len(by_hash) > 1:
        groups = "; ".join(
            f"seed{'s' if len(group) > 1 else ''} {', '.join(map(str, group))} ran {digest[:12]}…"
            for digest, group in by_hash.items()
        )
        raise PackageError(
            str(seeds[0].folder.parent),
            f"the seeds ran different code ({groups})",
            "A record is one script: package seeds that ran the same train_gpt.py "
            "(pick them with --seeds), or re-run the others",
        )
    digest = seeds[0].manifest.code_sha256
    script = Path(seeds[0].manifest.script)
    try:
        data = script.read_bytes()
    except FileNotFoundError:
        raise PackageError(
            str(script),
            "the script the run launched (run.json `script`) no longer exists",
            "Restore it as it was when the run started",
        ) from None
    except OSError as problem:
        raise PackageError(
            str(script),
            f"the script the run launched cannot be read ({problem.strerror or problem})",
            "Check that the file is readable",
        ) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        runs = ", ".join(str(run.seed) for run in seeds)
        raise PackageError(
            str(script),
            f"has changed since seeds {runs} ran it (sha256 {actual[:12]}…, the run launched "
            f"{digest[:12]}…)",
            "Restore the script as it was run (e.g. from git), or train again with this one",
        )
    return data


def pack_source(source: bytes, codec: PackCodec) -> bytes:
    """A self-extracting ``train_gpt.py``: the compressed source in base85, exec'd on start."""
    if codec == "lzma":
        payload = base64.b85encode(lzma.compress(source, preset=9 | lzma.PRESET_EXTREME))
        head = b'import lzma as L,base64 as B\nexec(L.decompress(B.b85decode("'
    else:
        import brotli  # type: ignore[import-untyped]

        payload = base64.b85encode(brotli.compress(source, quality=11))
        head = b'import brotli as B,base64 as b\nexec(B.decompress(b.b85decode("'
    # The base85 alphabet has no quote or backslash, so the payload is a plain string literal.
    return head + payload + b'")))\n'


def check_packed(packed: bytes, source: bytes, codec: PackCodec, where: str) -> None:
    """Decode ``packed`` statically (never run it) and require the exact ``source`` back."""
    from pgolf_cli.audit.source import unpack

    inner, layers, undecodable = unpack(packed.decode("ascii"))
    if undecodable is not None or len(layers) != 1 or not layers[0].kind.startswith(codec):
        reason = undecodable.reason if undecodable else f"{len(layers)} layer(s) decoded"
        raise PackageError(
            where,
            f"the {codec} wrapper pgolf built does not decode statically ({reason})",
            "Report this as a pgolf bug; package without --pack-code meanwhile",
        )
    if inner.encode("utf-8") != source:
        raise PackageError(
            where,
            f"the {codec} wrapper does not decode to the exact script",
            "Save the script as UTF-8 without a byte-order mark, or package without --pack-code",
        )


def make_code(seeds: Sequence[SeedRun], pack: PackCodec | None) -> Code:
    source = read_code(seeds)
    where = seeds[0].manifest.script
    logged = {run.log.code_bytes for run in seeds}
    if len(logged) > 1:
        shown = ", ".join(str(size) for size in sorted(s for s in logged if s is not None))
        raise PackageError(
            str(seeds[0].folder.parent),
            f"the logs count different code sizes ({shown}) for the same script",
            "Package seeds whose logs came from this script",
        )
    shipped = source
    if pack is not None:
        from pgolf_cli.audit.source import unpack

        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError:
            raise PackageError(
                where, "is not UTF-8 text", "Save the script as UTF-8 or drop --pack-code"
            ) from None
        if unpack(text)[1]:
            raise PackageError(
                where,
                "is already a packed wrapper; packing it again would gain nothing",
                "Drop --pack-code",
            )
        shipped = pack_source(source, pack)
        check_packed(shipped, source, pack, where)
        if len(shipped) >= len(source):
            raise PackageError(
                where,
                f"packed with {pack} it would be {len(shipped)} bytes, not smaller than its "
                f"{len(source)} bytes",
                "Drop --pack-code (it pays off for scripts of a few KB and more)",
            )
    return Code(
        source_path=Path(where),
        source=source,
        sha256=seeds[0].manifest.code_sha256,
        shipped=shipped,
        packed=pack,
        logged_bytes=next(iter(logged)),
    )


# --------------------------------------------------------------------------------------------
# Per-seed figures, compliance and the comparison
# --------------------------------------------------------------------------------------------


def artifact_bytes(run: SeedRun, code: Code) -> int:
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


def audit_code(code: Code) -> FileResult:
    """The static audit of the shipped script (decoding a packed wrapper, never running it)."""
    from pgolf_cli.audit.engine import audit_source
    from pgolf_cli.audit.source import SourceError, source_from_bytes

    try:
        source = source_from_bytes(SCRIPT_NAME, code.shipped)
    except SourceError as problem:
        raise PackageError(
            str(code.source_path), problem.problem, "Package a Python source file"
        ) from None
    return audit_source(source)


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
    seeds: Sequence[SeedRun], baseline: Path
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


# --------------------------------------------------------------------------------------------
# Environment facts: hardware, versions, requirements, the reproduction command
# --------------------------------------------------------------------------------------------


def hardware_text(manifest: RunManifest) -> str:
    hw = manifest.hardware
    if hw.gpus:
        nodes = f" on {hw.nnodes} nodes" if hw.nnodes and hw.nnodes > 1 else ""
        return f"{hw.gpus}x{hw.device or 'GPU'}{nodes}"
    cores = f", {hw.cpu_count} cores" if hw.cpu_count else ""
    processes = hw.world_size or 1
    plural = "es" if processes > 1 else ""
    return f"CPU ({hw.machine or 'unknown machine'}{cores}), {processes} process{plural}"


def _third_party_modules(code: Code) -> list[str]:
    """Top-level modules the script (and its wrapper) imports that are not the stdlib's."""
    import ast

    from pgolf_cli.audit.source import unpack

    texts = [code.shipped.decode("utf-8", errors="replace")]
    texts.append(unpack(texts[0])[0])
    found: set[str] = set()
    for text in texts:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the audit reports it (PG901, PG906)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return sorted(m for m in found if m not in sys.stdlib_module_names and m != "__future__")


def requirements_text(code: Code, manifest: RunManifest, run_dir: Path) -> str:
    """requirements.txt: the script's third-party imports, torch pinned to the run's version."""
    distributions = metadata.packages_distributions()
    torch = manifest.versions.torch
    lines = [
        "# Packages train_gpt.py imports, written by `pgolf package` from "
        f"{run_dir.name}/seed*/run.json.",
        f"# The seeds ran Python {manifest.versions.python or 'of an unknown version'}"
        + (f" and PyTorch {torch}." if torch else "."),
    ]
    if torch and "+" in torch:
        lines.append(
            f"# PyTorch {torch} is a platform build: install it for your platform first "
            "(https://pytorch.org/get-started/locally/)."
        )
    names: list[str] = []
    for module in _third_party_modules(code):
        name = (distributions.get(module) or [module])[0].lower()
        if module == "torch" and torch:
            name = f"torch=={torch.split('+')[0]}"
        if name not in names:
            names.append(name)
    return "\n".join([*lines, *names]) + "\n"


def _shell_word(value: str) -> str:
    import shlex

    return shlex.quote(value)


def _shell_value(value: str) -> str:
    """A value for ``KEY=value`` in bash, quoted where needed, with ``$SEED`` left to expand
    (a seed is digits, so it needs no quotes)."""
    return "$SEED".join(_shell_word(part) if part else "" for part in value.split("$SEED"))


def _portable_path(key: str, value: str, manifest: RunManifest) -> str:
    """Data paths relative to the data folder; a machine's absolute paths mean nothing to
    others (and should not be published)."""
    dataset = manifest.data.dataset if manifest.data else None
    path = Path(value)
    if key == "DATA_PATH" and dataset and path.name == dataset and path.parent.name == "datasets":
        return f"./data/datasets/{dataset}"
    if key == "TOKENIZER_PATH" and path.parent.name == "tokenizers":
        return f"./data/tokenizers/{path.name}"
    return value


def _per_seed_value(key: str, value: str, seed: int) -> str:
    """``SEED=42`` -> ``$SEED``; ``RUN_ID=tiny-seed42`` -> ``tiny-seed$SEED``."""
    if key == "SEED" and value == str(seed):
        return "$SEED"
    return re.sub(rf"(?<!\d){seed}$", "$SEED", value)


def seed_env(seeds: Sequence[SeedRun]) -> list[tuple[str, str]]:
    """The environment pgolf set, per-seed values written with ``$SEED``; seeds must agree."""
    first = seeds[0]
    merged: list[tuple[str, str]] = []
    keys = list(first.manifest.env)
    for other in seeds[1:]:
        keys += [key for key in other.manifest.env if key not in keys]
    for key in keys:
        if key in _LAUNCH_ENV:
            continue
        found = [run.manifest.env.get(key) for run in seeds]
        if key in _PER_SEED_ENV:
            found = [
                None if value is None else _per_seed_value(key, value, run.seed)
                for value, run in zip(found, seeds, strict=True)
            ]
            if len(set(found)) > 1 or found[0] is None:
                continue  # a name that follows no pattern: it only labels the run's outputs
        value = found[0]
        if len(set(found)) > 1 or value is None:
            shown = "; ".join(
                f"seed {run.seed}: {run.manifest.env.get(key, '(unset)')}" for run in seeds
            )
            raise PackageError(
                str(first.folder.parent),
                f"the seeds ran different settings: {key} ({shown})",
                "A record is one configuration: package seeds that ran the same settings",
            )
        merged.append((key, _portable_path(key, value, first.manifest)))
    return merged


def reproduction(seeds: Sequence[SeedRun], env: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The commands that reproduce the seeds: data preparation, with pgolf, and plain torchrun."""
    from pgolf_cli.data.names import builtin_vocab_size, official_vocab_size
    from pgolf_cli.runner.presets import PRESETS

    manifest = seeds[0].manifest
    seed_list = " ".join(str(run.seed) for run in seeds)
    dataset = manifest.data.dataset if manifest.data else None

    builtin = builtin_vocab_size(dataset or "")
    official = official_vocab_size(dataset or "")
    if builtin is not None:
        data = f"pgolf data build --vocab-size {builtin}"
    elif official is not None:
        data = f"pgolf data fineweb --variant sp{official}"
    else:
        data = ""

    preset = PRESETS.get(manifest.preset or "")
    words = ["pgolf", "train", SCRIPT_NAME]
    if preset is not None:
        words += ["--preset", preset.name]
    words += ["--seeds", *seed_list.split()]
    if dataset:
        words += ["--dataset", dataset]
    hw = manifest.hardware
    if hw.nproc_per_node:
        words += ["--nproc-per-node", str(hw.nproc_per_node)]
    if hw.nnodes and hw.nnodes > 1:
        words += ["--nnodes", str(hw.nnodes), "--node-rank", "R", "--rdzv-endpoint", "HOST:PORT"]
    for key, value in env:
        if key in _PER_SEED_ENV or (dataset and key in _DATA_ENV):
            continue
        if preset is not None and preset.env.get(key) == value:
            continue
        words += ["--env", f"{key}={value}"]
    pgolf = " ".join(_shell_word(word) for word in words)

    launcher = list(manifest.command)
    if len(launcher) >= 3 and launcher[1:3] == ["-m", "torch.distributed.run"]:
        launcher = ["torchrun", *launcher[3:]]
    elif launcher and Path(launcher[0]).name.startswith("python"):
        launcher[0] = "python"
    if launcher:
        launcher[-1] = SCRIPT_NAME
    assignments = " ".join(f"{key}={_shell_value(value)}" for key, value in env)
    plain = (
        f"for SEED in {seed_list}; do\n"
        f"  {assignments} \\\n"
        f"    {' '.join(_shell_word(word) for word in launcher)}\n"
        "done"
    )
    return {"data": data, "pgolf": pgolf, "plain": plain}


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the folder will hold, computed and checked; nothing written yet."""

    request: PackageRequest
    run_dir: Path
    track_dir: Path
    target: Path
    seeds: tuple[SeedRun, ...]
    code: Code
    submission: Submission
    files: dict[str, bytes]
    """File name -> content, in writing order."""
    significance: Significance | None
    warnings: tuple[str, ...]


def plan_package(request: PackageRequest) -> Plan:
    """Read and check the run and compute the folder's files (no writes)."""
    check_name(request.name)
    if not request.author.strip():
        raise PackageError("--author", "is empty", "Give your name as it should be credited")
    if not request.blurb.strip():
        raise PackageError(
            "--blurb",
            "is empty; reviewers and the leaderboard read it first",
            "Say in a sentence or two what is new, e.g. --blurb 'Score-first TTT on 11 layers'",
        )
    if not _GITHUB_ID.fullmatch(request.github_id):
        raise PackageError(
            f"--github-id {request.github_id!r}",
            "is not a GitHub user name (letters, digits and -, up to 39 characters)",
            "Give your GitHub login without the @",
        )
    if request.pack_code is not None and request.pack_code not in PACK_CODECS:
        raise PackageError(
            f"--pack-code {request.pack_code}", "is not a codec", "Use lzma or brotli"
        )
    for key, who in request.credits.items():
        if not key.strip() or not who.strip():
            raise PackageError(
                f"--credit {key}={who}", "needs both parts", "Write --credit 'technique=who'"
            )
    track_dir, target = target_paths(request)

    run_dir = request.run_dir
    if not run_dir.is_dir():
        raise PackageError(
            str(run_dir), "no such run folder", "Pass a folder made by `pgolf train` (runs/<name>)"
        )
    available = run_seeds(run_dir)
    wanted = request.seeds if request.seeds is not None else available
    if not wanted:
        raise PackageError(
            str(run_dir), "has no seed<S> folders", "Pass a run folder made by `pgolf train`"
        )
    repeated = sorted({seed for seed in wanted if list(wanted).count(seed) > 1})
    if repeated:
        raise PackageError(
            "--seeds",
            f"lists seed {', '.join(map(str, repeated))} more than once",
            "Give each seed once",
        )
    seeds = one_score_kind(tuple(read_seed(run_dir, seed, available) for seed in wanted))
    code = make_code(seeds, request.pack_code)
    env = seed_env(seeds)

    warnings: list[str] = []
    manifest = seeds[0].manifest
    facts: dict[str, list[str | None]] = {
        "Python": [run.manifest.versions.python for run in seeds],
        "PyTorch": [run.manifest.versions.torch for run in seeds],
        "CUDA": [run.manifest.versions.cuda for run in seeds],
        "hardware": [hardware_text(run.manifest) for run in seeds],
    }
    for label, found in facts.items():
        values = set(found)
        if len(values) > 1:
            warnings.append(
                f"the seeds ran with different {label} ({', '.join(sorted(map(str, values)))}); "
                f"submission.json states seed {seeds[0].seed}'s"
            )
    for run in seeds:
        artifact = run.manifest.artifact
        if artifact is None or not (run.folder / artifact.path).is_file():
            warnings.append(
                f"seed {run.seed}: the model artifact is not in {run.folder}, so its size could "
                "not be checked against the log"
            )

    audit = audit_code(code)
    significance = None
    comparison = None
    if request.baseline is not None:
        significance, comparison, notes = compare(seeds, request.baseline)
        warnings.extend(notes)

    data = submission_data(request, seeds, code, audit, comparison)
    folder_json = target / "submission.json"
    submission = validate_strict(data, source=str(folder_json))
    steps = reproduction(seeds, env)
    picture = seeds_plot(request, seeds)
    if picture is None:
        warnings.append(
            f"no {PLOT_NAME}: matplotlib is not installed (pip install 'pgolf[plot]' to get the "
            "plot of the seeds in the folder and its README)"
        )

    files: dict[str, bytes] = {run.log_file: run.log_bytes for run in seeds}
    files[SCRIPT_NAME] = code.shipped
    files["requirements.txt"] = requirements_text(code, manifest, run_dir).encode("utf-8")
    files["submission.json"] = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
    readme = render_readme(
        request, seeds, code, submission, audit, significance, steps, run_dir, picture is not None
    )
    if picture is not None:
        files[PLOT_NAME] = picture
    files["README.md"] = readme.encode("utf-8")
    return Plan(
        request=request,
        run_dir=run_dir,
        track_dir=track_dir,
        target=target,
        seeds=seeds,
        code=code,
        submission=submission,
        files=files,
        significance=significance,
        warnings=tuple(warnings),
    )


def submission_data(
    request: PackageRequest,
    seeds: Sequence[SeedRun],
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


# --------------------------------------------------------------------------------------------
# The README
# --------------------------------------------------------------------------------------------


def readme_template() -> str:
    """The bundled ``record_README.md`` (a wheel keeps it in ``pgolf_cli/_templates``)."""
    package = Path(pgolf_cli.__file__).resolve().parent
    for candidate in (
        package / "_templates" / README_TEMPLATE,
        package.parent / "templates" / README_TEMPLATE,
    ):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(
        f"the bundled {README_TEMPLATE} is missing from this pgolf installation; reinstall pgolf"
    )


def _seconds(ms: float | None) -> str:
    if ms is None:
        return "-"
    seconds = ms / 1000
    return f"{seconds:,.3f} s" if seconds < 10 else f"{seconds:,.1f} s"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += [markdown.row(markdown.cell(cell) for cell in row) for row in rows]
    return "\n".join(lines)


def seeds_plot(request: PackageRequest, seeds: Sequence[SeedRun]) -> bytes | None:
    """The SVG of the seeds' train loss and val_bpb (text, so the pull request's diff shows
    it and the gate sees no binary), or None when matplotlib is not installed."""
    from pgolf_cli.records.plot import draw, logs_group

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None
    group = logs_group(request.name, request.run_dir, [run.log_path for run in seeds])
    return draw([group], "svg", title=request.name)


def render_readme(
    request: PackageRequest,
    seeds: Sequence[SeedRun],
    code: Code,
    submission: Submission,
    audit: FileResult,
    significance: Significance | None,
    steps: Mapping[str, str],
    run_dir: Path,
    plotted: bool = False,
) -> str:
    from pgolf_cli.audit.registry import all_rules

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
                "-" if result.bytes_model is None else f"{result.bytes_model:,}",
                "-" if run.log.steps is None else f"{run.log.steps:,}",
                _seconds(run.log.train_time_ms),
                _seconds(run.score.eval_time_ms),
                f"[{run.log_file}]({run.log_file})",
            ]
        )
    std_bpb = "-" if submission.val_bpb_std is None else f"{submission.val_bpb_std:.8f}"
    std_loss = "-" if submission.val_loss_std is None else f"{submission.val_loss_std:.8f}"
    rows.append(
        [
            "**mean ± std**",
            f"**{submission.val_bpb:.8f}** ± {std_bpb}",
            f"{submission.val_loss:.8f} ± {std_loss}",
            f"max {submission.bytes_total:,}",
            "",
            "",
            "",
            "",
            "",
        ]
    )
    seed_table = _table(
        [
            "seed",
            "val_bpb",
            "val_loss",
            "artifact bytes",
            "model bytes",
            "steps",
            "train",
            "scoring pass",
            "log",
        ],
        rows,
        "lrrrrrrrl",
    )
    score_label = seeds[0].score.label
    score_kind = _FAMILY_TEXT[seeds[0].score.family]
    if code.packed:
        code_note = (
            f"`train_gpt.py` is shipped as a self-extracting {code.packed} + base85 wrapper of "
            f"{code.shipped_bytes:,} bytes; the script as run is {code.raw_bytes:,} bytes "
            f"(sha256 `{code.sha256}`), so packing saves {code.saved_bytes:,} bytes per seed. "
            "The logs count the unpacked script; the artifact sizes above count the shipped "
            "file. pgolf decoded the wrapper statically and checked that it gives back the "
            "exact script (`pgolf audit train_gpt.py` reads the decoded code)."
        )
    else:
        code_note = (
            f"`train_gpt.py` is the script as run: {code.raw_bytes:,} bytes, sha256 "
            f"`{code.sha256}`."
        )

    if significance is None:
        significance_text = (
            "No baseline was given, so no significance test was run. A new record must beat "
            "the current best by at least 0.005 nats per token at p < 0.01: package with "
            "`--baseline records/track_10min_16mb/<best record>` to test it."
        )
    else:
        significance_text = _significance_text(significance, submission)

    claims = submission.compliance
    registered = {rule.id for rule in all_rules()}
    compliance_rows = [
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
        compliance_rows.append([f"`{key}`", holds, how])
    compliance_table = _table(["claim", "holds", "from"], compliance_rows, "lll")

    summary = claims.audit
    audit_lines = [
        f"`pgolf audit train_gpt.py` (pgolf {__version__}): {summary.errors} error(s), "
        f"{summary.warnings} warning(s), {summary.notes} note(s), {summary.suppressed} "
        "suppressed."
    ]
    if audit.error:
        audit_lines.append(f"The script could not be audited: {audit.error}")
    for finding in audit.findings:
        mark = " (suppressed)" if finding.suppressed else ""
        audit_lines.append(
            f"- {finding.rule_id} {finding.rule_name} ({finding.severity}), line "
            f"{finding.line}{mark}: {finding.message}"
        )

    repro = []
    if steps["data"]:
        repro += ["Data:", "", "```bash", steps["data"], "```", ""]
    repro += [
        "With pgolf, from this folder:",
        "",
        "```bash",
        steps["pgolf"],
        "```",
        "",
        "Or with torchrun alone (the environment pgolf set for each seed; data paths relative "
        "to the data folder):",
        "",
        "```bash",
        steps["plain"],
        "```",
    ]

    credits = [f"- Submitted by {submission.author} (@{submission.github_id})."]
    credits += [f"- {key}: {who}" for key, who in submission.attribution.items()]

    values = {
        "title": submission.name,
        "blurb": submission.blurb.strip(),
        "val_bpb": f"{submission.val_bpb:.8f}",
        "val_bpb_std": std_bpb,
        "seeds": _count(len(seeds), "seed"),
        "track": submission.track,
        "date": submission.date.isoformat(),
        "hardware": submission.hardware,
        "score_label": score_label,
        "score_kind": score_kind,
        "plot": (
            f"![Train loss by step and time, and val_bpb per seed]({PLOT_NAME})"
            if plotted
            else "No plot: matplotlib was not installed where this folder was packaged "
            "(`pip install 'pgolf[plot]'`, then `pgolf plot` on the run)."
        ),
        "seed_table": seed_table,
        "code_note": code_note,
        "significance": significance_text,
        "compliance_table": compliance_table,
        "audit": "\n".join(audit_lines),
        "reproduction": "\n".join(repro),
        "versions": _versions_line(submission),
        "attribution": "\n".join(credits),
        "run": run_dir.name,
        "pgolf_version": __version__,
    }
    return string.Template(readme_template()).substitute(values)


_FAMILY_TEXT = {
    "roundtrip": "the standard evaluation, every token scored once in fixed blocks",
    "sliding": "the sliding-window evaluation",
    "ttt": "the evaluation with test-time training",
    "prequant": "a pre-quantization evaluation",
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _mark(value: bool) -> str:
    return "yes" if value else "**no**"


def _versions_line(submission: Submission) -> str:
    parts = [f"Python {submission.python_version}", f"PyTorch {submission.pytorch_version}"]
    parts.append(f"CUDA {submission.cuda_version}" if submission.cuda_version else "no CUDA")
    parts += [f"{key} {value}" for key, value in submission.software.items()]
    return ", ".join(parts)


def _significance_text(result: Significance, submission: Submission) -> str:
    comparison = submission.comparison
    assert comparison is not None
    factor = result.factor
    kind = (
        "Welch two-sample t-test, Welch–Satterthwaite df"
        if result.kind == "welch"
        else "one-sample t-test against the baseline's mean, df = n − 1"
    )
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
    lines = [
        f"Against `{comparison.baseline}` (val_bpb {result.baseline.mean:.8f} over "
        f"{_count(result.baseline.n or 1, 'seed')}): Δ = {result.delta_bpb:+.8f} bpb = "
        f"{result.delta_nats_per_token:+.8f} nats per token.",
        "",
        f"Unit factor: {factor.nats_per_bpb:.5f} nats per bpb ({factor.detail}"
        + (f"; matches {factor.tokenizer}" if factor.tokenizer else "")
        + f"). The bar of {result.delta_nats:g} nats is {result.threshold_bpb:.8f} bpb.",
        "",
        f"One-sided {kind}; H0: this submission is not better than the baseline by the shift.",
        "",
        _table(["test", "shift (bpb)", "t", "df", "p", "level", "result"], rows, "lrrrrll"),
        "",
        f"**Verdict: {result.verdict}.**",
    ]
    lines += [f"\nNote: {note}" for note in result.warnings]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def target_paths(request: PackageRequest) -> tuple[Path, Path]:
    """The track folder and the record folder, checked to stay inside the records tree."""
    root = request.out.resolve()
    track_dir = root / f"track_{request.track}"
    if track_dir.is_symlink() or (track_dir.exists() and not track_dir.is_dir()):
        raise PackageError(
            str(track_dir),
            "is a link or a file, not a folder of the records tree",
            "Make it a plain folder (pgolf never writes through links)",
        )
    target = track_dir / request.folder_name
    if target.is_symlink():
        raise PackageError(
            str(target), "is a link", "Remove the link; pgolf never writes through links"
        )
    # check_name already rules out separators and '..'; this holds whatever the name.
    resolved = target.resolve()
    if resolved.parent != track_dir or not resolved.is_relative_to(root):
        raise PackageError(
            str(target), "would be outside the records tree", "Choose a plain --name"
        )
    if target.exists() and not request.force:
        raise PackageError(
            str(target),
            "already exists",
            "Choose another --name or --date, or pass --force to replace it",
        )
    return track_dir, target


@dataclass(frozen=True, slots=True)
class PackageResult:
    path: Path
    plan: Plan
    report: FolderReport
    replaced: bool
    """An existing folder was replaced (``force``)."""


Verifier = Callable[[Path], "FolderReport"]


def _default_verify(folder: Path) -> FolderReport:
    from pgolf_cli.records.verify import verify_folder

    return verify_folder(folder, audit=True, record_claim=None)


def _write_file(path: Path, content: bytes) -> None:
    path.write_bytes(content)


@contextmanager
def _made_dirs(path: Path) -> Iterator[None]:
    """Create ``path`` and its missing parents; remove the ones made here if the body fails
    (and they are still empty)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for made in missing:
            try:
                made.rmdir()
            except OSError:
                break
        raise


def write_package(plan: Plan, *, verify: Verifier | None = None) -> PackageResult:
    """Build the folder in a staging directory, verify it, and move it into place.

    The staging directory is ``<track>/.pgolf-package-XXXX/track_<track>/<folder>``, so the
    verifier sees the folder under its real name and track. On any failure, including a
    failed verification, the staging directory is removed and an existing folder is left
    as it was.
    """
    check = verify or _default_verify
    request = plan.request
    target = plan.target
    with _made_dirs(plan.track_dir):
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=plan.track_dir))
        try:
            staged = stage / plan.track_dir.name / target.name
            staged.mkdir(parents=True)
            for name, content in plan.files.items():
                _write_file(staged / name, content)
            # No baseline: whether the result beats it is the package's own test, reported in
            # the README and submission.json; a result that does not beat it is still a valid
            # folder (a non-record, or one for reviewers to judge), so it must not block.
            report = check(staged)
            if report.failed:
                raise VerifyFailed(report)
            replaced = _move_into_place(staged, target, stage, force=request.force)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return PackageResult(path=target, plan=plan, report=report, replaced=replaced)


def _move_into_place(staged: Path, target: Path, stage: Path, *, force: bool) -> bool:
    exists = target.exists() or target.is_symlink()
    if exists and (not force or target.is_symlink() or not target.is_dir()):
        raise PackageError(
            str(target),
            "already exists (it appeared while packaging)",
            "Choose another --name or --date, or pass --force to replace it",
        )
    if not exists:
        os.rename(staged, target)
        return False
    # The old folder moves into the staging directory (same filesystem, so both renames are
    # atomic) and is deleted with it once the new folder is in place.
    old = stage / "replaced"
    os.rename(target, old)
    try:
        os.rename(staged, target)
    except BaseException:
        os.rename(old, target)
        raise
    return True


def package(request: PackageRequest, *, verify: Verifier | None = None) -> PackageResult:
    """:func:`plan_package` then :func:`write_package`."""
    return write_package(plan_package(request), verify=verify)
