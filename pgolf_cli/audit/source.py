"""Load the code to audit: read a file, and statically decode packed wrapper scripts.

Many ``train_gpt.py`` submissions ship as a short wrapper such as::

    import lzma as L,base64 as B
    exec(L.decompress(B.b85decode("...")))

The rules must see the code that actually runs, so this module recognises such wrappers
and decodes them with the real decompressors, without ever executing, compiling or
importing anything from the audited file: the wrapper is only parsed with :mod:`ast` and
its decode chain is interpreted by a small evaluator that understands literals, the names
bound by the wrapper's imports, and a fixed list of codecs. Decompression is incremental
and capped (:data:`MAX_DECODED_BYTES` over all layers, :data:`MAX_LAYERS` nested
wrappers), so a compression bomb costs at most the cap.

A module is a wrapper when its statements are only imports, assignments, docstrings and
exactly one ``exec(...)`` whose argument (possibly inside ``compile(...)``) is a chain of
calls that contains a decompress/decode call. Anything else is ordinary code and is
returned untouched; ``exec(open("x.py").read())`` in particular is not a wrapper.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import io
import lzma
import os
import re
import tokenize
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast

import brotli  # type: ignore[import-untyped]

from pgolf_cli.errors import PgolfInputError

#: Larger than any legal train_gpt.py: code counts toward the 16,000,000-byte artifact limit.
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Bytes all decompressors of all layers may produce together.
MAX_DECODED_BYTES = 32 * 1024 * 1024
#: Wrappers nested deeper than this are reported as undecodable.
MAX_LAYERS = 8

_UTF8_BOM = b"\xef\xbb\xbf"

#: A literal this long, run by ``exec`` in a shape no wrapper decodes, holds code the audit would
#: not see: a compressed payload behind a decoder of the file's own (``exec(_u("..."))``), a
#: codec reached through ``getattr``, or a whole script kept in a string.
OPAQUE_PAYLOAD_CHARS = 1000
# A wrapper has an exec call and a decoder name, an opaque payload an exec call and room for
# such a literal; everything else skips the ast parse.
_EXEC_CALL = re.compile(r"exec\s*\(")
_WORD_CHAR = re.compile(r"\w")
_CODEC_WORDS = ("decompress", "decode", "unhexlify", "a2b", "fromhex", "loads")
_CODEC_HINT = re.compile("|".join(_CODEC_WORDS))
# Names the first parameter of the supported codec functions has, for keyword calls.
_DATA_KEYWORDS = frozenset({"data", "string", "s", "b"})
# Text conversions a wrapper may apply, by normalised spelling. A fixed table rather than
# codecs.lookup, which imports a module named after the string it is given.
_TEXT_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "ascii": "ascii",
    "us-ascii": "ascii",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1",
}
_ERROR_HANDLERS = frozenset({"strict", "ignore", "replace"})
_SNIPPET_CHARS = 60
_MAX_INT = 2**64
# Literal expressions deeper than this are not evaluated (keeps recursion far from the limit).
_MAX_DEPTH = 200
_TOO_DEEP = "an expression nested too deeply"


class SourceError(PgolfInputError):
    """The file cannot be audited at all: missing, unreadable, binary, too large, bad encoding."""


@dataclass(frozen=True, slots=True)
class Layer:
    """One decoded wrapper."""

    kind: str
    """The codecs of the decode chain, outermost first, e.g. ``"lzma+base85"``."""
    line: int
    """Line of the ``exec(...)`` in the text that contained this wrapper."""


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A wrapper whose payload cannot be decoded statically."""

    line: int
    """Line of the ``exec`` in the innermost text decoded so far."""
    reason: str


@dataclass(frozen=True, slots=True)
class Source:
    """The code to audit and where it came from."""

    path: str
    text: str
    shipped_bytes: int
    layers: tuple[Layer, ...] = ()
    undecodable: Undecodable | None = None

    @property
    def decoded_from(self) -> str | None:
        """Where :attr:`text` came from, innermost wrapper first; None when not packed."""
        if not self.layers:
            return None
        parts = [
            f"{_article(layer.kind)} {layer.kind} wrapper (line {layer.line})"
            for layer in reversed(self.layers)
        ]
        return "decoded from " + " inside ".join(parts)


def _article(kind: str) -> str:
    # "lzma" is read letter by letter ("el-zee-..."), so it takes "an" too.
    return "an" if kind[0] in "aeiou" or kind.startswith("lzma") else "a"


# --------------------------------------------------------------------------- reading


def read_source(path: Path, display: str | None = None) -> Source:
    """Read ``path`` and decode it if it is a packed wrapper.

    Raises:
        SourceError: the file is missing, a directory, unreadable, too large, binary or not
            valid in its declared encoding.
    """
    shown = display if display is not None else str(path)
    try:
        data = _read_bounded(path, shown)
    except IsADirectoryError:
        raise _directory(shown) from None
    except FileNotFoundError:
        raise SourceError(shown, "no such file", "Check the path") from None
    except PermissionError:
        if path.is_dir():  # what opening a directory raises on Windows
            raise _directory(shown) from None
        raise SourceError(
            shown, "permission denied", "Make the file readable for your user (chmod u+r)"
        ) from None
    except OSError as exc:
        raise SourceError(
            shown, f"cannot be read ({exc.strerror or exc})", "Check the path and the file"
        ) from None
    return source_from_bytes(shown, data)


def _read_bounded(path: Path, shown: str) -> bytes:
    """The bytes of ``path``, at most one more than :data:`MAX_FILE_BYTES`.

    Plain descriptors, not a buffered file object: a record folder holds stubs of a few bytes
    (a one-line ``exec`` shim, an empty script), where building the file object costs more
    than parsing the code. A directory opens on POSIX and fails at the read (EISDIR).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        if size > MAX_FILE_BYTES:
            raise _too_large(shown, size)
        # Bounded even when stat lies (pipes, /proc files, a file growing meanwhile), and a
        # read may return less than asked for: read until the end or the bound.
        chunks: list[bytes] = []
        left = MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, size + 1 if not chunks else 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)  # one chunk is returned as it is, not copied
    finally:
        os.close(fd)


def source_from_bytes(display: str, data: bytes) -> Source:
    """Like :func:`read_source` for bytes already in memory (e.g. a git blob)."""
    if not data:
        return Source(display, "", 0)  # an empty file: nothing to decode or unpack
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(display, len(data))
    nul = data.find(b"\0")
    if nul != -1:
        raise SourceError(
            display,
            f"is a binary file (NUL byte at offset {nul}), not Python source",
            "Pass the train_gpt.py script itself",
        )
    text = _decode_text(display, data)
    inner, layers, undecodable = unpack(text)
    return Source(display, inner, len(data), layers, undecodable)


def _directory(display: str) -> SourceError:
    return SourceError(
        display, "is a directory, not a Python file", "Pass the path of the train_gpt.py inside it"
    )


def _too_large(display: str, size: int) -> SourceError:
    return SourceError(
        display,
        f"is {size:,} bytes, more than the {MAX_FILE_BYTES:,} bytes pgolf reads; "
        "the code of a submission counts toward the 16,000,000-byte artifact limit, "
        "so a train_gpt.py this large cannot be valid",
        "Check that this is the right file",
    )


def _decode_text(display: str, data: bytes) -> str:
    """Decode like the Python interpreter would: PEP 263 cookie or BOM, else UTF-8."""
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first != -1 else -1
    if not data.startswith(_UTF8_BOM) and b"coding" not in data[: second if second != -1 else None]:
        # No BOM and no cookie in the two lines PEP 263 reads: UTF-8, as detect_encoding would
        # say (it raises only on what the decode below reports better), without its cost.
        return _decoded(display, data, "utf-8")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        # Non-UTF-8 bytes in the first two lines without a cookie: let the UTF-8 decode
        # below report where, which is more useful than tokenize's message.
        if not str(exc).startswith("invalid or missing encoding declaration"):
            raise SourceError(
                display,
                f"has an unusable encoding declaration ({exc})",
                "Fix the '# -*- coding: ... -*-' line, or remove it and save the file as UTF-8",
            ) from None
        encoding = "utf-8"
    return _decoded(display, data, encoding)


def _decoded(display: str, data: bytes, encoding: str) -> str:
    skip = len(_UTF8_BOM) if encoding == "utf-8-sig" else 0
    codec = "utf-8" if skip else encoding
    try:
        return data[skip:].decode(codec)
    except LookupError:
        raise SourceError(
            display,
            f"declares the encoding {encoding!r}, which is not a text encoding",
            "Remove the coding line and save the file as UTF-8",
        ) from None
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        raise SourceError(
            display,
            f"is not valid {codec}: byte 0x{data[offset]:02x} at offset {offset} cannot be decoded",
            "Re-save the file as UTF-8",
        ) from None


# --------------------------------------------------------------------------- unpacking


def unpack(text: str) -> tuple[str, tuple[Layer, ...], Undecodable | None]:
    """Decode nested wrappers around ``text``.

    Returns the innermost text decoded, the layers peeled (outermost first) and, when a
    wrapper was recognised but could not be decoded, why.
    """
    layers: list[Layer] = []
    budget = _Budget(MAX_DECODED_BYTES)
    current = text
    while True:
        module = _exec_module(current)
        wrapper = _find_wrapper(module, current) if module is not None else None
        if wrapper is None:
            opaque = _opaque_exec(module) if module is not None else None
            return current, tuple(layers), opaque
        if len(layers) == MAX_LAYERS:
            reason = f"the wrappers are nested more than {MAX_LAYERS} deep"
            return current, tuple(layers), Undecodable(wrapper.line, reason)
        try:
            inner = _run_chain(wrapper, budget)
        except _Stop as stop:
            return current, tuple(layers), Undecodable(wrapper.line, stop.reason)
        layers.append(Layer(wrapper.kind, wrapper.line))
        current = inner


class _Stop(Exception):
    """The wrapper cannot be decoded statically; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _NotStatic(Exception):
    """An expression has no value known without running the code."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(slots=True)
class _Budget:
    left: int


# What a name in the wrapper is bound to (told apart by type only, never compared).
class _Module(NamedTuple):
    name: str


class _Member(NamedTuple):
    module: str
    attr: str


class _Static(NamedTuple):
    value: object


class _Runtime(NamedTuple):
    line: int


class _Decoded(NamedTuple):
    """A name bound to a decode chain (``code = L.decompress(B.b85decode(blob))``): executing
    the name runs the chain, as if it were written inside the ``exec`` call."""

    steps: tuple[_Step, ...]
    payload: ast.expr


_Binding = _Module | _Member | _Static | _Runtime | _Decoded


# One call of a decode chain.
@dataclass(frozen=True, slots=True)
class _Codec:
    name: str
    """Display name: ``module.function`` or the source of the callee."""
    key: tuple[str, str] | None
    """(module, function) when the callee resolves to an imported module's function."""
    args: list[ast.expr]
    keywords: list[ast.keyword]


@dataclass(frozen=True, slots=True)
class _Convert:
    to: str
    """What the step yields: ``text`` (``.decode()``, ``str(x, enc)``), ``bytes``
    (``.encode()``, ``bytes(x, enc)``) or ``code`` (``compile(x, ...)``, which passes the
    source through)."""
    args: list[ast.expr]
    keywords: list[ast.keyword]


_Step = _Codec | _Convert


@dataclass(frozen=True, slots=True)
class _Wrapper:
    line: int
    steps: list[_Step]
    """Outermost call first."""
    payload: ast.expr
    env: dict[str, _Binding]

    @property
    def kind(self) -> str:
        names = [_short_name(step) for step in self.steps if isinstance(step, _Codec)]
        return "+".join(names)


def _short_name(step: _Codec) -> str:
    if step.key is not None:
        if step.key in _ENCODINGS:
            return _ENCODINGS[step.key][0]
        if step.key[1] == "decompress" and step.key[0] in _DECOMPRESSORS:
            return step.key[0]
    return step.name


def _calls_exec(text: str) -> bool:
    """Whether ``text`` has ``exec(`` as a word (what ``\\bexec\\s*\\(`` matches).

    The word boundary is checked on each match: written into the pattern, it rules out the
    regex engine's fast scan for the literal ``exec``, which costs ~4 ms on a 100 KB script."""
    for found in _EXEC_CALL.finditer(text):
        at = found.start()
        if at == 0 or _WORD_CHAR.match(text, at - 1) is None:
            return True
    return False


def _exec_module(text: str) -> ast.Module | None:
    """CPython's tree of ``text`` when it may be a wrapper (an ``exec`` call and a decoder name)
    or may run an opaque payload (an ``exec`` call and room for a long literal); None without
    parsing otherwise, and when it does not parse (the engine reports that)."""
    if not _calls_exec(text):
        return None
    if _CODEC_HINT.search(text) is None and len(text) < OPAQUE_PAYLOAD_CHARS:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _find_wrapper(module: ast.Module, text: str) -> _Wrapper | None:
    if _CODEC_HINT.search(text) is None:
        return None
    env: dict[str, _Binding] = {}
    found: _Wrapper | None = None
    for stmt in module.body:
        match stmt:
            case ast.Import(names=names):
                for alias in names:
                    if alias.asname is not None:
                        env[alias.asname] = _Module(alias.name)
                    else:
                        top = alias.name.partition(".")[0]
                        env[top] = _Module(top)
            case ast.ImportFrom(module=str(source), level=0, names=names):
                for alias in names:
                    if alias.name != "*":
                        env[alias.asname or alias.name] = _Member(source, alias.name)
            case ast.Assign(targets=targets, value=value):
                binding = _bind_value(value, env, stmt.lineno)
                for target in targets:
                    _bind_target(target, binding, env, stmt.lineno)
            case ast.AnnAssign(target=target, value=value) if value is not None:
                _bind_target(target, _bind_value(value, env, stmt.lineno), env, stmt.lineno)
            case ast.Expr(value=ast.Constant(value=str())) | ast.Pass():
                pass  # docstrings
            case ast.Expr(value=ast.Call(func=ast.Name(id="exec"), args=[code, *_])) if (
                found is None
            ):
                chain = _parse_chain(code, env)
                if chain is None:
                    return None
                steps, payload = chain
                found = _Wrapper(stmt.lineno, steps, payload, dict(env))
            case _:
                return None
    return found


def _opaque_exec(module: ast.Module) -> Undecodable | None:
    """An ``exec`` of a value built from a long string or bytes literal, in a text that is not
    a wrapper pgolf decodes: its code is unaudited, which is reported rather than passed as
    clean. The literal may be in the call or bound to a module-level name it reads; one passed
    to a function that executes its parameter is not followed."""
    bound: dict[str, int] = {}
    for stmt in module.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    bound[target.id] = _literal_chars(stmt.value, {})
    for node in ast.walk(module):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "exec"
            and node.args
        ):
            size = _literal_chars(node.args[0], bound)
            if size >= OPAQUE_PAYLOAD_CHARS:
                return Undecodable(
                    node.lineno,
                    f"`exec` at line {node.lineno} runs code built at run time from a "
                    f"{size:,}-character literal, in a form pgolf does not decode",
                )
    return None


def _literal_chars(node: ast.expr, bound: dict[str, int]) -> int:
    """The length of the longest string or bytes literal in ``node``, or bound to a name it
    reads."""
    longest = 0
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str | bytes):
            longest = max(longest, len(child.value))
        elif isinstance(child, ast.Name):
            longest = max(longest, bound.get(child.id, 0))
    return longest


def _bind_value(value: ast.expr, env: dict[str, _Binding], line: int) -> _Binding:
    chain = _parse_chain(value, env) if isinstance(value, ast.Call) else None
    if chain is not None:
        steps, payload = chain
        return _Decoded(tuple(steps), payload)
    try:
        return _Static(_const(value, env))
    except _NotStatic:
        return _Runtime(line)


def _bind_target(target: ast.expr, binding: _Binding, env: dict[str, _Binding], line: int) -> None:
    if isinstance(target, ast.Name):
        env[target.id] = binding
        return
    # Unpacking targets: the names exist but their values are not tracked.
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            env[node.id] = _Runtime(line)


def _parse_chain(node: ast.expr, env: dict[str, _Binding]) -> tuple[list[_Step], ast.expr] | None:
    """Split ``exec``'s argument, or a value assigned before it, into decode steps and the
    payload expression.

    None when no step is a decompress/decode call: then the exec is ordinary code.
    """
    steps: list[_Step] = []
    while isinstance(node, ast.Call):
        func = node.func
        key = _resolve_member(func, env)
        is_codec_method = isinstance(func, ast.Attribute) and "decompress" in func.attr
        if (key is not None and _looks_like_codec(key)) or (key is None and is_codec_method):
            args, keywords = list(node.args), list(node.keywords)
            data = _take_data_arg(args, keywords)
            if data is None:
                break
            name = f"{key[0]}.{key[1]}" if key is not None else _snippet(func)
            steps.append(_Codec(name, key, args, keywords))
            node = data
        elif (
            isinstance(func, ast.Name)
            and func.id in ("compile", "str", "bytes")
            and func.id not in env
            and node.args
            and (func.id == "compile" or len(node.args) > 1 or node.keywords)
        ):
            # str(x) and bytes(x) without an encoding are not conversions of the payload.
            to = {"compile": "code", "str": "text", "bytes": "bytes"}[func.id]
            steps.append(_Convert(to, node.args[1:], node.keywords))
            node = node.args[0]
        elif isinstance(func, ast.Attribute) and func.attr in ("decode", "encode"):
            to = "text" if func.attr == "decode" else "bytes"
            steps.append(_Convert(to, node.args, node.keywords))
            node = func.value
        else:
            break
    if isinstance(node, ast.Name):
        bound = env.get(node.id)
        if isinstance(bound, _Decoded):  # decoded into a name first: its chain continues here
            steps.extend(bound.steps)
            node = bound.payload
    if not any(isinstance(step, _Codec) for step in steps):
        return None
    return steps, node


def _take_data_arg(args: list[ast.expr], keywords: list[ast.keyword]) -> ast.expr | None:
    if args:
        return args.pop(0)
    for index, keyword in enumerate(keywords):
        if keyword.arg in _DATA_KEYWORDS:
            return keywords.pop(index).value
    return None


def _looks_like_codec(key: tuple[str, str]) -> bool:
    return key in _ENCODINGS or any(word in key[1] for word in _CODEC_WORDS)


def _resolve_member(node: ast.expr, env: dict[str, _Binding]) -> tuple[str, str] | None:
    """(module, name) when ``node`` names something taken from an imported module."""
    if isinstance(node, ast.Name):
        binding = env.get(node.id)
        if isinstance(binding, _Member):
            return binding.module, binding.attr
        return None
    if isinstance(node, ast.Attribute):
        module = _module_of(node.value, env)
        if module is not None:
            return module, node.attr
        if isinstance(node.value, ast.Name) and node.value.id == "bytes" and "bytes" not in env:
            return "bytes", node.attr  # the builtin type's constructors (`bytes.fromhex`)
    return None


def _module_of(node: ast.expr, env: dict[str, _Binding]) -> str | None:
    match node:
        case ast.Name(id=name):
            binding = env.get(name)
            return binding.name if isinstance(binding, _Module) else None
        case ast.Call(func=ast.Name(id="__import__"), args=[ast.Constant(value=str(name))]):
            return name if "__import__" not in env else None
    return None


# --------------------------------------------------------------------------- evaluation


def _const(node: ast.expr, env: dict[str, _Binding], depth: int = 0) -> object:
    """The value of a literal expression, resolving names the wrapper bound to literals."""
    if depth > _MAX_DEPTH:
        raise _NotStatic(_TOO_DEEP)
    depth += 1
    match node:
        case ast.Constant(value=value) if value is None or isinstance(
            value, (str, bytes, int, float)
        ):
            return value
        case ast.Name(id=name):
            binding = env.get(name)
            if isinstance(binding, _Static):
                return binding.value
            if isinstance(binding, _Member):
                return _module_constant(binding.module, binding.attr)
            raise _NotStatic(name)
        case ast.Attribute():
            key = _resolve_member(node, env)
            if key is not None:
                return _module_constant(*key)
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            values = [_const(elt, env, depth) for elt in elts]
            return values if isinstance(node, ast.List) else tuple(values)
        case ast.Dict(keys=keys, values=values) if all(key is not None for key in keys):
            return {
                _const(cast(ast.expr, key), env, depth): _const(value, env, depth)
                for key, value in zip(keys, values, strict=True)
            }
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            number = _const(operand, env, depth)
            if isinstance(number, int):
                return -number
        case ast.BinOp(left=left, op=op, right=right):
            return _binop(op, _const(left, env, depth), _const(right, env, depth), node)
    raise _NotStatic(_snippet(node))


def _module_constant(module: str, attr: str) -> int:
    # Only the integer constants (FORMAT_*, FILTER_*, PRESET_*, MAX_WBITS, ...) of the two
    # modules whose decompress calls take options; the values come from the real modules.
    real = {"lzma": lzma, "zlib": zlib}.get(module)
    value = getattr(real, attr, None) if real is not None and attr.isupper() else None
    if not isinstance(value, int):
        raise _NotStatic(f"{module}.{attr}")
    return value


def _binop(op: ast.operator, left: object, right: object, node: ast.expr) -> object:
    if isinstance(op, ast.Add):
        # Repeated doubling (b=a+a; c=b+b; ...) must not exhaust memory.
        too_large = _size(left) + _size(right) > MAX_FILE_BYTES
        if isinstance(left, str) and isinstance(right, str) and not too_large:
            return left + right
        if isinstance(left, bytes) and isinstance(right, bytes) and not too_large:
            return left + right
    if isinstance(left, int) and isinstance(right, int):
        try:
            result = _int_op(op, left, right)
        except (ValueError, ZeroDivisionError, OverflowError):
            result = None
        if result is not None and abs(result) <= _MAX_INT:
            return result
    raise _NotStatic(_snippet(node))


def _size(value: object) -> int:
    return len(value) if isinstance(value, str | bytes) else 0


def _int_op(op: ast.operator, left: int, right: int) -> int | None:
    # Shifts and powers are bounded before computing so `1 << 10**9` costs nothing.
    match op:
        case ast.Add():
            return left + right
        case ast.Sub():
            return left - right
        case ast.Mult():
            return left * right
        case ast.BitOr():
            return left | right
        case ast.BitAnd():
            return left & right
        case ast.BitXor():
            return left ^ right
        case ast.LShift() if right <= 64:
            return left << right
        case ast.RShift():
            return left >> right
        case ast.Pow() if 0 <= right <= 64 and abs(left) <= _MAX_INT:
            return int(left**right)
    return None


def _run_chain(wrapper: _Wrapper, budget: _Budget) -> str:
    try:
        value = _const(wrapper.payload, wrapper.env)
    except _NotStatic as exc:
        raise _Stop(_runtime_reason(exc.what, wrapper.payload, wrapper.env)) from None
    for step in reversed(wrapper.steps):
        if isinstance(step, _Codec):
            value = _apply_codec(step, value, wrapper.env, budget)
        else:
            value = _apply_convert(step, value, wrapper.env)
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes):
        raise _Stop(f"the decoded payload is of type {type(value).__name__}, not code")
    body = value.removeprefix(_UTF8_BOM)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + len(value) - len(body)
        raise _Stop(
            f"the decoded code is not valid UTF-8 (byte 0x{value[offset]:02x} at offset {offset})"
        ) from None


def _runtime_reason(what: str, payload: ast.expr, env: dict[str, _Binding]) -> str:
    if what == _TOO_DEEP:
        return f"the payload expression is nested more than {_MAX_DEPTH} deep"
    binding = env.get(what)
    if isinstance(binding, _Runtime):
        return f"the payload name `{what}` is computed at run time (line {binding.line})"
    if what.isidentifier() and binding is None:
        return f"the payload name `{what}` is never assigned a literal"
    return f"the payload `{_snippet(payload)}` is computed at run time"


def _snippet(node: ast.expr) -> str:
    """Short source text of ``node`` for messages."""
    try:
        text = ast.unparse(node)
    except RecursionError:
        return "<deeply nested expression>"
    if len(text) > _SNIPPET_CHARS:
        text = text[: _SNIPPET_CHARS - 3] + "..."
    return text


def _static_args(
    step: _Codec | _Convert, env: dict[str, _Binding], names: tuple[str, ...]
) -> dict[str, object]:
    """Bind a call's extra arguments to ``names`` and evaluate them as literals."""
    label = step.name if isinstance(step, _Codec) else f"the {step.to} conversion"
    if len(step.args) > len(names):
        raise _Stop(f"{label} gets more arguments than pgolf understands")
    nodes = dict(zip(names, step.args, strict=False))
    for keyword in step.keywords:
        if keyword.arg is None or keyword.arg not in names or keyword.arg in nodes:
            raise _Stop(f"{label} gets an argument pgolf does not understand")
        nodes[keyword.arg] = keyword.value
    values: dict[str, object] = {}
    for name, node in nodes.items():
        try:
            values[name] = _const(node, env)
        except _NotStatic as exc:
            raise _Stop(
                f"the {name} argument of {label} is computed at run time ({exc.what})"
            ) from None
    return values


def _apply_convert(step: _Convert, value: object, env: dict[str, _Binding]) -> object:
    if step.to == "code":
        # compile(source, filename, mode, ...): only the source matters here.
        return value
    options = _static_args(step, env, ("encoding", "errors"))
    encoding, errors = options.get("encoding", "utf-8"), options.get("errors", "strict")
    if not isinstance(encoding, str) or not isinstance(errors, str):
        raise _Stop("the text encoding of the payload is not a string")
    codec = _TEXT_ENCODINGS.get(encoding.strip().lower().replace("_", "-"))
    if codec is None or errors not in _ERROR_HANDLERS:
        raise _Stop(f"the payload uses the text encoding {encoding!r} ({errors})")
    try:
        if step.to == "text" and isinstance(value, bytes):
            return value.decode(codec, errors)
        if step.to == "bytes" and isinstance(value, str):
            return value.encode(codec, errors)
    except UnicodeError as exc:
        raise _Stop(f"the payload is not valid {encoding}: {exc}") from None
    kind = "bytes" if step.to == "text" else "str"
    raise _Stop(f"the payload is converted to {step.to} but is not a {kind}")


def _apply_codec(step: _Codec, value: object, env: dict[str, _Binding], budget: _Budget) -> bytes:
    if step.key in _ENCODINGS:
        _, decode = _ENCODINGS[step.key]
        extra = _static_args(step, env, _ENCODING_OPTIONS.get(step.key[1], ()))
        try:
            return decode(value, **extra)
        except (ValueError, TypeError) as exc:
            raise _Stop(f"the payload of {step.name} is corrupt: {exc}") from None
    if step.key is None or step.key[1] != "decompress" or step.key[0] not in _DECOMPRESSORS:
        raise _Stop(f"`{step.name}` is not a codec pgolf can decode statically")
    options_names, decompress = _DECOMPRESSORS[step.key[0]]
    options = _static_args(step, env, options_names)
    if not isinstance(value, bytes):
        raise _Stop(f"{step.name} is given data of type {type(value).__name__}, not bytes")
    try:
        out = decompress(value, budget.left, options)
    except _OverCap:
        raise _Stop(
            f"the decoded code is larger than {MAX_DECODED_BYTES:,} bytes; "
            "pgolf stops decompressing there"
        ) from None
    except (
        lzma.LZMAError,
        zlib.error,
        brotli.error,
        OSError,
        EOFError,
        ValueError,
        TypeError,
    ) as exc:
        raise _Stop(f"the payload of {step.name} is corrupt: {exc}") from None
    budget.left -= len(out)
    return out


# Keyword options of the base64 decoders that may be passed through as literals.
_ENCODING_OPTIONS: dict[str, tuple[str, ...]] = {
    "b64decode": ("altchars", "validate"),
    "urlsafe_b64decode": (),
    "standard_b64decode": (),
    "decodebytes": (),
    "b85decode": (),
    "a85decode": ("foldspaces", "adobe", "ignorechars"),
    "unhexlify": (),
    "a2b_hex": (),
    "fromhex": (),
}
_ENCODINGS: dict[tuple[str, str], tuple[str, Callable[..., bytes]]] = {
    ("base64", "b64decode"): ("base64", base64.b64decode),
    ("base64", "standard_b64decode"): ("base64", base64.standard_b64decode),
    ("base64", "urlsafe_b64decode"): ("base64", base64.urlsafe_b64decode),
    ("base64", "decodebytes"): ("base64", base64.decodebytes),
    ("base64", "b85decode"): ("base85", base64.b85decode),
    ("base64", "a85decode"): ("ascii85", base64.a85decode),
    ("binascii", "unhexlify"): ("hex", binascii.unhexlify),
    ("binascii", "a2b_hex"): ("hex", binascii.a2b_hex),
    ("bytes", "fromhex"): ("hex", bytes.fromhex),
}


class _OverCap(Exception):
    """Decompressing would produce more than the bytes left in the budget."""


# Each takes (data, limit, options) and returns at most ``limit`` bytes or raises _OverCap.
# They mirror the stdlib one-shot functions (multi-stream input, trailing data), but ask
# for at most limit + 1 bytes so a bomb stops after the cap.


def _lzma(data: bytes, limit: int, options: dict[str, object]) -> bytes:
    fmt = options.get("format", lzma.FORMAT_AUTO)
    memlimit = options.get("memlimit")
    filters = options.get("filters")
    if not isinstance(fmt, int) or not (memlimit is None or isinstance(memlimit, int)):
        raise ValueError("format and memlimit must be integers")
    if filters is not None and not (
        isinstance(filters, list | tuple) and all(isinstance(f, dict) for f in filters)
    ):
        raise ValueError("filters must be a list of dicts")
    return _streams(
        data,
        limit,
        lambda: lzma.LZMADecompressor(fmt, memlimit, cast(Any, filters)),
        lzma.LZMAError,
    )


def _zlib(data: bytes, limit: int, options: dict[str, object]) -> bytes:
    wbits = options.get("wbits", zlib.MAX_WBITS)
    if not isinstance(wbits, int):
        raise ValueError("wbits must be an integer")
    # bufsize is only an allocation hint of zlib.decompress: ignored.
    decompressor = zlib.decompressobj(wbits)
    out = decompressor.decompress(data, limit + 1)
    if len(out) > limit:
        raise _OverCap
    if not decompressor.eof:
        raise EOFError("the compressed data ends before the end of the stream")
    return out


def _gzip(data: bytes, limit: int, options: dict[str, object]) -> bytes:
    parts: list[bytes] = []
    produced = 0
    while data:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        chunk = decompressor.decompress(data, limit - produced + 1)
        produced += len(chunk)
        if produced > limit:
            raise _OverCap
        if not decompressor.eof:
            raise EOFError("the compressed data ends before the end of the gzip member")
        parts.append(chunk)
        # gzip.decompress reads further members and skips zero padding between them.
        data = decompressor.unused_data.lstrip(b"\0")
    return b"".join(parts)


def _bz2(data: bytes, limit: int, options: dict[str, object]) -> bytes:
    if not data:
        return b""  # bz2.decompress of nothing is nothing; lzma's is an error
    return _streams(data, limit, bz2.BZ2Decompressor, OSError)


def _streams(data: bytes, limit: int, new: Callable[[], Any], error: type[Exception]) -> bytes:
    """Streams written back to back, decoded as ``lzma.decompress`` and ``bz2.decompress`` do
    (junk after a complete stream is ignored), stopping past ``limit`` bytes of output."""
    parts: list[bytes] = []
    produced = 0
    while True:
        decompressor = new()
        try:
            chunk = decompressor.decompress(data, max_length=limit - produced + 1)
        except error:
            if parts:
                break
            raise
        produced += len(chunk)
        if produced > limit:
            raise _OverCap
        parts.append(chunk)
        if not decompressor.eof:
            raise EOFError("the compressed data ends before the end-of-stream marker")
        data = decompressor.unused_data
        if not data:
            break
    return b"".join(parts)


def _brotli(data: bytes, limit: int, options: dict[str, object]) -> bytes:
    # brotli 1.2 stops growing its output buffer once it holds at least
    # output_buffer_limit bytes; it may overshoot by one buffer block, so memory stays
    # bounded by the cap plus a block, and the length check below enforces the cap.
    decompressor = brotli.Decompressor()
    out = decompressor.process(data, output_buffer_limit=limit + 1)
    if len(out) > limit:
        raise _OverCap
    if not decompressor.is_finished():
        raise EOFError("the compressed data ends before the end of the stream")
    return cast(bytes, out)


_Decompress = Callable[[bytes, int, dict[str, object]], bytes]
_DECOMPRESSORS: dict[str, tuple[tuple[str, ...], _Decompress]] = {
    "lzma": (("format", "memlimit", "filters"), _lzma),
    "zlib": (("wbits", "bufsize"), _zlib),
    "gzip": ((), _gzip),
    "bz2": ((), _bz2),
    "brotli": ((), _brotli),
}
