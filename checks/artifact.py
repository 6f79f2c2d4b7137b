"""PG3xx: the artifact — what the submission ships has to be what pgolf and the reviewers can see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from checks.environment import commands_run, external_call_hits
from checks.examples import pg302
from pgolf_cli.audit.facts import ExternalCall, Facts
from pgolf_cli.audit.findings import Confidence, Severity
from pgolf_cli.audit.rule import Example, Hit, Rule

_NATIVE_LOADERS = frozenset(
    {
        "ctypes.CDLL",
        "ctypes.PyDLL",
        "ctypes.cdll.LoadLibrary",
        "ctypes.pydll.LoadLibrary",
        "cffi.FFI",
        "torch.utils.cpp_extension.load",
        "torch.utils.cpp_extension.load_inline",
        "torch.ops.load_library",
        "cupy.RawKernel",
        "cupy.RawModule",
    }
)
_COMPILERS = frozenset(
    {"nvcc", "gcc", "g++", "cc", "c++", "clang", "clang++", "make", "cmake", "ninja"}
)


def _native_code(call: ExternalCall) -> str | None:
    """How this call brings in native code, in words, or None."""
    if call.name in _NATIVE_LOADERS:
        return f"`{call.name}` loads or builds native code"
    for argv in commands_run(call):
        if argv[0] in _COMPILERS:
            return f"`{argv[0]}` run through `{call.name}` compiles native code"
    return None


class NativeCode(Rule):
    """
    ## What it does
    Finds native code brought in on a path the official run takes: shared libraries loaded with
    `ctypes.CDLL` / `ctypes.cdll.LoadLibrary`, `cffi`, extensions built with
    `torch.utils.cpp_extension.load` / `load_inline`, `torch.ops.load_library`, CuPy raw
    kernels, and compilers or build tools (`nvcc`, `gcc`, `g++`, `cc`, `make`, `cmake`) run
    through `subprocess` or `os.system`.

    ## Why is this bad?
    It is not a violation by itself, but pgolf audits Python source and cannot see what a C++ or
    CUDA kernel does with validation tokens at evaluation. A compliance check that stays silent
    here would claim more than it knows, so it says so; a reviewer has to read the native source.

    ## Example
    ```python
    from torch.utils.cpp_extension import load_inline

    ext = load_inline("ngram_eval", cpp_sources=CPP, functions=["score"])
    ```

    ## Use instead
    Keep evaluation logic in Python / PyTorch (Triton kernels stay readable Python), or ship
    the native source next to the script and point reviewers at it in the README.

    ## Known problems
    A command held in a variable before it reaches `subprocess`, and libraries loaded through
    packages that wrap `ctypes`, are not recognised. Native code inside installed packages
    (PyTorch itself, flash-attention) is never reported.

    ## Ruling
    rules.md PG302: pgolf cannot verify what native code does at evaluation; it must say so
    instead of staying silent.
    """

    id = "PG302"
    name = "native-code"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    summary = (
        "Native code (ctypes, cffi, C++/CUDA extensions, a compiler) that pgolf cannot verify."
    )
    VALID: ClassVar[tuple[Example, ...]] = pg302.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg302.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        return external_call_hits(
            facts,
            _native_code,
            lambda what: (
                f"{what}; pgolf cannot verify what native code does at evaluation — "
                "a reviewer has to read its source"
            ),
            "native code enters here",
        )
