"""PG9xx: findings the engine itself emits about the input (not about the training code)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgolf_cli.audit.facts import Facts
from pgolf_cli.audit.findings import Confidence, Severity
from pgolf_cli.audit.rule import Example, Hit, Rule


class EngineRule(Rule):
    """Catalogue entry for a finding the engine reports while loading and parsing."""

    def check(self, facts: Facts) -> Iterator[Hit]:
        return iter(())


class UnparseableSource(EngineRule):
    """
    ## What it does
    Reports a file that is not valid Python 3 (after decoding a packed wrapper, if any).

    ## Why is this bad?
    A script the audit cannot parse is a script nobody has checked. The audit fails closed:
    this finding is an error and cannot be turned off with `--select`/`--ignore`.

    ## Example
    ```python
    def main(:
        pass
    ```

    ## Use instead
    Ship the exact `train_gpt.py` that produced the logs; it must run under Python 3.

    ## Known problems
    Code that parses under a newer Python grammar than pgolf's parser supports is reported too.
    The text is checked with CPython's own parser first, so code CPython rejects (more than 200
    nested brackets, 100 nested blocks, an expression too deep for CPython to compile) is reported
    here in milliseconds, before the audit's own parser sees it.

    ## Ruling
    pgolf policy: the audit fails closed (docs/architecture.md, "The audit fails closed").
    """

    id = "PG901"
    name = "unparseable-source"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "The file is not valid Python: nothing in it could be checked."
    INVALID: ClassVar[tuple[Example, ...]] = (
        Example("unbalanced parenthesis", "def main(:\n    pass\n", line=1),
        Example(
            "bad indentation in the middle of a script",
            "import os\n\ndef main():\n  x = 1\n    y = 2\n",
            line=5,
        ),
    )
    VALID: ClassVar[tuple[Example, ...]] = (Example("a plain script", "def main():\n    pass\n"),)


class PackedSource(EngineRule):
    """
    ## What it does
    Notes that the file is a packed wrapper (`exec` of a decompressed, base-encoded payload) and
    that the audited code is the statically decoded payload.

    ## Why is this bad?
    It is not: packing is a legal way to save artifact bytes. The note tells the reader that line
    numbers in the other findings count lines of the decoded text, not of the shipped file.

    ## Example
    ```python
    import lzma as L, base64 as B
    exec(L.decompress(B.b85decode("...")))
    ```

    ## Use instead
    Nothing to change. `pgolf audit` decodes the payload without executing it.

    ## Known problems
    None known.

    ## Ruling
    The challenge counts the code as shipped (docs/challenge.md, "Code bytes"); the audit reads
    what it runs.
    """

    id = "PG902"
    name = "packed-source"
    severity = Severity.NOTE
    confidence = Confidence.HIGH
    summary = "The script is a packed wrapper; the decoded code was audited."


class UndecodablePackedSource(EngineRule):
    """
    ## What it does
    Reports a packed wrapper whose payload cannot be decoded without running code: a payload
    computed at run time, an unknown codec, a corrupt stream, or one that decodes past the size or
    nesting cap. Also any `exec` of a value built from a string or bytes literal of 1,000
    characters or more in a shape pgolf does not decode (a decoder function of the file's own,
    a codec reached through `getattr`, a whole script kept in a string): code the audit would
    otherwise pass without having seen it.

    ## Why is this bad?
    The code that actually runs is hidden from the audit and from reviewers. pgolf never executes a
    submission to find out what it contains.

    ## Example
    ```python
    import zlib
    exec(zlib.decompress(bytes(reversed(open(__file__, "rb").read()[-900:]))))
    ```

    ## Use instead
    Pack with a literal payload (`exec(lzma.decompress(base64.b85decode("...")))`) or ship the
    plain source.

    ## Known problems
    Exotic codecs (zstandard, marshal) are reported here even when the payload is harmless. A
    long literal handed to a function that executes its parameter (`run(PAYLOAD)` with
    `run = lambda p: exec(...)`) is not followed.

    ## Ruling
    docs/challenge.md, "Code bytes": a wrapper that cannot be decoded statically is itself a
    finding.
    """

    id = "PG903"
    name = "undecodable-packed-source"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "A packed wrapper that cannot be decoded statically: its code is unaudited."


class UnusedSuppression(EngineRule):
    """
    ## What it does
    Reports a `# pgolf: ignore[ID] reason` comment that suppressed nothing.

    ## Why is this bad?
    Stale suppressions hide the next real finding on that line and mislead reviewers about what
    was waved through.

    ## Example
    ```python
    x = 1  # pgolf: ignore[PG101] scored before the update
    ```

    ## Use instead
    Remove the comment.

    ## Known problems
    A suppression for a rule left out with `--select`/`--ignore` is not reported.

    ## Ruling
    pgolf policy (README, "Suppressions").
    """

    id = "PG904"
    name = "unused-suppression"
    severity = Severity.NOTE
    confidence = Confidence.HIGH
    summary = "A suppression comment that matched no finding."
    INVALID: ClassVar[tuple[Example, ...]] = (
        Example(
            "nothing to suppress",
            "def main():\n    x = 1  # pgolf: ignore[PG101] not training\n\nmain()\n",
            line=2,
        ),
    )


class MalformedSuppression(EngineRule):
    """
    ## What it does
    Reports a suppression comment without a rule id, with an invalid id, or without a reason.

    ## Why is this bad?
    A blanket or unexplained suppression hides findings from reviewers; pgolf ignores it (the
    finding stays) and says why.

    ## Example
    ```python
    loss.backward()  # pgolf: ignore[PG101]
    ```

    ## Use instead
    ```python
    loss.backward()  # pgolf: ignore[PG101] trains on a training-data slice, see load_train()
    ```

    ## Known problems
    None known.

    ## Ruling
    pgolf policy (README, "Suppressions": the rule id and a reason are required).
    """

    id = "PG905"
    name = "malformed-suppression"
    severity = Severity.WARNING
    confidence = Confidence.HIGH
    summary = "A suppression comment without a rule id or a reason; it suppresses nothing."
    INVALID: ClassVar[tuple[Example, ...]] = (
        Example("no reason", "def main():\n    x = 1  # pgolf: ignore[PG101]\n\nmain()\n", line=2),
        Example(
            "no rule id", "def main():\n    x = 1  # pgolf: ignore because\n\nmain()\n", line=2
        ),
    )


class BeyondAuditLimits(EngineRule):
    """
    ## What it does
    Reports a file the audit refused to analyse because it exceeds one of the audit's bounds:
    code nested more than 200 levels deep, an analysis that nests deeper than Python's recursion
    limit, or one that runs past the time or memory limit of the worker process (or crashes it).

    ## Why is this bad?
    Real submissions nest at most about 20 levels and audit in about a second. A script shaped to
    exhaust the parser would otherwise crash or stall the CI check; instead the audit ends with this
    finding, which fails closed like PG901: nothing in the file was checked.

    ## Example
    ```python
    x = a[0][0][0][0] ... [0]  # 300 subscripts deep
    ```

    ## Use instead
    Ship ordinary source: split a huge expression into statements, and generate tables as data
    files rather than as code.

    ## Known problems
    The time limit (60 s by default) is wall-clock time, so a very slow or overloaded machine can
    reach it on a legitimately huge script.

    ## Ruling
    pgolf policy: every input ends in a report in bounded time and memory, and an audit that could
    not read the code fails closed (docs/architecture.md, "The audit fails closed").
    """

    id = "PG906"
    name = "beyond-audit-limits"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "The file exceeds the audit's depth, time or memory bounds: nothing was checked."
    INVALID: ClassVar[tuple[Example, ...]] = (
        Example("an expression 300 subscripts deep", "x = a" + "[0]" * 300 + "\n", line=1),
        Example(
            "a chain of 400 `or` operands (one line in CPython's tree, 400 levels in libcst's)",
            "import os\n\nflag = " + " or ".join(["os.sep"] * 400) + "\n",
            line=3,
        ),
    )
    VALID: ClassVar[tuple[Example, ...]] = (
        Example("an expression 150 subscripts deep", "x = a" + "[0]" * 150 + "\n"),
        Example("a plain script", "def main():\n    pass\n"),
    )
