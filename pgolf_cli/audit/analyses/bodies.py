"""Statement-level views of the few function bodies a rule needs to read as expressions.

The facts pre-pass keeps labels and events, not expressions. A rule that must look at the shape
of an expression (which positions a loss covers, what a probability is blended from) asks for
the body of the one function it judges: that body is walked once by the flow walker (no libcst
visitor over the module) and cached per function.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from pgolf_cli.audit.facts import Facts, Function, callee_name, last_name
from pgolf_cli.audit.flow import Flow, element_pairs
from pgolf_cli.audit.nodes import children


@dataclass(frozen=True, slots=True)
class Assignment:
    """A value bound (or added, or differentiated) by one statement."""

    line: int
    value: cst.BaseExpression
    order: int
    """The statement's position in the body (statements joined by ``;`` share a line)."""


@dataclass(frozen=True, slots=True)
class Update:
    """``target <op>= value``, with the ``for`` loops around it (innermost last)."""

    line: int
    target: str | None
    statement: cst.AugAssign
    loops: tuple[cst.For, ...]
    order: int


def _names(target: cst.BaseExpression) -> Iterator[cst.Name]:
    if isinstance(target, cst.Name):
        yield target
    elif isinstance(target, cst.Tuple | cst.List):
        for element in target.elements:
            yield from _names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _names(target.value)


class Body(Flow[None]):
    """One function's statements by line, and where each local name is assigned."""

    def __init__(self, facts: Facts, fn: Function) -> None:
        super().__init__(facts.line_of, fn.line)
        self._count = 0
        self.facts = facts
        self.function = fn
        self.statements: dict[int, list[tuple[int, cst.BaseSmallStatement]]] = {}
        self.assignments: dict[str, list[Assignment]] = {}
        self.slice_writes: dict[str, list[Assignment]] = {}
        """Per name, its item writes (``mask[i, :s] = True``); the value is the written
        subscript itself, which says which positions a mask built this way covers."""
        self.updates: list[Update] = []
        self.block(facts.module.body if fn.node is None else fn.node.body)

    def small(self, small: cst.BaseSmallStatement) -> None:
        line = self.line
        order = self._count
        self._count += 1
        self.statements.setdefault(line, []).append((order, small))
        if isinstance(small, cst.AugAssign):
            loops = tuple(loop for loop in self.loops if isinstance(loop, cst.For))
            self.updates.append(Update(line, last_name(small.target), small, loops, order))
        elif isinstance(small, cst.Assign):
            for target in small.targets:
                self._bind(target.target, Assignment(line, small.value, order))
                written = target.target
                if isinstance(written, cst.Subscript) and isinstance(written.value, cst.Name):
                    self.slice_writes.setdefault(written.value.value, []).append(
                        Assignment(line, written, order)
                    )
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._bind(small.target, Assignment(line, small.value, order))

    def _bind(self, target: cst.BaseExpression, bound: Assignment) -> None:
        pairs = element_pairs(target, bound.value)
        if pairs is not None:
            for element, part in pairs:
                self._bind(element, Assignment(bound.line, part, bound.order))
            return
        for name in _names(target):
            self.assignments.setdefault(name.value, []).append(bound)

    def definitions(self, name: str, order: int) -> list[Assignment]:
        """The assignment of ``name`` that reaches the statement at ``order``: the last one before
        it (all of them when none precedes, as for a value carried round a loop)."""
        found = self.assignments.get(name, [])
        before = [a for a in found if a.order < order]
        return before[-1:] if before else found

    def bindings(self, node: cst.CSTNode, line: int) -> list[Assignment]:
        """The assignments, on earlier lines, of the local names ``node`` reads on ``line``
        (where a key that a table is read with was built)."""
        here = self.statements.get(line)
        if not here:
            return []
        order = here[0][0]
        found: dict[int, Assignment] = {}
        stack: list[cst.CSTNode] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Name):
                for definition in self.definitions(current.value, order):
                    if definition.line != line:
                        found.setdefault(definition.order, definition)
            elif not isinstance(current, cst.Lambda):
                stack.extend(children(current))
        return [found[k] for k in sorted(found)]

    def accumulated(self, line: int, target: str) -> list[Assignment]:
        """The values added into ``target`` by the augmented assignments on ``line``."""
        return [
            Assignment(line, s.value, order)
            for order, s in self.statements.get(line, [])
            if isinstance(s, cst.AugAssign) and last_name(s.target) == target
        ]

    def computed_with(self, start: Assignment, callees: frozenset[str]) -> bool:
        """Whether ``start``'s value calls one of ``callees`` (by the last part of their name),
        itself or through the local names it is computed from (``ls += s.sum()`` after
        ``s = -np.log(p)``)."""
        seen: set[int] = set()
        stack: list[tuple[cst.CSTNode, int]] = [(start.value, start.order)]
        while stack:
            node, order = stack.pop()
            if isinstance(node, cst.Name):
                for definition in self.definitions(node.value, order):
                    if id(definition.value) not in seen:
                        seen.add(id(definition.value))
                        stack.append((definition.value, definition.order))
                continue
            if isinstance(node, cst.Call) and callee_name(node.func) in callees:
                return True
            if isinstance(node, cst.Lambda):
                continue
            stack.extend((child, order) for child in children(node))
        return False

    def differentiated(self, line: int) -> list[Assignment]:
        """The losses of the ``x.backward()`` / ``torch.autograd.grad(x, ...)`` calls on ``line``."""
        out: list[Assignment] = []
        for order, small in self.statements.get(line, []):
            for call in calls_in(small):
                name = callee_name(call.func)
                if name == "backward" and isinstance(call.func, cst.Attribute) and not call.args:
                    out.append(Assignment(line, call.func.value, order))
                elif name in ("backward", "grad") and call.args:
                    out.append(Assignment(line, call.args[0].value, order))
        return out


def calls_in(node: cst.CSTNode) -> Iterator[cst.Call]:
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call):
            yield current
        if isinstance(current, cst.Lambda):
            continue
        stack.extend(children(current))


class Bodies:
    """The :class:`Body` of each function a rule asks about, built once per function:
    ``facts.analysis(Bodies).of(fn)``."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._bodies: dict[str, Body] = {}

    def of(self, fn: Function) -> Body:
        found = self._bodies.get(fn.qualname)
        if found is None:
            found = self._bodies[fn.qualname] = Body(self.facts, fn)
        return found
