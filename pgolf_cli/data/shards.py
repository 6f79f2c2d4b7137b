"""Token shards in the challenge's format (docs/pipeline.md, "Data layout").

A shard is 256 little-endian int32 header words (magic 20240520, version 1, the token count,
then zeros) followed by that many little-endian uint16 token ids, so its size is
1024 + 2 × tokens bytes. Files are named ``fineweb_{train,val}_NNNNNN.bin``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pgolf_cli.errors import PgolfInputError

MAGIC = 20240520
VERSION = 1
HEADER_WORDS = 256
HEADER_BYTES = HEADER_WORDS * 4
#: Tokens per shard in the published dataset.
MAX_SHARD_TOKENS = 10**8
SPLITS = ("train", "val")

_HEADER_DTYPE = np.dtype("<i4")
_TOKEN_DTYPE = np.dtype("<u2")
_NAME = re.compile(r"fineweb_(train|val)_(\d{6})\.bin")

_FIX_REBUILD = "Rebuild or download the dataset again"


def shard_name(split: str, index: int) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    if not 0 <= index <= 999_999:
        raise ValueError(f"shard index {index} does not fit six digits")
    return f"fineweb_{split}_{index:06d}.bin"


def is_shard_name(name: str, split: str | None = None) -> bool:
    """Whether ``name`` is a shard file name (of ``split``, when given).

    Side files such as the CaseOps ``fineweb_val_bytes_NNNNNN.bin`` are not shards.
    """
    match = _NAME.fullmatch(name)
    return match is not None and (split is None or match.group(1) == split)


def list_shards(dataset_dir: Path, split: str) -> list[Path]:
    """The split's shard files in index order."""
    return sorted(p for p in dataset_dir.glob(f"fineweb_{split}_*.bin") if is_shard_name(p.name))


def write_shard(path: Path, tokens: npt.ArrayLike) -> int:
    """Write one shard; returns the number of tokens written."""
    ids = np.asarray(tokens)
    if ids.ndim != 1:
        raise ValueError("a shard holds a flat sequence of token ids")
    if ids.size and (ids.min() < 0 or ids.max() > np.iinfo(np.uint16).max):
        raise ValueError("token ids must fit uint16 (0..65535)")
    if ids.size > np.iinfo(np.int32).max:
        raise ValueError("a shard's token count must fit int32")
    header = np.zeros(HEADER_WORDS, dtype=_HEADER_DTYPE)
    header[:3] = (MAGIC, VERSION, ids.size)
    with path.open("wb") as handle:
        handle.write(header.tobytes())
        handle.write(ids.astype(_TOKEN_DTYPE, copy=False).tobytes())
    return int(ids.size)


def read_header(path: Path) -> int:
    """Check a shard's header and size; returns its token count."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            raw = handle.read(HEADER_BYTES)
    except FileNotFoundError:
        raise PgolfInputError(str(path), "no such shard", _FIX_REBUILD) from None
    except OSError as problem:
        raise PgolfInputError(
            str(path), f"cannot be read ({problem.strerror or problem})", "Check the permissions"
        ) from None
    if len(raw) < HEADER_BYTES:
        raise PgolfInputError(
            str(path),
            f"is {size} bytes, shorter than the {HEADER_BYTES}-byte shard header",
            _FIX_REBUILD,
        )
    header = np.frombuffer(raw, dtype=_HEADER_DTYPE)
    if header[0] != MAGIC:
        raise PgolfInputError(
            str(path),
            f"is not a token shard (magic number {int(header[0])}, expected {MAGIC})",
            "Pass a fineweb_{train,val}_NNNNNN.bin file",
        )
    if header[1] != VERSION:
        raise PgolfInputError(
            str(path),
            f"has shard format version {int(header[1])}; only version {VERSION} is supported",
            _FIX_REBUILD,
        )
    tokens = int(header[2])
    if tokens < 0:
        raise PgolfInputError(str(path), f"has a negative token count ({tokens})", _FIX_REBUILD)
    if header[3:].any():
        word = int(np.flatnonzero(header[3:])[0]) + 3
        raise PgolfInputError(
            str(path), f"header word {word} is {int(header[word])}, expected 0", _FIX_REBUILD
        )
    expected = HEADER_BYTES + 2 * tokens
    if size != expected:
        what = "truncated" if size < expected else "has extra bytes"
        raise PgolfInputError(
            str(path),
            f"is {what}: {size} bytes, but the header's {tokens} tokens need {expected}",
            _FIX_REBUILD,
        )
    return tokens


class ShardWriter:
    """Writes documents, each as BOS followed by its ids, into consecutive shards of a split.

    A document that does not fit the current shard continues in the next one, as in the
    published dataset, so every shard but the last holds exactly ``max_tokens`` tokens.
    """

    def __init__(self, directory: Path, split: str, *, bos_id: int, max_tokens: int) -> None:
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        self.directory = directory
        self.split = split
        self.bos_id = bos_id
        self.max_tokens = max_tokens
        self.paths: list[Path] = []
        self.tokens = 0
        self.documents = 0
        self._pending: list[npt.NDArray[np.uint16]] = []
        self._pending_tokens = 0

    def add(self, ids: Iterable[int]) -> None:
        document = np.fromiter(ids, dtype=np.int64)
        sequence = np.empty(document.size + 1, dtype=np.uint16)
        sequence[0] = self.bos_id
        sequence[1:] = document
        self.documents += 1
        while sequence.size:
            room = self.max_tokens - self._pending_tokens
            self._pending.append(sequence[:room])
            self._pending_tokens += min(room, sequence.size)
            sequence = sequence[room:]
            if self._pending_tokens == self.max_tokens:
                self._flush()

    def close(self) -> list[Path]:
        """Write what is left; returns every shard written."""
        if self._pending_tokens or not self.paths:
            self._flush()
        return self.paths

    def _flush(self) -> None:
        path = self.directory / shard_name(self.split, len(self.paths))
        pending = self._pending
        data = np.concatenate(pending) if pending else np.zeros(0, dtype=np.uint16)
        self.tokens += write_shard(path, data)
        self.paths.append(path)
        self._pending = []
        self._pending_tokens = 0
