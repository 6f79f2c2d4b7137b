"""Static evaluation of the small expressions that decide whether a code path runs.

Scripts gate their illegal paths behind environment switches
(``TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "1")))``). To know whether the
official run takes a path we evaluate such expressions with the defaults the script itself
declares — without executing anything: only constants, a handful of pure builtins and
comparisons are interpreted; everything else is :data:`UNKNOWN`.

Values that depend on the number of processes evaluate to :data:`WORLD`: the official run uses
8 GPUs, so a path enabled only when ``world_size > 1`` counts as enabled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import libcst as cst

from pgolf_cli.audit.flow.walker import Guard
from pgolf_cli.audit.nodes import children

# Node tests are exact (`type(x) is cst.Name`): libcst's concrete node classes are never
# subclassed, and isinstance on them pays for an ABC check (see `nodes._is_node`).


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


UNKNOWN: Any = _Marker("UNKNOWN")
WORLD: Any = _Marker("WORLD")

_ENV_GETTERS = {"get", "getenv"}
_WORLD_NAMES = ("world_size", "nproc", "num_gpus", "n_gpus", "ngpus", "local_world_size")
_WORLD_CALLS = {"get_world_size", "device_count"}
_PURE: dict[str, Callable[..., Any]] = {"int": int, "float": float, "bool": bool, "str": str}
_STR_METHODS = {"lower", "upper", "strip", "casefold"}


@dataclass(frozen=True, slots=True)
class EnvRead:
    """An ``os.environ`` read met during evaluation: the switch and its declared default."""

    env: str
    default: str
    line: int


@dataclass(slots=True, unsafe_hash=True)  # not frozen, for speed (see `audit.context.Context`)
class Assigned:
    """One assignment to a name or attribute, and the conditions it sits under in its scope
    (never changed once built)."""

    value: cst.BaseExpression
    guards: tuple[Guard, ...] = ()
    scope: str | None = None
    """The function the assignment is in (its qualified name); None at module or class level."""


Argument = Callable[[str, str], tuple[bool, cst.BaseExpression | None]]
"""``(function, name)`` -> whether ``name`` is a parameter of that function, and the expression
it holds in the default run: its declared default when no call in the script passes it, else
None (what a caller passes is not evaluated)."""


def is_world_name(name: str) -> bool:
    lowered = name.lower()
    return any(w in lowered for w in _WORLD_NAMES)


def _reads_env(call: cst.Call) -> bool:
    """``os.environ.get(...)`` / ``os.getenv(...)``."""
    func = call.func
    if type(func) is not cst.Attribute or func.attr.value not in _ENV_GETTERS:
        return False
    owner = func.value
    owner_name = owner.attr.value if type(owner) is cst.Attribute else getattr(owner, "value", None)
    return owner_name == ("environ" if func.attr.value == "get" else "os")


def env_key(call: cst.Call) -> tuple[str, cst.BaseExpression | None] | None:
    """``os.environ.get("X", d)`` / ``os.getenv("X", d)`` -> ("X", d); anything else -> None."""
    if not _reads_env(call):
        return None
    if not call.args or type(call.args[0].value) is not cst.SimpleString:
        return None
    key = call.args[0].value.evaluated_value
    default = call.args[1].value if len(call.args) > 1 else None
    return (key if isinstance(key, str) else key.decode(errors="replace")), default


def env_helper(node: cst.FunctionDef, params: Sequence[str]) -> tuple[int, int] | None:
    """A script's own environment getter (``def _env_bool(name, default)`` that reads
    ``os.environ.get(name)`` and returns ``default`` when it is unset): the indices of its key
    and default parameters; None for any other function.
    """
    key: int | None = None
    default: int | None = None
    stack: list[cst.CSTNode] = [node.body]
    while stack:
        current = stack.pop()
        if type(current) is cst.Call and _reads_env(current) and current.args:
            first = current.args[0].value
            if type(first) is cst.Name and first.value in params:
                key = params.index(first.value)
                second = current.args[1].value if len(current.args) > 1 else None
                if type(second) is cst.Name and second.value in params:
                    default = params.index(second.value)
        elif type(current) is cst.Return and current.value is not None and default is None:
            # `return default`, or `return default if raw is None else ...`
            value = current.value
            returned = [value.body, value.orelse] if type(value) is cst.IfExp else [value]
            for item in returned:
                if type(item) is cst.Name and item.value in params:
                    default = params.index(item.value)
                    break
        stack.extend(children(current))
    if key is None or default is None or key == default:
        return None
    return key, default


def _constant(node: cst.BaseExpression) -> Any:
    if type(node) is cst.SimpleString:
        return node.evaluated_value
    if type(node) is cst.Integer or type(node) is cst.Float:
        return node.evaluated_value
    if type(node) is cst.Name and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if type(node) is cst.ConcatenatedString:
        return node.evaluated_value
    return UNKNOWN


def _compare(op: cst.BaseCompOp, left: Any, right: Any) -> Any:
    try:
        if type(op) is cst.Equal:
            return left == right
        if type(op) is cst.NotEqual:
            return left != right
        if type(op) is cst.GreaterThan:
            return left > right
        if type(op) is cst.GreaterThanEqual:
            return left >= right
        if type(op) is cst.LessThan:
            return left < right
        if type(op) is cst.LessThanEqual:
            return left <= right
        if type(op) is cst.In:
            return left in right
        if type(op) is cst.NotIn:
            return left not in right
        if type(op) is cst.Is:
            return left is right
        if type(op) is cst.IsNot:
            return left is not right
    except TypeError:
        return UNKNOWN
    return UNKNOWN


class Evaluator:
    """Evaluates expressions against the script's names and attributes.

    ``names`` / ``attrs`` map a name (or an attribute's last component, as in
    ``args.ttt_enabled``) to the one expression assigned to it in the file, or to ``None``
    when it is assigned more than once. ``name_choices`` / ``attr_choices`` list, for those,
    every assignment with the conditions it sits under: when exactly one is unconditional (the
    declared default) and each other one sits under a condition that the defaults decide
    against (a non-default preset; a caller's argument that no call passes, which holds the
    parameter's declared default: ``argument``), the default decides; otherwise the value is
    unknown. A condition the defaults cannot decide depends on the data (``isinstance(m,
    GPT)``): as the gates do, the evaluator assumes it can hold. ``env_helper`` tells whether a
    name is one of the script's own environment getters, with its key and default parameters
    (:func:`env_helper`). ``scopes_at`` gives the functions around a line, innermost first: a
    name assigned in several functions (python-minifier gives every function the same short
    names) is read from the innermost one around the line that assigns it, as Python does.
    """

    def __init__(
        self,
        names: dict[str, cst.BaseExpression | None],
        attrs: dict[str, cst.BaseExpression | None],
        lines: Callable[[cst.CSTNode], int],
        *,
        name_choices: Mapping[str, Sequence[Assigned]] | None = None,
        attr_choices: Mapping[str, Sequence[Assigned]] | None = None,
        env_helper: Callable[[str], tuple[int, int] | None] = lambda name: None,
        argument: Argument | None = None,
        scopes_at: Callable[[int], Sequence[str]] = lambda line: (),
    ) -> None:
        self._scopes_at = scopes_at
        self._names = names
        self._attrs = attrs
        self._choices = {False: name_choices or {}, True: attr_choices or {}}
        self._env_helper = env_helper
        self._argument = argument
        self._line_of = lines
        self._line = 0
        self._scope: str | None = None
        """The function whose parameters the names being evaluated may be (see _taken)."""
        self._cache: dict[int, tuple[Any, tuple[EnvRead, ...]]] = {}
        self._active: set[int] = set()
        self._deciding: dict[tuple[bool, str, str | None], cst.BaseExpression | None] = {}
        self._results: dict[tuple[int, int], tuple[cst.BaseExpression, Any, tuple[EnvRead, ...]]]
        self._results = {}

    def evaluate(self, node: cst.BaseExpression, line: int = 0) -> tuple[Any, tuple[EnvRead, ...]]:
        """The value (or UNKNOWN / WORLD) and the environment switches it was read from.

        ``line`` is where ``node`` stands; switches read through assignments report the
        assignment's line.
        """
        # The same test is evaluated again and again (each guard, for every way its function is
        # reached); the answer cannot change: every name it resolved is cached by then. The node
        # is kept with its answer so that its id is not reused by another node.
        key = (id(node), line)
        known = self._results.get(key)
        if known is not None and known[0] is node:
            return known[1], known[2]
        reads: list[EnvRead] = []
        self._line = line
        value = self._eval(node, reads, 0)
        found = tuple(dict.fromkeys(reads))
        self._results[key] = (node, value, found)
        return value, found

    def _resolve(self, expr: cst.BaseExpression, reads: list[EnvRead], depth: int) -> Any:
        key = id(expr)
        if key in self._active:
            return UNKNOWN
        cached = self._cache.get(key)
        if cached is None:
            self._active.add(key)
            inner: list[EnvRead] = []
            # An assignment's value is read in its own scope, not in that of the condition.
            outer_line, self._line = self._line, self._line_of(expr)
            outer_scope, self._scope = self._scope, None
            try:
                cached = (self._eval(expr, inner, depth + 1), tuple(inner))
            finally:
                self._active.discard(key)
                self._line, self._scope = outer_line, outer_scope
            self._cache[key] = cached
        reads.extend(cached[1])
        return cached[0]

    def _assigned(
        self, attr: bool, key: str, reads: list[EnvRead], depth: int
    ) -> cst.BaseExpression | None:
        """The expression that gives ``key`` its value in the default run, or None."""
        table = self._attrs if attr else self._names
        expr = table.get(key)
        if expr is not None or key not in table:
            return expr
        assignments = self._choices[attr].get(key, ())
        scope: str | None = None
        if not attr:
            scope, assignments = self._local(assignments)
            if scope is not None and len(assignments) == 1:
                return assignments[0].value  # the function's one assignment, as if unique
        slot = (attr, key, scope)
        if slot in self._deciding:
            return self._deciding[slot]
        plain = [a for a in assignments if not a.guards]
        if len(plain) != 1:
            self._deciding[slot] = None
            return None
        # A condition that reads `key` itself (`if not args.x: args.x = True`) sees the default.
        self._deciding[slot] = plain[0].value
        for other in assignments:
            # The conditions only decide which value stands; the switches reported are those
            # the value itself reads.
            if other.guards and all(self._taken(g, other.scope, depth) for g in other.guards):
                self._deciding[slot] = None  # reached by default as well: two values, unknown
                break
        return self._deciding[slot]

    def _local(self, assignments: Sequence[Assigned]) -> tuple[str | None, Sequence[Assigned]]:
        """The assignments of a name in the innermost function around the line being evaluated
        that assigns it (with that function), else all of them (and None)."""
        if self._line and any(a.scope is not None for a in assignments):
            for scope in self._scopes_at(self._line):
                local = [a for a in assignments if a.scope == scope]
                if local:
                    return scope, local
        return None, assignments

    def _taken(self, guard: Guard, scope: str | None, depth: int) -> bool:
        """Whether the default run may take ``guard``'s branch, which sits in ``scope``: unless
        the defaults decide the test against it. A world-size test counts as taken, and so does
        an undecided one (a test on data, ``isinstance(m, GPT)``), as the gates assume."""
        reads: list[EnvRead] = []
        outer_line, self._line = self._line, guard.line
        outer_scope, self._scope = self._scope, scope
        try:
            value = self._eval(guard.test, reads, depth + 1)
        finally:
            self._line, self._scope = outer_line, outer_scope
        on = truth(value)
        return on is None or on != guard.negated

    def _eval(self, node: cst.BaseExpression, reads: list[EnvRead], depth: int) -> Any:
        if depth > 40:
            return UNKNOWN
        const = _constant(node)
        if const is not UNKNOWN:
            return const
        if type(node) is cst.Name:
            if is_world_name(node.value):
                return WORLD
            if node.value == "__name__":
                return "__main__"  # the script is run, not imported
            if self._scope is not None and self._argument is not None:
                parameter, default = self._argument(self._scope, node.value)
                if parameter:
                    return UNKNOWN if default is None else self._resolve(default, reads, depth)
            expr = self._assigned(False, node.value, reads, depth)
            return UNKNOWN if expr is None else self._resolve(expr, reads, depth)
        if type(node) is cst.Attribute:
            if is_world_name(node.attr.value):
                return WORLD
            expr = self._assigned(True, node.attr.value, reads, depth)
            return UNKNOWN if expr is None else self._resolve(expr, reads, depth)
        if type(node) is cst.Call:
            return self._call(node, reads, depth)
        if type(node) is cst.UnaryOperation:
            operand = self._eval(node.expression, reads, depth + 1)
            if operand is UNKNOWN or operand is WORLD:
                return operand
            if type(node.operator) is cst.Not:
                return not operand
            if type(node.operator) is cst.Minus and isinstance(operand, int | float):
                return -operand
            return UNKNOWN
        if type(node) is cst.BooleanOperation:
            left = self._eval(node.left, reads, depth + 1)
            right = self._eval(node.right, reads, depth + 1)
            is_and = type(node.operator) is cst.And
            for side in (left, right):
                if side is not UNKNOWN and side is not WORLD and bool(side) is not is_and:
                    return side  # a falsy `and` operand (truthy `or` operand) decides alone
            if WORLD in (left, right):
                return WORLD
            if UNKNOWN in (left, right):
                return UNKNOWN
            return (left and right) if is_and else (left or right)
        if type(node) is cst.Comparison:
            left = self._eval(node.left, reads, depth + 1)
            result: Any = True
            for target in node.comparisons:
                if _is_environ(target.comparator) and isinstance(left, str):
                    # `"X" in os.environ`: the official run leaves the script's switches unset.
                    reads.append(EnvRead(left, "unset", self._line))
                    right = ()
                else:
                    right = self._eval(target.comparator, reads, depth + 1)
                if WORLD in (left, right):
                    return WORLD
                if UNKNOWN in (left, right):
                    return UNKNOWN
                step = _compare(target.operator, left, right)
                if step is UNKNOWN:
                    return UNKNOWN
                result = result and step
                left = right
            return result
        if type(node) is cst.IfExp:
            test = self._eval(node.test, reads, depth + 1)
            if test is WORLD:
                body = self._eval(node.body, reads, depth + 1)
                orelse = self._eval(node.orelse, reads, depth + 1)
                return body if body == orelse else WORLD
            if test is UNKNOWN:
                return UNKNOWN
            return self._eval(node.body if test else node.orelse, reads, depth + 1)
        if type(node) is cst.Tuple or type(node) is cst.List or type(node) is cst.Set:
            items = [
                self._eval(e.value, reads, depth + 1)
                for e in node.elements
                if type(e) is cst.Element
            ]
            if any(i is UNKNOWN or i is WORLD for i in items):
                return UNKNOWN
            return tuple(items)
        if type(node) is cst.BinaryOperation:
            return self._binary(node, reads, depth)
        return UNKNOWN

    def _binary(self, node: cst.BinaryOperation, reads: list[EnvRead], depth: int) -> Any:
        left = self._eval(node.left, reads, depth + 1)
        right = self._eval(node.right, reads, depth + 1)
        if WORLD in (left, right):
            return WORLD
        if UNKNOWN in (left, right):
            return UNKNOWN
        ops: dict[type[cst.BaseBinaryOp], Callable[[Any, Any], Any]] = {
            cst.Add: lambda a, b: a + b,
            cst.Subtract: lambda a, b: a - b,
            cst.Multiply: lambda a, b: a * b,
            cst.FloorDivide: lambda a, b: a // b,
            cst.Divide: lambda a, b: a / b,
        }
        op = ops.get(type(node.operator))
        if op is None:
            return UNKNOWN
        try:
            return op(left, right)
        except (TypeError, ZeroDivisionError, ValueError, OverflowError):
            return UNKNOWN

    def _call(self, node: cst.Call, reads: list[EnvRead], depth: int) -> Any:
        found = env_key(node)
        if found is not None:
            key, default = found
            if is_world_name(key):
                return WORLD  # WORLD_SIZE: the official run sets it to 8
            if default is None:
                value: Any = None
                shown = "unset"
            else:
                value = self._eval(default, reads, depth + 1)
                shown = "depends on world_size" if value is WORLD else repr(value)
            reads.append(EnvRead(key, shown, self._line))
            return value
        func = node.func
        helper = self._env_helper(func.value) if type(func) is cst.Name else None
        if helper is not None:
            key_at, default_at = helper
            positional = [a.value for a in node.args if a.keyword is None and not a.star]
            if len(positional) <= key_at:
                return UNKNOWN
            name = _constant(positional[key_at])
            if not isinstance(name, str):
                return UNKNOWN
            if is_world_name(name):
                return WORLD
            value = (
                self._eval(positional[default_at], reads, depth + 1)
                if len(positional) > default_at
                else None
            )
            shown = "depends on world_size" if value is WORLD else repr(value)
            reads.append(EnvRead(name, shown, self._line))
            return value
        if (type(func) is cst.Name or type(func) is cst.Attribute) and _last(func) == "field":
            # A dataclass field: `field(default=x)` / `field(default_factory=lambda: x)` is x.
            for arg in node.args:
                keyword = arg.keyword.value if arg.keyword is not None else None
                if keyword == "default":
                    return self._eval(arg.value, reads, depth + 1)
                if keyword == "default_factory" and type(arg.value) is cst.Lambda:
                    return self._eval(arg.value.body, reads, depth + 1)
            return UNKNOWN
        if type(func) is cst.Name and func.value == "getattr" and len(node.args) in (2, 3):
            # `getattr(args, "slot_enabled", False)` reads the attribute `args.slot_enabled`.
            name = _constant(node.args[1].value)
            if isinstance(name, str) and name.isidentifier():
                if is_world_name(name):
                    return WORLD
                expr = self._attrs.get(name)
                if expr is not None:
                    return self._resolve(expr, reads, depth)
            return UNKNOWN
        if type(func) is cst.Name and func.value in _PURE and len(node.args) == 1:
            arg = self._eval(node.args[0].value, reads, depth + 1)
            if arg is UNKNOWN or arg is WORLD:
                return arg
            try:
                return _PURE[func.value](arg)
            except (TypeError, ValueError, OverflowError):
                return UNKNOWN
        if type(func) is cst.Attribute:
            if func.attr.value in _WORLD_CALLS:
                return WORLD
            if func.attr.value in _STR_METHODS and not node.args:
                owner = self._eval(func.value, reads, depth + 1)
                if isinstance(owner, str):
                    return getattr(owner, func.attr.value)()
                return owner if owner is WORLD else UNKNOWN
        return UNKNOWN


def _is_environ(node: cst.BaseExpression) -> bool:
    """``os.environ`` (or a bare ``environ`` imported from os)."""
    if type(node) is cst.Attribute:
        return node.attr.value == "environ" and getattr(node.value, "value", None) == "os"
    return type(node) is cst.Name and node.value == "environ"


def _last(func: cst.Name | cst.Attribute) -> str:
    return func.value if type(func) is cst.Name else cast(cst.Attribute, func).attr.value


def truth(value: Any) -> bool | None:
    """Python truthiness of an evaluated value; None when unknown (WORLD handled by callers)."""
    if value is UNKNOWN or value is WORLD:
        return None
    try:
        return bool(value)
    except Exception:
        return None
