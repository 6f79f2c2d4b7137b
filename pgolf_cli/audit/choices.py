"""Choices among several values, recorded while the facts walker interprets a function.

A script keeps the better of several predictions, or of several scoring passes, with an ordering
comparison (``nll_a < nll_b``, ``if loss < best: best = loss``) or an extreme
(``torch.minimum(a, b)``, ``torch.stack([a, b]).min(0)``, ``min(pass_a, pass_b)``, ``argmin``).
The walker hands each such expression to its :class:`Chooser`, which records a
:class:`Selection` with the labels of every candidate and gives the chosen value a fresh
``S<n>`` label, so that a rule can follow the choice into the score. Whether the candidates are
predictions of the scored token or results of whole scoring passes is decided afterwards, with
the whole file known, by :mod:`pgolf_cli.audit.analyses.scoring` (rescoring passes, oracle choices).

Only syntax and the labels the walker already computed are used here: every expression is
evaluated once, by the walker.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import libcst as cst

from pgolf_cli.audit.context import Context

Labels = frozenset[str]
_NOTHING: Labels = frozenset()

# Node tests are exact (`type(x) is cst.Name`): libcst's concrete node classes are never
# subclassed, and isinstance on them pays for an ABC check (see `nodes._is_node`).

_ORDERING = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)
_ELEMENTWISE = frozenset({"minimum", "maximum", "fmin", "fmax"})
_REDUCTIONS = frozenset({"min", "max", "amin", "amax", "nanmin", "nanmax", "argmin", "argmax"})
_COLLECTORS = frozenset(
    {
        "stack",
        "cat",
        "concat",
        "concatenate",
        "vstack",
        "hstack",
        "dstack",
        "column_stack",
        "row_stack",
        "array",
        "asarray",
        "tensor",
        "as_tensor",
        "list",
        "tuple",
    }
)
_SIZES = frozenset({"len", "numel", "size", "nelement", "dim", "ndim", "ndimension", "shape"})
CHOICE_CALLS = _ELEMENTWISE | _REDUCTIONS | {"append"}
"""The calls :meth:`Chooser.call` looks at (the walker asks only about these)."""

Candidate = tuple[Labels, str | None]
"""What one candidate carries, and the local name it is read from (for running choices)."""


def is_selection_label(label: str) -> bool:
    return label.startswith("S") and label[1:].isdigit()


@dataclass(frozen=True, slots=True)
class Selection:
    """A choice among values: the chosen one carries ``label``."""

    where: Context
    kind: str
    """"compare" (an ordering comparison), "extreme" (min / max and their kin: the chosen value)
    or "index" (argmin / argmax: which candidate was chosen)."""
    label: str
    candidates: tuple[Labels, ...]
    names: tuple[str | None, ...]
    running: bool = False
    """``best = min(best, x)`` / ``if x < best: best = x``: one candidate is the running result."""


class _Record(Protocol):
    """Where the choices of the function being interpreted are kept."""

    @property
    def selections(self) -> list[Selection]: ...

    @property
    def selection_tests(self) -> dict[int, Labels]:
        """``if`` tests (by node) that carry a choice, with the labels of what they chose."""
        ...


class _Numbering(Protocol):
    def next_seq(self) -> int: ...


class Interpreter(Protocol):
    """What the chooser reads of the walker interpreting a function (the facts walker)."""

    @property
    def fn(self) -> _Record: ...

    @property
    def facts(self) -> _Numbering: ...

    @property
    def loops(self) -> Sequence[object]: ...

    @property
    def state(self) -> dict[str, Labels]: ...

    def where(self) -> Context: ...


def _root(node: cst.BaseExpression) -> str | None:
    """``nll_a`` for ``nll_a``, ``nll_a.item()``, ``nll_a[0]``, ``self.nll_a.float()``,
    ``nll_a / count``."""
    while True:
        if type(node) is cst.Name:
            return node.value
        if type(node) is cst.Attribute or type(node) is cst.Subscript:
            node = node.value
        elif type(node) is cst.BinaryOperation:
            node = node.left
        elif type(node) is cst.Call and type(node.func) is cst.Attribute:
            node = node.func.value
        else:
            return None


def _is_size(node: cst.BaseExpression) -> bool:
    """Numbers, sizes and positions (``len(y)``, ``y.numel()``, ``x.shape[1]``,
    ``doc.numel() - 1``, ``(k + 1) * chunk``): bounds, not predictions."""
    if type(node) is cst.Integer or type(node) is cst.Float:
        return True
    if type(node) is cst.UnaryOperation:
        return _is_size(node.expression)
    if type(node) is cst.BinaryOperation:
        return _is_position(node)
    if type(node) is cst.Attribute:
        return node.attr.value in _SIZES
    if type(node) is cst.Subscript:
        return _is_size(node.value)
    if type(node) is cst.Call:
        func = node.func
        name = func.value if type(func) is cst.Name else None
        if type(func) is cst.Attribute:
            name = func.attr.value
        return name in _SIZES
    return False


def _is_position(node: cst.BinaryOperation) -> bool:
    """Integer arithmetic on sizes and counters: an integer literal or a size in it, and no call
    that computes a value (a loss scaled by a float or computed by a call is not a position).

    ``end - start`` of two plain values is the length of a span (a document, a segment): the
    difference of two candidates is never the loss of either, so it cannot be a prediction kept
    for its loss."""
    if type(node.operator) is cst.Subtract and all(
        (type(side) is cst.Name or type(side) is cst.Attribute or type(side) is cst.Subscript)
        for side in (node.left, node.right)
    ):
        return True
    anchored = False
    stack: list[cst.BaseExpression] = [node]
    while stack:
        current = stack.pop()
        if type(current) is cst.BinaryOperation:
            stack.extend((current.left, current.right))
        elif type(current) is cst.Float:
            return False
        elif type(current) is cst.Integer or _is_size(current):
            anchored = True
        elif not (type(current) is cst.Name or type(current) is cst.Attribute):
            return False
    return anchored


def _is_dimension(node: cst.BaseExpression, labels: Labels) -> bool:
    """The second positional argument of ``torch.min(x, 0)`` is a dimension, not a tensor."""
    return not labels or (type(node) is cst.Integer or type(node) is cst.UnaryOperation)


class Chooser:
    """The walker's record of collections and choices in the function it interprets."""

    def __init__(self, walker: Interpreter, target_label: str) -> None:
        # A weak reference: the walker holds its chooser, and a cycle would keep the walker,
        # its function and that function's part of the tree alive after the walk, for the
        # cyclic garbage collector to find (see Facts.release).
        self._walker: Interpreter = weakref.proxy(walker)
        self._target = target_label
        self._collections: dict[int, tuple[Candidate, ...]] = {}
        """``[a, b]`` / ``(a, b)`` / comprehensions, by node, with two or more labelled items."""
        self._named: dict[str, tuple[tuple[Candidate, ...], int]] = {}
        """Local names bound to a collection, with the loop depth of the binding."""
        self._compared: dict[int, int] = {}
        """Comparison node -> index of its selection in the function's list."""
        self.assigning: frozenset[str] = frozenset()
        """Names the statement being interpreted assigns (to recognise running choices)."""
        self._rebinding: list[set[str]] = []
        """Names assigned inside each ``if`` statement being interpreted whose test chooses."""

    # -- collections -------------------------------------------------------------------
    def collection(
        self, node: cst.CSTNode, items: Sequence[tuple[cst.BaseExpression, Labels]]
    ) -> None:
        labelled = [(expr, labels) for expr, labels in items if labels]
        if len(labelled) < 2:
            return
        candidates = tuple((labels, _root(expr)) for expr, labels in labelled if not _is_size(expr))
        if len(candidates) >= 2:
            self._collections[id(node)] = candidates

    def comprehension(self, node: cst.CSTNode, element: cst.BaseExpression, labels: Labels) -> None:
        # `[loss(m, x, y) for m in experts]` stands for as many candidates as there are experts.
        if labels and not _is_size(element):
            self._collections[id(node)] = ((labels, None), (labels, None))

    def _resolve(self, node: cst.BaseExpression) -> tuple[Candidate, ...] | None:
        found = self._collections.get(id(node))
        if found is not None:
            return found
        if type(node) is cst.Name:
            named = self._named.get(node.value)
            return None if named is None else named[0]
        if type(node) is cst.Call:
            func = node.func
            name = func.attr.value if type(func) is cst.Attribute else None
            if type(func) is cst.Name:
                name = func.value
            if name in _COLLECTORS:
                first = next((a.value for a in node.args if a.keyword is None and not a.star), None)
                return None if first is None else self._resolve(first)
        return None

    def bind(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """``losses = torch.stack([a, b])`` / ``losses = []`` name a collection."""
        if type(target) is not cst.Name:
            return
        found = self._resolve(value)
        if (
            found is None
            and (type(value) is cst.List or type(value) is cst.Tuple)
            and not value.elements
        ):
            found = ()
        if found is None:
            if self._named:
                self._named.pop(target.value, None)
        else:
            self._named[target.value] = (found, len(self._walker.loops))

    def _append(self, owner: str, item: cst.BaseExpression, labels: Labels) -> None:
        found, depth = self._named[owner]
        if not labels or _is_size(item):
            return
        # An append inside a loop the list was created outside of adds one item per iteration.
        times = 2 if len(self._walker.loops) > depth else 1
        self._named[owner] = (found + ((labels, _root(item)),) * times, depth)

    # -- choices ---------------------------------------------------------------------------
    def comparison(self, node: cst.Comparison, sides: Sequence[Labels]) -> Labels:
        """``a < b`` between values one of which may come from a prediction or a pass."""
        if len(node.comparisons) != 1 or not isinstance(node.comparisons[0].operator, _ORDERING):
            return _NOTHING
        exprs = (node.left, node.comparisons[0].comparator)
        if any(_is_size(e) for e in exprs) or not any(self._may_score(s) for s in sides):
            return _NOTHING
        # The other side must be a value too, or a name the branch may rebind (a running best).
        if not all(s or type(e) is cst.Name for e, s in zip(exprs, sides, strict=True)):
            return _NOTHING
        self._compared[id(node)] = len(self._walker.fn.selections)
        names = tuple(map(_root, exprs))
        return self._choose(
            "compare",
            tuple(zip(sides, names, strict=True)),
            running=any(n is not None and n in self.assigning for n in names),
        )

    def watches(self, test: cst.BaseExpression, test_labels: Labels) -> bool:
        """Whether an ``if`` test chooses; if so, :meth:`branches` must follow its branches."""
        if id(test) in self._compared or any(is_selection_label(lbl) for lbl in test_labels):
            self._rebinding.append(set())
            return True
        return False

    def rebound(self, name: str) -> None:
        for names in self._rebinding:
            names.add(name)

    def branches(self, test: cst.BaseExpression, test_labels: Labels) -> None:
        """After an ``if`` statement whose test chooses: what its branches rebound carries the
        choice, and a comparison with a name the branch rebinds is a running best."""
        state = self._walker.state
        changed = self._rebinding.pop()
        index = self._compared.get(id(test))
        selections = self._walker.fn.selections
        if index is not None and changed & {n for n in selections[index].names if n}:
            selections[index] = dataclasses.replace(selections[index], running=True)
        chosen = frozenset(lbl for lbl in test_labels if is_selection_label(lbl))
        if not chosen:
            return
        self._walker.fn.selection_tests[id(test)] = chosen
        for name in changed:
            state[name] = state.get(name, _NOTHING) | chosen

    def call(
        self,
        node: cst.Call,
        name: str | None,
        receiver: Labels,
        args: Sequence[Labels],
        *,
        method: bool,
    ) -> Labels:
        """``torch.minimum(a, b)``, ``min(a, b)``, ``torch.stack(xs).min(0)``, ``xs.append(x)``."""
        func = node.func
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        if (
            name == "append"
            and type(func) is cst.Attribute
            and type(func.value) is cst.Name
            and func.value.value in self._named
            and positional
            and args
        ):
            self._append(func.value.value, positional[0], args[0])
            return _NOTHING
        if name not in _ELEMENTWISE and name not in _REDUCTIONS:
            return _NOTHING
        operands = list(zip(positional, args, strict=False))
        if method and type(func) is cst.Attribute:
            operands.insert(0, (func.value, receiver))
        candidates: tuple[Candidate, ...] | None
        if name in _ELEMENTWISE or (
            len(operands) >= 2 and not _is_dimension(operands[1][0], operands[1][1])
        ):
            candidates = tuple(
                (labels, _root(expr))
                for expr, labels in operands[: None if name in ("min", "max") else 2]
                if labels and not _is_size(expr)
            )
        else:
            candidates = self._resolve(operands[0][0]) if operands else None
        if not candidates:
            return _NOTHING
        # `best = torch.minimum(best, nll)`: `best` may hold nothing yet on the first iteration.
        running = any(_root(expr) in self.assigning for expr, _ in operands)
        if len(candidates) < 2 and not running:
            return _NOTHING
        if all(name is not None and name in self.assigning for _, name in candidates):
            return _NOTHING  # `p = np.maximum(p, 1e-10)`: a value bounded by constants, no choice
        kind = "index" if name in ("argmin", "argmax") else "extreme"
        return self._choose(kind, candidates, running=running)

    def _may_score(self, labels: Labels) -> bool:
        return self._target in labels or any(lbl.startswith("C") for lbl in labels)

    def _choose(self, kind: str, candidates: tuple[Candidate, ...], *, running: bool) -> Labels:
        walker = self._walker
        label = f"S{walker.facts.next_seq()}"
        walker.fn.selections.append(
            Selection(
                walker.where(),
                kind,
                label,
                tuple(labels for labels, _ in candidates),
                tuple(name for _, name in candidates),
                running,
            )
        )
        return frozenset({label})
