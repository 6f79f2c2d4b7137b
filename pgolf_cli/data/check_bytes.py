"""The byte-accounting proof: do a tokenizer's byte LUTs count the bytes of the text?

val_bpb divides by the bytes the LUTs count (docs/challenge.md). They are right only when,
for every document, the LUT total of its tokens (after BOS) equals the document's UTF-8 byte
count. Normalization that changes a character's length (NFKC turns "´" into a space and a
combining accent), whitespace the tokenizer drops, or a space at the very start of a document
(the LUTs do not count a space after BOS) make the two differ; this module finds where.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sentencepiece as spm

from pgolf_cli.data.tokenizer import ByteLuts, encode

#: How many disagreeing pieces a mismatched document lists.
MAX_PIECES_PER_DOCUMENT = 20
_CONTEXT_BYTES = 16


@dataclass(frozen=True)
class PieceDisagreement:
    """Tokens whose LUT bytes differ from the bytes of the text they cover.

    Consecutive byte-fallback tokens are one unit: sentencepiece assigns a character's whole
    text to the last of its byte tokens.
    """

    token_index: int
    pieces: tuple[str, ...]
    #: The text the tokens cover (empty for a piece the normalizer inserted).
    text: str
    #: The text around it, to find the spot when ``text`` is empty.
    context: str
    utf8_bytes: int
    lut_bytes: int


@dataclass(frozen=True)
class DocumentCheck:
    index: int
    tokens: int
    utf8_bytes: int
    lut_bytes: int
    pieces: tuple[PieceDisagreement, ...] = field(default=())

    @property
    def difference(self) -> int:
        return self.lut_bytes - self.utf8_bytes


@dataclass(frozen=True)
class ByteCheck:
    documents: int
    tokens: int
    utf8_bytes: int
    lut_bytes: int
    mismatches: tuple[DocumentCheck, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.utf8_bytes == self.lut_bytes

    @property
    def difference(self) -> int:
        return self.lut_bytes - self.utf8_bytes


def check_bytes(
    processor: spm.SentencePieceProcessor, luts: ByteLuts, documents: Sequence[str]
) -> ByteCheck:
    """Compare LUT and UTF-8 byte counts for every document; explain each mismatch."""
    ids = encode(processor, documents)
    mismatches: list[DocumentCheck] = []
    utf8_total = lut_total = token_total = 0
    for index, (document, tokens) in enumerate(zip(documents, ids, strict=True)):
        utf8 = len(document.encode("utf-8"))
        counted = luts.document_bytes(tokens)
        utf8_total += utf8
        lut_total += counted
        token_total += len(tokens)
        if counted != utf8:
            mismatches.append(
                DocumentCheck(
                    index=index,
                    tokens=len(tokens),
                    utf8_bytes=utf8,
                    lut_bytes=counted,
                    pieces=disagreements(processor, luts, document),
                )
            )
    return ByteCheck(
        documents=len(documents),
        tokens=token_total,
        utf8_bytes=utf8_total,
        lut_bytes=lut_total,
        mismatches=tuple(mismatches),
    )


def disagreements(
    processor: spm.SentencePieceProcessor, luts: ByteLuts, document: str
) -> tuple[PieceDisagreement, ...]:
    """The units of ``document``'s tokens whose LUT bytes differ from their text's bytes."""
    encoded = processor.encode(document, return_type="offset_mapping", return_bytes=True)
    ids: list[int] = encoded["ids"]
    spans: list[tuple[int, int]] = encoded["offsets"]
    counted = luts.token_bytes(ids)
    raw = document.encode("utf-8")

    found: list[PieceDisagreement] = []
    start = 0
    while start < len(ids) and len(found) < MAX_PIECES_PER_DOCUMENT:
        end = start + 1
        if processor.IsByte(ids[start]):
            while end < len(ids) and processor.IsByte(ids[end]):
                end += 1
        begin = min(spans[k][0] for k in range(start, end))
        finish = max(spans[k][1] for k in range(start, end))
        utf8 = sum(spans[k][1] - spans[k][0] for k in range(start, end))
        lut = int(counted[start:end].sum())
        if utf8 != lut:
            found.append(
                PieceDisagreement(
                    token_index=start,
                    pieces=tuple(processor.IdToPiece(ids[k]) for k in range(start, end)),
                    text=raw[begin:finish].decode("utf-8", errors="replace"),
                    context=raw[max(0, begin - _CONTEXT_BYTES) : finish + _CONTEXT_BYTES].decode(
                        "utf-8", errors="replace"
                    ),
                    utf8_bytes=utf8,
                    lut_bytes=lut,
                )
            )
        start = end
    return tuple(found)
