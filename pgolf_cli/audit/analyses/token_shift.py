"""Token-shift mixing layers and whether they stop at document boundaries.

A token shift mixes each position's hidden state with the previous position's
(``torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], 1)``, "SmearGate"). In a row that packs
several documents, the first token of a document then receives the last token of the previous
one unless the shifted term is masked at BOS positions.

Only functions whose text holds a previous-position slice (``[:, :-1]``) or a ``roll(`` are
walked, statement by statement, with a small abstract value per expression:

- ``current``: tensors referenced at their own positions (``x``, ``x[:, 1:]``, ``norm(x)``);
- ``shifted`` / ``masked``: tensors whose previous-position copy the value holds, without /
  with a mask (``x[:, :-1]``, ``cat([zeros, x[:, :-1]], 1)``, ``F.pad(x[:, :-1], ...)``,
  ``roll(x, 1, 1)``; masked once multiplied by, or filled where, a comparison says so);
- ``cmp``: derived from a comparison (``ids[:, 1:] != BOS_ID``, ``doc[:, 1:] == doc[:, :-1]``);
- ``ids``: integer id arithmetic (``t[:, 1:] * 1024 + t[:, :-1]``, hashing) — not mixing;
- ``outside``: parameters of the function the value derives from (a mask passed in).

A *mix* is an addition (or ``lerp``) of a tensor's shifted copy and the same tensor.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace

import libcst as cst

from pgolf_cli.audit.facts import Facts, Function, Gate, code_of, receiver_of
from pgolf_cli.audit.flow import Guard, NamesFlow
from pgolf_cli.audit.module_reach import ModuleReach
from pgolf_cli.audit.nodes import children

_PREVIOUS_SLICE = re.compile(r":\s*,\s*(?:0\s*)?:\s*-\s*1\b")
"""``[:, :-1]`` / ``[:, 0:-1]`` in a line of text: a function holding one may shift tokens."""
_ROLL = re.compile(r"\broll\s*\(")
"""``roll(`` in a line of text (searched only in lines holding ``roll``: the leading ``\b`` makes
the regex engine try every position of the line)."""
_PRESERVING = {
    "cat",
    "concat",
    "concatenate",
    "pad",
    "where",
    "mul",
    "multiply",
    "masked_fill",
    "masked_fill_",
    "mul_",
    "type_as",
    "to",
    "float",
    "half",
    "bfloat16",
    "contiguous",
    "view",
    "reshape",
    "clone",
    "unsqueeze",
}
_MASKING = {"where", "mul", "multiply", "masked_fill", "masked_fill_", "mul_"}
_COMPARING = {"eq", "ne", "eq_", "ne_", "isin", "lt", "gt", "le", "ge", "logical_not"}
_MIXING = {"lerp", "lerp_"}
_REDUCING = {"mean", "sum", "norm", "max", "min", "amax", "amin", "std", "var", "item", "prod"}
_CONSTANT_NAMES = {"None", "True", "False"}
_HASHING = (
    cst.Modulo,
    cst.BitXor,
    cst.BitAnd,
    cst.BitOr,
    cst.LeftShift,
    cst.RightShift,
    cst.FloorDivide,
)
_SEQUENCE_DIMS = {"1", "-2"}
_OPAQUE: frozenset[type[cst.CSTNode]] = frozenset(
    {cst.Lambda, cst.SimpleString, cst.Integer, cst.Float}
)
"""Expressions that hold no tensor (a lambda's body runs elsewhere)."""


@dataclass(frozen=True, slots=True)
class _Value:
    current: frozenset[str] = frozenset()
    shifted: frozenset[str] = frozenset()
    masked: frozenset[str] = frozenset()
    outside: frozenset[str] = frozenset()
    cmp: bool = False
    ids: bool = False

    @property
    def constant(self) -> bool:
        return not (self.current or self.shifted or self.masked)

    def __or__(self, other: _Value) -> _Value:
        """Both together; a mask combined with anything but a constant or a mask is no mask."""
        if self.constant and not self.cmp:
            cmp = other.cmp
        elif other.constant and not other.cmp:
            cmp = self.cmp
        else:
            cmp = self.cmp and other.cmp
        return _Value(
            self.current | other.current,
            self.shifted | other.shifted,
            self.masked | other.masked,
            self.outside | other.outside,
            cmp,
            self.ids or other.ids,
        )

    def mask(self) -> _Value:
        return _Value(
            self.current, frozenset(), self.masked | self.shifted, self.outside, self.cmp, self.ids
        )

    def without_shift(self) -> _Value:
        return _Value(self.current, frozenset(), frozenset(), self.outside, self.cmp, self.ids)


_EMPTY = _Value()


@dataclass(frozen=True, slots=True)
class Mix:
    """A tensor mixed with its own previous position."""

    function: Function
    line: int
    base: str
    shift_line: int
    guards: tuple[Guard, ...]
    masked: bool
    passed_in: tuple[str, ...]
    """Parameters (other than the mixed tensor's sources) that multiply the shifted term: a mask
    or a gate computed by the caller, which pgolf cannot tell apart."""


def _is_minus_one(node: cst.BaseExpression | None) -> bool:
    return (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
        and node.expression.value == "1"
    )


def _is_previous_positions(node: cst.Subscript) -> bool:
    """``x[:, :-1]`` / ``x[:, :-1, :]``: every position but the last along the sequence axis."""
    if len(node.slice) < 2:
        return False
    batch, seq = node.slice[0].slice, node.slice[1].slice
    return (
        isinstance(batch, cst.Slice)
        and batch.lower is None
        and batch.upper is None
        and isinstance(seq, cst.Slice)
        and seq.step is None
        and (seq.lower is None or code_of(seq.lower) == "0")
        and _is_minus_one(seq.upper)
    )


def _int_literal(node: cst.BaseExpression) -> int | None:
    return int(node.value, 0) if isinstance(node, cst.Integer) else None


class _Walk(NamesFlow[_Value]):
    empty = _EMPTY

    def __init__(self, facts: Facts, fn: Function) -> None:
        super().__init__(facts.line_of, fn.line)
        self.facts = facts
        self.fn = fn
        params = fn.params[1:] if fn.class_name is not None else fn.params
        self.params = frozenset(params)
        self.state: dict[str, _Value] = {}
        self.shift_lines: dict[str, int] = {}
        self.hashed = 0
        self.mixes: list[Mix] = []

    # -- expressions ---------------------------------------------------------------------
    def name(self, name: str) -> _Value:
        held = self.state.get(name, _EMPTY)
        outside = frozenset({name}) if name in self.params and name not in self.state else None
        return replace(
            held,
            current=held.current | {name},
            outside=held.outside if outside is None else held.outside | outside,
        )

    def shifted(self, base: cst.BaseExpression, value: _Value) -> _Value:
        code = code_of(base)
        self.shift_lines[code] = self.line
        return _Value(
            shifted=frozenset({code}), outside=value.outside, cmp=value.cmp, ids=value.ids
        )

    def ev(self, node: cst.CSTNode) -> _Value:
        # Exact types, not isinstance (an ABC check on libcst nodes): every node of the walked
        # expressions comes here, and none of these node classes has a subclass.
        if type(node) in _OPAQUE:
            return _EMPTY
        if type(node) is cst.Name:
            return _EMPTY if node.value in _CONSTANT_NAMES else self.name(node.value)
        if type(node) is cst.Attribute:
            code = code_of(node)
            held = self.state.get(code, _EMPTY)
            return replace(held, current=held.current | {code})
        if type(node) is cst.Subscript:
            base = self.ev(node.value)
            index = _EMPTY
            for element in node.slice:
                index = index | self.ev(element.slice)
            if _is_previous_positions(node) and isinstance(node.value, cst.Name | cst.Attribute):
                return self.shifted(node.value, base)
            return replace(base | index.without_shift(), cmp=base.cmp)
        if type(node) is cst.Call:
            return self.call(node)
        if type(node) is cst.BinaryOperation:
            return self.binary(node)
        if type(node) is cst.Comparison:
            out = _EMPTY
            for child in children(node):
                out = out | self.ev(child)
            return _Value(current=out.current, outside=out.outside, cmp=True)
        if type(node) is cst.IfExp:
            return self.ev(node.body) | self.ev(node.orelse)
        out = _EMPTY
        for child in children(node):
            out = out | self.ev(child)
        return out

    def binary(self, node: cst.BinaryOperation) -> _Value:
        op = node.operator
        if isinstance(op, _HASHING):
            self.hashed += 1
            out = self.ev(node.left) | self.ev(node.right)
            self.hashed -= 1
            # `(ids != BOS) & (pos > 0)` combines masks; anything else is id arithmetic.
            return replace(out, ids=not out.cmp)
        left, right = self.ev(node.left), self.ev(node.right)
        out = left | right
        if isinstance(op, cst.Multiply | cst.MatrixMultiply):
            scale = [_int_literal(node.left), _int_literal(node.right)]
            if any(s is not None and s >= 2 for s in scale):
                out = replace(out, ids=True)
            if left.cmp or right.cmp:
                out = out.mask()
        elif isinstance(op, cst.Add):
            out = self.mix(left, right, out)
        return out

    def mix(self, a: _Value, b: _Value, out: _Value) -> _Value:
        """``a + b`` where one side holds a tensor's shifted copy and the other the tensor."""
        if self.hashed or a.ids or b.ids:
            return out
        mixed: set[str] = set()
        for side, other in ((a, b), (b, a)):
            for base in sorted((side.shifted | side.masked) & other.current):
                mixed.add(base)
                sources = self.state.get(base, _EMPTY).outside | {base}
                self.mixes.append(
                    Mix(
                        self.fn,
                        self.line,
                        base,
                        self.shift_lines.get(base, self.line),
                        tuple(self.guards),
                        base not in side.shifted,
                        tuple(sorted(side.outside - sources)),
                    )
                )
        if not mixed:
            return out
        return _Value(
            out.current,
            out.shifted - mixed,
            out.masked - mixed,
            out.outside,
            out.cmp,
            out.ids,
        )

    def call(self, node: cst.Call) -> _Value:
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else None
        if isinstance(func, cst.Name):
            name = func.value
        method = isinstance(func, cst.Attribute) and not self.is_module(func)
        receiver = self.ev(func.value) if method and isinstance(func, cst.Attribute) else _EMPTY
        args = [self.ev(a.value) for a in node.args]
        if name in ("roll", "roll_"):
            rolled = self.roll(node, func)
            if rolled is not None:
                return rolled
        parts = [receiver, *args] if method else args
        if name in _MIXING and len(parts) >= 2:
            rest = _EMPTY
            for part in parts[2:]:
                rest = rest | part
            return self.mix(parts[0], parts[1], parts[0] | parts[1]) | rest
        out = _EMPTY
        for arg in args:
            out = out | arg
        if name in _PRESERVING:
            cmp = out.cmp
        else:
            out = out.without_shift()
            cmp = False
        out = out | (receiver.without_shift() if name in _REDUCING else receiver)
        if method:
            cmp = receiver.cmp  # `mask.unsqueeze(-1).to(x.dtype)` is still the mask
        if name in _MASKING and any(part.cmp for part in parts):
            out = out.mask()
            # A gate zeroed where a comparison says so (`g.masked_fill(is_bos, 0)`), holding no
            # shifted copy itself, masks whatever shifted term it later multiplies.
            if not any(part.shifted or part.masked for part in parts):
                cmp = True
        return replace(out, cmp=cmp or name in _COMPARING)

    def roll(self, node: cst.Call, func: cst.BaseExpression) -> _Value | None:
        """``torch.roll(x, 1, 1)``, ``x.roll(shifts=1, dims=1)``: the previous positions of ``x``."""
        positional = [a.value for a in node.args if a.keyword is None]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        if isinstance(func, cst.Attribute) and not self.is_module(func):
            tensor: cst.BaseExpression | None = func.value
        else:
            tensor = positional.pop(0) if positional else keywords.get("input")
        shifts = keywords.get("shifts", positional[0] if positional else None)
        dims = keywords.get("dims", positional[1] if len(positional) > 1 else None)
        if (
            tensor is None
            or shifts is None
            or dims is None
            or code_of(shifts) != "1"
            or code_of(dims).strip("()[],") not in _SEQUENCE_DIMS
            or not isinstance(tensor, cst.Name | cst.Attribute)
        ):
            return None
        return self.shifted(tensor, self.ev(tensor))

    def is_module(self, func: cst.Attribute) -> bool:
        """``torch.roll`` / ``F.pad``: a function of an imported module, not a tensor method."""
        return isinstance(func.value, cst.Name) and func.value.value in self.facts.imports

    # -- statements ----------------------------------------------------------------------
    def assign(self, target: cst.BaseExpression, value: _Value) -> None:
        if isinstance(target, cst.Name | cst.Attribute):
            self.state[code_of(target)] = value
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self.assign(element.value, value)
        elif isinstance(target, cst.Subscript):
            index = _EMPTY
            for part in target.slice:
                index = index | self.ev(part.slice)
            owner = code_of(target.value)
            held = self.state.get(owner, _EMPTY) | value
            # `prev[is_bos] = 0`: zeroing where a comparison says so is a mask.
            self.state[owner] = held.mask() if index.cmp else held

    def small(self, stmt: cst.BaseSmallStatement) -> None:
        if isinstance(stmt, cst.Assign):
            self.assign_each(stmt, self.ev)
        elif isinstance(stmt, cst.AnnAssign) and stmt.value is not None:
            self.assign(stmt.target, self.ev(stmt.value))
        elif isinstance(stmt, cst.AugAssign):
            current, added = self.ev(stmt.target), self.ev(stmt.value)
            combined = current | added
            if isinstance(stmt.operator, cst.AddAssign):
                combined = self.mix(current, added, combined)
            elif isinstance(stmt.operator, cst.MultiplyAssign) and (current.cmp or added.cmp):
                combined = combined.mask()
            if isinstance(stmt.target, cst.Name | cst.Attribute):
                self.state[code_of(stmt.target)] = combined
        elif isinstance(stmt, cst.Expr):
            result = self.ev(stmt.value)
            receiver = receiver_of(stmt.value, _MASKING)
            if result.masked and isinstance(receiver, cst.Name | cst.Attribute):
                owner = code_of(receiver)  # `prev.masked_fill_(is_bos, 0)` masks in place
                self.state[owner] = self.state.get(owner, _EMPTY).mask()
        elif isinstance(stmt, cst.Return) and stmt.value is not None:
            self.ev(stmt.value)

    # -- the flow walker's hooks ---------------------------------------------------------
    def header(self, expr: cst.BaseExpression) -> _Value:
        return self.ev(expr)

    def bind(self, target: cst.BaseExpression, value: object) -> None:
        self.assign(target, value if isinstance(value, _Value) else _EMPTY)


@dataclass
class TokenShiftAnalysis:
    facts: Facts
    mixes: list[Mix] = field(default_factory=list)
    _lines: list[int] = field(default_factory=list, init=False, repr=False)
    """The lines holding a previous-position slice or a ``roll(``, in order."""

    def __post_init__(self) -> None:
        # One pass over the lines of the text, not one per function: methods and nested
        # functions would search their lines again for every function around them.
        self._lines = [
            i
            for i, text in enumerate(self.facts.text.splitlines(), 1)
            if _PREVIOUS_SLICE.search(text) or ("roll" in text and _ROLL.search(text))
        ]
        for fn in self.facts.ordered_functions():
            if fn.node is None or not self._candidate(fn.node):
                continue
            walk = _Walk(self.facts, fn)
            walk.block(fn.node.body)
            self.mixes.extend(walk.mixes)

    def _candidate(self, node: cst.FunctionDef) -> bool:
        """Whether a line of the function holds a previous-position slice or a ``roll(``."""
        first, last = self.facts.span_of(node)
        index = bisect.bisect_left(self._lines, first)
        return index < len(self._lines) and self._lines[index] <= last

    def gate(self, mix: Mix) -> Gate:
        reach = self.facts.analysis(ModuleReach).gates[mix.function.qualname]
        return self.facts.combine(reach, mix.guards)
