"""Reachability that also follows classes: a model's ``forward`` runs when the model is built.

``facts.gates`` follows calls of the script's own functions. Model code is not called that way:
``model(x)`` goes through ``nn.Module.__call__``, so every ``forward`` (and every helper only a
``forward`` calls) looks unreachable. Here a class counts as reached where it is instantiated
(``GPT(...)`` in ``main``, ``SmearGate(dim)`` in ``GPT.__init__``, under whatever switches guard
that statement), and reaching a class reaches all of its methods and those of its base classes
defined in the script; calls from those methods are then followed as ``facts.gates`` does.

Instantiations are found by the class name followed by ``(`` in the text of each statement, with
a statement-level walk (no expression walk) to know the ``if`` guards around it. Built only when
a rule asks, and cached in ``facts.analyses``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst

from pgolf_cli.audit.facts import Facts, Gate, Guard, code_of, more_enabled


def _class_bases(facts: Facts) -> dict[str, set[str]]:
    """Each class defined at the top level, with the names of its bases."""
    out: dict[str, set[str]] = {}
    for node in facts.module.body:
        if isinstance(node, cst.ClassDef):
            out[node.name.value] = {
                b.value.value for b in node.bases if isinstance(b.value, cst.Name)
            }
    return out


class _Sites:
    """Statements that instantiate one of ``names``, with the guards around them."""

    def __init__(self, facts: Facts, names: Sequence[str]) -> None:
        self.facts = facts
        self.pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\s*\(")
        self.found: list[tuple[str, str, tuple[Guard, ...]]] = []

    def text(self, node: cst.CSTNode) -> str:
        first, last = self.facts.span_of(node)
        return "\n".join(self.facts.code_line(i) for i in range(first, last + 1))

    def block(self, qualname: str, body: Sequence[cst.CSTNode], guards: tuple[Guard, ...]) -> None:
        for item in body:
            if isinstance(item, cst.SimpleStatementLine):
                for stmt in item.body:
                    self.small(qualname, stmt, guards)
            elif isinstance(item, cst.If):
                self.branch(qualname, item, guards)
            elif isinstance(item, cst.For | cst.While | cst.With | cst.Try | cst.TryStar):
                for suite in _suites(item):
                    self.block(qualname, suite, guards)

    def branch(self, qualname: str, node: cst.If, guards: tuple[Guard, ...]) -> None:
        line = self.facts.line_of(node)
        self.block(qualname, node.body.body, (*guards, Guard(node.test, False, line)))
        negated = (*guards, Guard(node.test, True, line))
        if isinstance(node.orelse, cst.If):
            self.branch(qualname, node.orelse, negated)
        elif node.orelse is not None:
            self.block(qualname, node.orelse.body.body, negated)

    def small(self, qualname: str, stmt: cst.BaseSmallStatement, guards: tuple[Guard, ...]) -> None:
        names = set(self.pattern.findall(self.text(stmt)))
        if not names:
            return
        value = getattr(stmt, "value", None)
        line = self.facts.line_of(stmt)
        for name in names:
            where = guards
            if isinstance(value, cst.IfExp):
                # `self.smear = SmearGate(dim) if args.smear else None` is guarded by the test.
                if self.pattern.search(code_of(value.body)):
                    where = (*guards, Guard(value.test, False, line))
                elif self.pattern.search(code_of(value.orelse)):
                    where = (*guards, Guard(value.test, True, line))
            self.found.append((qualname, name, where))


def _suites(node: cst.CSTNode) -> list[Sequence[cst.CSTNode]]:
    out: list[Sequence[cst.CSTNode]] = [node.body.body]  # type: ignore[attr-defined]
    for name in ("orelse", "finalbody"):
        extra = getattr(node, name, None)
        if extra is not None:
            out.append(extra.body.body)
    out.extend(handler.body.body for handler in getattr(node, "handlers", ()))
    return out


def _solve(facts: Facts) -> dict[str, Gate]:
    gates = dict(facts.gates)
    if not facts.functions["<module>"].calls:
        return gates  # no entry point: facts already treats every function as a root
    methods: dict[str, list[str]] = {}
    for fn in facts.functions.values():
        if fn.class_name is not None:
            methods.setdefault(fn.class_name, []).append(fn.qualname)
    if not methods:
        return gates
    bases = _class_bases(facts)
    sites = _Sites(facts, sorted(set(methods) | set(bases)))
    sites.block("<module>", facts.module.body, ())
    for fn in facts.functions.values():
        if fn.node is not None:
            sites.block(fn.qualname, fn.node.body.body, ())

    def reach(qualname: str, via: Gate) -> bool:
        best = more_enabled(gates[qualname], via)
        if best == gates[qualname]:
            return False
        gates[qualname] = best
        return True

    changed = True
    while changed:
        changed = False
        for qualname, name, guards in sites.found:
            if not gates[qualname].reachable:
                continue
            via = facts.combine(gates[qualname], guards)
            pending, seen = [name], set()
            while pending:
                cls = pending.pop()
                if cls in seen:
                    continue
                seen.add(cls)
                for method in methods.get(cls, ()):
                    changed = reach(method, via) or changed
                pending.extend(bases.get(cls, ()))
        for fn in facts.functions.values():
            if not gates[fn.qualname].reachable:
                continue
            for call in fn.calls:
                via = facts.combine(gates[fn.qualname], call.where.guards)
                changed = reach(call.callee, via) or changed
    return gates


def gates(facts: Facts) -> dict[str, Gate]:
    """How each function is reached, counting methods of classes instantiated on a reached path."""
    cached = facts.analyses.get("module_reach")
    if not isinstance(cached, dict):
        cached = _solve(facts)
        facts.analyses["module_reach"] = cached
    return cached
