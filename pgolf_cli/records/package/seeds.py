"""Finding the run to package and reading its seeds: each seed's run.json and train log,
checked to be one finished, scored run of the code run.json names."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.logs import ParsedLog, Score, common_scores, read_log
from pgolf_cli.records.package.request import PackageError
from pgolf_cli.run_folder import (
    FLAG_CODE_CHANGED,
    FLAG_SEED,
    RUN_JSON,
    RunManifest,
    is_node_folder,
    read_run_json,
    run_json_paths,
    run_seeds,
    seed_folder,
)


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
        if not run.is_dir() or is_node_folder(run.name):
            continue
        manifests = run_json_paths(run)
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
        return read_run_json(manifest).scored
    except PgolfInputError:
        return False


@dataclass(frozen=True, slots=True)
class PackagedSeed:
    """One seed of the run to package, its run.json and log read and checked."""

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


def read_seeds(run_dir: Path, seeds: Sequence[int] | None) -> tuple[PackagedSeed, ...]:
    """The ``seeds`` of the run (None: every seed folder), read, checked, and scored by one
    evaluation kind."""
    if not run_dir.is_dir():
        raise PackageError(
            str(run_dir), "no such run folder", "Pass a folder made by `pgolf train` (runs/<name>)"
        )
    available = run_seeds(run_dir)
    wanted = seeds if seeds is not None else available
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
    return one_score_kind(tuple(read_seed(run_dir, seed, available) for seed in wanted))


def read_seed(run_dir: Path, seed: int, available: Sequence[int]) -> PackagedSeed:
    """Read one seed's run.json and log and check that the seed finished with a score."""
    folder = run_dir / seed_folder(seed)
    if not folder.is_dir():
        have = ", ".join(str(s) for s in available) or "none"
        raise PackageError(
            str(run_dir),
            f"has no seed {seed} (no folder {folder.name}); its seeds are: {have}",
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
    if not manifest.scored:
        how = manifest.stopped_by or "it has not finished (finished_at is null)"
        raise PackageError(
            str(manifest_path),
            f"seed {seed} did not finish with a score ({how})",
            "Re-run that seed, or leave it out with --seeds",
        )
    for flag, problem in (
        (FLAG_CODE_CHANGED, "the log's code_sha256 is not the launched script's"),
        (FLAG_SEED, "the log ran another seed than the one launched"),
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
    return PackagedSeed(
        seed=seed,
        folder=folder,
        manifest=manifest,
        log_path=log_path,
        log=log,
        score=score,
        total_bytes=log.total_bytes,
        log_bytes=log_bytes,
    )


def one_score_kind(seeds: Sequence[PackagedSeed]) -> tuple[PackagedSeed, ...]:
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
