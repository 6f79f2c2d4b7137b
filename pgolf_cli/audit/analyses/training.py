"""Where the script trains on validation tokens, and whether each token was scored first.

Shared by the rules on training on validation tokens that were never scored first and
(chunked test-time training whose score/update order is wrong). Built on the facts pre-pass:

- a *training event* is a ``backward()`` on a value carrying validation data, or a call to one
  of the script's functions that trains on the data passed to it without scoring it first;
- a *score event* is an accumulation into a score accumulator computed without gradients (under
  ``no_grad``/``inference_mode``, in eval mode, or by a gradient-free helper), or a call to a
  function that records such scores.

A training event is *score-first* when a score event precedes it inside a loop that encloses
both (the chunk loop of legal TTT, the phase loop of phased TTT). In a helper that receives the
data as a parameter, a score anywhere before the update counts too: the caller's loop decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property

import libcst as cst

from pgolf_cli.audit.analyses.slot import SlotAnalysis
from pgolf_cli.audit.facts import (
    LOSS,
    NG,
    TGT,
    VAL,
    Accumulation,
    CallSite,
    Context,
    Facts,
    Function,
    Gate,
    Guard,
    Labels,
    is_score_accumulator,
    names_read,
)
from pgolf_cli.audit.findings import Evidence
from pgolf_cli.audit.nodes import HOLDS_STATEMENTS, children


@dataclass(frozen=True, slots=True)
class TrainEvent:
    where: Context
    labels: Labels
    slices: tuple[str, ...]
    line: int
    """Line of the ``backward()`` that performs the update (in the innermost function)."""
    chain: tuple[Evidence, ...] = ()
    inner_guards: tuple[Guard, ...] = ()


@dataclass(frozen=True, slots=True)
class ScoreEvent:
    where: Context
    slices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One training event on validation data in the function where that data originates."""

    function: Function
    event: TrainEvent
    kind: str
    """"unscored", "reversed", "last-epoch", "one-past" (mis-ordered), or "score-first" (legal)."""
    score: ScoreEvent | None
    detail: str
    gate: Gate


class TrainingAnalysis:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._trains: dict[str, list[TrainEvent]] = {}
        self._scores: dict[str, list[ScoreEvent]] = {}
        self._unscored: dict[str, list[TrainEvent]] = {q: [] for q in facts.functions}
        self._counters: dict[tuple[str, int], frozenset[str]] = {}
        self._solve()

    # -- summaries -----------------------------------------------------------------------
    @cached_property
    def scorers(self) -> set[str]:
        """Functions that record a score (directly or through the functions they call)."""
        out = {
            q
            for q, fn in self.facts.functions.items()
            if any(self._scored(fn, a) for a in fn.accumulations)
            or any(self._scored_record(fn, r) for r in fn.records)
        }
        return self.facts.with_callers(out)

    @cached_property
    def _loss_adders(self) -> set[str]:
        """Functions that add into a log-loss accumulator, whatever the gradient mode: called
        under ``torch.no_grad()`` (``_accumulate_bpb(ptl, ..., loss_sum)`` adding a chunk's NLL
        to the caller's running sums), such a call records a score."""
        out = {
            q
            for q, fn in self.facts.functions.items()
            if any(is_score_accumulator(a.target) for a in fn.accumulations)
        }
        return self.facts.with_callers(out)

    def _adds_a_passed_loss(self, call: CallSite, depth: int = 0) -> bool:
        """A helper that adds what it is given into a running value it is given
        (``def add(ptl, acc): acc += ptl.sum()``, directly or through the helpers it passes
        them on to), called with a log-loss there: whatever the accumulator is called."""
        callee = self.facts.functions[call.callee]

        def passed(label: str) -> Labels:
            index = callee.param_index(label)
            return frozenset({label}) if index is None else call.passed(callee.params, index)

        for acc in (*callee.accumulations, *callee.records):
            if acc.target in callee.params and any(
                LOSS in passed(lbl) for lbl in acc.labels if lbl[0] == "P"
            ):
                return True
        if depth >= 3:
            return False
        for inner in callee.calls:
            if inner.reference:
                continue
            # What the inner call is handed, seen from this call site.
            seen = replace(
                inner,
                args=tuple(frozenset().union(*map(passed, labels)) for labels in inner.args),
                kwargs=tuple((k, frozenset().union(*map(passed, v))) for k, v in inner.kwargs),
            )
            # Only a call that is handed the loss can add it up.
            carries = any(LOSS in a for a in seen.args) or any(LOSS in v for _, v in seen.kwargs)
            if carries and self._adds_a_passed_loss(seen, depth + 1):
                return True
        return False

    def _scored(self, fn: Function, acc: Accumulation) -> bool:
        return self._without_grad(acc) or self._from_grad_free(acc)

    def _scored_record(self, fn: Function, record: Accumulation) -> bool:
        """A loss on the targets kept without gradients under another name, or the result of a
        gradient-free helper (``a += m(x, y).item()`` under ``no_grad``)."""
        return (TGT in record.labels and self._without_grad(record)) or self._from_grad_free(record)

    @staticmethod
    def _without_grad(acc: Accumulation) -> bool:
        return acc.where.no_grad or acc.where.eval_mode or NG in acc.labels

    def _from_grad_free(self, acc: Accumulation) -> bool:
        """The result of a gradient-free helper that returns a loss or another value computed
        from the scored tokens. A gradient-free helper that returns anything else (Hessians
        collected for quantization, the rounding errors of quantized weights) measures no
        prediction: adding its result to a list records no score."""
        return any(
            lbl.startswith("C")
            and lbl[1:] in self.returns_target
            and self.facts.functions[lbl[1:]].grad_free
            for lbl in acc.labels
        )

    def own_scores(self, fn: Function) -> list[ScoreEvent]:
        """The scores ``fn``'s own statements record (not those of the functions it calls)."""
        found = [ScoreEvent(a.where, a.slices) for a in fn.accumulations if self._scored(fn, a)]
        return found + [
            ScoreEvent(r.where, r.slices) for r in fn.records if self._scored_record(fn, r)
        ]

    @property
    def returns_target(self) -> frozenset[str]:
        """Functions whose result is computed from the scored token (a loss, a gathered log-prob)."""
        return self.facts.returning(TGT)

    def predicts_target(self, labels: Iterable[str]) -> bool:
        return self.facts.carries(labels, TGT)

    def scores(self, fn: Function) -> list[ScoreEvent]:
        found = self._scores.get(fn.qualname)
        if found is None:
            found = self.own_scores(fn)
            found += [
                ScoreEvent(c.where, c.slices)
                for c in fn.calls
                if not c.reference
                and (
                    c.callee in self.scorers
                    or (
                        c.where.no_grad
                        and (c.callee in self._loss_adders or self._adds_a_passed_loss(c))
                    )
                )
            ]
            self._scores[fn.qualname] = found
        return found

    def trains(self, fn: Function) -> list[TrainEvent]:
        events = [TrainEvent(b.where, b.labels, b.slices, b.where.line) for b in fn.backwards]
        for call in fn.calls:
            if call.reference:
                continue
            callee = self.facts.functions[call.callee]
            for inner in self._unscored[call.callee]:
                labels: set[str] = set()
                for lbl in inner.labels:
                    index = callee.param_index(lbl)
                    if index is None:
                        # Validation data the helper reads itself (``data.val_tokens`` of an
                        # object it is passed) stays validation data at the call site.
                        if lbl == VAL:
                            labels.add(lbl)
                        continue
                    labels |= call.passed(callee.params, index)
                if not labels:
                    continue
                chain = (
                    *inner.chain,
                    self.facts.evidence(
                        call.where.line, f"passes the data to {callee.name}(), which trains on it"
                    ),
                )
                events.append(
                    TrainEvent(
                        call.where,
                        frozenset(labels),
                        call.slices,
                        inner.line,
                        chain,
                        inner.where.guards + inner.inner_guards,
                    )
                )
        return events

    def _solve(self) -> None:
        """Propagate "trains on its parameter without scoring it" up the call graph."""
        for _ in range(12):
            changed = False
            self._scores.clear()
            for q, fn in self.facts.functions.items():
                events = self.trains(fn)
                self._trains[q] = events
                unscored = [
                    e
                    for e in events
                    if any(fn.param_index(lbl) is not None for lbl in e.labels)
                    and self._score_first(fn, e, whole_body=True) is None
                    and self._later_score(fn, e) is None
                    and not self._scores_after(fn, e)
                ]
                if [(e.line, e.where.seq) for e in unscored] != [
                    (e.line, e.where.seq) for e in self._unscored[q]
                ]:
                    self._unscored[q] = unscored
                    changed = True
            if not changed:
                break

    # -- ordering ------------------------------------------------------------------------
    def _score_first(
        self, fn: Function, event: TrainEvent, *, whole_body: bool
    ) -> ScoreEvent | None:
        scores = [s for s in self.scores(fn) if s.where.seq < event.where.seq]
        loops = event.where.loops
        for depth in range(len(loops), 0, -1):
            prefix = loops[:depth]
            for score in scores:
                if score.where.loops[:depth] == prefix:
                    return score
        if whole_body and scores and not self._walks_its_data(fn, event):
            return scores[-1]
        return None

    def _scores_after(self, fn: Function, event: TrainEvent) -> bool:
        """``fn`` records a score after the update: it is an evaluation that adapts on its input
        and then scores, so the update is judged here rather than at the call sites that pass
        the data (where a periodic validation call would make it look like training)."""
        return any(s.where.seq > event.where.seq for s in self.scores(fn))

    def _walks_its_data(self, fn: Function, event: TrainEvent) -> bool:
        """Whether the update sits in a loop that walks over the data it trains on.

        A per-chunk helper (score the chunk, then a few epochs on it) loops over epochs; a
        fine-tuning helper walks over its input in batches. An earlier score of the whole input
        makes only the first kind score-first.
        """
        params = {lbl for lbl in event.labels if fn.param_index(lbl) is not None}
        return any(params & fn.loops[loop_id].iter_labels for loop_id in event.where.loops)

    def verdicts(self) -> list[Verdict]:
        """Every training event on validation data, judged where the data originates."""
        return list(self._verdicts)

    @cached_property
    def _verdicts(self) -> tuple[Verdict, ...]:
        """Computed once: two rules and two analyses ask for them."""
        out: list[Verdict] = []
        # A tensor fitted at eval time and then used to score (SLOT) is the SLOT analysis's to describe.
        slot_lines = {
            found.optimisation.line for found in self.facts.analysis(SlotAnalysis).slots()
        }
        for fn in self.facts.ordered_functions():
            deferred = (
                {(e.line, e.where.seq) for e in self._unscored[fn.qualname]}
                if self._called(fn)
                else set()
            )
            for event in self._trains.get(fn.qualname, []):
                if (event.line, event.where.seq) in deferred or not self.facts.carries_val(
                    event.labels, fn.qualname
                ):
                    continue  # no validation data, or judged at the call site that passes it
                if event.line in slot_lines:
                    continue
                gate = self.facts.combine(self.facts.gate(fn, event.where), event.inner_guards)
                out.append(self._judge(fn, event, gate))
        return tuple(out)

    def _later_score(self, fn: Function, event: TrainEvent) -> ScoreEvent | None:
        """A score recorded after the update in a loop around both: the order is reversed."""
        for score in self.scores(fn):
            if (
                score.where.seq > event.where.seq
                and score.where.loops[:1]
                and score.where.loops[:1] == event.where.loops[:1]
            ):
                return score
        return None

    def counters(self, fn: Function, loop_id: int) -> frozenset[str]:
        """The loop's variables and the flags computed from them in its body
        (``last = ep + 1 == epochs``): a test of either depends on the iteration."""
        key = (fn.qualname, loop_id)
        found = self._counters.get(key)
        if found is None:
            loop = fn.loops[loop_id]
            found = self._counters[key] = loop.targets | _flags_of(loop.body, loop.targets)
        return found

    @cached_property
    def _callees(self) -> set[str]:
        return {c.callee for f in self.facts.functions.values() for c in f.calls if not c.reference}

    def _called(self, fn: Function) -> bool:
        return fn.qualname in self._callees

    def _judge(self, fn: Function, event: TrainEvent, gate: Gate) -> Verdict:
        score = self._score_first(fn, event, whole_body=False)
        if score is None:
            later = self._later_score(fn, event)
            if later is not None:
                return Verdict(fn, event, "reversed", later, "", gate)
            return Verdict(fn, event, "unscored", None, "", gate)
        shared = [lp for lp in event.where.loops if lp in score.where.loops]
        loop_vars: set[str] = set()
        for loop_id in shared:
            loop_vars |= self.counters(fn, loop_id)
        for guard in score.where.guards:
            if (
                guard.test
                and names_read(guard.test) & loop_vars
                and guard.line not in {g.line for g in event.where.guards}
            ):
                return Verdict(
                    fn, event, "last-epoch", score, self.facts.code_line(guard.line).strip(), gate
                )
        reach: dict[str, tuple[int, str]] = {}  # per base, the furthest scored bound
        for scored in score.slices:
            base, offset = _split_bound(scored)
            if base and offset >= reach.get(base, (offset, ""))[0]:
                reach[base] = (offset, scored)
        for bound in event.slices:
            base, offset = _split_bound(bound)
            if base in reach and offset > reach[base][0]:
                detail = f"{reach[base][1]} vs {bound}"
                return Verdict(fn, event, "one-past", score, detail, gate)
        return Verdict(fn, event, "score-first", score, "", gate)


_OFFSET = re.compile(r"^(.*?)([+-]\d+)$")


def _split_bound(bound: str) -> tuple[str, int]:
    """``("end", 2)`` for ``end+2``, ``("end", 0)`` for ``end`` or ``(end)``: slice bounds as
    written (without spaces), split into what they count from and a constant offset."""
    match = _OFFSET.match(bound)
    base, offset = (match.group(1), int(match.group(2))) if match else (bound, 0)
    while base.startswith("(") and base.endswith(")"):
        base = base[1:-1]
    return base, offset


_FLAG_TESTS = (cst.Comparison, cst.BooleanOperation, cst.UnaryOperation)


def _flags_of(body: cst.BaseSuite | None, counters: frozenset[str]) -> frozenset[str]:
    """Names bound in ``body`` to a test of ``counters`` (``final = ep == epochs - 1``).

    Only tests count: a slice or a size computed from the counter is data that changes every
    iteration, and guarding on it does not single out some iterations.
    """
    if body is None or not counters:
        return frozenset()
    flags: set[str] = set()
    stack: list[cst.CSTNode] = [body]
    while stack:
        current = stack.pop()
        if (
            type(current) is cst.Assign
            and isinstance(current.value, _FLAG_TESTS)
            and names_read(current.value) & (counters | flags)
        ):
            flags |= {t.target.value for t in current.targets if isinstance(t.target, cst.Name)}
        elif type(current) in HOLDS_STATEMENTS:
            # In source order (a flag may test an earlier flag): reversed onto the stack.
            stack.extend(reversed(children(current)))
    return frozenset(flags)
