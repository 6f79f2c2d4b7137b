"""``pgolf data build``: a tokenizer and train/val shards from the built-in corpus or a text file.

Layout (docs/pipeline.md)::

    DATA_DIR/datasets/<name>/fineweb_{train,val}_NNNNNN.bin   shards, validation = first documents
    DATA_DIR/datasets/<name>/manifest.json                    what was built, from what
    DATA_DIR/tokenizers/<name>.model, <name>.vocab            the sentencepiece BPE model

Everything is written into a staging folder beside the dataset first and then renamed into
place: the tokenizer files, then the dataset folder. An interrupted build leaves the previous
dataset or none, never half of one; the manifest records the tokenizer's sha256, so a dataset
renamed in after a tokenizer from another build is detected.

The tokenizer is trained on the training documents only, so validation text never shapes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sentencepiece as spm

from pgolf_cli import __version__
from pgolf_cli.data.corpus import Corpus, builtin_corpus
from pgolf_cli.data.names import builtin_name, tokenizer_file
from pgolf_cli.data.shards import MAX_SHARD_TOKENS, ShardWriter, read_header
from pgolf_cli.data.tokenizer import (
    BOS_ID,
    TRAINER_SETTINGS,
    build_luts,
    check_vocab_size,
    encode,
    load_tokenizer,
    train_tokenizer,
)
from pgolf_cli.errors import PgolfInputError

DEFAULT_VOCAB_SIZE = 1024
#: About 260 KB of the built-in corpus (its documents average ~290 bytes).
DEFAULT_VAL_DOCS = 1000
MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA_VERSION = 1

#: ``progress(stage, done, total)``; ``total`` is None while the amount of work is unknown.
ProgressCallback = Callable[[str, int, int | None], None]

STAGE_CORPUS = "reading the corpus"
STAGE_TOKENIZER = "training the tokenizer"
STAGE_TOKENIZE = "tokenizing"

_BATCH_DOCUMENTS = 512


def dataset_name(vocab_size: int) -> str:
    return builtin_name(vocab_size)


def dataset_paths(data_dir: Path, name: str) -> tuple[Path, Path]:
    """The dataset folder and the tokenizer model of dataset ``name`` under ``data_dir``.

    A built dataset's tokenizer shares its name; the published ``fineweb10B_sp<V>`` datasets
    come with ``fineweb_<V>_bpe.model``.
    """
    return data_dir / "datasets" / name, data_dir / "tokenizers" / tokenizer_file(name)


@dataclass(frozen=True)
class SplitSummary:
    documents: int
    tokens: int
    utf8_bytes: int
    lut_bytes: int
    shards: tuple[str, ...]


@dataclass(frozen=True)
class BuildResult:
    name: str
    dataset_dir: Path
    tokenizer_path: Path
    manifest: dict[str, Any]
    #: False when an identical dataset was already there and nothing was written.
    built: bool

    @property
    def splits(self) -> dict[str, SplitSummary]:
        """Validation first: it holds the first documents."""
        recorded = self.manifest["splits"]
        return {
            split: SplitSummary(
                documents=recorded[split]["documents"],
                tokens=recorded[split]["tokens"],
                utf8_bytes=recorded[split]["bytes"],
                lut_bytes=recorded[split]["lut_bytes"],
                shards=tuple(recorded[split]["shards"]),
            )
            for split in ("val", "train")
        }


def build_builtin(
    data_dir: Path, vocab_size: int = DEFAULT_VOCAB_SIZE, progress: ProgressCallback | None = None
) -> Path:
    """Build (or find up to date) ``builtin_sp<vocab_size>`` from the built-in corpus.

    Returns the dataset folder. An existing different dataset of that name is an error.
    """
    if progress is not None:
        progress(STAGE_CORPUS, 0, None)
    corpus = builtin_corpus()
    if progress is not None:
        progress(STAGE_CORPUS, 1, 1)
    result = build_dataset(corpus, data_dir, vocab_size=vocab_size, progress=progress)
    return result.dataset_dir


def build_dataset(
    corpus: Corpus,
    data_dir: Path,
    *,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    val_docs: int = DEFAULT_VAL_DOCS,
    force: bool = False,
    max_shard_tokens: int = MAX_SHARD_TOKENS,
    progress: ProgressCallback | None = None,
) -> BuildResult:
    """Train the tokenizer and write the shards and manifest of ``builtin_sp<vocab_size>``."""
    check_vocab_size(vocab_size)
    documents = corpus.documents
    if len(documents) < 2:
        raise PgolfInputError(
            str(corpus.source.get("path", "the corpus")),
            f"holds {len(documents)} document; a dataset needs at least 2 (validation and "
            "training each need one)",
            "Add documents, separated by blank lines (or one JSON object per line in .jsonl)",
        )
    if not 1 <= val_docs < len(documents):
        raise PgolfInputError(
            f"--val-docs {val_docs}",
            f"must be at least 1 and leave training documents (the text has {len(documents)})",
            f"Pass a number from 1 to {len(documents) - 1}",
        )
    if max_shard_tokens < 1:
        raise ValueError("max_shard_tokens must be at least 1")

    name = dataset_name(vocab_size)
    dataset_dir, tokenizer_path = dataset_paths(data_dir, name)
    recipe = {
        "source_sha256": corpus.source["sha256"],
        "vocab_size": vocab_size,
        "val_docs": val_docs,
        "max_shard_tokens": max_shard_tokens,
        "trainer_settings": dict(TRAINER_SETTINGS),
        "sentencepiece": spm.__version__,
    }
    existing = _existing_dataset(dataset_dir, tokenizer_path)
    if existing is not None:
        manifest, difference = existing
        if manifest is not None and difference is None and _recipe(manifest) == recipe:
            return BuildResult(name, dataset_dir, tokenizer_path, manifest, built=False)
        if not force:
            reason = difference or _recipe_difference(manifest or {}, recipe)
            raise PgolfInputError(
                str(dataset_dir if dataset_dir.exists() else tokenizer_path),
                f"already holds a different dataset ({reason})",
                "Pass --force to replace it, or pick another --out folder",
            )

    datasets_root = dataset_dir.parent
    try:
        datasets_root.mkdir(parents=True, exist_ok=True)
        tokenizer_path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=datasets_root))
    except OSError as problem:
        raise PgolfInputError(
            str(data_dir),
            f"cannot create the dataset folders ({problem.strerror or problem})",
            "Check the path and its permissions, or pass another --out folder",
        ) from None
    try:
        manifest = _write_dataset(
            staging,
            corpus,
            name=name,
            vocab_size=vocab_size,
            val_docs=val_docs,
            max_shard_tokens=max_shard_tokens,
            progress=progress,
        )
        _move_into_place(staging, dataset_dir, tokenizer_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(name, dataset_dir, tokenizer_path, manifest, built=True)


def _write_dataset(
    staging: Path,
    corpus: Corpus,
    *,
    name: str,
    vocab_size: int,
    val_docs: int,
    max_shard_tokens: int,
    progress: ProgressCallback | None,
) -> dict[str, Any]:
    documents = corpus.documents
    splits = {"val": documents[:val_docs], "train": documents[val_docs:]}

    if progress is not None:
        progress(STAGE_TOKENIZER, 0, None)
    model_path = train_tokenizer(splits["train"], vocab_size, staging / "tokenizer")
    if progress is not None:
        progress(STAGE_TOKENIZER, 1, 1)
    processor = load_tokenizer(model_path)
    luts = build_luts(processor)

    shard_dir = staging / "dataset"
    shard_dir.mkdir()
    summaries: dict[str, dict[str, Any]] = {}
    done = 0
    for split, split_documents in splits.items():
        writer = ShardWriter(shard_dir, split, bos_id=BOS_ID, max_tokens=max_shard_tokens)
        lut_bytes = 0
        for batch in _batches(split_documents):
            for ids in encode(processor, batch):
                writer.add(ids)
                lut_bytes += luts.document_bytes(ids)
            done += len(batch)
            if progress is not None:
                progress(STAGE_TOKENIZE, done, len(documents))
        shards = writer.close()
        summaries[split] = {
            "documents": writer.documents,
            "tokens": writer.tokens,
            "bytes": sum(len(doc.encode("utf-8")) for doc in split_documents),
            "lut_bytes": lut_bytes,
            "shards": [path.name for path in shards],
        }

    manifest: dict[str, Any] = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "name": name,
        "created_by": f"pgolf {__version__}",
        "source": corpus.source,
        "vocab_size": vocab_size,
        "bos_id": BOS_ID,
        "val_docs": val_docs,
        "max_shard_tokens": max_shard_tokens,
        "tokenizer": {
            "model": f"tokenizers/{name}.model",
            "vocab": f"tokenizers/{name}.vocab",
            "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
            "trained_on": "train",
            "trainer_settings": dict(TRAINER_SETTINGS),
            "sentencepiece": spm.__version__,
        },
        "splits": summaries,
    }
    (shard_dir / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


def _batches(documents: Sequence[str]) -> list[Sequence[str]]:
    return [
        documents[start : start + _BATCH_DOCUMENTS]
        for start in range(0, len(documents), _BATCH_DOCUMENTS)
    ]


def _move_into_place(staging: Path, dataset_dir: Path, tokenizer_path: Path) -> None:
    # The previous dataset moves into the staging folder (deleted with it) rather than being
    # deleted first, so a failure before the new one is in place can put it back.
    previous = staging / "previous"
    if dataset_dir.exists():
        os.rename(dataset_dir, previous)
    try:
        for suffix in (".model", ".vocab"):
            os.replace(staging / f"tokenizer{suffix}", tokenizer_path.with_suffix(suffix))
        os.rename(staging / "dataset", dataset_dir)
    except OSError:
        if previous.exists() and not dataset_dir.exists():
            os.rename(previous, dataset_dir)
        raise


def read_manifest(dataset_dir: Path) -> dict[str, Any]:
    path = dataset_dir / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PgolfInputError(
            str(path), "no such file", "Build the dataset with `pgolf data build`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise PgolfInputError(
            str(path), f"cannot be read ({problem})", "Rebuild the dataset with --force"
        ) from None
    if not isinstance(manifest, dict):
        raise PgolfInputError(str(path), "is not a JSON object", "Rebuild the dataset with --force")
    return manifest


def _existing_dataset(
    dataset_dir: Path, tokenizer_path: Path
) -> tuple[dict[str, Any] | None, str | None] | None:
    """None when nothing is there; else the manifest (if readable) and what is wrong, if any."""
    if not dataset_dir.exists() and not tokenizer_path.exists():
        return None
    if not dataset_dir.exists():
        return None, f"a tokenizer {tokenizer_path.name} without its dataset folder"
    try:
        manifest = read_manifest(dataset_dir)
    except PgolfInputError as problem:
        return None, f"its manifest: {problem.problem}"
    try:
        expected_sha = manifest["tokenizer"]["sha256"]
        splits = manifest["splits"]
        if (
            not tokenizer_path.is_file()
            or hashlib.sha256(tokenizer_path.read_bytes()).hexdigest() != expected_sha
        ):
            return manifest, "the tokenizer is missing or is not the one the manifest names"
        for split, info in splits.items():
            tokens = sum(read_header(dataset_dir / shard) for shard in info["shards"])
            if tokens != info["tokens"]:
                return manifest, f"the {split} shards do not hold the tokens the manifest lists"
    except PgolfInputError as problem:
        return manifest, f"{Path(problem.path).name}: {problem.problem}"
    except (KeyError, TypeError, OSError):
        return manifest, "its manifest does not describe its files"
    return manifest, None


def _recipe(manifest: dict[str, Any]) -> dict[str, Any]:
    tokenizer = manifest.get("tokenizer", {})
    source = manifest.get("source", {})
    return {
        "source_sha256": source.get("sha256") if isinstance(source, dict) else None,
        "vocab_size": manifest.get("vocab_size"),
        "val_docs": manifest.get("val_docs"),
        "max_shard_tokens": manifest.get("max_shard_tokens"),
        "trainer_settings": tokenizer.get("trainer_settings")
        if isinstance(tokenizer, dict)
        else None,
        "sentencepiece": tokenizer.get("sentencepiece") if isinstance(tokenizer, dict) else None,
    }


_RECIPE_WORDS = {
    "source_sha256": "other text",
    "vocab_size": "another vocab size",
    "val_docs": "another --val-docs",
    "max_shard_tokens": "another shard size",
    "trainer_settings": "other tokenizer settings",
    "sentencepiece": "another sentencepiece version",
}


def _recipe_difference(manifest: dict[str, Any], recipe: dict[str, Any]) -> str:
    existing = _recipe(manifest)
    differences = [_RECIPE_WORDS[key] for key in recipe if existing.get(key) != recipe[key]]
    return "built from " + ", ".join(differences) if differences else "built differently"
