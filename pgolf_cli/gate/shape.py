"""The shape of the diff (docs/challenge.md, "The pull request").

A submission adds exactly one new folder ``records/<track>/YYYY-MM-DD_Description/`` under one
of the two tracks and changes nothing else: no file outside it, no file of an existing record
folder. This module reads the list of changed paths and names the folder, or says why there is
none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pgolf_cli.audit.findings import Severity
from pgolf_cli.gate.git import Change, GitRepo, display_path
from pgolf_cli.gate.model import Checked, Reason
from pgolf_cli.records.verify import FOLDER_NAME, TRACK_FOLDERS

RECORDS = "records"
_STATUS_WORDS = {"A": "added", "D": "deleted", "M": "modified", "T": "type changed"}
# Listing every changed path of a sweeping PR helps nobody; the count is given instead.
_MAX_LISTED = 40


@dataclass(slots=True)
class Shape:
    """What the diff adds, and the reasons it is not one clean new folder."""

    folder: str | None = None
    """``records/<track>/<name>`` when exactly one new folder was added."""
    track_dir: str | None = None
    name: str | None = None
    reasons: list[Reason] = field(default_factory=list)
    checked: list[Checked] = field(default_factory=list)


def _describe(change: Change) -> str:
    return f"{_STATUS_WORDS.get(change.status, change.status)}: {display_path(change.path)}"


def _listing(changes: Sequence[Change]) -> tuple[str, ...]:
    lines = [_describe(change) for change in changes[:_MAX_LISTED]]
    if len(changes) > _MAX_LISTED:
        lines.append(f"… and {len(changes) - _MAX_LISTED} more")
    return tuple(lines)


def _folder_names(repo: GitRepo, commit: str) -> set[tuple[str, str]]:
    """(track folder, record folder) of every records folder in ``commit``'s tree."""
    found: set[tuple[str, str]] = set()
    for track in TRACK_FOLDERS:
        for entry in repo.list_tree(commit, f"{RECORDS}/{track}", recursive=False):
            if entry.kind == "tree":
                found.add((track, entry.path))
    return found


# The shape reasons in order of importance (after the history reasons, which come first).
_ORDER = (
    "diff.outside-records",
    "diff.existing-record-changed",
    "diff.no-record-folder",
    "diff.several-folders",
    "diff.folder-exists",
    "diff.folder-name",
)


def check_shape(repo: GitRepo, changes: Sequence[Change], merge_base: str, base: str) -> Shape:
    """Classify ``changes`` (merge base -> head) and check the diff's shape.

    ``base`` is the tip the pull request targets: a folder added there since the merge base
    under the same name collides with the new one.
    """
    shape = _check_shape(repo, changes, merge_base, base)
    shape.reasons = [replace(r, order=_ORDER.index(r.id) + 1) for r in shape.reasons]
    return shape


def _check_shape(repo: GitRepo, changes: Sequence[Change], merge_base: str, base: str) -> Shape:
    shape = Shape()
    existing = _folder_names(repo, merge_base)
    outside: list[Change] = []
    touched: dict[tuple[str, str], list[Change]] = {}
    added: dict[tuple[str, str], list[Change]] = {}
    for change in changes:
        parts = change.path.split("/")
        if len(parts) >= 4 and parts[0] == RECORDS and parts[1] in TRACK_FOLDERS:
            key = (parts[1], parts[2])
            (touched if key in existing else added).setdefault(key, []).append(change)
        else:
            outside.append(change)

    if outside:
        shape.reasons.append(
            Reason(
                "diff.outside-records",
                Severity.ERROR,
                "Changes outside the new record folder",
                f"{len(outside)} path(s) outside records/<track>/<new folder>/ changed; a "
                "submission adds its folder and touches nothing else",
                _listing(outside),
                path=display_path(outside[0].path),
            )
        )
    else:
        shape.checked.append(
            Checked("diff.outside-records", "Changes outside the new record folder", "pass", "none")
        )

    if touched:
        changed = [change for group in touched.values() for change in group]
        folders = [
            f"{RECORDS}/{track}/{display_path(name)}/: "
            + ", ".join(
                f"{sum(1 for c in group if c.status == status)} {word}"
                for status, word in _STATUS_WORDS.items()
                if any(c.status == status for c in group)
            )
            for (track, name), group in sorted(touched.items())
        ]
        shape.reasons.append(
            Reason(
                "diff.existing-record-changed",
                Severity.ERROR,
                "Existing record folders changed",
                f"{len(changed)} file(s) of {len(touched)} existing record folder(s) modified or "
                "deleted; a submission never edits a merged record",
                (*folders, *_listing(changed)),
                path=display_path(changed[0].path),
            )
        )
    else:
        shape.checked.append(
            Checked(
                "diff.existing-record-changed", "Existing record folders changed", "pass", "none"
            )
        )

    if not added:
        shape.reasons.append(
            Reason(
                "diff.no-record-folder",
                Severity.ERROR,
                "One new record folder",
                "the pull request adds no new folder under records/"
                + " or records/".join(TRACK_FOLDERS),
                (f"{len(changes)} changed path(s)",),
            )
        )
        return shape
    if len(added) > 1:
        shape.reasons.append(
            Reason(
                "diff.several-folders",
                Severity.ERROR,
                "One new record folder",
                f"the pull request adds {len(added)} record folders; submit one per pull request",
                tuple(
                    f"{RECORDS}/{track}/{display_path(name)}/ ({len(group)} file(s))"
                    for (track, name), group in sorted(added.items())
                ),
            )
        )
        return shape

    ((track, name),) = added
    folder = f"{RECORDS}/{track}/{name}"
    shape.folder, shape.track_dir, shape.name = folder, track, name
    shape.checked.append(
        Checked("diff.one-folder", "One new record folder", "pass", f"{display_path(folder)}/")
    )
    if (track, name) in _folder_names(repo, base):
        shape.reasons.append(
            Reason(
                "diff.folder-exists",
                Severity.ERROR,
                "The folder name is free in the base branch",
                f"{display_path(folder)}/ already exists in the base branch (merged after this "
                "pull request branched off); choose another name and rebase",
                path=display_path(folder),
            )
        )
    shape.reasons.extend(_name_reasons(name, folder))
    if not any(reason.id == "diff.folder-name" for reason in shape.reasons):
        shape.checked.append(
            Checked(
                "diff.folder-name",
                "Folder named YYYY-MM-DD_Description",
                "pass",
                display_path(name),
            )
        )
    return shape


def _name_reasons(name: str, folder: str) -> list[Reason]:
    shown = display_path(name)
    problems: list[str] = []
    if shown != name:
        problems.append("it is not valid UTF-8")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        problems.append("it contains control characters")
    # A name that cannot be written out fails; one that only breaks the convention (spaces,
    # no date) is the maintainers' call: merged records have both.
    severity = Severity.ERROR if problems else Severity.WARNING
    if any(char.isspace() for char in name):
        problems.append("it contains spaces (shell commands and links break on them)")
    if not problems and not FOLDER_NAME.match(name):
        problems.append("it is not YYYY-MM-DD_Description")
    if not problems:
        return []
    return [
        Reason(
            "diff.folder-name",
            severity,
            "Folder named YYYY-MM-DD_Description",
            f"the folder name {shown!r} "
            + ("is not usable: " if severity == Severity.ERROR else "breaks the convention: ")
            + "; ".join(problems),
            (f"folder: {display_path(folder)}/",),
            path=display_path(folder),
        )
    ]
