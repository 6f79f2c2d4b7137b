"""Fixtures for the template tests: the template module and a tiny dataset built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import torch
from template_helpers import (
    encode_stream,
    load_template,
    make_documents,
    train_tokenizer,
    write_shard,
)


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """The in-process models are tiny: a second intra-op thread only adds contention, which on a
    busy 2-core machine makes these tests several times slower. Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tg() -> ModuleType:
    return load_template()


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 512-piece tokenizer and shards: validation = the first documents, two train shards."""
    root = tmp_path_factory.mktemp("data")
    docs = make_documents(6000, seed=1)
    sp = train_tokenizer(docs, root / "tok512", 512)
    data_dir = root / "datasets" / "tiny_sp512"
    data_dir.mkdir(parents=True)
    val = encode_stream(sp, docs[:300])
    train = encode_stream(sp, docs[300:])
    write_shard(data_dir / "fineweb_val_000000.bin", val)
    half = len(train) // 2
    write_shard(data_dir / "fineweb_train_000000.bin", train[:half])
    write_shard(data_dir / "fineweb_train_000001.bin", train[half:])
    return {
        "data": data_dir,
        "tokenizer": root / "tok512.model",
        "val_utf8_bytes": sum(len(doc.encode("utf-8")) for doc in docs[:300]),
    }
