"""The gate's folder audit, computed once per distinct set of files the audit can read.

Pull requests copy scripts: many folders ship the same ``train_gpt.py`` beside different logs,
READMEs and folder names. The audit of a folder (:func:`pgolf_cli.gate.run.audit_folder`) reads

- every Python and C/C++/CUDA file of the folder (the programs and the native scan), and
- another file only through a string literal in that code that names it (``exec(open(
  "helpers.txt").read())``, a path PG301 sizes, a directory an import looks into),

so its key (:func:`audit_key`) is the blob id of every code file, the blob id of every other
file whose name occurs in the code's text (raw, and decoded from packed wrappers, with the seams
of adjacent string literals closed), the existence of every directory whose name does, the audit
options and the rule catalogue, and pgolf's code (:func:`pgolf_cli.sweep.cache.key`). Logs,
READMEs and submission.json files the code does not name are not in the key, so they do not
stop the reuse.

The audit names every result by the folder's repository path. It is run under a fixed
placeholder path instead and stored that way; a cached result is relocated to the folder it
is used for (paths, messages, SARIF fingerprints), so it equals the audit run there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgolf_cli import __version__
from pgolf_cli.audit.findings import AuditReport, FileResult, Finding
from pgolf_cli.audit.native import NATIVE_SUFFIXES
from pgolf_cli.sweep.cache import Cache, key

#: The repository path a cached audit is run under; no real folder has it.
PLACEHOLDER = "pgolf-sweep-cache-7c1e/folder"
KIND = "audit"
# Adjacent string literals ("help" "ers.txt") join into one: close the seams before searching.
_LITERAL_SEAM = re.compile(r"""["']\s*\\?\s*["']""")


def git_blob_id(data: bytes) -> str:
    """The id git gives a blob with these bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _is_code(name: str) -> bool:
    return name.endswith(".py") or name.lower().endswith(tuple(NATIVE_SUFFIXES))


def _haystack(files: Mapping[str, bytes]) -> str:
    """The text of the folder's code, raw and unpacked, lower case (file systems that ignore
    case resolve a name however it is written)."""
    from pgolf_cli.audit.source import SourceError, source_from_bytes

    texts: list[str] = []
    for name, data in files.items():
        if not _is_code(name):
            continue
        texts.append(data.decode("utf-8", "replace"))
        if name.endswith(".py"):
            # An unreadable script is the audit's to report; its raw text is in already.
            with contextlib.suppress(SourceError):
                texts.append(source_from_bytes(name, data).text)
    joined = "\n".join(texts)
    return (joined + "\n" + _LITERAL_SEAM.sub("", joined)).lower()


def audit_inputs(files: Mapping[str, bytes]) -> list[list[str]]:
    """What the audit of a folder with ``files`` can depend on, as key parts."""
    haystack = _haystack(files)
    parts: set[tuple[str, ...]] = set()
    for name, data in files.items():
        if _is_code(name) or name.rsplit("/", 1)[-1].lower() in haystack:
            parts.add(("file", name, git_blob_id(data)))
        components = name.split("/")[:-1]
        for depth, component in enumerate(components, start=1):
            if component.lower() in haystack:
                parts.add(("dir", "/".join(components[:depth])))
    return [list(part) for part in sorted(parts)]


def audit_key(files: Mapping[str, bytes]) -> str:
    from pgolf_cli.audit.engine import AuditOptions
    from pgolf_cli.audit.registry import all_rules

    return key(
        KIND,
        {
            "inputs": audit_inputs(files),
            "options": dataclasses.asdict(AuditOptions()),
            "rules": sorted(rule.id for rule in all_rules()),
        },
    )


# --------------------------------------------------------------------------------------------
# Storing and relocating a report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Move:
    """Renames the folder ``old`` to ``new`` in every string the audit derived from paths."""

    old: str
    new: str

    def text(self, value: str) -> str:
        return value.replace(self.old, self.new)

    def path(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def finding(self, finding: Finding) -> Finding:
        path = self.text(finding.path)
        return dataclasses.replace(
            finding,
            path=path,
            message=self.text(finding.message),
            evidence=tuple(
                dataclasses.replace(e, label=self.text(e.label), path=self.path(e.path))
                for e in finding.evidence
            ),
            switches=tuple(
                dataclasses.replace(s, path=self.path(s.path)) for s in finding.switches
            ),
            fingerprint=self._fingerprint(finding, path),
        )

    def _fingerprint(self, finding: Finding, path: str) -> str:
        # The fingerprint hashes the path with the finding's rank among the file's findings of
        # the same rule and snippet; recover that rank from the stored fingerprint.
        for occurrence in range(4096):
            made = Finding.make_fingerprint(
                finding.rule_id, finding.path, finding.snippet, occurrence
            )
            if made == finding.fingerprint:
                return Finding.make_fingerprint(finding.rule_id, path, finding.snippet, occurrence)
        return finding.fingerprint

    def result(self, result: FileResult) -> FileResult:
        return dataclasses.replace(
            result,
            path=self.text(result.path),
            findings=tuple(self.finding(f) for f in result.findings),
            error=self.path(result.error),
        )


def _store(report: AuditReport, root: Path) -> dict[str, Any]:
    """``report`` (run under :data:`PLACEHOLDER`) as a json document; the private copy's
    directory, which an input error may name, is written as the placeholder too."""
    private = _Move(str(root), PLACEHOLDER)
    return {
        "files": [private.result(result).to_data() for result in report.files],
        "errors": [private.text(error) for error in report.errors],
    }


def _load(document: dict[str, Any], folder: str) -> AuditReport:
    from pgolf_cli.audit.registry import all_rules

    move = _Move(PLACEHOLDER, folder)
    return AuditReport(
        files=tuple(move.result(FileResult.from_data(item)) for item in document["files"]),
        rules=tuple(rule.info() for rule in all_rules()),
        tool_version=__version__,
        errors=tuple(move.text(error) for error in document["errors"]),
    )


@dataclass
class CachedAudit:
    """A :data:`pgolf_cli.gate.run.FolderAudit` that reuses the audits in ``cache``."""

    cache: Cache
    hits: int = 0
    """Audits taken from the cache since :meth:`reset`."""
    misses: int = 0
    """Audits run (and cached) since :meth:`reset`."""
    keys: set[str] = field(default_factory=set)
    """The audit keys asked for since :meth:`reset`."""

    def reset(self) -> None:
        self.hits, self.misses, self.keys = 0, 0, set()

    def __call__(self, root: Path, folder: str, files: Mapping[str, bytes]) -> AuditReport:
        from pgolf_cli.gate.run import audit_folder

        name = audit_key(files)
        self.keys.add(name)
        report = self._reuse(name, folder)
        if report is None:
            with self.cache.claim(KIND, name):
                report = self._reuse(name, folder)  # another process may have finished it
                if report is None:
                    self.misses += 1
                    document = _store(audit_folder(root, PLACEHOLDER, files), root)
                    self.cache.put(KIND, name, document)
                    return _load(document, folder)
        self.hits += 1
        return report

    def _reuse(self, name: str, folder: str) -> AuditReport | None:
        document = self.cache.get(KIND, name)
        if document is None:
            return None
        try:
            return _load(document, folder)
        except (KeyError, TypeError, ValueError):
            return None  # an entry of another shape (a damaged file): audit again, replace it
