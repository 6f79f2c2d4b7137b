"""Fixtures shared by the test directories: the documentation's command blocks, and the real
scripts of ../shared.

The README and docs/*.md are executed by tests (tests/cli/test_docs.py checks every command
block, tests/e2e/test_docs_run.py runs them on a real CPU run); both read the blocks here, so
one parser decides what a block, a command and an expected output are.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

_FENCE = re.compile(r"^```(\S*)\s*$")
# <!-- output of: COMMAND (exit N[; note]) --> right before a fence: the block is COMMAND's
# output (an excerpt: its lines appear in this order in what the command prints).
_MARKER = re.compile(
    r"^<!-- output of: (?P<command>.+?) \(exit (?P<exit>\d+)(?P<note>[^)]*)\) -->$"
)


@dataclass(frozen=True)
class Block:
    """One fenced block of a document."""

    path: Path
    line: int
    """1-based line of the opening fence."""
    language: str
    text: str
    output_of: str | None = None
    """The command whose output this block shows (from its marker), else None."""
    exit_code: int | None = None
    note: str = ""

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@dataclass(frozen=True)
class Command:
    """One command line of a bash block (continuations joined, the comment dropped)."""

    block: Block
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.block.path.relative_to(ROOT)}:{self.line}"

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text, comments=True)


def read_blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = _MARKER.match(previous.strip())
        blocks.append(
            Block(
                path=path,
                line=index + 1,
                language=fence[1],
                text="\n".join(lines[index + 1 : end]),
                output_of=marker["command"] if marker else None,
                exit_code=int(marker["exit"]) if marker else None,
                note=marker["note"].strip("; ") if marker else "",
            )
        )
        index = end + 1
    return blocks


def commands(block: Block) -> list[Command]:
    """The command lines of a bash block; ``a && b`` stays one line (bash runs it)."""
    found: list[Command] = []
    pending = ""
    start = 0
    for offset, raw in enumerate(block.text.split("\n"), start=1):
        if not pending:
            start = block.line + offset
        pending += raw
        if raw.rstrip().endswith("\\"):
            pending = pending.rstrip()[:-1] + " "
            continue
        if shlex.split(pending, comments=True):
            found.append(Command(block, start, _without_comment(pending)))
        pending = ""
    return found


def _without_comment(line: str) -> str:
    """``line`` up to its comment, with its own quoting (a ``#`` inside quotes stays)."""
    words = shlex.split(line, comments=True)
    for match in re.finditer(r"\s#", line):
        try:
            if shlex.split(line[: match.start()]) == words:
                return line[: match.start()].rstrip()
        except ValueError:
            continue  # the # is inside quotes
    return line.rstrip()


@pytest.fixture(scope="session")
def doc_blocks() -> list[Block]:
    return [block for path in DOCUMENTS for block in read_blocks(path)]


@pytest.fixture(scope="session")
def doc_commands(doc_blocks: list[Block]) -> list[Command]:
    return [
        command for block in doc_blocks if block.language == "bash" for command in commands(block)
    ]


SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def real_scripts() -> list[Path]:
    """Every Python file of the accepted record folders and of the labelled corpus in ../shared;
    the test is skipped where ../shared is not."""
    paths = sorted(SHARED_DATA.glob("parameter-golf-records-full/*/*/*.py"))
    paths += sorted(SHARED_DATA.glob("audit-corpus/*/*.py"))
    if not paths:
        pytest.skip("../shared is not here")
    return paths
