"""Writing the planned folder: built in a hidden staging directory inside the track folder,
verified there, and only then renamed into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pgolf_cli.records.package.plan import Plan, plan_package
from pgolf_cli.records.package.request import PackageError, PackageRequest

if TYPE_CHECKING:
    from pgolf_cli.records.verify import FolderReport

STAGING_PREFIX = ".pgolf-package-"

Verifier = Callable[[Path], "FolderReport"]


class VerifyFailed(Exception):
    """The built folder failed ``pgolf verify``; nothing was left behind."""

    def __init__(self, report: FolderReport) -> None:
        super().__init__(f"{report.path}: failed verification")
        self.report = report


@dataclass(frozen=True, slots=True)
class PackageResult:
    path: Path
    plan: Plan
    report: FolderReport
    replaced: bool
    """An existing folder was replaced (``force``)."""


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
