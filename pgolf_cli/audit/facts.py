"""The facts pre-pass: one walk over the script that every rule reads from.

The walk interprets each function's statements in order with a tiny abstract state: for every
local name, the set of *labels* its value carries. Labels say where data came from:

- ``VAL``   validation tokens (``val_tokens``, ``load_validation_tokens(...)``, ``fineweb_val_*``)
- ``TGT``   the token being scored (``y``/``tgt``/``targets``, ``tokens[i + 1]``, ``local[1:]``,
            ``tokens[i]`` where the function reads a context ``tokens[i - n : i]``)
- ``NG``    computed under ``torch.no_grad()`` / ``inference_mode()`` or in eval mode
- ``TRAIN`` training tokens (a ``fineweb_train_*`` name, or a global/attribute built from one)
- ``LOSS``  a log-loss: what ``cross_entropy`` / ``nll_loss`` / ``log_softmax`` / a logarithm of
            data return, and a model called with the targets (``model(x, y)``), and what is computed from it (not its size, ``nll.numel()``, nor a
            comparison, ``nll_a < nll_b``)
- ``CLOCK`` a wall-clock reading (``time.perf_counter()``, ``time.time()``...) and what is computed from it
- ``P<i>``  the function's i-th parameter (resolved per call site afterwards)
- ``C<fn>`` the result of calling the script's own function ``fn`` (resolved afterwards)
- ``L<n>``  the value read from candidate count table look-up number n (count tables)
- ``A<d>.<j>`` the data of parameter ``d`` (of validation data when ``d`` is empty) read at the
            positions parameter ``j`` holds (``tokens[pos]``): the scored token where a call site
            passes the positions of the targets (``np.arange(ws + 1, ...)``), so a helper that
            hashes ``tokens[pos]`` into a key returns a key built from the target there

Labels flow through assignments, calls, slices and arithmetic; a tuple a function returns keeps
its elements apart where the caller unpacks it (``obj, stats = quantize(w, hessians)``), and a
function passed to one of the script's functions that calls it (``timed_eval("final", eval_val,
model)``) is called where it is passed. Along the way the walk records
*events* — a backward pass, a score accumulation, a table look-up, a call to one of the
script's functions — each with the loops and ``if`` conditions around it. Facts that need the
whole file (which functions return validation data, which are gradient-free, which parameters
receive validation data, what runs with the default switches) are resolved after the walk
without walking again.

Nothing here executes or imports the audited code.
"""

from __future__ import annotations

import builtins
import dataclasses
import re
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, repeat
from operator import contains
from typing import Any, TypeVar, cast

import libcst as cst

from pgolf_cli.audit.choices import CHOICE_CALLS, Chooser, Selection
from pgolf_cli.audit.context import Context
from pgolf_cli.audit.findings import Evidence, Reachability, Switch
from pgolf_cli.audit.flow import (
    Flow,
    Guard,
    NamesFlow,
    comprehension_scopes,
    element_pairs,
)
from pgolf_cli.audit.nodes import HOLDS_STATEMENTS, LAYOUT, children
from pgolf_cli.audit.positions import LineMap
from pgolf_cli.audit.values import WORLD, Assigned, Evaluator, env_helper, truth

VAL = "VAL"
TGT = "TGT"
NG = "NG"
TRAIN = "TRAIN"
CLOCK = "CLOCK"
LOSS = "LOSS"

Labels = frozenset[str]
A = TypeVar("A")
EMPTY: Labels = frozenset()

_TARGET_NAME = re.compile(
    r"^(y|ys|yb|y_?batch|tgt|tgts|target|targets|target_ids|tgt_ids|gold|labels?|next_tok(en)?s?|next_ids|nxt)$"
)
_ACCUMULATOR = re.compile(r"(loss|nll|bits|bpb|byte|tok|ce|logp|neg_?log)", re.IGNORECASE)
_ACCUMULATOR_KIND = re.compile(r"(sum|total|count|cnt|acc|seen)", re.IGNORECASE)
#: Calls whose result is a log-loss (its negative, for the log-probabilities): what a running
#: score adds up, whatever the name it is added to.
_LOSS_CALLS = frozenset(
    {
        "cross_entropy",
        "nll_loss",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "log_softmax",
        "logsumexp",
    }
)
#: Logarithms: a log-loss when taken of data (``-torch.log(p)``), a constant of ``math.log(2)``.
_LOGARITHMS = frozenset({"log", "log2"})
_VAL_LOADERS = {"load_validation_tokens", "load_val_tokens"}
_GRAD_FREE_CONTEXTS = {"no_grad", "inference_mode"}
_PART_READS = ("get", "setdefault")
"""Methods that return a part of a container (the same object), not a value computed from it."""
#: Calls that count keys (``origins`` of a name bound to their result).
_HISTOGRAMS = frozenset({"numpy.bincount()", "torch.bincount()"})
_COUNT_UPDATES = {"index_put_", "put_", "index_add_", "scatter_add_", "at"}
_LINE_END = re.compile(r"\r\n|\r|\n")
_OTHER_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
"""Where ``str.splitlines`` breaks lines and Python does not (its lines end at ``_LINE_END``)."""
_SPLIT_PATH = re.compile(r"fineweb_\{(\w+)\}_")
_COLLECTION_ADDS = frozenset({"append", "appendleft", "add", "extend", "insert"})
_CHOICE_NODES = (
    cst.Comparison,
    cst.List,
    cst.Tuple,
    cst.Set,
    cst.ListComp,
    cst.GeneratorExp,
    cst.SetComp,
)
_CHOICE_NODE_TYPES: frozenset[type[cst.CSTNode]] = frozenset(_CHOICE_NODES)
_CLOCK_CALLS = frozenset(
    {
        "time.time",
        "time.time_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.monotonic",
        "time.monotonic_ns",
    }
)
_BUILTIN_CALLS = frozenset({"open"})
_PATH_CALLS = frozenset(
    {
        "glob.glob",
        "glob.iglob",
        "os.listdir",
        "os.scandir",
        "os.path.join",
        "os.path.exists",
        "os.path.isfile",
        "os.path.getsize",
        "os.path.basename",
        "os.path.dirname",
        "pathlib.Path",
    }
)
"""Builtins recorded as external calls (``builtins.open``): the files a script reads and writes."""
_NOT_DATA_CALLS = frozenset({"len", "print", "str", "repr", "type", "isinstance", "id"})
_SIZE_METHODS = frozenset({"numel", "size", "dim", "nelement", "element_size", "__len__"})
_SIZE_ATTRS = frozenset({"shape", "ndim", "nbytes", "itemsize"})
_PLACEMENT_ATTRS = frozenset({"dtype", "device"})
_LEAF_MAKERS = {"requires_grad_", "Parameter"}
_LEAF_UPDATES = {"step", "sub_", "add_", "copy_", "addcmul_", "addcdiv_", "lerp_"}


def _is_sum(value: cst.BaseExpression) -> bool:
    """``x.sum()`` / ``np.sum(x)`` / ``torch.sum(x)``, converted or not (``.item()``)."""
    while type(value) is cst.Call and type(value.func) is cst.Attribute:
        if value.func.attr.value == "sum":
            return True
        value = value.func.value
    return False


def is_accumulator(name: str) -> bool:
    """Names that hold a running score: ``loss_sum``, ``val_nll_total``, ``byte_count``..."""
    return bool(_ACCUMULATOR.search(name) and _ACCUMULATOR_KIND.search(name))


_LOSS_PART = re.compile(r"(loss|nll|bits|bpb|logp|neg_?log|(^|_)ce(_|$))", re.IGNORECASE)


def is_score_accumulator(name: str) -> bool:
    """Names of accumulators of the log-loss itself (``nll_sum``, ``loss_total``), not of the byte
    or token counts it is divided by (``byte_count``, ``token_count``). A name is only a hint:
    :meth:`Facts.score_accumulators` also finds, by data flow, what adds up a ``LOSS`` under any
    name."""
    return is_accumulator(name) and bool(_LOSS_PART.search(name))


def grad_labels(labels: Iterable[str]) -> Labels:
    """The grad-leaf labels (``G<n>``) among ``labels``."""
    return frozenset(lbl for lbl in labels if lbl.startswith("G") and lbl[1:].isdigit())


def _makes_leaf(node: cst.Call, name: str | None) -> bool:
    """``requires_grad=True``, ``.requires_grad_()``, ``nn.Parameter(...)`` unless told ``False``
    (a switch such as ``requires_grad=args.slot_bias`` counts: it may be on)."""
    flag = next(
        (
            code_of(a.value)
            for a in node.args
            if a.keyword is not None and a.keyword.value == "requires_grad"
        ),
        None,
    )
    if name == "requires_grad_":
        positional = [a for a in node.args if a.keyword is None]
        return (flag or (code_of(positional[0].value) if positional else "True")) != "False"
    if name == "Parameter":
        return flag != "False"
    return flag is not None and flag != "False"


def _calls_a_model(func: cst.BaseExpression, args: Sequence[Labels]) -> bool:
    """``model(x, y)``, ``model.token_nll(x, y)``: an object (not a function of the script, a
    library or a builtin) called with the inputs and the targets beside them returns its loss,
    as the challenge's ``GPT.forward(x, y)`` does; its result is a log-loss whatever the names.
    The inputs carry data: ``logits.gather(-1, y)`` or ``lut.index_select(0, y)`` read the
    targets' entries with a constant beside them, and are no loss."""
    if type(func) is cst.Name and func.value in _BUILTINS:
        return False
    if not (type(func) is cst.Name or type(func) is cst.Attribute):
        return False
    targets = data = False
    for labels in args:
        if TGT in labels:
            targets = True
        elif labels - {NG}:
            data = True
    return targets and data


_BUILTINS = frozenset(dir(builtins))


def _root_name(node: cst.BaseExpression) -> str | None:
    """``delta`` for ``delta``, ``delta.data``, ``delta[0]``."""
    while type(node) is cst.Attribute or type(node) is cst.Subscript:
        node = node.value
    return node.value if type(node) is cst.Name else None


def _is_val_name(name: str) -> bool:
    return "val_tokens" in name


def _is_one(node: cst.BaseExpression | None) -> bool:
    return type(node) is cst.Integer and node.value == "1"


def _is_offset(node: cst.BaseExpression | None) -> bool:
    """A positive constant: how far the targets run ahead of a window's start."""
    return type(node) is cst.Integer and node.evaluated_value > 0


def _is_input_window(node: cst.BaseExpression) -> bool:
    """``tokens[:-1]`` (also ``tokens[:, :-1]``): every position but the last, the inputs."""
    if type(node) is not cst.Subscript or not node.slice:
        return False
    last = node.slice[-1].slice
    return (
        type(last) is cst.Slice
        and last.lower is None
        and type(last.upper) is cst.UnaryOperation
        and type(last.upper.operator) is cst.Minus
        and _is_one(last.upper.expression)
    )


def _plus_one(node: cst.BaseExpression | None) -> bool:
    return (
        type(node) is cst.BinaryOperation and type(node.operator) is cst.Add and _is_one(node.right)
    )


def _sum_with_one(node: cst.BaseExpression | None) -> bool:
    """A sum one of whose terms is ``1``: the end of a window that starts one position later
    (``i + 1 + seq_len``, ``i + seq_len + 1``, ``1 + end``)."""
    terms: list[cst.BaseExpression] = []
    while type(node) is cst.BinaryOperation and type(node.operator) is cst.Add:
        terms.append(node.right)
        node = node.left
    return bool(terms) and (any(_is_one(t) for t in terms) or _is_one(node))


#: Nodes the scans of this module never look inside: names and literals have no children, and
#: whitespace, newlines and semicolons hold no code (a third of a file's nodes). Skipping them
#: by exact type saves a `children` call each; each scan tests the types it reads first.
_OPAQUE: frozenset[type[cst.CSTNode]] = (
    frozenset[type[cst.CSTNode]](
        {
            cst.Name,
            cst.Integer,
            cst.Float,
            cst.Imaginary,
            cst.SimpleString,
            cst.FormattedStringText,
        }
    )
    | LAYOUT
)


def _context_ends(
    body: Sequence[cst.CSTNode], may_slice: Callable[[cst.CSTNode], bool]
) -> frozenset[tuple[str, str]]:
    """``(sequence, position)`` of each context window of a scope: ``seq[pos - n : pos]``,
    ``seq[max(0, pos - n) : pos]`` or the whole prefix ``seq[:pos]``, the tokens before a
    position that moves (not a constant). Read in the same scope (before or after the window),
    ``seq[pos]`` is the token they predict: the target, whatever it is called. Nested
    functions are scopes of their own. The small statements ``may_slice`` rules out (see
    :meth:`Facts.may_slice`: no ``[`` or no ``:`` on their lines) hold no slice, so no window:
    most of a body's expressions are not visited."""
    out: set[tuple[str, str]] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is cst.FunctionDef or kind is cst.ClassDef or kind in _OPAQUE:
            continue
        if type(node) is cst.SimpleStatementLine:
            stack.extend(s for s in node.body if may_slice(s))
            continue
        if type(node) is cst.Subscript:
            window = node
            part = window.slice[0].slice if len(window.slice) == 1 else None
            if (
                type(part) is cst.Slice
                and part.upper is not None
                and part.step is None
                and _moves(part.upper)
                and _ends_before(part.lower, code_of(part.upper))
            ):
                out.add((code_of(window.value), code_of(part.upper)))
        stack.extend(children(node))
    return frozenset(out)


def _moves(node: cst.BaseExpression) -> bool:
    """Not a constant (``i``, ``pos + k``; not ``8`` or ``-1``)."""
    while type(node) is cst.UnaryOperation:
        node = node.expression
    return type(node) is not cst.Integer


def _ends_before(lower: cst.BaseExpression | None, upper: str) -> bool:
    """A window's start below its end ``upper``: none (the prefix), ``upper - n``, or
    ``max(0, upper - n)``."""
    if lower is None:
        return True
    if type(lower) is cst.Call and callee_name(lower.func) == "max":
        return any(_ends_before(a.value, upper) for a in lower.args)
    return (
        type(lower) is cst.BinaryOperation
        and type(lower.operator) is cst.Subtract
        and code_of(lower.left) == upper
    )


def _next_positions(node: cst.BaseExpression, known: set[str]) -> bool:
    """Positions one past a start, as an array: ``np.arange(ws + s + 1, ws + end + 1)`` (the
    targets of the window), or a selection of such an array (``global_j[idx]``)."""
    if type(node) is cst.Subscript:
        return type(node.value) is cst.Name and node.value.value in known
    if type(node) is cst.Call and (type(node.func) is cst.Name or type(node.func) is cst.Attribute):
        name = callee_name(node.func)
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        return name == "arange" and len(positional) >= 2 and _plus_one(positional[0])
    return False


def dotted(node: cst.BaseExpression) -> str | None:
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        inner = dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr.value}"
    return None


# The helpers below test exact node types (see `nodes._is_node` for why not isinstance).


def last_name(node: cst.BaseExpression) -> str | None:
    """``self.full_table`` -> "full_table"; ``counts`` -> "counts"."""
    named = callee_name(node)
    if named is not None:
        return named
    if type(node) is cst.Subscript:
        return last_name(node.value)
    if type(node) is cst.Call:
        func = node.func
        if type(func) is cst.Attribute:
            return last_name(func.value)  # `t.setdefault(k, {})[x] += 1`
    return None


def receiver_of(node: cst.BaseExpression, methods: Collection[str]) -> cst.BaseExpression | None:
    """What ``node`` calls one of ``methods`` on (``parts.append(x)`` gives ``parts``), or None."""
    if (
        type(node) is cst.Call
        and type(node.func) is cst.Attribute
        and node.func.attr.value in methods
    ):
        return node.func.value
    return None


def callee_name(func: cst.BaseExpression) -> str | None:
    # Asked of every call the walk reads: narrowed by exact type, not `cast` (a call each).
    if type(func) is cst.Name:
        return func.value
    if type(func) is cst.Attribute:
        return func.attr.value
    return None


def _string_text(node: cst.CSTNode) -> str | None:
    if type(node) is cst.SimpleString or type(node) is cst.FormattedStringText:
        return node.value
    return None


_CODE = cst.Module(body=[])


def code_of(node: cst.CSTNode) -> str:
    """Source text of an expression with all whitespace removed (for comparing bounds).

    Removing whitespace is a filter on each character, so the text of a node is that of its
    tokens and parts in libcst's order: names, attributes, calls, subscripts and operations are
    put together here (the analyses compare thousands of tests and bounds per file, and
    libcst's code generator costs ~100 times more), anything else is generated by libcst."""
    # Narrowed by exact type (no `cast`, a function call each: code_of is asked ~10^4 times).
    if (
        type(node) is cst.Name
        or type(node) is cst.Integer
        or type(node) is cst.Float
        or type(node) is cst.Imaginary
    ):
        text = node.value
    elif type(node) is cst.SimpleString:
        text = "".join(node.value.split())
    elif type(node) is cst.Attribute:
        text = code_of(node.value) + _token(node.dot) + code_of(node.attr)
    elif type(node) is cst.Call:
        last = len(node.args) - 1
        text = _enclosed(
            code_of(node.func) + _space(node.whitespace_after_func),
            "(",
            _space(node.whitespace_before_args),
            *(_argument(arg, i != last) for i, arg in enumerate(node.args)),
            ")",
        )
    elif type(node) is cst.Subscript:
        last = len(node.slice) - 1
        text = _enclosed(
            code_of(node.value) + _space(node.whitespace_after_value),
            "[",
            _space(node.lbracket.whitespace_after),
            *(_element(e, i != last) for i, e in enumerate(node.slice)),
            _space(node.rbracket.whitespace_before),
            "]",
        )
    elif type(node) is cst.BinaryOperation or type(node) is cst.BooleanOperation:
        text = code_of(node.left) + _token(node.operator) + code_of(node.right)
    elif type(node) is cst.UnaryOperation:
        text = _token(node.operator) + code_of(node.expression)
    elif type(node) is cst.Comparison:
        text = code_of(node.left) + "".join(
            _token(target.operator) + code_of(target.comparator) for target in node.comparisons
        )
    else:
        return _generated(node)
    parenthesized = cast(cst.Name, node)  # every node above carries `lpar` / `rpar`
    if parenthesized.lpar or parenthesized.rpar:
        text = (
            "".join("(" + _space(p.whitespace_after) for p in parenthesized.lpar)
            + text
            + "".join(_space(p.whitespace_before) + ")" for p in parenthesized.rpar)
        )
    return text


def _generated(node: cst.CSTNode) -> str:
    return "".join(_CODE.code_for_node(node).split())


def _enclosed(head: str, *parts: str) -> str:
    """A call's or a subscript's text: what is called or indexed, then its bracketed parts."""
    return head + "".join(parts)


def _space(node: cst.BaseParenthesizableWhitespace) -> str:
    """Whitespace between tokens: nothing once removed, unless it holds a comment or a line
    continuation (inside brackets), which libcst prints."""
    if type(node) is cst.SimpleWhitespace:
        return "".join(node.value.split())
    return _generated(node)


#: The text of the one-token operators and punctuation (`NotEqual` keeps its own, `!=` or `<>`).
_TOKENS: dict[type[cst.CSTNode], str] = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.FloorDivide: "//",
    cst.Modulo: "%",
    cst.Power: "**",
    cst.LeftShift: "<<",
    cst.RightShift: ">>",
    cst.BitOr: "|",
    cst.BitAnd: "&",
    cst.BitXor: "^",
    cst.MatrixMultiply: "@",
    cst.LessThan: "<",
    cst.GreaterThan: ">",
    cst.Equal: "==",
    cst.LessThanEqual: "<=",
    cst.GreaterThanEqual: ">=",
    cst.In: "in",
    cst.Is: "is",
    cst.And: "and",
    cst.Or: "or",
    cst.Dot: ".",
    cst.Comma: ",",
    cst.Colon: ":",
    cst.AssignEqual: "=",
}
_UNARY_TOKENS: dict[type[cst.CSTNode], str] = {
    cst.Plus: "+",
    cst.Minus: "-",
    cst.BitInvert: "~",
    cst.Not: "not",
}
_TWO_TOKENS: dict[type[cst.CSTNode], tuple[str, str]] = {
    cst.NotIn: ("not", "in"),
    cst.IsNot: ("is", "not"),
}


def _token(node: cst.CSTNode) -> str:
    """An operator or punctuation with the whitespace it owns, as :func:`code_of` writes it."""
    kind = type(node)
    token = _TOKENS.get(kind)
    if token is not None or kind is cst.NotEqual:
        op = cast(cst.Add, node)  # every one-token operator owns the space on both sides
        if token is None:
            token = cast(cst.NotEqual, node).value
        return _space(op.whitespace_before) + token + _space(op.whitespace_after)
    token = _UNARY_TOKENS.get(kind)
    if token is not None:
        return token + _space(cast(cst.Minus, node).whitespace_after)
    pair = _TWO_TOKENS.get(kind)
    if pair is not None:
        two = cast(cst.NotIn, node)
        return (
            _space(two.whitespace_before)
            + pair[0]
            + _space(two.whitespace_between)
            + pair[1]
            + _space(two.whitespace_after)
        )
    return _generated(node)


def _argument(arg: cst.Arg, default_comma: bool) -> str:
    """An argument as libcst writes it (a missing comma between arguments is written)."""
    text = arg.star + _space(arg.whitespace_after_star)
    if arg.keyword is not None:
        text += code_of(arg.keyword)
    if arg.equal is cst.MaybeSentinel.DEFAULT and arg.keyword is not None:
        text += "="
    elif type(arg.equal) is cst.AssignEqual:
        text += _token(arg.equal)
    text += code_of(arg.value) + _comma(arg.comma, default_comma)
    return text + _space(arg.whitespace_after_arg)


def _element(element: cst.SubscriptElement, default_comma: bool) -> str:
    inner = element.slice
    if type(inner) is cst.Index:
        text: str = inner.star or ""
        if inner.whitespace_after_star is not None:
            text += _space(inner.whitespace_after_star)
        text += code_of(inner.value)
    elif type(inner) is cst.Slice:
        text = code_of(inner.lower) if inner.lower is not None else ""
        text += _token(inner.first_colon)
        text += code_of(inner.upper) if inner.upper is not None else ""
        if inner.second_colon is cst.MaybeSentinel.DEFAULT and inner.step is not None:
            text += ":"
        elif type(inner.second_colon) is cst.Colon:
            text += _token(inner.second_colon)
        text += code_of(inner.step) if inner.step is not None else ""
    else:
        text = _generated(inner)
    return text + _comma(element.comma, default_comma)


def _comma(comma: cst.Comma | cst.MaybeSentinel, default: bool) -> str:
    if comma is cst.MaybeSentinel.DEFAULT and default:
        return ","
    return _token(comma) if type(comma) is cst.Comma else ""


@dataclass(frozen=True, slots=True)
class Loop:
    id: int
    line: int
    targets: frozenset[str]
    iter_labels: Labels
    iter_node: cst.BaseExpression | None = None
    """What a ``for`` loop iterates over (``range(epochs)``); None for ``while``."""
    body: cst.BaseSuite | None = None


@dataclass(frozen=True, slots=True)
class Backward:
    """``<loss>.backward()`` (or ``torch.autograd.backward/grad``) on a value with ``labels``."""

    where: Context
    labels: Labels
    slices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Accumulation:
    """``<accumulator> += value``: a candidate score record."""

    where: Context
    target: str
    labels: Labels
    slices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TableUpdate:
    """``table[key] += v``, ``np.add.at(table, key, v)``, ``table.index_add_(...)``: state that
    data is written into (an n-gram cache filled from the tokens it reads)."""

    where: Context
    table: str
    owner: Labels
    """What the table expression itself carries (``self.counts`` carries ``self``'s ``P0``)."""
    labels: Labels
    """What the key and the written value carry."""
    table_id: str = "?"
    """Which binding the table is (see :meth:`Facts.table_id`)."""


@dataclass(frozen=True, slots=True)
class Lookup:
    """``table[key]`` / ``table.get(key)`` read with a key carrying the scored token."""

    where: Context
    table: str
    label: str
    key_labels: Labels
    node: cst.CSTNode | None = None
    """The read itself (the ``Subscript`` or the ``.get`` call), for rules that judge expressions."""
    table_labels: Labels = EMPTY
    """What the table's own value carries: a vocabulary look-up table carries no validation data."""
    table_id: str = "?"
    """Which binding the table is (see :meth:`Facts.table_id`)."""


@dataclass(slots=True, unsafe_hash=True)  # not frozen, for speed (see `Context`)
class CallSite:
    where: Context
    callee: str
    args: tuple[Labels, ...]
    kwargs: tuple[tuple[str, Labels], ...]
    slices: tuple[str, ...]
    arg_names: tuple[str | None, ...] = ()
    """The table-like name passed at each position (to follow count tables into helpers)."""
    arg_ids: tuple[str | None, ...] = ()
    """The binding passed at each position where it is a name or an attribute (see
    :meth:`Facts.table_id`), matching ``arg_names``."""
    reference: bool = False
    """The function is passed as a value (a callback) rather than called here."""
    receiver_name: str | None = None
    """The object a method is called on (``cache`` in ``cache.update(chunk)``)."""
    kwarg_names: tuple[tuple[str, str | None], ...] = ()
    """The name passed for each keyword (``("model", "ema_model")``)."""
    unpacked: bool = False
    """The call spreads ``*args`` or ``**kwargs``: which parameter receives what is not known."""

    def passed(self, params: Sequence[str], index: int) -> Labels:
        """What the call passes for parameter ``index`` of a callee with ``params``: by position
        or by keyword; nothing when it passes neither."""
        if index < len(self.args):
            return self.args[index]
        if index < len(params):
            return next((v for k, v in self.kwargs if k == params[index]), EMPTY)
        return EMPTY


@dataclass(slots=True, unsafe_hash=True)  # not frozen, for speed (see `Context`)
class ExternalCall:
    """A call to something the script imports, named by its import-resolved dotted path.

    ``urllib.request.urlopen`` for ``ur.urlopen(...)`` after ``import urllib.request as ur``;
    a method called on the direct result of such a call gets ``()`` in its path:
    ``socket.socket().connect`` for ``s = socket.socket(); s.connect(addr)``.
    """

    where: Context
    name: str
    node: cst.Call
    labels: Labels = EMPTY
    """What the receiver and the arguments carry (what a ``torch.save`` or ``f.write`` writes)."""


@dataclass(frozen=True, slots=True)
class TrainUse:
    """An expression that uses training data (a value carrying ``TRAIN``) beyond its size or name.

    ``names`` are the names (``.attr`` for attributes of ``self``-like objects) whose values carry
    ``TRAIN`` there; formatting them into a message, ``len(...)``, ``.numel()`` and ``.shape`` are
    not uses.
    """

    where: Context
    names: frozenset[str]


@dataclass(slots=True, unsafe_hash=True)  # not frozen, for speed (see `Context`)
class Condition:
    """The test of an ``if`` or ``while`` whose value carries labels (``CLOCK``, ``P<i>``, ``C<fn>``...).

    ``stops`` when the test ends the loop: a ``while`` test, or an ``if`` whose body breaks,
    returns, raises or sets a flag for a later exit (``stop = True``).
    """

    where: Context
    labels: Labels
    stops: bool
    test: cst.BaseExpression


@dataclass(frozen=True, slots=True)
class GradLeaf:
    """A tensor made trainable where the function creates it (``torch.zeros(..., requires_grad=True)``,
    ``t.requires_grad_()``, ``nn.Parameter(...)``); its ``G<n>`` label follows every value computed
    from it (a tensor fitted at eval time)."""

    where: Context
    label: str


@dataclass(frozen=True, slots=True)
class LeafStep:
    """An update of values carrying grad-leaf labels (or parameters, resolved per call site):
    ``opt.step()`` on an optimizer built over them, an in-place ``sub_``/``add_``/``copy_``,
    ``t -= ...``, or ``torch.autograd.grad`` asked for their gradients."""

    where: Context
    labels: Labels


@dataclass(eq=False)
class Function:
    qualname: str
    name: str
    params: tuple[str, ...]
    line: int
    node: cst.FunctionDef | None
    class_name: str | None = None
    grad_free_decorator: bool = False
    free: tuple[str, ...] = ()
    """Names of the enclosing function this nested function reads (a closure): they end
    ``params``, and each call site passes what the caller holds under those names."""
    enclosing: str | None = None
    """The function this one is nested in (its closure's scope)."""
    local_names: frozenset[str] = frozenset()
    """The names local to this function (Python's rule: its parameters and what its own
    statements bind, less what it declares ``global`` / ``nonlocal``)."""
    global_names: frozenset[str] = frozenset()
    """The names it declares ``global``."""
    has_no_grad_block: bool = False
    loops: dict[int, Loop] = field(default_factory=dict)
    backwards: list[Backward] = field(default_factory=list)
    accumulations: list[Accumulation] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    calls: list[CallSite] = field(default_factory=list)
    externals: list[ExternalCall] = field(default_factory=list)
    returns: set[str] = field(default_factory=set)
    val_lines: list[int] = field(default_factory=list)
    """Lines where validation data enters this function (a source, not a propagated label)."""
    named_val_reads: list[tuple[int, int]] = field(default_factory=list)
    """(parameter index, line) where a parameter named like validation data is read in a walk
    that leaves its label to the call sites: those lines join ``val_lines`` when a call site
    passes validation data there."""
    grad_leaves: list[GradLeaf] = field(default_factory=list)
    leaf_steps: list[LeafStep] = field(default_factory=list)
    train_uses: list[TrainUse] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)
    selection_tests: dict[int, Labels] = field(default_factory=dict)
    """``if`` tests (by node) that carry a selection: what their branches do is chosen by it."""
    updates: list[TableUpdate] = field(default_factory=list)
    records: list[Accumulation] = field(default_factory=list)
    """``a += v`` / ``parts.append(v)`` into a name not spelled like an accumulator, ``v``
    computed from the targets or by a call: a score kept under another name (minified code)."""
    position_reads: dict[str, int] = field(default_factory=dict)
    """Per ``A<d>.<j>`` label, the first line that reads data at a parameter's positions."""
    return_items: list[tuple[Labels, ...] | None] = field(default_factory=list)
    """Per ``return`` with a value, what each element of the returned tuple carries (None when
    it returns something other than a tuple literal): ``return obj, stats`` keeps what each of
    ``obj`` and ``stats`` is computed from apart."""

    def tuple_arity(self) -> int | None:
        """The one length of every tuple the function returns; None when it returns anything
        else, or tuples of several lengths."""
        lengths = {None if items is None else len(items) for items in self.return_items}
        return next(iter(lengths)) if len(lengths) == 1 else None

    def returned_items(self, arity: int) -> tuple[Labels, ...] | None:
        """What each position of the result carries, when every ``return`` gives a tuple of
        ``arity`` elements; None otherwise."""
        if not self.return_items or any(
            items is None or len(items) != arity for items in self.return_items
        ):
            return None
        return tuple(
            EMPTY.union(*(items[k] for items in self.return_items if items is not None))
            for k in range(arity)
        )

    @property
    def grad_free(self) -> bool:
        return self.grad_free_decorator or self.has_no_grad_block

    def param_index(self, label: str) -> int | None:
        if label.startswith("P") and label[1:].isdigit():
            return int(label[1:])
        return None

    def unwalked(self) -> Function:
        """The same definition with nothing its walk records."""
        fn = Function(
            self.qualname,
            self.name,
            self.params,
            self.line,
            self.node,
            self.class_name,
            self.grad_free_decorator,
        )
        fn.free = self.free
        fn.enclosing = self.enclosing
        fn.local_names = self.local_names
        fn.global_names = self.global_names
        return fn


@dataclass(frozen=True, slots=True)
class Gate:
    """Whether the official run reaches a place, and which switches decide it."""

    reach: Reachability
    switches: tuple[Switch, ...] = ()
    reachable: bool = True


_REACH_ORDER = {
    Reachability.DEFAULT_ON: 3,
    Reachability.WORLD_SIZE: 2,
    Reachability.UNKNOWN: 2,
    Reachability.OFF_BY_DEFAULT: 1,
}
UNREACHABLE = Gate(Reachability.OFF_BY_DEFAULT, (), reachable=False)


def more_enabled(a: Gate, b: Gate) -> Gate:
    """The more-enabled of two ways to reach a place (for analyses that extend reachability)."""
    return _better(a, b)


def _better(a: Gate, b: Gate) -> Gate:
    """The more-enabled of two ways to reach a place."""
    if not a.reachable:
        return b
    if not b.reachable:
        return a
    return a if _REACH_ORDER[a.reach] >= _REACH_ORDER[b.reach] else b


class _Walker(NamesFlow[Labels]):
    """Interprets one function body (or the module's top level)."""

    empty = EMPTY

    def __init__(self, facts: Facts, fn: Function, *, named_params: bool = True) -> None:
        super().__init__(facts.line_of, fn.line)
        self.facts = facts
        self.fn = fn
        self.named_params = frozenset(fn.params) if named_params else frozenset()
        """Parameters read as validation data when named like it (``val_tokens``): all of them
        where nothing says what the function receives, none where its call sites do."""
        self.state: dict[str, Labels] = {}
        self.name_slices: dict[str, tuple[str, ...]] = {}
        self.input_windows: set[str] = set()
        """Names bound to ``<tokens>[:-1]``, the inputs: their ``[1:]`` is the previous token of
        each target, not the target."""
        self.param_aliases: dict[str, int] = {p: i for i, p in enumerate(fn.params)}
        """Names that hold a parameter itself (the parameter, or ``A = pos``): the index of
        ``tokens[A]`` is then the positions a caller passes, not something computed from them."""
        self.next_positions: set[str] = set()
        """Names bound to ``<position> + 1``: indexing tokens with them reads the scored token."""
        self.tuple_items: dict[str, tuple[Labels, ...] | None] = {}
        """Per list built by appending tuples of one arity, the labels at each position."""
        self.table_parts: dict[str, str] = {}
        """Local names bound to a part of a table (``d = counts[n].get(ctx)``), to the table's
        id (see :meth:`table_id` and :meth:`note_table_part`)."""
        self.origins: dict[str, str] = {}
        """Local names bound directly to the result of an imported call (``s = socket.socket()``)."""
        self.loop_ids: list[int] = []
        self.loop_starts: list[Context | None] = []
        self.choosing: set[int] = set()
        """``if`` statements (by node) whose test carries a selection (see :class:`Chooser`)."""
        self.choices = Chooser(self, TGT)
        self.no_grad = fn.grad_free_decorator
        self.eval_mode = False
        for i, param in enumerate(fn.params):
            labels = {f"P{i}"}
            if _is_val_name(param) and param in self.named_params:
                labels.add(VAL)
            if _TARGET_NAME.match(param):
                labels.add(TGT)
            self.state[param] = frozenset(labels)

    @cached_property
    def context_ends(self) -> frozenset[tuple[str, str]]:
        """``(sequence, position)`` of the context windows of the function (see
        :func:`_context_ends`): ``sequence[position]`` is the target. Asked only where an index
        read could be one (a scan of the whole body, skipped for functions without such reads)."""
        return self.facts.context_ends(self.fn)

    # -- context -------------------------------------------------------------------------
    def where(self) -> Context:
        return Context(
            self.facts.next_seq(),
            self.line,
            tuple(self.loop_ids),
            tuple(self.guards),
            self.no_grad,
            self.eval_mode,
            self.statement,
        )

    # -- expressions ---------------------------------------------------------------------
    def val_enters(self) -> Labels:
        if not self.fn.val_lines or self.fn.val_lines[-1] != self.line:
            self.fn.val_lines.append(self.line)
        return frozenset({VAL})

    def name_labels(self, name: str) -> Labels:
        # The walk reads ~5k names per file: one look-up of the state, and the name's own
        # tests (a target's name, a function's, validation data's) asked of the file once per
        # name. A name none of them fits, bound here, carries what it was bound to.
        facts = self.facts
        found = self.state.get(name)
        plain = facts._plain_names.get(name)
        if plain is None:
            plain = facts.plain_name(name)
        if plain and found is not None:
            return found
        unbound = found is None
        labels = EMPTY if found is None else found
        if unbound and name in facts.train_globals:
            labels = labels | {TRAIN}
        val_name = _is_val_name(name)
        named_val = val_name and (name in self.named_params or name not in self.fn.params)
        if val_name and not named_val:
            self.fn.named_val_reads.append((self.fn.params.index(name), self.line))
        if named_val or (unbound and name in facts.val_globals):
            labels = labels | self.val_enters()
        if facts.target_name(name):
            labels = labels | {TGT}
        if name in facts.functions_by_name:
            labels = labels | self._reference(name)
        return labels

    def lambda_calls(self, node: cst.Lambda) -> None:
        """The script's functions a lambda calls (``timed(lambda: eval_ngram(model, ...))``) run
        when something calls the lambda: they are recorded as passed from here as values, as a
        bare ``timed(eval_ngram)`` is, so that what they do is reached from here."""
        params = node.params
        shadowed = {
            p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)
        }
        for star in (params.star_arg, params.star_kwarg):
            if type(star) is cst.Param:
                shadowed.add(star.name.value)
        stack: list[cst.CSTNode] = [node.body]
        while stack:
            current = stack.pop()
            if type(current) is cst.Call:
                func = current.func
                if not (type(func) is cst.Name and func.value in shadowed):
                    for callee in self.facts.resolve_call(func, self.fn):
                        self.fn.calls.append(
                            CallSite(self.where(), callee, (), (), (), reference=True)
                        )
            if type(current) is not cst.Lambda:
                stack.extend(children(current))

    def _reference(self, name: str) -> Labels:
        for callee in self.facts.functions_by_name[name]:
            self.fn.calls.append(CallSite(self.where(), callee, (), (), (), reference=True))
        return EMPTY

    def ev(self, node: cst.CSTNode) -> Labels:
        # Exact type tests: libcst's concrete node classes are never subclassed, and isinstance
        # on them pays for an ABC check on every node of the file.
        # The cases are read as `Any` (no `cast`, a function call each, on the hottest path).
        kind = type(node)
        read: Any = node
        if kind is cst.Name:
            return self.name_labels(read.value)
        if kind is cst.Attribute:
            return self.attribute(read)
        if kind is cst.Call:
            return self.call(read)
        if kind is cst.Subscript:
            return self.subscript(read)
        if kind is cst.SimpleString or kind is cst.FormattedStringText:
            text = read.value
            if "fineweb_train_" in text:
                return frozenset({TRAIN})
            return self.val_enters() if "fineweb_val_" in text else EMPTY
        if kind in _OPAQUE:
            return EMPTY  # a literal or whitespace (names and strings are read above)
        if kind is cst.Lambda:
            self.lambda_calls(cast(cst.Lambda, node))
            return EMPTY
        if kind is cst.IfExp:
            return self.if_expression(cast(cst.IfExp, node))
        if kind is cst.NamedExpr:
            walrus = cast(cst.NamedExpr, node)
            labels = self.ev(walrus.value)
            self.assign(walrus.target, labels)
            return labels
        if kind in _CHOICE_NODE_TYPES:
            return self.choice_parts(node)
        if kind is cst.DictComp:
            comp = cast(cst.DictComp, node)
            clauses, saved = self.comprehension_clauses(comp)
            labels = self.ev(comp.key) | self.ev(comp.value) | clauses
            self.leave_comprehension(saved)
            return labels
        labels = EMPTY
        for child in children(node):
            labels = labels | self.ev(child)
        return labels

    def attribute(self, node: cst.Attribute) -> Labels:
        attr = node.attr.value
        if attr in _PLACEMENT_ATTRS:
            # `x.device` says where x lives: none of x's data, and not x itself (a buffer made
            # with `device=d.device` is not owned by `d`).
            self.ev(node.value)
            return EMPTY
        labels = self.ev(node.value) | self.state.get("." + node.attr.value, EMPTY)
        if attr in self.facts.train_attrs:
            labels = labels | {TRAIN}
        elif attr in _SIZE_ATTRS:
            labels = labels - {TRAIN, LOSS}  # `tokens.shape` is a size, not data or a loss
        if _is_val_name(attr) or attr in self.facts.val_attrs:
            labels = labels | self.val_enters()
        return labels

    def if_expression(self, node: cst.IfExp) -> Labels:
        # `ttt(...) if args.ttt_enabled else plain(...)` gates calls like an if statement.
        labels = self.ev(node.test)
        for branch, negated in ((node.body, False), (node.orelse, True)):
            self.guards.append(Guard(node.test, negated, self.line))
            labels = labels | self.ev(branch)
            self.guards.pop()
        return labels

    def subscript(self, node: cst.Subscript) -> Labels:
        base = self.ev(node.value)
        # Only data (validation tokens, or what a parameter holds) read at the scored position
        # is the target: the context windows are looked up for such reads alone.
        holds_data = VAL in base or (bool(base) and any(lbl[0] == "P" for lbl in base))
        index = EMPTY
        scored_position = False
        for element in node.slice:
            inner = element.slice
            if type(inner) is cst.Index:
                index = index | self.ev(inner.value)
                scored_position = (
                    scored_position
                    or _plus_one(inner.value)
                    or (type(inner.value) is cst.Name and inner.value.value in self.next_positions)
                    or (
                        holds_data
                        and len(node.slice) == 1
                        # a constant index is no window's end (see `_context_ends`)
                        and _moves(inner.value)
                        and bool(self.context_ends)
                        and (code_of(node.value), code_of(inner.value)) in self.context_ends
                    )
                )
            elif type(inner) is cst.Slice:
                for part in (inner.lower, inner.upper, inner.step):
                    if part is not None:
                        index = index | self.ev(part)
                # `y = local[1:]` (to the end) holds the targets (`local[2:]` of a window that
                # starts a token earlier for a two-token context), and so do `chunk[1 : n + 1]`
                # beside the inputs `chunk[:n]` and `tokens[i + 1 : i + 1 + n]` beside
                # `tokens[i : i + n]`; `local[1:-1]` is an input window, and so is
                # `x[1:]` of an input window `x = local[:-1]`.
                scored_position = scored_position or (
                    (inner.upper is None or _sum_with_one(inner.upper))
                    and (_is_offset(inner.lower) or _plus_one(inner.lower))
                    and not (
                        type(node.value) is cst.Name and node.value.value in self.input_windows
                    )
                )
        labels = base | index | self.position_read(node, base)
        if TRAIN in base:
            self.note_train_use(node)
        if scored_position and holds_data:
            labels = labels | {TGT}
        if TGT in index:
            labels = labels | {self.lookup(node.value, index, node, base)}
        return labels

    def position_read(self, node: cst.Subscript, base: Labels) -> Labels:
        """``tokens[pos]`` with ``pos`` a parameter of the function (or an alias of one),
        unshifted: the data at the positions a caller passes (``A<d>.<j>``, resolved at each call
        site)."""
        if len(node.slice) != 1 or type(node.slice[0].slice) is not cst.Index:
            return EMPTY
        index = node.slice[0].slice.value
        if type(index) is not cst.Name or index.value not in self.param_aliases:
            return EMPTY
        j = self.param_aliases[index.value]
        data = [
            lbl[1:] for lbl in base if lbl[0] == "P" and lbl[1:].isdigit() and lbl[1:] != str(j)
        ]
        if VAL in base:
            data.append("")
        out = frozenset(f"A{d}.{j}" for d in data)
        for label in out:
            self.fn.position_reads.setdefault(label, self.line)
        return out

    def position_reads_at(
        self, node: cst.Call, callee: str, args: Sequence[Labels]
    ) -> tuple[Labels, dict[str, Labels]]:
        """What the ``A<d>.<j>`` labels ``callee`` returns are at this call. Those that read the
        scored tokens: the call passes the positions of the targets at ``j``
        (``np.arange(ws + s + 1, ...)``, or a selection of them) and validation data, or a
        parameter, at ``d``. And those passed on: the call passes a parameter of this function
        at ``j`` (a wrapper, or a body moved into a closure), so this function's result reads
        its own parameters' data at its own parameter's positions. ``args`` are what the call
        passes, the receiver of a method first and a closure's free names last."""
        fn = self.facts.functions[callee]
        reads = [lbl for lbl in fn.returns if lbl[0] == "A" and "." in lbl]
        if not reads:
            return EMPTY, {}
        offset = 1 if type(node.func) is cst.Attribute and fn.class_name else 0
        own = len(fn.params) - len(fn.free)
        positional: list[cst.BaseExpression | None] = [None] * offset
        positional += [a.value for a in node.args if a.keyword is None and not a.star]
        keyed = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        scored: set[str] = set()
        forwarded: dict[str, Labels] = {}
        for label in reads:
            d, _, j = label[1:].partition(".")
            k = int(j)
            passed: cst.BaseExpression | None
            if k >= own:  # a closure reads the caller's own name
                passed = cst.Name(fn.params[k])
            else:
                passed = positional[k] if k < len(positional) else keyed.get(fn.params[k])
            if passed is None:
                continue
            data = args[int(d)] if d and int(d) < len(args) else EMPTY
            if (type(passed) is cst.Name and passed.value in self.next_positions) or (
                _next_positions(passed, self.next_positions)
            ):
                if not d or VAL in data or any(lbl[0] == "P" and lbl[1:].isdigit() for lbl in data):
                    scored.add(label)
            elif type(passed) is cst.Name and passed.value in self.param_aliases:
                mine = self.param_aliases[passed.value]
                sources = [
                    lbl[1:]
                    for lbl in (data if d else EMPTY)
                    if lbl[0] == "P" and lbl[1:].isdigit() and lbl[1:] != str(mine)
                ]
                if not d or VAL in data:
                    sources.append("")
                if sources:
                    forwarded[label] = frozenset(f"A{src}.{mine}" for src in sources)
                    for passed_on in forwarded[label]:
                        self.fn.position_reads.setdefault(
                            passed_on, fn.position_reads.get(label, self.line)
                        )
        return frozenset(scored), forwarded

    def lookup(
        self,
        table: cst.BaseExpression,
        key: Labels,
        node: cst.CSTNode | None = None,
        table_labels: Labels = EMPTY,
    ) -> str:
        name = last_name(table) or "?"
        label = f"L{self.facts.next_seq()}"
        table_id = self.table_id(table)
        self.facts.lookup_tables[label] = table_id
        self.fn.lookups.append(Lookup(self.where(), name, label, key, node, table_labels, table_id))
        return label

    def call(self, node: cst.Call) -> Labels:
        func = node.func
        receiver = EMPTY
        if type(func) is cst.Attribute:
            receiver = self.ev(func.value)
        elif type(func) is not cst.Name:
            receiver = self.ev(func)
        args: list[Labels] = []
        kwargs: list[tuple[str, Labels]] = []
        everything = receiver
        name = callee_name(func)
        collection = (
            func.value if name in _COLLECTION_ADDS and type(func) is cst.Attribute else None
        )
        for arg in node.args:
            if collection is not None:
                labels = self.add_to_collection(collection, arg.value, one_item=name != "extend")
                if type(collection) is cst.Name and name in ("append", "extend"):
                    self.record(collection.value, labels, arg.value)
            else:
                labels = self.ev(arg.value)
            everything = everything | labels
            if arg.keyword is not None:
                kwargs.append((arg.keyword.value, labels))
            elif not arg.star:
                args.append(labels)
        result = everything
        if name in _LOSS_CALLS or (name in _LOGARITHMS and everything - {NG}):
            result = result | {LOSS}
        if name in _VAL_LOADERS:
            result = result | self.val_enters()
        if (
            name in _LEAF_MAKERS or (kwargs and any(k == "requires_grad" for k, _ in kwargs))
        ) and _makes_leaf(node, name):
            # `delta.requires_grad_()` as a statement makes `delta` itself the leaf.
            owner = func.value if type(func) is cst.Attribute else None
            result = result | self.grad_leaf(owner.value if type(owner) is cst.Name else None)
        if name == "step" and type(func) is cst.Attribute:
            # `opt.step(closure)` calls the closure there, before the update (L-BFGS evaluates
            # it several times): what the closure does happens at this step.
            for arg in node.args:
                if type(arg.value) is cst.Name and (
                    arg.keyword is None or arg.keyword.value == "closure"
                ):
                    for callee in self.facts.resolve_call(arg.value, self.fn):
                        self.fn.calls.append(
                            CallSite(self.where(), callee, self._closure_args(callee, ()), (), ())
                        )
                        result = result | {f"C{callee}"}
        if name in _LEAF_UPDATES and type(func) is cst.Attribute:
            self.leaf_step(receiver)
        if name == "backward" and type(func) is cst.Attribute:
            target = self.ev(func.value) if not args else args[0] | receiver
            self.fn.backwards.append(
                Backward(self.where(), target, self.facts.slices_in(func.value, self))
            )
        elif (
            name in ("backward", "grad")
            and dotted(func)
            in (
                "torch.autograd.backward",
                "torch.autograd.grad",
                "autograd.grad",
                "autograd.backward",
            )
            and args
        ):
            self.fn.backwards.append(
                Backward(self.where(), args[0], self.facts.slices_in(node.args[0].value, self))
            )
            if name == "grad":  # asking for a leaf's gradient is how a manual update starts
                self.leaf_step(
                    (args[1] if len(args) > 1 else EMPTY)
                    | next((v for k, v in kwargs if k == "inputs"), EMPTY)
                )
        elif name == "get" and type(func) is cst.Attribute and args and TGT in args[0]:
            result = result | {self.lookup(func.value, args[0], node, receiver)}
        elif (
            name == "index_select"
            and type(func) is cst.Attribute
            and len(args) == 2
            and TGT in args[1]
        ):
            # `lut.index_select(0, y)` reads the table at the targets, as `lut[y]` does
            result = result | {self.lookup(func.value, args[1], node, receiver)}
        elif name in _COUNT_UPDATES and type(func) is cst.Attribute:
            self._note_count_call(node, func, name, receiver, args, everything)
        elif (
            name in ("eval", "train")
            and type(func) is cst.Attribute
            and dotted(func.value) not in ("torch", "np")
        ):
            self.eval_mode = name == "eval" or (
                bool(node.args) and code_of(node.args[0].value) == "False"
            )
        if self.no_grad or self.eval_mode:
            result = result | {NG}
        callees = self.facts.resolve_call(func, self.fn)
        for callee in callees:
            result = result | self.split_listed(node, callee)
            bound = type(func) is cst.Attribute and self.facts.functions[callee].class_name
            scored, forwarded = self.position_reads_at(
                node,
                callee,
                self._closure_args(callee, (receiver, *args) if bound else tuple(args)),
            )
            if scored:
                result = result | {TGT}
            result = result.union(*forwarded.values())
            if LOSS in self.facts.functions[callee].returns:
                # A helper walked before its caller (defined above it, as scripts define them)
                # that returns a log-loss: its result is one at once, so its size is none.
                result = result | {LOSS}
        if not callees and name in CHOICE_CALLS:
            result = result | self.choices.call(
                node, name, receiver, args, method=self._is_method(func)
            )
        external = None if callees else self.external_name(func)
        if not callees and external is None and _calls_a_model(func, args):
            result = result | {LOSS}
        if TRAIN in everything and external not in _PATH_CALLS and name != "sorted":
            self.note_train_use(node)  # listing or joining shard paths reads no tokens
        if (type(func) is cst.Attribute and name in _SIZE_METHODS) or (
            type(func) is cst.Name and name == "len"
        ):
            # A count of training tokens is not training data, nor that of losses a loss.
            result = result - {TRAIN, LOSS}
        elif TRAIN in result and type(func) is cst.Attribute and name == "item":
            # One Python number (a loss logged during training) is a figure, not training data;
            # the read it came from was recorded where it happened.
            result = result - {TRAIN}
        if external is not None and external.startswith("numpy.") and LOSS in result:
            result = result | {NG}  # numpy keeps no autograd graph: a loss it computes is a figure
        if external is not None:
            self.fn.externals.append(ExternalCall(self.where(), external, node, everything))
            if external in _CLOCK_CALLS:
                result = result | {CLOCK}
        if callees:
            slices = tuple(s for a in node.args for s in self.facts.slices_in(a.value, self))
            where = self.where()
            # What is passed is the same for every callee a method name resolves to.
            positional = [a.value for a in node.args if a.keyword is None and not a.star]
            passed_names = tuple([last_name(a) for a in positional])
            passed_ids = tuple([self.passed_id(a) for a in positional])
            kwarg_names = tuple(
                [(a.keyword.value, last_name(a.value)) for a in node.args if a.keyword is not None]
            )
            unpacked = any(a.star for a in node.args)
            for callee in callees:
                offset = (
                    1
                    if type(func) is cst.Attribute and self.facts.functions[callee].class_name
                    else 0
                )
                padded = ((receiver,) if offset else ()) + tuple(args)
                names: tuple[str | None, ...] = ((None,) if offset else ()) + passed_names
                ids = ((None,) if offset else ()) + passed_ids
                self._add_call(
                    CallSite(
                        where,
                        callee,
                        padded,
                        tuple(kwargs),
                        slices,
                        names,
                        ids,
                        receiver_name=(
                            last_name(func.value)
                            if offset and type(func) is cst.Attribute
                            else None
                        ),
                        kwarg_names=kwarg_names,
                        unpacked=unpacked,
                    )
                )
                self.callbacks(node, callee, offset, receiver, args, kwargs, slices)
                result = result | {f"C{callee}"}
        return result

    def passed_id(self, value: cst.BaseExpression | None) -> str | None:
        """The binding an argument passes (a table, or a part of one), None for a value that
        is no name's (a literal, an arithmetic result)."""
        if value is None or last_name(value) is None:
            return None
        return self.table_id(value)

    def _closure_args(self, callee: str, args: tuple[Labels, ...]) -> tuple[Labels, ...]:
        """The arguments of a call to ``callee``; a closure is also passed the caller's own
        values of the names it reads (its trailing parameters)."""
        fn = self.facts.functions[callee]
        if not fn.free:
            return args
        own = len(fn.params) - len(fn.free)
        return (
            args[:own]
            + (EMPTY,) * (own - len(args))
            + tuple(self.state.get(name, EMPTY) for name in fn.free)
        )

    def _closure_names(self, callee: str, names: tuple[str | None, ...]) -> tuple[str | None, ...]:
        """The argument names matching :meth:`_closure_args`: a closure's trailing parameters
        are the names it reads."""
        fn = self.facts.functions[callee]
        if not fn.free:
            return names
        own = len(fn.params) - len(fn.free)
        return names[:own] + (None,) * (own - len(names)) + fn.free

    def callbacks(
        self,
        node: cst.Call,
        callee: str,
        offset: int,
        receiver: Labels,
        args: list[Labels],
        kwargs: list[tuple[str, Labels]],
        slices: tuple[str, ...],
    ) -> None:
        """Record the script's functions that ``callee`` runs through the parameters they are
        passed in: ``timed_eval("final", eval_val, h, model)`` whose body calls
        ``fn(*args, **kwargs)`` runs ``eval_val(h, model)`` here, with the arguments the wrapper
        forwards to it (what it forwards from elsewhere is unknown: the call is ``unpacked``)."""
        target = self.facts.functions[callee]
        if target.class_name is not None:
            return  # a method is resolved by its name alone: `opt.step(closure)` may be torch's
        own = len(target.params) - len(target.free)
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        node_by_key = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        if not any(self._names_a_function(value) for value in (*positional, *node_by_key.values())):
            return  # no function of the script is passed: skip the scan of the callee's body
        nodes: list[cst.BaseExpression | None] = [None] * offset + list(positional)
        labels: list[Labels] = ([receiver] if offset else []) + list(args)
        by_key = dict(kwargs)
        for index, invocation in self.facts.invocations(callee):
            passed = nodes[index] if index < len(nodes) else node_by_key.get(target.params[index])
            if passed is None or not self._names_a_function(passed):
                continue
            runs = self.facts.resolve_call(passed, self.fn)
            forwarded = _forwarded(
                target, invocation, own, labels, nodes, by_key, node_by_key, self.passed_id
            )
            where = self.where()
            for run in runs:
                self._add_call(
                    CallSite(
                        where,
                        run,
                        forwarded.args,
                        forwarded.kwargs,
                        slices,
                        forwarded.names,
                        forwarded.ids,
                        kwarg_names=forwarded.kwarg_names,
                        unpacked=forwarded.unknown or any(a.star for a in node.args),
                    )
                )

    def _add_call(self, site: CallSite) -> None:
        """Record a call site. A closure handed on reads the values its names have where it is
        handed: its arguments and their names are resolved here."""
        if self.facts.functions[site.callee].free:
            site = dataclasses.replace(
                site,
                args=self._closure_args(site.callee, site.args),
                arg_names=self._closure_names(site.callee, site.arg_names),
            )
        self.fn.calls.append(site)

    def _names_a_function(self, value: cst.BaseExpression) -> bool:
        """``value`` is a bare name of one of the script's functions (not a local of the
        caller's): a function passed as a value, which a wrapper may call."""
        return (
            type(value) is cst.Name
            and value.value not in self.state
            and bool(self.facts.resolve_call(value, self.fn))
        )

    def note_train_use(self, node: cst.CSTNode) -> None:
        names = self._train_names(node)
        if names:
            self.fn.train_uses.append(TrainUse(self.where(), names))

    def _train_names(self, node: cst.CSTNode) -> frozenset[str]:
        """The names in ``node`` whose values carry ``TRAIN``, skipping mere size and name reads."""
        out: set[str] = set()
        stack: list[cst.CSTNode] = [node]
        while stack:
            current = stack.pop()
            if type(current) is cst.SimpleString or type(current) is cst.FormattedString:
                # The path itself is a source; names formatted into a message are not read.
                text = code_of(current)
                if "fineweb_train_" in text:
                    out.add(text)
                continue
            if type(current) is cst.Call:
                func = current.func
                if type(func) is cst.Name and func.value in _NOT_DATA_CALLS:
                    continue
                if type(func) is cst.Attribute and func.attr.value in _SIZE_METHODS:
                    continue
            if type(current) is cst.Attribute:
                attr = current.attr.value
                if attr in _SIZE_ATTRS or attr in _PLACEMENT_ATTRS:
                    continue
                if attr in self.facts.train_attrs or TRAIN in self.state.get("." + attr, EMPTY):
                    out.add("." + attr)
            elif type(current) is cst.Name:
                name = current.value
                local = self.state.get(name)
                if (local is not None and TRAIN in local) or (
                    local is None and name in self.facts.train_globals
                ):
                    out.add(name)
            stack.extend(children(current))
        return frozenset(out)

    def grad_leaf(self, name: str | None) -> Labels:
        label = f"G{self.facts.next_seq()}"
        self.fn.grad_leaves.append(GradLeaf(self.where(), label))
        if name is not None:
            self.state[name] = self.state.get(name, EMPTY) | {label}
        return frozenset({label})

    def leaf_step(self, labels: Labels) -> None:
        # A parameter may receive a leaf (or an optimizer over one) at a call site, and a
        # helper's result (``C<fn>``) may be one (``delta = make_delta(d)``): keep them.
        kept = frozenset(
            lbl
            for lbl in labels
            if (lbl.startswith(("G", "P")) and lbl[1:].isdigit())
            or (lbl.startswith("C") and lbl != CLOCK)
        )
        if kept:
            self.fn.leaf_steps.append(LeafStep(self.where(), kept))

    def record(self, name: str, labels: Labels, value: cst.BaseExpression) -> None:
        # A parameter that gets a parameter added to it is a running value the caller passes
        # (`def add(ptl, acc): acc += ptl.sum()`): what it adds up is known at each call site.
        if (
            TGT in labels
            or any(lbl[0] == "C" for lbl in labels)
            or (name in self.fn.params and any(lbl[0] == "P" for lbl in labels))
        ):
            slices = self.facts.slices_in(value, self)
            self.fn.records.append(Accumulation(self.where(), name, labels, slices))

    def add_to_collection(
        self, collection: cst.BaseExpression, item: cst.BaseExpression, *, one_item: bool
    ) -> Labels:
        """``keys.append((oi, ctx_key, full_key))``: the list now carries what was added.

        Tuples of one arity are also kept position by position, so a later
        ``for oi, ctx_key, full_key in keys`` gives each name only its own labels.
        """
        if (
            one_item
            and type(item) is cst.Tuple
            and not any(type(e) is cst.StarredElement for e in item.elements)
        ):
            parts = tuple(self.ev(e.value) for e in item.elements)
            labels = frozenset().union(*parts)
        else:
            parts, labels = None, self.ev(item)
        if type(collection) is cst.Name:
            name = collection.value
            self.state[name] = self.state.get(name, EMPTY) | labels
            known = self.tuple_items.get(name, ())
            if parts is None or (known is not None and known and len(known) != len(parts)):
                self.tuple_items[name] = None
            elif known is not None:
                self.tuple_items[name] = (
                    tuple(a | b for a, b in zip(known, parts, strict=True)) if known else parts
                )
        return labels

    def assign_loop_target(self, node: cst.For, labels: Labels) -> None:
        """``for a, b, c in keys`` / ``in reversed(keys)`` over a list of same-arity tuples binds
        each name to its own position; anything else binds every name to the whole."""
        source = node.iter
        if (
            type(source) is cst.Call
            and callee_name(source.func) in ("reversed", "list", "sorted")
            and len(source.args) == 1
        ):
            source = source.args[0].value
        items = self.tuple_items.get(source.value) if type(source) is cst.Name else None
        target = node.target
        if (
            items
            and (type(target) is cst.Tuple or type(target) is cst.List)
            and len(target.elements) == len(items)
            and not any(type(e) is cst.StarredElement for e in target.elements)
        ):
            for element, item_labels in zip(target.elements, items, strict=True):
                self.assign(element.value, item_labels)
        else:
            self.assign(target, labels)

    def split_listed(self, node: cst.Call, callee: str) -> Labels:
        """``list_shards(path, "val")``: what a split-parameterized lister lists at this call."""
        index = self.facts.split_listers.get(callee)
        if index is None:
            return EMPTY
        fn = self.facts.functions[callee]
        if fn.class_name is not None and type(node.func) is cst.Attribute:
            index -= 1  # `self` is the receiver, not a written argument
        positional = [a for a in node.args if a.keyword is None and not a.star]
        chosen = next(
            (a.value for a in node.args if a.keyword and a.keyword.value == fn.params[index]),
            positional[index].value if 0 <= index < len(positional) else None,
        )
        split = _string_text(chosen) if chosen is not None else None
        if split is None:
            return EMPTY
        split = split.strip("\"'")
        if split == "val":
            return self.val_enters()
        return frozenset({TRAIN}) if split == "train" else EMPTY

    def external_name(self, func: cst.BaseExpression) -> str | None:
        """The import-resolved dotted name of a callee, or None when it is not imported."""
        base = func
        while type(base) is cst.Attribute:
            base = base.value
        if type(base) is cst.Name:
            root = self.origins.get(base.value)
            if root is None and base.value not in self.state:  # a local shadows the import
                root = self.facts.imports.get(base.value)
                if root is None and base.value in _BUILTIN_CALLS:
                    root = "builtins." + base.value
        elif type(base) is cst.Call:
            inner = self.external_name(base.func)
            root = None if inner is None else inner + "()"
        else:
            return None
        if root is None:
            return None  # most calls: the attribute names are not collected
        attrs: list[str] = []
        while type(func) is cst.Attribute:
            attrs.append(func.attr.value)
            func = func.value
        return ".".join((root, *reversed(attrs)))

    def note_origin(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if type(target) is not cst.Name:
            return
        origin = None
        if type(value) is cst.Call and self.facts.imports:
            inner = self.external_name(value.func)
            origin = None if inner is None else inner + "()"
        if origin is None:
            self.origins.pop(target.value, None)
        else:
            self.origins[target.value] = origin

    def _note_count_call(
        self,
        node: cst.Call,
        func: cst.Attribute,
        name: str,
        receiver: Labels,
        args: Sequence[Labels],
        everything: Labels,
    ) -> None:
        """``t.index_put_(k, ones, accumulate=True)``, ``t.index_add_``, ``np.add.at(t, k, 1)``."""
        if name == "at":
            if node.args and dotted(func.value) in ("np.add", "numpy.add"):
                self.note_update(node.args[0].value, args[0] if args else EMPTY, everything)
            return
        if name in ("index_put_", "put_") and not any(
            a.keyword is not None and a.keyword.value == "accumulate" and code_of(a.value) == "True"
            for a in node.args
        ):
            return
        self.note_update(func.value, receiver, everything)

    def table_id(self, table: cst.BaseExpression) -> str:
        """Which table ``table`` is: the binding of a name (:meth:`Facts.binding`), an
        attribute by its name (``self.counts`` in one method is ``self.counts`` in another),
        the table a part is read from (``t[n][k]``, ``t.setdefault(k, {})[x]``, and a local
        bound to such a part, ``d = t[n].get(ctx)``: writing into ``d`` writes into ``t``);
        as :func:`last_name` names it, but telling one function's ``A`` from another's."""
        if type(table) is cst.Name:
            name = table.value
            return self.table_parts.get(name) or self.facts.binding(self.fn, name)
        if type(table) is cst.Attribute:
            return "." + table.attr.value
        if type(table) is cst.Subscript:
            return self.table_id(table.value)
        if type(table) is cst.Call:
            func = table.func
            if type(func) is cst.Attribute:
                return self.table_id(func.value)
        return "?"

    def note_table_part(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """``d = t[n].get(ctx)`` / ``d = t.setdefault(ctx, {})`` read a part of ``t``, and
        ``t[n][ctx] = d`` stores ``d`` in it: either way ``d`` is that part (the same object,
        not a value computed from it). A plain ``d = t[idx]`` may be a copy (an array indexed
        with an array of positions), so it is not taken for one."""
        part, whole = target, value
        if type(target) is cst.Subscript and type(value) is cst.Name:
            part, whole = value, target
        elif receiver_of(value, _PART_READS) is None:
            return
        table = self.table_id(whole)
        if type(part) is cst.Name and table != "?":
            self.table_parts[part.value] = table

    def note_count_update(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """``t[k] = t[k] + 1`` / ``t[k] = t.get(k, 0) + 1`` make ``t`` a count table."""
        if type(target) is cst.Subscript and last_name(target.value) is not None:
            table = self.table_id(target.value)
            if table in {self.table_id(n) for n in _subscript_bases(value)}:
                self.facts.count_tables.add(table)

    def note_update(self, table: cst.BaseExpression, owner: Labels, labels: Labels) -> None:
        """Data is counted into ``table``: it is a count table."""
        table_id = self.table_id(table)
        self.facts.count_tables.add(table_id)
        self.fn.updates.append(
            TableUpdate(self.where(), last_name(table) or "?", owner, labels, table_id)
        )

    def note_total(self, stmt: cst.Assign) -> None:
        """``loss_sum = nll.sum()``: a log-loss computed without gradients and summed at once
        (the whole pass in one array) is a score total, as a running ``loss_sum += ...`` would
        be, whatever the name it is kept under."""
        if len(stmt.targets) != 1 or type(stmt.targets[0].target) is not cst.Name:
            return
        name = stmt.targets[0].target.value
        labels = self.state.get(name, EMPTY)
        if LOSS in labels and NG in labels and _is_sum(stmt.value):
            self.fn.accumulations.append(
                Accumulation(self.where(), name, labels, self.facts.slices_in(stmt.value, self))
            )

    def histogram(self, value: cst.BaseExpression) -> bool:
        """Whether ``value`` is a count of keys: a ``bincount`` (``np.bincount(k)``,
        ``torch.bincount(k)``, ``k.bincount()``), directly or through a local name bound to one,
        sliced or converted (``counts[:n].astype(t.dtype)``)."""
        while True:
            if type(value) is cst.Subscript:
                value = value.value
            elif type(value) is cst.Call and type(value.func) is cst.Attribute:
                if value.func.attr.value == "bincount":
                    return True
                value = value.func.value  # a method of the counts: `.astype(...)`, `.to(...)`
            elif type(value) is cst.Attribute:
                value = value.value
            elif type(value) is cst.Name:
                return self.origins.get(value.value) in _HISTOGRAMS
            else:
                return False

    def _is_method(self, func: cst.BaseExpression) -> bool:
        """``x.min(...)`` on a value, as opposed to ``torch.min(...)`` on an imported module."""
        if type(func) is not cst.Attribute:
            return False
        root = func.value
        while type(root) is cst.Attribute:
            root = root.value
        return not (
            type(root) is cst.Name
            and root.value in self.facts.imports
            and root.value not in self.state
        )

    def choice_parts(self, node: cst.CSTNode) -> Labels:
        """Comparisons and collections, evaluated part by part so choices among them are seen."""
        if type(node) is cst.Comparison:
            sides = [self.ev(node.left)] + [self.ev(c.comparator) for c in node.comparisons]
            # A comparison of losses is a truth value (which loss is lower), not a loss.
            return (EMPTY.union(*sides) - {LOSS}) | self.choices.comparison(node, sides)
        if (
            type(node) is cst.ListComp
            or type(node) is cst.GeneratorExp
            or type(node) is cst.SetComp
        ):
            clauses, saved = self.comprehension_clauses(node)
            element = self.ev(node.elt)
            self.choices.comprehension(node, node.elt, element)
            self.leave_comprehension(saved)
            return element | clauses
        assert type(node) is cst.List or type(node) is cst.Tuple or type(node) is cst.Set
        return EMPTY.union(*self.collection_items(node))

    def collection_items(self, node: cst.List | cst.Tuple | cst.Set) -> list[Labels]:
        """What each element of a collection literal carries."""
        items = [(e.value, self.ev(e.value)) for e in node.elements]
        self.choices.collection(node, items)
        return [labels for _, labels in items]

    def comprehension_clauses(
        self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp | cst.DictComp
    ) -> tuple[Labels, dict[str, Labels | None]]:
        """Read each ``for`` clause's iterable and bind its targets to it, as a ``for``
        statement does (``[f(t) for t in val_chunks]`` is the loop appending ``f(t)``); the
        names are the comprehension's own, so their outer values are kept to be put back."""
        saved: dict[str, Labels | None] = {}
        labels = EMPTY
        for clause in comprehension_scopes(node):
            iterated = self.ev(clause.iter)
            labels = labels | iterated
            for name in _names_in(clause.target):
                saved.setdefault(name, self.state.get(name))
            self.assign(clause.target, iterated)
            for condition in clause.ifs:
                labels = labels | self.ev(condition.test)
        return labels, saved

    def leave_comprehension(self, saved: dict[str, Labels | None]) -> None:
        for name, labels in saved.items():
            if labels is None:
                self.state.pop(name, None)
            else:
                self.state[name] = labels

    # -- statements ----------------------------------------------------------------------
    def assign(self, target: cst.BaseExpression, labels: Labels) -> None:
        if type(target) is cst.Name:
            self.state[target.value] = labels
            self.table_parts.pop(target.value, None)
            self.tuple_items[target.value] = () if not labels else None
            self.choices.rebound(target.value)
        elif type(target) is cst.Tuple or type(target) is cst.List:
            for element in target.elements:
                self.assign(element.value, labels)
        elif type(target) is cst.StarredElement:
            self.assign(target.value, labels)
        elif type(target) is cst.Attribute:
            self.state["." + target.attr.value] = labels
        elif type(target) is cst.Subscript:
            # A read-modify-write of a table (`c = t.get(k, 0); ...; t[k] = c + 1`) makes it a
            # count table, and must not carry that read's label into the table: later
            # context-only reads of it would look target-keyed.
            base = last_name(target.value)
            table_id = self.table_id(target.value)
            if base is not None and any(
                self.facts.lookup_tables.get(lbl) == table_id for lbl in labels
            ):
                self.facts.count_tables.add(table_id)
            if base is not None:
                kept = frozenset(
                    lbl
                    for lbl in labels
                    if lbl != TGT and self.facts.lookup_tables.get(lbl) != table_id
                )
                self.state[base] = self.state.get(base, EMPTY) | kept
                for sub in target.slice:
                    self.ev(sub.slice)

    def assign_pairwise(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """``x, y = a[:-1], a[1:]`` binds element-wise, so the target label stays on ``y``."""
        self.note_input_window(target, value)
        pairs = element_pairs(target, value)
        if pairs is not None:
            for element, part in pairs:
                self.assign(element, self.ev(part))
        elif (
            (type(target) is cst.Tuple or type(target) is cst.List)
            and type(value) is cst.Call
            and not any(type(e) is cst.StarredElement for e in target.elements)
        ):
            labels = self.ev(value)
            items = self.unpacked_result(value, len(target.elements), labels)
            if items is None:
                self.assign(target, labels)
            else:
                for t, item in zip(target.elements, items, strict=True):
                    self.assign(t.value, item)
        else:
            self.assign(target, self.ev(value))

    def unpacked_result(
        self, node: cst.Call, arity: int | None, labels: Labels
    ) -> list[Labels] | None:
        """What each name of ``a, b = f(...)`` receives, when ``f`` is one of the script's
        functions returning ``arity``-tuples: an argument that ``f`` returns only at other
        positions of its tuple (``return quantized(w, hessians), sizes(w)``) does not reach this
        position. An argument ``f`` never returns stays on every position: what happens to it is
        not known. None when the call's result is one value for every name. With no
        ``arity``, the tuples ``f`` returns decide it (``return body()`` passes them on)."""
        callees = self.facts.resolve_call(node.func, self.fn)
        if len(callees) != 1:
            return None
        callee = self.facts.functions[callees[0]]
        if callee.qualname not in self.facts.walked or callee.qualname in self.facts.stale:
            self.facts.stale.add(self.fn.qualname)  # walked again once the callee has been
            return None
        arity = callee.tuple_arity() if arity is None else arity
        positions = None if arity is None else callee.returned_items(arity)
        site = next(
            (c for c in reversed(self.fn.calls) if c.callee == callee.qualname and not c.reference),
            None,
        )
        if arity is None or positions is None or site is None or site.unpacked:
            return None
        passed = dict(enumerate(site.args))
        for key, item in site.kwargs:
            if key in callee.params:
                passed[callee.params.index(key)] = item
        kept_always = frozenset({f"C{callee.qualname}", NG})
        out: list[Labels] = []
        for k in range(arity):
            away: set[str] = set()
            kept: set[str] = set()
            returned: set[str] = set()
            for index, item in passed.items():
                param = f"P{index}"
                elsewhere = any(param in positions[j] for j in range(arity) if j != k)
                (away if elsewhere and param not in positions[k] else kept).update(item)
                if param in positions[k]:
                    returned.update(item)  # a closure's values are passed, not written out
            out.append((labels - ((away - kept) - kept_always)) | returned)
        # The scored token read by the helper reaches only the elements built from that read
        # (`ctx_key, full_key = keys(tokens, target_positions)`: only `full_key` has it).
        scored, forwarded = self.position_reads_at(node, callee.qualname, site.args)
        helper_only = scored and not any(TGT in item for item in passed.values())
        passed_on = EMPTY.union(*forwarded.values())
        for k, item in enumerate(out):
            if helper_only and not positions[k] & scored:
                item = item - {TGT}
            if passed_on:
                item = (item - passed_on).union(
                    *(labels for src, labels in forwarded.items() if src in positions[k])
                )
            out[k] = item
        return out

    def note_alias(self, stmt: cst.Assign | cst.AugAssign | cst.AnnAssign) -> None:
        """``A = pos`` makes ``A`` an alias of the parameter ``pos``; any other binding of a name
        ends what it aliased."""
        value = stmt.value
        alias = (
            self.param_aliases.get(value.value)
            if type(stmt) is cst.Assign and type(value) is cst.Name
            else None
        )
        targets = (
            [t.target for t in stmt.targets]
            if type(stmt) is cst.Assign
            else [cast(cst.AugAssign | cst.AnnAssign, stmt).target]
        )
        for target in targets:
            if type(target) is cst.Name:  # most targets: no set of names to build
                self.param_aliases.pop(target.value, None)
            else:
                for name in _names_in(target):
                    self.param_aliases.pop(name, None)
            if alias is not None and type(target) is cst.Name:
                self.param_aliases[target.value] = alias

    def note_input_window(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        for name, bound in element_pairs(target, value) or [(target, value)]:
            if type(name) is cst.Name:
                if _is_input_window(bound):
                    self.input_windows.add(name.value)
                else:
                    self.input_windows.discard(name.value)

    def small(self, stmt: cst.BaseSmallStatement) -> None:
        if type(stmt) is cst.Assign or type(stmt) is cst.AugAssign or type(stmt) is cst.AnnAssign:
            self.note_alias(stmt)
        if type(stmt) is cst.Assign:
            for t in stmt.targets:
                if type(t.target) is cst.Name:
                    if _plus_one(stmt.value) or _next_positions(stmt.value, self.next_positions):
                        self.next_positions.add(t.target.value)
                    else:
                        self.next_positions.discard(t.target.value)
            self.choices.assigning = (
                _names_in(stmt.targets[0].target)
                if len(stmt.targets) == 1
                else EMPTY.union(*(_names_in(t.target) for t in stmt.targets))
            )
            if len(stmt.targets) == 1:
                self.assign_pairwise(stmt.targets[0].target, stmt.value)
                self.note_table_part(stmt.targets[0].target, stmt.value)
                self.note_origin(stmt.targets[0].target, stmt.value)
                self.choices.bind(stmt.targets[0].target, stmt.value)
            else:
                labels = self.ev(stmt.value)
                for t in stmt.targets:
                    self.assign(t.target, labels)
            self.choices.assigning = frozenset()
            self.note_total(stmt)
            for t in stmt.targets:
                if type(t.target) is cst.Name:
                    # Only a value carrying validation data or a parameter can hold the slices
                    # slices_in looks for; skipping the rest saves a second walk of most values.
                    bound = self.state.get(t.target.value, EMPTY)
                    self.name_slices[t.target.value] = (
                        self.facts.slices_in(stmt.value, self)
                        if VAL in bound or any(lbl[0] == "P" for lbl in bound)
                        else ()
                    )
                self.note_count_update(t.target, stmt.value)
                if (
                    type(t.target) is cst.Attribute
                    and t.target.attr.value == "requires_grad"
                    and code_of(stmt.value) == "True"
                ):
                    self.grad_leaf(_root_name(t.target))
        elif type(stmt) is cst.AnnAssign:
            if stmt.value is not None:
                self.assign(stmt.target, self.ev(stmt.value))
        elif type(stmt) is cst.AugAssign:
            labels = self.ev(stmt.value)
            name = last_name(stmt.target)
            if type(stmt.target) is cst.Subscript:
                # An update (`table[key] += 1`) is not a look-up: evaluate the key, record nothing.
                key = EMPTY
                for element in stmt.target.slice:
                    key = key | self.ev(element.slice)
                root = _root_name(stmt.target)  # what owns the table, read without a new look-up
                self.note_update(stmt.target.value, self.state.get(root or "", EMPTY), key | labels)
            elif (
                name is not None
                and type(stmt.operator) is cst.AddAssign
                and self.histogram(stmt.value)
            ):
                # `table += np.bincount(keys, minlength=n)`: every key counted at once, the
                # vectorised form of `table[key] += 1`.
                root = _root_name(stmt.target)
                self.note_update(stmt.target, self.state.get(root or "", EMPTY), labels)
            if name is not None and (is_accumulator(name) or LOSS in labels):
                self.fn.accumulations.append(
                    Accumulation(self.where(), name, labels, self.facts.slices_in(stmt.value, self))
                )
            else:
                if type(stmt.target) is cst.Name and type(stmt.operator) is cst.AddAssign:
                    self.record(stmt.target.value, labels, stmt.value)
                root = _root_name(stmt.target)  # `delta -= lr * g`, `delta.data -= ...`
                self.leaf_step(self.state.get(root, EMPTY) if root is not None else EMPTY)
            if type(stmt.target) is cst.Name:
                self.state[stmt.target.value] = self.state.get(stmt.target.value, EMPTY) | labels
        elif type(stmt) is cst.Expr:
            self.ev(stmt.value)
        elif type(stmt) is cst.Return:
            if stmt.value is not None:
                value = stmt.value
                if type(value) is cst.Tuple and not any(
                    type(e) is cst.StarredElement for e in value.elements
                ):
                    items = tuple(self.collection_items(value))
                    self.fn.return_items.append(items)
                    self.fn.returns.update(EMPTY.union(*items))
                elif type(value) is cst.Call:
                    labels = self.ev(value)
                    passed_on = self.unpacked_result(value, None, labels)
                    self.fn.return_items.append(None if passed_on is None else tuple(passed_on))
                    self.fn.returns.update(labels)
                else:
                    self.fn.return_items.append(None)
                    self.fn.returns.update(self.ev(value))
        elif type(stmt) is cst.Assert:
            self.ev(stmt.test)
        elif type(stmt) is cst.Raise and stmt.exc is not None:
            self.ev(stmt.exc)

    # -- the flow walker's hooks ---------------------------------------------------------
    def header(self, expr: cst.BaseExpression) -> Labels:
        return self.ev(expr)

    def bind(self, target: cst.BaseExpression, value: object) -> None:
        self.assign(target, value if isinstance(value, frozenset) else EMPTY)

    def condition(self, node: cst.If | cst.While, value: object) -> None:
        if type(node) is not cst.If:
            return  # a `while` test is recorded once its body has been read (exit_loop)
        labels = cast(Labels, value)
        if labels:
            self.fn.conditions.append(
                Condition(self.where(), labels, _stops_or_flags(node.body), node.test)
            )
        if self.choices.watches(node.test, labels):
            self.choosing.add(id(node))

    def branched(self, node: cst.If, value: object) -> None:
        if id(node) in self.choosing:
            self.choosing.discard(id(node))
            self.choices.branches(node.test, cast(Labels, value))

    def iterate(self, node: cst.For, value: object) -> None:
        labels = cast(Labels, value)
        if TRAIN in labels and (type(node.iter) is cst.Name or type(node.iter) is cst.Attribute):
            self.note_train_use(node.iter)  # iterating the batches themselves
        self.assign_loop_target(node, labels)

    def enter_loop(self, node: cst.For | cst.While, value: object) -> None:
        loop_id = self.facts.next_seq()
        if type(node) is cst.For:
            targets, iter_node = _names_in(node.target), node.iter
        else:
            targets, iter_node = frozenset(), None
        labels = cast(Labels, value)
        self.fn.loops[loop_id] = Loop(loop_id, self.line, targets, labels, iter_node, node.body)
        self.loop_ids.append(loop_id)
        self.loop_starts.append(self.where() if type(node) is cst.While else None)

    def exit_loop(self, node: cst.For | cst.While, value: object) -> None:
        where = self.loop_starts.pop()
        if type(node) is cst.While and where is not None:
            # A `while` test is read again after each pass: names the body rebinds
            # (`elapsed = time.time() - t0`) count with what the body gave them.
            labels = cast(Labels, value)
            for name in names_read(node.test):
                labels = labels | self.state.get(name, EMPTY)
            if labels:
                self.fn.conditions.append(Condition(where, labels, True, node.test))
        self.loop_ids.pop()

    def enter_with(self, node: cst.With) -> object:
        was = self.no_grad
        for item in node.items:
            labels = self.ev(item.item)
            if _context_name(item.item) in _GRAD_FREE_CONTEXTS:
                self.no_grad = True
                self.fn.has_no_grad_block = True
            if item.asname is not None:
                self.assign(item.asname.name, labels)
                self.note_origin(item.asname.name, item.item)
        return was

    def exit_with(self, node: cst.With, token: object) -> None:
        self.no_grad = bool(token)


def _carries(labels: Iterable[str], label: str, returning: Collection[str]) -> bool:
    return any(lbl == label or (lbl.startswith("C") and lbl[1:] in returning) for lbl in labels)


def names_read(node: cst.CSTNode, *, members: bool = True) -> set[str]:
    """Every Name node in an expression, attribute and keyword names included (`a.b(c=d)` gives
    a, b, c and d); with ``members=False`` only the variables it reads (a and d)."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is cst.Name:
            out.add(cast(cst.Name, current).value)
        elif not members and (kind is cst.Attribute or kind is cst.Arg):
            stack.append(cast(cst.Attribute | cst.Arg, current).value)
        elif kind not in _OPAQUE:
            stack.extend(children(current))
    return out


def _stops_or_flags(body: cst.BaseSuite) -> bool:
    """Whether an ``if`` body leaves the loop or function, or sets a flag for a later exit."""
    for item in body.body:
        smalls = item.body if type(item) is cst.SimpleStatementLine else (item,)
        for small in smalls:
            if type(small) is cst.Break or type(small) is cst.Return or type(small) is cst.Raise:
                return True
            if (
                type(small) is cst.Assign
                or type(small) is cst.AugAssign
                or type(small) is cst.AnnAssign
            ):
                return True
    return False


def _names_in(target: cst.BaseExpression) -> frozenset[str]:
    if type(target) is cst.Name:
        return frozenset((target.value,))
    if type(target) is cst.Tuple or type(target) is cst.List:
        out: set[str] = set()
        for element in target.elements:
            out |= _names_in(element.value)
        return frozenset(out)
    return frozenset()


def _context_name(expr: cst.BaseExpression) -> str | None:
    if type(expr) is cst.Call:
        return callee_name(expr.func)
    return callee_name(expr)


@dataclass(frozen=True, slots=True)
class _Forwarded:
    """The arguments a wrapper passes on to the function it was given."""

    args: tuple[Labels, ...]
    kwargs: tuple[tuple[str, Labels], ...]
    names: tuple[str | None, ...]
    ids: tuple[str | None, ...]
    """The binding passed at each position (see :meth:`_Walker.passed_id`)."""
    kwarg_names: tuple[tuple[str, str | None], ...]
    unknown: bool
    """Some argument is the wrapper's own value, not one its caller passed."""


def _forwarded(
    wrapper: Function,
    invocation: cst.Call,
    own: int,
    labels: list[Labels],
    nodes: list[cst.BaseExpression | None],
    by_key: dict[str, Labels],
    node_by_key: dict[str, cst.BaseExpression],
    binding: Callable[[cst.BaseExpression | None], str | None],
) -> _Forwarded:
    """What ``invocation`` (a call of one of ``wrapper``'s parameters, in its body) passes, in
    terms of the arguments the wrapper's caller gave it: a parameter passed on, the extra
    positional arguments spread by ``*args``, the extra keywords spread by ``**kwargs``."""
    assert wrapper.node is not None
    params = wrapper.params[:own]
    star = wrapper.node.params.star_arg
    star_name = star.name.value if type(star) is cst.Param else None
    kwstar = wrapper.node.params.star_kwarg
    kwstar_name = kwstar.name.value if kwstar is not None else None

    def name_of(value: cst.BaseExpression | None) -> str | None:
        return last_name(value) if value is not None else None

    def passed(index: int) -> tuple[Labels, cst.BaseExpression | None]:
        if index < len(labels):
            return labels[index], nodes[index]
        key = params[index]
        return by_key.get(key, EMPTY), node_by_key.get(key)

    args: list[Labels] = []
    names: list[str | None] = []
    ids: list[str | None] = []
    kwargs: list[tuple[str, Labels]] = []
    kwarg_names: list[tuple[str, str | None]] = []
    unknown = False
    for arg in invocation.args:
        value = arg.value
        name = value.value if type(value) is cst.Name else None
        if arg.star == "*" and name is not None and name == star_name:
            args += labels[own:]
            names += [name_of(n) for n in nodes[own:]]
            ids += [binding(n) for n in nodes[own:]]
        elif arg.star == "**" and name is not None and name == kwstar_name:
            for key, item in by_key.items():
                if key not in params:
                    kwargs.append((key, item))
                    kwarg_names.append((key, name_of(node_by_key.get(key))))
        elif not arg.star and name is not None and name in params:
            item, item_node = passed(params.index(name))
            if arg.keyword is None:
                args.append(item)
                names.append(name_of(item_node))
                ids.append(binding(item_node))
            else:
                kwargs.append((arg.keyword.value, item))
                kwarg_names.append((arg.keyword.value, name_of(item_node)))
        else:
            unknown = True
            if arg.keyword is None and not arg.star:
                args.append(EMPTY)
                names.append(None)
                ids.append(None)
    return _Forwarded(
        tuple(args), tuple(kwargs), tuple(names), tuple(ids), tuple(kwarg_names), unknown
    )


def _decorated_grad_free(node: cst.FunctionDef) -> bool:
    for decorator in node.decorators:
        if _context_name(decorator.decorator) in _GRAD_FREE_CONTEXTS:
            return True
    return False


def _params(node: cst.FunctionDef) -> tuple[str, ...]:
    p = node.params
    return tuple(param.name.value for param in (*p.posonly_params, *p.params))


def _all_params(node: cst.FunctionDef) -> Iterator[str]:
    """Every name the signature binds (``*args``, keyword-only ones and ``**kwargs`` too)."""
    p = node.params
    yield from _params(node)
    for param in (*p.kwonly_params, p.star_arg, p.star_kwarg):
        if type(param) is cst.Param:
            yield param.name.value


class _Scopes(Flow[None]):
    """Finds every function and class (nested ones under their qualified names), the imports
    and the single assignments, wherever the flow puts them; and, for a function nested in
    another, the enclosing function's names it reads (its closure)."""

    def __init__(self, facts: Facts) -> None:
        super().__init__(facts.line_of)
        self.facts = facts
        self.prefix: str | None = None
        self.class_name: str | None = None
        self.function: Function | None = None
        self.bound: dict[str, set[str]] = {}
        """Per function, the names its own statements bind."""
        self.nonlocal_: dict[str, set[str]] = {}
        """Per function, the names it declares ``nonlocal`` or ``global``."""
        self.global_: dict[str, set[str]] = {}
        self.parents: dict[str, str] = {}

    def _binds(self, target: cst.BaseExpression) -> None:
        if self.function is not None:
            bound = self.bound.setdefault(self.function.qualname, set())
            if type(target) is cst.Name:  # most targets: no set of names to build
                bound.add(target.value)
            else:
                bound.update(_names_in(target))

    def small(self, stmt: cst.BaseSmallStatement) -> None:
        if type(stmt) is cst.Import or type(stmt) is cst.ImportFrom:
            self.facts._note_import(stmt)
            return
        if type(stmt) is cst.Assign or type(stmt) is cst.AnnAssign:  # what assigns a value
            self.facts._note_assignment(
                stmt,
                in_class=self.class_name is not None,
                top_level=self.prefix is None,
                guards=tuple(self.guards),
                scope=self.function.qualname if self.function is not None else None,
            )
        if type(stmt) is cst.Assign:
            for target in stmt.targets:
                self._binds(target.target)
        elif type(stmt) is cst.AugAssign or type(stmt) is cst.AnnAssign:
            self._binds(stmt.target)
        elif (type(stmt) is cst.Nonlocal or type(stmt) is cst.Global) and self.function is not None:
            declared = self.nonlocal_.setdefault(self.function.qualname, set())
            declared.update(item.name.value for item in stmt.names)
            if type(stmt) is cst.Global:
                self.global_.setdefault(self.function.qualname, set()).update(declared)

    def bind(self, target: cst.BaseExpression, value: object) -> None:
        self._binds(target)

    def definition(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        facts, prefix, class_name, function = (
            self.facts,
            self.prefix,
            self.class_name,
            self.function,
        )
        name = node.name.value
        qualname = f"{prefix}.{name}" if prefix else name
        if type(node) is cst.FunctionDef:
            fn = Function(
                qualname,
                name,
                _params(node),
                facts.line_of(node),
                node,
                class_name,
                _decorated_grad_free(node)
                # Defined in a function that runs without gradients, and not handed out by it,
                # it runs inside that call, so without gradients too (a body moved into a nested
                # function called at once changes nothing).
                or (
                    function is not None
                    and function.grad_free_decorator
                    and function.node is not None
                    and name not in _returned_names(function.node)
                ),
            )
            facts.functions[qualname] = fn
            if class_name is not None:
                facts.methods_by_name.setdefault(name, []).append(qualname)
            else:
                facts.functions_by_name.setdefault(name, []).append(qualname)
                if function is not None:
                    self.parents[qualname] = function.qualname
            facts._note_split_lister(fn, node)
            if prefix is None:
                facts._top_functions[name] = fn
            self.prefix, self.class_name, self.function = qualname, None, fn
        else:
            self.prefix, self.class_name, self.function = qualname, name, None
        self.block(node.body)
        self.prefix, self.class_name, self.function = prefix, class_name, function

    def local_names(self) -> None:
        """Give each function its local names (before :meth:`closures` adds the free ones to
        its parameters) and the function it is nested in."""
        for qualname, fn in self.facts.functions.items():
            if fn.node is None:
                continue
            declared = self.nonlocal_.get(qualname, set())
            fn.local_names = frozenset(
                (set(_all_params(fn.node)) | self.bound.get(qualname, set())) - declared
            )
            fn.global_names = frozenset(self.global_.get(qualname, set()))
            fn.enclosing = self.parents.get(qualname)

    def closures(self) -> None:
        """Give each nested function the enclosing names it reads, as trailing parameters
        (parents first, so that a closure's closure sees its parent's own free names)."""
        functions = self.facts.functions
        for qualname, parent in self.parents.items():
            fn, outer = functions[qualname], functions[parent]
            assert fn.node is not None
            available = set(outer.params) | self.bound.get(parent, set())
            local = (set(fn.params) | self.bound.get(qualname, set())) - self.nonlocal_.get(
                qualname, set()
            )
            free = tuple(sorted((_names_read_in(fn.node.body) & available) - local))
            if free:
                fn.free = free
                fn.params = fn.params + free


_TargetBinder = cst.AugAssign | cst.AnnAssign | cst.NamedExpr | cst.For | cst.CompFor
_TARGET_BINDERS = frozenset({cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For, cst.CompFor})


def _parameter_aliases(node: cst.FunctionDef, params: Sequence[str]) -> dict[str, str]:
    aliases = _alias_candidates(node, params)
    if not aliases:
        return {}  # most functions: the walk that counts every binding is not needed
    bindings: dict[str, int] = {}

    def bound(target: cst.BaseExpression) -> None:
        if type(target) is cst.Name:
            bindings[target.value] = bindings.get(target.value, 0) + 1
        elif type(target) is cst.Tuple or type(target) is cst.List:
            for element in target.elements:
                bound(element.value)
        elif type(target) is cst.StarredElement:
            bound(target.value)

    stack: list[cst.CSTNode] = [node.body]
    # Exact types, not isinstance (an ABC check on libcst nodes): this visits every node.
    while stack:
        current = stack.pop()
        kind = type(current)
        if type(current) is cst.Assign:
            for assigned in current.targets:
                bound(assigned.target)
        elif kind in _TARGET_BINDERS:
            bound(cast(_TargetBinder, current).target)
        elif type(current) is cst.AsName:
            if isinstance(current.name, cst.BaseExpression):
                bound(current.name)
        elif type(current) is cst.FunctionDef or type(current) is cst.ClassDef:
            bound(current.name)
            continue
        if kind is not cst.Lambda and kind not in _OPAQUE:
            stack.extend(children(current))
    return {
        alias: param
        for alias, param in aliases.items()
        if bindings.get(alias) == 1 and param not in bindings
    }


def _alias_candidates(node: cst.FunctionDef, params: Sequence[str]) -> dict[str, str]:
    """``alias -> parameter`` for each ``alias = parameter`` of the function's own body (nested
    functions and classes aside), the last one winning. Assignments are statements: only the
    statements are visited, not the expressions, which hold most of a body's nodes."""
    found: dict[str, str] = {}
    stack: list[cst.CSTNode] = [node.body]
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is cst.SimpleStatementLine or kind is cst.SimpleStatementSuite:
            for small in cast(cst.SimpleStatementLine, current).body:
                if (
                    type(small) is cst.Assign
                    and len(small.targets) == 1
                    and type(small.targets[0].target) is cst.Name
                    and type(small.value) is cst.Name
                    and small.value.value in params
                ):
                    found[small.targets[0].target.value] = small.value.value
        elif kind in HOLDS_STATEMENTS and kind is not cst.FunctionDef and kind is not cst.ClassDef:
            stack.extend(children(current))
    return found


_OWN_SCOPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})
_COMPREHENSIONS = frozenset({cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp})


def _returned_names(node: cst.FunctionDef) -> set[str]:
    """The plain names a function returns, in its own scope (``return inner``)."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [node.body]
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is cst.Return:
            value = cast(cst.Return, current).value
            if type(value) is cst.Name:
                out.add(value.value)
        elif kind in _OWN_SCOPES or kind in _OPAQUE:
            continue
        stack.extend(children(current))
    return out


def _names_read_in(node: cst.CSTNode) -> set[str]:
    """The variable names a body reads (not attribute names or keyword-argument names)."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is cst.Name:
            out.add(cast(cst.Name, current).value)
        elif kind is cst.Attribute:
            stack.append(cast(cst.Attribute, current).value)
        elif kind is cst.Arg:
            stack.append(cast(cst.Arg, current).value)
        elif kind in _COMPREHENSIONS:
            current = cast(cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp, current)
            # A comprehension's own variables (`for b, d, r in grid`) are its locals, not reads
            # of the enclosing function's names.
            clauses = list(comprehension_scopes(current))
            own = frozenset().union(*(_names_in(c.target) for c in clauses))
            inner: set[str] = set()
            for child in children(current):
                inner |= _names_read_in(child)
            out |= inner - own
        elif kind not in _OPAQUE:
            stack.extend(children(current))
    return out


class Facts:
    """Everything the rules know about one script."""

    def __init__(
        self,
        module: cst.Module,
        lines: LineMap,
        text: str,
        *,
        local_modules: frozenset[str] = frozenset(),
    ) -> None:
        self.module = module
        self.text = text
        """The audited code (of all files together when a program spans several)."""
        self.local_modules = local_modules
        """Modules of the records folder analysed with this code (``import helpers``), so that
        ``helpers.ttt(...)`` resolves to the function ``ttt``."""
        self._lines = lines
        self._text_lines = text.splitlines()
        self._mentions_split_paths = "fineweb_{" in text
        self._seq = 0
        self._target_names: dict[str, bool] = {}
        self._plain_names: dict[str, bool] = {}
        self._resolved: dict[tuple[str, str], tuple[str, ...]] = {}
        self._scopes_by_line: dict[int, list[str]] = {}
        self.functions: dict[str, Function] = {}
        self.functions_by_name: dict[str, list[str]] = {}
        self.methods_by_name: dict[str, list[str]] = {}
        self.count_tables: set[str] = set()
        self.lookup_tables: dict[str, str] = {}
        self._context_ends: dict[str, frozenset[tuple[str, str]]] = {}
        self._aliases: dict[str, dict[str, str]] = {}
        self._analyses: dict[Callable[[Facts], object], object] = {}
        self._returning: dict[str, frozenset[str]] = {}
        self._invocations: dict[str, list[tuple[int, cst.Call]]] = {}
        self._combined: dict[tuple[int, ...], tuple[Gate, tuple[Guard, ...], Gate]] = {}
        self._combined_by_value: dict[tuple[Gate, tuple[Guard, ...]], Gate] = {}
        self.val_attrs: set[str] = set()
        self.val_globals: set[str] = set()
        self.train_attrs: set[str] = set()
        self.train_globals: set[str] = set()
        """Attributes and globals built from a ``fineweb_train_*`` name (they carry ``TRAIN``)."""
        self.both_splits: dict[str, int] = {}
        """Attributes and globals whose value names both the training and the validation shards
        (``train_files = val_glob if train_on_val else train_glob``), with the line it is on."""
        self._value_lines: dict[int, int] = {}
        self.assigned_names: dict[str, cst.BaseExpression | None] = {}
        self.assigned_attrs: dict[str, cst.BaseExpression | None] = {}
        self._name_choices: dict[str, list[Assigned]] = {}
        self._attr_choices: dict[str, list[Assigned]] = {}
        self._top_functions: dict[str, Function] = {}
        self._env_helpers: dict[str, tuple[int, int] | None] = {}
        """Module-level functions asked about so far: the script's own environment getters
        (``_env_bool(name, default)``) with their key and default parameters, others None."""
        self.split_listers: dict[str, int] = {}
        """Functions that build a shard path from a parameter (``f"fineweb_{split}_*.bin"``),
        with that parameter's index: a call passing ``"val"`` / ``"train"`` there lists the
        validation / training shards."""
        self.imports: dict[str, str] = {}
        """Every name an import binds anywhere in the file, to the dotted path it stands for."""
        self._collect_scopes()
        self.evaluator = Evaluator(
            self.assigned_names,
            self.assigned_attrs,
            lambda v: self._value_lines.get(id(v), 0),
            name_choices=self._name_choices,
            attr_choices=self._attr_choices,
            env_helper=self._env_helper,
            argument=self._argument,
            scopes_at=self._scopes_at,
        )
        self.walked: set[str] = set()
        self.stale: set[str] = set()
        """Functions that unpacked the result of a function not yet walked (see
        :meth:`_Walker.unpacked_result`): walked again once all have been, until none is left."""
        for fn in self.functions.values():
            self._walk(fn, named_params=True)
        order = list(self.functions)
        for _ in range(4):
            pending = set(self.stale)
            for qualname in (q for q in order if q in pending):
                self.stale.discard(qualname)
                fn = self.functions[qualname] = self.functions[qualname].unwalked()
                self._walk(fn, named_params=True)
            if not self.stale or self.stale == pending:
                break  # done, or a cycle no order of walks resolves
        # A parameter named like validation data (`val_tokens`) is only a guess at what it holds.
        # Where the script's own call sites say what the function receives, those decide: its
        # parameters then carry only their `P<i>` labels, resolved per call site (`val_params`),
        # so a search run on training tokens passed as `val_tokens` is not validation data.
        fed_by_callers = self._fed_by_callers()
        for qualname in fed_by_callers:
            fn = self.functions[qualname] = self.functions[qualname].unwalked()
            self._walk(fn, named_params=False)
        for qualname in fed_by_callers:
            # Where a call site does pass validation data, it enters at the parameter's reads.
            fn, fed = self.functions[qualname], self.val_params[qualname]
            entered = {line for i, line in fn.named_val_reads if i in fed}
            if entered:
                fn.val_lines = sorted(set(fn.val_lines) | entered)

    def _walk(self, fn: Function, *, named_params: bool) -> None:
        walker = _Walker(self, fn, named_params=named_params)
        if fn.node is None:
            walker.block(self._module_statements())
        else:
            walker.block(fn.node.body)
        self.walked.add(fn.qualname)

    def _scopes_at(self, line: int) -> list[str]:
        """The functions whose definition spans ``line``, innermost first."""
        found = self._scopes_by_line.get(line)
        if found is None:
            around = []
            for q, fn in self.functions.items():
                if fn.node is not None:
                    first, last = self.span_of(fn.node)
                    if first <= line <= last:
                        around.append((last - first, q))
            found = self._scopes_by_line[line] = [q for _, q in sorted(around)]
        return found

    def _fed_by_callers(self) -> list[str]:
        """Functions with a parameter named like validation data whose every use is a call from
        elsewhere in the script that spells out each argument. Methods are left out: a method
        call is resolved by its name alone, and the framework calls some (``forward``) itself.
        Entry functions, uncalled helpers and callbacks keep reading such a name as validation
        data."""
        sites: dict[str, list[tuple[str, CallSite]]] = {}
        for caller, fn in self.functions.items():
            for call in fn.calls:
                sites.setdefault(call.callee, []).append((caller, call))
        return [
            q
            for q, fn in self.functions.items()
            if fn.class_name is None
            and any(_is_val_name(p) for p in fn.params)
            and any(caller != q for caller, _ in sites.get(q, []))
            and not any(call.reference or call.unpacked for _, call in sites.get(q, []))
        ]

    def invocations(self, qualname: str) -> list[tuple[int, cst.Call]]:
        """The calls a function makes to one of its own parameters (``fn(*args, **kwargs)`` in a
        wrapper that times the function it is given), with that parameter's index. Calls in
        nested functions count when the function calls them; lambdas are left out."""
        found = self._invocations.get(qualname)
        if found is None:
            fn = self.functions[qualname]
            found = []
            own = fn.params[: len(fn.params) - len(fn.free)]
            stack: list[cst.CSTNode] = [fn.node.body] if fn.node is not None else []
            nested: dict[str, cst.FunctionDef] = {}
            called: set[str] = set()
            while stack:
                current = stack.pop()
                kind = type(current)
                # Exact types: libcst's isinstance is an ABC check, asked of every node here.
                if type(current) is cst.FunctionDef:
                    nested[current.name.value] = current
                elif kind is not cst.Lambda and kind is not cst.ClassDef and kind not in _OPAQUE:
                    if type(current) is cst.Call and type(current.func) is cst.Name:
                        name = current.func.value
                        if name in own:
                            found.append((own.index(name), current))
                        called.add(name)
                    stack.extend(children(current))
                if not stack:
                    # A nested function the wrapper calls runs its calls too (`def body(): ...
                    # fn(*args)` then `return body()`).
                    stack.extend(nested.pop(name).body for name in called & set(nested))
            found.sort(key=lambda pair: self.line_of(pair[1]) or 0)
            self._invocations[qualname] = found
        return found

    def _env_helper(self, name: str) -> tuple[int, int] | None:
        """Whether the module-level function ``name`` is an environment getter of the script's
        own (:func:`env_helper`); asked only for the calls a switch's value depends on."""
        if name not in self._env_helpers:
            fn = self._top_functions.get(name)
            found = None
            if fn is not None and fn.node is not None:
                found = env_helper(fn.node, fn.params)
            self._env_helpers[name] = found
        return self._env_helpers[name]

    def returning(self, label: str) -> frozenset[str]:
        """The script's functions whose result carries ``label``: directly, or as the result of
        a call of another such function (a fixed point over the calls, kept per label)."""
        found = self._returning.get(label)
        if found is None:
            out: set[str] = set()
            changed = True
            while changed:
                changed = False
                for qualname, fn in self.functions.items():
                    if qualname not in out and _carries(fn.returns, label, out):
                        out.add(qualname)
                        changed = True
            found = self._returning[label] = frozenset(out)
        return found

    def carries(self, labels: Iterable[str], label: str) -> bool:
        """``labels`` hold ``label``, or the result of a function that returns it."""
        return _carries(labels, label, self.returning(label))

    def analysis(self, kind: Callable[[Facts], A]) -> A:
        """The analysis ``kind`` of this file, built once (``kind(facts)``) and shared by every
        rule that asks for it: ``facts.analysis(TrainingAnalysis)``."""
        found = self._analyses.get(kind)
        if found is None:
            found = self._analyses[kind] = kind(self)
        return cast(A, found)

    def release(self) -> None:
        """Drop everything these facts hold, once the file's audit is over.

        The facts are a web of cycles (each analysis holds the facts that cache it, the value
        evaluator holds their methods), and through them the file's whole libcst tree (~10^5
        nodes): left as they are, the tree waits for the cyclic garbage collector, whose walk
        over it costs more than freeing it. Dropped here, reference counting frees it at once.
        """
        self.__dict__.clear()

    # -- helpers used by the walker ------------------------------------------------------
    def target_name(self, name: str) -> bool:
        """Whether ``name`` is one the targets go by (``y``, ``targets``), kept per name: the
        walk asks it of every name it reads."""
        found = self._target_names.get(name)
        if found is None:
            found = self._target_names[name] = _TARGET_NAME.match(name) is not None
        return found

    def plain_name(self, name: str) -> bool:
        """Whether ``name`` is none of the names the walk labels by their spelling: not named
        like validation data or the targets, and no function of the script (kept per name)."""
        found = self._plain_names[name] = not (
            _is_val_name(name) or self.target_name(name) or name in self.functions_by_name
        )
        return found

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def line_of(self, node: cst.CSTNode) -> int:
        span = self._lines.get(id(node))
        return span[0] if span else 0

    def span_of(self, node: cst.CSTNode) -> tuple[int, int]:
        """First and last line of a statement (``(0, 0)`` for anything else)."""
        return self._lines.get(id(node), (0, 0))

    def code_line(self, line: int) -> str:
        return self._text_lines[line - 1] if 0 < line <= len(self._text_lines) else ""

    @cached_property
    def _text(self) -> str:
        return "\n".join(self._text_lines)

    def lines_with(self, *needles: str) -> list[int]:
        """Lines of the text that contain one of ``needles``: a cheap filter before walking code.

        One ``in`` test per line and needle present in the text: a per-line generator over the
        needles costs several times more on a 3,000-line script."""
        found: set[int] = set()
        for needle in needles:
            if needle in self._text:
                found.update(i for i, text in enumerate(self._text_lines, 1) if needle in text)
        return sorted(found)

    def evidence(self, line: int, label: str) -> Evidence:
        return Evidence(line, label, self.code_line(line).strip())

    def slices_in(self, expr: cst.CSTNode, walker: _Walker) -> tuple[str, ...]:
        """Upper bounds of the slices of validation data inside ``expr`` (a one-past read)."""
        out: list[str] = []
        stack: list[cst.CSTNode] = [expr]
        while stack:
            node = stack.pop()
            kind = type(node)
            if type(node) is cst.Subscript:
                subscript = node
                value_kind = type(subscript.value)
                base = (
                    walker.ev(subscript.value)
                    if value_kind is cst.Name or value_kind is cst.Attribute
                    else EMPTY
                )
                if VAL in base or any(lbl.startswith("P") for lbl in base):
                    for element in subscript.slice:
                        if type(element.slice) is cst.Slice and element.slice.upper is not None:
                            out.append(code_of(element.slice.upper))
            elif type(node) is cst.Name:
                out.extend(walker.name_slices.get(node.value, ()))
            if kind not in _OPAQUE:
                stack.extend(children(node))
        return tuple(out)

    def binding(self, fn: Function, name: str) -> str:
        """Which binding ``name`` read in ``fn`` is, as Python resolves it: ``fn``'s own local,
        an enclosing function's (a closure reads its parent's), or the module's global;
        written ``<scope>:<name>``. python-minifier gives every function the same one-letter
        names: the ``A`` of one function is not the ``A`` of another."""
        scope: Function | None = fn
        if name in fn.global_names:
            scope = None
        while scope is not None and scope.node is not None and name not in scope.local_names:
            scope = self.functions.get(scope.enclosing) if scope.enclosing else None
        if scope is None or scope.node is None:
            return f"<module>:{name}"
        return f"{scope.qualname}:{name}"

    def resolve_call(self, func: cst.BaseExpression, caller: Function) -> list[str]:
        if type(func) is cst.Name:
            # Asked of every call: the answer for a name depends only on the caller and the
            # script's functions, found before any walk, so it is kept per caller and name.
            key = (caller.qualname, func.value)
            found = self._resolved.get(key)
            if found is None:
                nested = f"{caller.qualname}.{func.value}"
                found = self._resolved[key] = (
                    (nested,)
                    if nested in self.functions
                    else tuple(
                        q
                        for q in self.functions_by_name.get(func.value, [])
                        if self.functions[q].class_name is None
                    )
                )
            return list(found)
        if type(func) is cst.Attribute:
            if self.local_modules and self._module_named(func.value) in self.local_modules:
                return [
                    q
                    for q in self.functions_by_name.get(func.attr.value, [])
                    if self.functions[q].class_name is None and "." not in q
                ]
            return list(self.methods_by_name.get(func.attr.value, []))
        return []

    def _module_named(self, node: cst.BaseExpression) -> str | None:
        """The module an expression names through the file's imports (``h`` -> ``helpers``)."""
        path = dotted(node)
        if path is None:
            return None
        root, _, rest = path.partition(".")
        base = self.imports.get(root)
        if base is None:
            return None
        return f"{base}.{rest}" if rest else base

    def context_ends(self, fn: Function) -> frozenset[tuple[str, str]]:
        found = self._context_ends.get(fn.qualname)
        if found is None:
            body = self._module_statements() if fn.node is None else [fn.node.body]
            found = self._context_ends[fn.qualname] = _context_ends(body, self.may_slice)
        return found

    def may_slice(self, stmt: cst.CSTNode) -> bool:
        """Whether a statement's lines hold a ``[`` and a ``:``, which every slice (``a[i:j]``)
        is written with: a statement without both has no slice (a log line's ``f"{x:.3f}"`` has
        none). True where its lines are not known."""
        span = self._lines.get(id(stmt))
        if not span:
            return True
        first, last = span
        colons, brackets = self._slice_marks
        return colons[last] > colons[first - 1] and brackets[last] > brackets[first - 1]

    @cached_property
    def _split_path_lines(self) -> list[int]:
        """Indexes of the text lines that may build a shard path (``fineweb_{split}_``)."""
        return [i for i, text in enumerate(self._text_lines) if "fineweb_{" in text]

    @cached_property
    def _slice_marks(self) -> tuple[list[int], list[int]]:
        """How many of the first ``n`` lines hold a ``:``, and how many a ``[``, for each ``n``.
        Lines end where Python ends them (``\\n``, ``\\r\\n``, ``\\r``), not at the other
        breaks of ``str.splitlines`` (a form feed): the statements' line numbers count them so."""
        other_breaks = _OTHER_LINE_BREAKS.search(self.text) is not None
        lines = _LINE_END.split(self.text) if other_breaks else self._text_lines
        colons = list(accumulate(map(contains, lines, repeat(":")), initial=0))
        brackets = list(accumulate(map(contains, lines, repeat("[")), initial=0))
        return colons, brackets

    # -- collection ----------------------------------------------------------------------
    def _module_statements(self) -> list[cst.CSTNode]:
        return [
            s
            for s in self.module.body
            if not (type(s) is cst.FunctionDef or type(s) is cst.ClassDef)
        ]

    def _collect_scopes(self) -> None:
        module_fn = Function("<module>", "<module>", (), 1, None)
        self.functions["<module>"] = module_fn
        scopes = _Scopes(self)
        scopes.block(self.module.body)
        scopes.local_names()
        scopes.closures()

    def _note_split_lister(self, fn: Function, node: cst.FunctionDef) -> None:
        if not self._mentions_split_paths:
            return
        start, end = self._lines.get(id(node), (0, 0))
        first = max(start - 1, 0)
        for index in self._split_path_lines[bisect_left(self._split_path_lines, first) :]:
            if index >= end:
                break
            for match in _SPLIT_PATH.finditer(self._text_lines[index]):
                if match.group(1) in fn.params:
                    self.split_listers[fn.qualname] = fn.params.index(match.group(1))
                    return

    def _note_import(self, node: cst.Import | cst.ImportFrom) -> None:
        """``import a.b`` binds ``a``; ``import a.b as c`` binds ``c`` to ``a.b``; ``from a import b``
        binds ``b`` to ``a.b``. Relative and star imports bind nothing we can name."""
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted(alias.name)
                if full is None:
                    continue
                if alias.asname is not None and type(alias.asname.name) is cst.Name:
                    self.imports[alias.asname.name.value] = full
                else:
                    root = full.split(".", 1)[0]
                    self.imports[root] = root
            return
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = dotted(node.module)
        if module is None:
            return
        for alias in node.names:
            name = dotted(alias.name)
            if name is None:
                continue
            bound = alias.asname.name if alias.asname is not None else alias.name
            if type(bound) is cst.Name:
                self.imports[bound.value] = f"{module}.{name}"

    def _note_assignment(
        self,
        small: cst.BaseSmallStatement,
        *,
        in_class: bool,
        top_level: bool,
        guards: tuple[Guard, ...] = (),
        scope: str | None = None,
    ) -> None:
        """Remember assignments for the switch evaluator (each with the conditions it sits
        under in its scope), and globals holding validation data.

        A class attribute (``class Hyperparameters: ttt_enabled = ...``) is read as
        ``args.ttt_enabled``, so it is filed with attributes.
        """
        targets: list[cst.BaseExpression] = []
        value: cst.BaseExpression | None = None
        if type(small) is cst.Assign:
            targets = [t.target for t in small.targets]
            value = small.value
        elif type(small) is cst.AnnAssign and small.value is not None:
            targets = [small.target]
            value = small.value
        if value is None:
            return
        self._value_lines[id(value)] = self.line_of(small)
        # Only globals and attributes are looked up by name from other scopes; locals are
        # followed by the walker, so there is no need to scan their values here.
        visible = top_level or in_class or any(type(t) is cst.Attribute for t in targets)
        reads_val, reads_train = _mentions_data(value) if visible else (False, False)
        for target in targets:
            if reads_val and reads_train:  # only globals and attributes are scanned
                self.both_splits.setdefault(last_name(target) or "", self.line_of(small))
            if type(target) is cst.Name and not in_class:
                table, key = self.assigned_names, target.value
                choices = self._name_choices
                if reads_val and top_level:
                    self.val_globals.add(key)
                if reads_train and top_level:
                    self.train_globals.add(key)
            elif type(target) is cst.Name or type(target) is cst.Attribute:
                table, key = self.assigned_attrs, last_name(target) or ""
                choices = self._attr_choices
                if reads_val:
                    self.val_attrs.add(key)
                if reads_train:
                    self.train_attrs.add(key)
            else:
                continue
            table[key] = value if key not in table else None
            choices.setdefault(key, []).append(Assigned(value, guards, scope))

    # -- resolved facts ------------------------------------------------------------------
    @cached_property
    def returns_val(self) -> set[str]:
        """Functions whose return value carries validation data."""
        out: set[str] = set()
        changed = True
        while changed:
            changed = False
            for q, fn in self.functions.items():
                if q not in out and self.has_val(fn.returns, out):
                    out.add(q)
                    changed = True
        return out

    def parameter_aliases(self, fn: Function) -> dict[str, str]:
        """Local names that only ever stand for a parameter: ``B = model`` (python-minifier
        writes it to shorten the parameter's uses), each bound once, the parameter never
        rebound. What is done through the alias is done to the parameter."""
        found = self._aliases.get(fn.qualname)
        if found is None:
            found = self._aliases[fn.qualname] = (
                _parameter_aliases(fn.node, fn.params) if fn.node is not None else {}
            )
        return found

    def _argument(self, qualname: str, name: str) -> tuple[bool, cst.BaseExpression | None]:
        """Whether ``name`` is a parameter of ``qualname``, and its declared default where that
        is the value it holds in the default run: the function is called, no call passes the
        parameter (by position, keyword or ``*``/``**`` spread), none hands the function out
        as a value, and the function does not rebind it. Asked by the switch evaluator only
        after the walk, when every call site is known."""
        fn = self.functions.get(qualname)
        if fn is None or fn.node is None:
            return False, None
        params = fn.node.params
        declared = next(
            (
                p
                for p in (*params.posonly_params, *params.params, *params.kwonly_params)
                if p.name.value == name
            ),
            None,
        )
        if declared is None:
            return False, None
        # A keyword-only parameter is never filled by position.
        index = fn.params.index(name) if name in fn.params else len(fn.params)
        sites = self._callers.get(qualname, [])
        if (
            declared.default is None
            or not sites
            or any(
                call.reference
                or call.unpacked
                or index < len(call.args)
                or any(key == name for key, _ in call.kwargs)
                for call in sites
            )
            or any(a.scope == qualname for a in self._name_choices.get(name, ()))
        ):
            return True, None
        return True, declared.default

    @cached_property
    def _callers(self) -> dict[str, list[CallSite]]:
        """Every call site of each function."""
        out: dict[str, list[CallSite]] = {}
        for fn in self.functions.values():
            for call in fn.calls:
                out.setdefault(call.callee, []).append(call)
        return out

    def is_score(self, acc: Accumulation) -> bool:
        """Whether ``acc`` adds up the score: a log-loss flows into it, or, where the flow is
        hidden (a loss returned by an object of another file, or by a helper defined below its
        caller), its name says so."""
        return LOSS in acc.labels or is_score_accumulator(acc.target)

    def score_accumulators(self, fn: Function) -> frozenset[str]:
        """The names in ``fn`` that add up the score (see :meth:`is_score`)."""
        return frozenset(acc.target for acc in fn.accumulations if self.is_score(acc))

    def has_val(self, labels: Iterable[str], returning: set[str] | None = None) -> bool:
        returning = self.returns_val if returning is None else returning
        return any(lbl == VAL or (lbl.startswith("C") and lbl[1:] in returning) for lbl in labels)

    @cached_property
    def val_params(self) -> dict[str, set[int]]:
        """For each function, the parameters that receive validation data at some call site."""
        out: dict[str, set[int]] = {q: set() for q in self.functions}
        # A parameter receives validation data where a call passes it directly, or passes a
        # parameter of the caller that receives it: solved from the direct ones, following
        # each parameter found to the arguments it is passed on as (one look at each call).
        work: list[tuple[str, int]] = []
        passed_on: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for q, fn in self.functions.items():
            for call in fn.calls:
                callee = self.functions[call.callee]
                received = list(enumerate(call.args)) + [
                    (callee.params.index(key), labels)
                    for key, labels in call.kwargs
                    if key in callee.params
                ]
                for i, labels in received:
                    if self.has_val(labels):
                        work.append((call.callee, i))
                        continue
                    for lbl in labels:
                        if lbl.startswith("P") and lbl[1:].isdigit():
                            passed_on.setdefault((q, int(lbl[1:])), []).append((call.callee, i))
        while work:
            q, i = work.pop()
            if i not in out[q]:
                out[q].add(i)
                work.extend(passed_on.get((q, i), ()))
        return out

    def carries_val(
        self, labels: Labels, qualname: str, params: dict[str, set[int]] | None = None
    ) -> bool:
        """Validation data directly, or through a parameter of ``qualname`` that receives it."""
        if self.has_val(labels):
            return True
        fed = (self.val_params if params is None else params).get(qualname, set())
        return any(
            lbl.startswith("P") and lbl[1:].isdigit() and int(lbl[1:]) in fed for lbl in labels
        )

    @cached_property
    def gates(self) -> dict[str, Gate]:
        """How each function is reached from the entry point."""
        gates: dict[str, Gate] = {q: UNREACHABLE for q in self.functions}
        if self.functions["<module>"].calls:
            gates["<module>"] = Gate(Reachability.DEFAULT_ON)
        else:
            # No entry point at all (a library file or a snippet): every function is a root
            # whose reachability we cannot tell.
            gates = {q: Gate(Reachability.UNKNOWN) for q in self.functions}
        # Rounds over the functions in order, as long as a gate changes; a function whose gate
        # is unchanged since it was last propagated would only propagate the same gates again
        # (no better than what its callees hold), so only the changed ones are visited.
        changed = set(self.functions)
        while changed:
            for q, fn in self.functions.items():
                if q not in changed:
                    continue
                changed.discard(q)
                if not gates[q].reachable:
                    continue
                for call in fn.calls:
                    via = self.combine(gates[q], call.where.guards)
                    best = _better(gates[call.callee], via)
                    if best != gates[call.callee]:
                        gates[call.callee] = best
                        changed.add(call.callee)
        return gates

    def combine(self, base: Gate, guards: Sequence[Guard]) -> Gate:
        """The gate of a place under ``guards`` inside a function reached through ``base``."""
        if not base.reachable:
            return base
        # Reachability is solved to a fixed point, and the rules ask again for every event:
        # the same few gate and guard objects, thousands of times. Remembered by identity first
        # (hashing them by value hashes libcst nodes, in Python; the entry holds the objects, so
        # no id in a key can be reused while it is kept), then by value: equal gates built
        # apart (one per call path) share the evaluation of the guards.
        key = (id(base), *map(id, guards))
        found = self._combined.get(key)
        if found is None:
            held = tuple(guards)
            gate = self._combined_by_value.get((base, held))
            if gate is None:
                gate = self._combined_by_value[(base, held)] = self._combine(base, held)
            found = self._combined[key] = (base, held, gate)
        return found[2]

    def _combine(self, base: Gate, guards: Sequence[Guard]) -> Gate:
        reach = base.reach
        switches = list(base.switches)
        for guard in guards:
            value, reads = self.evaluator.evaluate(guard.test, guard.line)
            if not reads:
                continue  # a data-dependent condition, not a switch: assume it can run
            on = truth(value)
            if value is WORLD:
                if reach == Reachability.DEFAULT_ON:
                    reach = Reachability.WORLD_SIZE
            elif on is not None and on == guard.negated:
                reach = Reachability.OFF_BY_DEFAULT
                switches.extend(Switch(r.env, r.default, r.line) for r in reads)
        return Gate(reach, tuple(dict.fromkeys(switches)))

    @cached_property
    def all_count_tables(self) -> frozenset[str]:
        """The count tables (by :meth:`table_id`) and what is passed in their place: what a
        caller passes where the callee counts into its parameter (directly or through the
        helpers it passes it on to) is one, and so is a parameter that receives one."""
        out = set(self.count_tables)
        edges = [
            (f"{call.callee}:{self.functions[call.callee].params[i]}", passed)
            for fn in self.functions.values()
            for call in fn.calls
            for i, passed in enumerate(call.arg_ids)
            if passed is not None and i < len(self.functions[call.callee].params)
        ]
        for counted, received in ((0, 1), (1, 0)):  # up from the callees first, then down
            changed = True
            while changed:
                changed = False
                for edge in edges:
                    if edge[counted] in out and edge[received] not in out:
                        out.add(edge[received])
                        changed = True
        return frozenset(out)

    def with_callers(self, functions: set[str]) -> set[str]:
        """``functions`` and every function that calls one of them, directly or through others
        (a function passed as a value is not called there)."""
        out = set(functions)
        changed = True
        while changed:
            changed = False
            for q, fn in self.functions.items():
                if q not in out and any(c.callee in out and not c.reference for c in fn.calls):
                    out.add(q)
                    changed = True
        return out

    def is_count_table(self, lookup: Lookup) -> bool:
        return lookup.table_id in self.all_count_tables

    @cached_property
    def _updates_by_table(self) -> dict[str, list[tuple[str, TableUpdate]]]:
        out: dict[str, list[tuple[str, TableUpdate]]] = {}
        for q, fn in self.functions.items():
            for update in fn.updates:
                out.setdefault(update.table_id, []).append((q, update))
        return out

    def table_fill(self, fn: Function, table_id: str) -> TableUpdate | None:
        """An update of the count table ``table_id`` (what fills it), the one nearest to ``fn``: in
        ``fn`` itself, else in a method of its class, else anywhere; among those, the first that
        counts the target under its key (``np.add.at(full, ctx ^ tgt * p, 1)``), else the first."""
        updates = self._updates_by_table.get(table_id, [])
        owner = fn.qualname.rpartition(".")[0] if fn.class_name else None
        for near in (
            lambda q: q == fn.qualname,
            lambda q: owner is not None and q.rpartition(".")[0] == owner,
            lambda q: True,
        ):
            found = [update for q, update in updates if near(q)]
            if found:
                return min(found, key=lambda u: (TGT not in u.labels, u.where.line))
        return None

    def is_trained_table(self, table_id: str) -> bool:
        """A count table whose every recorded update writes data other than validation data.

        Such a table is filled while training and shipped in the artifact (its bytes are paid),
        not an eval-time cache. A table with no recorded update under this name (one filled
        through a helper's parameter) is not known to be trained.
        """
        updates = self._updates_by_table.get(table_id, [])
        return bool(updates) and not any(
            self.carries_val(update.labels, q) for q, update in updates
        )

    def gate(self, fn: Function, where: Context) -> Gate:
        return self.combine(self.gates[fn.qualname], where.guards)

    def ordered_functions(self) -> list[Function]:
        return sorted(self.functions.values(), key=lambda f: f.line)


def _subscript_bases(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is cst.Subscript:
            yield cast(cst.Subscript, current).value
        elif kind is cst.Call:
            func = cast(cst.Call, current).func
            if type(func) is cst.Attribute and func.attr.value == "get":
                yield func.value
        elif kind in _OPAQUE:
            continue
        stack.extend(children(current))


def _mentions_data(node: cst.CSTNode) -> tuple[bool, bool]:
    """Whether an expression names validation data, and whether it names training shards (one
    walk for both)."""
    val = train = False
    stack: list[cst.CSTNode] = [node]
    while stack and not (val and train):
        current = stack.pop()
        kind = type(current)
        if type(current) is cst.Name:
            val = val or _is_val_name(current.value)
            continue
        text = _string_text(current)
        if text is not None:
            val = val or "fineweb_val_" in text
            train = train or "fineweb_train_" in text
        elif type(current) is cst.Call:
            val = val or callee_name(current.func) in _VAL_LOADERS
        if kind not in _OPAQUE:
            stack.extend(children(current))
    return val, train


def _mentions_val(node: cst.CSTNode) -> bool:
    return _mentions_data(node)[0]


mentions_val = _mentions_val
"""Public name: whether an expression names validation data directly (a ``val_tokens`` name, a
``fineweb_val_*`` string, a validation loader call), for rule modules that judge expressions."""


__all__ = [
    "CLOCK",
    "LOSS",
    "NG",
    "TGT",
    "TRAIN",
    "VAL",
    "Accumulation",
    "Backward",
    "CallSite",
    "Condition",
    "Context",
    "ExternalCall",
    "Facts",
    "Function",
    "Gate",
    "GradLeaf",
    "Guard",
    "LeafStep",
    "Lookup",
    "TableUpdate",
    "TrainUse",
    "callee_name",
    "code_of",
    "dotted",
    "grad_labels",
    "is_accumulator",
    "is_score_accumulator",
    "last_name",
    "mentions_val",
    "more_enabled",
    "names_read",
    "receiver_of",
]
