"""Metamorphic invariance of the audit on the real scripts of ``../shared`` (a probe, not a test).

``tests/checks/test_invariance.py`` rewrites the rule examples and the fixtures with the
behaviour-preserving transforms of ``tests/checks/metamorphic.py`` and asserts the findings do
not move. This script applies the same transforms to the real scripts: the 88 labelled corpus
scripts (``audit-corpus/*/*.py``) and the script of every record folder (``train_gpt.py``, or
the largest ``.py`` when there is none). It adds one transform of its own, ``rename-all``: every
identifier the file defines (module functions, classes, globals, locals, parameters with the
keywords that name them at resolvable call sites, methods, ``self.X`` and class attributes) gets
a meaningless name, while imports, dunders, attributes that library objects have, and every
string literal stay. Where a rename could change behaviour (a name spelled in a string, a
keyword at a call that cannot be resolved, a ``**`` call) the name is kept.

Findings are compared as the test compares them: (rule, line, severity) of the original, with
each line carried to where its statement is after the rewrite, against the rewrite's findings;
PG9xx (about the text itself) are left out.

Usage (from the repository root; the full run, 147 files x 10 transforms, took 20 min on 2 cores):
    .venv/bin/python bench/invariance_real.py --jobs 2 --json bench/out/invariance_real.json \
        > bench/out/invariance_real.md
    .venv/bin/python bench/invariance_real.py --only pr1376 --transforms rename-all
"""

from __future__ import annotations

import argparse
import ast
import builtins
import importlib
import json
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import libcst as cst
from libcst.metadata import (
    Assignment,
    ClassScope,
    ComprehensionScope,
    FunctionScope,
    GlobalScope,
    MetadataWrapper,
    ScopeProvider,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT.parent / "shared" / "data"
for entry in (REPO_ROOT, REPO_ROOT / "tests" / "checks"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

import metamorphic  # type: ignore[import-not-found]  # noqa: E402  (on the path above)

from pgolf_cli.audit.engine import audit_file, audit_source  # noqa: E402
from pgolf_cli.audit.source import source_from_bytes, unpack  # noqa: E402

Rewritten = metamorphic.Rewritten


# --------------------------------------------------------------------------- rename-all

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Roots whose attribute names count as library attributes whatever the file imports.
_LIBRARY_ROOTS = (
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.optim",
    "torch.distributed",
    "torch.autograd",
    "torch.cuda",
    "torch.utils.data",
    "numpy",
    "sentencepiece",
    "os",
    "math",
    "io",
    "pathlib",
    "collections",
    "typing",
    "dataclasses",
    "argparse",
    "time",
    "functools",
    "itertools",
)


def _names_of(obj: object) -> set[str]:
    try:
        return set(dir(obj))
    except Exception:  # a library object whose __dir__ fails says nothing
        return set()


@cache
def _module_vocabulary(name: str) -> frozenset[str]:
    """Attribute names of a module, of its classes and of its submodules one level down."""
    try:
        root = importlib.import_module(name)
    except Exception:  # not installed here (flash_attn, ...): nothing known about it
        return frozenset()
    names = _names_of(root)
    for attr in list(names):
        try:
            value = getattr(root, attr)
        except Exception:
            continue
        if isinstance(value, type):
            names |= _names_of(value)
    return frozenset(names)


@cache
def _base_vocabulary() -> frozenset[str]:
    import numpy as np
    import torch
    from torch import nn

    names: set[str] = set(dir(builtins))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated torch attributes warn when looked up
        for root in _LIBRARY_ROOTS:
            names |= _module_vocabulary(root)
    instances: list[object] = [
        torch.zeros(1),
        nn.Parameter(torch.zeros(1)),
        nn.Linear(1, 1),
        nn.Embedding(1, 1),
        nn.LayerNorm(1),
        nn.Conv1d(1, 1, 1),
        torch.optim.AdamW([nn.Parameter(torch.zeros(1))]),
        np.zeros(1),
        Path("."),
        argparse.Namespace(),
        "",
        b"",
        {},
        [],
        set(),
        (),
        0,
        0.0,
    ]
    for instance in instances:
        names |= _names_of(instance)
        names |= set(getattr(instance, "__dict__", {}))
    return frozenset(names)


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


class _Facts(cst.CSTVisitor):
    """What decides which names may be renamed: strings, calls, classes, attribute uses."""

    def __init__(self) -> None:
        super().__init__()
        self.strings: set[str] = set()
        self.tokens: set[str] = set()
        self.callees: set[int] = set()
        self.calls: list[cst.Call] = []
        self.classes: list[cst.ClassDef] = []
        self.methods: dict[int, cst.ClassDef] = {}
        self.functions: list[cst.FunctionDef] = []
        self.self_attrs: set[str] = set()
        self.attributes: list[cst.Attribute] = []
        self.nonlocal_names: set[str] = set()
        self.imports: set[str] = set()
        self.lambdas: set[int] = set()

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        self.strings.add(value)
        self.tokens.update(_IDENT.findall(value))

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self.strings.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        self.callees.add(id(node.func))
        self.calls.append(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node)
        if isinstance(node.body, cst.IndentedBlock):
            for statement in node.body.body:
                if isinstance(statement, cst.FunctionDef):
                    self.methods[id(statement)] = node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.lambdas.add(id(node))

    def _target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            if target.value.value in ("self", "cls"):
                self.self_attrs.add(target.attr.value)
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._target(element.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.attributes.append(node)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.nonlocal_names.update(item.name.value for item in node.names)

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            self.imports.add(cst.Module([]).code_for_node(alias.name))
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if node.module is not None and not node.relative:
            base = cst.Module([]).code_for_node(node.module)
            self.imports.add(base)
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    self.imports.add(f"{base}.{cst.Module([]).code_for_node(alias.name)}")
        return False


def _class_body_names(node: cst.ClassDef) -> Iterator[str]:
    if not isinstance(node.body, cst.IndentedBlock):
        return
    for statement in node.body.body:
        if isinstance(statement, cst.FunctionDef | cst.ClassDef):
            yield statement.name.value
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            yield target.target.value
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    yield small.target.value


def _params(function: cst.FunctionDef) -> list[tuple[cst.Param, bool]]:
    """Each parameter, with whether a caller may name it by keyword."""
    p = function.params
    out = [(param, False) for param in p.posonly_params]
    out += [(param, True) for param in (*p.params, *p.kwonly_params)]
    for star in (p.star_arg, p.star_kwarg):
        if isinstance(star, cst.Param):
            out.append((star, False))
    return out


class _RenameAll(metamorphic._Tracking):  # type: ignore[misc]
    def __init__(self, by_node: dict[int, str], attributes: dict[str, str]) -> None:
        super().__init__()
        self.by_node = by_node
        self.attributes = attributes
        self.in_import = 0

    def visit_Import(self, node: cst.Import) -> None:
        self.in_import += 1

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        self.in_import -= 1
        return updated_node

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.in_import += 1

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        self.in_import -= 1
        return updated_node

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        new = self.by_node.get(id(original_node))
        return updated_node if new is None else updated_node.with_changes(value=new)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        new = self.attributes.get(original_node.attr.value)
        if new is None or self.in_import:
            return updated_node
        return updated_node.with_changes(attr=updated_node.attr.with_changes(value=new))


def rename_all(text: str, module: cst.Module) -> Any:
    """Rename every identifier the file defines, as far as behaviour provably stays the same."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    facts = _Facts()
    module.visit(facts)
    taken = metamorphic._all_names(module) | facts.strings
    vocabulary = set(_base_vocabulary())
    for name in facts.imports:
        vocabulary |= _module_vocabulary(name)

    def fresh(prefix: str) -> str:
        return str(metamorphic._fresh(prefix, taken))

    def spelled(name: str) -> bool:
        # Only a module name or a keyword can be reached through a string (globals(), **{...}).
        return _is_dunder(name) or name in facts.strings

    # Which binding each Name reference stands for (and each definition's own scope).
    binding_of: dict[int, list[Assignment]] = {}
    all_scopes = {s for s in scopes.values() if s is not None}
    for scope in all_scopes:
        for assignment in scope.assignments:
            if isinstance(assignment, Assignment):
                for reference in assignment.references:
                    binding_of.setdefault(id(reference.node), []).append(assignment)

    # --- attributes: self.X, class-body names and methods, renamed by name everywhere.
    candidates = set(facts.self_attrs)
    for node in facts.classes:
        candidates.update(_class_body_names(node))
    tokens = {t for t in facts.tokens if len(t) >= 3}
    candidates = {
        name
        for name in candidates
        if not spelled(name)
        and name not in facts.tokens
        and name not in vocabulary
        and not any(token in name for token in tokens)
    }
    for scope in all_scopes:
        if not isinstance(scope, ClassScope):
            continue
        for assignment in scope.assignments:
            if assignment.name in candidates and (
                not isinstance(assignment, Assignment)
                or not isinstance(assignment.node, cst.Name | cst.FunctionDef | cst.ClassDef)
                or any(not isinstance(r.node, cst.Name) for r in assignment.references)
            ):
                candidates.discard(assignment.name)
    attributes = {name: fresh("_a") for name in sorted(candidates)}

    by_node: dict[int, str] = {}

    def rename_binding(assignment: Assignment, new: str) -> None:
        node = assignment.node
        target = node.name if isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Param) else node
        by_node[id(target)] = new
        for reference in assignment.references:
            by_node[id(reference.node)] = new

    # --- bindings of module, function and comprehension scopes (parameters come below).
    global_names: dict[str, str] = {}
    for scope in sorted(all_scopes, key=lambda s: id(s)):
        groups: dict[str, list[Any]] = {}
        for assignment in scope.assignments:
            groups.setdefault(assignment.name, []).append(assignment)
        for name, group in sorted(groups.items()):
            if isinstance(scope, ClassScope):
                if name in attributes:
                    for assignment in group:
                        rename_binding(assignment, attributes[name])
                continue
            if not isinstance(scope, GlobalScope | FunctionScope | ComprehensionScope):
                continue
            if name in facts.nonlocal_names or _is_dunder(name):
                continue
            if isinstance(scope, GlobalScope) and spelled(name):
                continue
            if not all(
                isinstance(a, Assignment)
                and isinstance(a.node, cst.Name | cst.FunctionDef | cst.ClassDef)
                and all(isinstance(r.node, cst.Name) for r in a.references)
                for a in group
            ):
                continue
            new = fresh("_g" if isinstance(scope, GlobalScope) else "_v")
            if isinstance(scope, GlobalScope):
                global_names[name] = new
            for assignment in group:
                rename_binding(assignment, new)

    class Globals(cst.CSTVisitor):
        def visit_Global(self, node: cst.Global) -> None:
            for item in node.names:
                if item.name.value in global_names:
                    by_node[id(item.name)] = global_names[item.name.value]

    module.visit(Globals())

    # --- parameters, with the keywords that name them at the calls resolved to their function.
    methods_by_name: dict[str, list[cst.FunctionDef]] = {}
    for function in facts.functions:
        if id(function) in facts.methods:
            methods_by_name.setdefault(function.name.value, []).append(function)

    def init_of(node: cst.ClassDef) -> cst.FunctionDef | None:
        for function in methods_by_name.get("__init__", []):
            if facts.methods[id(function)] is node:
                return function
        return None

    def targets(call: cst.Call) -> list[cst.FunctionDef] | None:
        func = call.func
        if isinstance(func, cst.Name):
            nodes = [a.node for a in binding_of.get(id(func), [])]
            if nodes and all(isinstance(n, cst.FunctionDef) for n in nodes):
                return [n for n in nodes if isinstance(n, cst.FunctionDef)]
            if len(nodes) == 1 and isinstance(nodes[0], cst.ClassDef):
                init = init_of(nodes[0])
                return None if init is None else [init]
        if isinstance(func, cst.Attribute) and func.attr.value in attributes:
            return methods_by_name.get(func.attr.value)
        return None

    def references_only_called(node: cst.FunctionDef | cst.ClassDef) -> bool:
        scope = scopes.get(node)
        if scope is None:
            return False
        group = scope.assignments[node.name.value]
        return len(group) == 1 and all(
            id(r.node) in facts.callees for a in group for r in a.references
        )

    def resolvable(function: cst.FunctionDef) -> bool:
        if any(
            not (
                isinstance(d.decorator, cst.Name)
                and d.decorator.value in ("staticmethod", "classmethod")
            )
            for d in function.decorators
        ):
            return False
        owner = facts.methods.get(id(function))
        if owner is None:
            return references_only_called(function)
        name = function.name.value
        if name == "__init__":
            return not owner.decorators and references_only_called(owner)
        return name in attributes and all(
            id(a) in facts.callees for a in facts.attributes if a.attr.value == name
        )

    blocked: set[str] = set()
    spread: set[int] = set()
    resolved: list[tuple[cst.Call, list[cst.FunctionDef]]] = []
    for call in facts.calls:
        found = targets(call)
        if found is None:
            blocked.update(a.keyword.value for a in call.args if a.keyword is not None)
            continue
        resolved.append((call, found))
        if any(a.star == "**" for a in call.args):
            spread.update(id(f) for f in found)

    def keeps(function: cst.FunctionDef, param: cst.Param, keyword: bool, first: bool) -> bool:
        name = param.name.value
        if spelled(name) or name in facts.nonlocal_names or first:
            return True
        if not keyword:
            return False
        return name in blocked or id(function) in spread or not resolvable(function)

    param_names: dict[str, str] = {}
    renamed_params: dict[int, set[str]] = {}
    decisions: dict[tuple[str, str], bool] = {}
    for function in facts.functions:
        owner = facts.methods.get(id(function))
        static = any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
            for d in function.decorators
        )
        for index, (param, keyword) in enumerate(_params(function)):
            first = owner is not None and not static and index == 0
            keep = keeps(function, param, keyword, first)
            if owner is not None and keyword:
                # Every method of one name answers `.name(k=...)`: decide for them all at once.
                key = (function.name.value, param.name.value)
                decisions[key] = decisions.get(key, False) or keep
            elif not keep:
                renamed_params.setdefault(id(function), set()).add(param.name.value)
    for function in facts.functions:
        owner = facts.methods.get(id(function))
        if owner is None:
            continue
        for param, keyword in _params(function):
            if keyword and not decisions.get((function.name.value, param.name.value), True):
                renamed_params.setdefault(id(function), set()).add(param.name.value)
    for function in facts.functions:
        names = renamed_params.get(id(function), set())
        for param, _keyword in _params(function):
            name = param.name.value
            if name not in names:
                continue
            param_scope = scopes.get(param.name)
            group = [] if param_scope is None else list(param_scope.assignments[name])
            if not all(
                isinstance(a, Assignment)
                and isinstance(a.node, cst.Param | cst.Name)
                and all(isinstance(r.node, cst.Name) for r in a.references)
                for a in group
            ):
                names.discard(name)
                continue
            new = param_names.setdefault(name, fresh("_p"))
            for assignment in group:
                rename_binding(assignment, new)
    for call, found in resolved:
        for arg in call.args:
            if arg.keyword is None:
                continue
            name = arg.keyword.value
            if found and all(name in renamed_params.get(id(f), set()) for f in found):
                by_node[id(arg.keyword)] = param_names[name]

    if not by_node and not attributes:
        return None
    return metamorphic._rewrite(text, module, _RenameAll(by_node, attributes))


TRANSFORMS: dict[str, Any] = {**metamorphic.TRANSFORMS, "rename-all": rename_all}


# --------------------------------------------------------------------------- the run

Row = tuple[str, int, str]


@dataclass
class Drift:
    transform: str
    lost: list[Row] = field(default_factory=list)
    gained: list[Row] = field(default_factory=list)
    error: str | None = None


@dataclass
class FileReport:
    path: str
    kind: str  # "corpus" or "record"
    original: list[Row] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    drifts: list[Drift] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def _rows(findings: Sequence[Any]) -> list[Row]:
    return sorted(
        (f.rule_id, f.line, f.severity.value) for f in findings if not f.rule_id.startswith("PG9")
    )


def subjects(only: str | None) -> list[tuple[Path, str]]:
    out = [(p, "corpus") for p in sorted(DATA.glob("audit-corpus/*/*.py"))]
    for folder in sorted(DATA.glob("parameter-golf-records-full/track_*/*/")):
        scripts = sorted(folder.glob("*.py"))
        if not scripts:
            continue
        main = folder / "train_gpt.py"
        out.append(
            (main if main.exists() else max(scripts, key=lambda p: p.stat().st_size), "record")
        )
    return [(p, k) for p, k in out if only is None or only in str(p)]


def audit_one(job: tuple[str, str, tuple[str, ...]]) -> FileReport:
    path = Path(job[0])
    start = time.perf_counter()
    try:
        report = _audit_one(path, job[1], job[2])
    except Exception as error:  # one file the harness cannot handle must not stop the run
        report = FileReport(str(path.relative_to(DATA)), job[1], error=f"harness: {error!r}"[:300])
    report.seconds = time.perf_counter() - start
    print(f"{report.seconds:6.1f} s  {report.path}", file=sys.stderr, flush=True)
    return report


def _audit_one(path: Path, kind: str, transforms: tuple[str, ...]) -> FileReport:
    report = FileReport(str(path.relative_to(DATA)), kind)
    result = audit_file(path)
    if result.error is not None:
        report.error = result.error
        return report
    report.original = _rows(result.findings)
    text = unpack(path.read_text(encoding="utf-8", errors="surrogateescape"))[0]
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        # Newer syntax than this interpreter's (3.12 f-strings): the transforms need CPython's tree.
        report.error = f"not parsed by Python {sys.version_info[0]}.{sys.version_info[1]}: {error}"
        return report
    module = cst.parse_module(text)
    for name in transforms:
        if name in metamorphic.TRANSFORMS and not metamorphic.applies(name, text, tree):
            continue
        try:
            rewritten = TRANSFORMS[name](text, module)
        except Exception as error:  # a transform that cannot handle the file is reported
            report.drifts.append(Drift(name, error=f"transform failed: {error!r}"[:300]))
            continue
        if rewritten is None:
            continue
        report.applied.append(name)
        try:
            compile(rewritten.code, f"<{name}>", "exec")
        except SyntaxError as error:
            report.drifts.append(Drift(name, error=f"rewrite does not compile: {error}"))
            continue
        after = audit_source(source_from_bytes(str(path), rewritten.text.encode()))
        if after.error is not None:
            report.drifts.append(Drift(name, error=f"audit error: {after.error}"[:300]))
            continue
        expected = Counter(
            (rule, rewritten.lines.get(line, -line), sev) for rule, line, sev in report.original
        )
        found = Counter(_rows(after.findings))
        lost, gained = expected - found, found - expected
        if lost or gained:
            report.drifts.append(Drift(name, sorted(lost.elements()), sorted(gained.elements())))
    return report


def _labels() -> dict[str, dict[str, Any]]:
    path = DATA / "audit-corpus" / "labels.json"
    return {entry["id"]: entry for entry in json.loads(path.read_text(encoding="utf-8"))}


def _label(report: FileReport, labels: dict[str, dict[str, Any]]) -> str:
    if report.kind != "corpus":
        return "record"
    entry = labels.get(Path(report.path).parent.name)
    if entry is None:
        return "corpus (unlabelled)"
    categories = ", ".join(entry.get("categories", []))
    return f"{entry['label']}" + (f" ({categories})" if categories else "")


def markdown(reports: list[FileReport], transforms: Sequence[str], seconds: float) -> str:
    labels = _labels()
    lines = [
        f"# Audit invariance on real scripts ({len(reports)} files, {seconds:.0f} s)",
        "",
        "| transform | files rewritten | files changed | lost (rule:severity) | gained |",
        "|---|---|---|---|---|",
    ]
    for name in transforms:
        rewritten = sum(name in r.applied for r in reports)
        drifts = [d for r in reports for d in r.drifts if d.transform == name]
        lost = Counter(f"{rule}:{sev}" for d in drifts for rule, _line, sev in d.lost)
        gained = Counter(f"{rule}:{sev}" for d in drifts for rule, _line, sev in d.gained)
        changed = sum(any(d.transform == name for d in r.drifts) for r in reports)
        lines.append(
            f"| {name} | {rewritten} | {changed} | "
            + (", ".join(f"{k} x{v}" for k, v in sorted(lost.items())) or "-")
            + " | "
            + (", ".join(f"{k} x{v}" for k, v in sorted(gained.items())) or "-")
            + " |"
        )
    for report in reports:
        if report.error:
            lines.append(f"\n{report.path}: audit error {report.error}")
    for name in transforms:
        pairs = [(r, d) for r in reports for d in r.drifts if d.transform == name]
        if not pairs:
            continue
        lines += ["", f"## {name}", "", "| file | label | lost | gained |", "|---|---|---|---|"]
        for report, drift in pairs:
            lost_text = drift.error or ", ".join(f"{a} L{b} {c}" for a, b, c in drift.lost)
            gained_text = ", ".join(f"{a} L{b} {c}" for a, b, c in drift.gained)
            lines.append(
                f"| {report.path} | {_label(report, labels)} | {lost_text or '-'} "
                f"| {gained_text or '-'} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", help="only the files whose path contains this")
    parser.add_argument("--transforms", help="comma-separated subset of: " + ",".join(TRANSFORMS))
    parser.add_argument("--json", type=Path, help="also write every file's result here")
    args = parser.parse_args(argv)
    transforms = tuple(args.transforms.split(",")) if args.transforms else tuple(TRANSFORMS)
    unknown = [t for t in transforms if t not in TRANSFORMS]
    if unknown:
        parser.error(f"unknown transform(s) {unknown}: choose from {', '.join(TRANSFORMS)}")
    if not DATA.is_dir():
        parser.error(f"{DATA} is missing: this probe reads the real scripts of ../shared")
    jobs = [(str(p), kind, transforms) for p, kind in subjects(args.only)]
    start = time.perf_counter()
    if args.jobs > 1:
        with Pool(args.jobs, maxtasksperchild=20) as pool:
            reports = list(pool.imap(audit_one, jobs))
    else:
        reports = [audit_one(job) for job in jobs]
    seconds = time.perf_counter() - start
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = [
            report.__dict__ | {"drifts": [d.__dict__ for d in report.drifts]} for report in reports
        ]
        args.json.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    sys.stdout.write(markdown(reports, transforms, seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
