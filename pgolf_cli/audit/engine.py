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
  (``..``, an absolute path, a symlink pointing elsewhere) is refused and reported by PG301.
- C, C++ and CUDA sources in the folder are scanned as text for PG203's shape
  (:mod:`pgolf_cli.audit.native`) and reported at low confidence.
"""

from __future__ import annotations

import ast
import dataclasses
import gc
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from pgolf_cli import __version__
from pgolf_cli.audit import suppress
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
from pgolf_cli.audit.native import NATIVE_SUFFIXES, GatedMixture, read_native, scan
from pgolf_cli.audit.positions import LineMap, statement_lines
from pgolf_cli.audit.program import (
    MAX_MEMBERS,
    PROGRAM_KEY,
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
from pgolf_cli.audit.registry import all_rules, get_rule, matches
from pgolf_cli.audit.rule import Hit, Rule
from pgolf_cli.audit.source import Source, read_source
from pgolf_cli.errors import PgolfInputError

#: Engine findings that are never filtered out by --select/--ignore: an audit that could not
#: read the code must not look clean.
FAIL_CLOSED = ("PG901", "PG903")
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


@dataclass(frozen=True, slots=True)
class AuditOptions:
    select: tuple[str, ...] = ()
    """Rule ids or prefixes to run; empty means all."""
    ignore: tuple[str, ...] = ()
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


def _syntax_error_position(text: str, error: cst.ParserSyntaxError) -> tuple[int, str]:
    """Line and description of a syntax error.

    libcst reports where its parser gave up, often the line after the mistake; CPython's own
    parser (``ast.parse`` builds a tree and runs nothing) names the offending line.
    """
    try:
        ast.parse(text)
    except SyntaxError as precise:
        if precise.lineno:
            return precise.lineno, f"{precise.msg} (line {precise.lineno})"
    except (ValueError, RecursionError, MemoryError):
        pass
    return max(
        error.raw_line, 1
    ), f"{error.message} (line {error.raw_line}, column {error.raw_column})"


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Run without Python's cyclic garbage collector, as parsers and compilers do.

    A parsed libcst tree is ~10^5 container objects; while the facts pass allocates, every
    generation-2 collection walks the whole tree again, which cost 15-25% of an audit. Nothing
    an audit builds needs cycle collection before it ends; the previous state is restored after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
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
        with _collector_paused():
            return self._run()

    def _run(self) -> FileResult:
        module = self.parse()
        if module is not None:
            try:
                lines = statement_lines(module, self.source.text)
                facts = _facts(module, lines, self.source.text, self.source.path)
                for rule, hit in _hits(facts, self.source.path, self.options):
                    self.hit(rule, hit)
            except RecursionError:
                self.cannot_analyse()
        return self.finish()

    def parse(self) -> cst.Module | None:
        """The parsed code, after reporting how it was unpacked; None (and PG901) when it does not parse."""
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
            return cst.parse_module(source.text)
        except cst.ParserSyntaxError as error:
            line, detail = _syntax_error_position(source.text, error)
            self.add(
                _rule("PG901"),
                line,
                f"cannot parse: {detail}; the file is not valid Python 3, so nothing in it was checked",
            )
        except RecursionError:
            self.add(_rule("PG901"), 1, "cannot parse: the code nests too deeply for the parser")
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
        self.aborted = True
        self.findings = [f for f in self.findings if f.rule_id in ("PG902", "PG903")]
        self.add(
            _rule("PG901"),
            1,
            "cannot analyse: the code nests deeper than Python's recursion limit allows "
            "(a huge expression or block); nothing in it was checked",
        )

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


def _hits(facts: Facts, where: str, options: AuditOptions) -> Iterator[tuple[type[Rule], Hit]]:
    """The reachable hits of every selected rule, rule by rule, in line order."""
    for rule in all_rules():
        if not _wanted(rule.id, options) or rule.id.startswith("PG9"):
            continue
        if options.setup_script and rule.run_only:
            continue
        try:
            hits: list[Hit] = list(rule().check(facts))
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
        with _collector_paused():
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
        module = audit.parse()
        if module is None:
            return []
        try:
            lines = statement_lines(module, source.text)
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
            facts.analyses[PROGRAM_KEY] = program
            for rule, hit in _hits(facts, self.shown, self.options):
                self._route(program, rule, hit)
        except RecursionError:
            for audit in self.audits.values():
                audit.aborted = True
                audit.findings = [
                    f for f in audit.findings if f.rule_id in ("PG901", "PG902", "PG903")
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
    """PG203 findings of a C / C++ / CUDA source (None when PG203 is not in the catalogue)."""
    options = options or AuditOptions()
    rule = get_rule("PG203")
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
            _native_message(mix),
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


def _native_message(mix: GatedMixture) -> str:
    return (
        f"native source scanned as text, not parsed: `{mix.table}[{mix.key}]` is read at the "
        f"token being scored (line {mix.read_line}) and {mix.how} the probability mixed for "
        f"that token, whose log is added to the score (line {mix.score_line}); a table read at "
        "the scored token must not decide how it is scored. Low confidence: pgolf does not "
        "parse C, C++ or CUDA, so check this kernel by hand"
    )


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
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or directory. Check the path")
    return list(dict.fromkeys(files)), errors


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
    paths: Sequence[Path], files: Sequence[Path], names: _Names
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
                for entry in entry_points(Folder(path), in_folder)
            )
            natives.extend(_unit(n, path, names, native=True) for n in _walk(path, NATIVE_SUFFIXES))
    for file in files:
        if file not in folder_of:
            units.append(_unit(file, None, names))
    return units + natives, folder_of


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
    units, folder_of = _plan(paths, files, names)
    results: dict[str, FileResult] = {}
    expected = {names.text(path) for path in files}

    def take(found: list[FileResult]) -> None:
        for result in found:
            earlier = results.get(result.path)
            results[result.path] = result if earlier is None else _merge(earlier, result)
            if progress and earlier is None and result.path in expected:
                progress(result.path)

    workers = max(1, min(jobs or os.cpu_count() or 1, len(units)))
    if workers == 1:
        for unit in units:
            take(_run_unit(unit, options))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_run_unit, unit, options) for unit in units]
            for future in as_completed(futures):
                take(future.result())
    # A file planned as followed that no program took (it could not be reached after all) is
    # audited as an entry point of its own, so that nothing is silently skipped.
    for path in files:
        if names.text(path) not in results:
            take(_run_unit(_unit(path, folder_of.get(path), names), options))
    shown = [names.text(path) for path in files]
    ordered = [results.pop(name) for name in shown if name in results]
    return AuditReport(
        files=tuple(ordered + sorted(results.values(), key=lambda r: r.path)),
        rules=tuple(rule.info() for rule in all_rules()),
        tool_version=__version__,
        errors=tuple(errors),
    )
