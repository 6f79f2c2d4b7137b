"""A directory of json documents addressed by the hash of everything they depend on.

Several processes, on one machine or on several sharing the directory, may read and write it
at once. Every entry is written to a temporary file beside its final name and renamed into
place (:func:`pgolf_cli.files.write_atomically`), so a reader sees a whole entry or none; two
writers of one key write the same document, so the last rename losing nothing. An entry that
cannot be read or parsed is a miss, never an error: the work is done again and rewritten.

:meth:`Cache.claim` takes an advisory lock per key (``flock``), so that on one machine a second
process asking for a key being computed waits for the entry instead of computing it again. The
lock only saves work: where ``flock`` is missing, or does not reach across machines (some
network filesystems), both compute, and the atomic rename keeps the entry whole.

Keys (:func:`key`) hash the :func:`code_digest`: pgolf's version and the source of every module
of ``pgolf_cli`` and ``checks``, so any change to pgolf's code invalidates every entry instead of
trusting a version number that development does not bump.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from pgolf_cli import __version__
from pgolf_cli.errors import PgolfInputError
from pgolf_cli.files import write_atomically

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, entries stay atomic
    fcntl = None  # type: ignore[assignment]

#: Bumped when the layout of the directory or of an entry changes.
CACHE_FORMAT = 1


class CacheError(PgolfInputError):
    """The cache directory cannot be created or written: exit 2."""


@cache
def code_digest() -> str:
    """Hash of pgolf's version and of the source of the packages that decide a verdict."""
    import checks
    import pgolf_cli

    digest = hashlib.sha256(f"pgolf {__version__}\0format {CACHE_FORMAT}\0".encode())
    for package in (pgolf_cli, checks):
        root = Path(package.__file__ or "").parent
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{package.__name__}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def key(kind: str, parts: dict[str, Any]) -> str:
    """The key of an entry of ``kind`` that depends on ``parts`` (json-serialisable)."""
    document = {"kind": kind, "code": code_digest(), **parts}
    text = json.dumps(document, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Cache:
    """Entries under ``root/v<format>/<kind>/<key[:2]>/<key>.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._base = root / f"v{CACHE_FORMAT}"
        try:
            self._base.mkdir(parents=True, exist_ok=True)
        except OSError as problem:
            raise CacheError(
                str(root),
                f"cannot be created ({problem.strerror or problem})",
                "Pass a writable directory with --cache",
            ) from None
        if not os.access(self._base, os.W_OK):
            raise CacheError(str(root), "is not writable", "Pass a writable directory with --cache")

    def _path(self, kind: str, name: str, suffix: str) -> Path:
        return self._base / kind / name[:2] / f"{name}{suffix}"

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            text = self._path(kind, name, ".json").read_text(encoding="utf-8")
            document = json.loads(text)
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        return document if isinstance(document, dict) else None

    def put(self, kind: str, name: str, document: dict[str, Any]) -> None:
        path = self._path(kind, name, ".json")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, json.dumps(document, ensure_ascii=False, sort_keys=True))
        except OSError as problem:
            raise CacheError(
                str(path),
                f"cannot be written ({problem.strerror or problem})",
                "Check the space and permissions of the --cache directory",
            ) from None

    @contextmanager
    def claim(self, kind: str, name: str) -> Iterator[None]:
        """Hold the lock of one key while computing its entry (see the module docstring)."""
        if fcntl is None:
            yield
            return
        path = self._path(kind, name, ".lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            yield  # a read-only or odd filesystem: compute without the lock
            return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock
