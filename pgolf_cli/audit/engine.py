"""The audit pipeline: load -> parse -> facts -> rules -> findings, for one file or many.

Nothing here imports torch or runs the audited code: scripts are read as text, packed wrappers
are decoded statically, and the only interpretation is the facts pre-pass over the syntax tree.

A file named on its own is audited alone. A directory is audited as a records folder
(:mod:`pgolf_cli.audit.program`):

- A Python file that another file of the folder imports or ``exec``-s is not audited alone: it
  is *followed*. Each remaining file (``train_gpt.py`` first) is an entry point, and it is
  analysed together with every file it follows, transitively, as one program: the files are
  parsed one by one (a syntax error is a PG901 of that file, and the program goes on without
  it), their statements are joined into one module, followed files first, and the facts
  pre-pass and every rule run once over it. A followed file's ``__main__`` block is left out
  (it is not how the official run starts) unless the file is only ever ``exec``-ed, which runs
  it under the entry's ``__name__``. Reachability comes from the entry's main().
- Findings and their evidence are mapped back to the file and line they are in, so an illegal
  function in ``helpers.py`` is reported at ``helpers.py``, and an evidence line or switch in
  another file names that file. Suppression comments apply in the file they are written in.
- A file followed by several entry points is reported once: the findings of the programs it
  is part of are merged, duplicates (same rule, line and message) dropped.
- Only files inside the audited directory are followed; a reference that resolves outside it
  (``..``, an absolute path, a symlink pointing elsewhere) is refused and reported
  (as code outside the script).
- C, C++ and CUDA sources in the folder are scanned as text for a target-gated mixture
  (:mod:`pgolf_cli.audit.native`) and reported at low confidence.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import gc
import multiprocessing
import os
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing import connection
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Literal, cast

import libcst as cst

from pgolf_cli import __version__
from pgolf_cli.audit import guard, suppress
from pgolf_cli.audit.facts import Facts, Gate
from pgolf_cli.audit.findings import (
    AuditReport,
    Confidence,
    Evidence,
    FileResult,
    Finding,
    Reachability,
    Severity,
    Suppression,
    Switch,
)
from pgolf_cli.audit.native import NATIVE_SUFFIXES, read_native, scan
from pgolf_cli.audit.positions import LineMap, statement_lines
from pgolf_cli.audit.program import (
    MAX_MEMBERS,
    Folder,
    Member,
    Program,
    ReferenceKind,
    Status,
    combine,
    entry_points,
    references,
    run_scripts,
)
from pgolf_cli.audit.registry import all_rules, matches
from pgolf_cli.audit.rule import Hit, Rule
from pgolf_cli.audit.source import Source, read_source
from pgolf_cli.errors import PgolfInputError

#: Engine findings that are never filtered out by --select/--ignore: an audit that could not
#: read the code must not look clean.
FAIL_CLOSED = ("PG901", "PG903", "PG906")
_SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "node_modules",
    "site-packages",
    ".tox",
    ".mypy_cache",
}


#: Wall-clock seconds one unit of work (a file, or an entry point with the files it follows)
#: may take in its worker process: about 60 times what a 150 KiB script takes.
TIME_LIMIT_S = 60.0
#: Memory a worker may allocate beyond what it started with: about 25 times what auditing a
#: 150 KiB script needs.
MEMORY_LIMIT_BYTES = 4 * 2**30


@dataclass(frozen=True, slots=True)
class AuditOptions:
    select: tuple[str, ...] = ()
    """Rule ids or prefixes to run; empty means all."""
    ignore: tuple[str, ...] = ()
    time_limit_s: float = TIME_LIMIT_S
    """Per unit of work of :func:`audit_paths`; past it the unit is stopped and reported (PG906)."""
    memory_limit_bytes: int = MEMORY_LIMIT_BYTES
    """Per worker of :func:`audit_paths`, on systems that can limit it (Linux)."""
    setup_script: bool = False
    """The file is a script of a records folder that the folder's run does not start (data
    preparation, tokenizer building): rules about the official run (``Rule.run_only``) skip it."""


class RuleCrash(Exception):
    """A rule raised: a bug in pgolf, reported as a tool error (exit 2), never skipped silently."""


def _wanted(rule_id: str, options: AuditOptions) -> bool:
    if rule_id in FAIL_CLOSED:
        return True
    if options.select and not matches(rule_id, options.select):
        return False
    return not matches(rule_id, options.ignore)


def _rule(rule_id: str) -> type[Rule]:
    for rule in all_rules():
        if rule.id == rule_id:
            return rule
    raise KeyError(rule_id)


class _CollectorPaused:
    """Run without Python's cyclic garbage collector, as parsers and compilers do.

    A parsed libcst tree is ~10^5 container objects; while the facts pass allocates, every
    generation-2 collection walks the whole tree again, which cost 15-25% of an audit. Nothing
    an audit builds needs cycle collection before it ends; the previous state is restored after.
    A class rather than a generator-based context manager: a record folder holds stubs of a few
    bytes, which audit in microseconds.
    """

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *_: object) -> None:
        if self.was_enabled:
            gc.enable()


class _FileAudit:
    """Builds the findings of one file."""

    def __init__(self, source: Source, options: AuditOptions) -> None:
        self.source = source
        self.options = options
        self.lines = source.text.splitlines()
        self.findings: list[Finding] = []
        self.directives = suppress.parse(source.text)
        self._occurrences: Counter[tuple[str, str]] = Counter()
        self.aborted = False
        """Nothing was checked (no parse, or too deep): suppressions cannot be judged unused."""

    def code(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def add(
        self,
        rule: type[Rule],
        line: int,
        message: str,
        *,
        severity: Severity | None = None,
        gate: Gate | None = None,
        evidence: tuple[Evidence, ...] = (),
        confidence: object = None,
        decoded: bool = True,
    ) -> None:
        if not _wanted(rule.id, self.options):
            return
        gate = gate or Gate(Reachability.DEFAULT_ON)
        if severity is None:
            severity = rule.severity
        if gate.reach == Reachability.OFF_BY_DEFAULT and severity == Severity.ERROR:
            severity = Severity.WARNING
        snippet = self.code(line).strip()
        key = (rule.id, " ".join(snippet.split()))
        occurrence = self._occurrences[key]
        self._occurrences[key] += 1
        directive = suppress.match(self.directives, rule.id, line)
        self.findings.append(
            Finding(
                rule_id=rule.id,
                rule_name=rule.name,
                severity=severity,
                confidence=confidence if confidence is not None else rule.confidence,  # type: ignore[arg-type]
                message=message,
                path=self.source.path,
                line=line,
                end_line=line,
                snippet=snippet,
                evidence=evidence,
                reachability=gate.reach,
                switches=gate.switches,
                decoded_from=self.source.decoded_from if decoded else None,
                suppressed=directive is not None,
                suppression_reason=directive.reason if directive is not None else None,
                help=rule.documentation(),
                fingerprint=Finding.make_fingerprint(
                    rule.id, self.source.path, snippet, occurrence
                ),
            )
        )

    def run(self) -> FileResult:
        with _CollectorPaused():
            return self._run()

    def _run(self) -> FileResult:
        parsed = self.parse()
        # A file without a statement (empty, or only comments) holds nothing a rule can judge.
        if parsed is not None and parsed.module.body:
            try:
                lines = statement_lines(
                    parsed.module, self.source.text, parsed.statements, parsed.layout
                )
                facts = _facts(parsed.module, lines, self.source.text, self.source.path)
                try:
                    for rule, hit in _hits(facts, self.source.path, self.options):
                        self.hit(rule, hit)
                finally:
                    facts.release()
            except RecursionError:
                self.cannot_analyse()
        return self.finish()

    def parse(self) -> guard.Parsed | None:
        """The parsed code, after reporting how it was unpacked.

        None, and a PG901 or PG906, when it is not valid Python or is beyond the parse bounds.
        """
        source = self.source
        if source.layers:
            self.add(
                _rule("PG902"),
                source.layers[0].line,
                f"packed script: the audited code was decoded statically ({source.decoded_from}); "
                "finding lines count lines of the decoded text",
                decoded=False,
            )
        if source.undecodable is not None:
            self.add(
                _rule("PG903"),
                source.undecodable.line,
                f"packed script that cannot be decoded statically: {source.undecodable.reason}. "
                "pgolf will not execute it, so the code inside is unaudited; ship the plain source",
            )
        try:
            return guard.parse(source.text)
        except guard.Refused as refused:
            if refused.rule_id == "PG901" and not refused.python_reads:
                message = (
                    f"cannot parse: {refused.detail}; the file is not valid Python 3, "
                    "so nothing in it was checked"
                )
            elif refused.rule_id == "PG901":
                message = (
                    f"cannot parse: {refused.detail}; Python reads the file but pgolf's parser "
                    "does not, so nothing in it was checked (please report it with the file)"
                )
            else:
                message = f"not analysed: {refused.detail}; nothing in it was checked"
            self.add(_rule(refused.rule_id), refused.line, message)
        self.aborted = True
        return None

    def hit(
        self,
        rule: type[Rule],
        hit: Hit,
        line: int | None = None,
        evidence: tuple[Evidence, ...] | None = None,
        gate: Gate | None = None,
    ) -> None:
        """A rule's hit, at ``line`` of this file when the rule saw it at another line."""
        self.add(
            rule,
            hit.line if line is None else line,
            hit.message,
            gate=hit.gate if gate is None else gate,
            evidence=hit.evidence if evidence is None else evidence,
            confidence=hit.confidence,
            severity=hit.severity,
        )

    def cannot_analyse(self) -> None:
        self.refuse(
            "not analysed: the code nests deeper than Python's recursion limit allows "
            "(a huge expression or block); nothing in it was checked"
        )

    def refuse(self, message: str) -> None:
        """Drop what was found so far and report that the file is beyond the audit's bounds."""
        self.aborted = True
        self.findings = [f for f in self.findings if f.rule_id in ("PG902", "PG903")]
        self.add(_rule("PG906"), 1, message)

    def finish(self) -> FileResult:
        if not self.aborted:
            self._suppression_findings()
        return self.result()

    def _suppression_findings(self) -> None:
        for directive in self.directives:
            if directive.problem is not None:
                self.add(_rule("PG905"), directive.line, f"suppression comment {directive.problem}")
            elif not directive.used and all(_wanted(i, self.options) for i in directive.rule_ids):
                ids = ", ".join(directive.rule_ids)
                self.add(
                    _rule("PG904"),
                    directive.line,
                    f"unused suppression: no {ids} finding on this line; remove the comment",
                )

    def result(self) -> FileResult:
        findings = tuple(sorted(self.findings, key=lambda f: (f.line, f.rule_id)))
        return FileResult(
            path=self.source.path,
            findings=findings,
            suppressions=tuple(
                Suppression(d.line, d.rule_ids, d.reason, d.used)
                for d in self.directives
                if d.problem is None
            ),
            layers=tuple(layer.kind for layer in self.source.layers),
            shipped_bytes=self.source.shipped_bytes,
        )


def _facts(
    module: cst.Module,
    lines: LineMap,
    text: str,
    where: str,
    local_modules: frozenset[str] = frozenset(),
) -> Facts:
    try:
        return Facts(module, lines, text, local_modules=local_modules)
    except RecursionError:
        raise
    except Exception as error:
        raise RuleCrash(
            f"{where}: internal error in the facts pre-pass ({type(error).__name__}: {error}). "
            "This is a bug in pgolf; please report it with the file"
        ) from error


def _hits(
    facts: Facts, where: str, options: AuditOptions, program: Program | None = None
) -> Iterator[tuple[type[Rule], Hit]]:
    """The reachable hits of every selected rule, rule by rule, in line order."""
    for rule in all_rules():
        if not _wanted(rule.id, options) or rule.id.startswith("PG9"):
            continue
        if options.setup_script and rule.run_only:
            continue
        try:
            hits: list[Hit] = list(rule().run(facts, program))
        except RecursionError:
            raise
        except Exception as error:  # a rule bug must surface as a tool error, never as "clean"
            raise RuleCrash(
                f"{where}: internal error in rule {rule.id} ({type(error).__name__}: {error}). "
                "This is a bug in pgolf; please report it with the file"
            ) from error
        for hit in sorted(hits, key=lambda h: h.line):
            if hit.gate.reachable:
                yield rule, hit


def audit_source(source: Source, options: AuditOptions | None = None) -> FileResult:
    """Audit already-loaded source (the PR gate reads files from git objects)."""
    return _FileAudit(source, options or AuditOptions()).run()


def audit_file(
    path: Path, options: AuditOptions | None = None, display: str | None = None
) -> FileResult:
    shown = display or str(path)
    try:
        source = read_source(path, shown)
        return audit_source(source, options)
    except PgolfInputError as error:
        return FileResult(path=shown, error=str(error))
    except RuleCrash as error:
        return FileResult(path=shown, error=str(error))


# --------------------------------------------------------------------------- records folders


class _ProgramAudit:
    """Audits an entry point of a folder together with the files it follows."""

    def __init__(self, entry: Path, shown: str, folder: Folder, options: AuditOptions) -> None:
        self.entry = entry.resolve()
        self.shown = shown
        self.folder = folder
        self.options = options
        self.audits: dict[Path, _FileAudit] = {}
        self.errors: dict[Path, FileResult] = {}
        self.members: dict[Path, Member] = {}
        self.kinds: dict[Path, set[ReferenceKind]] = {}
        self.local_modules: set[str] = set()

    def run(self) -> list[FileResult]:
        with _CollectorPaused():
            return self._run()

    def _run(self) -> list[FileResult]:
        queue = deque([(self.entry, self.shown)])
        queued = {self.entry}
        while queue:
            for found, shown in self._load(*queue.popleft()):
                if found not in queued and len(queued) < MAX_MEMBERS:
                    queued.add(found)
                    queue.append((found, shown))
        entry = self.members.get(self.entry)
        if entry is not None:
            followed = [m for p, m in self.members.items() if p != self.entry]
            for member in followed:
                member.exec_only = self.kinds.get(member.real, set()) == {ReferenceKind.EXEC}
            program = combine(entry, followed, self.folder)
            program.local_modules = frozenset(self.local_modules)
            self._check(program)
        return [audit.finish() for audit in self.audits.values()] + list(self.errors.values())

    def _load(self, real: Path, shown: str) -> list[tuple[Path, str]]:
        """Read and parse one file; the files it refers to (to follow next)."""
        try:
            source = read_source(real, shown)
        except PgolfInputError as error:
            self.errors[real] = FileResult(path=shown, error=str(error))
            return []
        audit = _FileAudit(source, self.options)
        self.audits[real] = audit
        parsed = audit.parse()
        if parsed is None:
            return []
        module = parsed.module
        try:
            lines = statement_lines(module, source.text, parsed.statements, parsed.layout)
            refs = references(module, lambda node: lines.get(id(node), (0, 0)), source.text)
        except RecursionError:
            audit.cannot_analyse()
            return []
        self.members[real] = Member(real, shown, source.text, module, lines)
        out: list[tuple[Path, str]] = []
        for ref in refs:
            for resolution in self.folder.resolve(ref, real, self.entry.parent):
                if resolution.status is not Status.FOUND or resolution.real is None:
                    continue
                if resolution.real == self.entry:
                    continue  # importing the entry runs code that is counted anyway
                self.kinds.setdefault(resolution.real, set()).add(ref.kind)
                if ref.kind is ReferenceKind.IMPORT and not ref.relative and ref.target:
                    self.local_modules.add(ref.target)
                    # `from pkg import sub` binds a module when `sub` is a file of the package.
                    module_name = resolution.real.stem
                    if module_name == "__init__":
                        module_name = resolution.real.parent.name
                    if module_name in ref.names:
                        self.local_modules.add(f"{ref.target}.{module_name}")
                out.append((resolution.real, resolution.shown))
        return out

    def _check(self, program: Program) -> None:
        entry_audit = self.audits[self.entry]
        try:
            facts = _facts(
                program.module, program.lines, program.text, self.shown, program.local_modules
            )
            try:
                for rule, hit in _hits(facts, self.shown, self.options, program):
                    self._route(program, rule, hit)
            finally:
                facts.release()
        except RecursionError:
            for audit in self.audits.values():
                audit.aborted = True
                audit.findings = [
                    f for f in audit.findings if f.rule_id in ("PG901", "PG902", "PG903", "PG906")
                ]
            entry_audit.cannot_analyse()

    def _route(self, program: Program, rule: type[Rule], hit: Hit) -> None:
        """Report a hit at the file and line it points at, with its evidence and switches."""
        member, line = program.member_at(hit.line)

        def place(virtual: int) -> tuple[int, str | None]:
            other, local = program.member_at(virtual)
            return local, (None if other is member else other.shown)

        evidence = []
        for item in hit.evidence:
            local, path = place(item.line)
            evidence.append(Evidence(local, item.label, item.code, path))
        switches = []
        for switch in hit.gate.switches:
            local, path = place(switch.line)
            switches.append(Switch(switch.env, switch.default, local, path))
        gate = Gate(hit.gate.reach, tuple(switches), hit.gate.reachable)
        self.audits[member.real].hit(rule, hit, line, tuple(evidence), gate)


class _RenamedFolder(Folder):
    """A folder the report names by another path than the one it is read from.

    A :class:`Folder` reads its files through ``real`` and names them (and itself, in
    messages) by ``root``; the gate audits a private copy of a repository folder and names it
    by its repository path.
    """

    def __init__(self, directory: Path, display: str) -> None:
        super().__init__(directory)
        self.root = Path(display)


def audit_program(
    entry: Path,
    folder: Path,
    options: AuditOptions | None = None,
    display: str | None = None,
    *,
    folder_display: str | None = None,
) -> list[FileResult]:
    """Audit ``entry`` and the files of ``folder`` it follows; one result per file.

    ``display`` names the entry, ``folder_display`` the folder (and so every followed file)
    when the report must not show where they are read from.
    """
    shown = display or str(entry)
    within = Folder(folder) if folder_display is None else _RenamedFolder(folder, folder_display)
    if not entry.resolve().is_relative_to(within.real):
        return [
            FileResult(
                path=shown,
                error=f"{shown}: a symlink to a file outside the audited folder {folder}; "
                "pgolf does not read it. Ship the file itself in the folder",
            )
        ]
    try:
        return _ProgramAudit(entry, shown, within, options or AuditOptions()).run()
    except RuleCrash as error:
        return [FileResult(path=shown, error=str(error))]


def scan_native(
    path: Path, options: AuditOptions | None = None, display: str | None = None
) -> FileResult | None:
    """Findings of a C / C++ / CUDA source, by the catalogue's rule that scans native sources
    (None when there is none, or it is not selected)."""
    options = options or AuditOptions()
    rule = next((r for r in all_rules() if r.scans_native), None)
    if rule is None or not _wanted(rule.id, options):
        return None
    shown = display or str(path)
    try:
        text = read_native(path)
    except OSError as error:
        return FileResult(path=shown, error=f"{shown}: cannot be read ({error.strerror or error})")
    source = Source(shown, text, len(text.encode()))
    audit = _FileAudit(source, options)
    for mix in scan(text):
        audit.add(
            rule,
            mix.mix_line,
            rule.native_message(mix),
            gate=Gate(Reachability.UNKNOWN),
            evidence=(
                Evidence(
                    mix.read_line,
                    "table read at the token being scored",
                    audit.code(mix.read_line).strip(),
                ),
                Evidence(
                    mix.score_line,
                    "the log of the mixture is added to the score",
                    audit.code(mix.score_line).strip(),
                ),
            ),
            confidence=Confidence.LOW,
        )
    return audit.result()


def _walk(directory: Path, suffixes: frozenset[str]) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if os.path.splitext(name)[1] in suffixes:
                yield Path(root) / name


_PYTHON = frozenset({".py"})


def _python_files(directory: Path) -> Iterator[Path]:
    return _walk(directory, _PYTHON)


def collect_files(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """Files to audit and the problems with the paths themselves."""
    files: list[Path] = []
    errors: list[str] = []
    for path in paths:
        if path.is_dir():
            found = list(_python_files(path))
            if not found:
                errors.append(
                    f"{path}: no Python files in this directory. Pass a train_gpt.py or a folder that contains one"
                )
            files.extend(found)
        elif (path.exists() or path.is_symlink()) and not _named_as_python(path):
            errors.append(
                f"{path}: not a Python file (the name ends in {path.suffix or 'no suffix'} and "
                "the first line is not a python #! line). Pass the train_gpt.py script"
            )
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or directory. Check the path")
    return list(dict.fromkeys(files)), errors


def _named_as_python(path: Path) -> bool:
    """A ``.py`` file, or a script whose ``#!`` line runs python. A file named otherwise
    (``submission.json``, a log) passed by mistake is a usage error, not unparseable code."""
    if path.suffix == ".py":
        return True
    try:
        with path.open("rb") as handle:
            first = handle.readline(256)
    except OSError:
        return True  # reading reports the problem, with the file named
    return first.startswith(b"#!") and b"python" in first


def count_files(paths: Sequence[Path]) -> int:
    return len(collect_files(paths)[0])


@dataclass(frozen=True, slots=True)
class _Unit:
    """One piece of work: a file alone, an entry point of a folder, or a native source."""

    path: Path
    folder: Path | None = None
    native: bool = False
    shown: str | None = None
    """How the report names ``path``; None: by the path itself."""
    folder_shown: str | None = None
    """How the report names ``folder``; None: by the path itself."""
    setup: bool = False
    """An entry point of a folder that the folder's run does not start."""


def _run_unit(unit: _Unit, options: AuditOptions) -> list[FileResult]:
    if unit.setup:
        options = dataclasses.replace(options, setup_script=True)
    if unit.native:
        result = scan_native(unit.path, options, unit.shown)
        return [] if result is None else [result]
    if unit.folder is None:
        return [audit_file(unit.path, options, unit.shown)]
    return audit_program(
        unit.path, unit.folder, options, unit.shown, folder_display=unit.folder_shown
    )


class _Names:
    """How the report names a path: under the name given to the directory it is in, if any."""

    def __init__(self, shown_as: Mapping[Path, str]) -> None:
        # The deepest renamed directory names a path, should renamed directories nest.
        self.renamed = sorted(shown_as.items(), key=lambda item: -len(item[0].parts))

    def __call__(self, path: Path) -> str | None:
        """The name of ``path``; None when it is shown as it is."""
        for directory, display in self.renamed:
            if path.is_relative_to(directory):
                return str(Path(display) / path.relative_to(directory))
        return None

    def text(self, path: Path) -> str:
        return self(path) or str(path)


def _unit(
    path: Path, folder: Path | None, names: _Names, *, native: bool = False, setup: bool = False
) -> _Unit:
    return _Unit(
        path,
        folder,
        native,
        shown=names(path),
        folder_shown=names(folder) if folder is not None else None,
        setup=setup,
    )


def _plan(
    paths: Sequence[Path], files: Sequence[Path], names: _Names, options: AuditOptions
) -> tuple[list[_Unit], dict[Path, Path]]:
    """The units of work, and the folder each file of a directory belongs to."""
    units: list[_Unit] = []
    folder_of: dict[Path, Path] = {}
    natives: list[_Unit] = []
    for path in dict.fromkeys(paths):
        if path.is_dir():
            in_folder = list(_python_files(path))
            for file in in_folder:
                folder_of.setdefault(file, path)
            runs = run_scripts(path, in_folder)
            units.extend(
                _unit(entry, path, names, setup=entry not in runs)
                for entry in _entries(path, in_folder, options)
            )
            natives.extend(_unit(n, path, names, native=True) for n in _walk(path, NATIVE_SUFFIXES))
    for file in files:
        if file not in folder_of:
            units.append(_unit(file, None, names))
    return units + natives, folder_of


# --------------------------------------------------------------------------- bounded workers
#
# Every unit of work runs in a worker process with a wall-clock and a memory limit, so that no
# input can crash or stall the caller: a parser crash (SIGSEGV in native code), a parse that
# runs for minutes or an allocation storm ends the worker, and the unit is reported as PG906.
# Workers are forked where the platform can (no re-import, a few milliseconds each).

_Outcome = tuple[Literal["ok"], object] | tuple[Literal["refused"], str]


def _context() -> multiprocessing.context.BaseContext:
    forking = "fork" in multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if forking else "spawn")


def _limit_memory(extra: int) -> None:
    """Cap this process's address space at its current size plus ``extra`` (Linux only)."""
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + extra if hard == resource.RLIM_INFINITY else min(size + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _work(
    job: Callable[..., object], args: tuple[object, ...], memory: int, conn: Connection
) -> None:
    """The body of a worker process: run ``job`` and send back what came of it."""
    # A crash here is expected and reported as a finding: no fault dump on the user's terminal.
    faulthandler.disable()
    _limit_memory(memory)
    outcome: tuple[str, object]
    try:
        outcome = ("ok", job(*args))
    except MemoryError:
        outcome = ("memory", None)
    except BaseException as error:  # re-raised in the caller, as if it had run there
        outcome = ("raised", error)
    try:
        conn.send(outcome)
    except MemoryError:
        conn.send(("memory", None))
    except Exception:  # the exception does not pickle: send what it said
        conn.send(("raised", RuntimeError(f"{type(outcome[1]).__name__}: {outcome[1]}")))
    conn.close()


@dataclass(frozen=True, slots=True)
class _Running:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    deadline: float
    index: int


def _bounded(
    jobs: Sequence[tuple[Callable[..., object], tuple[object, ...]]],
    options: AuditOptions,
    workers: int,
    done: Callable[[int, _Outcome], None],
) -> None:
    """Run ``jobs`` in at most ``workers`` processes at once; ``done(index, outcome)`` each.

    The outcome is ``("ok", value)`` or ``("refused", why)`` for a worker that ran past the
    time limit, ran out of memory or died. An exception the job raised is raised here.
    """
    context = _context()
    queue = deque(enumerate(jobs))
    running: dict[Connection, _Running] = {}
    limit = options.time_limit_s
    try:
        while queue or running:
            while queue and len(running) < workers:
                index, (job, args) = queue.popleft()
                receive, send = context.Pipe(duplex=False)
                process = context.Process(  # type: ignore[attr-defined]
                    target=_work, args=(job, args, options.memory_limit_bytes, send), daemon=True
                )
                process.start()
                send.close()
                running[receive] = _Running(process, receive, time.monotonic() + limit, index)
            wait_s = max(0.0, min(r.deadline for r in running.values()) - time.monotonic())
            for conn in connection.wait(list(running), timeout=wait_s):
                assert isinstance(conn, Connection)
                item = running.pop(conn)
                try:
                    status, value = conn.recv()
                except EOFError:  # the worker died without a word: killed by a signal
                    status, value = "died", None
                conn.close()
                item.process.join()
                if status == "raised":
                    raise cast(BaseException, value)
                done(
                    item.index,
                    ("ok", value)
                    if status == "ok"
                    else ("refused", _why(status, item.process.exitcode, options)),
                )
            now = time.monotonic()
            for conn, item in list(running.items()):
                if now >= item.deadline:
                    item.process.kill()
                    item.process.join()
                    conn.close()
                    del running[conn]
                    done(
                        item.index,
                        ("refused", f"the audit ran for more than {limit:g} s and was stopped"),
                    )
    finally:
        for item in running.values():
            item.process.kill()
            item.process.join()
            item.conn.close()


def _why(status: str, exitcode: int | None, options: AuditOptions) -> str:
    if status == "memory":
        gib = options.memory_limit_bytes / 2**30
        return f"the audit needed more than {gib:g} GiB of memory and was stopped"
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the audit's worker process crashed ({name}) while reading the code"
    return f"the audit's worker process ended without a result (exit status {exitcode})"


def _refused(unit: _Unit, why: str, options: AuditOptions) -> FileResult:
    """The result of a unit whose worker was stopped: a PG906 at line 1 of its (entry) file."""
    try:
        size = unit.path.stat().st_size
    except OSError:
        size = 0
    audit = _FileAudit(Source(unit.shown or str(unit.path), "", size), options)
    audit.refuse(f"not analysed: {why}; nothing in it was checked")
    return audit.finish()


def _supervise(
    units: Sequence[_Unit],
    options: AuditOptions,
    workers: int,
    take: Callable[[list[FileResult]], None],
) -> None:
    """Run each unit in a bounded worker; a unit whose worker was stopped gets a PG906."""

    def done(index: int, outcome: _Outcome) -> None:
        if outcome[0] == "ok":
            take(cast(list[FileResult], outcome[1]))
        else:
            take([_refused(units[index], outcome[1], options)])

    _bounded([(_run_unit, (unit, options)) for unit in units], options, workers, done)


def _entries(folder: Path, files: list[Path], options: AuditOptions) -> list[Path]:
    """The entry points of a folder, worked out in a bounded worker (it parses the files).

    When the worker is stopped, every file is an entry point of its own: each is then audited
    in a worker of its own, where the file that stopped this one is reported.
    """
    found: list[list[Path]] = [files]

    def done(index: int, outcome: _Outcome) -> None:
        if outcome[0] == "ok":
            found[0] = cast(list[Path], outcome[1])

    _bounded([(_folder_entries, (folder, files))], options, 1, done)
    return found[0]


def _folder_entries(folder: Path, files: list[Path]) -> list[Path]:
    return entry_points(Folder(folder), files)


def _merge(first: FileResult, again: FileResult) -> FileResult:
    """One result for a file that several programs include: each finding once."""
    if first.error is not None or again.error is not None:
        return first if first.error is not None else again
    used = {s.line for s in (*first.suppressions, *again.suppressions) if s.used}
    seen = {(f.rule_id, f.line, f.message) for f in first.findings}
    findings = [
        *first.findings,
        *(f for f in again.findings if (f.rule_id, f.line, f.message) not in seen),
    ]
    # A suppression another program used is not unused.
    findings = [f for f in findings if not (f.rule_id == "PG904" and f.line in used)]
    suppressions = tuple(dataclasses.replace(s, used=s.line in used) for s in first.suppressions)
    return dataclasses.replace(
        first,
        findings=tuple(sorted(findings, key=lambda f: (f.line, f.rule_id))),
        suppressions=suppressions,
    )


def audit_paths(
    paths: Sequence[Path],
    options: AuditOptions | None = None,
    *,
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
    shown_as: Mapping[Path, str] | None = None,
) -> AuditReport:
    """Audit files and directories (as records folders); work runs in parallel worker processes.

    ``shown_as`` maps a directory among ``paths`` to the path the report names it by: its
    files, the evidence in them and the messages that name them are shown under that path
    (the gate audits a private copy of a repository folder under its repository path).
    """
    options = options or AuditOptions()
    names = _Names(shown_as or {})
    files, errors = collect_files(paths)
    units, folder_of = _plan(paths, files, names, options)
    results: dict[str, FileResult] = {}
    expected = {names.text(path) for path in files}

    def take(found: list[FileResult]) -> None:
        for result in found:
            earlier = results.get(result.path)
            results[result.path] = result if earlier is None else _merge(earlier, result)
            if progress and earlier is None and result.path in expected:
                progress(result.path)

    workers = max(1, min(jobs or os.cpu_count() or 1, len(units)))
    _supervise(units, options, workers, take)
    # A file planned as followed that no program took (it could not be reached after all) is
    # audited as an entry point of its own, so that nothing is silently skipped.
    leftover = [
        _unit(path, folder_of.get(path), names) for path in files if names.text(path) not in results
    ]
    _supervise(leftover, options, 1, take)
    shown = [names.text(path) for path in files]
    ordered = [results.pop(name) for name in shown if name in results]
    return AuditReport(
        files=tuple(ordered + sorted(results.values(), key=lambda r: r.path)),
        rules=tuple(rule.info() for rule in all_rules()),
        tool_version=__version__,
        errors=tuple(errors),
    )
