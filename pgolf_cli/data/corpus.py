"""Documents for tokenizer training and shards: the built-in corpus and user text files.

The built-in corpus is English prose that every Python installation already carries, so a
dataset can be built on any machine without a download:

- ``pydoc_data/topics.py``: the language reference topics that ``help()`` shows, generated
  from CPython's documentation (one document per topic);
- the docstrings of the standard library's modules, classes and functions (one document per
  distinct docstring).

Both are read from the standard library's source files with :mod:`ast`; no module is imported,
so nothing runs. Test suites and the packages that distributions ship separately (tkinter,
idlelib, turtledemo, lib2to3, distutils, ensurepip) are left out, which keeps the corpus the
same on installations of one Python version that split the standard library differently.

The documents are NFKC-normalized, as the tokenizer normalizes its input, so the bytes the
byte LUTs count are the bytes of the text (a handful of docstrings hold characters such as "´"
whose NFKC form is longer). The text is CPython's, under the Python Software Foundation License
(https://docs.python.org/3/license.html). Documents are ordered by the sha256 of their text:
a fixed order that does not depend on the file system and mixes modules, so the first documents
(validation) look like the rest. For CPython 3.11 this is about 6,300 documents and 1.9 MB.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import platform
import re
import sysconfig
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pgolf_cli.errors import PgolfInputError

#: Directories of the standard library whose files are not part of the corpus.
EXCLUDED_DIRS = frozenset(
    {
        "site-packages",
        "dist-packages",
        "__pycache__",
        "test",
        "tests",
        "idle_test",
        "idlelib",
        "tkinter",
        "turtledemo",
        "lib2to3",
        "distutils",
        "ensurepip",
    }
)

BUILTIN_SOURCE = (
    "CPython standard library: pydoc_data topics and module/class/function docstrings "
    "(Python Software Foundation License)"
)

_DOCUMENT_GAP = re.compile(r"\n[ \t\r\f\v]*\n\s*")


@dataclass(frozen=True)
class Corpus:
    """Documents in their dataset order, with where they came from."""

    documents: tuple[str, ...]
    source: dict[str, object]

    @property
    def sha256(self) -> str:
        return corpus_sha256(self.documents)

    @property
    def utf8_bytes(self) -> int:
        return sum(len(doc.encode("utf-8")) for doc in self.documents)


def corpus_sha256(documents: Sequence[str]) -> str:
    """A digest of the documents and their boundaries (NUL never occurs in text documents)."""
    digest = hashlib.sha256()
    for document in documents:
        digest.update(document.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def builtin_corpus() -> Corpus:
    """The built-in corpus of this interpreter's standard library (computed once per process)."""
    documents = _builtin_documents(sysconfig.get_paths()["stdlib"])
    return Corpus(
        documents=documents,
        source={
            "kind": "builtin",
            "description": BUILTIN_SOURCE,
            "python": platform.python_version(),
            "documents": len(documents),
            "bytes": sum(len(doc.encode("utf-8")) for doc in documents),
            "sha256": corpus_sha256(documents),
        },
    )


@functools.lru_cache(maxsize=2)
def _builtin_documents(stdlib: str) -> tuple[str, ...]:
    root = Path(stdlib)
    texts: set[str] = set()
    for path in _library_files(root):
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            # A damaged or unreadable file in someone's installation only shrinks the corpus;
            # the manifest's sha256 records exactly what was used.
            continue
        if path.relative_to(root).as_posix() == "pydoc_data/topics.py":
            texts.update(_topics(tree))
        texts.update(_docstrings(tree))
    documents = {unicodedata.normalize("NFKC", text).strip() for text in texts}
    return tuple(sorted((d for d in documents if d), key=_order_key))


def _order_key(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _library_files(root: Path) -> list[Path]:
    files = [
        path
        for path in root.rglob("*.py")
        if not any(part in EXCLUDED_DIRS for part in path.relative_to(root).parts[:-1])
    ]
    return sorted(files, key=lambda path: path.relative_to(root).as_posix())


def _docstrings(tree: ast.Module) -> Iterator[str]:
    # Docstrings sit only in module, class and function bodies, which may be nested in
    # statements (if/try/with blocks); expressions never hold one, so they are not visited.
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            text = ast.get_docstring(node, clean=True)
            if text:
                yield text
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                pending.extend(child for child in children if isinstance(child, ast.AST))


def _topics(tree: ast.Module) -> Iterator[str]:
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "topics" for t in statement.targets)
            and isinstance(statement.value, ast.Dict)
        ):
            for value in statement.value.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield value.value


def read_text_documents(path: Path) -> Corpus:
    """Read the documents of a UTF-8 text file.

    ``*.jsonl`` files hold one JSON object with a ``"text"`` string per line (blank lines are
    skipped; the text is used as it is). Any other file is split into documents at blank lines,
    and each document loses its surrounding whitespace.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PgolfInputError(
            str(path), "no such file", "Pass a UTF-8 text or .jsonl file to --text"
        ) from None
    except IsADirectoryError:
        raise PgolfInputError(
            str(path), "is a directory", "Pass a UTF-8 text or .jsonl file"
        ) from None
    except OSError as problem:
        raise PgolfInputError(
            str(path), f"cannot be read ({problem.strerror or problem})", "Check the permissions"
        ) from None
    # NUL never occurs in text; a file with one is binary even when it decodes as UTF-8.
    nul = data.find(b"\0")
    if nul >= 0:
        raise PgolfInputError(
            str(path),
            f"is a binary file, not text (byte {nul} is NUL)",
            "Pass a UTF-8 text file or a .jsonl file to --text",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as problem:
        raise PgolfInputError(
            str(path),
            f"is not UTF-8 (byte {problem.start} is {data[problem.start]:#04x})",
            "Convert the file to UTF-8",
        ) from None
    text = text.removeprefix("\ufeff")

    is_jsonl = path.suffix.lower() == ".jsonl"
    documents = _jsonl_documents(path, text) if is_jsonl else _paragraphs(text)
    if not documents:
        raise PgolfInputError(
            str(path),
            "holds no documents",
            'Write one {"text": ...} object per line'
            if is_jsonl
            else "Write documents separated by blank lines",
        )
    return Corpus(
        documents=tuple(documents),
        source={
            "kind": "text",
            "path": str(path),
            "format": "jsonl" if is_jsonl else "paragraphs",
            "documents": len(documents),
            "bytes": sum(len(doc.encode("utf-8")) for doc in documents),
            "sha256": corpus_sha256(documents),
        },
    )


def _paragraphs(text: str) -> list[str]:
    return [part.strip() for part in _DOCUMENT_GAP.split(text) if part.strip()]


def _jsonl_documents(path: Path, text: str) -> list[str]:
    documents: list[str] = []
    # Only "\n" ends a record: JSON strings may hold U+2028 and other characters that
    # str.splitlines() would also split at.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as problem:
            raise PgolfInputError(
                where, f"is not valid JSON ({problem.msg})", 'Write one {"text": ...} per line'
            ) from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise PgolfInputError(
                where,
                'has no "text" string',
                'Write one JSON object with a "text" string per line',
            )
        if record["text"]:
            documents.append(record["text"])
    return documents
