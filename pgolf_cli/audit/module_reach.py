"""Reachability that also follows classes: a model's ``forward`` runs when the model is built.

``facts.gates`` follows calls of the script's own functions. Model code is not called that way:
``model(x)`` goes through ``nn.Module.__call__``, so every ``forward`` (and every helper only a
``forward`` calls) looks unreachable. Here a class counts as reached where it is instantiated
(``GPT(...)`` in ``main``, ``SmearGate(dim)`` in ``GPT.__init__``, under whatever switches guard
that statement), and reaching a class reaches all of its methods and those of its base classes
defined in the script; calls from those methods are then followed as ``facts.gates`` does.

Instantiations are found by the class name followed by ``(`` in the text of each statement, with
the flow walker (no expression walk) to know the guards around it. Built only when
a rule asks (``facts.analysis(ModuleReach)``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

import libcst as cst

from pgolf_cli.audit.facts import Facts, Gate, code_of, more_enabled
from pgolf_cli.audit.flow import Flow, Guard


def _class_bases(facts: Facts) -> dict[str, set[str]]:
    """Each class defined at the top level, with the names of its bases."""
    out: dict[str, set[str]] = {}
    for node in facts.module.body:
        if isinstance(node, cst.ClassDef):
            out[node.name.value] = {
                b.value.value for b in node.bases if isinstance(b.value, cst.Name)
            }
    return out


class _Sites(Flow[None]):
    """Statements that instantiate one of ``names``, with the guards around them."""

    def __init__(self, facts: Facts, names: Sequence[str]) -> None:
        super().__init__(facts.line_of)
        self.facts = facts
        alternatives = "(" + "|".join(map(re.escape, names)) + r")\s*\("
        self.pattern = re.compile(r"\b" + alternatives)
        self.found: list[tuple[str, str, tuple[Guard, ...]]] = []
        self.qualname = "<module>"
        # The lines where a match of the pattern starts in the whole text. A match in the text
        # of some lines (a statement, a function) is one of these: it starts with a name at a
        # word boundary, which no earlier match can cover. Lines without one are skipped.
        # The text is scanned without the leading \b (with it, the regex engine cannot skip
        # ahead to the names' first letters: ~10x slower on a 150 KB script), and each hit is
        # tested with it. A hit inside a longer word cannot cover a real match (that starts a
        # word), so every real match is among the hits.
        self.named_lines: list[int] = []
        text = "\n".join(facts.text.splitlines())
        line, at = 1, 0
        for hit in re.finditer(alternatives, text):
            if self.pattern.match(text, hit.start()) is None:
                continue
            line += text.count("\n", at, hit.start())
            at = hit.start()
            self.named_lines.append(line)

    def names_on(self, node: cst.CSTNode) -> bool:
        """Whether a match of the pattern starts on one of the lines of ``node`` (True when its
        lines are not known)."""
        first, last = self.facts.span_of(node)
        if not first:
            return True
        index = bisect.bisect_left(self.named_lines, first)
        return index < len(self.named_lines) and self.named_lines[index] <= last

    def text(self, node: cst.CSTNode) -> str:
        first, last = self.facts.span_of(node)
        return "\n".join(self.facts.code_line(i) for i in range(first, last + 1))

    def walk(self, qualname: str, body: cst.BaseSuite | Sequence[cst.CSTNode]) -> None:
        self.qualname = qualname
        self.block(body)

    def compound(self, node: cst.CSTNode) -> None:
        # Only the guards are walked here (pushed and popped inside the statement, an early
        # exit's by the block around it): a statement whose lines hold no instantiation has
        # nothing to find inside.
        if self.names_on(node):
            super().compound(node)

    def small(self, stmt: cst.BaseSmallStatement) -> None:
        if not self.names_on(stmt):
            return
        names = set(self.pattern.findall(self.text(stmt)))  # none when its lines are not known
        if not names:
            return
        guards = tuple(self.guards)
        value = getattr(stmt, "value", None)
        line = self.line
        for name in names:
            where = guards
            if isinstance(value, cst.IfExp):
                # `self.smear = SmearGate(dim) if args.smear else None` is guarded by the test.
                if self.pattern.search(code_of(value.body)):
                    where = (*guards, Guard(value.test, False, line))
                elif self.pattern.search(code_of(value.orelse)):
                    where = (*guards, Guard(value.test, True, line))
            self.found.append((self.qualname, name, where))


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
    sites.walk("<module>", facts.module.body)
    for fn in facts.functions.values():
        if fn.node is not None and sites.names_on(fn.node):
            sites.walk(fn.qualname, fn.node.body)

    combined: dict[tuple[int, int], tuple[Gate, Sequence[Guard], Gate]] = {}

    def combine(gate: Gate, guards: Sequence[Guard]) -> Gate:
        """:meth:`Facts.combine`, remembered by identity: the same gates and guard tuples come
        back on every round, and hashing them by value (a dataclass holding an enum, libcst
        nodes) costs more than combining. The entry holds both, so their ids stay unique."""
        key = (id(gate), id(guards))
        found = combined.get(key)
        if found is None:
            found = combined[key] = (gate, guards, facts.combine(gate, guards))
        return found[2]

    def reach(qualname: str, via: Gate) -> bool:
        best = more_enabled(gates[qualname], via)
        if best == gates[qualname]:
            return False
        gates[qualname] = best
        return True

    # A gate only ever moves up (to reachable, or to a more enabled reach), so following a site
    # or a function's calls again from the gate it was last followed from changes nothing: each
    # round follows only those whose gate moved since.
    site_from: dict[int, Gate] = {}
    calls_from: dict[str, Gate] = {}
    changed = True
    while changed:
        changed = False
        for index, (qualname, name, guards) in enumerate(sites.found):
            if not gates[qualname].reachable or site_from.get(index) is gates[qualname]:
                continue
            site_from[index] = gates[qualname]
            via = combine(gates[qualname], guards)
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
            if (
                not gates[fn.qualname].reachable
                or calls_from.get(fn.qualname) is gates[fn.qualname]
            ):
                continue
            calls_from[fn.qualname] = gates[fn.qualname]
            for call in fn.calls:
                via = combine(gates[fn.qualname], call.where.guards)
                changed = reach(call.callee, via) or changed
    return gates


class ModuleReach:
    """How each function is reached, counting methods of classes instantiated on a reached
    path: ``facts.analysis(ModuleReach).gates``."""

    def __init__(self, facts: Facts) -> None:
        self.gates = _solve(facts)
