"""Dataset names: pgolf's built-in ``builtin_sp<V>`` and the published ``fineweb10B_sp<V>``.

Kept apart from the builders so the runner and the packager can read names without loading
sentencepiece.
"""

from __future__ import annotations

import re

_BUILTIN = re.compile(r"builtin_sp(\d+)")
_OFFICIAL = re.compile(r"fineweb10B_sp(\d+)")
_VOCAB_SUFFIX = re.compile(r"_sp(\d+)$")


def builtin_name(vocab_size: int) -> str:
    return f"builtin_sp{vocab_size}"


def official_name(vocab_size: int) -> str:
    return f"fineweb10B_sp{vocab_size}"


def builtin_vocab_size(dataset: str) -> int | None:
    """The vocabulary size of a built-in dataset name (``builtin_sp<V>``), which pgolf can build
    itself; None for any other dataset."""
    match = _BUILTIN.fullmatch(dataset)
    return int(match[1]) if match else None


def official_vocab_size(dataset: str) -> int | None:
    """The vocabulary size of a published dataset name (``fineweb10B_sp<V>``), else None."""
    match = _OFFICIAL.fullmatch(dataset)
    return int(match[1]) if match else None


def vocab_size_in_name(dataset: str) -> int | None:
    """The ``_sp<V>`` suffix any dataset name may carry."""
    match = _VOCAB_SUFFIX.search(dataset)
    return int(match[1]) if match else None


def tokenizer_file(dataset: str) -> str:
    """The tokenizer model's file name: published datasets come with ``fineweb_<V>_bpe.model``,
    built ones share the dataset's name."""
    vocab = official_vocab_size(dataset)
    return f"fineweb_{vocab}_bpe.model" if vocab is not None else f"{dataset}.model"
