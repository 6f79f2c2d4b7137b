"""The sentencepiece byte LUTs: the byte total of a tokenized text equals its UTF-8 size."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import sentencepiece as spm
import torch
from template_helpers import encode_stream, make_documents, train_tokenizer

# Hand-written documents: leading-space pieces, digits (split one per piece), accents, CJK and
# rare letters that a 400-piece vocabulary can only spell with <0xNN> byte pieces.
DOCS = [
    "The café opened in 1987 and served 42 kinds of crêpes.",
    "Größe matters, said the naïve engineer; 東京 is 9,000 km away 😀!",
    "2024 was the year: ünïcödé everywhere, even in Ωmega tests.",
    "plain ascii words follow plain ascii words",
]


def _tokenizer(tmp_path: Path) -> spm.SentencePieceProcessor:
    # DOCS appear once, so their rarest characters (ê, ü) stay out of the vocabulary.
    corpus = DOCS + make_documents(400, seed=3)
    return train_tokenizer(corpus, tmp_path / "tok", 400)


def test_lut_bytes_equal_utf8_bytes(tg: ModuleType, tmp_path: Path) -> None:
    sp = _tokenizer(tmp_path)
    for doc in DOCS:  # the normaliser must leave these texts alone for the comparison to hold
        assert sp.decode(sp.encode(doc)) == doc
    stream = torch.from_numpy(encode_stream(sp, DOCS).astype("int64"))
    pieces = [sp.id_to_piece(int(i)) for i in stream]
    assert any(p.startswith("<0x") for p in pieces), (
        "no byte-fallback piece: the test lost its point"
    )
    assert any(p.startswith("▁") for p in pieces)
    assert any(p.isdigit() for p in pieces)

    luts = tg.build_sentencepiece_luts(sp, sp.vocab_size())
    counted = int(tg.token_bytes(luts, stream[:-1], stream[1:]).sum())
    assert counted == sum(len(doc.encode("utf-8")) for doc in DOCS)


def test_lut_special_pieces(tg: ModuleType, tmp_path: Path) -> None:
    sp = _tokenizer(tmp_path)
    luts = tg.build_sentencepiece_luts(sp, 512)  # larger than the tokenizer: padding ids
    for special in (0, 1, 2, 3, 450, 511):
        assert luts.base_bytes[special] == 0 and luts.is_boundary[special]
    byte_id = sp.piece_to_id("<0xF0>")
    assert sp.is_byte(byte_id) and luts.base_bytes[byte_id] == 1
    assert not luts.has_leading_space[byte_id]
    space_id = next(
        i
        for i in range(sp.vocab_size())
        if sp.id_to_piece(i).startswith("▁") and len(sp.id_to_piece(i)) > 1
    )
    rest = len(sp.id_to_piece(space_id)[1:].encode("utf-8"))
    assert luts.has_leading_space[space_id] and luts.base_bytes[space_id] == rest
    # The space is one byte after text, but not after BOS (nor any boundary token).
    target = torch.tensor([space_id, space_id, space_id])
    prev = torch.tensor([1, 3, space_id])
    assert tg.token_bytes(luts, prev, target).tolist() == [rest, rest, rest + 1]
