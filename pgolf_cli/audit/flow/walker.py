"""The one statement walker: Python's control flow, the guard stack and the fork/merge of state.

Every analysis that walks statements is a subclass of :class:`Flow`. The base owns the forms
that carry data or order, so that reshaping code without changing what it does (wrapping a
body in ``if True:``, ``try``/``finally``, ``with``, ``for _ in range(1)`` or ``match 0:`` /
``case _:``) reaches the analyses as the same sequence of statements under the same guards:

- blocks, each part of an ``a; b`` line on its own;
- ``if`` / ``elif`` / ``else``: each branch under its :class:`Guard`, the state forked before and
  merged after; ``if not enabled: return`` guards the rest of its block by the negated test;
- ``for`` / ``while`` (``async`` too) with their ``else``; ``break`` / ``continue`` end nothing
  early here (a body is walked once, as the pass every later pass repeats); a ``for`` over
  ``range(1)`` or a one-element literal runs once, so it is a block, not a loop;
- ``with`` / ``async with``: the context expressions, then the body;
- ``try`` / ``except`` / ``except*`` / ``else`` / ``finally``: in order, each handler's name bound;
- ``match`` / ``case``: each case forked from the state before the ``match``, its captures bound
  to the subject, under a guard when the case compares the subject with a value
  (``case "ttt":`` reads as ``subject == "ttt"``) or has an ``if``; when the last case always
  matches, the state before the ``match`` does not flow past it;
- nested ``def`` / ``class``: separate scopes, handed to :meth:`Flow.definition` (skipped by
  default; the facts pre-pass walks each function on its own);
- ``global`` / ``nonlocal``: handed to :meth:`Flow.small` like any other small statement.

Subclasses say what a statement *means* for their state through a few hooks: :meth:`small`
(a small statement), :meth:`header` (an expression read by a compound statement's header),
:meth:`bind` (a name bound by a loop target, a ``with ... as``, a handler or a pattern),
:meth:`fork` / :meth:`detach` / :meth:`restore` / :meth:`merge` (their state across branches)
and the loop and ``with`` hooks. Expressions stay the subclass's own (a taint walk and a label walk evaluate the
same expression differently); :func:`comprehension_scopes` lists what comprehensions bind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import libcst as cst

# Node tests here are exact (`type(x) is cst.If`): libcst's concrete node classes are never
# subclassed, and isinstance on them pays for an ABC check, asked for every statement walked.
_STOPPING = frozenset({cst.Return, cst.Raise, cst.Continue, cst.Break})
_SMALL: dict[type, bool] = {}
"""Per node type, whether it is a small statement (the dict-cached subclass test of
:func:`pgolf_cli.audit.nodes.children`: ``BaseSmallStatement`` is abstract)."""


def _is_small(node: cst.CSTNode) -> bool:
    kind = type(node)
    known = _SMALL.get(kind)
    if known is None:
        known = _SMALL[kind] = issubclass(kind, cst.BaseSmallStatement)
    return known


S = TypeVar("S")
"""A subclass's snapshot of its state (what :meth:`Flow.fork` returns)."""


class _Joins(Protocol):
    def __or__(self, other: Any) -> Any: ...


V = TypeVar("V", bound=_Joins)
"""What a :class:`NamesFlow` knows of one name: a value that joins with ``|``."""


@dataclass(slots=True, unsafe_hash=True)  # not frozen, for speed (see `audit.context.Context`)
class Guard:
    """A condition a statement sits under (``negated`` in the else branch / after an early exit);
    never changed once built."""

    test: cst.BaseExpression
    negated: bool
    line: int


Loop = cst.For | cst.While


def statements(body: cst.BaseSuite | Sequence[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """A block's statements in order: each part of an ``a; b`` line on its own, compound
    statements (``if``, ``for``, ``with``, ...) whole."""
    items: Sequence[cst.CSTNode] = (
        body.body
        if (type(body) is cst.IndentedBlock or type(body) is cst.SimpleStatementSuite)
        else body  # type: ignore[assignment]
    )
    for item in items:
        if type(item) is cst.SimpleStatementLine:
            yield from item.body
        else:
            yield item


def early_exit(item: cst.CSTNode, line: int) -> Guard | None:
    """``if not enabled: return`` guards the rest of the block by the negated test."""
    if type(item) is not cst.If or item.orelse is not None:
        return None
    body = item.body.body
    last = body[-1] if body else None
    if type(last) is cst.SimpleStatementLine:
        last = last.body[-1]
    if type(last) in _STOPPING:
        return Guard(item.test, True, line)
    return None


def pattern_names(pattern: cst.MatchPattern) -> Iterator[cst.Name]:
    """The names a ``case`` pattern captures (``case Point(x=px, y=py)`` -> px, py)."""
    stack: list[cst.CSTNode] = [pattern]
    while stack:
        node = stack.pop()
        if (type(node) is cst.MatchAs or type(node) is cst.MatchStar) and node.name is not None:
            yield node.name
        elif type(node) is cst.MatchMapping and node.rest is not None:
            yield node.rest
        stack.extend(reversed(node.children))


def irrefutable(case: cst.MatchCase) -> bool:
    """``case _:`` / ``case name:`` without an ``if``: the case always matches."""
    pattern = case.pattern
    while type(pattern) is cst.MatchAs and pattern.pattern is not None:
        pattern = pattern.pattern
    return case.guard is None and type(pattern) is cst.MatchAs


def case_test(subject: cst.BaseExpression, pattern: cst.MatchPattern) -> cst.BaseExpression | None:
    """The comparison a value pattern makes: ``case "ttt":`` is ``subject == "ttt"``,
    ``case None:`` is ``subject is None``, ``case 1 | 2:`` is ``subject in (1, 2)``."""
    if type(pattern) is cst.MatchValue:
        return cst.Comparison(subject, [cst.ComparisonTarget(cst.Equal(), pattern.value)])
    if type(pattern) is cst.MatchSingleton:
        return cst.Comparison(subject, [cst.ComparisonTarget(cst.Is(), pattern.value)])
    if type(pattern) is cst.MatchOr and all(
        type(p.pattern) is cst.MatchValue for p in pattern.patterns
    ):
        values = [
            cst.Element(p.pattern.value)
            for p in pattern.patterns
            if type(p.pattern) is cst.MatchValue
        ]
        return cst.Comparison(subject, [cst.ComparisonTarget(cst.In(), cst.Tuple(values))])
    return None


def _int(node: cst.BaseExpression) -> int | None:
    return int(node.value, 0) if type(node) is cst.Integer else None


def runs_once(iterable: cst.BaseExpression) -> bool:
    """``range(1)``, ``range(0, 1)``, ``[x]``, ``(x,)``: a loop over it runs its body once."""
    if type(iterable) is cst.List or type(iterable) is cst.Tuple or type(iterable) is cst.Set:
        return len(iterable.elements) == 1 and type(iterable.elements[0]) is cst.Element
    if not (
        type(iterable) is cst.Call
        and type(iterable.func) is cst.Name
        and iterable.func.value == "range"
        and all(a.keyword is None and not a.star for a in iterable.args)
    ):
        return False
    found = [_int(a.value) for a in iterable.args]
    bounds = [b for b in found if b is not None]
    if len(bounds) != len(found) or not 1 <= len(bounds) <= 3:
        return False
    if len(bounds) == 1:
        bounds.insert(0, 0)
    start, stop, step = bounds[0], bounds[1], bounds[2] if len(bounds) == 3 else 1
    return step != 0 and len(range(start, stop, step)) == 1


def comprehension_scopes(
    node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp,
) -> Iterator[cst.CompFor]:
    """The ``for ... in ...`` clauses of a comprehension, outermost first."""
    clause: cst.CompFor | None = node.for_in
    while clause is not None:
        yield clause
        clause = clause.inner_for_in


def element_pairs(
    target: cst.BaseExpression, value: cst.BaseExpression
) -> list[tuple[cst.BaseExpression, cst.BaseExpression]] | None:
    """``a, b = x, y`` binds element by element: the target and value elements side by side.
    None when the two sides are not literal sequences of one length free of ``*`` (the value is
    then bound as a whole)."""
    if not (
        (type(target) is cst.Tuple or type(target) is cst.List)
        and (type(value) is cst.Tuple or type(value) is cst.List)
        and len(target.elements) == len(value.elements)
    ) or any(type(e) is cst.StarredElement for e in (*target.elements, *value.elements)):
        return None
    return [(t.value, v.value) for t, v in zip(target.elements, value.elements, strict=True)]


class Flow(Generic[S]):
    """Walks statements in order; subclasses interpret them (see the module docstring)."""

    def __init__(self, line_of: Callable[[cst.CSTNode], int], line: int = 0) -> None:
        self.line_of = line_of
        self.line = line
        self.statement: cst.CSTNode | None = None
        """The statement being walked: a small statement, or the compound statement whose
        header is read (on a minified line, which of its statements an event is in)."""
        self.guards: list[Guard] = []
        self.loops: list[Loop] = []

    # -- hooks --------------------------------------------------------------------------------
    def small(self, stmt: cst.BaseSmallStatement) -> None:
        """A small statement (assignment, expression, return, ``global``...)."""

    def header(self, expr: cst.BaseExpression) -> object:
        """An expression a compound statement's header reads (a test, an iterable, a context,
        a subject); what it returns is handed to :meth:`bind` for the names the header binds."""
        return None

    def bind(self, target: cst.BaseExpression, value: object) -> None:
        """``target`` is bound to ``value`` (a loop target, ``as`` name, pattern capture)."""

    def fork(self) -> S | None:
        """A copy of the state before branches (None: the subclass keeps no state)."""
        return None

    def detach(self) -> S | None:
        """The live state itself, handed over at the end of a branch; :meth:`restore` always
        follows, so no copy is needed."""
        return self.fork()

    def restore(self, snapshot: S) -> None:
        """Continue from ``snapshot``, which becomes the live state (each snapshot is restored
        at most once)."""

    def merge(self, ends: Sequence[S]) -> None:
        """The state after branches: the current state joined with each of ``ends``."""

    def definition(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        """A nested function or class: a scope of its own, skipped by default."""

    def condition(self, node: cst.If | cst.While, value: object) -> None:
        """The test of an ``if`` / ``while`` was read (``value`` from :meth:`header`)."""

    def branched(self, node: cst.If, value: object) -> None:
        """Both branches of an ``if`` (and its ``elif`` chain) have been walked."""

    def iterate(self, node: cst.For, value: object) -> None:
        """Bind a ``for`` target to what the loop iterates (``value`` from :meth:`header`)."""
        self.bind(node.target, value)

    def enter_loop(self, node: Loop, value: object) -> None:
        """Before the body of a loop (``self.loops`` already holds it)."""

    def exit_loop(self, node: Loop, value: object) -> None:
        """After the body of a loop (``self.loops`` still holds it)."""

    def enter_with(self, node: cst.With) -> object:
        """Read and bind a ``with`` statement's contexts; what it returns goes to exit_with."""
        for item in node.items:
            value = self.header(item.item)
            if item.asname is not None:
                self.bind(item.asname.name, value)
        return None

    def exit_with(self, node: cst.With, token: object) -> None:
        """After a ``with`` body."""

    # -- the walk -----------------------------------------------------------------------------
    def block(self, body: cst.BaseSuite | Sequence[cst.CSTNode]) -> None:
        # The statements in order as :func:`statements` gives them, read without a generator:
        # the parts of an `a; b` line are small statements, anything else is tested.
        items: Sequence[cst.CSTNode] = (
            body.body
            if (type(body) is cst.IndentedBlock or type(body) is cst.SimpleStatementSuite)
            else body  # type: ignore[assignment]
        )
        pushed = 0
        small_kinds = _SMALL
        for entry in items:
            if type(entry) is cst.SimpleStatementLine:
                for part in entry.body:
                    self.line = self.line_of(part)
                    self.statement = part
                    self.small(part)
                continue
            item = entry
            self.line = line = self.line_of(item)
            self.statement = item
            small = small_kinds.get(type(item))
            if small is None:
                small = _is_small(item)
            if small:
                self.small(item)  # type: ignore[arg-type]
                continue
            self.compound(item)
            exit_guard = early_exit(item, line)
            if exit_guard is not None:
                self.guards.append(exit_guard)
                pushed += 1
        if pushed:
            del self.guards[len(self.guards) - pushed :]

    def compound(self, node: cst.CSTNode) -> None:
        if self.statement is not node:  # :meth:`block` has just set both (an `elif` has not)
            self.line = self.line_of(node)
            self.statement = node
        kind = type(node)
        if kind is cst.FunctionDef or kind is cst.ClassDef:
            self.definition(node)  # type: ignore[arg-type]
            return
        if kind is cst.If:
            self.if_(node)  # type: ignore[arg-type]
        elif kind is cst.For:
            self.for_(node)  # type: ignore[arg-type]
        elif kind is cst.While:
            self.while_(node)  # type: ignore[arg-type]
        elif kind is cst.With:
            self.with_(node)  # type: ignore[arg-type]
        elif kind is cst.Try or kind is cst.TryStar:
            self.try_(node)  # type: ignore[arg-type]
        elif kind is cst.Match:
            self.match_(node)  # type: ignore[arg-type]

    def if_(self, node: cst.If) -> None:
        line = self.line
        value = self.header(node.test)
        self.condition(node, value)
        before = self.fork()
        self.guards.append(Guard(node.test, False, line))
        self.block(node.body)
        self.guards.pop()
        after_body = self.detach()
        if before is not None:
            self.restore(before)
        if node.orelse is not None:
            self.guards.append(Guard(node.test, True, line))
            if type(node.orelse) is cst.If:
                self.compound(node.orelse)
            else:
                self.block(node.orelse.body)
            self.guards.pop()
        if after_body is not None:
            self.merge([after_body])
        self.branched(node, value)

    def for_(self, node: cst.For) -> None:
        value = self.header(node.iter)
        self.iterate(node, value)
        if runs_once(node.iter):
            self.block(node.body)  # `for _ in range(1):` is a block, not a loop
        else:
            self._loop(node, value)
        if node.orelse is not None:
            self.block(node.orelse.body)

    def while_(self, node: cst.While) -> None:
        value = self.header(node.test)
        self.condition(node, value)
        self._loop(node, value)
        if node.orelse is not None:
            self.block(node.orelse.body)

    def _loop(self, node: Loop, value: object) -> None:
        self.loops.append(node)
        self.enter_loop(node, value)
        self.block(node.body)
        self.exit_loop(node, value)
        self.loops.pop()

    def with_(self, node: cst.With) -> None:
        token = self.enter_with(node)
        self.block(node.body)
        self.exit_with(node, token)

    def try_(self, node: cst.Try | cst.TryStar) -> None:
        self.block(node.body)
        for handler in node.handlers:
            if handler.type is not None:
                self.header(handler.type)
            if handler.name is not None:
                self.bind(handler.name.name, None)
            self.block(handler.body)
        if node.orelse is not None:
            self.block(node.orelse.body)
        if node.finalbody is not None:
            self.block(node.finalbody.body)

    def match_(self, node: cst.Match) -> None:
        line = self.line
        subject = self.header(node.subject)
        before = self.fork()
        ends: list[S] = []
        earlier: list[Guard] = []
        always = False
        for case in node.cases:
            if before is not None:
                self.restore(before)
                before = self.fork()  # for the next case, and for no case matching
            self.guards.extend(earlier)
            test = case_test(node.subject, case.pattern)
            pushed = len(earlier)
            if test is not None:
                self.guards.append(Guard(test, False, line))
                pushed += 1
            for name in pattern_names(case.pattern):
                self.bind(name, subject)
            if case.guard is not None:
                self.header(case.guard)
                self.guards.append(Guard(case.guard, False, self.line_of(case) or line))
                pushed += 1
            self.block(case.body)
            del self.guards[len(self.guards) - pushed :]
            end = self.detach()
            if end is not None:
                ends.append(end)
            if test is not None and case.guard is None:
                earlier.append(Guard(test, True, line))
            if irrefutable(case):
                always = True
                break
        if before is None:
            return
        if always:
            # No path skips every case: the state after the match is only what the cases left.
            self.restore(ends[-1])
            self.merge(ends[:-1])
        else:
            self.restore(before)
            self.merge(ends)


class NamesFlow(Flow[dict[str, V]]):
    """A walker whose state maps each name to a value joined with ``|`` where branches meet
    (a set of labels, a taint): the state is forked by copy and merged name by name.
    Subclasses set :attr:`state` and :attr:`empty` (the value of a name never bound)."""

    state: dict[str, V]
    empty: V

    def assign(self, target: cst.BaseExpression, value: V) -> None:
        """Bind ``target`` (a name, an attribute, a subscript, a tuple of them) to ``value``."""
        raise NotImplementedError

    def assign_each(self, stmt: cst.Assign, evaluate: Callable[[cst.BaseExpression], V]) -> None:
        """``a = b = value`` binds every target to the value, ``a, b = x, y`` element by
        element (:func:`element_pairs`)."""
        pairs = (
            element_pairs(stmt.targets[0].target, stmt.value) if len(stmt.targets) == 1 else None
        )
        if pairs is not None:
            for element, part in pairs:
                self.assign(element, evaluate(part))
            return
        value = evaluate(stmt.value)
        for assigned in stmt.targets:
            self.assign(assigned.target, value)

    def fork(self) -> dict[str, V]:
        return dict(self.state)

    def detach(self) -> dict[str, V]:
        return self.state

    def restore(self, snapshot: dict[str, V]) -> None:
        self.state = snapshot

    def merge(self, ends: Sequence[dict[str, V]]) -> None:
        state, empty = self.state, self.empty
        for end in ends:
            for name, value in end.items():
                old = state.get(name)
                # A name no branch rebound holds the very same value on both sides: a join
                # with itself changes nothing (and most names are left alone by a branch).
                if old is not value:
                    state[name] = (empty if old is None else old) | value
