"""A textual scan of C, C++ and CUDA sources shipped beside a script, for the target-gated
mixture.

pgolf parses Python only. A records folder may ship a scoring kernel in C++ or CUDA, and the
target-gated mixture is as illegal there as in Python: a look-up table indexed by the
token being scored whose value weights or selects the probabilities mixed for that token, whose
log then goes into the score::

    float w = boundary_lut[tgt];                 // a table read at the scored token
    float p = w * p_word + (1.f - w) * p_model;  // its value weights the mixture
    nll -= logf(p);                              // and the mixture is scored

The scan works on lines of text with comments removed, not on a parse: it finds table reads whose
index names the scored token (``tgt``, ``target``, ``y``, ``labels``, ``tokens[i + 1]``...),
follows plain assignments of such a value (``w = lut[tgt] ? a : b`` carries it too), looks for a
line that uses it as a weight or a switch (``1 - w``, ``w ? pa : pb``, ``if (w)``), and requires
the log of the result to be added to a sum within a few lines. Reads of probability vectors
(``probs[tgt]``) are the scored probability itself, not a gate; the standard byte count
(``bytes += base_bytes_lut[tgt]``) weights nothing and is never scored. Findings are therefore
reported at low confidence, and say that the source was scanned, not parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: The suffixes of the native sources scanned beside a script.
NATIVE_SUFFIXES = frozenset({".c", ".cc", ".cpp", ".cxx", ".cu", ".cuh", ".h", ".hpp"})
#: Larger sources are read up to this many bytes: a scoring kernel is far smaller.
MAX_NATIVE_BYTES = 4 * 1024 * 1024
#: How far (in lines) the scored log may follow the mixture.
_SCORE_WINDOW = 40
#: How far (in lines) an ``if (gate)`` reaches to the assignments it selects.
_IF_BODY = 3

_IDENT = re.compile(r"[A-Za-z_]\w*")
_TABLE_READ = re.compile(r"([A-Za-z_]\w*)\s*\[")
_TARGET_INDEX = re.compile(
    r"\b(?:tgt|tgts|tgt_id|target|targets|target_id|target_ids|y|yb|ys|label|labels|gold"
    r"|next_tok|next_token|next_tokens|next_id|nxt)\b"
    r"|\[[^\[\]]*\+\s*1\s*\]"
)
_PROBABILITY_NAME = re.compile(
    r"prob|logit|logp|lprob|softmax|pred|score|^p$|^q$|^p_|^pa$|^pb$", re.IGNORECASE
)
# `x = ...` but not `==`, `<=`, `+=` and friends: the last identifier before a lone `=`.
_PLAIN_ASSIGN = re.compile(r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)?=(?!=)")
_COMPOUND_BEFORE = frozenset("+-*/%&|^<>!=")
_LOG_CALL = re.compile(r"\b(?:__)?(?:log|logf|log2|log2f|log10|log10f|log1p|log1pf|hlog)\s*\(")
# Adding into a sum: `nll -= ...`, `loss += ...`, CUDA's `atomicAdd(&sum, ...)`.
_ACCUMULATE = re.compile(r"\+=|-=|\batomicAdd\s*\(|\batomic_add\b")
_IF = re.compile(r"\bif\s*\(")


@dataclass(frozen=True, slots=True)
class GatedMixture:
    """A table read at the scored token whose value decides how that token is scored."""

    table: str
    key: str
    read_line: int
    mix_line: int
    score_line: int
    how: str
    """``weights`` or ``selects``."""


def read_native(path: Path) -> str:
    """The text of a native source, bounded; undecodable bytes are replaced (it is only scanned)."""
    with path.open("rb") as handle:
        data = handle.read(MAX_NATIVE_BYTES)
    return data.decode("utf-8", errors="replace")


def strip_comments(text: str) -> str:
    """``text`` with ``//`` and ``/* */`` comments blanked, keeping line breaks and strings."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end == -1 else end
        elif ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            stop = n if end == -1 else end + 2
            out.append("\n" * text.count("\n", i, stop))
            i = stop
        elif ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Read:
    table: str
    key: str
    line: int
    text: str
    """The read as written (``boundary_lut[tgt]``), to find its uses on the same line."""


def _target_reads(line: str, number: int) -> list[_Read]:
    reads: list[_Read] = []
    for match in _TABLE_READ.finditer(line):
        table = match.group(1)
        depth, end = 1, match.end()
        while end < len(line) and depth:
            depth += {"[": 1, "]": -1}.get(line[end], 0)
            end += 1
        key = line[match.end() : end - 1].strip()
        if (
            _TARGET_INDEX.search(key)
            and not _PROBABILITY_NAME.search(table)
            and not _TARGET_INDEX.fullmatch(table)
        ):
            reads.append(_Read(table, key, number, line[match.start() : end]))
    return reads


def _assigned(text: str) -> tuple[str, int] | None:
    """The variable a statement assigns with a plain ``=`` and where its value starts."""
    for match in _PLAIN_ASSIGN.finditer(text):
        before = text[match.end() - 2] if match.end() >= 2 else ""
        if before not in _COMPOUND_BEFORE:
            return match.group(1), match.end()
    return None


def _pattern(written: str) -> str:
    """A regex for a carrier name (a whole word) or an inline read (as written)."""
    escaped = re.escape(written)
    return rf"\b{escaped}\b" if written.isidentifier() else escaped


def _role(line: str, written: str) -> str | None:
    """How ``written`` decides a value on this line: as a weight, or as a switch."""
    use = _pattern(written)
    if re.search(rf"\b1(?:\.0*)?f?\s*-\s*{use}", line):
        return "weights"
    if re.search(rf"{use}[^?;:]*\?", line):
        return "selects"
    if re.search(rf"\bif\s*\([^;]*{use}", line):
        return "selects"
    return None


def _statements_after_if(lines: list[str], index: int) -> list[str]:
    """The statements an ``if (...)`` on line ``index`` guards (its block, or one statement)."""
    line = lines[index]
    opened = _IF.search(line)
    if opened is None:
        return []
    depth, end = 1, opened.end()
    while end < len(line) and depth:
        depth += {"(": 1, ")": -1}.get(line[end], 0)
        end += 1
    rest = line[end:].strip()
    following = [text for text in lines[index + 1 : index + 1 + _IF_BODY * 8]]
    if rest and rest != "{":
        return [rest]
    if not rest:
        while following and not following[0].strip():
            following.pop(0)
        if not following:
            return []
        if not following[0].strip().startswith("{"):
            return [following[0]]
    body: list[str] = []
    depth = 1 if rest == "{" else 0
    for text in following:
        for ch in text:
            depth += {"{": 1, "}": -1}.get(ch, 0)
        body.append(text)
        if depth <= 0 and "}" in text:
            break
    return body


def scan(text: str) -> list[GatedMixture]:
    """Every table read at the scored token that weights or selects a scored probability."""
    lines = strip_comments(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    carriers: dict[str, _Read] = {}
    found: list[GatedMixture] = []
    for index, line in enumerate(lines):
        reads = _target_reads(line, index + 1)
        uses = {**carriers, **{read.text: read for read in reads}}
        assigned = _assigned(line)
        for written, read in uses.items():
            how = _role(line, written)
            if how is None:
                continue
            if _IF.search(line) and re.search(rf"\bif\s*\([^;]*{_pattern(written)}", line):
                mixed = [a[0] for a in map(_assigned, _statements_after_if(lines, index)) if a]
            else:
                mixed = [assigned[0]] if assigned is not None else []
            score = _scored(lines, index, mixed)
            if score is not None:
                found.append(GatedMixture(read.table, read.key, read.line, index + 1, score, how))
                break
        # A plain assignment from a gate read (or from a value carrying one) carries it on.
        if assigned is not None:
            name, value_at = assigned
            value = line[value_at:]
            carried = [
                read for written, read in uses.items() if re.search(_pattern(written), value)
            ]
            if carried:
                carriers[name] = carried[0]
            else:
                carriers.pop(name, None)
    return found


def _scored(lines: list[str], index: int, mixed: list[str]) -> int | None:
    """The line whose log of a mixed value is added to a sum, if one follows closely."""
    line = lines[index]
    if _LOG_CALL.search(line) and _ACCUMULATE.search(line):
        return index + 1  # `nll -= logf(w * pa + (1.f - w) * pb);`
    for j in range(index, min(index + _SCORE_WINDOW + 1, len(lines))):
        text = lines[j]
        log = _LOG_CALL.search(text)
        if log is None or not any(re.search(_pattern(m), text[log.end() :]) for m in mixed):
            continue
        if _ACCUMULATE.search(text):
            return j + 1
        holder = _assigned(text)
        if holder is not None:
            for k in range(j + 1, min(j + 6, len(lines))):
                if _ACCUMULATE.search(lines[k]) and re.search(_pattern(holder[0]), lines[k]):
                    return k + 1
    return None
