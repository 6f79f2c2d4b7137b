"""What a reported score is built from: choices among predictions and second passes.

Shared by the rescoring-pass and oracle-selection rules. Built on the facts events and on
the training analysis, without walking the module again:

- a *pass* is a scoring step on validation data: a score accumulation the training analysis
  counts as a score (no-grad, eval mode) or a call to one of the script's scoring functions;
- an *adaptation* is state built from validation data: a score-first training step, a count
  table filled from the tokens, or a call to a function that adapts one of its arguments (it
  trains with an optimizer built over ``arg.parameters()``, or fills ``arg``'s tables);
- a *choice* is a :class:`~pgolf_cli.audit.choices.Selection`: its candidates either predict the
  scored token (computed from the targets: an oracle choice when it reaches the score) or are the
  results of whole scoring passes (a rescoring).

The rescoring search then looks, in each function, for a pass that comes after an adaptation of the state it
uses (in program order, or in the next iteration of a loop that repeats over the same tokens),
for a pass fed a value fitted on an earlier pass, and for the better of several passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

import libcst as cst

from pgolf_cli.audit.analyses.training import TrainingAnalysis, Verdict
from pgolf_cli.audit.choices import Selection
from pgolf_cli.audit.facts import (
    EMPTY,
    CallSite,
    Context,
    Facts,
    Function,
    Gate,
    Labels,
    code_of,
    grad_labels,
    names_read,
)
from pgolf_cli.audit.findings import Confidence, Evidence, Reachability, Switch
from pgolf_cli.audit.nodes import HOLDS_STATEMENTS, children

_PARAMETER_VIEWS = frozenset({"parameters", "named_parameters"})


@dataclass(frozen=True, slots=True)
class Pass:
    """One scoring step on validation data."""

    where: Context
    call: CallSite | None
    """The call to a scoring function; None for a score accumulated in place."""


@dataclass(frozen=True, slots=True)
class Adaptation:
    """State built from validation data."""

    where: Context
    objects: frozenset[str]
    """Local names of what is adapted (``model``, ``cache``); empty when it cannot be named."""
    scores: bool
    """It is itself a pass over the data it adapts on (a score-first TTT call)."""
    what: str


@dataclass(frozen=True, slots=True)
class Rescoring:
    """A reported score that depends on a second look at the same validation tokens (a rescoring)."""

    function: Function
    line: int
    kind: str
    """"better-of", "epochs", "second-pass" or "fitted"."""
    detail: str
    gate: Gate
    evidence: tuple[Evidence, ...]
    confidence: Confidence | None = None


@dataclass(frozen=True, slots=True)
class OracleChoice:
    """A choice among predictions by their loss on the scored token that reaches the score (an oracle choice)."""

    function: Function
    selection: Selection
    reaches: str
    """"score" (added to a score accumulator) or "return" (it is what the function returns)."""
    gate: Gate
    evidence: tuple[Evidence, ...]
    confidence: Confidence | None = None


def _labels_of(call: CallSite) -> Labels:
    return EMPTY.union(*call.args, *(labels for _, labels in call.kwargs))


def _passed_names(call: CallSite) -> set[str]:
    names = {n for n in call.arg_names if n} | {n for _, n in call.kwarg_names if n}
    if call.receiver_name:
        names.add(call.receiver_name)
    return names


def _parameter_owners(node: cst.CSTNode) -> set[str]:
    """``model`` in ``SGD(model.parameters())`` or ``[p for p in model.blocks.parameters()]``."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if (
            isinstance(current, cst.Call)
            and isinstance(current.func, cst.Attribute)
            and current.func.attr.value in _PARAMETER_VIEWS
        ):
            owner: cst.BaseExpression = current.func.value
            while isinstance(owner, cst.Attribute | cst.Subscript):
                owner = owner.value
            if isinstance(owner, cst.Name):
                out.add(owner.value)
        stack.extend(children(current))
    return out


_SCOPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})


@dataclass(frozen=True, slots=True)
class _ListFills:
    """How the lists of one function body are filled with parameters, read in one walk: an
    optimizer over a list (``AdamW(params)``) asks which modules the list holds, and a body with
    several optimizers over lists asks once per optimizer."""

    assigned: dict[str, list[cst.BaseExpression]]
    """The values assigned to each plain name (``params = [p for p in model.parameters()]``)."""
    loops: list[tuple[set[str], set[str]]]
    """Per loop over parameters, their owners and the lists its body appends to or extends."""
    items_of: dict[str, str]
    """``block`` -> ``model`` for ``for block in model.blocks[-2:]``: a part of the model."""

    @staticmethod
    def of(body: cst.CSTNode) -> _ListFills:
        assigned: dict[str, list[cst.BaseExpression]] = {}
        loops: list[tuple[set[str], set[str]]] = []
        items_of: dict[str, str] = {}
        stack: list[cst.CSTNode] = [body]
        # Exact types, not isinstance (an ABC check on libcst nodes): this visits every
        # statement. Only statements are opened: a loop or an assignment is never inside an
        # expression.
        while stack:
            current = stack.pop()
            if type(current) is cst.For:
                owners = _parameter_owners(current.iter)
                if owners:
                    filled = {
                        call.func.value.value
                        for call in _calls(current.body)
                        if isinstance(call.func, cst.Attribute)
                        and call.func.attr.value in ("append", "extend")
                        and isinstance(call.func.value, cst.Name)
                    }
                    loops.append((owners, filled))
                root = current.iter
                while isinstance(root, cst.Attribute | cst.Subscript):
                    root = root.value
                if isinstance(current.target, cst.Name) and isinstance(root, cst.Name):
                    items_of[current.target.value] = root.value
            elif type(current) is cst.Assign:
                for t in current.targets:
                    if isinstance(t.target, cst.Name):
                        assigned.setdefault(t.target.value, []).append(current.value)
            if type(current) in HOLDS_STATEMENTS and (
                type(current) not in _SCOPES or current is body
            ):
                stack.extend(children(current))
        return _ListFills(assigned, loops, items_of)

    def filled_from_parameters(self, name: str) -> set[str]:
        """The modules whose parameters are put into the list ``name``:
        ``params = [p for p in model.parameters()]``, or ``params.append(p)`` inside
        ``for p in model.blocks[i].parameters():`` (unfreezing some blocks for TTT)."""
        out: set[str] = set()
        for value in self.assigned.get(name, ()):
            out |= _parameter_owners(value)
        for owners, filled in self.loops:
            if name in filled:
                out |= owners
        resolved: set[str] = set()
        for owner in out:
            seen = {owner}
            while owner in self.items_of and self.items_of[owner] not in seen:
                owner = self.items_of[owner]
                seen.add(owner)
            resolved.add(owner)
        return resolved


def _calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if type(current) is cst.Call:  # exact (no subclass): isinstance is an ABC check
            yield current
        stack.extend(children(current))


def _is_optimizer(name: str) -> bool:
    """The construction of a torch optimizer; ``torch.optim.Adam().zero_grad`` (a method of the
    instance, named through the class that built it) constructs nothing."""
    return (
        name.startswith("torch.optim.")
        and "()." not in name
        and ".lr_scheduler" not in name
        and ".swa_" not in name
    )


class ScoringAnalysis:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.training = facts.analysis(TrainingAnalysis)
        self._param_predicts: dict[tuple[str, int], bool] = {}
        self._scored_seqs: dict[str, set[int]] = {}
        self._optimised_in: dict[str, tuple[set[int], set[str]]] = {}
        self._tests: dict[cst.BaseExpression, tuple[str, bool]] = {}
        self._fills: dict[int, tuple[cst.CSTNode, _ListFills]] = {}

    # -- summaries -----------------------------------------------------------------------
    def predicts_target(self, labels: Iterable[str]) -> bool:
        return self.training.predicts_target(labels)

    @cached_property
    def _call_sites(self) -> dict[str, list[tuple[Function, CallSite]]]:
        """Who calls each function, and how."""
        out: dict[str, list[tuple[Function, CallSite]]] = {}
        for fn in self.facts.functions.values():
            for call in fn.calls:
                if not call.reference:
                    out.setdefault(call.callee, []).append((fn, call))
        return out

    def _predicts(
        self, fn: Function, labels: Labels, visiting: frozenset[tuple[str, int]] = frozenset()
    ) -> bool:
        """Computed from the scored token here, or through a parameter that receives such a value
        at some call site (asked on demand: only the few choices need it)."""
        if self.predicts_target(labels):
            return True
        for lbl in labels:
            index = fn.param_index(lbl)
            if index is None:
                continue
            key = (fn.qualname, index)
            known = self._param_predicts.get(key)
            if known is None and key not in visiting:
                known = any(
                    self._predicts(caller, self._argument(call, index), visiting | {key})
                    for caller, call in self._call_sites.get(fn.qualname, ())
                )
                self._param_predicts[key] = known
            if known:
                return True
        return False

    def _val(self, fn: Function, labels: Labels) -> bool:
        return self.facts.carries_val(labels, fn.qualname)

    def _val_param(self, fn: Function, index: int) -> bool:
        return self._val(fn, frozenset({f"P{index}"}))

    @cached_property
    def trains_val(self) -> set[str]:
        """Functions that run a backward pass on validation data, themselves or through a call."""
        out = {
            q
            for q, fn in self.facts.functions.items()
            if any(self._val(fn, b.labels) for b in fn.backwards)
        }
        work = list(out)
        while work:
            for caller, call in self._call_sites.get(work.pop(), ()):
                if caller.qualname not in out and self._val(caller, _labels_of(call)):
                    out.add(caller.qualname)
                    work.append(caller.qualname)
        return out

    def _optimised(self, fn: Function) -> tuple[set[int], set[str]]:
        """Parameters and local names whose weights an optimizer built in ``fn`` updates.

        ``SGD(model.parameters())`` names ``model``; an optimizer over a list built elsewhere is
        followed by what the list carries, unless it holds fresh trainable tensors
        (``AdamW([delta])``: a per-window SLOT delta adapts nothing that outlives the call).
        Asked for every function by both :attr:`adapts` and :meth:`adaptations`: computed once.
        """
        found = self._optimised_in.get(fn.qualname)
        if found is None:
            found = self._optimised_in[fn.qualname] = self._find_optimised(fn)
        return found

    def _list_fills(self, body: cst.CSTNode) -> _ListFills:
        """:meth:`_ListFills.of`, once per body (the entry holds the body: its id stays unique)."""
        found = self._fills.get(id(body))
        if found is None:
            found = self._fills[id(body)] = (body, _ListFills.of(body))
        return found[1]

    def _find_optimised(self, fn: Function) -> tuple[set[int], set[str]]:
        indices: set[int] = set()
        names: set[str] = set()
        for external in fn.externals:
            if not _is_optimizer(external.name):
                continue
            owners = _parameter_owners(external.node)
            first = external.node.args[0].value if external.node.args else None
            if not owners and isinstance(first, cst.Name) and fn.node is not None:
                owners = self._list_fills(fn.node.body).filled_from_parameters(first.value)
            if owners:  # the aliases scan the whole body: only for names to resolve
                aliases = self.facts.parameter_aliases(fn)
                owners = {aliases.get(n, n) for n in owners}
            names |= owners
            if owners:
                carried = frozenset(f"P{fn.params.index(n)}" for n in owners if n in fn.params)
            elif grad_labels(external.labels):
                continue
            else:
                carried = external.labels
            for lbl in carried:
                index = fn.param_index(lbl)
                if index is not None and not self._val_param(fn, index):
                    indices.add(index)
        return indices, names

    def _has_optimizer(self, fn: Function) -> bool:
        return any(_is_optimizer(e.name) for e in fn.externals)

    @cached_property
    def _not_score_first(self) -> set[tuple[str, int]]:
        """Training events the training analysis judged illegal (never scored first, or scored in the wrong order)."""
        return {
            (v.function.qualname, v.event.where.seq)
            for v in self.training_verdicts
            if v.kind != "score-first"
        }

    @cached_property
    def adapts(self) -> dict[str, set[int]]:
        """Per function, the parameters it adapts from validation data (weights or tables)."""
        out: dict[str, set[int]] = {}
        for q, fn in self.facts.functions.items():
            found = set(self._optimised(fn)[0]) if q in self.trains_val else set()
            for update in fn.updates:
                if self._val(fn, update.labels):
                    found |= self._owners(fn, update.owner)
            out[q] = found
        work = [q for q, found in out.items() if found]
        while work:
            q = work.pop()
            for caller, call in self._call_sites.get(q, ()):
                if not self._val(caller, _labels_of(call)):
                    continue
                more: set[int] = set()
                for index in out[q]:
                    more |= self._owners(caller, self._argument(call, index))
                more -= out[caller.qualname]
                if more:
                    out[caller.qualname] |= more
                    work.append(caller.qualname)
        return out

    def _owners(self, fn: Function, labels: Labels) -> set[int]:
        return {
            i
            for i in (fn.param_index(lbl) for lbl in labels)
            if i is not None and not self._val_param(fn, i)
        }

    def _argument(self, call: CallSite, index: int) -> Labels:
        if index < len(call.args):
            return call.args[index]
        params = self.facts.functions[call.callee].params
        name = params[index] if index < len(params) else None
        return next((labels for key, labels in call.kwargs if key == name), EMPTY)

    def _argument_name(self, call: CallSite, index: int) -> str | None:
        if index < len(call.arg_names) and call.arg_names[index]:
            return call.arg_names[index]
        if index == 0 and call.receiver_name:
            return call.receiver_name
        params = self.facts.functions[call.callee].params
        name = params[index] if index < len(params) else None
        return next((passed for key, passed in call.kwarg_names if key == name), None)

    @cached_property
    def training_verdicts(self) -> list[Verdict]:
        return self.training.verdicts()

    @cached_property
    def score_first(self) -> set[tuple[str, int]]:
        """Training events on validation data that the training analysis found scored first."""
        return {
            (v.function.qualname, v.event.where.seq)
            for v in self.training_verdicts
            if v.kind == "score-first"
        }

    @cached_property
    def pure_scorers(self) -> set[str]:
        """Scoring functions that change nothing: their result is only a number about a pass."""
        return {
            q
            for q in self.training.scorers
            if q not in self.trains_val
            and not self.adapts[q]
            and not any(
                self._val(self.facts.functions[q], u.labels)
                for u in self.facts.functions[q].updates
            )
        }

    # -- events of one function ----------------------------------------------------------
    def passes(self, fn: Function) -> list[Pass]:
        scored = self._scored(fn)
        found = [
            Pass(a.where, None)
            for a in fn.accumulations
            if a.where.seq in scored and self.facts.is_score(a) and self._val(fn, a.labels)
        ]
        found += [
            Pass(c.where, c)
            for c in fn.calls
            if not c.reference
            and c.callee in self.training.scorers
            and self._val(fn, _labels_of(c))
        ]
        return sorted(found, key=lambda p: p.where.seq)

    def adaptations(self, fn: Function) -> list[Adaptation]:
        q = fn.qualname
        optimised = frozenset(self._optimised(fn)[1])
        found: list[Adaptation] = [
            Adaptation(b.where, optimised, True, "a score-first update on validation tokens")
            for b in fn.backwards
            if self._val(fn, b.labels) and (q, b.where.seq) in self.score_first
        ]
        found += [
            Adaptation(
                u.where, frozenset({u.table}), False, f"`{u.table}` filled from validation tokens"
            )
            for u in fn.updates
            if self._val(fn, u.labels)
        ]
        for call in fn.calls:
            if call.reference:
                continue
            adapted = self.adapts[call.callee]
            trains = call.callee in self.trains_val
            # Most callees adapt nothing: that test is a look-up, the validation test is not.
            if (not adapted and not trains) or not self._val(fn, _labels_of(call)):
                continue
            scores = call.callee in self.training.scorers
            if (q, call.where.seq) in self._not_score_first or (
                trains and not scores and (q, call.where.seq) not in self.score_first
            ):
                continue  # training that was not scored first is the training analysis's to describe
            objects = {
                name
                for i in adapted
                if not self._val(fn, self._argument(call, i))
                and (name := self._argument_name(call, i)) is not None
            }
            if trains and not self._has_optimizer(self.facts.functions[call.callee]):
                objects |= optimised  # a trainer stepping an optimizer built here
            if not objects:
                continue  # it adapts only what it creates (a per-document adapter, a delta)
            callee = self.facts.functions[call.callee].name
            found.append(
                Adaptation(
                    call.where,
                    frozenset(objects),
                    scores,
                    f"{callee}() adapts {', '.join(sorted(objects)) or 'its state'} on validation tokens",
                )
            )
        return sorted(found, key=lambda a: a.where.seq)

    # -- oracle choices ------------------------------------------------------------------
    def _is_choice_among_predictions(self, fn: Function, selection: Selection) -> bool:
        # Losses on other tokens (a temperature or checkpoint picked by its loss on training
        # batches) choose without seeing any token that is scored.
        if not self._on_val(fn, EMPTY.union(*selection.candidates)):
            return False
        predicting = [c for c in selection.candidates if self._predicts(fn, c)]
        return len(predicting) >= 2 or (selection.running and len(predicting) == 1)

    def _on_val(self, fn: Function, labels: Labels) -> bool:
        """Computed from validation tokens at this place: a call to a function that takes its
        validation data through parameters counts only where this function passes it some."""
        plain = frozenset(lbl for lbl in labels if not lbl.startswith("C"))
        if self._val(fn, plain):
            return True
        for lbl in labels - plain:
            callee = lbl[1:]
            if not self.facts.has_val({lbl}):
                continue
            if not self.facts.val_params.get(callee) or any(
                c.callee == callee and not c.reference and self._val(fn, _labels_of(c))
                for c in fn.calls
            ):
                return True
        return False

    def _scored_with(self, fn: Function, selection: Selection) -> list[Context]:
        """Where the chosen value is added to a score accumulator of ``fn``."""
        found: list[Context] = []
        for acc in fn.accumulations:
            if not self.facts.is_score(acc):
                continue
            if selection.label in acc.labels or any(
                selection.label in fn.selection_tests.get(id(g.test), EMPTY)
                for g in acc.where.guards
            ):
                found.append(acc.where)
        return found

    def _scored_by_callers(self, fn: Function) -> list[tuple[Function, Context]]:
        label = f"C{fn.qualname}"
        return [
            (caller, acc.where)
            for caller in self.facts.ordered_functions()
            for acc in caller.accumulations
            if self.facts.is_score(acc) and label in acc.labels and self._val(caller, acc.labels)
        ]

    def _is_pass_result(self, fn: Function, labels: Labels, name: str | None) -> bool:
        if any(lbl.startswith("C") and lbl[1:] in self.training.scorers for lbl in labels):
            return True
        if name is None:
            return False
        scored = self._scored(fn)
        return any(a.target == name and a.where.seq in scored for a in fn.accumulations)

    def _scored(self, fn: Function) -> set[int]:
        """Where ``fn`` records scores (program-order positions)."""
        found = self._scored_seqs.get(fn.qualname)
        if found is None:
            found = self._scored_seqs[fn.qualname] = {s.where.seq for s in self.training.scores(fn)}
        return found

    def _over_passes(self, fn: Function, selection: Selection) -> list[Labels]:
        return [
            labels
            for labels, name in zip(selection.candidates, selection.names, strict=True)
            if self._is_pass_result(fn, labels, name)
        ]

    @cached_property
    def oracle_choices(self) -> list[OracleChoice]:
        out: list[OracleChoice] = []
        for fn in self.facts.ordered_functions():
            for selection in fn.selections:
                if not self._is_choice_among_predictions(fn, selection):
                    continue
                found = self._oracle(fn, selection)
                # The shift test walks the whole function: asked only of a choice that counts.
                if found is not None and not _is_stabilising_shift(self.facts, fn, selection):
                    out.append(found)
        return out

    def _oracle(self, fn: Function, selection: Selection) -> OracleChoice | None:
        facts = self.facts
        chosen = EMPTY.union(*selection.candidates)
        evidence = (
            [facts.evidence(fn.val_lines[0], "validation data enters here")] if fn.val_lines else []
        )
        evidence.append(
            facts.evidence(
                selection.where.line, "the better prediction is chosen by its loss on the target"
            )
        )
        for where in self._scored_with(fn, selection):
            if not self._val(fn, chosen) and not any(
                self._val(fn, a.labels) for a in fn.accumulations if a.where is where
            ):
                continue
            evidence.append(facts.evidence(where.line, "the chosen loss is added to the score"))
            return OracleChoice(
                fn,
                selection,
                "score",
                facts.combine(facts.gate(fn, selection.where), where.guards),
                tuple(_unique(evidence)),
            )
        if selection.label not in fn.returns:
            return None
        callers = self._scored_by_callers(fn)
        if callers:
            caller, where = callers[0]
            evidence.append(
                facts.evidence(where.line, f"{caller.name}() adds the returned choice to the score")
            )
            return OracleChoice(
                fn, selection, "score", facts.gate(fn, selection.where), tuple(_unique(evidence))
            )
        if len(self._over_passes(fn, selection)) >= 2 or not self._val(fn, chosen):
            return None  # the better of whole passes is a rescoring
        return OracleChoice(
            fn,
            selection,
            "return",
            facts.gate(fn, selection.where),
            tuple(_unique(evidence)),
            Confidence.MEDIUM,
        )

    # -- rescorings ----------------------------------------------------------------------
    @cached_property
    def rescorings(self) -> list[Rescoring]:
        out: list[Rescoring] = []
        seen: set[int] = set()
        oracle = {(c.function.qualname, c.selection.label) for c in self.oracle_choices}
        for fn in self.facts.ordered_functions():
            if not self.facts.gates[fn.qualname].reachable:
                continue
            # At one line, state built from the tokens (a filled cache, adapted weights) is the
            # more specific account than the first pass's results fed to the second.
            found = [
                *self._better_of(fn, oracle),
                *self._after_adaptation(fn),
                *self._fitted(fn),
            ]
            for item in found:
                if item.line not in seen:
                    seen.add(item.line)
                    out.append(item)
        return out

    def _better_of(self, fn: Function, oracle: set[tuple[str, str]]) -> Iterator[Rescoring]:
        for selection in fn.selections:
            if (
                selection.running
                or selection.kind == "index"  # which setting won: a calibration, or "fitted" below
                or (fn.qualname, selection.label) in oracle
            ):
                continue
            results = self._over_passes(fn, selection)
            if len(results) < 2 or not self._val(fn, EMPTY.union(*results)):
                continue
            yield Rescoring(
                fn,
                selection.where.line,
                "better-of",
                f"{len(results)} passes",
                self.facts.gate(fn, selection.where),
                self._evidence(fn, (selection.where.line, "the better of the passes is kept")),
            )

    def _fitted(self, fn: Function) -> Iterator[Rescoring]:
        """A pass fed a value computed from an earlier pass's score (a temperature, a best setting)."""
        earlier: dict[str, Context] = {}
        for call in fn.calls:
            if (
                not call.reference
                and call.callee in self.pure_scorers
                and self._val(fn, _labels_of(call))
            ):
                earlier.setdefault(f"C{call.callee}", call.where)
        chosen = {
            s.label: s.where
            for s in fn.selections
            if self._val(fn, EMPTY.union(*self._over_passes(fn, s)))
        }
        if not earlier and not chosen:
            return
        for second in self.passes(fn):
            if second.call is None:
                continue
            labels = _labels_of(second.call)
            source = next(
                (
                    where
                    for lbl in labels
                    for where in (earlier.get(lbl), chosen.get(lbl))
                    if where is not None
                    and where.seq < second.where.seq
                    and not self._exclusive(where, second.where)
                ),
                None,
            )
            if source is None:
                continue
            yield Rescoring(
                fn,
                second.where.line,
                "fitted",
                "",
                self.facts.combine(self.facts.gate(fn, second.where), source.guards),
                self._evidence(
                    fn,
                    (source.line, "a first pass over the validation tokens"),
                    (second.where.line, "the same tokens scored again with what it fitted"),
                    *self._pass_function(second, "the second pass"),
                ),
            )

    def _after_adaptation(self, fn: Function) -> Iterator[Rescoring]:
        adaptations = self.adaptations(fn)
        if not adaptations:
            return
        passes = self.passes(fn)
        done: set[int] = set()
        for second in passes:
            unit = second.where.loops[0] if second.where.loops else -second.where.seq
            if unit in done:
                continue
            for adaptation in adaptations:
                found = self._rescored(fn, second, adaptation, passes)
                if found is not None:
                    done.add(unit)
                    yield found
                    break

    def _rescored(
        self, fn: Function, second: Pass, adaptation: Adaptation, passes: list[Pass]
    ) -> Rescoring | None:
        facts = self.facts
        if self._exclusive(adaptation.where, second.where):
            return None  # `if TTT: ttt(...) else: plain(...)`: never both
        objects_known = bool(adaptation.objects)
        if (
            second.call is not None
            and objects_known
            and not adaptation.objects & _passed_names(second.call)
        ):
            return None  # another object was adapted (a copy of the model, a separate cache)
        shared = [lp for lp in adaptation.where.loops if lp in second.where.loops]
        gate = facts.combine(facts.gate(fn, second.where), adaptation.where.guards)
        if shared:
            repeat = next(
                (r for r in (self._repeats(fn, lp, second, adaptation) for lp in shared) if r),
                None,
            )
            if repeat is None:
                return None
            loop_line, switches = repeat
            if switches and gate.reachable:
                gate = Gate(
                    Reachability.OFF_BY_DEFAULT,
                    tuple(dict.fromkeys((*gate.switches, *switches))),
                )
            kind, detail, first_line = "epochs", facts.code_line(loop_line).strip(), loop_line
        else:
            if adaptation.where.seq >= second.where.seq:
                return None
            first = next((p for p in passes if p.where.seq <= adaptation.where.seq), None)
            if not adaptation.scores and first is None:
                return None
            kind, detail = "second-pass", adaptation.what
            first_line = (first.where if first is not None else adaptation.where).line
        return Rescoring(
            fn,
            second.where.line,
            kind,
            detail,
            gate,
            self._evidence(
                fn,
                (
                    first_line,
                    "the validation tokens are scored"
                    if kind != "epochs"
                    else "the loop that repeats the pass",
                ),
                *self._pass_function(first if kind != "epochs" else None, "the first pass"),
                (adaptation.where.line, adaptation.what),
                (second.where.line, "the same tokens are scored again"),
                *self._pass_function(second, "the second pass"),
            ),
            None if second.call is None or objects_known else Confidence.MEDIUM,
        )

    def _repeats(
        self, fn: Function, loop_id: int, second: Pass, adaptation: Adaptation
    ) -> tuple[int, tuple[Switch, ...]] | None:
        """A ``for _ in range(n)`` loop around both that does not walk the data: every iteration
        scores the same tokens again. Returns its line and, when n defaults to 1, the switches
        that raise it (a dormant path)."""
        loop = fn.loops[loop_id]
        node = loop.iter_node
        if not (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value == "range"
            and node.args
        ) or self._val(fn, loop.iter_labels):
            return None
        if _indexes_with(loop.body, loop.targets):
            return None  # `for i in range(seq_len)` walks positions: each iteration new tokens
        # `if epoch == epochs - 1: score` scores once per token: the training analysis judges that order.
        counters = self.training.counters(fn, loop_id)
        for guard in second.where.guards:
            if guard not in adaptation.where.guards and names_read(guard.test) & counters:
                return None
        args = [a.value for a in node.args]
        stop = args[0] if len(args) == 1 else args[1]
        start = 0 if len(args) == 1 else self.facts.evaluator.evaluate(args[0], loop.line)[0]
        value, reads = self.facts.evaluator.evaluate(stop, loop.line)
        if isinstance(value, int) and isinstance(start, int) and value - start <= 1:
            if not reads:
                return None  # a single pass, whatever the name of the loop
            return loop.line, tuple(Switch(r.env, r.default, r.line) for r in reads)
        return loop.line, ()

    def _pass_function(self, scored: Pass | None, which: str) -> list[tuple[int, str]]:
        """Where the script defines the function a pass calls: the code that does the scoring
        is there, not at the call."""
        if scored is None or scored.call is None:
            return []
        callee = self.facts.functions[scored.call.callee]
        return [(callee.line, f"{which}: {callee.name}() scores the tokens")]

    def _exclusive(self, a: Context, b: Context) -> bool:
        """Two places in opposite branches of one ``if`` (or conditional expression), or under
        tests that contradict each other (``if args.ttt: ...`` and a later ``if not args.ttt: ...``)."""
        if not a.guards or not b.guards:
            return False
        required = {self._polarity(ga.test, ga.negated) for ga in a.guards}
        return any(
            (code, not must) in required
            for code, must in (self._polarity(gb.test, gb.negated) for gb in b.guards)
        )

    def _polarity(self, test: cst.BaseExpression, negated: bool) -> tuple[str, bool]:
        """A test as (the code it checks, whether it must be true): ``not x`` is ``x`` negated.

        The code of each test is printed once: the same guards are compared for every pair
        of passes and adaptations."""
        known = self._tests.get(test)
        if known is None:
            inner, flipped = test, False
            while isinstance(inner, cst.UnaryOperation) and isinstance(inner.operator, cst.Not):
                inner, flipped = inner.expression, not flipped
            known = self._tests[test] = (code_of(inner), flipped)
        code, flipped = known
        return code, negated == flipped

    def _evidence(self, fn: Function, *items: tuple[int, str]) -> tuple[Evidence, ...]:
        found = (
            [self.facts.evidence(fn.val_lines[0], "validation data enters here")]
            if fn.val_lines
            else []
        )
        found += [self.facts.evidence(line, label) for line, label in items]
        return tuple(_unique(found))


def _indexes_with(body: cst.CSTNode | None, targets: frozenset[str]) -> bool:
    """Whether the loop variable (or a name computed from it) selects data in the body:
    ``toks[s + i]``, ``j = s + i + 1; toks[j]``. An epoch counter only repeats the same work."""
    if body is None or not targets:
        return False
    derived = set(targets)
    subscripts: list[cst.Subscript] = []
    stack: list[cst.CSTNode] = [body]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Assign) and names_read(current.value) & derived:
            for target in current.targets:
                derived |= names_read(target.target)
        elif isinstance(current, cst.Subscript):
            subscripts.append(current)
        stack.extend(reversed(current.children))
    return any(names_read(element.slice) & derived for s in subscripts for element in s.slice)


def _is_stabilising_shift(facts: Facts, fn: Function, selection: Selection) -> bool:
    """``top = torch.maximum(la, lb)`` used only as the shift of a log-sum-exp,
    ``top + log(w * exp(la - top) + (1 - w) * exp(lb - top))``: the shift cancels, the score is
    a fixed mixture of both predictions and nothing was chosen (no oracle choice). Any other use of
    ``top`` (added to the score on its own) keeps it a choice."""
    candidates = {name for name in selection.names if name}
    if len(candidates) < 2 or fn.node is None:
        return False
    additions: list[cst.BinaryOperation] = []
    shifts: set[str] = set()
    uses: dict[str, int] = {}
    stack: list[cst.CSTNode] = [fn.node.body]
    while stack:
        node = stack.pop()
        # Exact types: libcst's isinstance is an ABC check, and this asks it of every node.
        if type(node) is cst.Assign and facts.line_of(node) == selection.where.line:
            shifts |= {t.target.value for t in node.targets if isinstance(t.target, cst.Name)}
            stack.append(node.value)  # the target itself is not a use
            continue
        if type(node) is cst.Name:
            uses[node.value] = uses.get(node.value, 0) + 1
        elif type(node) is cst.BinaryOperation and type(node.operator) is cst.Add:
            additions.append(node)
        stack.extend(children(node))
    as_shift: dict[str, int] = {}
    for addition in additions:
        for shift, rest in ((addition.left, addition.right), (addition.right, addition.left)):
            if (
                isinstance(shift, cst.Name)
                and shift.value in shifts
                and len(_shifted_exponents(rest, shift.value) & candidates) >= 2
            ):
                inside = _count_name(addition, shift.value)
                as_shift[shift.value] = as_shift.get(shift.value, 0) + inside
    return any(count == uses.get(name) for name, count in as_shift.items())


def _count_name(node: cst.CSTNode, name: str) -> int:
    count = 0
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        count += isinstance(current, cst.Name) and current.value == name
        stack.extend(children(current))
    return count


def _shifted_exponents(node: cst.CSTNode, shift: str) -> set[str]:
    """The names ``x`` of every ``exp(x - shift)`` (or ``(x - shift).exp()``) in ``node``."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call):
            func = current.func
            name = func.attr.value if isinstance(func, cst.Attribute) else None
            if isinstance(func, cst.Name):
                name = func.value
            operand: cst.BaseExpression | None = None
            if name == "exp" and isinstance(func, cst.Attribute) and not current.args:
                operand = func.value  # (x - shift).exp()
            elif name == "exp" and current.args:
                operand = current.args[0].value
            if (
                isinstance(operand, cst.BinaryOperation)
                and isinstance(operand.operator, cst.Subtract)
                and isinstance(operand.right, cst.Name)
                and operand.right.value == shift
            ):
                out |= names_read(operand.left)
        stack.extend(children(current))
    return out


def _unique(items: Iterable[Evidence]) -> Iterator[Evidence]:
    seen: set[int] = set()
    for item in items:
        if item.line not in seen:
            seen.add(item.line)
            yield item
