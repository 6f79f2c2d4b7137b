"""Where a vocabulary look-up table read at the scored token gates that token's probability.

The facts pre-pass records every read ``table[key]`` whose key carries the scored token. Such a
read is a *gate read* when the table is a vocabulary look-up table: one index, a table that holds
no validation data and is not an eval-time count table (``starts_new_word_lut[tgt]``,
``is_boundary[y]``). Any other target-keyed read — ``probs[i, tgt]``, ``p[tgt]`` of a distribution
computed from the validation tokens, a count table — is the *probability of the scored token*.

A gate read is harmless while its value only counts bytes (the standard BPB accounting reads
``base_bytes_lut[tgt]``). It is the violation when it *gates the probability*: it multiplies a
probability of the scored token (``w * p_a + (1 - w) * p_b``), selects between probabilities
(``if lut[y]: p = p_word``, ``torch.where(lut[y], ...)``), or is added to a log-probability after
a ``log``. This module follows, with a small taint walk over only the functions that need it,
which gate reads end up in such a mixture and whether the mixture reaches the score.

Taints are strings: ``PT`` (a probability of the scored token), ``PV`` (a distribution over the
vocabulary: a ``softmax`` / ``log_softmax``), ``G<i>`` (the value of gate read ``i``), ``LG<i>``
(its logarithm), ``D<i>`` (a distribution weighted per position by read ``i``, from which the
target's probability is taken later) and ``M<i>`` (a probability gated by read ``i``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import cast

import libcst as cst

from pgolf_cli.audit.facts import (
    TGT,
    Facts,
    Function,
    Lookup,
    callee_name,
    is_score_accumulator,
    receiver_of,
)
from pgolf_cli.audit.flow import NamesFlow
from pgolf_cli.audit.nodes import children

Taint = frozenset[str]
_NONE: Taint = frozenset()
PROB = "PT"
DIST = "PV"

_LOG_CALLS = {"log", "log2", "log10", "log1p"}
_TARGET_PROB_CALLS = {"gather", "take_along_dim", "cross_entropy", "nll_loss"}
_DISTRIBUTION_CALLS = {"softmax", "log_softmax"}
_MIXING_CALLS = {"where", "lerp", "addcmul", "mul", "multiply", "mul_", "select"}
_MUTATORS = {"append", "extend", "insert", "add_", "copy_", "mul_", "index_add_", "put_"}
_MAX_WALKS_PER_FUNCTION = 6
_MAX_ON_DEMAND_DEPTH = 2
"""How deep helpers are walked just to learn what they return (``p = model_prob(...)``)."""
_GATE_PREFIXES = ("G", "LG", "M", "D")
_OPAQUE: frozenset[type[cst.CSTNode]] = frozenset(
    {cst.Lambda, cst.SimpleString, cst.Integer, cst.Float}
)
"""Expressions that carry nothing (a lambda's body runs elsewhere)."""
_WEIGHTS_DISTRIBUTION = (
    "weights, per position, the distribution the scored token is then taken from"
)


@dataclass(frozen=True, slots=True)
class GateRead:
    index: int
    function: Function
    lookup: Lookup


@dataclass(frozen=True, slots=True)
class Event:
    read: int
    line: int
    what: str


@dataclass
class _Result:
    returns: Taint = _NONE
    mixes: list[Event] = field(default_factory=list)
    sinks: list[Event] = field(default_factory=list)
    outgoing: list[tuple[str, dict[int, Taint]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GatedScore:
    """A gate read whose value gates the probability of the token it was read at."""

    read: GateRead
    mix: Event
    sink: Event
    """``what`` is "score" (added to a loss accumulator), "log" or "return"."""


def _reads(taint: Taint, prefix: str) -> set[int]:
    n = len(prefix)
    return {int(t[n:]) for t in taint if t.startswith(prefix) and t[n:].isdigit()}


def _last_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Subscript):
        node = node.value
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


class _Walk(NamesFlow[Taint]):
    """One pass over a function body with the parameters seeded from its call sites."""

    empty = _NONE

    def __init__(self, analysis: TargetGateAnalysis, fn: Function, seeds: dict[int, Taint]):
        super().__init__(analysis.facts.line_of, fn.line)
        self.analysis = analysis
        self.facts = analysis.facts
        self.fn = fn
        self.scores = self.facts.score_accumulators(fn)
        self.state: dict[str, Taint] = {p: seeds.get(i, _NONE) for i, p in enumerate(fn.params)}
        self.tests: dict[int, Taint] = {}
        """What each header expression (an ``if`` test...) carries, for the guards it becomes."""
        self.result = _Result()

    # -- events --------------------------------------------------------------------------
    def is_score(self, name: str) -> bool:
        """Whether ``name`` adds up the score: by the data flowing into it, or by its name."""
        return name in self.scores or is_score_accumulator(name)

    def mix(self, a: Taint, b: Taint, how: str, prefix: str = "G") -> Taint:
        """``M<i>`` for every gate read on one side that meets a probability on the other.

        The gate side must not carry a probability itself: a tensor that packs the loss sum with
        the byte count (``sums[0]``, ``sums[2]``) is bookkeeping, not a weight."""
        out: set[str] = set()
        for gates, other in ((a, b), (b, a)):
            if PROB in gates or DIST in gates:
                continue
            if PROB in other:
                for read in _reads(gates, prefix):
                    out.add(f"M{read}")
                    self.result.mixes.append(Event(read, self.line, how))
            elif DIST in other:
                # A per-position weight on whole distributions: gated once the target is taken.
                for read in _reads(gates, prefix):
                    out.add(f"D{read}")
                    self.result.mixes.append(Event(read, self.line, _WEIGHTS_DISTRIBUTION))
        return frozenset(out)

    def taken_at_target(self, taint: Taint) -> Taint:
        """The target's probability from a gated distribution is a gated probability."""
        return taint | {PROB} | {f"M{read}" for read in _reads(taint, "D")}

    def sink(self, taint: Taint, what: str) -> None:
        for read in _reads(taint, "M"):
            self.result.sinks.append(Event(read, self.line, what))

    def guarded(self, taint: Taint) -> Taint:
        """A value assigned under ``if <gate>:`` depends on the gate: a probability chosen there
        is a gated probability."""
        if not self.guards:
            return taint
        gates = frozenset(
            t for g in self.guards for t in self.tests.get(id(g.test), _NONE) if t.startswith("G")
        )
        return taint | gates | self.mix(gates, taint, "selects between probabilities")

    # -- expressions ---------------------------------------------------------------------
    def ev(self, node: cst.CSTNode) -> Taint:
        # Exact types, not isinstance (an ABC check on libcst nodes): every node of the walked
        # expressions comes here, and none of these node classes has a subclass.
        if type(node) in _OPAQUE:
            return _NONE
        if type(node) is cst.Name:
            return self.state.get(node.value, _NONE)
        if type(node) is cst.Attribute:
            return self.ev(node.value) | self.state.get("." + node.attr.value, _NONE)
        if type(node) is cst.Subscript:
            read = self.analysis.gate_nodes.get(id(node))
            if read is not None:
                return frozenset({f"G{read}"})
            out = self.ev(node.value)
            for element in node.slice:
                out |= self.ev(element.slice)
            return self.taken_at_target(out) if id(node) in self.analysis.prob_nodes else out
        if type(node) is cst.Call:
            # a table read written as a call: `lut.get(tgt)`, `lut.index_select(0, y)`
            read = self.analysis.gate_nodes.get(id(node))
            if read is not None:
                return frozenset({f"G{read}"})
            out = self.call(node)
            return self.taken_at_target(out) if id(node) in self.analysis.prob_nodes else out
        if type(node) is cst.BinaryOperation:
            left, right = self.ev(node.left), self.ev(node.right)
            operator = type(node.operator)
            if operator is cst.Divide:
                # Dividing by a per-token byte count normalises the loss (BPB); it weights nothing.
                right = frozenset(t for t in right if not t.startswith(("G", "LG")))
            out = left | right
            if operator is cst.Multiply or operator is cst.MatrixMultiply or operator is cst.Power:
                out |= self.mix(left, right, "weights a probability of the scored token")
            elif operator is cst.Add or operator is cst.Subtract:
                out |= self.mix(left, right, "is added to a log-probability", prefix="LG")
            return out
        if type(node) is cst.IfExp:
            test, body, orelse = self.ev(node.test), self.ev(node.body), self.ev(node.orelse)
            gates = frozenset(t for t in test if t.startswith("G"))
            return (
                body
                | orelse
                | gates
                | self.mix(gates, body | orelse, "selects between probabilities")
            )
        out = _NONE
        for child in children(node):
            out |= self.ev(child)
        return out

    def call(self, node: cst.Call) -> Taint:
        func = node.func
        name = callee_name(func)
        # Exact type (Attribute has no subclass): isinstance on libcst nodes is an ABC check.
        method = type(func) is cst.Attribute
        receiver = self.ev(cast(cst.Attribute, func).value) if method else _NONE
        parts = [receiver] if method else []
        positional: list[Taint] = []
        keywords: dict[str, Taint] = {}
        for arg in node.args:
            taint = self.ev(arg.value)
            parts.append(taint)
            if arg.keyword is not None:
                keywords[arg.keyword.value] = taint
            elif not arg.star:
                positional.append(taint)
        everything = frozenset().union(*parts)
        if name in _LOG_CALLS:
            self.sink(everything, "log")
            everything |= {f"LG{read}" for read in _reads(everything, "G")}
        elif name in _TARGET_PROB_CALLS:
            everything = self.taken_at_target(everything)
        elif name in _DISTRIBUTION_CALLS:
            everything |= {DIST}
        elif name in _MIXING_CALLS:
            for i, part in enumerate(parts):
                rest = frozenset().union(*(p for j, p in enumerate(parts) if j != i))
                everything |= self.mix(part, rest, "selects between or scales probabilities")
        callees = self.facts.resolve_call(func, self.fn)
        if not callees:
            return everything
        out = _NONE
        for callee in callees:
            target = self.facts.functions[callee]
            bound = [receiver] if method and target.class_name else []
            args = {i: t for i, t in enumerate([*bound, *positional]) if t}
            for key, taint in keywords.items():
                if taint and key in target.params:
                    args[target.params.index(key)] = taint
            own = len(target.params) - len(target.free)
            for j, name in enumerate(target.free):  # a closure reads the caller's names
                if self.state.get(name):
                    args[own + j] = self.state[name]
            self.result.outgoing.append((callee, args))
            out |= self.analysis.summary(callee)
        return out

    # -- statements ----------------------------------------------------------------------
    def assign(self, target: cst.BaseExpression, taint: Taint) -> None:
        if isinstance(target, cst.Name):
            self.state[target.value] = taint
            if self.is_score(target.value):
                self.sink(taint, "score")
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self.assign(element.value, taint)
        elif isinstance(target, cst.StarredElement):
            self.assign(target.value, taint)
        elif isinstance(target, cst.Attribute):
            self.state["." + target.attr.value] = taint
        elif isinstance(target, cst.Subscript):
            base = _last_name(target)
            if base is not None:
                self.state[base] = self.state.get(base, _NONE) | taint
                if self.is_score(base):
                    self.sink(taint, "score")

    def small(self, stmt: cst.BaseSmallStatement) -> None:
        if isinstance(stmt, cst.Assign):
            self.assign_each(stmt, lambda value: self.guarded(self.ev(value)))
        elif isinstance(stmt, cst.AnnAssign) and stmt.value is not None:
            self.assign(stmt.target, self.guarded(self.ev(stmt.value)))
        elif isinstance(stmt, cst.AugAssign):
            added = self.ev(stmt.value)
            current = self.ev(stmt.target)
            if isinstance(stmt.operator, cst.MultiplyAssign):
                added |= self.mix(current, added, "weights a probability of the scored token")
            taint = self.guarded(added)
            name = _last_name(stmt.target)
            if name is not None and self.is_score(name):
                self.sink(taint, "score")
            if isinstance(stmt.target, cst.Name):
                self.state[stmt.target.value] = current | taint
            elif name is not None and isinstance(stmt.target, cst.Subscript):
                self.state[name] = self.state.get(name, _NONE) | taint
        elif isinstance(stmt, cst.Expr):
            taint = self.ev(stmt.value)
            receiver = receiver_of(stmt.value, _MUTATORS)
            if receiver is not None:
                owner = _last_name(receiver)
                if owner is not None:
                    self.state[owner] = self.state.get(owner, _NONE) | self.guarded(taint)
                    if self.is_score(owner):
                        self.sink(self.guarded(taint), "score")
        elif isinstance(stmt, cst.Return) and stmt.value is not None:
            taint = self.ev(stmt.value)
            self.sink(taint, "return")
            self.result.returns |= taint

    # -- the flow walker's hooks ---------------------------------------------------------
    def header(self, expr: cst.BaseExpression) -> Taint:
        taint = self.ev(expr)
        self.tests[id(expr)] = taint
        return taint

    def bind(self, target: cst.BaseExpression, value: object) -> None:
        self.assign(target, value if isinstance(value, frozenset) else _NONE)


class TargetGateAnalysis:
    """Gate reads of the file and the ones that reach a probability and then the score."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.reads: list[GateRead] = []
        self.gate_nodes: dict[int, int] = {}
        self.prob_nodes: set[int] = set()
        self._seeds: dict[str, dict[int, Taint]] = {}
        self._summaries: dict[str, Taint] = {}
        self._results: dict[str, _Result] = {}
        self._walks: dict[str, int] = {}
        self._active: set[str] = set()
        self._classify()
        if self.reads:
            self._solve()

    def _classify(self) -> None:
        facts = self.facts
        for fn in facts.ordered_functions():
            for lookup in fn.lookups:
                if lookup.node is None:
                    continue
                if self._is_gate_read(fn, lookup):
                    self.gate_nodes[id(lookup.node)] = len(self.reads)
                    self.reads.append(GateRead(len(self.reads), fn, lookup))
                else:
                    self.prob_nodes.add(id(lookup.node))

    def _is_gate_read(self, fn: Function, lookup: Lookup) -> bool:
        """One index, a table of per-token-id constants, read at a scored validation token."""
        node = lookup.node
        single = (
            isinstance(node, cst.Subscript)
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
        ) or isinstance(node, cst.Call)
        return (
            single
            and TGT not in lookup.table_labels
            and not self.facts.is_count_table(lookup)
            and not self.facts.carries_val(lookup.table_labels, fn.qualname)
            and self.facts.carries_val(lookup.key_labels, fn.qualname)
        )

    # -- the fixpoint --------------------------------------------------------------------
    def summary(self, qualname: str) -> Taint:
        """What ``qualname`` returns; walked on demand the first time a caller needs it."""
        if (
            qualname not in self._summaries
            and qualname not in self._active
            and len(self._active) <= _MAX_ON_DEMAND_DEPTH
        ):
            self._walk(qualname)
        return self._summaries.get(qualname, _NONE)

    def _walk(self, qualname: str) -> bool:
        """Walk once more; True when the function's summary or its callees' seeds changed."""
        fn = self.facts.functions[qualname]
        if self._walks.get(qualname, 0) >= _MAX_WALKS_PER_FUNCTION:
            self._summaries.setdefault(qualname, _NONE)
            return False
        self._walks[qualname] = self._walks.get(qualname, 0) + 1
        self._active.add(qualname)
        walk = _Walk(self, fn, self._seeds.get(qualname, {}))
        if fn.node is not None:
            walk.block(fn.node.body)
        else:
            walk.block(
                [
                    s
                    for s in self.facts.module.body
                    if not isinstance(s, cst.FunctionDef | cst.ClassDef)
                ]
            )
        self._active.discard(qualname)
        self._results[qualname] = walk.result
        returns = walk.result.returns
        if PROB in returns or DIST in returns:
            # Returned with a probability (`return nll_sum, byte_count`): never a pure gate.
            returns = frozenset(t for t in returns if not t.startswith(("G", "LG")))
        before = self._summaries.get(qualname, _NONE)
        self._summaries[qualname] = returns
        return any(t.startswith(_GATE_PREFIXES) for t in returns - before)

    def _solve(self) -> None:
        callers: dict[str, set[str]] = {}
        for fn in self.facts.functions.values():
            for call in fn.calls:
                if not call.reference:
                    callers.setdefault(call.callee, set()).add(fn.qualname)
        queue = deque(dict.fromkeys(read.function.qualname for read in self.reads))
        while queue:
            qualname = queue.popleft()
            changed = self._walk(qualname)
            if changed:
                queue.extend(c for c in sorted(callers.get(qualname, ())) if c not in queue)
            for callee, args in self._results[qualname].outgoing:
                seeds = self._seeds.setdefault(callee, {})
                grown = False
                for i, taint in args.items():
                    if not taint <= seeds.get(i, _NONE):
                        seeds[i] = seeds.get(i, _NONE) | taint
                        grown = True
                if grown and callee not in queue:
                    queue.append(callee)

    # -- verdicts ------------------------------------------------------------------------
    def gated_scores(self) -> list[GatedScore]:
        rank = {"score": 0, "log": 1, "return": 2}
        out: list[GatedScore] = []
        for read in self.reads:
            mixes = [e for r in self._results.values() for e in r.mixes if e.read == read.index]
            sinks = [e for r in self._results.values() for e in r.sinks if e.read == read.index]
            if mixes and sinks:
                sink = min(sinks, key=lambda e: (rank[e.what], e.line))
                out.append(GatedScore(read, min(mixes, key=lambda e: e.line), sink))
        return out
