"""The tokenizer's training settings, loading errors, and the byte LUTs of records.md §6.3."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm

from pgolf_cli.data.check_bytes import check_bytes
from pgolf_cli.data.tokenizer import (
    BOS_ID,
    ByteLuts,
    build_luts,
    load_tokenizer,
    train_tokenizer,
)
from pgolf_cli.errors import PgolfInputError

SPACE = "\u2581"


def test_special_ids_and_vocabulary_size(processor: spm.SentencePieceProcessor) -> None:
    assert processor.GetPieceSize() == 512
    assert [processor.IdToPiece(i) for i in range(4)] == ["<pad>", "<s>", "</s>", "<unk>"]
    assert (processor.pad_id(), processor.bos_id(), processor.eos_id(), processor.unk_id()) == (
        0,
        1,
        2,
        3,
    )
    assert all(processor.IsControl(i) for i in (0, 1, 2))
    assert processor.IsUnknown(3)


def test_byte_fallback_pieces(processor: spm.SentencePieceProcessor) -> None:
    pieces = {processor.IdToPiece(i) for i in range(processor.GetPieceSize())}
    assert {f"<0x{b:02X}>" for b in range(256)} <= pieces
    # A character the vocabulary lacks becomes its UTF-8 bytes, never <unk>.
    ids = processor.encode("\U0001f600")
    assert [processor.IdToPiece(i) for i in ids] == ["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"]
    assert processor.decode(ids) == "\U0001f600"


def test_digits_are_split(processor: spm.SentencePieceProcessor) -> None:
    assert processor.encode("2024", out_type=str) == ["2", "0", "2", "4"]
    multi_digit = [
        processor.IdToPiece(i)
        for i in range(processor.GetPieceSize())
        if not processor.IsByte(i) and sum(c.isdigit() for c in processor.IdToPiece(i)) > 1
    ]
    assert multi_digit == []


def test_no_dummy_prefix_and_whitespace_kept(processor: spm.SentencePieceProcessor) -> None:
    first = processor.encode("return", out_type=str)[0]
    assert not first.startswith(SPACE)
    assert processor.decode(processor.encode("a  b   c")) == "a  b   c"


def test_nmt_nfkc_normalization(processor: spm.SentencePieceProcessor, trained_model: Path) -> None:
    assert processor.decode(processor.encode("\uff21\uff22\uff23 \ufb01")) == "ABC fi"
    # The rule's name is stored in the model's normalizer spec.
    assert b"nmt_nfkc" in trained_model.read_bytes()


def test_training_is_deterministic_and_writes_vocab(
    tmp_path: Path, builtin_docs: tuple[str, ...], trained_model: Path
) -> None:
    again = train_tokenizer(builtin_docs[:2000], 512, tmp_path / "again")
    assert again == tmp_path / "again.model"
    digest = hashlib.sha256(again.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(trained_model.read_bytes()).hexdigest()
    vocab = (tmp_path / "again.vocab").read_text(encoding="utf-8").splitlines()
    assert len(vocab) == 512
    assert vocab[1].split("\t")[0] == "<s>"


@pytest.mark.parametrize("size", [260, 65537])
def test_vocab_size_limits(tmp_path: Path, size: int) -> None:
    with pytest.raises(PgolfInputError, match="must be more than 260"):
        train_tokenizer(["some text"], size, tmp_path / "m")


def test_vocab_too_large_for_the_text(tmp_path: Path) -> None:
    with pytest.raises(PgolfInputError, match="Change --vocab-size"):
        train_tokenizer(["tiny text", "more tiny text"], 4000, tmp_path / "m")


def test_load_errors(tmp_path: Path, trained_model: Path) -> None:
    with pytest.raises(PgolfInputError, match="no such file"):
        load_tokenizer(tmp_path / "missing.model")
    with pytest.raises(PgolfInputError, match="is a directory"):
        load_tokenizer(tmp_path)
    garbage = tmp_path / "garbage.model"
    garbage.write_bytes(b"\xff\x00 not a model")
    with pytest.raises(PgolfInputError, match="is not a sentencepiece model"):
        load_tokenizer(garbage)
    assert load_tokenizer(trained_model).GetPieceSize() == 512


def test_lut_entries(processor: spm.SentencePieceProcessor) -> None:
    luts = build_luts(processor)
    for special in range(4):
        assert luts.base_bytes[special] == 0
        assert luts.is_boundary[special]
    byte_id = processor.PieceToId("<0xC3>")
    assert luts.base_bytes[byte_id] == 1
    assert not luts.is_boundary[byte_id]
    assert not luts.has_leading_space[byte_id]
    spaced = [i for i in range(4, 512) if processor.IdToPiece(i).startswith(SPACE)]
    assert spaced
    for token in spaced:
        piece = processor.IdToPiece(token)
        assert luts.has_leading_space[token]
        assert luts.base_bytes[token] == len(piece[1:].encode("utf-8"))
    # The bare "▁" piece counts only its space.
    bare = processor.PieceToId(SPACE)
    assert luts.base_bytes[bare] == 0 and luts.has_leading_space[bare]


@pytest.mark.parametrize(
    "text",
    [
        "the value of the function is returned to the caller",
        "Python 3.11.7 was released with 12345 changes in 2023",
        "café, naïve, Ωmega, 日本語 and an emoji \U0001f600 in one line",
        "tabs\tand\nnew lines  and  double  spaces",
    ],
)
def test_lut_total_equals_utf8_bytes(processor: spm.SentencePieceProcessor, text: str) -> None:
    ids = processor.encode(text)
    assert build_luts(processor).document_bytes(ids) == len(text.encode("utf-8"))


def test_space_after_bos_is_not_counted(processor: spm.SentencePieceProcessor) -> None:
    luts = build_luts(processor)
    ids = processor.encode(" the end")
    assert processor.IdToPiece(ids[0]).startswith(SPACE)
    after_bos = luts.token_bytes(ids, previous=BOS_ID)
    after_word = luts.token_bytes(ids, previous=processor.PieceToId("a"))
    assert after_word[0] == after_bos[0] + 1
    assert (after_word[1:] == after_bos[1:]).all()
    assert luts.document_bytes(ids) == len(b" the end") - 1


def test_check_bytes_passes_on_builtin_documents(
    processor: spm.SentencePieceProcessor, builtin_docs: tuple[str, ...]
) -> None:
    result = check_bytes(processor, build_luts(processor), builtin_docs[2000:2600])
    assert result.ok
    assert result.documents == 600
    assert (
        result.utf8_bytes
        == result.lut_bytes
        == sum(len(d.encode()) for d in builtin_docs[2000:2600])
    )


def test_wrong_lut_is_caught_with_the_pieces(processor: spm.SentencePieceProcessor) -> None:
    right = build_luts(processor)
    base = right.base_bytes.copy()
    bare = processor.PieceToId(SPACE)
    base[bare] = 2  # "▁" counted as three bytes (its own UTF-8 length) instead of one space
    wrong = ByteLuts(base, right.has_leading_space, right.is_boundary)
    documents = ["one space between words", "two  spaces", "three   spaces  and two"]
    result = check_bytes(processor, wrong, documents)
    bare_pieces = [processor.encode(doc, out_type=str).count(SPACE) for doc in documents]
    assert bare_pieces[1] > 0
    assert not result.ok
    assert [doc.index for doc in result.mismatches] == [i for i, n in enumerate(bare_pieces) if n]
    for mismatch in result.mismatches:
        assert mismatch.difference == 2 * bare_pieces[mismatch.index]
        assert {p.pieces for p in mismatch.pieces} == {(SPACE,)}
        assert all(p.utf8_bytes == 1 and p.lut_bytes == 3 for p in mismatch.pieces)


def test_normalization_and_leading_space_mismatches_are_explained(
    processor: spm.SentencePieceProcessor,
) -> None:
    documents = ["plain words", " leading space", "the acute \u00b4 accent"]
    result = check_bytes(processor, build_luts(processor), documents)
    assert [doc.index for doc in result.mismatches] == [1, 2]
    leading, accent = result.mismatches
    assert leading.difference == -1
    assert leading.pieces[0].token_index == 0
    assert leading.pieces[0].text.startswith(" ")
    # NFKC turns "´" (2 bytes) into a space and a combining accent (3 bytes).
    assert accent.difference == 1
    assert any("\u00b4" in piece.context for piece in accent.pieces)
    assert result.difference == 0 and not result.ok


def test_token_bytes_of_empty_document(processor: spm.SentencePieceProcessor) -> None:
    luts = build_luts(processor)
    assert luts.document_bytes([]) == 0
    assert luts.token_bytes([]).dtype == np.int64
