"""Tensors optimised on the validation targets during evaluation, then used to score them (SLOT).

Built on the facts pre-pass: a tensor made trainable where it is created (``requires_grad=True``,
``.requires_grad_()``, ``nn.Parameter``) carries a ``G<n>`` label through everything computed
from it. An *optimisation* is a backward pass (or ``torch.autograd.grad``) on a loss that carries
such a label, the target label and validation data; the tensor changes at the first update after
it (an optimizer step over the tensor, an in-place update); a *score* is an accumulation into a
log-loss accumulator that carries the same leaf. The shape is SLOT when a score follows that
update and no score of the same tensor came before it in a loop around the optimisation (that
order is score-first test-time training, judged by the
training analysis).

Whether the optimisation loss covers the scored positions is read from the two expressions: the
slices and position comparisons each one applies, after following local names. A loss confined to
the positions before the scored slice is causal SLOT (pending); one with no restriction of its own
covers what is scored; anything else cannot be compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import libcst as cst

from pgolf_cli.audit.analyses.bodies import Assignment, Bodies, Body
from pgolf_cli.audit.facts import (
    NG,
    TGT,
    Context,
    Facts,
    Function,
    Guard,
    Labels,
    code_of,
    grad_labels,
)
from pgolf_cli.audit.findings import Evidence
from pgolf_cli.audit.nodes import children


@dataclass(frozen=True, slots=True)
class Event:
    """An optimisation, score or update, seen from the function being judged."""

    where: Context
    """Where it happens in that function (the call site when it happens in a helper)."""
    labels: Labels
    """Its labels in that function's terms (a helper's parameters replaced by the arguments)."""
    origin: Function
    """The function whose statement it is."""
    line: int
    """The statement's line in ``origin``."""
    target: str = ""
    """The accumulator, for a score."""
    guards: tuple[Guard, ...] = ()
    """Conditions inside the helpers between the call site and the statement."""
    chain: tuple[Evidence, ...] = ()


class Coverage(Enum):
    SCORED = "scored"
    """The optimisation loss covers the scored positions."""
    CAUSAL = "causal"
    """It covers only positions before the scored slice."""
    UNKNOWN = "unknown"
    """It is restricted in a way that cannot be compared with the scored slice."""


@dataclass(frozen=True, slots=True)
class Slot:
    function: Function
    optimisation: Event
    score: Event
    leaves: Labels
    updated: bool
    """An optimizer step / in-place update / ``autograd.grad`` over the tensor was found."""
    coverage: Coverage
    detail: str


_Restriction = tuple[str, ...]
"""("slice", lower, upper) or ("cmp", smaller, "<" / "<=", larger)."""

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_OPERATORS: dict[type[cst.BaseCompOp], str] = {
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
}


def _restrictions(
    code: Body, start: Assignment, enclosing: Body | None = None
) -> set[_Restriction]:
    """The slices and ordering comparisons an expression applies, following local names (and,
    in a closure, the names it reads from the ``enclosing`` function)."""
    out: set[_Restriction] = set()
    seen: set[str] = set()
    stack: list[tuple[cst.CSTNode, int]] = [(start.value, start.order)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, cst.Name):
            if node.value not in seen:
                seen.add(node.value)
                if (
                    enclosing is not None
                    and node.value not in code.assignments
                    and node.value not in code.slice_writes
                ):
                    # A free name of the closure: all the enclosing function binds to it.
                    found = enclosing.assignments.get(node.value, [])
                    found = found + enclosing.slice_writes.get(node.value, [])
                    stack.extend((a.value, -1) for a in found)
                    continue
                stack.extend((a.value, a.order) for a in code.definitions(node.value, at))
                # A mask is also what its item writes set: `mask[i, :s] = True` covers [:s].
                stack.extend(
                    (a.value, a.order)
                    for a in code.slice_writes.get(node.value, [])
                    if a.order < at or at < 0
                )
            continue
        if isinstance(node, cst.Subscript):
            for element in node.slice:
                part = element.slice
                if isinstance(part, cst.Slice) and (part.lower or part.upper):
                    lower = code_of(part.lower) if part.lower else ""
                    upper = code_of(part.upper) if part.upper else ""
                    out.add(("slice", lower, upper))
        elif isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            op = _OPERATORS.get(type(node.comparisons[0].operator))
            if op is not None:
                left, right = code_of(node.left), code_of(node.comparisons[0].comparator)
                if op in (">", ">="):  # keep the smaller side first
                    left, right, op = right, left, _FLIP[op]
                out.add(("cmp", left, op, right))
        elif isinstance(node, cst.Lambda):
            continue
        stack.extend((child, at) for child in children(node))
    return out


def _before(opt: _Restriction, scored: _Restriction) -> bool:
    """``opt`` keeps only positions that come before everything ``scored`` keeps."""
    if opt[0] == "slice" and opt[2]:  # [a:s] keeps positions below s, whatever a is
        start = opt[2]
    elif opt[0] == "cmp" and len(opt) == 4:
        start = opt[3] if opt[2] == "<" else ""  # position < start
    else:
        return False
    if not start:
        return False
    if scored[0] == "slice":
        return scored[1] == start
    if scored[0] == "cmp" and len(scored) == 4:
        return scored[1] == start and scored[2] == "<="  # start <= position
    return False


def _show(restriction: _Restriction) -> str:
    if restriction[0] == "slice":
        return f"[{restriction[1]}:{restriction[2]}]"
    return " ".join(restriction[1:])


def _coverage(optimised: set[_Restriction], scored: set[_Restriction]) -> tuple[Coverage, str]:
    """How the restrictions of the optimisation loss compare with those of the score."""
    own = optimised - scored
    for o in own:
        for s in scored - optimised:
            if _before(o, s):
                return Coverage.CAUSAL, f"optimised on {_show(o)}, scored on {_show(s)}"
    if not own:
        return Coverage.SCORED, ""
    return Coverage.UNKNOWN, ", ".join(sorted(_show(o) for o in own))


class SlotAnalysis:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._lifted: dict[tuple[str, str], list[Event]] = {}
        self._leaves: dict[str, Labels] = {}
        self._leaves_of: dict[Labels, Labels] = {}
        self._slots: list[Slot] | None = None
        self._restricted: dict[tuple[int, int, int, int], frozenset[_Restriction]] = {}
        self.created: dict[str, int] = {
            leaf.label: leaf.where.line
            for fn in facts.functions.values()
            for leaf in fn.grad_leaves
        }

    # -- labels ----------------------------------------------------------------------------
    def leaves(self, labels: Iterable[str]) -> Labels:
        """The grad leaves a value depends on, also through helpers that return one."""
        out = set(grad_labels(labels))
        for lbl in labels:
            if lbl.startswith("C") and lbl[1:] in self.facts.functions:
                out |= self._returned_leaves(lbl[1:])
        return frozenset(out)

    def _event_leaves(self, event: Event) -> Labels:
        """:meth:`leaves` of an event's labels, remembered: each optimisation is compared with
        every score and update of its function, which share a few label sets."""
        found = self._leaves_of.get(event.labels)
        if found is None:
            found = self._leaves_of[event.labels] = self.leaves(event.labels)
        return found

    def _returned_leaves(self, qualname: str) -> Labels:
        found = self._leaves.get(qualname)
        if found is None:
            self._leaves[qualname] = frozenset()  # a recursive helper adds nothing new
            found = self._leaves[qualname] = self.leaves(self.facts.functions[qualname].returns)
        return found

    # -- events ----------------------------------------------------------------------------
    def _own(self, fn: Function, kind: str) -> list[Event]:
        if kind == "optimisation":
            return [Event(b.where, b.labels, fn, b.where.line) for b in fn.backwards]
        if kind == "score":
            # A score is a sum into a log-loss accumulator, or a loss on the targets computed
            # without gradients and summed under any other name (``sl += nll[s:].sum()``).
            return [
                Event(a.where, a.labels, fn, a.where.line, a.target)
                for a in fn.accumulations
                if self.facts.is_score(a)
            ] + [
                Event(r.where, r.labels, fn, r.where.line, r.target)
                for r in fn.records
                if TGT in r.labels and (NG in r.labels or r.where.no_grad)
            ]
        return [Event(s.where, s.labels, fn, s.where.line) for s in fn.leaf_steps]

    def events(self, fn: Function, kind: str) -> list[Event]:
        """``fn``'s own events of a kind, and those of the helpers it calls (in its terms)."""
        key = (fn.qualname, kind)
        found = self._lifted.get(key)
        if found is not None:
            return found
        self._lifted[key] = []  # recursion through a cycle of helpers stops here
        found = self._own(fn, kind)
        for call in fn.calls:
            if call.reference:
                continue
            helper = self.facts.functions[call.callee]
            for inner in self.events(helper, kind):
                labels: set[str] = set()
                for lbl in inner.labels:
                    index = helper.param_index(lbl)
                    if index is None:
                        labels.add(lbl)
                    else:
                        labels |= call.passed(helper.params, index)
                found.append(
                    Event(
                        call.where,
                        frozenset(labels),
                        inner.origin,
                        inner.line,
                        inner.target,
                        inner.where.guards + inner.guards,
                        (
                            *inner.chain,
                            self.facts.evidence(call.where.line, f"calls {helper.name}()"),
                        ),
                    )
                )
        self._lifted[key] = found
        return found

    # -- verdicts --------------------------------------------------------------------------
    def slots(self) -> list[Slot]:
        """The SLOT shapes of the file, found once (the training verdicts ask for them too)."""
        if self._slots is None:
            self._slots = self._find()
        return self._slots

    def _find(self) -> list[Slot]:
        out: list[Slot] = []
        if not self.created:
            return out
        reported: set[int] = set()
        for fn in self.facts.ordered_functions():
            for opt in self.events(fn, "optimisation"):
                slot = self._judge(fn, opt)
                if slot is not None and opt.line not in reported:
                    reported.add(opt.line)
                    out.append(slot)
        return out

    def _judge(self, fn: Function, opt: Event) -> Slot | None:
        leaves = self._event_leaves(opt)
        if (
            not leaves
            or TGT not in opt.labels
            or not self.facts.carries_val(opt.labels, fn.qualname)
        ):
            return None
        scores = [s for s in self.events(fn, "score") if leaves & self._event_leaves(s)]
        updates = [u for u in self.events(fn, "update") if leaves & self._event_leaves(u)]
        # The tensor changes at the first update after the backward pass (``opt.step()``); a
        # score recorded between the two still saw the tensor as it was.
        pivot = min(
            (u.where.seq for u in updates if u.where.seq > opt.where.seq),
            default=opt.where.seq,
        )
        if any(_score_first(s, opt, pivot) for s in scores):
            return None  # scored, then adapted: ordinary test-time training
        later = [s for s in scores if s.where.seq > pivot]
        if not later:
            return None
        # A loss logged inside the optimisation loop is not the score; prefer one outside it.
        outside = [
            s for s in later if not opt.where.loops or opt.where.loops[-1] not in s.where.loops
        ]
        score = (outside or later)[0]
        updated = bool(updates)
        bodies = self.facts.analysis(Bodies)
        parent = opt.origin.qualname.rpartition(".")[0] if opt.origin.free else ""
        enclosing = (
            bodies.of(self.facts.functions[parent]) if parent in self.facts.functions else None
        )
        opt_code = bodies.of(opt.origin)
        optimised: set[_Restriction] = set()
        for loss in opt_code.differentiated(opt.line):
            optimised |= self._restrictions(opt_code, loss, enclosing)
        score_code = bodies.of(score.origin)
        scored: set[_Restriction] = set()
        for added in score_code.accumulated(score.line, score.target):
            scored |= self._restrictions(score_code, added)
        coverage, detail = _coverage(optimised, scored)
        return Slot(fn, opt, score, leaves, updated, coverage, detail)

    def _restrictions(
        self, code: Body, start: Assignment, enclosing: Body | None = None
    ) -> frozenset[_Restriction]:
        """:func:`_restrictions`, remembered: the optimisations a function's helpers lift
        into it share their loss and score expressions."""
        key = (id(code), id(start.value), start.order, id(enclosing))
        found = self._restricted.get(key)
        if found is None:
            found = self._restricted[key] = frozenset(_restrictions(code, start, enclosing))
        return found


def _score_first(score: Event, opt: Event, pivot: int) -> bool:
    """A score of the tensor before it is updated (``pivot``), inside a loop around both."""
    if score.where.seq >= pivot:
        return False
    shared = 0
    for a, b in zip(score.where.loops, opt.where.loops, strict=False):
        if a != b:
            break
        shared += 1
    return shared > 0


__all__ = ["Coverage", "Event", "Slot", "SlotAnalysis"]
