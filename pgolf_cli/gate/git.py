"""Reading a repository through git's object database, and nothing else.

A pull request is hostile input: its files may be symlinks out of the checkout, its
``.gitattributes`` may name filter drivers, and the repository it was fetched into may carry
hooks. So the gate never looks at a working tree. Every question goes to a plumbing command
(``rev-parse``, ``merge-base``, ``diff-tree``, ``ls-tree``, ``cat-file --batch``) with a fixed
argv, run without a shell, with hooks, the fsmonitor, network transports, lazy fetches of a
partial clone and replace refs switched off, and with the caller's ``GIT_*`` variables removed.
None of those commands checks files out, runs filters or textconv, or executes anything from
the repository. It works the same on a bare or a shallow clone.

Paths come back from git as bytes (``-z``); they are decoded with ``surrogateescape``, so a
name that is not UTF-8 round-trips into later git commands unchanged and :func:`display_path`
shows it readably.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pgolf_cli.errors import PgolfInputError

#: Tree entry modes (git's own numbers).
MODE_SYMLINK = "120000"
MODE_GITLINK = "160000"
REGULAR_MODES = frozenset({"100644", "100755"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# The settings through which a repository's own config could make a read-only command run a
# program (hooks, the fsmonitor) or reach the network (a lazy fetch in a partial clone).
_SAFE_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "protocol.allow=never",
)
_TIMEOUT_S = 300

# The branches a repository's main line is found under when --base is not given, in order.
MAIN_BRANCHES = (
    "refs/remotes/origin/HEAD",
    "refs/remotes/origin/main",
    "refs/heads/main",
    "refs/remotes/origin/master",
    "refs/heads/master",
)


# An object id names the same content forever, so a tree listed by commit id is kept for the
# process: `pgolf sweep` runs the gate on many pull requests against one base, and each lists
# the base's records.
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_LISTINGS: OrderedDict[tuple[str, str, str, bool], tuple[Entry, ...]] = OrderedDict()
_MAX_LISTINGS = 64


class GitError(PgolfInputError):
    """The repository or a ref cannot be read: a tool/input error (exit 2), not a verdict."""


@dataclass(frozen=True, slots=True)
class Change:
    """One path that differs between two trees (``git diff-tree --raw``)."""

    status: str
    """``A`` added, ``D`` deleted, ``M`` modified, ``T`` type changed."""
    path: str
    old_mode: str
    new_mode: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a tree listing (``git ls-tree -r -l``)."""

    mode: str
    kind: str
    """``blob`` or ``commit`` (a submodule)."""
    sha: str
    size: int | None
    """Bytes of a blob; None for a submodule."""
    path: str
    """Relative to the listed tree, with forward slashes (surrogate-escaped when not UTF-8)."""


def display_path(path: str) -> str:
    """A path for people: bytes that are not UTF-8, and control characters, shown as ``\\xNN``.

    A name is inert once shown: no escape sequence from a hostile name reaches a terminal.
    """
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda match: f"\\x{ord(match[0]):02x}", text)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class GitRepo:
    """Read-only access to the objects of the repository at ``path`` (bare or not)."""

    def __init__(self, path: Path) -> None:
        executable = shutil.which("git")
        if executable is None:
            raise GitError("git", "is not installed or not on PATH", "Install git (>= 2.24)")
        self.path = path
        self._git = executable
        self._env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
        self._env.update(
            {
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_TERMINAL_PROMPT": "0",
                "GIT_NO_LAZY_FETCH": "1",
                "GIT_NO_REPLACE_OBJECTS": "1",
                "GIT_LITERAL_PATHSPECS": "1",
                "GIT_OPTIONAL_LOCKS": "0",
                "LC_ALL": "C",
            }
        )
        if not path.is_dir():
            raise GitError(str(path), "is not a directory", "Pass the repository with --repo")
        inside = self._run(["rev-parse", "--git-dir"], check=False)
        if inside.returncode != 0:
            problem = _decode(inside.stderr).strip().splitlines()
            raise GitError(
                str(path),
                "is not a git repository" + (f" ({problem[-1]})" if problem else ""),
                "Pass the clone of the challenge repository with --repo (a bare clone works)",
            )

    # ---------------------------------------------------------------------------- running

    def _run(
        self, args: Sequence[str], *, stdin: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        argv = [self._git, "--no-pager"]
        for setting in _SAFE_CONFIG:
            argv += ["-c", setting]
        argv += ["-C", str(self.path), *args]
        try:
            done = subprocess.run(
                argv,
                input=stdin,
                capture_output=True,
                env=self._env,
                timeout=_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitError(
                str(self.path),
                f"`git {args[0]}` took more than {_TIMEOUT_S} s",
                "Check the repository (a network filesystem or a huge history?)",
            ) from None
        except OSError as problem:
            raise GitError(
                "git", f"cannot be run ({problem.strerror or problem})", "Check the git install"
            ) from None
        if check and done.returncode != 0:
            lines = [line.strip() for line in _decode(done.stderr).splitlines() if line.strip()]
            message = "; ".join(lines) or f"exit code {done.returncode}"
            raise GitError(
                str(self.path),
                f"`git {args[0]}` failed: {display_path(message)}",
                "Check that the clone has both commits and their objects (fetch them)",
            )
        return done

    # ---------------------------------------------------------------------------- commits

    def resolve(self, ref: str, what: str) -> str:
        """The commit id ``ref`` names; ``what`` says which option gave it, for the message."""
        done = self._run(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
            check=False,
        )
        if done.returncode != 0:
            raise GitError(
                ref,
                f"does not name a commit in {self.path} ({what})",
                "Pass a branch, tag or commit id the clone has (fetch it first)",
            )
        return _decode(done.stdout).strip()

    def main_branch(self) -> str:
        """The first of :data:`MAIN_BRANCHES` the repository has."""
        for ref in MAIN_BRANCHES:
            done = self._run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], check=False)
            if done.returncode == 0:
                return ref
        raise GitError(
            str(self.path),
            "has no main branch (" + ", ".join(MAIN_BRANCHES) + ")",
            "Pass the branch or commit the pull request targets with --base",
        )

    def merge_base(self, a: str, b: str) -> str | None:
        done = self._run(["merge-base", a, b], check=False)
        if done.returncode == 1:
            return None
        if done.returncode != 0:
            self._run(["merge-base", a, b])  # raises with git's message
        return _decode(done.stdout).strip()

    def is_shallow(self) -> bool:
        done = self._run(["rev-parse", "--is-shallow-repository"])
        return _decode(done.stdout).strip() == "true"

    def count_commits(self, exclude: str, include: str) -> int:
        """Commits reachable from ``include`` but not from ``exclude``."""
        done = self._run(["rev-list", "--count", include, f"^{exclude}"])
        return int(_decode(done.stdout).strip() or 0)

    def list_refs(self, patterns: Sequence[str]) -> list[tuple[str, str]]:
        """(ref name, object id) of every ref matching one of ``patterns``, sorted by name.

        Patterns are ``git for-each-ref`` patterns (``refs/pull/*/head``). The objects are not
        read here: a ref whose object is missing or not a commit fails when it is resolved, on
        its own.
        """
        done = self._run(["for-each-ref", "--format=%(objectname)%00%(refname)", "--", *patterns])
        found: list[tuple[str, str]] = []
        for record in done.stdout.splitlines():
            sha, _, name = record.partition(b"\0")
            found.append((_decode(name), _decode(sha)))
        return sorted(found)

    def shallow_commits(self) -> list[str]:
        """The commits where a shallow clone's history is cut; empty for a complete clone."""
        done = self._run(["rev-parse", "--git-path", "shallow"])
        shallow = Path(_decode(done.stdout).strip())
        if not shallow.is_absolute():
            shallow = self.path / shallow
        try:
            return sorted(shallow.read_text(encoding="ascii").split())
        except FileNotFoundError:
            return []

    # ---------------------------------------------------------------------------- trees

    def diff(self, old: str, new: str) -> list[Change]:
        """Every path that differs between two commits' trees, recursively, without renames."""
        done = self._run(
            [
                "diff-tree",
                "-r",
                "-z",
                "--raw",
                "--no-renames",
                "--no-textconv",
                "--no-ext-diff",
                "--no-commit-id",
                old,
                new,
                "--",
            ]
        )
        fields = done.stdout.split(b"\0")
        changes: list[Change] = []
        for index in range(0, len(fields) - 1, 2):
            header, raw_path = fields[index], fields[index + 1]
            parts = header.lstrip(b":").split()
            if len(parts) < 5:
                continue
            changes.append(
                Change(
                    status=_decode(parts[4])[:1],
                    path=_decode(raw_path),
                    old_mode=_decode(parts[0]),
                    new_mode=_decode(parts[1]),
                )
            )
        return changes

    def list_tree(self, commit: str, folder: str, *, recursive: bool = True) -> list[Entry]:
        """The entries under ``folder`` (a repository path, '' for the root) at ``commit``.

        Paths are relative to ``folder``. A folder that does not exist gives an empty list.
        """
        memo = (str(self.path), commit, folder, recursive)
        if _OBJECT_ID.fullmatch(commit):
            with contextlib.suppress(KeyError):
                _LISTINGS.move_to_end(memo)
                return list(_LISTINGS[memo])
        args = ["ls-tree", "-z", "-l", "--full-tree"]
        if recursive:
            args.append("-r")
        prefix = folder.strip("/")
        args += [commit, "--", f"{prefix}/" if prefix else "."]
        done = self._run(args)
        entries: list[Entry] = []
        cut = len(prefix) + 1 if prefix else 0
        for record in done.stdout.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            parts = meta.split()
            if len(parts) < 4:
                continue
            mode, kind, sha, size = (_decode(p) for p in parts[:4])
            path = _decode(raw_path)
            entries.append(
                Entry(mode, kind, sha, int(size) if size.isdigit() else None, path[cut:])
            )
        if _OBJECT_ID.fullmatch(commit):
            _LISTINGS[memo] = tuple(entries)
            while len(_LISTINGS) > _MAX_LISTINGS:
                _LISTINGS.popitem(last=False)
        return entries

    def read_blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """The contents of blobs, in one ``cat-file --batch`` call.

        Callers bound what they ask for by the sizes :meth:`list_tree` gave. A blob the clone
        lacks (a partial or damaged clone) raises :class:`GitError`.
        """
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        done = self._run(["cat-file", "--batch"], stdin="".join(f"{s}\n" for s in wanted).encode())
        out = done.stdout
        blobs: dict[str, bytes] = {}
        position = 0
        for sha in wanted:
            end = out.index(b"\n", position)
            header = _decode(out[position:end]).split()
            position = end + 1
            if len(header) != 3 or header[1] != "blob":
                raise GitError(
                    str(self.path),
                    f"object {sha} is missing or not a file ({' '.join(header[1:])})",
                    "Fetch the pull request's commits fully (a partial clone lacks file contents)",
                )
            size = int(header[2])
            blobs[sha] = out[position : position + size]
            position += size + 1
        return blobs
