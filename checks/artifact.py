"""PG3xx: the artifact — what the submission ships has to be what pgolf and the reviewers can see."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import ClassVar

import libcst as cst

from checks.environment import SHELL_CALLS, commands_run, external_call_hits
from checks.examples import pg301, pg302, pg303
from pgolf_cli.audit.analyses.embedded import embedded_ids, val_writes
from pgolf_cli.audit.facts import ExternalCall, Facts, Gate
from pgolf_cli.audit.findings import Confidence, Severity
from pgolf_cli.audit.native import NATIVE_SUFFIXES
from pgolf_cli.audit.nodes import children
from pgolf_cli.audit.program import (
    Program,
    Reference,
    ReferenceKind,
    Resolution,
    Status,
    references,
)
from pgolf_cli.audit.rule import Example, Hit, ProgramRule, Rule

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


# Calls that read a file's text: naming a native source here loads it (for `load_inline`).
_SOURCE_READERS = frozenset({"builtins.open", "io.open", "codecs.open"})


@dataclass(frozen=True, slots=True)
class _Outside:
    """One piece of code from outside the script that a line brings in, judged."""

    text: str
    severity: Severity
    confidence: Confidence
    size: int | None = None
    """Its bytes, when the file was found in the records folder."""


def _files(found: list[Resolution]) -> str:
    return ", ".join(f"{r.shown} ({r.size:,} bytes)" for r in found)


def _size_unknown() -> str:
    return "size unknown: audit the records folder to measure and follow it"


def _judge(ref: Reference, program: Program | None) -> _Outside | None:
    """What a reference brings in, or None when it is not code outside the script."""
    what = f"`{ref.how}`"
    if ref.kind is ReferenceKind.IMPORT and not ref.relative and program is None:
        return None  # without the folder, a local module cannot be told from an installed one
    if ref.target is None:
        if ref.kind is ReferenceKind.IMPORT:
            return None
        return _Outside(
            f"{what} runs a file whose name pgolf cannot tell statically",
            Severity.WARNING,
            Confidence.LOW,
        )
    if program is None:
        where = ref.target if ref.kind is not ReferenceKind.IMPORT else "the script's package"
        return _Outside(
            f"{what} runs code from {where} ({_size_unknown()})",
            Severity.WARNING,
            Confidence.MEDIUM,
        )
    resolved = [r for r in program.resolve(ref) if r.real != program.entry.real]
    if not resolved:
        return None
    outside = [r for r in resolved if r.status is Status.OUTSIDE]
    if outside:
        return _Outside(
            f"{what} names {outside[0].shown}, {outside[0].detail}",
            Severity.WARNING,
            Confidence.HIGH,
        )
    found = [r for r in resolved if r.status is Status.FOUND]
    if found:
        return _Outside(
            f"{what} runs code from {_files(found)}",
            Severity.WARNING,
            Confidence.HIGH,
            sum(r.size for r in found),
        )
    return _Outside(
        f"{what} runs {resolved[0].shown}, which is not in the records folder: the submission "
        "does not ship code it runs",
        Severity.WARNING,
        Confidence.MEDIUM,
    )


def _literal_words(call: cst.Call) -> list[str]:
    """The words of every string literal in a call's arguments (a shell line gives several)."""
    words: list[str] = []
    stack: list[cst.CSTNode] = [arg.value for arg in reversed(call.args)]
    while stack:
        node = stack.pop()
        if type(node) is cst.SimpleString:  # a final class: an exact test skips the ABC check
            value = node.evaluated_value
            if isinstance(value, str):
                words.extend(value.split())
        elif type(node) is cst.IfExp:
            # The only expression whose fields are not in source order (`body if test else
            # orelse`): the words keep the order they are written in.
            stack.extend((node.orelse, node.test, node.body))
            continue
        stack.extend(reversed(children(node)))
    return list(dict.fromkeys(words))


def _named_files(
    words: list[str], program: Program | None, line: int, verb: str, severity: Severity
) -> _Outside:
    """Files named by path literals on ``line``, with their sizes when the folder is known."""
    if program is None:
        return _Outside(
            f"{verb} {', '.join(words)} ({_size_unknown()})", severity, Confidence.MEDIUM
        )
    found = [program.locate(word, line) for word in words]
    present = [r for r in found if r.status is Status.FOUND]
    parts = [_files(present)] if present else []
    parts.extend(f"{r.shown}, {r.detail}" for r in found if r.status is Status.OUTSIDE)
    absent = [r.shown for r in found if r.status is Status.MISSING]
    if absent:
        parts.append(f"{', '.join(absent)}, not in the records folder")
    confident = len(present) == len(found) or any(r.status is Status.OUTSIDE for r in found)
    return _Outside(
        f"{verb} {'; '.join(parts)}",
        severity,
        Confidence.HIGH if confident else Confidence.MEDIUM,
        sum(r.size for r in present) if present else None,
    )


def _call_outside(call: ExternalCall, program: Program | None) -> list[_Outside]:
    """Native sources a call loads or compiles, and sibling scripts it runs as a process."""
    shell = call.name in SHELL_CALLS
    if not (shell or call.name in _NATIVE_LOADERS or call.name in _SOURCE_READERS):
        return []
    words = _literal_words(call.node)
    native = [w for w in words if PurePath(w).suffix in NATIVE_SUFFIXES]
    scripts = [w for w in words if shell and PurePath(w).suffix == ".py"]
    line = call.where.line
    out: list[_Outside] = []
    if native:
        verb = f"`{call.name}` loads native source shipped beside the script:"
        out.append(_named_files(native, program, line, verb, Severity.WARNING))
    if scripts:
        ran = _named_files(scripts, program, line, f"`{call.name}` runs", Severity.NOTE)
        text = (
            f"{ran.text} as a separate process: accepted as setup when it only prepares data "
            "or the tokenizer before training; if it trains or evaluates, its code belongs in "
            "the script"
        )
        out.append(_Outside(text, ran.severity, ran.confidence, ran.size))
    return out


def _strongest(items: list[_Outside]) -> _Outside:
    return max(items, key=lambda o: (o.severity.rank, o.confidence.rank))


class CodeOutsideTrainGpt(ProgramRule):
    """
    ## What it does
    Finds code the script runs from other files: `exec(open("helpers.py").read())`,
    `exec(Path(...).read_text())`, `exec(compile(...))`, `runpy.run_path`,
    `importlib.util.spec_from_file_location`, imports of modules shipped in the records folder
    (`import helpers`, `from helpers import ttt`, relative imports), and C / C++ / CUDA sources
    beside the script loaded with `torch.utils.cpp_extension.load`, `load_inline`, a compiler
    run or `open`. When the records folder is audited (`pgolf audit RECORD_DIR`), the message
    names each file with its size in bytes: the code the 16,000,000-byte limit does not count.
    A sibling script run as a separate process (`subprocess.run([sys.executable,
    "prepare_shards.py"])`) is reported as a note.

    ## Why is this bad?
    The artifact limit counts the bytes of `train_gpt.py` plus the compressed model. Code in
    other files is code the limit does not see, and a reviewer reading `train_gpt.py` does not
    see it either: an illegal evaluation path can live in `helpers.py` while `train_gpt.py`
    looks clean.

    ## Example
    ```python
    exec(open("helpers.py").read())  # 4,812 bytes the size limit does not count

    def main():
        ttt_on_validation(model, val_tokens)  # defined in helpers.py
    ```

    ## Use instead
    Put the code in `train_gpt.py` (a packed wrapper keeps it small). Data preparation that
    runs before training and tokenizer model files are accepted setup, not artifact code.

    ## Known problems
    Only a directory is audited as a records folder; a file named on its own
    (`pgolf audit train_gpt.py`) is audited alone. Then an absolute import cannot be told from
    an installed package and is not reported, and sizes are unknown. In a folder audit the
    followed files are analysed with the script as one program, so every other rule judges
    the code they contain and reports it at its own file and line; for that, a followed file's
    `if __name__ == "__main__":` block is left out unless the file is only `exec`-ed, and a
    top-level function or class it defines under a name the script (or a file followed
    earlier) also defines is left out, so calls by that name resolve to the kept definition.
    `helpers.ttt(...)` resolves after `import helpers`, but not after a relative
    `from . import helpers`. Paths are read relative to the script's directory (the official
    run starts in the records folder); a path built at run time, a file read into a variable
    in another function, or a command held in a variable before it reaches `subprocess` are
    not recognised. A reference that resolves outside the audited folder (`..`, an absolute
    path, a symlink pointing elsewhere) is reported and never followed. A file several scripts
    follow is reported once, its findings merged. Native sources are not parsed: PG203 scans
    them as text and reports at low confidence.

    ## Ruling
    Challenge README: "All counted code should live in the train_gpt.py script"; #1412.
    """

    id = "PG301"
    name = "code-outside-train-gpt"
    severity = Severity.WARNING
    confidence = Confidence.HIGH
    summary = "Code run from other files (exec, imports of sibling modules, native sources): bytes the size limit does not count."
    run_only = True
    VALID: ClassVar[tuple[Example, ...]] = pg301.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg301.INVALID

    def check_program(self, facts: Facts, program: Program | None) -> Iterator[Hit]:
        script = PurePath(program.entry.shown).name if program is not None else "the script"
        by_node = {id(fn.node): fn for fn in facts.functions.values() if fn.node is not None}
        lines: dict[int, tuple[Gate, list[_Outside]]] = {}
        for ref in references(facts.module, facts.span_of, facts.text):
            fn = by_node.get(id(ref.scope)) if ref.scope is not None else None
            gate = facts.combine(
                facts.gates[(fn or facts.functions["<module>"]).qualname], ref.guards
            )
            judged = _judge(ref, program) if gate.reachable else None
            if judged is not None:
                lines.setdefault(ref.line, (gate, []))[1].append(judged)
        for fn in facts.functions.values():
            for call in fn.externals:
                items = _call_outside(call, program)
                if not items:
                    continue
                call_gate = facts.gate(fn, call.where)
                if call_gate.reachable:
                    lines.setdefault(call.where.line, (call_gate, []))[1].extend(items)
        for line, (gate, items) in sorted(lines.items()):
            strongest = _strongest(items)
            sizes = [
                o.size for o in items if o.size is not None and o.severity is not Severity.NOTE
            ]
            uncounted = f"these {sum(sizes):,} bytes are" if sizes else "its bytes are"
            message = (
                f"code outside {script}: "
                + "; ".join(dict.fromkeys(o.text for o in items))
                + (
                    f". All counted code must live in {script}; {uncounted} not counted "
                    "toward the 16,000,000-byte limit"
                    if strongest.severity is not Severity.NOTE
                    else ""
                )
            )
            yield Hit(
                line,
                message,
                gate,
                (facts.evidence(line, "code from another file enters here"),),
                confidence=strongest.confidence,
                severity=strongest.severity,
            )


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
    The evaluation conditions of the challenge README: pgolf cannot verify what native code does at evaluation; it must say so
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


class EmbeddedValidationData(Rule):
    """
    ## What it does
    Finds validation data shipped inside the submission. First, a write of the artifact
    (`torch.save`, `np.save`, `Path.write_bytes`, a binary `open(...).write`, after the training
    loop and before the final evaluation) whose content holds validation tokens: a slice of `val_tokens` put into the state
    dict, the object passed to `torch.save`, or the blob that is pickled, compressed and written
    as the model file. pgolf follows the written value back through assignments, dict and list
    stores and helper arguments to an expression holding validation data itself. Second, a large
    constant in the code (a bytes or string literal of 32k characters or more, inline or
    through base64/base85/lzma decoders) turned into 16-bit or wider integers by
    `np.frombuffer` / `np.fromstring` / `torch.frombuffer`: token ids embedded in the code, a
    "paid prefix". pgolf cannot see what those ids are, so that finding has medium confidence.

    ## Why is this bad?
    The score must measure prediction of text the submission has not seen. Validation tokens
    stored in the artifact or the code let the model look the answer up, whatever the bytes
    cost: paying for them inside the 16,000,000 bytes does not make them legal.

    ## Example
    ```python
    state = model.state_dict()
    state["prefix"] = val_tokens[:262144].to(torch.int16)
    torch.save(state, "final_model.pt")
    ```

    ## Use instead
    Ship only what training produced from training data: weights, quantization scales, tables
    built from the training shards. Tokenizer byte tables and small constants are fine.

    ## Known problems
    Validation data is recognised from `val_tokens` names, `fineweb_val_*` paths and
    validation loaders. A value that one of the script's own functions computes from validation
    data (quantization calibrated on it) is PG106's concern and is not reported here; a
    histogram made with library calls (`torch.bincount(val_tokens)`) is. Writes before the
    training loop are taken for data preparation and writes after the last score for evaluation
    outputs; neither is checked. The constant check knows neither what the ids
    encode nor constants built at run time (a list literal of integers, a string assembled by
    joins), and tokenizer tables stored as 16-bit values above the size bound are reported.

    ## Ruling
    The challenge README's evaluation conditions: validation data may not be stored in the
    artifact; validation files read into the serialized bytes, or a large embedded constant
    that decodes to token ids ("paid prefix"), are not allowed.
    """

    id = "PG303"
    name = "embedded-validation-data"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "Validation tokens written into the artifact, or token ids embedded in the code."
    VALID: ClassVar[tuple[Example, ...]] = pg303.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg303.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        for found in val_writes(facts):
            evidence = [facts.evidence(found.value.line, "validation data goes into the artifact")]
            if found.write.line != found.value.line:
                evidence.append(facts.evidence(found.write.line, "the artifact is written here"))
            yield Hit(
                found.write.line,
                "validation data is written into the artifact; the artifact may only hold what "
                "training produced from training data",
                found.gate,
                tuple(evidence),
            )
        for ids in embedded_ids(facts):
            yield Hit(
                ids.line,
                f"a {ids.chars:,}-character constant is decoded into `{ids.dtype}` integers: token "
                "ids embedded in the code (a paid prefix); pgolf cannot tell whether they are "
                "validation tokens — check what the constant holds",
                ids.gate,
                (facts.evidence(ids.line, "a large constant becomes integer ids"),),
                Confidence.MEDIUM,
            )
