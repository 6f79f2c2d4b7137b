"""Every document the code, the help and the docs cite is one a pgolf user has.

The challenge's own notes are not shipped with pgolf; a citation of them (``rules.md §3``) sends
a reader nowhere. A cited ``*.md`` must be a file of this repository (docs/*.md, README.md, ...);
for the challenge itself, cite docs/challenge.md, ``pgolf rules ID`` or the public repository.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Where a user reads citations: the code (docstrings, help, messages), templates and docs.
SCANNED = ("pgolf_cli", "checks", "templates", "docs", "README.md")
#: Reports pgolf writes (``pgolf gate -o comment.md``): file names in examples, not documents.
OUTPUT_NAMES = frozenset({"comment.md", "sweep.md"})
_CITATION = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b")


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        else:
            files.extend(
                p
                for p in path.rglob("*")
                if p.suffix in {".py", ".md", ".json", ".yml", ".yaml", ".toml", ".txt"}
            )
    return files


def unresolved(text: str, where: Path) -> list[str]:
    """The ``*.md`` names in ``text`` that are no file of the repository."""
    missing = []
    for name in _CITATION.findall(text):
        if Path(name).name in OUTPUT_NAMES:
            continue
        candidates = (
            ROOT / name,
            where.parent / name,
            where.parent / "templates" / name,  # a module's own template files
            ROOT / "docs" / name,
            ROOT / "templates" / name,
        )
        if not any(candidate.is_file() for candidate in candidates):
            missing.append(name)
    return missing


def test_the_check_catches_a_citation_of_the_challenge_notes() -> None:
    where = ROOT / "pgolf_cli" / "records" / "stats.py"
    assert unresolved("the test of records.md §7 and rules.md", where) == [
        "records.md",
        "rules.md",
    ]
    assert unresolved("see docs/design.md", where) == ["docs/design.md"]
    assert unresolved("see docs/challenge.md and README.md; -o comment.md", where) == []


def test_every_cited_document_exists() -> None:
    files = scanned_files()
    assert len(files) > 50
    broken = {
        str(path.relative_to(ROOT)): names
        for path in files
        if (names := unresolved(path.read_text(encoding="utf-8", errors="replace"), path))
    }
    assert not broken, f"citations of documents pgolf does not ship: {broken}"
