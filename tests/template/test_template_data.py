"""Shards, the training stream and the distributed loader."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from template_helpers import write_shard


def test_shard_round_trip(tg: ModuleType, tmp_path: Path) -> None:
    tokens = np.array([1, 5, 65535, 0, 300, 1, 7], dtype=np.uint16)
    path = tmp_path / "fineweb_train_000000.bin"
    write_shard(path, tokens)
    assert path.stat().st_size == 1024 + 2 * len(tokens)
    assert tg.shard_token_count(path) == len(tokens)
    np.testing.assert_array_equal(tg.load_shard(path), tokens)


def test_truncated_shard_names_the_file(tg: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "fineweb_val_000000.bin"
    write_shard(path, np.arange(100, dtype=np.uint16))
    path.write_bytes(path.read_bytes()[:-2])  # one token missing
    with pytest.raises(tg.ShardError, match=r"fineweb_val_000000\.bin.*1222 bytes.*100 tokens"):
        tg.load_shard(path)


def test_bad_magic_and_short_file(tg: ModuleType, tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    write_shard(bad, np.arange(4, dtype=np.uint16))
    data = bytearray(bad.read_bytes())
    data[0] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(tg.ShardError, match=r"bad\.bin: bad magic"):
        tg.shard_token_count(bad)
    short = tmp_path / "short.bin"
    short.write_bytes(b"\0" * 100)
    with pytest.raises(tg.ShardError, match=r"short\.bin"):
        tg.shard_token_count(short)


def test_val_glob_skips_byte_sidecars(tg: ModuleType, tmp_path: Path) -> None:
    for name in (
        "fineweb_val_000001.bin",
        "fineweb_val_000000.bin",
        "fineweb_val_bytes_000000.bin",
    ):
        write_shard(tmp_path / name, np.arange(3, dtype=np.uint16))
    names = [p.name for p in tg.list_shards(tmp_path, "val")]
    assert names == ["fineweb_val_000000.bin", "fineweb_val_000001.bin"]


def test_validation_cap(tg: ModuleType, tmp_path: Path) -> None:
    write_shard(tmp_path / "fineweb_val_000000.bin", np.arange(10, dtype=np.uint16))
    write_shard(tmp_path / "fineweb_val_000001.bin", np.arange(10, 20, dtype=np.uint16))
    paths = tg.list_shards(tmp_path, "val")
    assert tg.load_validation_tokens(paths).tolist() == list(range(20))
    assert tg.load_validation_tokens(paths, max_tokens=12).tolist() == list(range(12))


def test_stream_wraps_across_shards(tg: ModuleType, tmp_path: Path) -> None:
    write_shard(tmp_path / "fineweb_train_000000.bin", np.arange(5, dtype=np.uint16))
    write_shard(tmp_path / "fineweb_train_000001.bin", np.arange(5, 8, dtype=np.uint16))
    stream = tg.TokenStream(tg.list_shards(tmp_path, "train"))
    assert stream.take(6).tolist() == [0, 1, 2, 3, 4, 5]
    assert stream.take(5).tolist() == [6, 7, 0, 1, 2]


def test_loader_splits_like_one_process(tg: ModuleType, tmp_path: Path) -> None:
    """Two ranks with 4 micro-steps see exactly the micro-batches one process sees with 8,
    as disjoint shares, and targets are inputs shifted by one."""
    write_shard(tmp_path / "fineweb_train_000000.bin", np.arange(5000, dtype=np.uint16) % 997)
    paths = tg.list_shards(tmp_path, "train")
    cpu = torch.device("cpu")
    global_tokens, seq_len = 256, 16

    one = tg.DistributedTokenLoader(paths, 0, 1, cpu)
    single = [one.next_batch(global_tokens, seq_len, 8) for _ in range(8)]
    ranks = [tg.DistributedTokenLoader(paths, r, 2, cpu) for r in range(2)]
    per_rank = [
        [loader.next_batch(global_tokens, seq_len, 4) for _ in range(4)] for loader in ranks
    ]
    interleaved = [per_rank[m % 2][m // 2] for m in range(8)]
    for (x1, y1), (x2, y2) in zip(single, interleaved, strict=True):
        assert x1.shape == (2, seq_len)
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
        assert torch.equal(x1.flatten()[1:], y1.flatten()[:-1])
    # The two ranks' inputs at one micro-step do not overlap in the stream.
    x_a = per_rank[0][0][0].flatten().tolist()
    x_b = per_rank[1][0][0].flatten().tolist()
    assert x_a[0] == 0 and x_b[0] == global_tokens // 8 + 1
