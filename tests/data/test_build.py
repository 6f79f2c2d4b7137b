"""`pgolf data build` end to end, and the library entry points the runner uses."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sentencepiece as spm
from typer.testing import Result

from pgolf_cli.data.build import (
    DEFAULT_VAL_DOCS,
    DEFAULT_VOCAB_SIZE,
    build_builtin,
    build_dataset,
    dataset_paths,
)
from pgolf_cli.data.corpus import builtin_corpus, corpus_sha256, read_text_documents
from pgolf_cli.data.shards import MAX_SHARD_TOKENS, list_shards, read_header
from pgolf_cli.errors import PgolfInputError

Invoke = Callable[..., Result]
ShardIds = Callable[[Path], list[int]]
VOCAB = 320


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _build(invoke: Invoke, text: Path, out: Path, *extra: str) -> Result:
    return invoke(
        "data", "build", "--text", text, "--vocab-size", str(VOCAB), "--out", out,
        "--val-docs", "3", "--shard-tokens", "200", *extra,
    )  # fmt: skip


def test_build_end_to_end(
    invoke: Invoke, text_file: Path, tmp_path: Path, documents: list[str], shard_ids: ShardIds
) -> None:
    out = tmp_path / "data"
    result = _build(invoke, text_file, out)
    assert result.exit_code == 0, result.output

    name = f"builtin_sp{VOCAB}"
    dataset, model = dataset_paths(out, name)
    assert dataset == out / "datasets" / name
    assert model == out / "tokenizers" / f"{name}.model"
    files = {str(p.relative_to(out)) for p in out.rglob("*")}
    train = [p.name for p in list_shards(dataset, "train")]
    assert train[0] == "fineweb_train_000000.bin" and len(train) >= 2
    assert files == {
        "datasets",
        f"datasets/{name}",
        f"datasets/{name}/manifest.json",
        f"datasets/{name}/fineweb_val_000000.bin",
        *(f"datasets/{name}/{shard}" for shard in train),
        "tokenizers",
        f"tokenizers/{name}.model",
        f"tokenizers/{name}.vocab",
    }

    processor = spm.SentencePieceProcessor(model_file=str(model))
    assert processor.GetPieceSize() == VOCAB
    expected = {
        split: [t for doc in docs for t in [1, *processor.encode(doc)]]
        for split, docs in (("val", documents[:3]), ("train", documents[3:]))
    }
    for split in ("val", "train"):
        shards = list_shards(dataset, split)
        # Every shard but the last holds exactly --shard-tokens tokens.
        assert all(read_header(p) == 200 for p in shards[:-1])
        stream = [token for p in shards for token in shard_ids(p)]
        assert stream == expected[split]

    manifest = json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["name"] == name
    assert manifest["vocab_size"] == VOCAB
    assert manifest["val_docs"] == 3
    assert manifest["max_shard_tokens"] == 200
    assert manifest["source"]["kind"] == "text"
    assert manifest["source"]["sha256"] == corpus_sha256(documents)
    assert manifest["tokenizer"]["model"] == f"tokenizers/{name}.model"
    assert manifest["tokenizer"]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert manifest["tokenizer"]["trainer_settings"]["normalization_rule_name"] == "nmt_nfkc"
    for split, docs in (("val", documents[:3]), ("train", documents[3:])):
        info = manifest["splits"][split]
        assert info["documents"] == len(docs)
        assert info["tokens"] == len(expected[split])
        assert info["bytes"] == info["lut_bytes"] == sum(len(d.encode()) for d in docs)
        assert info["shards"] == [p.name for p in list_shards(dataset, split)]

    # The summary table goes to stderr.
    assert "val" in result.stderr and f"{len(expected['val']):,}" in result.stderr
    assert result.stdout == ""
    assert not [p for p in (out / "datasets").iterdir() if p.name.startswith(".")]


def test_rerun_same_input_changes_nothing(invoke: Invoke, text_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert _build(invoke, text_file, out).exit_code == 0
    before = _snapshot(out)
    again = _build(invoke, text_file, out)
    assert again.exit_code == 0, again.output
    assert "already up to date" in again.stderr
    assert _snapshot(out) == before


def test_different_dataset_needs_force(invoke: Invoke, text_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert _build(invoke, text_file, out).exit_code == 0
    before = _snapshot(out)
    refused = _build(invoke, text_file, out, "--val-docs", "2")
    assert refused.exit_code == 2
    assert "already holds a different dataset (built from another --val-docs)" in refused.stderr
    assert "--force" in refused.stderr
    assert _snapshot(out) == before

    forced = _build(invoke, text_file, out, "--val-docs", "2", "--force")
    assert forced.exit_code == 0, forced.output
    manifest = json.loads((out / "datasets" / f"builtin_sp{VOCAB}" / "manifest.json").read_text())
    assert manifest["val_docs"] == 2
    assert not [p for p in (out / "datasets").iterdir() if p.name.startswith(".")]


def test_damaged_dataset_needs_force(invoke: Invoke, text_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert _build(invoke, text_file, out).exit_code == 0
    shard = out / "datasets" / f"builtin_sp{VOCAB}" / "fineweb_val_000000.bin"
    shard.write_bytes(shard.read_bytes()[:-2])
    refused = _build(invoke, text_file, out)
    assert refused.exit_code == 2
    assert "fineweb_val_000000.bin: is truncated" in refused.stderr
    assert _build(invoke, text_file, out, "--force").exit_code == 0
    assert read_header(shard) > 0


def test_stray_tokenizer_needs_force(invoke: Invoke, text_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    (out / "tokenizers").mkdir(parents=True)
    (out / "tokenizers" / f"builtin_sp{VOCAB}.model").write_bytes(b"old")
    refused = _build(invoke, text_file, out)
    assert refused.exit_code == 2
    assert "without its dataset folder" in refused.stderr
    assert (out / "tokenizers" / f"builtin_sp{VOCAB}.model").read_bytes() == b"old"
    assert _build(invoke, text_file, out, "--force").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--text", "missing.txt"), "missing.txt: no such file"),
        (("--vocab-size", "200"), "vocab size 200: must be more than 260"),
        (("--val-docs", "16"), "--val-docs 16: must be at least 1 and leave training documents"),
        (("--val-docs", "0"), "--val-docs 0"),
        (("--vocab-size", "5000"), "Change --vocab-size"),
        (("--vocab-size", "270"), "smaller than required_chars"),
    ],
)
def test_bad_input_exits_2(
    invoke: Invoke,
    text_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "data"
    defaults = {"--text": str(text_file), "--vocab-size": str(VOCAB), "--val-docs": "3"}
    defaults.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [item for pair in defaults.items() for item in pair]
    result = invoke("data", "build", *flat, "--out", out)
    assert result.exit_code == 2
    assert message in result.stderr
    # A failed build leaves no dataset and no staging folder behind.
    assert not (out / "datasets" / f"builtin_sp{VOCAB}").exists()
    assert not (out / "datasets").exists() or not list((out / "datasets").iterdir())


def test_a_text_of_one_document_says_so_not_val_docs(invoke: Invoke, tmp_path: Path) -> None:
    # "Pass a number from 1 to 1" when 1 fails as well helped nobody.
    text = tmp_path / "one.txt"
    text.write_text("Only one document here.\n", encoding="utf-8")
    for val_docs in ("1000", "1"):
        result = invoke("data", "build", "--text", text, "--val-docs", val_docs, "--out", tmp_path)
        assert result.exit_code == 2
        stderr = " ".join(result.stderr.split())
        assert f"{text}: holds 1 document; a dataset needs at least 2" in stderr
        assert "--val-docs" not in stderr


def test_binary_text_is_named_as_binary(invoke: Invoke, tmp_path: Path) -> None:
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"\0" * 4096)
    result = invoke("data", "build", "--text", binary, "--out", tmp_path)
    assert result.exit_code == 2
    stderr = " ".join(result.stderr.split())
    assert "is a binary file, not text" in stderr and "--val-docs" not in stderr


def test_data_dir_from_environment(invoke: Invoke, text_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "from-env"
    result = invoke(
        "data", "build", "--text", text_file, "--vocab-size", str(VOCAB), "--val-docs", "3",
        env={"PGOLF_DATA": str(out)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "datasets" / f"builtin_sp{VOCAB}" / "manifest.json").is_file()


def test_build_dataset_library_call(text_file: Path, tmp_path: Path) -> None:
    corpus = read_text_documents(text_file)
    stages: list[str] = []
    result = build_dataset(
        corpus,
        tmp_path,
        vocab_size=VOCAB,
        val_docs=4,
        progress=lambda stage, done, total: stages.append(stage),
    )
    assert result.built
    assert result.splits["val"].documents == 4
    assert list(result.splits) == ["val", "train"]
    assert "training the tokenizer" in stages and "tokenizing" in stages
    again = build_dataset(corpus, tmp_path, vocab_size=VOCAB, val_docs=4)
    assert not again.built
    with pytest.raises(PgolfInputError, match="different dataset"):
        build_dataset(corpus, tmp_path, vocab_size=VOCAB, val_docs=5)


def test_build_builtin_and_prove_its_bytes(invoke: Invoke, tmp_path: Path) -> None:
    assert (DEFAULT_VOCAB_SIZE, DEFAULT_VAL_DOCS, MAX_SHARD_TOKENS) == (1024, 1000, 10**8)
    dataset = build_builtin(tmp_path, vocab_size=512)
    expected_dataset, model = dataset_paths(tmp_path, "builtin_sp512")
    assert dataset == expected_dataset
    manifest = json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))
    corpus = builtin_corpus()
    assert manifest["source"] == corpus.source
    assert manifest["splits"]["val"]["documents"] == DEFAULT_VAL_DOCS
    assert 150_000 < manifest["splits"]["val"]["bytes"] < 500_000
    assert manifest["splits"]["val"]["lut_bytes"] == manifest["splits"]["val"]["bytes"]
    assert build_builtin(tmp_path, vocab_size=512) == dataset

    proof = invoke("data", "check-bytes", model, "--format", "json")
    assert proof.exit_code == 0, proof.output
    report = json.loads(proof.stdout)
    assert report["ok"] and report["documents"] == len(corpus.documents)
    assert report["utf8_bytes"] == corpus.utf8_bytes == report["lut_bytes"]
