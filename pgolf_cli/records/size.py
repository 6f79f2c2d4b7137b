"""How a records folder counts its code bytes (docs/challenge.md, "Code bytes"), recomputed from the shipped files.

The challenge counts code bytes plus compressed model bytes against the cap, and the records
count the code in four ways:

- ``raw``: the bytes of ``train_gpt.py`` as shipped;
- ``self-extracting``: ``train_gpt.py`` is itself a packed wrapper (``exec`` of an lzma/brotli
  + base85 payload); the counted size is still the shipped file's size;
- ``counted-wrapper``: the shipped file is readable, but the script counts a *hypothetical*
  wrapper: its source minified with python-minifier, compressed (brotli or lzma), base85
  encoded and wrapped in a two-line ``exec``. pgolf rebuilds that wrapper with the options the
  script declares (its ``pyminify`` flags, its compressor and its wrapper text) and measures it;
- ``shim``: a tiny ``train_gpt.py`` that execs another file of the folder; the code that runs
  is both files.

:func:`code_scheme` recognises the scheme from the shipped files (never executing them) and
returns the raw size, the counted size pgolf recomputed, and how it got there. Whether the
recomputation agrees with a log is :func:`agreement`'s job; python-minifier versions differ by
a few bytes in a few hundred, so agreement is judged within :data:`RECOMPUTE_TOLERANCE`.
"""

from __future__ import annotations

import ast
import base64
import functools
import hashlib
import inspect
import lzma
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SchemeKind = Literal["raw", "self-extracting", "counted-wrapper", "shim"]

#: Relative difference within which a recomputed counted size confirms a logged one: the
#: merged records' wrappers recompute to within 0.6 % of their logs (python-minifier 3.4 versus
#: whatever version each run had installed).
RECOMPUTE_TOLERANCE = 0.01
#: A ``train_gpt.py`` this small that execs another file is a launcher, not the program.
SHIM_MAX_BYTES = 1_000
TRAIN_SCRIPT = "train_gpt.py"

# The common wrapper (docs/challenge.md, "Code bytes"), used when a log counts a wrapper the script does not
# spell out: pyminify with these flags, brotli-11, base85.
_DEFAULT_FLAGS = ("--no-rename-locals", "--no-hoist-literals", "--remove-literal-statements")
_DEFAULT_HEAD = b'import brotli as B,base64 as b\nexec(B.decompress(b.b85decode("'
_DEFAULT_TAIL = b'")))\n'
_COMPRESSORS = ("brotli", "lzma", "zlib")


@dataclass(frozen=True, slots=True)
class Wrapper:
    """The hypothetical wrapper a script counts: how to rebuild it."""

    flags: tuple[str, ...]
    """The ``pyminify`` command-line flags."""
    compressor: str
    """``brotli`` | ``lzma`` | ``zlib``."""
    level: int | None
    """Brotli quality, lzma preset or zlib level the script passes (None: the default)."""
    overhead: int
    """Bytes of the wrapper text around the base85 payload."""
    declared: bool
    """True when read from the script; False for the common default wrapper."""
    line: int | None = None
    """The line of the script's wrapper function."""

    def describe(self) -> str:
        level = f"-{self.level}" if self.level is not None else ""
        return f"pyminify {' '.join(self.flags)} -> {self.compressor}{level} -> base85"


@dataclass(frozen=True, slots=True)
class CodeScheme:
    """How the folder's code is counted, and the counted size pgolf recomputed."""

    kind: SchemeKind
    shipped_bytes: int
    """``train_gpt.py`` as shipped."""
    counted_bytes: int
    """What the challenge counts under this scheme, recomputed from the shipped files."""
    how: str
    """One line: how :attr:`counted_bytes` was obtained."""
    wrapper: Wrapper | None = None
    runs: tuple[str, ...] = ()
    """For a shim: the folder files it executes."""
    note: str | None = None
    """Something the reader must know (minification failed, ...)."""


def _minifier_options(flags: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """python-minifier keyword arguments for ``pyminify`` flags, and the flags it has no
    argument for (``--no-rename-locals`` -> ``rename_locals=False``)."""
    import python_minifier

    known = set(inspect.signature(python_minifier.minify).parameters)
    options: dict[str, Any] = {}
    unknown: list[str] = []
    for flag in flags:
        name = flag.lstrip("-").replace("-", "_")
        value = not name.startswith("no_")
        key = name.removeprefix("no_")
        if key in known:
            options[key] = value
        else:
            unknown.append(flag)
    return options, unknown


@functools.lru_cache(maxsize=64)
def _minified(digest: str, text: str, flags: tuple[str, ...]) -> tuple[bytes, str | None]:
    """The script minified as the flags ask, or its raw bytes and why (the records fall back to
    raw when pyminify is missing; pgolf does when python-minifier cannot parse the code).

    ``digest`` keys the cache: the gate and verify of one folder minify the same text once.
    """
    import python_minifier

    options, unknown = _minifier_options(flags)
    note = (
        f"pyminify flags python-minifier has no option for: {', '.join(unknown)}"
        if unknown
        else None
    )
    try:
        return python_minifier.minify(text, **options).encode("utf-8"), note
    except Exception as problem:  # any minifier failure means: count it raw
        return text.encode(
            "utf-8"
        ), f"python-minifier failed ({type(problem).__name__}); counted raw"


def wrapper_size(text: str, wrapper: Wrapper) -> tuple[int, str | None]:
    """The size of ``wrapper`` around ``text``, rebuilt: minify, compress, base85, wrap."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    minified, note = _minified(digest, text, wrapper.flags)
    compressed = _compress(minified, wrapper.compressor, wrapper.level)
    return len(base64.b85encode(compressed)) + wrapper.overhead, note


def _compress(data: bytes, compressor: str, level: int | None) -> bytes:
    if compressor == "lzma":
        return lzma.compress(data) if level is None else lzma.compress(data, preset=level)
    if compressor == "zlib":
        return zlib.compress(data) if level is None else zlib.compress(data, level)
    import brotli  # type: ignore[import-untyped]

    compressed: bytes = brotli.compress(data, quality=11 if level is None else level)
    return compressed


# --------------------------------------------------------------------------------------------
# Reading the declared wrapper from the script
# --------------------------------------------------------------------------------------------


def _strings(node: ast.List | ast.Tuple) -> list[str]:
    return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]


def _is_minify_argv(node: ast.AST) -> bool:
    """A list literal that runs pyminify: ``["pyminify", "--no-rename-locals", ..., "-"]`` (the
    executable may be a variable: ``[exe, "--no-rename-locals", ...]``)."""
    if not isinstance(node, ast.List | ast.Tuple):
        return False
    words = _strings(node)
    return any(w.endswith("pyminify") for w in words) or any(w in _DEFAULT_FLAGS for w in words)


def _compress_call(node: ast.AST) -> tuple[str, int | None] | None:
    """``brotli.compress(x, quality=11)`` -> ("brotli", 11); ``lzma.compress(x)`` -> ("lzma",
    None)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if node.func.attr != "compress" or not isinstance(node.func.value, ast.Name):
        return None
    module = node.func.value.id
    if module not in _COMPRESSORS:
        return None
    level: int | None = None
    for keyword in node.keywords:
        if keyword.arg in ("quality", "preset", "level") and isinstance(
            keyword.value, ast.Constant
        ):
            level = keyword.value.value if isinstance(keyword.value.value, int) else None
    if level is None and module == "zlib" and len(node.args) > 1:
        second = node.args[1]
        if isinstance(second, ast.Constant) and isinstance(second.value, int):
            level = second.value
    return module, level


def _wrapper_overhead(function: ast.AST) -> int | None:
    """Bytes of the literal text the function concatenates around the payload
    (``b'import lzma as L,...("' + encoded + b'")))\\n'``)."""
    for node in ast.walk(function):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            parts: list[ast.expr] = []
            stack: list[ast.expr] = [node]
            while stack:
                item = stack.pop()
                if isinstance(item, ast.BinOp) and isinstance(item.op, ast.Add):
                    stack += [item.left, item.right]
                else:
                    parts.append(item)
            literals = [
                p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, bytes)
            ]
            if literals and any(b"exec(" in literal for literal in literals):
                return sum(len(literal) for literal in literals)
    return None


def declared_wrapper(text: str) -> Wrapper | None:
    """The counted wrapper a script's own size function spells out, or None.

    The function is the one that runs pyminify (its argv list); the compressor is the
    ``brotli``/``lzma``/``zlib`` ``compress`` call in it, the overhead its ``exec`` template.
    """
    # Most scripts never mention pyminify: no parse for them.
    if "pyminify" not in text and not any(flag in text for flag in _DEFAULT_FLAGS):
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    argvs: list[ast.List | ast.Tuple] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.append(node)
        elif isinstance(node, ast.List | ast.Tuple) and _is_minify_argv(node):
            argvs.append(node)
    for argv in argvs:
        # The innermost function around the argv list.
        around = [f for f in functions if f.lineno <= argv.lineno <= (f.end_lineno or f.lineno)]
        if not around:
            continue
        function = max(around, key=lambda f: f.lineno)
        flags = tuple(w for w in _strings(argv) if w.startswith("--"))
        calls = [c for c in map(_compress_call, ast.walk(function)) if c is not None]
        overhead = _wrapper_overhead(function)
        if not calls or overhead is None:
            continue
        compressor, level = calls[0]
        return Wrapper(flags, compressor, level, overhead, declared=True, line=function.lineno)
    return None


def default_wrapper() -> Wrapper:
    """The common wrapper: pyminify with the usual flags, brotli-11, base85."""
    return Wrapper(_DEFAULT_FLAGS, "brotli", 11, len(_DEFAULT_HEAD) + len(_DEFAULT_TAIL), False)


# --------------------------------------------------------------------------------------------
# The scheme of a folder
# --------------------------------------------------------------------------------------------


def code_scheme(
    root: Path,
    *,
    logs_count_wrapper: bool,
    follows: Callable[[Path], Sequence[Path]] | None = None,
) -> CodeScheme | None:
    """The code-counting scheme of the folder ``root`` and its recomputed counted size.

    ``logs_count_wrapper`` is True when a log prints a compressed code size beside the raw one
    (the log's evidence of a counted wrapper). ``follows`` gives the folder files a script execs
    or imports (the audit's resolver); without it no shim is recognised. None when the folder
    has no non-empty ``train_gpt.py``.
    """
    from pgolf_cli.audit.source import read_source
    from pgolf_cli.errors import PgolfInputError

    script = root / TRAIN_SCRIPT
    if not script.is_file():
        return None
    shipped = script.stat().st_size
    if shipped == 0:
        return None
    try:
        source = read_source(script, TRAIN_SCRIPT)
    except PgolfInputError:
        return CodeScheme("raw", shipped, shipped, "train_gpt.py as shipped (not readable as text)")
    if source.layers:
        return CodeScheme(
            "self-extracting",
            shipped,
            shipped,
            f"train_gpt.py as shipped: a self-extracting file ({source.layers[0].kind} wrapper, "
            f"{len(source.text.encode('utf-8')):,} bytes decoded)",
        )
    if shipped <= SHIM_MAX_BYTES and follows is not None:
        pulled = sorted(follows(script))
        if pulled:
            sizes = [path.stat().st_size for path in pulled]
            names = tuple(path.relative_to(root.resolve()).as_posix() for path in pulled)
            listed = " + ".join(f"{name} {size:,}" for name, size in zip(names, sizes, strict=True))
            return CodeScheme(
                "shim",
                shipped,
                shipped + sum(sizes),
                f"train_gpt.py {shipped:,} (a launcher) + {listed} bytes, raw",
                runs=names,
            )
    wrapper = declared_wrapper(source.text)
    if wrapper is None and logs_count_wrapper:
        wrapper = default_wrapper()
    if wrapper is None:
        return CodeScheme("raw", shipped, shipped, "train_gpt.py as shipped")
    counted, note = wrapper_size(source.text, wrapper)
    where = (
        f"as train_gpt.py:{wrapper.line} declares"
        if wrapper.declared
        else "the records' usual wrapper (the script does not spell it out)"
    )
    return CodeScheme(
        "counted-wrapper",
        shipped,
        counted,
        f"train_gpt.py rebuilt as its counted wrapper, {wrapper.describe()} ({where})",
        wrapper=wrapper,
        note=note,
    )


def agreement(recomputed: int, logged: int) -> float:
    """The relative difference of a recomputed counted size from the logged one."""
    return (recomputed - logged) / logged if logged else float("inf")


def agrees(recomputed: int, logged: int) -> bool:
    return abs(agreement(recomputed, logged)) <= RECOMPUTE_TOLERANCE
