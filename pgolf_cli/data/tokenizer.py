"""The sentencepiece tokenizer: training with the challenge's settings, loading, byte LUTs.

The byte LUTs are how the challenge counts the bytes that val_bpb divides by (docs/challenge.md).
For token ``t`` after token ``p``::

    bytes(t) = base_bytes[t] + (has_leading_space[t] and not is_boundary[p])

Control, unknown and unused pieces count 0 bytes and are boundaries; byte-fallback pieces
``<0xNN>`` count 1; every other piece counts the UTF-8 length of its text without a leading
"▁", and the "▁" counts as one space byte unless the previous token is a boundary (so a space
right after BOS is not counted). Each document in a shard starts with BOS.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sentencepiece as spm

from pgolf_cli.errors import PgolfInputError

PAD_ID = 0
BOS_ID = 1
EOS_ID = 2
UNK_ID = 3

#: Special pieces plus the 256 byte-fallback pieces: a vocabulary must be larger than this.
RESERVED_PIECES = 4 + 256
#: Shards store ids as uint16.
MAX_VOCAB_SIZE = 65536

#: The challenge's training settings (docs/challenge.md), passed to SentencePieceTrainer.
TRAINER_SETTINGS: dict[str, Any] = {
    "model_type": "bpe",
    "byte_fallback": True,
    "split_digits": True,
    "normalization_rule_name": "nmt_nfkc",
    "add_dummy_prefix": False,
    "pad_id": PAD_ID,
    "bos_id": BOS_ID,
    "eos_id": EOS_ID,
    "unk_id": UNK_ID,
    # sentencepiece's default collapses runs of spaces and strips the ends of the text; the
    # LUTs would then count fewer bytes than the text has, so whitespace is kept as it is.
    "remove_extra_whitespaces": False,
}

_SPACE = "\u2581"
# sentencepiece drops training "sentences" longer than this many bytes; documents are long.
_MAX_SENTENCE_BYTES = 1 << 20


def train_tokenizer(documents: Sequence[str], vocab_size: int, model_prefix: Path) -> Path:
    """Train a BPE model on ``documents``; writes ``<prefix>.model`` and ``<prefix>.vocab``.

    The same documents and size give the same model bytes: the model is taken from memory
    rather than written by sentencepiece, which would store the output path inside it.
    """
    check_vocab_size(vocab_size)
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(documents),
            model_writer=model,
            vocab_size=vocab_size,
            max_sentence_length=_MAX_SENTENCE_BYTES,
            minloglevel=2,
            **TRAINER_SETTINGS,
        )
    except RuntimeError as problem:
        # sentencepiece reports a size the text cannot fill, or one too small for the text's
        # characters, as a RuntimeError whose message says which.
        raise PgolfInputError(
            f"vocab size {vocab_size}",
            f"sentencepiece could not train on this text ({_first_line(problem)})",
            "Change --vocab-size as sentencepiece's reason says, or use more text",
        ) from None
    model_path = model_prefix.with_name(model_prefix.name + ".model")
    model_path.write_bytes(model.getvalue())
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    # The .vocab file in sentencepiece's layout (piece, tab, score) is for people to read.
    lines = (
        f"{processor.IdToPiece(i)}\t{processor.GetScore(i):g}\n"
        for i in range(processor.GetPieceSize())
    )
    model_prefix.with_name(model_prefix.name + ".vocab").write_text(
        "".join(lines), encoding="utf-8"
    )
    return model_path


def check_vocab_size(vocab_size: int) -> None:
    if not RESERVED_PIECES < vocab_size <= MAX_VOCAB_SIZE:
        raise PgolfInputError(
            f"vocab size {vocab_size}",
            f"must be more than {RESERVED_PIECES} (4 special and 256 byte pieces) and at most "
            f"{MAX_VOCAB_SIZE} (ids are stored as uint16)",
            "Pick a size such as 1024",
        )


def load_tokenizer(path: Path) -> spm.SentencePieceProcessor:
    """Load a sentencepiece model file, with errors that name the file."""
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "no such file"
        raise PgolfInputError(str(path), problem, "Pass a sentencepiece .model file")
    try:
        data = path.read_bytes()
    except OSError as problem:
        raise PgolfInputError(
            str(path), f"cannot be read ({problem.strerror or problem})", "Check the permissions"
        ) from None
    processor = spm.SentencePieceProcessor()
    try:
        processor.LoadFromSerializedProto(data)
    except (RuntimeError, OSError, ValueError) as problem:
        raise PgolfInputError(
            str(path),
            f"is not a sentencepiece model ({_first_line(problem)})",
            "Pass the .model file that sentencepiece wrote (not the .vocab)",
        ) from None
    if processor.GetPieceSize() > MAX_VOCAB_SIZE:
        raise PgolfInputError(
            str(path),
            f"has {processor.GetPieceSize()} pieces, more than uint16 token ids can hold",
            f"Use a tokenizer with at most {MAX_VOCAB_SIZE} pieces",
        )
    return processor


def _first_line(problem: BaseException) -> str:
    text = str(problem).strip()
    return text.splitlines()[0] if text else type(problem).__name__


def encode(processor: spm.SentencePieceProcessor, documents: Sequence[str]) -> list[list[int]]:
    """Token ids of each document (no BOS)."""
    ids: list[list[int]] = processor.encode(list(documents), out_type=int)
    return ids


@dataclass(frozen=True)
class ByteLuts:
    """The three lookup tables, indexed by token id."""

    base_bytes: npt.NDArray[np.int64]
    has_leading_space: npt.NDArray[np.bool_]
    is_boundary: npt.NDArray[np.bool_]

    def token_bytes(self, ids: Iterable[int], previous: int = BOS_ID) -> npt.NDArray[np.int64]:
        """Bytes each token counts for, the first one following ``previous``."""
        tokens = np.fromiter(ids, dtype=np.int64)
        if tokens.size == 0:
            return np.zeros(0, dtype=np.int64)
        before = np.empty_like(tokens)
        before[0] = previous
        before[1:] = tokens[:-1]
        space = self.has_leading_space[tokens] & ~self.is_boundary[before]
        counted: npt.NDArray[np.int64] = self.base_bytes[tokens] + space.astype(np.int64)
        return counted

    def document_bytes(self, ids: Iterable[int]) -> int:
        """Bytes of one document as a shard holds it: BOS, then ``ids``."""
        return int(self.token_bytes(ids, previous=BOS_ID).sum())


def build_luts(processor: spm.SentencePieceProcessor) -> ByteLuts:
    size = processor.GetPieceSize()
    base = np.zeros(size, dtype=np.int64)
    space = np.zeros(size, dtype=np.bool_)
    boundary = np.zeros(size, dtype=np.bool_)
    for token in range(size):
        if processor.IsControl(token) or processor.IsUnknown(token) or processor.IsUnused(token):
            boundary[token] = True
            continue
        if processor.IsByte(token):
            base[token] = 1
            continue
        piece: str = processor.IdToPiece(token)
        if piece.startswith(_SPACE):
            space[token] = True
            piece = piece[1:]
        base[token] = len(piece.encode("utf-8"))
    return ByteLuts(base_bytes=base, has_leading_space=space, is_boundary=boundary)
