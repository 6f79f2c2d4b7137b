"""What the artifact and the code embed: validation data written into the artifact, and token
ids decoded from large constants in the code.

Validation data in the artifact is found by data flow and position: a file write that becomes
the artifact (see :mod:`pgolf_cli.audit.analyses.phases`) whose labels carry validation data, and an
expression that holds validation data itself — not something the script's own functions
computed from it, which is the calibration analysis's concern — among the values that go into that write.

An embedded constant is a string or bytes literal of at least ``MIN_CONSTANT_CHARS`` characters
that reaches ``np.frombuffer`` / ``np.fromstring`` / ``torch.frombuffer`` with a 16-bit or
wider integer dtype (inline, through decoders, or through the one value assigned to a name).
Tokenizer byte tables are 8-bit or small and stay below that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from pgolf_cli.audit.analyses.phases import Flow, Item, Phases
from pgolf_cli.audit.facts import (
    ExternalCall,
    Facts,
    Function,
    Gate,
    code_of,
    mentions_val,
)
from pgolf_cli.audit.nodes import children

MIN_CONSTANT_CHARS = 32_768
"""About 16k token ids as base85 uint16: larger than any tokenizer table in 16-bit form
(an int16 byte-length table for an 8192-piece vocabulary is ~20k characters of base85)."""

_ID_BUFFERS = frozenset({"numpy.frombuffer", "numpy.fromstring", "torch.frombuffer"})
_ID_DTYPE = re.compile(r"(?:^|[^a-z0-9])(?:u?int(?:16|32|64)?|long|short|[iu][248])(?:$|[^a-z0-9])")
"""``np.uint16``, ``torch.int32``, ``"<u2"``, ``int``, ``torch.long``; not ``uint8`` / ``bool``."""


@dataclass(frozen=True, slots=True)
class ValWrite:
    """Validation data written into the artifact."""

    write: Item
    value: Flow
    gate: Gate


@dataclass(frozen=True, slots=True)
class EmbeddedIds:
    """A large constant decoded into integer ids."""

    function: Function
    line: int
    chars: int
    dtype: str
    gate: Gate


def val_writes(facts: Facts) -> Iterator[ValWrite]:
    """Artifact writes holding validation data, one per write line."""
    ph = facts.analysis(Phases)
    seen: set[int] = set()
    for write in ph.artifact_writes:
        call = write.event
        assert isinstance(call, ExternalCall)
        if write.line in seen or not ph.carries_val(call.labels, write.frame):
            continue
        for frame, flow in ph.written(write, derived=False).values:
            if _holds_val(facts, flow.value, frame.fn, ph):
                seen.add(write.line)
                gate = facts.combine(write.gate, flow.guards)
                yield ValWrite(write, flow, gate)
                break


def _holds_val(facts: Facts, node: cst.CSTNode, fn: Function, ph: Phases) -> bool:
    """Whether ``node`` holds validation data itself (a slice or copy of it, not a value that
    one of the script's own functions computed from it)."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Lambda):
            continue
        if isinstance(current, cst.Call) and ph.builds(current, fn):
            continue
        if isinstance(current, cst.Name | cst.SimpleString | cst.FormattedStringText) and (
            mentions_val(current)
            or (isinstance(current, cst.Name) and current.value in facts.val_globals)
        ):
            return True
        if isinstance(current, cst.Attribute) and (
            current.attr.value in facts.val_attrs or mentions_val(current.attr)
        ):
            return True
        stack.extend(children(current))
    return False


def embedded_ids(facts: Facts) -> Iterator[EmbeddedIds]:
    """Reachable decodes of a large constant into 16-bit or wider integers."""
    for fn in facts.ordered_functions():
        for call in fn.externals:
            if call.name not in _ID_BUFFERS or not call.node.args:
                continue
            dtype = _dtype(call.node, numpy=call.name.startswith("numpy."))
            if dtype is None or not _ID_DTYPE.search(dtype):
                continue
            chars = _constant_chars(facts, call.node.args[0].value, 0)
            if chars < MIN_CONSTANT_CHARS:
                continue
            gate = facts.gate(fn, call.where)
            if gate.reachable:
                yield EmbeddedIds(fn, call.where.line, chars, dtype, gate)


def _dtype(call: cst.Call, *, numpy: bool) -> str | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "dtype":
            return code_of(arg.value)
    positional = [a for a in call.args if a.keyword is None]
    if numpy and len(positional) > 1:
        return code_of(positional[1].value)
    return None


def _constant_chars(facts: Facts, node: cst.CSTNode, depth: int) -> int:
    """The length of the longest string literal whose value reaches ``node``."""
    best = 0
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.SimpleString | cst.ConcatenatedString):
            value = current.evaluated_value
            best = max(best, len(value) if value is not None else 0)
            continue
        if isinstance(current, cst.Name | cst.Attribute) and depth < 4:
            table = facts.assigned_names if isinstance(current, cst.Name) else facts.assigned_attrs
            key = current.value if isinstance(current, cst.Name) else current.attr.value
            value_node = table.get(key)
            if value_node is not None:
                best = max(best, _constant_chars(facts, value_node, depth + 1))
        stack.extend(children(current))
    return best
