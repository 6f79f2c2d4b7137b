"""The built-in corpus (determinism, size, source) and reading user text files."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from pgolf_cli.data.corpus import builtin_corpus, corpus_sha256, read_text_documents
from pgolf_cli.errors import PgolfInputError

REPO = Path(__file__).resolve().parents[2]

# Prints the corpus digest and the modules that collecting it imported.
_PROBE = """
import json, sys
before = set(sys.modules)
from pgolf_cli.data import corpus
loaded = set(sys.modules)
c = corpus.builtin_corpus()
print(json.dumps({"sha256": c.sha256, "documents": len(c.documents),
                  "imported": sorted(set(sys.modules) - loaded)}))
"""


def test_size_and_shape(builtin_docs: tuple[str, ...]) -> None:
    corpus = builtin_corpus()
    assert corpus.documents == builtin_docs
    # CPython 3.11 gives ~6,300 documents and ~1.9 MB; newer versions have more.
    assert len(builtin_docs) > 4000
    assert corpus.utf8_bytes > 1_500_000
    assert len(set(builtin_docs)) == len(builtin_docs)
    for doc in builtin_docs:
        assert doc and doc == doc.strip()
        assert unicodedata.normalize("NFKC", doc) == doc
    keys = [hashlib.sha256(d.encode()).hexdigest() for d in builtin_docs]
    assert keys == sorted(keys)


def test_source_is_recorded(builtin_docs: tuple[str, ...]) -> None:
    source = builtin_corpus().source
    assert source["kind"] == "builtin"
    assert source["python"] == ".".join(map(str, sys.version_info[:3]))
    assert source["sha256"] == corpus_sha256(builtin_docs)
    assert source["documents"] == len(builtin_docs)
    assert "Python Software Foundation License" in str(source["description"])


def test_holds_pydoc_topics_and_docstrings(builtin_docs: tuple[str, ...]) -> None:
    import pydoc_data.topics

    documents = set(builtin_docs)
    topic = unicodedata.normalize("NFKC", pydoc_data.topics.topics["for"]).strip()
    assert topic in documents
    assert unicodedata.normalize("NFKC", json.__doc__ or "").strip() in documents
    # Test suites are left out.
    support = pytest.importorskip("test.support")
    assert (support.__doc__ or "").strip() not in documents


def test_deterministic_across_interpreters_and_imports_nothing(
    builtin_docs: tuple[str, ...],
) -> None:
    shas = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        probe = json.loads(done.stdout)
        assert probe["documents"] == len(builtin_docs)
        # Reading the library with ast must not import (run) any of its modules; sysconfig
        # loads its own build data to find the library.
        assert [m for m in probe["imported"] if not m.startswith("_sysconfigdata")] == []
        shas.append(probe["sha256"])
    assert shas == [corpus_sha256(builtin_docs)] * 2


def test_paragraph_documents(tmp_path: Path) -> None:
    path = tmp_path / "docs.txt"
    path.write_bytes(
        "\ufeffFirst document,\nwith two lines.\n\n\n   \nSecond one.\r\n\r\n  Third, indented.  \n\n".encode()
    )
    corpus = read_text_documents(path)
    assert corpus.documents == (
        "First document,\nwith two lines.",
        "Second one.",
        "Third, indented.",
    )
    assert corpus.source["format"] == "paragraphs"
    assert corpus.source["documents"] == 3
    assert corpus.source["sha256"] == corpus_sha256(corpus.documents)


def test_jsonl_documents(tmp_path: Path) -> None:
    path = tmp_path / "docs.JSONL"
    lines = [
        json.dumps({"text": " kept as is \n", "id": 1}),
        "",
        json.dumps({"text": "line\u2028separator inside"}, ensure_ascii=False),
        json.dumps({"text": ""}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = read_text_documents(path)
    assert corpus.documents == (" kept as is \n", "line\u2028separator inside")
    assert corpus.source["format"] == "jsonl"


@pytest.mark.parametrize(
    ("name", "content", "where", "problem"),
    [
        ("bad.txt", b"ok \xff\xfe", "bad.txt", "is not UTF-8 (byte 3 is 0xff)"),
        # NUL bytes decode as UTF-8 but are never text: a binary file, said as such.
        ("zeros.bin", b"\0" * 3000, "zeros.bin", "is a binary file, not text (byte 0 is NUL)"),
        ("model.bin", b"PK\x03\x04ok\0\0", "model.bin", "is a binary file"),
        ("empty.txt", b"\n \n\n", "empty.txt", "holds no documents"),
        ("bad.jsonl", b'{"text": "a"}\n{oops\n', "bad.jsonl:2", "is not valid JSON"),
        ("notext.jsonl", b'{"body": "a"}\n', "notext.jsonl:1", 'has no "text" string'),
        ("list.jsonl", b'["a"]\n', "list.jsonl:1", 'has no "text" string'),
    ],
)
def test_text_errors(tmp_path: Path, name: str, content: bytes, where: str, problem: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PgolfInputError) as caught:
        read_text_documents(path)
    assert caught.value.path == str(tmp_path / where)
    assert problem in caught.value.problem


def test_missing_text_and_directory(tmp_path: Path) -> None:
    with pytest.raises(PgolfInputError, match="no such file"):
        read_text_documents(tmp_path / "nope.txt")
    with pytest.raises(PgolfInputError, match="is a directory"):
        read_text_documents(tmp_path)
