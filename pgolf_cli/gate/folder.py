"""The new record folder as it is at head, read from git objects and checked file by file.

Only regular files with usable names and sizes under the per-file cap are read, and only
those are written (materialized) into a private temporary directory, where the verifier and
the audit engine read them like any folder. A symlink is reported with its target and never
followed or created; a submodule is reported; a file over the cap is reported from the size
git lists, without reading it.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from pgolf_cli.audit.findings import Severity
from pgolf_cli.gate.git import MODE_GITLINK, MODE_SYMLINK, REGULAR_MODES, Entry, GitRepo
from pgolf_cli.gate.git import display_path as shown
from pgolf_cli.gate.model import Checked, Reason

#: SentencePiece tokenizer models: the one kind of binary a submission ships by design.
TOKENIZER_SUFFIXES = (".model",)
#: Files that must be UTF-8 text to be read by people and tools.
TEXT_SUFFIXES = (".py", ".md", ".txt", ".log", ".json", ".sh", ".toml", ".yml", ".yaml", ".cfg")
#: A folder with more files than this is not a record submission (and is not read).
MAX_FOLDER_FILES = 2_000
#: How much of a folder the gate reads in all, whatever the per-file cap.
MAX_FOLDER_BYTES = 64_000_000
# Git's own test for binary content: a NUL byte in the first 8000 bytes.
_SNIFF_BYTES = 8_000
# A symlink's blob is its target path; longer than this is not a path.
_MAX_LINK_BYTES = 4_096
_RESERVED = frozenset({"", ".", ".."})

# The content checks, in report order: (id, title).
CONTENT_CHECKS = (
    ("diff.unsafe-name", "File names are usable"),
    ("diff.symlink", "No symlinks"),
    ("diff.submodule", "No submodules"),
    ("diff.file-too-large", "Every file under the per-file cap"),
    ("diff.folder-too-large", "The folder is of a submission's size"),
    ("diff.binary", "No binaries other than tokenizer models"),
    ("diff.encoding", "Text files are UTF-8"),
)
_TITLES = dict(CONTENT_CHECKS)
# The content reasons come after the diff-shape reasons of the same severity.
_ORDER_AFTER_SHAPE = 100


@dataclass(frozen=True, slots=True)
class _Item:
    """One file a content check is about."""

    path: str
    text: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.text}"


@dataclass(slots=True)
class Snapshot:
    """The readable files of the folder and the reasons about the rest."""

    folder: str
    """Repository path, ``records/<track>/<name>``."""
    files: dict[str, bytes] = field(default_factory=dict)
    """Folder-relative path -> content, for every file that can be materialized."""
    reasons: list[Reason] = field(default_factory=list)
    checked: list[Checked] = field(default_factory=list)
    entries: int = 0


def unsafe_reason(path: str) -> str | None:
    """Why a folder-relative path cannot be written to disk as it is; None when it can."""
    if shown(path) != path:
        return "not valid UTF-8"
    for part in path.split("/"):
        if part in _RESERVED or part.lower() == ".git":
            return f"a path component {part!r}"
        if any(ord(char) < 32 or ord(char) == 127 for char in part):
            return "control characters in the name"
        if len(part.encode()) > 255:
            return "a name longer than 255 bytes"
    return None


def _is_binary(data: bytes) -> bool:
    return b"\0" in data[:_SNIFF_BYTES]


def read_snapshot(repo: GitRepo, commit: str, folder: str, *, max_file_bytes: int) -> Snapshot:
    """Read and check the files of ``folder`` at ``commit``."""
    snapshot = Snapshot(folder)
    entries = repo.list_tree(commit, folder)
    snapshot.entries = len(entries)
    found: dict[str, list[_Item]] = {check: [] for check, _ in CONTENT_CHECKS}
    notes: list[_Item] = []
    readable: list[Entry] = []
    links: list[Entry] = []
    for entry in entries:
        where = f"{shown(folder)}/{shown(entry.path)}"
        problem = unsafe_reason(entry.path)
        if problem is not None:
            found["diff.unsafe-name"].append(_Item(where, problem))
        elif entry.mode == MODE_SYMLINK:
            links.append(entry)
        elif entry.mode == MODE_GITLINK or entry.kind == "commit":
            found["diff.submodule"].append(_Item(where, f"a submodule at commit {entry.sha}"))
        elif entry.mode not in REGULAR_MODES or entry.size is None:
            found["diff.unsafe-name"].append(_Item(where, f"an entry of mode {entry.mode}"))
        elif entry.size > max_file_bytes:
            found["diff.file-too-large"].append(
                _Item(where, f"{entry.size:,} bytes, over the cap of {max_file_bytes:,} (not read)")
            )
        else:
            readable.append(entry)

    budget = MAX_FOLDER_BYTES
    wanted: list[Entry] = []
    if len(entries) > MAX_FOLDER_FILES:
        found["diff.folder-too-large"].append(
            _Item(
                f"{shown(folder)}/",
                f"{len(entries):,} files, more than {MAX_FOLDER_FILES:,} (not read)",
            )
        )
    else:
        for entry in sorted(readable, key=lambda e: e.path):
            assert entry.size is not None
            if entry.size > budget:
                found["diff.folder-too-large"].append(
                    _Item(
                        f"{shown(folder)}/{shown(entry.path)}",
                        f"not read: the folder's files exceed {MAX_FOLDER_BYTES:,} bytes in all",
                    )
                )
                continue
            budget -= entry.size
            wanted.append(entry)
    small_links = [e for e in links if (e.size or 0) <= _MAX_LINK_BYTES]
    blobs = repo.read_blobs([e.sha for e in wanted] + [e.sha for e in small_links])

    for entry in links:
        where = f"{shown(folder)}/{shown(entry.path)}"
        target = blobs.get(entry.sha)
        if target is None:
            found["diff.symlink"].append(_Item(where, "a symlink (target too long to show)"))
            continue
        text = shown(target.decode("utf-8", "surrogateescape"))
        resolved = posixpath.normpath(
            posixpath.join(posixpath.dirname(f"{folder}/{entry.path}"), text)
        )
        outside = text.startswith("/") or resolved == ".." or resolved.startswith("../")
        place = "outside the repository" if outside else f"to {resolved}"
        found["diff.symlink"].append(
            _Item(where, f"symlink to {text!r}: points {place} (not followed)")
        )

    for entry in wanted:
        data = blobs[entry.sha]
        where = f"{shown(folder)}/{entry.path}"
        name = entry.path.rsplit("/", 1)[-1].lower()
        if _is_binary(data):
            if name.endswith(TOKENIZER_SUFFIXES):
                notes.append(_Item(where, f"tokenizer model, {len(data):,} bytes"))
            else:
                found["diff.binary"].append(_Item(where, f"binary, {len(data):,} bytes"))
        elif name.endswith(TEXT_SUFFIXES):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as problem:
                line = data.count(b"\n", 0, problem.start) + 1
                found["diff.encoding"].append(
                    _Item(
                        where,
                        f"byte 0x{data[problem.start]:02x} at offset {problem.start} is not UTF-8",
                        line,
                    )
                )
        snapshot.files[entry.path] = data

    _summarize(snapshot, found, notes)
    return snapshot


_MESSAGES = {
    "diff.unsafe-name": "path(s) that cannot be written out safely (not read)",
    "diff.symlink": "symlink(s) in the folder: a submission ships files, and pgolf never "
    "follows a link",
    "diff.submodule": "submodule(s) in the folder: a submission ships its files",
    "diff.file-too-large": "file(s) over the per-file cap",
    "diff.folder-too-large": "file(s) beyond what a submission folder holds",
    "diff.binary": "binary file(s) other than tokenizer models: say in the README what each "
    "is for, or leave it out",
    "diff.encoding": "text file(s) that are not UTF-8",
}
_SEVERITY = {"diff.binary": Severity.WARNING, "diff.encoding": Severity.WARNING}


def _summarize(snapshot: Snapshot, found: dict[str, list[_Item]], notes: list[_Item]) -> None:
    for order, (check, title) in enumerate(CONTENT_CHECKS):
        items = found[check]
        if not items:
            snapshot.checked.append(Checked(check, title, "pass", "none"))
            continue
        snapshot.reasons.append(
            Reason(
                check,
                _SEVERITY.get(check, Severity.ERROR),
                title,
                f"{len(items)} {_MESSAGES[check]}",
                tuple(str(item) for item in items),
                path=items[0].path,
                line=items[0].line,
                order=_ORDER_AFTER_SHAPE + order,
            )
        )
    if notes:
        snapshot.reasons.append(
            Reason(
                "diff.tokenizer-model",
                Severity.NOTE,
                "Tokenizer models",
                f"{len(notes)} tokenizer model file(s), binary by design",
                tuple(str(item) for item in notes),
                order=_ORDER_AFTER_SHAPE + len(CONTENT_CHECKS),
            )
        )


def materialize(snapshot: Snapshot, root: Path) -> Path:
    """Write the snapshot's files under ``root`` at their repository paths; the folder's path.

    Files are created exclusively and without following links, in a directory only this
    process writes to, so nothing lands outside ``root``. A file the file system refuses (two
    names that differ only in case on a case-insensitive disk) is left out and reported.
    """
    target = root / snapshot.folder
    target.mkdir(parents=True, exist_ok=True)
    base = target.resolve()
    refused: list[_Item] = []
    for relative, data in list(snapshot.files.items()):
        path = target / relative
        try:
            if not path.resolve().is_relative_to(base):
                raise OSError("the path leaves the folder")  # unsafe_reason() admits no such name
            path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            descriptor = os.open(path, flags, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
        except OSError as problem:
            del snapshot.files[relative]
            reason = problem.strerror or str(problem)
            refused.append(_Item(f"{snapshot.folder}/{relative}", f"cannot be written: {reason}"))
    if refused:
        snapshot.reasons.append(
            Reason(
                "diff.unsafe-name",
                Severity.ERROR,
                _TITLES["diff.unsafe-name"],
                f"{len(refused)} {_MESSAGES['diff.unsafe-name']}",
                tuple(str(item) for item in refused),
                path=refused[0].path,
                order=_ORDER_AFTER_SHAPE,
            )
        )
    return target
