"""Validation data used for something other than scoring: warm-up, training, calibration.

Built on the facts pre-pass and the training analysis; it describes, the rules in ``checks/``
decide.

**What kind of pass an update on validation tokens belongs to.** The training analysis finds
every training step on validation data and says whether its tokens were scored first. Here each
such update gets exactly one :class:`Pass`, decided in this order:

- *inside a training loop* (``TRAINING``): its batch mixes training and validation tokens, or,
  for an update nothing scored first, the loop around it also trains on other data, or the score
  that orders it is the periodic validation (``step % every == 0``) of a training loop;
- otherwise a mis-ordered score/update pair is ``MISORDERED``, a score-first one ``HARMLESS``;
- *restored* (``HARMLESS``): a copy of the state is saved before the pass and loaded back
  after it, and nothing scores, saves or copies the model in between;
- *warm-up* (``WARM_UP``): a pass that does not walk over the validation data (it repeats one
  fixed batch, or takes a single step) and keeps its result;
- *before training* (``TRAINING``): a pass over validation data followed by training on other
  data;
- otherwise post-training fine-tuning (``FINE_TUNING``).

**Calibration on validation tokens**: the model run on validation tokens while forward
hooks that store what they see are installed; a Gram matrix (``H += X.T @ X``) or a magnitude
statistic accumulated from the model's results on validation tokens; a candidate (a clip, a
scale) chosen by comparing results computed on validation tokens.

Everything reads the facts' events, plus one cheap pass over the statements of each function an
update or a calibration may sit in (cached per function); expressions are walked only where a
statement is judged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import cast

import libcst as cst

from pgolf_cli.audit.analyses.scoring import _is_optimizer, _parameter_owners
from pgolf_cli.audit.analyses.training import TrainEvent, TrainingAnalysis, Verdict
from pgolf_cli.audit.context import Context
from pgolf_cli.audit.facts import (
    TRAIN,
    UNREACHABLE,
    CallSite,
    Facts,
    Function,
    Gate,
    Labels,
    callee_name,
    code_of,
    is_accumulator,
    mentions_val,
    more_enabled,
    names_read,
)
from pgolf_cli.audit.findings import Evidence
from pgolf_cli.audit.flow import Flow, Guard
from pgolf_cli.audit.nodes import HOLDS_STATEMENTS, children


class Pass(StrEnum):
    """The kind of pass an update on validation tokens belongs to (``checks/`` maps each to the
    rule that reports it)."""

    FINE_TUNING = "fine-tuning"
    """Adaptation after training on validation tokens nothing scored first."""
    MISORDERED = "misordered"
    """Scored and updated, in an order that lets the update see what it scores."""
    WARM_UP = "warm-up"
    """Repeats one batch or takes one step, and keeps the result."""
    TRAINING = "training"
    """Part of the training run (inside its loop, or before it)."""
    HARMLESS = "harmless"
    """Scored first, or undone by loading the saved state back."""


_ORDER_KINDS = frozenset({"reversed", "last-epoch", "one-past"})
_INSIDE_TRAINING = frozenset({"mixed", "interleaved", "periodic"})

# Tensor methods: calling one on validation tokens inside a loop moves, reshapes, measures or
# differentiates data the loop already has; it takes no new tokens (a loader's `next_batch` does).
_TENSOR_METHODS = frozenset(
    {
        "to",
        "cuda",
        "cpu",
        "long",
        "int",
        "float",
        "half",
        "bfloat16",
        "double",
        "bool",
        "type",
        "view",
        "reshape",
        "contiguous",
        "clone",
        "detach",
        "unsqueeze",
        "squeeze",
        "flatten",
        "expand",
        "repeat",
        "t",
        "transpose",
        "permute",
        "narrow",
        "index_select",
        "gather",
        "split",
        "chunk",
        "unfold",
        "numel",
        "size",
        "dim",
        "item",
        "tolist",
        "numpy",
        "pin_memory",
        "sum",
        "mean",
        "max",
        "min",
        "amax",
        "argmax",
        "softmax",
        "log_softmax",
        "exp",
        "log",
        "abs",
        "pow",
        "square",
        "sqrt",
        "mul",
        "add",
        "sub",
        "div",
        "masked_fill",
        "float_",
        "backward",
        "requires_grad_",
        "zero_",
        "fill_",
        "copy_",
        "roll",
    }
)
_BUILTINS = frozenset(
    {
        "range",
        "len",
        "print",
        "min",
        "max",
        "int",
        "float",
        "str",
        "bool",
        "enumerate",
        "zip",
        "list",
        "tuple",
        "dict",
        "set",
        "sorted",
        "sum",
        "abs",
        "iter",
        "next",
        "isinstance",
        "getattr",
        "round",
        "hash",
        "any",
        "all",
        "map",
        "filter",
        "reversed",
        "divmod",
        "pow",
        "repr",
        "ord",
        "chr",
        "hasattr",
        "setattr",
        "type",
        "id",
    }
)
_HOOK_REGISTRARS = frozenset(
    {
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_module_forward_hook",
        "register_module_forward_pre_hook",
    }
)
_COLLECTING_METHODS = frozenset({"add_", "addmm_", "addcmul_", "append", "extend", "copy_"})
_SQUARING_METHODS = frozenset({"abs", "abs_", "square", "pow"})
_GRAM_CALLS = frozenset({"matmul", "mm", "einsum", "addmm", "addmm_"})
_RUNNING_MAX = frozenset({"maximum", "max", "fmax"})
_STATISTIC_CALLS = _GRAM_CALLS | _SQUARING_METHODS
_ORDERING = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)
_MODULE_SELF_USES = frozenset(
    {"parameters", "named_parameters", "train", "eval", "to", "cuda", "float", "half", "bfloat16"}
)
"""Calls on a module that use it in place: they hand it to nothing that outlives the function."""

_GRAM = "Gram matrix (X.T @ X, a GPTQ Hessian)"
_MAGNITUDE = "magnitude statistic (abs / square)"


# -- small expression helpers ----------------------------------------------------------------
def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(children(current))


def _names(node: cst.CSTNode) -> set[str]:
    """The variable names an expression reads (not attribute or keyword-argument names)."""
    return names_read(node, members=False)


def _calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    # Exact type (Call has no subclass): isinstance on libcst nodes is an ABC check.
    return (n for n in _walk(node) if type(n) is cst.Call)


def _callee(call: cst.Call) -> str | None:
    return callee_name(call.func)


def _method(call: cst.Call) -> str | None:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def _root(node: cst.CSTNode) -> str | None:
    """``H`` for ``H``, ``H[name]`` or ``H.data``: the name an expression hangs from."""
    while isinstance(node, cst.Attribute | cst.Subscript):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _bound_names(target: cst.CSTNode) -> frozenset[str]:
    """Names a target binds; ``.attr`` for an attribute (``self.calib = ...``)."""
    # Exact types (none of these has subclasses): libcst's isinstance is an ABC check.
    kind = type(target)
    if kind is cst.Name:
        return frozenset({cast(cst.Name, target).value})
    if kind is cst.Attribute:
        return frozenset({"." + cast(cst.Attribute, target).attr.value})
    if kind is cst.Tuple or kind is cst.List:
        out: frozenset[str] = frozenset()
        for element in cast(cst.Tuple | cst.List, target).elements:
            out |= _bound_names(element.value)
        return out
    if kind is cst.StarredElement:
        return _bound_names(cast(cst.StarredElement, target).value)
    return frozenset()


# -- one cheap pass over a function's statements ---------------------------------------------
@dataclass(frozen=True, slots=True)
class Stmt:
    """A small statement, or the expression in a compound statement's header."""

    node: cst.CSTNode
    line: int
    index: int
    loops: tuple[int, ...]
    """Lines of the loops around it, outermost first (a loop's header is outside the loop)."""
    guards: tuple[Guard, ...]
    targets: frozenset[str] = frozenset()
    value: cst.CSTNode | None = None
    """What ``targets`` are bound from."""
    loop_header: bool = False
    statement: cst.CSTNode | None = None
    """The statement it belongs to (the compound one for a header's expression)."""


@dataclass(frozen=True, slots=True)
class LoopSpan:
    line: int
    targets: frozenset[str]
    header: int
    """Index of the header statement; the body is the statements after it, up to ``last``."""
    last: int


class Body(Flow[None]):
    """The statements of one function in order, with their loops, ``if`` guards and bindings."""

    def __init__(self, facts: Facts, fn: Function) -> None:
        super().__init__(facts.line_of, fn.line)
        self.facts = facts
        self.fn = fn
        self.stmts: list[Stmt] = []
        self.loops_at: dict[int, LoopSpan] = {}
        self._loop_lines: list[int] = []
        self._headers: list[Stmt] = []
        self._variant: dict[int, set[str]] = {}
        # Per expression (keyed by the node: libcst nodes compare and hash by identity). The
        # closures below ask about every bound value once per round, and the rules ask again
        # about the same statements: each expression is walked once.
        self._val_reads: dict[cst.CSTNode, tuple[bool, frozenset[str]]] = {}
        self._feeds: dict[cst.CSTNode, bool] = {}
        self._runs: dict[cst.CSTNode, cst.Call | None] = {}
        self._read: dict[cst.CSTNode, frozenset[str]] = {}
        self._val_keys: dict[str, bool] = {}
        if fn.node is None:
            self.block(facts.module.body)
        else:
            self.block(fn.node.body)

    def _add(
        self,
        node: cst.CSTNode,
        line: int,
        targets: frozenset[str] = frozenset(),
        value: cst.CSTNode | None = None,
        loop_header: bool = False,
    ) -> Stmt:
        stmt = Stmt(
            node,
            line,
            len(self.stmts),
            tuple(self._loop_lines),
            tuple(self.guards),
            targets,
            value,
            loop_header,
            self.statement,
        )
        self.stmts.append(stmt)
        return stmt

    # -- the flow walker's hooks ---------------------------------------------------------------
    def small(self, stmt: cst.BaseSmallStatement) -> None:
        line = self.line
        if type(stmt) is cst.Assign:
            targets: frozenset[str] = frozenset()
            for t in stmt.targets:
                targets |= _bound_names(t.target)
            self._add(stmt, line, targets, stmt.value)
        elif type(stmt) is cst.AugAssign or (
            type(stmt) is cst.AnnAssign and stmt.value is not None
        ):
            self._add(stmt, line, _bound_names(stmt.target), stmt.value)
        else:
            self._add(stmt, line)

    def condition(self, node: cst.If | cst.While, value: object) -> None:
        if isinstance(node, cst.If):
            self._add(node.test, self.line)

    def match_(self, node: cst.Match) -> None:
        self._add(node.subject, self.line)
        super().match_(node)

    def enter_loop(self, node: cst.For | cst.While, value: object) -> None:
        if isinstance(node, cst.For):
            targets = _bound_names(node.target)
            header = self._add(node.iter, self.line, targets, node.iter, loop_header=True)
        else:
            header = self._add(node.test, self.line, loop_header=True)
        self._headers.append(header)
        self._loop_lines.append(self.line_of(node))

    def exit_loop(self, node: cst.For | cst.While, value: object) -> None:
        header = self._headers.pop()
        line = self._loop_lines.pop()
        self.loops_at[line] = LoopSpan(line, header.targets, header.index, len(self.stmts) - 1)

    def enter_with(self, node: cst.With) -> object:
        for item in node.items:
            bound = _bound_names(item.asname.name) if item.asname is not None else frozenset()
            self._add(item.item, self.line, bound, item.item)
        return None

    # -- positions ---------------------------------------------------------------------------
    def span_of(self, where: Context) -> tuple[int, int] | None:
        """Indexes of the statements an event at ``where`` is in: its own statement, of the
        several a minified line may hold (all those on its line where it is not known)."""
        found = []
        if where.statement is not None:
            found = [s.index for s in self.stmts if s.statement is where.statement]
        if not found:
            found = [s.index for s in self.stmts if s.line == where.line]
        return (min(found), max(found)) if found else None

    def loop_of(self, loop_id: int) -> LoopSpan | None:
        loop = self.fn.loops.get(loop_id)
        return None if loop is None else self.loops_at.get(loop.line)

    def inside(self, span: LoopSpan) -> list[Stmt]:
        return self.stmts[span.header + 1 : span.last + 1]

    # -- validation data and results computed from it -----------------------------------------
    @cached_property
    def _bound(self) -> frozenset[str]:
        out: set[str] = set(self.fn.params)
        for stmt in self.stmts:
            out |= stmt.targets
        return frozenset(out)

    @cached_property
    def _fed(self) -> frozenset[str]:
        """The parameters the callers pass validation data to."""
        fed = self.facts.val_params.get(self.fn.qualname, set())
        return frozenset(p for i, p in enumerate(self.fn.params) if i in fed)

    def carries_val(self, node: cst.CSTNode) -> bool:
        direct, reads = self._reads_val(node)
        return direct or self._holds_val(reads)

    def _holds_val(self, keys: frozenset[str]) -> bool:
        """Whether one of ``keys`` holds validation data somewhere in the function: a parameter
        fed it, or a name bound (flow-insensitive) from an expression that carries it.

        Searched back from the keys asked about through the values that bind them, so only
        those values are read. A key whose search failed had everything it is bound from
        searched: it is remembered as not holding the data (``_val_keys``), as is each key on
        the way to one that does."""
        known = self._val_keys
        via: dict[str, str | None] = {}  # each key searched, and the key it was reached from
        pending: list[str] = []
        for key in keys:
            if self._reached(key, None, via, pending):
                return True
        while pending:
            key = pending.pop()
            if not (key in self._fed or self._bound_from_val(key, via, pending)):
                continue
            step: str | None = key
            while step is not None:
                known[step] = True
                step = via[step]
            return True
        for key in via:
            known[key] = False
        return False

    def _bound_from_val(self, key: str, via: dict[str, str | None], pending: list[str]) -> bool:
        """Whether a value ``key`` is bound from carries validation data by itself or through
        a key known to hold it; the keys it reads that are still open join the search."""
        for value in self._bound_from.get(key, ()):
            direct, reads = self._reads_val(value)
            if direct:
                return True
            for read in reads:
                if self._reached(read, key, via, pending):
                    return True
        return False

    def _reached(
        self, key: str, parent: str | None, via: dict[str, str | None], pending: list[str]
    ) -> bool:
        """Whether ``key`` is known to hold validation data; if not known either way and not yet
        searched, it joins the search, reached from ``parent``."""
        state = self._val_keys.get(key)
        if state:
            return True
        if state is None and key not in via:
            via[key] = parent
            pending.append(key)
        return False

    def _reads_val(self, node: cst.CSTNode) -> tuple[bool, frozenset[str]]:
        """Whether ``node`` carries validation data whatever its local names hold (it names the
        data, reads a validation global or attribute, or calls a function that returns it), and
        the keys through which it carries it when one of them holds it: every name in it, and
        ``.attr`` for each attribute it reads."""
        found = self._val_reads.get(node)
        if found is not None:
            return found
        facts = self.facts
        direct = mentions_val(node)
        reads: set[str] = set()
        for current in _walk(node):
            # Exact types: libcst's isinstance is an ABC check, and this visits every node.
            kind = type(current)
            if kind is cst.Name:
                name = cast(cst.Name, current).value
                reads.add(name)
                direct = direct or (name in facts.val_globals and name not in self._bound)
            elif kind is cst.Attribute:
                attr = cast(cst.Attribute, current).attr.value
                reads.add("." + attr)
                direct = direct or attr in facts.val_attrs
            elif kind is cst.Call and not direct:
                func = cast(cst.Call, current).func
                direct = any(q in facts.returns_val for q in facts.resolve_call(func, self.fn))
        found = self._val_reads[node] = (direct, frozenset(reads))
        return found

    def runs_on_val(self, node: cst.CSTNode) -> cst.Call | None:
        """A call that feeds validation data to the model or to one of the script's functions.

        Library and builtin calls (``torch.cat``, ``len``), methods of the data itself
        (``.cuda()``, ``.numel()``) and validation loaders move, measure or produce the tokens;
        they do not compute results from them.
        """
        if node in self._runs:
            return self._runs[node]
        found = self._runs[node] = next((c for c in _calls(node) if self._feeds_val(c)), None)
        return found

    def _feeds_val(self, call: cst.Call) -> bool:
        known = self._feeds.get(call)
        if known is None:
            known = self._feeds[call] = self._passes_val(call)
        return known

    def _passes_val(self, call: cst.Call) -> bool:
        facts = self.facts
        func = call.func
        base = func
        while isinstance(base, cst.Attribute | cst.Call | cst.Subscript):
            base = base.func if isinstance(base, cst.Call) else base.value
        if isinstance(base, cst.Name) and (
            base.value in facts.imports or (base is func and base.value in _BUILTINS)
        ):
            return False
        if isinstance(func, cst.Attribute) and self.carries_val(func.value):
            return False
        if mentions_val(cst.Call(func)):
            return False  # a validation loader (`load_validation_tokens(...)`)
        return any(self.carries_val(a.value) for a in call.args)

    def names(self, node: cst.CSTNode) -> frozenset[str]:
        """:func:`_names` of ``node``, computed once."""
        found = self._read.get(node)
        if found is None:
            found = self._read[node] = frozenset(_names(node))
        return found

    @cached_property
    def _bound_from(self) -> dict[str, list[cst.CSTNode]]:
        """Per name, every value a statement of the function binds it from."""
        out: dict[str, list[cst.CSTNode]] = {}
        for stmt in self.stmts:
            if stmt.value is not None:
                for target in stmt.targets:
                    out.setdefault(target, []).append(stmt.value)
        return out

    def holds_result(self, names: frozenset[str]) -> bool:
        """Whether one of ``names`` holds something computed by running code on validation
        tokens: it is bound (anywhere in the function, flow-insensitive) from such a run, or
        from a name that holds one.

        Searched back from the names asked about through the values that bind them: the few
        candidates a calibration search compares never need every statement judged."""
        pending = list(names)
        seen = set(names)
        while pending:
            for value in self._bound_from.get(pending.pop(), ()):
                if self.runs_on_val(value) is not None:
                    return True
                for read in self.names(value) - seen:
                    seen.add(read)
                    pending.append(read)
        return False

    def carries_result(self, node: cst.CSTNode) -> bool:
        return self.holds_result(self.names(node)) or self.runs_on_val(node) is not None

    # -- does a loop walk over validation data? ----------------------------------------------
    def walks(self, span: LoopSpan) -> Stmt | None:
        """The statement that takes new validation tokens on each pass of the loop, if any.

        A fine-tuning pass indexes validation data with something that changes every pass, or
        draws its batches from a loader or iterator over it; a warm-up repeats one batch.
        """
        header = self.stmts[span.header]
        if header.value is not None and self.carries_val(header.value):
            return header  # `for chunk in val_chunks:`
        variant = self.variant(span)
        for stmt in self.inside(span):
            if self._draws(stmt.node, variant):
                return stmt
        return None

    def variant(self, span: LoopSpan) -> set[str]:
        """Names whose value changes from one pass of the loop to the next."""
        cached = self._variant.get(span.line)
        if cached is None:
            cached = self._variant[span.line] = self._compute_variant(span)
        return cached

    def _compute_variant(self, span: LoopSpan) -> set[str]:
        body = self.inside(span)
        variant = set(span.targets)
        for stmt in body:
            if stmt.loop_header or isinstance(stmt.node, cst.AugAssign):
                variant |= stmt.targets
        changed = True
        while changed:
            changed = False
            for stmt in body:
                if (
                    stmt.value is not None
                    and not stmt.targets <= variant
                    and (self.names(stmt.value) & variant or self._draws(stmt.value, variant))
                ):
                    variant |= stmt.targets
                    changed = True
        return variant

    def _draws(self, node: cst.CSTNode, variant: set[str]) -> bool:
        for current in _walk(node):
            if isinstance(current, cst.Subscript):
                if self.carries_val(current.value) and any(
                    self.names(e.slice) & variant for e in current.slice
                ):
                    return True  # `val_tokens[s : s + n]`
            elif isinstance(current, cst.Call):
                func = current.func
                args = [a.value for a in current.args]
                if isinstance(func, cst.Name) and func.value == "next":
                    if any(self.carries_val(a) for a in args):
                        return True  # `next(val_iter)`
                elif (
                    isinstance(func, cst.Attribute)
                    and func.attr.value not in _TENSOR_METHODS
                    and self.carries_val(func.value)
                ):
                    return True  # `val_loader.next_batch(...)`
                if any(self.carries_val(a) for a in args) and any(
                    self.names(a) & variant for a in args
                ):
                    return True  # `get_batch(val_tokens, step)`
        return False


# -- results -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Use:
    """Which kind of pass an update on validation tokens belongs to, and why."""

    verdict: Verdict
    kind: Pass
    reason: str = ""
    """TRAINING: "mixed", "interleaved", "periodic" or "before-training"; WARM_UP: "warm-up"."""
    evidence: tuple[Evidence, ...] = ()
    detail: str = ""
    """WARM_UP: why the state that is loaded back after the warm-up does not undo it."""


@dataclass(frozen=True, slots=True)
class Restore:
    """A ``load_state_dict`` after a pass: the line when it undoes the pass, else why not."""

    line: int = 0
    problem: str = ""


_ONLY_OPTIMIZER = "only the optimizer state is loaded back (the weights keep the updates)"
_ALIASED = (
    "the state loaded back is a bare state_dict(), which holds the live tensors (it restores "
    "nothing)"
)
_USED_FIRST = "the model is scored, saved or copied before its state is loaded back"


@dataclass(frozen=True, slots=True)
class Site:
    """Where an update on validation tokens passes through one function."""

    fn: Function
    where: Context


@dataclass(frozen=True, slots=True)
class Calibration:
    """A place where quantization is calibrated on validation tokens."""

    line: int
    kind: str
    """"hooks", "statistics" or "selection"."""
    message: str
    gate: Gate
    evidence: tuple[Evidence, ...]
    certain: bool = True


def _key(verdict: Verdict) -> tuple[str, int, int]:
    return verdict.function.qualname, verdict.event.line, verdict.event.where.seq


class ValUse:
    """The validation-use analysis of one file (see the module docstring)."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._bodies: dict[str, Body] = {}
        self._trains_val: dict[tuple[str, tuple[bool, ...]], bool] = {}

    def body(self, fn: Function) -> Body:
        found = self._bodies.get(fn.qualname)
        if found is None:
            found = self._bodies[fn.qualname] = Body(self.facts, fn)
        return found

    # -- training data -----------------------------------------------------------------------
    def has_train(self, labels: Labels) -> bool:
        """Training data: a ``fineweb_train_*`` source, or what a function returning one returns."""
        return self.facts.carries(labels, TRAIN)

    # -- the functions an update passes through ----------------------------------------------
    def path(self, verdict: Verdict) -> list[Site]:
        """From the function where the validation data originates down to the ``backward()``."""
        trains = self.facts.analysis(TrainingAnalysis).trains
        fn, event = verdict.function, verdict.event
        out = [Site(fn, event.where)]
        while event.chain and len(out) < 12:
            inner: tuple[Function, TrainEvent] | None = None
            for call in fn.calls:
                if call.where.seq == event.where.seq and not call.reference:
                    callee = self.facts.functions[call.callee]
                    for candidate in trains(callee):
                        if candidate.line == event.line and candidate.chain == event.chain[:-1]:
                            inner = callee, candidate
            if inner is None:
                break
            fn, event = inner
            out.append(Site(fn, event.where))
        return out

    # -- training on other data --------------------------------------------------------------
    @cached_property
    def _trainers(self) -> set[str]:
        """Functions that run a backward pass, directly or through the functions they call."""
        out = {q for q, fn in self.facts.functions.items() if fn.backwards}
        return self.facts.with_callers(out)

    def _trains_on_val(self, fn: Function, fed: tuple[bool, ...], depth: int = 0) -> bool:
        """Whether ``fn`` trains on validation data when its parameters carry it as in ``fed``."""
        key = (fn.qualname, fed)
        known = self._trains_val.get(key)
        if known is None:
            self._trains_val[key] = False  # a recursive call in progress trains on nothing new
            known = self._trains_val[key] = self._find_val_training(fn, fed, depth)
        return known

    def _find_val_training(self, fn: Function, fed: tuple[bool, ...], depth: int) -> bool:
        facts = self.facts

        def val(labels: Labels) -> bool:
            if facts.has_val(labels):
                return True
            indexes = (fn.param_index(lbl) for lbl in labels)
            return any(i is not None and i < len(fed) and fed[i] for i in indexes)

        if any(val(b.labels) for b in fn.backwards):
            return True
        if depth > 6:
            return False
        for call in fn.calls:
            if call.callee in self._trainers and not call.reference:
                inner = tuple(val(a) for a in call.args)
                if self._trains_on_val(facts.functions[call.callee], inner, depth + 1):
                    return True
        return False

    def other_training(self, fn: Function) -> list[Context]:
        """Training steps in ``fn`` on data that is not validation data."""
        facts = self.facts
        q = fn.qualname
        out = [b.where for b in fn.backwards if not facts.carries_val(b.labels, q)]
        for call in fn.calls:
            if call.reference or call.callee not in self._trainers:
                continue
            fed = tuple(facts.carries_val(a, q) for a in call.args)
            if not self._trains_on_val(facts.functions[call.callee], fed):
                out.append(call.where)
        return out

    def _phase(self, verdict: Verdict, path: list[Site]) -> tuple[str, tuple[Evidence, ...]] | None:
        """Why the update belongs to training, if it does.

        Only an update that nothing scored first can be told from its neighbours (other training
        in its loop, training after it); one ordered by a score is training only when that very
        score is the periodic validation of a training loop, not a chunk's score in TTT.
        """
        facts = self.facts
        if self.has_train(verdict.event.labels):
            return "mixed", self._mixed_sources(path)
        unscored = verdict.kind == "unscored"
        for site in path:
            loops = set(site.where.loops)
            if not loops:
                continue
            if unscored:
                for other in self.other_training(site.fn):
                    if loops & set(other.loops):
                        label = "the training step on other data in the same loop"
                        return "interleaved", (facts.evidence(other.line, label),)
            if verdict.score is not None:
                scores = [verdict.score] if site is path[0] else []
            else:
                scores = facts.analysis(TrainingAnalysis).scores(site.fn)
            for score in scores:
                loop_vars: set[str] = set()
                for loop_id in loops & set(score.where.loops):
                    loop_vars |= site.fn.loops[loop_id].targets
                if loop_vars and any(_periodic(g.test, loop_vars) for g in score.where.guards):
                    label = "the periodic validation of the same loop: this is the training loop"
                    return "periodic", (facts.evidence(score.where.line, label),)
        if unscored:
            origin = path[0]
            for other in self.other_training(origin.fn):
                if other.seq > origin.where.seq and not set(other.loops) & set(origin.where.loops):
                    label = "training on other data comes after it"
                    return "before-training", (facts.evidence(other.line, label),)
        return None

    def _mixed_sources(self, path: list[Site]) -> tuple[Evidence, ...]:
        """Where a data path the update's functions read names both splits (a ``train_files``
        switched to the validation shards): the mechanism's own line."""
        both = self.facts.both_splits
        out: list[Evidence] = []
        for site in path:
            node = site.fn.node if site.fn.node is not None else self.facts.module
            spelled = {n.value for n in _walk(node) if isinstance(n, cst.Name)}  # `args.x` too
            for key in sorted(spelled & both.keys()):
                label = "this data path names the validation shards as well as the training ones"
                out.append(self.facts.evidence(both[key], label))
        return tuple(out)

    # -- restored state ------------------------------------------------------------------------
    def restored(self, path: list[Site]) -> Restore:
        """Whether a ``load_state_dict`` undoes the pass, or why the one that follows does not."""
        failed = Restore()
        for site in path:
            body = self.body(site.fn)
            span = body.span_of(site.where)
            if span is None:
                continue
            regions = [span]
            for loop_id in reversed(site.where.loops):
                loop = body.loop_of(loop_id)
                if loop is not None:
                    regions.append((loop.header, loop.last))
            for first, last in regions:
                found = self._restore_after(site.fn, body, first, last)
                if found.line:
                    return found
                failed = failed if failed.problem else found
        return failed

    def _restore_after(self, fn: Function, body: Body, first: int, last: int) -> Restore:
        copies: set[str] = set()
        aliases: set[str] = set()  # `saved = model.state_dict()`: the live tensors
        for stmt in body.stmts[:first]:
            if stmt.value is not None and _copies_state(stmt.value):
                copies |= stmt.targets
            elif stmt.value is not None and any(
                _callee(c) == "state_dict" for c in _calls(stmt.value)
            ):
                aliases |= stmt.targets
        if not copies and not aliases:
            return Restore()
        for stmt in body.stmts:  # `for opt, state in zip(optimizers, saved_states):`
            if stmt.value is not None and _names(stmt.value) & copies:
                copies |= stmt.targets
        stepped = self._optimizers(fn)
        scored = {s.where.line for s in self.facts.analysis(TrainingAnalysis).scores(fn)}
        for stmt in body.stmts[last + 1 :]:
            calls = list(_calls(stmt.node))
            loads = [
                (c, c.func.value)
                for c in calls
                if isinstance(c.func, cst.Attribute) and c.func.attr.value == "load_state_dict"
            ]
            restored = {
                code_of(owner)
                for c, owner in loads
                if any(_names(a.value) & copies for a in c.args)
            }
            if restored - stepped:
                return Restore(stmt.line)
            if restored:
                return Restore(problem=_ONLY_OPTIMIZER)
            if any(_names(a.value) & aliases for c, _ in loads for a in c.args):
                return Restore(problem=_ALIASED)
            if stmt.line in scored or any(_method(c) == "state_dict" for c in calls):
                return Restore(problem=_USED_FIRST)
        return Restore()

    def discarded(self, site: Site) -> bool:
        """The pass trains only a module it makes for itself, and nothing reads that module after
        the pass: a compile warm-up on a throwaway adapter (``wl = Adapter(model)`` and
        ``wo = AdamW(wl.parameters())`` inside the loop, ``del wl, wo`` after it). The scored
        model never sees the updates. Any other read of the module or its optimizer (a score,
        a return, a later call) keeps the pass."""
        if not site.where.loops:
            return False
        body = self.body(site.fn)
        loop = body.loop_of(site.where.loops[0])
        if loop is None:
            return False
        region = body.stmts[loop.header + 1 : loop.last + 1]
        made = {t for st in region if isinstance(st.value, cst.Call) for t in st.targets}
        stepped = {
            c.func.value.value
            for st in region
            for c in _calls(st.node)
            if isinstance(c.func, cst.Attribute)
            and c.func.attr.value == "step"
            and isinstance(c.func.value, cst.Name)
        }
        if not stepped or not stepped <= made:
            return False
        owned = set(stepped)
        for st in region:
            if st.targets & stepped and st.value is not None:
                over = _names(st.value) & made
                if not over:
                    return False  # an optimizer over something the pass did not make
                owned |= over
        scored = {s.where.line for s in self.facts.analysis(TrainingAnalysis).scores(site.fn)}
        for st in body.stmts:
            if isinstance(st.node, cst.Del):
                continue
            reads = _names(st.node) & owned
            if not reads:
                continue
            if st.index > loop.last or st.line in scored or isinstance(st.node, cst.Return):
                return False
        return True

    def trains_only_its_own(self, fn: Function) -> bool:
        """Whether every optimizer in ``fn`` (where the update runs) steps a module built there
        that never leaves it: a probe fitted on frozen hidden states as a diagnostic and thrown
        away trains nothing the evaluation scores. A module is built there when each binding of
        its name is a constructor call (``nn.Linear(d, v).to(device)``, ``copy.deepcopy(m)``);
        it leaves when the name is returned, stored, passed to a call or read in any other way
        than being called, moved or asked for its parameters."""
        optimizers = [e for e in fn.externals if _is_optimizer(e.name)]
        if fn.node is None or not optimizers:
            return False
        owners: set[str] = set()
        for optimizer in optimizers:
            found = _parameter_owners(optimizer.node)
            if not found:
                return False  # over a list built elsewhere: what it updates is not named here
            owners |= found
        if owners & set(fn.params):
            return False
        return all(self._built_and_kept(fn.node.body, owner) for owner in owners)

    def _built_and_kept(self, body: cst.CSTNode, name: str) -> bool:
        bound = False
        stack: list[cst.CSTNode] = [body]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == name for t in current.targets
            ):
                if len(current.targets) != 1 or not self._constructs(current.value):
                    return False
                bound = True
                stack.append(current.value)
                continue
            if isinstance(current, cst.Call):
                func = current.func
                if (isinstance(func, cst.Name) and func.value == name) or (
                    isinstance(func, cst.Attribute)
                    and isinstance(func.value, cst.Name)
                    and func.value.value == name
                    and func.attr.value in _MODULE_SELF_USES
                ):
                    stack.extend(a.value for a in current.args)
                    continue
            if isinstance(current, cst.Name) and current.value == name:
                return False  # returned, stored, passed on, or bound another way
            stack.extend(children(current))
        return bound

    def _constructs(self, value: cst.BaseExpression) -> bool:
        """A call that builds a new object: an imported class or factory (``nn.Linear(...)``,
        ``copy.deepcopy(m)``) or one of the script's classes, possibly moved (``.to(device)``)."""
        while (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and isinstance(value.func.value, cst.Call)
        ):
            value = value.func.value
        if not isinstance(value, cst.Call):
            return False
        root: cst.BaseExpression = value.func
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name):
            return False
        return root.value in self.facts.imports or (
            isinstance(value.func, cst.Name) and bool(_constructed(self.facts, value))
        )

    def _optimizers(self, fn: Function) -> set[str]:
        """What ``fn`` calls ``step()`` or ``zero_grad()`` on: restoring only those leaves the
        weights as the pass left them."""
        return {
            code_of(c.func.value)
            for s in self.body(fn).stmts
            for c in _calls(s.node)
            if isinstance(c.func, cst.Attribute) and c.func.attr.value in ("step", "zero_grad")
        }

    def walks(self, path: list[Site]) -> Stmt | None:
        for site in path:
            body = self.body(site.fn)
            for loop_id in site.where.loops:
                loop = body.loop_of(loop_id)
                found = None if loop is None else body.walks(loop)
                if found is not None:
                    return found
        return None

    # -- ownership -----------------------------------------------------------------------------
    @cached_property
    def _uses(self) -> dict[tuple[str, int, int], Use]:
        return {_key(v): self._own(v) for v in self.facts.analysis(TrainingAnalysis).verdicts()}

    def uses(self) -> list[Use]:
        return list(self._uses.values())

    def kind(self, verdict: Verdict) -> Pass:
        use = self._uses.get(_key(verdict))
        return (use or self._own(verdict)).kind

    def _own(self, verdict: Verdict) -> Use:
        path = self.path(verdict)
        phase = self._phase(verdict, path)
        reason, evidence = phase if phase is not None else ("", ())
        inside_training = reason in _INSIDE_TRAINING
        if not inside_training and verdict.kind in _ORDER_KINDS:
            return Use(verdict, Pass.MISORDERED, verdict.kind)
        if not inside_training and verdict.kind == "score-first":
            return Use(verdict, Pass.HARMLESS, "score-first")
        restore = self.restored(path)
        if restore.line:
            return Use(verdict, Pass.HARMLESS, "restored")
        if (not inside_training and self.discarded(path[-1])) or self.trains_only_its_own(
            path[-1].fn
        ):
            return Use(verdict, Pass.HARMLESS, "discarded")
        if not inside_training and self.walks(path) is None and not self._scores_after(path[0]):
            return Use(verdict, Pass.WARM_UP, "warm-up", evidence, restore.problem)
        if phase is not None:
            return Use(verdict, Pass.TRAINING, reason, evidence)
        return Use(verdict, Pass.FINE_TUNING, "unscored")

    def _scores_after(self, site: Site) -> bool:
        """The function holding the update scores, itself, after it: an evaluation that adapts
        on a batch of its validation data and then scores — test-time adaptation, not a warm-up
        before a separately timed evaluation."""
        own = self.facts.analysis(TrainingAnalysis).own_scores(site.fn)
        return any(score.where.seq > site.where.seq for score in own)

    # -- calibration ---------------------------------------------------------------------------
    @cached_property
    def calibrations(self) -> list[Calibration]:
        facts = self.facts
        hooks = self._hooks()
        choosing = set(self.facts.lines_with("key=", "argmin"))
        out: list[Calibration] = []
        for fn in facts.ordered_functions():
            q = fn.qualname
            if not (fn.val_lines or facts.val_params.get(q)) or not facts.gates[q].reachable:
                continue
            if not self._may_calibrate(fn, hooks, choosing):
                continue
            body = self.body(fn)
            found = (
                self._hooked_forward(fn, body, *hooks)
                or self._statistics(fn, body)
                or self._selection(fn, body, choosing)
            )
            if found is not None:
                out.append(found)
        return out

    def _may_calibrate(
        self, fn: Function, hooks: tuple[set[str], set[str], set[str]], choosing: set[int]
    ) -> bool:
        """Whether ``fn`` has what one of the three searches needs before it judges any data:
        hooks registered in it or installed anywhere (:meth:`_hooked_forward`), a line that
        chooses by key or ``argmin``, an accumulation of a product, power or magnitude
        (:meth:`_statistics`), or an ``if`` inside a loop whose test orders two values
        (:meth:`_selection`).

        Read from the syntax alone, a superset of what the searches can find: most functions
        that see validation data have none of these shapes, and are never walked into a
        :class:`Body`."""
        registrars, installers, _ = hooks
        if fn.qualname in registrars or installers or fn.node is None:
            return True
        first, last = self.facts.span_of(fn.node)
        if any(first <= line <= last for line in choosing):
            return True
        stack: list[tuple[cst.CSTNode, bool]] = [(fn.node.body, False)]
        while stack:
            node, looped = stack.pop()
            if type(node) is cst.SimpleStatementLine or type(node) is cst.SimpleStatementSuite:
                for small in node.body:
                    value = _accumulated(small)
                    if value is not None and _may_be_statistic(value):
                        return True
                continue
            # The tests that guard statements (an `if`, a `match` subject a case compares).
            if looped and type(node) is cst.If and _orders(node.test):
                return True
            if looped and type(node) is cst.Match and _orders(node.subject):
                return True
            inside = looped or type(node) is cst.For or type(node) is cst.While
            for child in children(node):
                kind = type(child)
                # A nested function or class is a scope of its own: its Body is separate.
                if (
                    kind in HOLDS_STATEMENTS
                    and kind is not cst.FunctionDef
                    and kind is not cst.ClassDef
                ):
                    stack.append((child, inside))
        return False

    def val_gate(self, fn: Function, seen: frozenset[str] = frozenset()) -> Gate:
        """How the official run reaches ``fn`` with validation data in hand."""
        facts = self.facts
        q = fn.qualname
        if fn.val_lines or q in seen:
            return facts.gates[q]
        fed = facts.val_params.get(q, set())
        best = UNREACHABLE
        for caller in facts.functions.values():
            for call in caller.calls:
                if call.callee == q and any(
                    i in fed and facts.carries_val(a, caller.qualname)
                    for i, a in enumerate(call.args)
                ):
                    via = facts.combine(self.val_gate(caller, seen | {q}), call.where.guards)
                    best = more_enabled(best, via)
        return best if best.reachable else facts.gates[q]

    def val_route(self, fn: Function) -> tuple[Evidence, ...]:
        """Where validation data reaches ``fn``, outermost first: the line it enters when ``fn``
        reads it itself; otherwise, for each caller up to one that reads it, the statement that
        binds what the caller passes (the validation tokens cut or loaded for the call) and the
        call that passes it. A reviewer is pointed at the validation data, not only at a helper
        that receives "some tokens"."""
        facts = self.facts
        route: list[Evidence] = []
        seen: set[str] = set()
        while not fn.val_lines and fn.qualname not in seen:
            seen.add(fn.qualname)
            passed = self._val_call(fn)
            if passed is None:
                break
            caller, call, name = passed
            step = [facts.evidence(call.where.line, f"validation data is passed to `{fn.name}`")]
            bound = self._binding(caller, call.where, name) if name else None
            if bound is not None:
                step.insert(0, facts.evidence(bound, f"the validation data passed (`{name}`)"))
            route[:0] = step
            fn = caller
        if fn.val_lines and not route:
            route.append(facts.evidence(fn.val_lines[0], "validation data enters here"))
        return tuple(route)

    def _val_call(self, fn: Function) -> tuple[Function, CallSite, str | None] | None:
        """A call that passes validation data to a parameter of ``fn`` (from a reachable caller
        when there is one), and the name it passes there."""
        facts = self.facts
        fed = facts.val_params.get(fn.qualname, set())
        if not fed:
            return None
        found: list[tuple[Function, CallSite, str | None]] = []
        for caller in facts.ordered_functions():
            for call in caller.calls:
                if call.callee != fn.qualname or call.reference:
                    continue
                passed = [
                    (labels, call.arg_names[i] if i < len(call.arg_names) else None)
                    for i, labels in enumerate(call.args)
                    if i in fed
                ] + [
                    (labels, dict(call.kwarg_names).get(key))
                    for key, labels in call.kwargs
                    if key in fn.params and fn.params.index(key) in fed
                ]
                name = next(
                    (n for labels, n in passed if facts.carries_val(labels, caller.qualname)),
                    "",
                )
                if name != "":
                    found.append((caller, call, name))
        return next((f for f in found if facts.gates[f[0].qualname].reachable), None) or next(
            iter(found), None
        )

    def _binding(self, fn: Function, where: Context, name: str) -> int | None:
        """The line of the last statement of ``fn`` before ``where`` that binds ``name`` from
        validation data."""
        body = self.body(fn)
        span = body.span_of(where)
        if span is None:
            return None
        for stmt in reversed(body.stmts[: span[0]]):
            if name in stmt.targets:
                if stmt.value is not None and body.carries_val(stmt.value):
                    return stmt.line
                return None
        return None

    def _calibration(
        self, fn: Function, stmt: Stmt, kind: str, message: str, *evidence: Evidence
    ) -> Calibration:
        return Calibration(
            stmt.line,
            kind,
            message,
            self.facts.combine(self.val_gate(fn), stmt.guards),
            (*self.val_route(fn), *evidence),
            certain=kind != "selection",
        )

    def _hooks(self) -> tuple[set[str], set[str], set[str]]:
        """Functions that register collecting forward hooks, those that leave such hooks
        installed when they return, and those that remove hooks.

        Only the functions around a line that mentions a hook registration are read.
        """
        facts = self.facts
        lines = self.facts.lines_with("register_forward", "register_module_forward")
        if not lines:
            return set(), set(), set()
        # The hooks may be removed elsewhere (a `close()` method of the collecting class).
        lines += self.facts.lines_with(".remove()")
        starts = sorted((fn.line, q) for q, fn in facts.functions.items() if fn.node is not None)
        scanned: set[str] = {"<module>"}
        for line in lines:
            inside = [q for start, q in starts if start <= line]
            if inside:
                q = inside[-1]
                while q:  # the innermost function starting before the line, and its parents
                    scanned.add(q)
                    q = q.rpartition(".")[0]
        registrars: set[str] = set()
        installers: set[str] = set()
        removers: set[str] = set()
        for q in scanned:
            fn = facts.functions.get(q)
            if fn is None:
                continue
            active = False
            for stmt in self.body(fn).stmts:
                for call in _calls(stmt.node):
                    if _callee(call) in _HOOK_REGISTRARS and self._collecting_hook(fn, call):
                        registrars.add(q)
                        active = True
                    elif _method(call) == "remove" and not call.args:
                        removers.add(q)
                        active = False
            if active:
                installers.add(q)
        changed = True
        while changed:  # calling an installer and leaving its hooks on installs them too
            changed = False
            for q, fn in facts.functions.items():
                if (
                    q not in installers
                    and q not in removers
                    and any(
                        c.callee in installers
                        and not c.reference
                        # `super().__init__()` resolves to every constructor of the file
                        and not c.callee.endswith(".__init__")
                        for c in fn.calls
                    )
                ):
                    installers.add(q)
                    changed = True
        return registrars, installers, removers

    def _collecting_hook(self, fn: Function, call: cst.Call) -> bool:
        """Whether the hook ``call`` registers stores what it sees (inputs, outputs, statistics)."""
        positional = [a.value for a in call.args if a.keyword is None]
        if not positional:
            return False
        hook: cst.CSTNode = positional[-1]
        facts = self.facts
        if isinstance(hook, cst.Lambda):
            return _stores(hook.body) or any(
                self._collects(q) for c in _calls(hook.body) for q in facts.resolve_call(c.func, fn)
            )
        if isinstance(hook, cst.Call):  # `partial(fn, name)`, or a factory `make_hook(name)`
            hook = hook.args[0].value if _callee(hook) == "partial" and hook.args else hook.func
        if isinstance(hook, cst.Attribute):  # a method, or a method factory `self.hook(name)`
            roots = facts.resolve_call(hook, fn)
        elif isinstance(hook, cst.Name):
            roots = [f"{fn.qualname}.{hook.value}", *facts.functions_by_name.get(hook.value, [])]
        else:
            return False
        return any(
            (q == root or q.startswith(root + ".")) and self._collects(q)
            for root in roots
            for q in facts.functions
        )

    def _collects(self, qualname: str, depth: int = 0) -> bool:
        """A hook (or what it calls) stores what it sees, rather than only returning an output:
        ``H += x.T @ x``, ``stats.append(...)``, ``quantizers[name].add_batch(x)``."""
        fn = self.facts.functions[qualname]
        if fn.node is not None and _stores(fn.node.body):
            return True
        return depth < 3 and any(
            self._collects(c.callee, depth + 1) for c in fn.calls if not c.reference
        )

    def _hooked_forward(
        self,
        fn: Function,
        body: Body,
        registrars: set[str],
        installers: set[str],
        removers: set[str],
    ) -> Calibration | None:
        if fn.qualname not in registrars and not installers:
            return None
        facts = self.facts
        registered: Stmt | None = None
        hooks: Stmt | None = None
        window: list[Stmt] = []  # what runs code on validation tokens while the hooks are on
        for stmt in body.stmts:
            if registered is not None and body.runs_on_val(stmt.node) is not None:
                hooks = hooks or registered
                window.append(stmt)
            for call in _calls(stmt.node):
                targets = _constructed(facts, call) or facts.resolve_call(call.func, fn)
                if (_callee(call) in _HOOK_REGISTRARS and self._collecting_hook(fn, call)) or any(
                    q in installers for q in targets
                ):
                    registered = registered or stmt
                elif (_method(call) == "remove" and not call.args) or any(
                    q in removers for q in targets
                ):
                    registered = None
            if window and registered is None:
                break
        if hooks is None:
            return None
        # The hooks do the work, so the forward pass's own result is usually unused; a call whose
        # result is read afterwards (a loader, a batch builder) is only the fallback.
        forward = next(
            (
                s
                for s in window
                if not any(s.targets & _names(t.node) for t in body.stmts[s.index + 1 :])
            ),
            window[0],
        )
        return self._calibration(
            fn,
            forward,
            "hooks",
            "the model runs on validation tokens while forward hooks collect its "
            "activations: the calibration data comes from the validation set",
            facts.evidence(hooks.line, "forward hooks that store activations"),
            facts.evidence(forward.line, "the model runs on validation tokens"),
        )

    def _statistics(self, fn: Function, body: Body) -> Calibration | None:
        for stmt in body.stmts:
            value = _accumulated(stmt.node)
            kind = None if value is None else _statistic(value, body)
            if kind is not None:
                return self._calibration(
                    fn,
                    stmt,
                    "statistics",
                    f"a {kind} is accumulated from the model's results on validation tokens: "
                    "the calibration data comes from the validation set",
                    self.facts.evidence(stmt.line, f"the {kind}"),
                )
        return None

    def _selection(self, fn: Function, body: Body, choosing: set[int]) -> Calibration | None:
        for stmt in body.stmts:
            kept = self._chooses(body, stmt, choosing)
            if kept is None:
                continue
            evidence = [self.facts.evidence(stmt.line, "candidates compared on validation results")]
            if kept:
                evidence.append(self.facts.evidence(kept, "the winning candidate is kept"))
            return self._calibration(
                fn,
                stmt,
                "selection",
                "a candidate (a clip, a scale, a setting) is chosen by comparing results computed "
                "on validation tokens",
                *evidence,
            )
        return None

    def _chooses(self, body: Body, stmt: Stmt, choosing: set[int]) -> int | None:
        """0, or the line that keeps the winner, when ``stmt`` picks by validation results."""
        node = stmt.node
        if stmt.line in choosing:
            for call in _calls(node):
                name = _callee(call)
                if (
                    name in ("min", "max", "sorted")
                    and isinstance(call.func, cst.Name)
                    and any(
                        a.keyword is not None
                        and a.keyword.value == "key"
                        and isinstance(a.value, cst.Lambda)
                        and body.carries_result(a.value.body)
                        for a in call.args
                    )
                ):
                    return 0
                if name == "argmin" and body.carries_result(call):
                    return 0
        if not stmt.loops or not isinstance(node, cst.BaseExpression) or stmt.value is not None:
            return None  # only the test of an `if` inside a loop
        if not _orders(node):
            return None
        span = body.loops_at.get(stmt.loops[-1])
        if span is None:
            return None
        # `if loss < best: best, best_clip = loss, clip`: the running best is updated and the
        # candidate of this pass is kept. The cheap structural tests come first.
        compared = body.names(node)
        guarded = [
            inner
            for inner in body.stmts[stmt.index + 1 : span.last + 1]
            if inner.value is not None
            and any(g.test is node and not g.negated for g in inner.guards)
        ]
        if not any(inner.targets & compared for inner in guarded):
            return None
        variant = body.variant(span)
        kept = next((i.line for i in guarded if body.names(i.value or i.node) & variant), None)
        if kept is None or not body.carries_result(node):
            return None
        return kept


def _constructed(facts: Facts, call: cst.Call) -> list[str]:
    """``Collector.__init__`` for ``Collector(model)``: building an object runs its constructor."""
    if isinstance(call.func, cst.Name):
        init = f"{call.func.value}.__init__"
        if init in facts.functions:
            return [init]
    return []


def _copies_state(node: cst.CSTNode) -> bool:
    """A copy of a module's or optimizer's state: ``copy.deepcopy(m.state_dict())``,
    ``{k: v.clone() for k, v in m.state_dict().items()}``, ``copy.deepcopy(m)``.

    A bare ``m.state_dict()`` holds the live tensors, so loading it back restores nothing.
    """
    names = {_callee(c) for c in _calls(node)}
    return "deepcopy" in names or ("state_dict" in names and bool(names & {"clone", "cpu"}))


def _periodic(test: cst.BaseExpression, loop_vars: set[str]) -> bool:
    """``step % every == 0``: true on every n-th pass of the loop, as periodic validation is."""
    return any(
        isinstance(n, cst.BinaryOperation)
        and isinstance(n.operator, cst.Modulo)
        and _names(n.left) & loop_vars
        for n in _walk(test)
    )


def _stores(node: cst.CSTNode) -> bool:
    """Code that accumulates or stores into state: ``+=``, ``add_``/``append``, ``d[k] = ...``."""
    for current in _walk(node):
        if isinstance(current, cst.AugAssign):
            return True
        if isinstance(current, cst.Call) and _method(current) in _COLLECTING_METHODS:
            return True
        if isinstance(current, cst.Assign) and any(
            isinstance(t.target, cst.Subscript) for t in current.targets
        ):
            return True
    return False


def _accumulated(node: cst.CSTNode) -> cst.CSTNode | None:
    """What a statement adds into running state that it does not itself read from.

    ``H += v``, ``H[k] = H.get(k, 0) + v``, ``H.add_(v)``, ``stats.append(v)``,
    ``amax = torch.maximum(amax, v)``. A residual update (``x += f(x)``, ``x = x + f(x)``) reads
    its own target in ``v`` and is not an accumulation.
    """
    target: cst.CSTNode | None = None
    value: cst.CSTNode | None = None
    # Exact types: libcst's isinstance is an ABC check, and this asks it of every statement.
    if type(node) is cst.AugAssign and type(node.operator) is cst.AddAssign:
        target, value = node.target, node.value
    elif type(node) is cst.Expr and type(node.value) is cst.Call:
        call = node.value
        if _method(call) in _COLLECTING_METHODS and isinstance(call.func, cst.Attribute):
            target, value = call.func.value, cst.Tuple([cst.Element(a.value) for a in call.args])
    elif type(node) is cst.Assign and len(node.targets) == 1:
        target = node.targets[0].target
        update = node.value
        operands: list[cst.BaseExpression] = []
        if isinstance(update, cst.Call) and _callee(update) in _RUNNING_MAX:
            operands = [a.value for a in update.args]
        elif isinstance(update, cst.BinaryOperation) and isinstance(update.operator, cst.Add):
            operands = [update.left, update.right]
        rest = [o for o in operands if not _reads_back(o, target)]
        if len(operands) == 2 and len(rest) == 1:
            value = rest[0]
    if target is None or value is None:
        return None
    root = _root(target)
    if root is None or is_accumulator(root) or root in _names(value):
        return None  # a score accumulator (`nll_sq_sum`), or a residual update
    return value


def _may_be_statistic(value: cst.CSTNode) -> bool:
    """Whether ``value`` has the shape :func:`_statistic` looks for (a product, a power, a
    magnitude), before it asks where the operands come from."""
    for node in _walk(value):
        if type(node) is cst.BinaryOperation and (
            type(node.operator) is cst.MatrixMultiply or type(node.operator) is cst.Power
        ):
            return True
        if type(node) is cst.Call and _callee(node) in _STATISTIC_CALLS:
            return True
    return False


def _orders(test: cst.CSTNode) -> bool:
    """A comparison by ``<``, ``<=``, ``>`` or ``>=`` in ``test``."""
    return any(
        isinstance(n, cst.Comparison)
        and any(isinstance(c.operator, _ORDERING) for c in n.comparisons)
        for n in _walk(test)
    )


def _reads_back(operand: cst.CSTNode, target: cst.CSTNode) -> bool:
    """``H`` or ``H.get(k, 0)`` for the target ``H`` / ``H[k]``: the running value itself."""
    # Comparing names first keeps the (costly) code comparison for real candidates.
    if (
        isinstance(operand, cst.Call)
        and isinstance(operand.func, cst.Attribute)
        and operand.func.attr.value == "get"
    ):
        table = target.value if isinstance(target, cst.Subscript) else target
        store = operand.func.value
        return _root(store) == _root(table) and code_of(store) == code_of(table)
    return _root(operand) == _root(target) and code_of(operand) == code_of(target)


def _transposed(node: cst.CSTNode) -> cst.CSTNode | None:
    """``x`` for ``x.T``, ``x.mT``, ``x.t()``, ``x.transpose(0, 1)``."""
    if isinstance(node, cst.Attribute) and node.attr.value in ("T", "mT", "H"):
        return node.value
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in ("t", "transpose")
    ):
        return node.func.value
    return None


def _statistic(value: cst.CSTNode, body: Body) -> str | None:
    """What calibration statistic ``value`` computes from results on validation tokens, if any.

    A statistic turned into one Python number (``.item()``, ``float(...)``) is a figure to log:
    calibration statistics (Hessians, per-channel scales) stay tensors, and a scalar searched
    for by comparing results is the choice :meth:`ValUse.calibrations` reports separately."""
    items = [e.value for e in value.elements] if isinstance(value, cst.Tuple) else [value]
    if items and all(
        isinstance(item, cst.Call)
        and (
            _callee(item) == "item"
            or (isinstance(item.func, cst.Name) and item.func.value == "float")
        )
        for item in items
    ):
        return None
    for node in _walk(value):
        # Exact types: libcst's isinstance is an ABC check, and this visits every node.
        pair: tuple[cst.CSTNode, cst.CSTNode] | None = None
        if type(node) is cst.BinaryOperation and type(node.operator) is cst.MatrixMultiply:
            pair = (node.left, node.right)
        elif type(node) is cst.Call and _callee(node) in _GRAM_CALLS:
            positional = [a.value for a in node.args if a.keyword is None]
            if len(positional) >= 2:
                pair = (positional[-2], positional[-1])
        if pair is not None:
            left, right = pair
            base = left if _callee_is(node, "einsum") else _transposed(left)
            if base is not None and code_of(base) == code_of(right) and body.carries_result(right):
                return _GRAM
        if type(node) is cst.Call and _callee(node) in _SQUARING_METHODS:
            operand = node.func.value if isinstance(node.func, cst.Attribute) else None
            if operand is None or (isinstance(operand, cst.Name) and operand.value == "torch"):
                operand = node.args[0].value if node.args else None
            if operand is not None and body.carries_result(operand):
                return _MAGNITUDE
        if (
            type(node) is cst.BinaryOperation
            and type(node.operator) is cst.Power
            and body.carries_result(node.left)
        ):
            return _MAGNITUDE
    return None


def _callee_is(node: cst.CSTNode, name: str) -> bool:
    return isinstance(node, cst.Call) and _callee(node) == name
