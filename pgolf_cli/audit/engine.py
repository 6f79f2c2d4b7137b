"""The audit pipeline: load -> parse -> facts -> rules -> findings, for one file or many.

Nothing here imports torch or runs the audited code: scripts are read as text, packed wrappers
are decoded statically, and the only interpretation is the facts pre-pass over the syntax tree.
"""

from __future__ import annotations

import ast
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from pgolf_cli import __version__
from pgolf_cli.audit import suppress
from pgolf_cli.audit.facts import Facts, Gate
from pgolf_cli.audit.findings import (
    AuditReport,
    Evidence,
    FileResult,
    Finding,
    Reachability,
    Severity,
    Suppression,
)
from pgolf_cli.audit.positions import statement_lines
from pgolf_cli.audit.registry import all_rules, matches
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


class _FileAudit:
    """Builds the findings of one file."""

    def __init__(self, source: Source, options: AuditOptions) -> None:
        self.source = source
        self.options = options
        self.lines = source.text.splitlines()
        self.findings: list[Finding] = []
        self.directives = suppress.parse(source.text)
        self._occurrences: Counter[tuple[str, str]] = Counter()

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
            module = cst.parse_module(source.text)
        except cst.ParserSyntaxError as error:
            line, detail = _syntax_error_position(source.text, error)
            self.add(
                _rule("PG901"),
                line,
                f"cannot parse: {detail}; the file is not valid Python 3, so nothing in it was checked",
            )
            return self.result()
        except RecursionError:
            self.add(_rule("PG901"), 1, "cannot parse: the code nests too deeply for the parser")
            return self.result()
        try:
            self._check(module)
        except RecursionError:
            self.findings = [f for f in self.findings if f.rule_id in ("PG902", "PG903")]
            self.add(
                _rule("PG901"),
                1,
                "cannot analyse: the code nests deeper than Python's recursion limit allows "
                "(a huge expression or block); nothing in it was checked",
            )
            return self.result()
        self._suppression_findings()
        return self.result()

    def _check(self, module: cst.Module) -> None:
        source = self.source
        try:
            facts = Facts(module, statement_lines(module, source.text), source.text)
        except RecursionError:
            raise
        except Exception as error:
            raise RuleCrash(
                f"{source.path}: internal error in the facts pre-pass ({type(error).__name__}: {error}). "
                "This is a bug in pgolf; please report it with the file"
            ) from error
        for rule in all_rules():
            if not _wanted(rule.id, self.options) or rule.id.startswith("PG9"):
                continue
            try:
                hits: list[Hit] = list(rule().check(facts))
            except RecursionError:
                raise
            except Exception as error:  # a rule bug must surface as a tool error, never as "clean"
                raise RuleCrash(
                    f"{source.path}: internal error in rule {rule.id} ({type(error).__name__}: {error}). "
                    "This is a bug in pgolf; please report it with the file"
                ) from error
            for hit in sorted(hits, key=lambda h: h.line):
                if hit.gate.reachable:
                    self.add(
                        rule,
                        hit.line,
                        hit.message,
                        gate=hit.gate,
                        evidence=hit.evidence,
                        confidence=hit.confidence,
                    )

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


def _python_files(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(root) / name


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


def audit_paths(
    paths: Sequence[Path],
    options: AuditOptions | None = None,
    *,
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> AuditReport:
    """Audit files and directories; several files are audited in parallel worker processes."""
    options = options or AuditOptions()
    files, errors = collect_files(paths)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(files)))
    results: dict[Path, FileResult] = {}
    if workers == 1:
        for path in files:
            results[path] = audit_file(path, options)
            if progress:
                progress(str(path))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(audit_file, path, options): path for path in files}
            for future in as_completed(futures):
                path = futures[future]
                results[path] = future.result()
                if progress:
                    progress(str(path))
    return AuditReport(
        files=tuple(results[p] for p in files),
        rules=tuple(rule.info() for rule in all_rules()),
        tool_version=__version__,
        errors=tuple(errors),
    )
