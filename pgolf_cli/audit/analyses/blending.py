"""Scores taken from a probability that exists only for the target token.

A legal mixture blends whole distributions over the vocabulary and then reads the target's
probability. The suspicious shape computes the blend for the target alone: the model's
probability of the target (``probs[i, tgt]``, ``probs.gather(-1, y)``) mixed with a count ratio
read for the target (``count[ctx, tgt] / count_ctx[ctx]``) whose denominator is not a sum over
the vocabulary, or multiplied with a product of byte-level probabilities of the target's bytes.
Nothing forces such a "probability" to sum to one over the vocabulary, and ``-log`` of it goes
into the score.

Built on the facts pre-pass: only functions where a score accumulation on validation data
carries a target-keyed read are read as expressions (their bodies, once, through
:mod:`pgolf_cli.audit.analyses.bodies`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from pgolf_cli.audit.analyses.bodies import Assignment, Bodies, Body, Update
from pgolf_cli.audit.facts import (
    Accumulation,
    Facts,
    Function,
    Lookup,
    callee_name,
)
from pgolf_cli.audit.nodes import children

_LOGS = {"log", "log2", "log10"}
_GATHERS = {"gather", "take_along_axis", "take_along_dim"}
_VOCAB_SUMS = {"sum", "nansum", "logsumexp", "softmax"}
_PRODUCTS = {"prod", "cumprod"}


@dataclass(frozen=True, slots=True)
class _Term:
    """What a probability expression is made of."""

    target: bool = False
    """It is a probability read at the target token only."""
    kind: str = ""
    """"ratio" (a count ratio without a vocabulary sum) or "bytes" (a product over the target's
    bytes) when such an unnormalised term is inside."""
    term_line: int = 0
    reads: tuple[Lookup, ...] = ()
    """The target-keyed reads inside the unnormalised term."""
    blend_line: int = 0
    blend_kind: str = ""

    def __or__(self, other: _Term) -> _Term:
        return _Term(
            self.target or other.target,
            self.kind or other.kind,
            self.term_line or other.term_line,
            self.reads + tuple(r for r in other.reads if r not in self.reads),
            self.blend_line or other.blend_line,
            self.blend_kind or other.blend_kind,
        )


_NOTHING = _Term()


@dataclass(frozen=True, slots=True)
class Blend:
    function: Function
    score: Accumulation
    line: int
    """The statement that mixes (or multiplies) the target-only probabilities."""
    kind: str
    """"ratio" or "bytes"."""
    term_line: int
    """Where the unnormalised term is computed."""
    reads: tuple[Lookup, ...]


class _Reader:
    """Reads the probability expressions of one function."""

    def __init__(self, facts: Facts, fn: Function) -> None:
        self.code: Body = facts.analysis(Bodies).of(fn)
        self.reads = {id(lk.node): lk for lk in fn.lookups if lk.node is not None}
        self._terms: dict[int, _Term] = {}

    # -- the score's logarithms ------------------------------------------------------------
    def logged(self, start: Assignment) -> list[tuple[cst.BaseExpression, Assignment]]:
        """The arguments of the ``log`` calls the score is computed from, following local names
        (each with the statement it is written in)."""
        out: list[tuple[cst.BaseExpression, Assignment]] = []
        seen: set[int] = set()
        stack: list[tuple[cst.CSTNode, Assignment]] = [(start.value, start)]
        while stack:
            node, at = stack.pop()
            if isinstance(node, cst.Name):
                for definition in self.code.definitions(node.value, at.order):
                    if id(definition.value) not in seen:
                        seen.add(id(definition.value))
                        stack.append((definition.value, definition))
                continue
            if isinstance(node, cst.Call) and callee_name(node.func) in _LOGS:
                if isinstance(node.func, cst.Attribute) and not node.args:
                    out.append((node.func.value, at))  # p.log()
                    continue
                if node.args:
                    out.append((node.args[0].value, at))
                    continue
            if isinstance(node, cst.Lambda):
                continue
            stack.extend((child, at) for child in children(node))
        return out

    # -- probability terms -----------------------------------------------------------------
    def term(self, node: cst.CSTNode, at: Assignment) -> _Term:
        """What ``node``, written in the statement ``at``, is made of."""
        key = id(node)
        found = self._terms.get(key)
        if found is None:
            self._terms[key] = _NOTHING  # a value defined from itself adds nothing new
            found = self._terms[key] = self._term(node, at)
        return found

    def _term(self, node: cst.CSTNode, at: Assignment) -> _Term:
        if isinstance(node, cst.Name):
            out = _NOTHING
            for definition in self.code.definitions(node.value, at.order):
                out = out | self.term(definition.value, definition)
            for update in self.code.updates:
                if update.target == node.value:
                    out = self._updated(out, update)
            return out
        if id(node) in self.reads:
            return _Term(target=True)
        if isinstance(node, cst.Subscript):
            return self.term(node.value, at)
        if isinstance(node, cst.Call):
            return self._call(node, at)
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node, at)
        if isinstance(node, cst.Lambda):
            return _NOTHING
        out = _NOTHING
        for child in children(node):
            out = out | self.term(child, at)
        return out

    def _call(self, node: cst.Call, at: Assignment) -> _Term:
        name = callee_name(node.func)
        if name in _GATHERS:
            return _Term(target=True)
        parts = [a.value for a in node.args]
        if isinstance(node.func, cst.Attribute):
            parts.insert(0, node.func.value)
        if name in _PRODUCTS:
            reads = tuple(r for part in parts for r in self.target_reads(part, at))
            if reads:
                return _Term(target=True, kind="bytes", term_line=at.line, reads=reads)
        out = _NOTHING
        for part in parts:
            out = out | self.term(part, at)
        return out

    def _binary(self, node: cst.BinaryOperation, at: Assignment) -> _Term:
        left, right = self.term(node.left, at), self.term(node.right, at)
        line = at.line
        if isinstance(node.operator, cst.Divide) and left.target and not left.kind:
            if not self._counted(node.right, at):
                return left | right  # a scale (a temperature), not a count ratio
            if self._vocab_sum(node.right, at):
                return left  # normalised over the vocabulary
            reads = tuple(self.target_reads(node.left, at))
            return _Term(target=True, kind="ratio", term_line=line, reads=reads) | right
        merged = left | right
        if merged.blend_line:
            return merged
        if isinstance(node.operator, cst.Add | cst.Subtract):
            if left.target and right.target and (left.kind or right.kind):
                return _Term(True, merged.kind, merged.term_line, merged.reads, line, merged.kind)
        elif isinstance(node.operator, cst.Multiply) and (
            (left.kind == "bytes" and right.target) or (right.kind == "bytes" and left.target)
        ):
            return _Term(True, "bytes", merged.term_line, merged.reads, line, "bytes")
        return merged

    def _updated(self, base: _Term, update: Update) -> _Term:
        """``base`` changed by ``name += term`` (a blend built in two statements) or by
        ``name *= byte_prob[b]`` in a loop over the target's bytes."""
        statement = update.statement
        if isinstance(statement.operator, cst.AddAssign | cst.SubtractAssign):
            at = Assignment(update.line, statement.value, update.order)
            added = self.term(statement.value, at)
            merged = base | added
            if not merged.blend_line and base.target and added.target and merged.kind:
                return _Term(
                    True, merged.kind, merged.term_line, merged.reads, update.line, merged.kind
                )
            return merged
        if not isinstance(statement.operator, cst.MultiplyAssign) or not update.loops:
            return base
        at = Assignment(update.line, statement.value, update.order)
        reads = [
            *self.target_reads(statement.value, at),
            *self.target_reads(update.loops[-1].iter, at),
        ]
        if not reads:
            return base
        return base | _Term(target=True, kind="bytes", term_line=update.line, reads=tuple(reads))

    def _reached(
        self, expr: cst.CSTNode, at: Assignment, *, keys: bool = True
    ) -> Iterator[cst.CSTNode]:
        """Every node an expression is computed from, following local names to their values
        (without the keys of subscripts when ``keys`` is false)."""
        seen: set[int] = set()
        stack: list[tuple[cst.CSTNode, int]] = [(expr, at.order)]
        while stack:
            node, order = stack.pop()
            yield node
            if isinstance(node, cst.Name):
                for definition in self.code.definitions(node.value, order):
                    if id(definition.value) not in seen:
                        seen.add(id(definition.value))
                        stack.append((definition.value, definition.order))
                continue
            if isinstance(node, cst.Subscript) and not keys:
                stack.append((node.value, order))
                continue
            stack.extend((child, order) for child in children(node))

    def target_reads(self, expr: cst.CSTNode, at: Assignment) -> list[Lookup]:
        """The target-keyed reads an expression is computed from."""
        return [self.reads[id(n)] for n in self._reached(expr, at) if id(n) in self.reads]

    def _counted(self, expr: cst.BaseExpression, at: Assignment) -> bool:
        """The denominator reads a table (``ctx_counts[ctx]``, ``totals.get(ctx, 0)``, ``row.sum()``)."""
        return any(
            isinstance(n, cst.Subscript)
            or (isinstance(n, cst.Call) and callee_name(n.func) in ("get", *_VOCAB_SUMS))
            for n in self._reached(expr, at, keys=False)
        )

    def _vocab_sum(self, expr: cst.BaseExpression, at: Assignment) -> bool:
        """The denominator sums a whole row (``row.sum()``, ``p.sum(-1, keepdim=True)``)."""
        return any(
            isinstance(n, cst.Call) and callee_name(n.func) in _VOCAB_SUMS
            for n in self._reached(expr, at, keys=False)
        )


def _blends(facts: Facts) -> list[Blend]:
    out: list[Blend] = []
    for fn in facts.ordered_functions():
        if not fn.lookups:
            continue
        labels = {lk.label for lk in fn.lookups}
        reader: _Reader | None = None
        for acc in fn.accumulations:
            if (
                not facts.is_score(acc)
                or not labels & acc.labels
                or not facts.carries_val(acc.labels, fn.qualname)
            ):
                continue
            reader = reader or _Reader(facts, fn)
            for added in reader.code.accumulated(acc.where.line, acc.target):
                for argument, at in reader.logged(added):
                    found = reader.term(argument, at)
                    if found.blend_line:
                        out.append(
                            Blend(
                                fn,
                                acc,
                                found.blend_line,
                                found.blend_kind,
                                found.term_line,
                                found.reads,
                            )
                        )
    return out


class Blends:
    """Every target-only blend whose ``-log`` reaches a score on validation data:
    ``facts.analysis(Blends).found``."""

    def __init__(self, facts: Facts) -> None:
        self.found = _blends(facts)
