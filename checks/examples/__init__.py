"""Hand-written VALID / INVALID scripts for the rules of the catalogue, one module per rule.

A packed example keeps its readable source in a constant and is wrapped at import time by
:func:`_pack`, so a reviewer reads the inner code while the audit sees what a packed
``train_gpt.py`` really looks like. Nothing here ever runs the example code.
"""

from __future__ import annotations

import base64
import lzma
import zlib
from typing import Literal

Codec = Literal["lzma-b85", "lzma-b64", "zlib-b85", "zlib-b64"]


def _pack(src: str, codec: Codec) -> str:
    """Wrap ``src`` in an ``exec(decompress(decode("...")))`` one-liner, as minified submissions do.

    The lzma wrappers use the ``import lzma as L,base64 as B`` alias style and the zlib ones the
    plain module names with a ``.decode()``, so the examples cover both spellings.
    """
    compressor, encoding = codec.split("-")
    data = src.encode()
    if compressor == "lzma":
        # The lowest preset: the stream is the same format, and the default preset's 8 MiB
        # dictionary costs ~3 ms per example at import, which every `pgolf audit` pays.
        blob = lzma.compress(data, preset=0)
        head, decompress, b64, tail = "import lzma as L,base64 as B", "L.decompress", "B", ""
    else:
        blob = zlib.compress(data, 9)
        head, decompress, b64, tail = "import zlib,base64", "zlib.decompress", "base64", ".decode()"
    if encoding == "b85":
        text, decode = base64.b85encode(blob).decode(), f"{b64}.b85decode"
    else:
        text, decode = base64.b64encode(blob).decode(), f"{b64}.b64decode"
    return f'{head}\nexec({decompress}({decode}("{text}")){tail})\n'


def _line_of(code: str, marker: str) -> int:
    """The 1-based line of ``code`` holding ``marker``: an INVALID example names its expected
    line by the code on it, so editing the example above it cannot leave the number stale."""
    for number, text in enumerate(code.splitlines(), start=1):
        if marker in text:
            return number
    raise ValueError(f"marker not in example: {marker!r}")
