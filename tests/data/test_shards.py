"""The shard format: round trip, the writer's splitting, and every validation error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pgolf_cli.data.shards import (
    HEADER_BYTES,
    MAGIC,
    ShardWriter,
    is_shard_name,
    list_shards,
    read_header,
    shard_name,
    write_shard,
)
from pgolf_cli.errors import PgolfInputError

ShardIds = Callable[[Path], list[int]]


def _header(path: Path) -> np.ndarray:
    return np.fromfile(path, dtype="<i4", count=256)


def test_round_trip_and_exact_layout(tmp_path: Path, shard_ids: ShardIds) -> None:
    path = tmp_path / "fineweb_val_000000.bin"
    ids = [1, 5, 65535, 0, 1023]
    assert write_shard(path, ids) == 5
    raw = path.read_bytes()
    assert len(raw) == HEADER_BYTES + 2 * len(ids)
    header = _header(path)
    assert list(header[:3]) == [20240520, 1, 5]
    assert not header[3:].any()
    # Little-endian uint16 payload right after the header.
    assert raw[HEADER_BYTES : HEADER_BYTES + 6] == bytes([1, 0, 5, 0, 0xFF, 0xFF])
    assert read_header(path) == 5
    assert shard_ids(path) == ids


def test_empty_shard(tmp_path: Path) -> None:
    path = tmp_path / "s.bin"
    write_shard(path, [])
    assert path.stat().st_size == HEADER_BYTES
    assert read_header(path) == 0


@pytest.mark.parametrize("bad", [[-1], [65536]])
def test_write_rejects_ids_outside_uint16(tmp_path: Path, bad: list[int]) -> None:
    with pytest.raises(ValueError, match="uint16"):
        write_shard(tmp_path / "s.bin", bad)


def test_names() -> None:
    assert shard_name("train", 0) == "fineweb_train_000000.bin"
    assert shard_name("val", 12) == "fineweb_val_000012.bin"
    assert is_shard_name("fineweb_val_000003.bin", "val")
    assert not is_shard_name("fineweb_val_000003.bin", "train")
    assert not is_shard_name("fineweb_val_bytes_000000.bin")
    assert not is_shard_name("fineweb_val_0001.bin")
    with pytest.raises(ValueError):
        shard_name("test", 0)


def test_list_shards_sorted_and_skips_side_files(tmp_path: Path) -> None:
    for name in (
        "fineweb_val_000001.bin",
        "fineweb_val_000000.bin",
        "fineweb_val_bytes_000000.bin",
    ):
        write_shard(tmp_path / name, [1])
    assert [p.name for p in list_shards(tmp_path, "val")] == [
        "fineweb_val_000000.bin",
        "fineweb_val_000001.bin",
    ]
    assert list_shards(tmp_path, "train") == []


def _corrupt(
    tmp_path: Path, word: int | None = None, value: int = 0, size: int | None = None
) -> Path:
    path = tmp_path / "fineweb_train_000000.bin"
    write_shard(path, [1, 2, 3, 4])
    data = bytearray(path.read_bytes())
    if word is not None:
        data[word * 4 : word * 4 + 4] = np.array([value], dtype="<i4").tobytes()
    if size is not None:
        data = data[:size] if size < len(data) else data + bytes(size - len(data))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"word": 0, "value": 1234}, f"magic number 1234, expected {MAGIC}"),
        ({"word": 1, "value": 2}, "format version 2"),
        ({"word": 2, "value": -5}, "negative token count"),
        ({"word": 7, "value": 9}, "header word 7 is 9, expected 0"),
        ({"size": 100}, "shorter than the 1024-byte shard header"),
        ({"size": HEADER_BYTES + 6}, "truncated: 1030 bytes, but the header's 4 tokens need 1032"),
        ({"size": HEADER_BYTES + 10}, "has extra bytes: 1034 bytes"),
        ({"word": 2, "value": 9}, "truncated"),
    ],
)
def test_validation_errors_name_file_and_problem(
    tmp_path: Path, change: dict[str, int], problem: str
) -> None:
    path = _corrupt(tmp_path, **change)
    with pytest.raises(PgolfInputError) as caught:
        read_header(path)
    assert caught.value.path == str(path)
    assert problem in caught.value.problem
    assert str(path) in str(caught.value)


def test_missing_shard(tmp_path: Path) -> None:
    with pytest.raises(PgolfInputError, match="no such shard"):
        read_header(tmp_path / "fineweb_val_000000.bin")


def test_writer_puts_bos_before_each_document_and_fills_shards(
    tmp_path: Path, shard_ids: ShardIds
) -> None:
    writer = ShardWriter(tmp_path, "train", bos_id=1, max_tokens=4)
    documents = [[10, 11, 12], [20], [30, 31, 32, 33]]
    for doc in documents:
        writer.add(doc)
    paths = writer.close()
    assert [p.name for p in paths] == [f"fineweb_train_{i:06d}.bin" for i in range(3)]
    sizes = [read_header(p) for p in paths]
    # Every shard but the last is full; documents run on across shard boundaries.
    assert sizes == [4, 4, 3]
    stream = [token for p in paths for token in shard_ids(p)]
    assert stream == [1, 10, 11, 12, 1, 20, 1, 30, 31, 32, 33]
    assert writer.tokens == 11
    assert writer.documents == 3


def test_writer_with_no_documents_writes_one_empty_shard(tmp_path: Path) -> None:
    paths = ShardWriter(tmp_path, "val", bos_id=1, max_tokens=10).close()
    assert [p.name for p in paths] == ["fineweb_val_000000.bin"]
    assert read_header(paths[0]) == 0


def test_writer_exact_multiple_leaves_no_empty_shard(tmp_path: Path) -> None:
    writer = ShardWriter(tmp_path, "val", bos_id=1, max_tokens=3)
    writer.add([5, 6])
    writer.add([7, 8])
    assert [read_header(p) for p in writer.close()] == [3, 3]
