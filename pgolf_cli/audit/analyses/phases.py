"""The phases of one run of a training script: training, the work after it, and evaluation.

Shared by the rules on training data read at evaluation, on a training loop that stops on a step
count or training-data work after the loop with no time reserve, and on validation data
written into the artifact). Built on the facts events, put in the order one run meets them:

- the *timeline* lists the events (backward passes, uses of training data, file writes, scores,
  loop-exit tests) depth-first from the entry point through every call to the script's own
  functions, each event at its place in its function; a function called twice appears twice,
  each time with the gate and the argument labels of that call path;
- a *training loop* is the outermost loop, along a call path, around a backward pass on data
  that is not validation data; the *main* training loop is the last one before the artifact is
  written (warm-up loops come before it, test-time training after it);
- the *artifact* is the last file write (``torch.save``, ``np.save``, ``Path.write_bytes``, a
  binary ``open(...).write``) after the training loop that still has a score after it (writes
  after the last score are evaluation outputs), or, when no score follows any write (a minified
  scorer pgolf does not recognise), simply the last write. A write of literal bytes (a counter
  file set up for the evaluation's workers) holds nothing trained and is no write here. A save
  into an ``io.BytesIO`` is a
  write only when the buffer's bytes go on to a file (compressed and written, returned, handed
  to the script's own code): a buffer only measured for its size is no artifact;
- *evaluation* starts at the artifact write, or, with no write, at the first score after the
  training loop. Everything between the end of the main training loop and that point is the
  post-training work (EMA, GPTQ calibration, quantization, compression).

"After training" is therefore decided by the order of events in the run, never by names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import libcst as cst

from pgolf_cli.audit import flow
from pgolf_cli.audit.analyses.training import ScoreEvent, TrainingAnalysis
from pgolf_cli.audit.facts import (
    CLOCK,
    Backward,
    CallSite,
    Condition,
    Context,
    ExternalCall,
    Facts,
    Function,
    Gate,
    Guard,
    TrainUse,
)
from pgolf_cli.audit.findings import Reachability
from pgolf_cli.audit.nodes import HOLDS_STATEMENTS, children
from pgolf_cli.audit.values import truth

Kind = Literal["backward", "train-use", "save", "score", "condition"]

_MAX_DEPTH = 16
_MAX_ITEMS = 20_000
"""Bounds on the timeline: a call graph that would unroll further is cut (never an error)."""

_SAVES = frozenset(
    {"torch.save", "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.ndarray.tofile"}
)
_FILE_READERS = frozenset(
    {
        "numpy.fromfile",
        "numpy.memmap",
        "numpy.load",
        "torch.load",
        "torch.from_file",
        "builtins.open",
        "pathlib.Path().read_bytes",
    }
)
_DESTINATION_KEYWORDS = frozenset({"f", "file", "fid"})
_MEASURES = frozenset({"tell", "nbytes"})
_MUTATORS = frozenset({"update", "append", "extend", "setdefault", "__setitem__", "add", "insert"})
_RESERVE = re.compile("reserve", re.IGNORECASE)


@dataclass(eq=False)
class Frame:
    """One entry into a function along a call path from the entry point."""

    fn: Function
    gate: Gate
    parent: Frame | None
    call: CallSite | None
    """The call in ``parent`` that entered this frame."""
    start: int
    """Index in the timeline of the first event met after entering."""

    def chain(self, where: Context) -> list[tuple[Frame, Context]]:
        """(frame, place in it) from the entry point down to ``where`` in this frame."""
        out: list[tuple[Frame, Context]] = [(self, where)]
        frame: Frame = self
        while frame.parent is not None and frame.call is not None:
            out.append((frame.parent, frame.call.where))
            frame = frame.parent
        out.reverse()
        return out


@dataclass(frozen=True, eq=False)
class Item:
    """One event of the timeline."""

    index: int
    kind: Kind
    frame: Frame
    where: Context
    gate: Gate
    event: Backward | TrainUse | ExternalCall | ScoreEvent | Condition

    @property
    def line(self) -> int:
        return self.where.line


@dataclass(eq=False)
class Region:
    """A training loop: the items inside it form one contiguous run of the timeline."""

    frame: Frame
    loop_id: int
    line: int
    gate: Gate
    first: Item
    start: int = 0
    end: int = 0
    backwards: list[Item] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Flow:
    """An expression whose value goes into a name (or into a write), with where it stands."""

    line: int
    value: cst.BaseExpression
    guards: tuple[Guard, ...]


@dataclass
class Written:
    """What one file write holds (see :meth:`Phases.written`)."""

    names: dict[int, set[str]] = field(default_factory=dict)
    """Per frame (by id), the names whose values are in the write."""
    values: list[tuple[Frame, Flow]] = field(default_factory=list)
    """The expressions whose values are in the write, in the frames they stand in."""


def _is_binary_write_mode(call: cst.Call) -> bool:
    """``open(path, "wb")`` / ``mode="xb"``: a binary file opened for writing."""
    mode: cst.BaseExpression | None = None
    positional = [a for a in call.args if a.keyword is None]
    if len(positional) > 1:
        mode = positional[1].value
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "mode":
            mode = arg.value
    if not isinstance(mode, cst.SimpleString):
        return False
    text = mode.evaluated_value
    return isinstance(text, str) and "b" in text and any(c in text for c in "wxa")


def _is_file_write(fn: Function, call: ExternalCall) -> bool:
    """Whether an external call writes bytes to a file (not a save call's destination)."""
    name = call.name
    if name.endswith(".write_bytes"):
        return True
    if name == "builtins.open().write":
        func = call.node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
            return _is_binary_write_mode(func.value)  # open(path, "wb").write(blob)
        opened = [
            e for e in fn.externals if e.name == "builtins.open" and e.where.seq < call.where.seq
        ]
        return bool(opened) and _is_binary_write_mode(opened[-1].node)
    return False


def _writes_a_value(call: ExternalCall) -> bool:
    """Whether a file write's bytes are computed from some value of the run. Bytes built from
    literals alone (``f.write((0).to_bytes(4, "little"))``: a counter or a marker file set up
    for the evaluation's workers) hold nothing trained and cannot be the artifact."""
    data = [a.value for a in call.node.args if a.keyword is None]
    if not data:
        return True
    stack: list[cst.CSTNode] = [data[0]]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            if current.value not in ("True", "False", "None"):
                return True
        elif isinstance(current, cst.Attribute):
            stack.append(current.value)  # `.to_bytes` names a method, not a value
        elif isinstance(current, cst.Arg):
            stack.append(current.value)  # `byteorder=` names a parameter
        else:
            stack.extend(children(current))
    return False


def _destination(call: ExternalCall) -> cst.BaseExpression | None:
    """Where a save call writes: ``torch.save(obj, f)``, ``np.save(file, arr)``, ``a.tofile(f)``."""
    for arg in call.node.args:
        if arg.keyword is not None and arg.keyword.value in _DESTINATION_KEYWORDS:
            return arg.value
    positional = [a.value for a in call.node.args if a.keyword is None]
    index = 1 if call.name == "torch.save" else 0
    return positional[index] if len(positional) > index else None


def _mentioned(node: cst.CSTNode) -> frozenset[str]:
    """The names whose values ``node`` uses, not counting a mere measure of a value's size
    (``len(buf.getvalue())``, ``buf.tell()``, ``buf.getbuffer().nbytes``)."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    # Exact types, not isinstance (an ABC check on libcst nodes): this visits every node of
    # the values assigned in a function, and Name, Call and Attribute have no subclasses.
    while stack:
        current = stack.pop()
        if type(current) is cst.Name:
            out.add(current.value)
        elif type(current) is cst.Call:
            if type(current.func) is cst.Name and current.func.value == "len":
                continue
        elif type(current) is cst.Attribute and current.attr.value in _MEASURES:
            continue
        stack.extend(children(current))
    return frozenset(out)


class _Stores(flow.Flow[None]):
    """For each local name of one function, the expressions whose values go into it."""

    def __init__(self, facts: Facts, fn: Function) -> None:
        super().__init__(facts.line_of, fn.line)
        self.flows: dict[str, list[Flow]] = {}
        self.block(fn.node.body if fn.node is not None else facts.module.body)

    def into(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self.into(element.value, value)
            return
        if isinstance(target, cst.StarredElement):
            self.into(target.value, value)
            return
        name = _base_name(target)
        if name is not None:
            self.flows.setdefault(name, []).append(Flow(self.line, value, tuple(self.guards)))

    def header(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        return expr  # `for x in v` / `with v as x` / `case x` store v into x

    def bind(self, target: cst.BaseExpression, value: object) -> None:
        if isinstance(value, cst.BaseExpression):
            self.into(target, value)

    def small(self, stmt: cst.BaseSmallStatement) -> None:
        if isinstance(stmt, cst.Assign):
            for target in stmt.targets:
                self.into(target.target, stmt.value)
        elif isinstance(stmt, cst.AnnAssign | cst.AugAssign):
            if stmt.value is not None:
                self.into(stmt.target, stmt.value)
        elif isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call):
            func = stmt.value.func
            if isinstance(func, cst.Attribute) and func.attr.value in _MUTATORS:
                for arg in stmt.value.args:
                    self.into(func.value, arg.value)


def _base_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Attribute | cst.Subscript):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


class Phases:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.training = facts.analysis(TrainingAnalysis)
        self.items: list[Item] = []
        self._local: dict[str, list[tuple[int, object]]] = {}
        self._flows: dict[str, dict[str, list[Flow]]] = {}
        self._mention_sets: dict[int, frozenset[str]] = {}
        self._ifs: dict[str, dict[int, cst.If]] = {}
        root = facts.functions["<module>"]
        if root.calls:  # no entry point (a library file, a snippet): no run to order
            self._visit(Frame(root, Gate(Reachability.DEFAULT_ON), None, None, 0))
        self.regions = self._regions()
        self._place()

    # -- the timeline ------------------------------------------------------------------------
    def _events(self, fn: Function) -> list[tuple[int, object]]:
        found = self._local.get(fn.qualname)
        if found is None:
            events: list[tuple[int, object]] = []
            events += [(b.where.seq, b) for b in fn.backwards]
            events += [(u.where.seq, u) for u in fn.train_uses]
            events += [(c.where.seq, c) for c in fn.conditions]
            events += [(e.where.seq, e) for e in fn.externals if self._is_save(fn, e)]
            events += [(s.where.seq, s) for s in self.training.scores(fn)]
            events += [(c.where.seq, c) for c in fn.calls if not c.reference]
            events.sort(key=lambda pair: pair[0])
            found = self._local[fn.qualname] = events
        return found

    def _is_save(self, fn: Function, call: ExternalCall) -> bool:
        """Whether an external call writes a file the artifact could be: a model or a binary
        blob. A save into an in-memory buffer is one only when the buffer's bytes go on to a
        file write, a return or one of the script's own functions (which may write them);
        bytes that are only measured (a size check before pruning) never reach the artifact."""
        if call.name not in _SAVES:
            return _is_file_write(fn, call) and _writes_a_value(call)
        buffers = self._buffers(fn, _destination(call))
        return not buffers or self._reaches_file(fn, buffers)

    def _buffers(self, fn: Function, dest: cst.BaseExpression | None) -> set[str]:
        """``{name}`` when ``dest`` is a local name only ever bound to ``io.BytesIO()``."""
        if not isinstance(dest, cst.Name):
            return set()
        in_memory = {id(e.node) for e in fn.externals if e.name == "io.BytesIO"}
        if not in_memory:
            return set()  # no buffer in the function: no need to walk its stores
        bound = self._assignments(fn).get(dest.value, [])
        if bound and all(id(f.value) in in_memory for f in bound):
            return {dest.value}
        return set()

    def _reaches_file(self, fn: Function, buffers: set[str]) -> bool:
        flows = self._assignments(fn)
        carried = set(buffers)  # the names whose values hold the buffer's bytes
        flow_values: set[int] = set()
        changed = True
        while changed:
            changed = False
            for name, bound in flows.items():
                for f in bound:
                    if not self._mentioned(f.value).isdisjoint(carried):
                        flow_values.add(id(f.value))
                        if name not in carried:
                            carried.add(name)
                            changed = True
        if any(
            _is_file_write(fn, e) and not self._mentioned(e.node).isdisjoint(carried)
            for e in fn.externals
            if e.name not in _SAVES
        ):
            return True
        body: cst.CSTNode = fn.node if fn.node is not None else self.facts.module
        stack: list[cst.CSTNode] = [body]
        while stack:
            current = stack.pop()
            if (
                isinstance(current, cst.Return)
                and current.value is not None
                and not self._mentioned(current.value).isdisjoint(carried)
            ):
                return True
            if (
                isinstance(current, cst.Call)
                and id(current) not in flow_values
                and self.facts.resolve_call(current.func, fn)
                and any(not self._mentioned(a.value).isdisjoint(carried) for a in current.args)
            ):
                return True  # handed to the script's own code, which may write it
            stack.extend(children(current))
        return False

    def _if_statements(self, fn: Function) -> dict[int, cst.If]:
        """The ``if`` statements of ``fn`` by test (none for the module's own statements),
        collected once per function: a loop holds several clock tests."""
        found = self._ifs.get(fn.qualname)
        if found is None:
            found = self._ifs[fn.qualname] = {} if fn.node is None else _if_statements(fn.node)
        return found

    def _mentioned(self, node: cst.CSTNode) -> frozenset[str]:
        """:func:`_mentioned`, remembered per node: the search for where a buffer's bytes go
        asks about the same assignments on every round until the names it follows settle."""
        found = self._mention_sets.get(id(node))
        if found is None:
            found = self._mention_sets[id(node)] = _mentioned(node)
        return found

    def _visit(self, frame: Frame) -> None:
        depth = 0
        ancestor = frame.parent
        on_path = {frame.fn.qualname}
        while ancestor is not None:
            depth += 1
            on_path.add(ancestor.fn.qualname)
            ancestor = ancestor.parent
        for _, event in self._events(frame.fn):
            if len(self.items) >= _MAX_ITEMS:
                return
            if isinstance(event, CallSite):
                if depth < _MAX_DEPTH and event.callee not in on_path:
                    callee = self.facts.functions[event.callee]
                    gate = self.facts.combine(frame.gate, event.where.guards)
                    self._visit(Frame(callee, gate, frame, event, len(self.items)))
                continue
            kind: Kind
            if isinstance(event, Backward):
                kind = "backward"
            elif isinstance(event, TrainUse):
                kind = "train-use"
            elif isinstance(event, ExternalCall):
                kind = "save"
            elif isinstance(event, Condition):
                kind = "condition"
            else:
                assert isinstance(event, ScoreEvent)
                kind = "score"
            gate = self.facts.combine(frame.gate, event.where.guards)
            self.items.append(Item(len(self.items), kind, frame, event.where, gate, event))

    def resolve(self, labels: Iterable[str], frame: Frame) -> set[str]:
        """``labels`` with each parameter label replaced by what this call path passes to it."""
        out: set[str] = set()
        pending: list[tuple[Iterable[str], Frame]] = [(labels, frame)]
        while pending:
            current, at = pending.pop()
            for label in current:
                index = at.fn.param_index(label)
                if index is None:
                    out.add(label)
                    continue
                call, parent = at.call, at.parent
                if call is None or parent is None:
                    continue
                if index < len(call.args):
                    pending.append((call.args[index], parent))
                elif index < len(at.fn.params):
                    name = at.fn.params[index]
                    pending.extend((v, parent) for k, v in call.kwargs if k == name)
        return out

    def carries_val(self, labels: Iterable[str], frame: Frame) -> bool:
        return self.facts.has_val(self.resolve(labels, frame))

    # -- training loops ----------------------------------------------------------------------
    def _regions(self) -> list[Region]:
        regions: dict[tuple[int, int], Region] = {}
        for item in self.items:
            if item.kind != "backward":
                continue
            assert isinstance(item.event, Backward)
            if self.carries_val(item.event.labels, item.frame):
                continue  # test-time training on validation data is not the training run
            for frame, where in item.frame.chain(item.where):
                if not where.loops:
                    continue
                loop_id = where.loops[0]
                key = (id(frame), loop_id)
                region = regions.get(key)
                if region is None:
                    loop = frame.fn.loops[loop_id]
                    outer = tuple(g for g in where.guards if g.line < loop.line)
                    gate = self.facts.combine(frame.gate, outer)
                    region = regions[key] = Region(frame, loop_id, loop.line, gate, item)
                region.backwards.append(item)
                break
        found = list(regions.values())
        for region in found:
            inside: list[int] = []
            # The timeline is depth first: the items under the region's frame follow its entry
            # in one run, so the scan starts there and stops at the first item outside it.
            for item in self.items[region.frame.start :]:
                place = self._where_in(item, region.frame)
                if place is None:
                    break
                if region.loop_id in place.loops:
                    inside.append(item.index)
            region.start, region.end = min(inside), max(inside)
        found.sort(key=lambda r: r.start)
        return found

    @staticmethod
    def _where_in(item: Item, frame: Frame) -> Context | None:
        """The place ``item``'s call path has in ``frame`` (a frame is on a path once), or None
        when the path does not pass through it."""
        at, where = item.frame, item.where
        while at is not frame:
            parent, call = at.parent, at.call
            if parent is None or call is None:
                return None
            at, where = parent, call.where
        return where

    @staticmethod
    def exclusive(a: Item, b: Item) -> bool:
        """Whether two events sit in opposite branches of one ``if`` (only one of them runs)."""
        for (fa, wa), (fb, wb) in zip(a.frame.chain(a.where), b.frame.chain(b.where), strict=False):
            if fa is not fb:
                return False
            if wa.seq != wb.seq:
                return any(
                    ga.test is gb.test and ga.negated != gb.negated
                    for ga in wa.guards
                    for gb in wb.guards
                )
        return False

    def _place(self) -> None:
        """Find the main training loop, the artifact write and where evaluation starts."""
        self.main: Region | None = None
        self.artifact: Item | None = None
        self.eval_start: int | None = None
        self.train_end = -1
        saves = [i for i in self.items if i.kind == "save"]
        scores = [i for i in self.items if i.kind == "score"]
        if self.regions:
            first_end = self.regions[0].end
            late_saves = [s for s in saves if s.index > first_end]
            late_scores = [s.index for s in scores if s.index > first_end]
            # A write after the last score is an evaluation output, not the artifact; with no
            # score to tell them apart (minified scorers), the last write is the artifact.
            scored = [s for s in late_saves if late_scores and s.index < late_scores[-1]]
            writes = scored or late_saves
            artifact = writes[-1] if writes else None
            before = [r for r in self.regions if artifact is None or r.end < artifact.index]
            self.main = before[-1]
            self.train_end = self.main.end
            if artifact is not None and artifact.index > self.train_end:
                self.artifact = artifact
                self.eval_start = artifact.index
            else:
                after = [s.index for s in scores if s.index > self.train_end]
                self.eval_start = after[0] if after else None
        # The writes that can make the artifact: after training (a cache written before it is
        # data preparation) and before the last score (later ones are evaluation outputs).
        post_scores = [s.index for s in scores if s.index > self.train_end]
        self.artifact_writes = [
            s
            for s in saves
            if s.index > self.train_end and (not post_scores or s.index < post_scores[-1])
        ]

    def final_regions(self) -> list[Region]:
        """Training loops that end the training on their path: not followed by another one that
        runs in the same run before the main loop ends (a warm-up loop is followed)."""
        if self.main is None:
            return []
        candidates = [r for r in self.regions if r.start <= self.main.start]
        return [
            r
            for r in candidates
            if not any(
                later.start > r.end and not self.exclusive(r.first, later.first)
                for later in candidates
            )
        ]

    # -- the clock -----------------------------------------------------------------------------
    @cached_property
    def clock_functions(self) -> set[str]:
        """The script's functions whose result is computed from a clock reading."""
        out: set[str] = set()
        changed = True
        while changed:
            changed = False
            for q, fn in self.facts.functions.items():
                if q not in out and self._clocked(fn.returns, out):
                    out.add(q)
                    changed = True
        return out

    @staticmethod
    def _clocked(labels: Iterable[str], clock_functions: set[str]) -> bool:
        return any(
            lbl == CLOCK or (lbl.startswith("C") and lbl[1:] in clock_functions) for lbl in labels
        )

    def clock_stops(self, region: Region) -> tuple[list[Item], list[Item]]:
        """The loop-exit tests inside ``region`` that read the clock: (effective, dormant).

        A test is dormant when it is false with the script's defaults (``if CAP > 0 and ...``
        with ``CAP`` defaulting to 0) or sits behind a switch that is off by default.
        """
        effective: list[Item] = []
        dormant: list[Item] = []
        for item in self.items[region.start : region.end + 1]:
            if item.kind != "condition":
                continue
            condition = item.event
            assert isinstance(condition, Condition)
            if not condition.stops:
                continue
            labels = self.resolve(condition.labels, item.frame)
            if not self._clocked(labels, self.clock_functions):
                continue
            found = self._if_statements(item.frame.fn).get(id(condition.test))
            if found is not None and _only_rearms_timer(found):
                continue
            value, _ = self.facts.evaluator.evaluate(condition.test, item.line)
            off = item.gate.reach == Reachability.OFF_BY_DEFAULT and (
                region.gate.reach != Reachability.OFF_BY_DEFAULT
            )
            (dormant if truth(value) is False or off else effective).append(item)
        return effective, dormant

    def reserve(self, stops: list[Item]) -> tuple[cst.BaseExpression | None, bool]:
        """A time reserve taken off the cap the clock is compared with: the subtraction
        (``cap - GPTQ_RESERVE_SECONDS``) and whether it is 0 with the script's defaults.

        Looked for in the functions holding the clock tests and the functions they call, in the
        functions that call them down from the entry point (the cap may be passed in), and in
        the script's global and attribute assignments.
        """
        functions: dict[str, Function] = {}
        for item in stops:
            fn = item.frame.fn
            for call in fn.calls:
                functions.setdefault(call.callee, self.facts.functions[call.callee])
            for frame, _ in item.frame.chain(item.where):
                functions[frame.fn.qualname] = frame.fn
        nodes: list[cst.CSTNode] = []
        for fn in functions.values():
            if fn.node is not None:
                nodes.append(fn.node.body)
        nodes.extend(v for v in self.facts.assigned_names.values() if v is not None)
        nodes.extend(v for v in self.facts.assigned_attrs.values() if v is not None)
        zero: cst.BaseExpression | None = None
        for node in nodes:
            for amount in self._subtracted(node):
                if not self._mentions_reserve(amount, 0):
                    continue
                value, _ = self.facts.evaluator.evaluate(amount, self.facts.line_of(amount))
                if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
                    zero = amount
                    continue
                return amount, False
        return zero, zero is not None

    def _subtracted(self, node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
        """The right operands of every ``a - b`` and ``a -= b`` in ``node``."""
        minus = self._minus_lines
        stack: list[cst.CSTNode] = [node]
        # Exact types, not isinstance (an ABC check on libcst nodes): this visits every node.
        while stack:
            current = stack.pop()
            if type(current) is cst.BinaryOperation and type(current.operator) is cst.Subtract:
                yield current.right
            elif type(current) is cst.AugAssign and type(current.operator) is cst.SubtractAssign:
                yield current.value
            elif (
                type(current) is cst.FunctionDef or type(current) is cst.ClassDef
            ) and current is not node:
                continue
            else:
                # A statement none of whose lines holds a "-" holds no subtraction.
                first, last = self.facts.span_of(current)
                if first and minus[last] == minus[first - 1]:
                    continue
            stack.extend(children(current))

    @cached_property
    def _minus_lines(self) -> list[int]:
        """Per line number, how many lines up to it hold a "-" (index 0: none)."""
        out = [0]
        for text in self.facts.text.splitlines():
            out.append(out[-1] + ("-" in text))
        return out

    def _mentions_reserve(self, node: cst.CSTNode, depth: int) -> bool:
        """A name, attribute or environment key with "reserve" in it, directly or through the
        one value assigned to a name (``R = float(os.environ.get("GPTQ_RESERVE_SECONDS", 4))``)."""
        stack: list[cst.CSTNode] = [node]
        # Exact types: Name, Attribute and SimpleString have no subclasses.
        while stack:
            current = stack.pop()
            named: tuple[str, dict[str, cst.BaseExpression | None]] | None = None
            if type(current) is cst.Name:
                named = current.value, self.facts.assigned_names
            elif type(current) is cst.Attribute:
                named = current.attr.value, self.facts.assigned_attrs
            elif type(current) is cst.SimpleString and _RESERVE.search(current.value):
                return True
            if named is not None:
                name, table = named
                if _RESERVE.search(name):
                    return True
                value = table.get(name)
                if value is not None and depth < 4 and self._mentions_reserve(value, depth + 1):
                    return True
            stack.extend(children(current))
        return False

    # -- what the artifact holds ------------------------------------------------------------------
    def _assignments(self, fn: Function) -> dict[str, list[Flow]]:
        """For each local name, the expressions whose values go into it (assignment, item or
        attribute store, ``x.update(v)``/``x.append(v)``, ``for x in v``, ``with v as x``)."""
        found = self._flows.get(fn.qualname)
        if found is not None:
            return found
        flows = _Stores(self.facts, fn).flows
        self._flows[fn.qualname] = flows
        return flows

    def _names_in(self, node: cst.CSTNode, fn: Function, *, derived: bool) -> set[str]:
        """Names whose values ``node`` holds; with ``derived``, also those it is computed from
        through the script's own functions (whose result may be anything built from them)."""
        out: set[str] = set()
        stack: list[cst.CSTNode] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Lambda):
                continue
            if isinstance(current, cst.Name):
                out.add(current.value)
            elif isinstance(current, cst.Attribute):
                out.add("." + current.attr.value)
            elif isinstance(current, cst.Call) and not derived and self.builds(current, fn):
                continue
            stack.extend(children(current))
        return out

    def builds(self, call: cst.Call, fn: Function) -> bool:
        """Whether ``call`` runs one of the script's own functions that builds something new
        from its inputs (a table, quantized weights), rather than loading the file they name."""
        callees = self.facts.resolve_call(call.func, fn)
        return bool(callees) and not any(c in self.loaders for c in callees)

    @cached_property
    def loaders(self) -> set[str]:
        """The script's functions that read files (``np.fromfile``, ``torch.load``, ``open``) or
        return what such a function read: their result is the data of the file they name."""
        out = {
            q
            for q, fn in self.facts.functions.items()
            if q != "<module>" and any(e.name in _FILE_READERS for e in fn.externals)
        }
        changed = True
        while changed:
            changed = False
            for q, fn in self.facts.functions.items():
                if q not in out and any(lbl[1:] in out for lbl in fn.returns if lbl[:1] == "C"):
                    out.add(q)
                    changed = True
        return out

    def written(self, write: Item, *, derived: bool) -> Written:
        """What a file write holds: the names and the expressions whose values go into it,
        followed back through assignments before the write and up through the arguments of
        the calls that led to it."""
        call = write.event
        assert isinstance(call, ExternalCall)
        out = Written()
        frame: Frame | None = write.frame
        values: list[Flow] = [Flow(write.line, arg.value, ()) for arg in call.node.args]
        if isinstance(call.node.func, cst.Attribute):  # `buffer.write_bytes(...)`, `f.write(...)`
            values.append(Flow(write.line, call.node.func.value, ()))
        until = write.line
        while frame is not None and values:
            fn = frame.fn
            flows = self._assignments(fn)
            names: set[str] = set()
            pending = list(values)
            while pending:
                flow = pending.pop()
                out.values.append((frame, flow))
                for name in self._names_in(flow.value, fn, derived=derived):
                    if name in names:
                        continue
                    names.add(name)
                    # A value stored after the write is not in the artifact.
                    pending.extend(f for f in flows.get(name, ()) if f.line <= until)
            out.names.setdefault(id(frame), set()).update(names)
            if frame.call is None or frame.parent is None:
                break
            values = []
            for i, param in enumerate(fn.params):
                if param in names and i < len(frame.call.arg_names):
                    arg = frame.call.arg_names[i]
                    if arg is not None:
                        values.append(Flow(frame.call.where.line, cst.Name(arg), ()))
            until = frame.call.where.line
            frame = frame.parent
        return out

    def _stored(self, *, derived: bool) -> dict[int, set[str]]:
        """Per frame (by id), the names whose values the artifact writes hold."""
        out: dict[int, set[str]] = {}
        if self.artifact is None:
            return out
        for write in self.artifact_writes:
            for frame_id, names in self.written(write, derived=derived).names.items():
                out.setdefault(frame_id, set()).update(names)
        return out

    @cached_property
    def paid(self) -> dict[int, set[str]]:
        """Names whose values are written into the artifact (their bytes are paid for)."""
        return self._stored(derived=False)

    @cached_property
    def feeds_artifact(self) -> dict[int, set[str]]:
        """Names whose values the artifact is computed from (a table built from them, say)."""
        return self._stored(derived=True)

    def is_paid(self, item: Item) -> bool:
        use = item.event
        assert isinstance(use, TrainUse)
        return self._in_frames(use.names, item, self.paid)

    def may_be_paid(self, item: Item) -> bool:
        use = item.event
        assert isinstance(use, TrainUse)
        return self._in_frames(use.names, item, self.feeds_artifact, every=False)

    @staticmethod
    def _in_frames(
        names: frozenset[str], item: Item, table: dict[int, set[str]], *, every: bool = True
    ) -> bool:
        known: set[str] = set()
        frame: Frame | None = item.frame
        while frame is not None:
            known |= table.get(id(frame), set())
            frame = frame.parent
        return names <= known if every else bool(names & known)

    # -- training data after the loop --------------------------------------------------------------
    def in_late_eval_function(self, item: Item) -> bool:
        """Whether ``item`` runs inside a function that scores, entered after training ended."""
        frame: Frame | None = item.frame
        while frame is not None:
            if frame.start > self.train_end and self._scores_itself(frame.fn):
                return True
            frame = frame.parent
        return False

    def _scores_itself(self, fn: Function) -> bool:
        own = {a.where.seq for a in fn.accumulations}
        return any(s.where.seq in own for s in self.training.scores(fn))

    def train_reads(self) -> Iterator[Item]:
        """Uses of training data after the main training loop, in run order."""
        if self.main is None:
            return
        for item in self.items[self.train_end + 1 :]:
            if item.kind == "train-use" and not self.is_paid(item):
                yield item

    def at_eval(self, item: Item) -> bool:
        return (
            self.eval_start is not None and item.index >= self.eval_start
        ) or self.in_late_eval_function(item)

    def first_train_line(self) -> int | None:
        uses = [i for i in self.items if i.kind == "train-use"]
        return uses[0].line if uses else None


def _if_statements(root: cst.CSTNode) -> dict[int, cst.If]:
    """Every ``if`` statement under ``root``, nested functions' included, by its test (id).

    An ``if`` is a statement: it sits in a block of a compound statement, never in a simple
    statement line or an expression, so the walk skips those (most of a function's nodes)."""
    out: dict[int, cst.If] = {}
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        if type(node) is cst.If:
            out[id(node.test)] = node
        stack.extend(child for child in children(node) if type(child) in HOLDS_STATEMENTS)
    return out


def _only_rearms_timer(found: cst.If) -> bool:
    """Whether the ``if`` statement ``found`` only throttles: its body neither leaves the loop
    nor sets a flag, it just moves the timestamp the test measures from (``if now - last_log >
    30: print(...); last_log = now``), so it never stops anything. A value that is not a clock
    reading (``stop_after = step``) is a stop flag."""
    intervals = _intervals(found.test)
    assigned = False
    for small in flow.statements(found.body):
        if isinstance(small, cst.Break | cst.Return | cst.Raise | cst.BaseCompoundStatement):
            return False  # it leaves, or holds statements that may
        if isinstance(small, cst.Assign | cst.AugAssign | cst.AnnAssign):
            if not isinstance(small, cst.Assign) or len(small.targets) != 1:
                return False
            target, value = small.targets[0].target, small.value
            if not isinstance(target, cst.Name):
                return False
            rearmed = _is_clock_call(value) and any(since == target.value for _, since in intervals)
            rearmed = rearmed or (
                isinstance(value, cst.Name) and (value.value, target.value) in intervals
            )
            if not rearmed:
                return False
            assigned = True
    return assigned


def _intervals(test: cst.CSTNode) -> set[tuple[str, str]]:
    """``(now, last)`` for every ``now - last`` in ``test`` (``now`` empty when not a name)."""
    out: set[tuple[str, str]] = set()
    stack = [test]
    while stack:
        node = stack.pop()
        if (
            isinstance(node, cst.BinaryOperation)
            and isinstance(node.operator, cst.Subtract)
            and isinstance(node.right, cst.Name)
        ):
            now = node.left.value if isinstance(node.left, cst.Name) else ""
            out.add((now, node.right.value))
        stack.extend(children(node))
    return out


def _is_clock_call(node: cst.BaseExpression) -> bool:
    """``time.perf_counter()``, ``time.time()``, ``perf_counter()``..."""
    if not isinstance(node, cst.Call):
        return False
    func = node.func
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    return name in ("perf_counter", "time", "monotonic", "perf_counter_ns", "monotonic_ns")
