"""The plan: every file of the records folder, computed and checked in memory."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pgolf_cli.records.package.code import Code, audit_code, make_code
from pgolf_cli.records.package.readme import render_readme
from pgolf_cli.records.package.reproduction import reproduction, requirements_text, seed_env
from pgolf_cli.records.package.request import (
    PLOT_NAME,
    SCRIPT_NAME,
    PackageRequest,
    check_request,
    target_paths,
)
from pgolf_cli.records.package.seeds import PackagedSeed, read_seeds
from pgolf_cli.records.package.submission_json import compare, hardware_text, submission_data
from pgolf_cli.records.submission import Submission, validate_strict

if TYPE_CHECKING:
    from pgolf_cli.records.stats import Significance


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the folder will hold, computed and checked; nothing written yet."""

    request: PackageRequest
    run_dir: Path
    track_dir: Path
    target: Path
    seeds: tuple[PackagedSeed, ...]
    code: Code
    submission: Submission
    files: dict[str, bytes]
    """File name -> content, in writing order."""
    significance: Significance | None
    warnings: tuple[str, ...]


def plan_package(request: PackageRequest) -> Plan:
    """Read and check the run and compute the folder's files (no writes)."""
    check_request(request)
    track_dir, target = target_paths(request)

    run_dir = request.run_dir
    seeds = read_seeds(run_dir, request.seeds)
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
        seeds, code, submission, audit, significance, steps, run_dir, picture is not None
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


def seeds_plot(request: PackageRequest, seeds: Sequence[PackagedSeed]) -> bytes | None:
    """The SVG of the seeds' train loss and val_bpb (text, so the pull request's diff shows
    it and the gate sees no binary), or None when matplotlib is not installed."""
    from pgolf_cli.records.plot import draw, logs_group

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None
    group = logs_group(request.name, request.run_dir, [run.log_path for run in seeds])
    return draw([group], "svg", title=request.name)
