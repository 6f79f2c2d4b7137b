"""Source loading: file checks, and static decoding of packed wrapper scripts."""

from __future__ import annotations

import ast
import base64
import builtins
import bz2
import gzip
import lzma
import os
import pickle
import random
import re
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgolf_cli.audit import source
from pgolf_cli.audit.source import (
    MAX_FILE_BYTES,
    MAX_LAYERS,
    Layer,
    Source,
    SourceError,
    read_source,
    source_from_bytes,
    unpack,
)
from pgolf_cli.errors import PgolfInputError

# The code hidden inside the wrappers below: a few lines in the style of a training script.
CODE = (
    "import os\n"
    "val_files = sorted(f for f in os.listdir('data') if f.startswith('fineweb_val_'))\n"
    "def main():\n"
    "\tprint(len(val_files)); return 0\n"
)


def _brotli_compress(data: bytes) -> bytes:
    return bytes(brotli.compress(data, quality=5))


COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "lzma": lzma.compress,
    "zlib": zlib.compress,
    "bz2": bz2.compress,
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "brotli": _brotli_compress,
}

# decoder function -> (encoder, kind as reported)
ENCODE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "b64decode": (base64.b64encode, "base64"),
    "standard_b64decode": (base64.standard_b64encode, "base64"),
    "urlsafe_b64decode": (base64.urlsafe_b64encode, "base64"),
    "decodebytes": (base64.encodebytes, "base64"),
    "b85decode": (base64.b85encode, "base85"),
    "a85decode": (base64.a85encode, "ascii85"),
}


def b85_zlib(code: str | bytes) -> str:
    """A zlib+base85 payload as a str literal."""
    data = code.encode() if isinstance(code, str) else code
    return repr(base64.b85encode(zlib.compress(data)).decode())


def zlib_wrapper(code: str | bytes) -> str:
    return f"import zlib as Z,base64 as B\nexec(Z.decompress(B.b85decode({b85_zlib(code)})))\n"


# ----------------------------------------------------------------- codecs and forms


@pytest.mark.parametrize("decoder", sorted(ENCODE))
@pytest.mark.parametrize("compressor", sorted(COMPRESS))
def test_every_decompressor_with_every_encoding(compressor: str, decoder: str) -> None:
    encode, encoding_kind = ENCODE[decoder]
    payload = repr(encode(COMPRESS[compressor](CODE.encode())))
    text = f"import {compressor} as C,base64 as E\nexec(C.decompress(E.{decoder}({payload})))\n"

    inner, layers, undecodable = unpack(text)

    assert inner == CODE
    assert layers == (Layer(f"{compressor}+{encoding_kind}", 2),)
    assert undecodable is None


LZMA_B85 = repr(base64.b85encode(lzma.compress(CODE.encode())).decode())


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"import lzma as L,base64 as B\nexec(L.decompress(B.b85decode({LZMA_B85})))", 2),
        (f"import lzma, base64\nexec(lzma.decompress(base64.b85decode({LZMA_B85})))", 2),
        (
            "from lzma import decompress\nfrom base64 import b85decode as d\n"
            f"exec(decompress(d({LZMA_B85})))",
            3,
        ),
        (
            f"import lzma as L,base64 as B\n_c={LZMA_B85}\nexec(L.decompress(B.b85decode(_c)))",
            3,
        ),
        (
            f"import lzma as L,base64 as B\n_c: str = {LZMA_B85}\n"
            "exec(L.decompress(B.b85decode(_c)))",
            3,
        ),
        (f"exec(__import__('lzma').decompress(__import__('base64').b85decode({LZMA_B85})))", 1),
        (
            f'"""Packed."""\nimport lzma as L,base64 as B;exec(L.decompress(B.b85decode({LZMA_B85})))',
            2,
        ),
        (f"import lzma as L,base64 as B\nexec(L.decompress(data=B.b85decode(b={LZMA_B85})))", 2),
    ],
    ids=[
        "aliases",
        "plain",
        "from-imports",
        "variable",
        "annotated",
        "dunder-import",
        "docstring",
        "keywords",
    ],
)
def test_import_and_payload_forms(text: str, line: int) -> None:
    assert unpack(text) == (CODE, (Layer("lzma+base85", line),), None)


def test_payload_split_over_lines_and_names() -> None:
    encoded = base64.b85encode(lzma.compress(CODE.encode())).decode()
    third = len(encoded) // 3
    head, middle, tail = encoded[:third], encoded[third : 2 * third], encoded[2 * third :]
    text = (
        "import lzma as L,base64 as B\n"
        f"a={head!r}\n"
        f"b=a+{middle!r}\n"
        "exec(L.decompress(B.b85decode(\n"
        f"    b+{tail[:5]!r}\n"
        f"    {tail[5:]!r})))\n"
    )
    assert unpack(text) == (CODE, (Layer("lzma+base85", 4),), None)


@pytest.mark.parametrize(
    ("lines", "line"),
    [
        (["C=L.decompress(B.b85decode(P))", "exec(C)"], 4),
        (["C=L.decompress(B.b85decode(P)).decode('utf-8')", "exec(C)"], 4),
        (["D=B.b85decode(P)", "exec(L.decompress(D))"], 4),
        (["D=B.b85decode(P)", "C=L.decompress(D)", "exec(C.decode())"], 5),
        (["C=L.decompress(B.b85decode(P))", "exec(compile(C, '<packed>', 'exec'))"], 4),
    ],
    ids=["decoded-name", "decoded-text-name", "encoded-name", "two-names", "compiled-name"],
)
def test_a_chain_decoded_into_a_name_before_exec(lines: list[str], line: int) -> None:
    # The steps may be spread over assignments: executing the name runs them all.
    text = "\n".join(["import lzma as L,base64 as B", f"P={LZMA_B85}", *lines]) + "\n"
    assert unpack(text) == (CODE, (Layer("lzma+base85", line),), None)


def test_a_decoded_name_bound_again_at_run_time_is_not_a_wrapper() -> None:
    text = f"import lzma as L,base64 as B\nC=L.decompress(B.b85decode({LZMA_B85}))\nC=input()\nexec(C)\n"
    assert unpack(text) == (text, (), None)


@pytest.mark.parametrize(
    "decoder",
    ["bytes.fromhex(P)", "binascii.unhexlify(P)", "binascii.a2b_hex(P)", "H(P)"],
)
def test_hex_encoded_payloads(decoder: str) -> None:
    payload = zlib.compress(CODE.encode()).hex()
    text = (
        "import zlib,binascii\nfrom binascii import unhexlify as H\n"
        f"P={payload!r}\nexec(zlib.decompress({decoder}))\n"
    )
    assert unpack(text) == (CODE, (Layer("zlib+hex", 4),), None)
    plain = f"P={CODE.encode().hex()!r}\nexec(bytes.fromhex(P).decode())\n"
    assert unpack(plain) == (CODE, (Layer("hex", 2),), None)


@pytest.mark.parametrize("as_bytes", [True, False])
def test_payload_as_str_or_bytes(as_bytes: bool) -> None:
    encoded = base64.b64encode(zlib.compress(CODE.encode()))
    literal = repr(encoded) if as_bytes else repr(encoded.decode())
    text = f"import zlib,base64\nexec(zlib.decompress(base64.b64decode({literal})))"
    assert unpack(text) == (CODE, (Layer("zlib+base64", 2),), None)


@pytest.mark.parametrize(
    "call",
    [
        "exec(Z.decompress(B.b85decode(P)).decode())",
        "exec(Z.decompress(B.b85decode(P)).decode('utf-8'))",
        "exec(Z.decompress(B.b85decode(P)).decode(encoding='UTF8'))",
        "exec(str(Z.decompress(B.b85decode(P)), 'utf-8'))",
        "exec(compile(Z.decompress(B.b85decode(P)), '<packed>', 'exec'))",
        "exec(compile(Z.decompress(B.b85decode(P)).decode(), '<packed>', 'exec'))",
        "exec(Z.decompress(B.b85decode(P.encode())))",
        "exec(Z.decompress(B.b85decode(bytes(P, 'ascii'))), globals())",
    ],
)
def test_text_conversions_around_the_chain(call: str) -> None:
    text = f"import zlib as Z,base64 as B\nP={b85_zlib(CODE)}\n{call}\n"
    assert unpack(text) == (CODE, (Layer("zlib+base85", 3),), None)


def test_decoder_options_are_passed_through() -> None:
    b64 = base64.b64encode(zlib.compress(CODE.encode())).decode()
    adobe = base64.a85encode(zlib.compress(CODE.encode()), adobe=True).decode()
    text = f"import zlib as Z,base64 as B\nexec(Z.decompress(B.b64decode({b64!r}, validate=True)))"
    assert unpack(text) == (CODE, (Layer("zlib+base64", 2),), None)
    text = f"import zlib as Z,base64 as B\nexec(Z.decompress(B.a85decode({adobe!r}, adobe=True)))"
    assert unpack(text) == (CODE, (Layer("zlib+ascii85", 2),), None)


def test_raw_bytes_kept_in_a_latin1_string() -> None:
    # Golfers store compressed bytes directly in a str literal and encode it back.
    packed = zlib.compress(CODE.encode(), 9).decode("latin-1")
    text = f"import zlib\nexec(zlib.decompress({packed!r}.encode('latin-1')))\n"
    assert unpack(text) == (CODE, (Layer("zlib", 2),), None)


def test_compressor_without_encoding_and_encoding_without_compressor() -> None:
    raw = f"import bz2\nexec(bz2.decompress({bz2.compress(CODE.encode())!r}))"
    assert unpack(raw) == (CODE, (Layer("bz2", 2),), None)
    b64 = f"import base64\nexec(base64.b64decode({base64.b64encode(CODE.encode())!r}))"
    assert unpack(b64) == (CODE, (Layer("base64", 2),), None)


RAW_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": 1 << 24}]
RAW_B85 = repr(
    base64.b85encode(lzma.compress(CODE.encode(), format=lzma.FORMAT_RAW, filters=RAW_FILTERS))
)


@pytest.mark.parametrize(
    "text",
    [
        "import lzma as L,base64 as B\n"
        f"exec(L.decompress(B.b85decode({RAW_B85}),format=L.FORMAT_RAW,"
        'filters=[{"id":L.FILTER_LZMA2,"preset":9|L.PRESET_EXTREME,"dict_size":1<<24}]))',
        "import lzma,base64\n"
        'F=[{"id":lzma.FILTER_LZMA2,"preset":9|lzma.PRESET_EXTREME,"dict_size":2**24}]\n'
        f"exec(lzma.decompress(base64.b85decode({RAW_B85}),lzma.FORMAT_RAW,None,F))",
        "from lzma import decompress,FORMAT_RAW,FILTER_LZMA2,PRESET_EXTREME\n"
        "from base64 import b85decode\n"
        f"exec(decompress(b85decode({RAW_B85}),format=FORMAT_RAW,"
        'filters=({"id":FILTER_LZMA2,"preset":PRESET_EXTREME|9,"dict_size":16*1024*1024},)))',
    ],
    ids=["inline", "variable-positional", "from-imports"],
)
def test_lzma_raw_format_with_filters(text: str) -> None:
    assert unpack(text) == (CODE, (Layer("lzma+base85", text.count("\n") + 1),), None)


@pytest.mark.parametrize(
    ("fmt", "name"), [(lzma.FORMAT_XZ, "FORMAT_XZ"), (lzma.FORMAT_ALONE, "FORMAT_ALONE")]
)
def test_lzma_container_formats(fmt: int, name: str) -> None:
    payload = lzma.compress(CODE.encode(), format=fmt)
    text = f"import lzma as L\nexec(L.decompress({payload!r}, format=L.{name}))"
    assert unpack(text) == (CODE, (Layer("lzma", 2),), None)


@pytest.mark.parametrize(
    ("wbits", "argument"),
    [(-15, "-15"), (31, "Z.MAX_WBITS|16"), (-15, "wbits=-Z.MAX_WBITS"), (15, "Z.MAX_WBITS, 65536")],
)
def test_zlib_wbits(wbits: int, argument: str) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    payload = compressor.compress(CODE.encode()) + compressor.flush()
    text = f"import zlib as Z\nexec(Z.decompress({payload!r}, {argument}))"
    assert unpack(text) == (CODE, (Layer("zlib", 2),), None)


@pytest.mark.parametrize(
    ("compress", "stdlib"),
    [
        (lambda d: lzma.compress(d) + lzma.compress(b"#2\n") + b"junk", lzma.decompress),
        (lambda d: bz2.compress(d) + bz2.compress(b"#2\n"), bz2.decompress),
        (lambda d: gzip.compress(d) + b"\0\0" + gzip.compress(b"#2\n"), gzip.decompress),
        (lambda d: zlib.compress(d) + b"junk", zlib.decompress),
    ],
    ids=["lzma", "bz2", "gzip", "zlib"],
)
def test_concatenated_streams_decode_like_the_stdlib(
    compress: Callable[[bytes], bytes], stdlib: Callable[[bytes], bytes]
) -> None:
    payload = compress(CODE.encode())
    module = stdlib.__module__
    text = f"import {module}\nexec({module}.decompress({payload!r}))"
    inner, _, undecodable = unpack(text)
    assert undecodable is None
    assert inner == stdlib(payload).decode()


# ----------------------------------------------------------------- nesting


def test_nested_wrappers() -> None:
    middle = f"import bz2,base64\nexec(bz2.decompress(base64.a85decode({base64.a85encode(bz2.compress(CODE.encode()))!r})))\n"
    outer = zlib_wrapper(middle)
    inner, layers, undecodable = unpack(outer)
    assert (inner, undecodable) == (CODE, None)
    assert layers == (Layer("zlib+base85", 2), Layer("bz2+ascii85", 2))

    three = (
        "# packed\n\n" + f"import lzma as L\nexec(L.decompress({lzma.compress(outer.encode())!r}))"
    )
    inner, layers, undecodable = unpack(three)
    assert (inner, undecodable) == (CODE, None)
    assert [layer.kind for layer in layers] == ["lzma", "zlib+base85", "bz2+ascii85"]
    assert layers[0].line == 4


def test_decoded_from_names_the_innermost_wrapper_first() -> None:
    nested = Source("t.py", CODE, 10, (Layer("lzma+base85", 2), Layer("zlib+base64", 1)))
    assert nested.decoded_from == (
        "decoded from a zlib+base64 wrapper (line 1) inside an lzma+base85 wrapper (line 2)"
    )
    assert Source("t.py", CODE, 10, (Layer("brotli+ascii85", 3),)).decoded_from == (
        "decoded from a brotli+ascii85 wrapper (line 3)"
    )
    assert Source("t.py", CODE, len(CODE)).decoded_from is None


def _nest(depth: int) -> str:
    text = CODE
    for _ in range(depth):
        text = zlib_wrapper(text)
    return text


def test_nesting_up_to_the_cap_decodes() -> None:
    inner, layers, undecodable = unpack(_nest(MAX_LAYERS))
    assert (inner, undecodable) == (CODE, None)
    assert len(layers) == MAX_LAYERS


def test_nesting_over_the_cap_is_undecodable() -> None:
    inner, layers, undecodable = unpack(_nest(MAX_LAYERS + 1))
    assert len(layers) == MAX_LAYERS
    assert inner == zlib_wrapper(CODE)
    assert undecodable is not None
    assert undecodable.line == 2
    assert str(MAX_LAYERS) in undecodable.reason


# ----------------------------------------------------------------- bounds


def test_compression_bomb_over_the_real_cap_is_undecodable() -> None:
    bomb = zlib.compress(b"#" * (source.MAX_DECODED_BYTES + 1), 9)
    text = f"import zlib\nexec(zlib.decompress({bomb!r}))"
    inner, layers, undecodable = unpack(text)
    assert (inner, layers) == (text, ())
    assert undecodable is not None
    assert undecodable.line == 2
    assert f"{source.MAX_DECODED_BYTES:,}" in undecodable.reason


@pytest.mark.parametrize("compressor", sorted(COMPRESS))
def test_size_cap_boundary(compressor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MAX_DECODED_BYTES", 1000)
    compress = COMPRESS[compressor]
    at_cap = f"import {compressor}\nexec({compressor}.decompress({compress(b'#' * 1000)!r}))"
    over = f"import {compressor}\nexec({compressor}.decompress({compress(b'#' * 1001)!r}))"

    assert unpack(at_cap)[0] == "#" * 1000
    _, layers, undecodable = unpack(over)
    assert layers == ()
    assert undecodable is not None
    assert "larger than 1,000 bytes" in undecodable.reason


def test_size_cap_counts_all_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    cap = 8_000
    monkeypatch.setattr(source, "MAX_DECODED_BYTES", cap)
    inner_code = "#" * 5_000
    inner_wrapper = zlib_wrapper(inner_code) + "#" * 3_000  # a comment: still a wrapper
    outer = zlib_wrapper(inner_wrapper)
    assert len(inner_wrapper) < cap and len(inner_code) < cap
    assert len(inner_wrapper) + len(inner_code) > cap

    _, layers, undecodable = unpack(outer)
    assert layers == (Layer("zlib+base85", 2),)
    assert undecodable is not None
    assert "larger than" in undecodable.reason
    monkeypatch.setattr(source, "MAX_DECODED_BYTES", 2 * cap)
    assert unpack(outer)[0] == inner_code


@pytest.mark.parametrize("compressor", sorted(COMPRESS))
def test_bomb_is_decompressed_incrementally(
    compressor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "MAX_DECODED_BYTES", 1 << 20)
    bomb = COMPRESS[compressor](bytes(32 << 20))
    text = f"import {compressor}\nexec({compressor}.decompress({bomb!r}))"
    tracemalloc.start()
    try:
        _, _, undecodable = unpack(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert undecodable is not None
    # The decoders' own state counts too (lzma's default dictionary is 8 MiB); an unbounded
    # decompression would hold all 32 MiB.
    assert peak < 16 << 20, f"peak {peak:,} bytes: the output was not bounded"


# ----------------------------------------------------------------- undecodable


@pytest.mark.parametrize("compressor", sorted(COMPRESS))
def test_corrupt_compressed_data(compressor: str) -> None:
    good = COMPRESS[compressor](CODE.encode() * 20)
    damaged = good[:12] + bytes(b ^ 0x5A for b in good[12:40]) + good[40:]
    for payload in (damaged, good[: len(good) // 2]):
        text = f"import {compressor}\nexec({compressor}.decompress({payload!r}))"
        inner, layers, undecodable = unpack(text)
        assert (inner, layers) == (text, ())
        assert undecodable is not None, payload
        assert undecodable.line == 2
        assert compressor in undecodable.reason


def test_corrupt_encoding() -> None:
    text = "import zlib,base64\nexec(zlib.decompress(base64.b85decode('not base85 ~~~')))"
    _, _, undecodable = unpack(text)
    assert undecodable is not None
    assert "base64.b85decode" in undecodable.reason
    assert "corrupt" in undecodable.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "import lzma as L,base64 as B\nexec(L.decompress(B.b85decode(open('p.txt').read())))",
            "`open('p.txt').read()` is computed at run time",
        ),
        (
            "import os,lzma as L,base64 as B;_c=os.environ['PAYLOAD']\n"
            "exec(L.decompress(B.b85decode(_c)))",
            "`_c` is computed at run time (line 1)",
        ),
        (
            "import lzma as L,base64 as B\nexec(L.decompress(B.b85decode(_c)))",
            "`_c` is never assigned a literal",
        ),
        (
            "import os,lzma as L\nexec(L.decompress(b'', format=int(os.environ['F'])))",
            "format argument of lzma.decompress is computed at run time",
        ),
        (
            "import zstandard\nexec(zstandard.decompress(b'(\\xb5/\\xfd'))",
            "`zstandard.decompress` is not a codec",
        ),
        ("import base64\nexec(base64.b32decode('MFRGG==='))", "`base64.b32decode` is not a codec"),
        ("import marshal\nexec(marshal.loads(b'\\xe3'))", "`marshal.loads` is not a codec"),
        (
            "import lzma\nexec(lzma.LZMADecompressor().decompress(b'\\xfd7zXZ'))",
            "`lzma.LZMADecompressor().decompress` is not a codec",
        ),
        ("import zlib\nexec(zlib.decompress(b'x', 15, 1, 2))", "more arguments"),
        ("import zlib\nexec(zlib.decompress(b'x', level=9))", "argument pgolf does not understand"),
        (
            "import zlib\nexec(zlib.decompress('x'))",
            "zlib.decompress is given data of type str, not bytes",
        ),
        (
            f"import zlib\nexec(zlib.decompress({zlib.compress(b'x=1')!r}).decode('cp1250'))",
            "text encoding 'cp1250'",
        ),
    ],
    ids=[
        "open-read",
        "runtime-name",
        "unbound-name",
        "runtime-option",
        "zstandard",
        "base32",
        "marshal",
        "decompressor-object",
        "too-many-args",
        "unknown-keyword",
        "str-to-decompress",
        "unsupported-text-encoding",
    ],
)
def test_recognised_but_undecodable(text: str, expected: str) -> None:
    inner, layers, undecodable = unpack(text)
    assert (inner, layers) == (text, ())
    assert undecodable is not None
    assert undecodable.line == 2
    assert expected in undecodable.reason


@pytest.mark.parametrize("depth", [250, 900])
def test_deeply_nested_payload_expression_does_not_crash(depth: int) -> None:
    pieces = "+".join(["b'x'"] * depth)
    text = f"import zlib\nexec(zlib.decompress({pieces}))"
    _, layers, undecodable = unpack(text)
    assert layers == ()
    assert undecodable is not None
    assert "nested more than 200 deep" in undecodable.reason


def test_decoded_bytes_must_be_utf8() -> None:
    text = f"import zlib\nexec(zlib.decompress({zlib.compress(b'x = 1  # caf' + bytes([0xE9]))!r}))"
    _, _, undecodable = unpack(text)
    assert undecodable is not None
    assert "not valid UTF-8 (byte 0xe9 at offset 12)" in undecodable.reason


def test_undecodable_inner_layer_keeps_the_outer_layers() -> None:
    broken = (
        "import lzma\nimport base64\nexec(lzma.decompress(base64.b85decode(open('x').read())))\n"
    )
    inner, layers, undecodable = unpack(zlib_wrapper(broken))
    assert inner == broken
    assert layers == (Layer("zlib+base85", 2),)
    assert undecodable is not None
    assert undecodable.line == 3


# ----------------------------------------------------------------- opaque payloads

# Incompressible bytes, so the encoded literal is long: what it decodes to does not matter here.
_LONG_B85 = repr(base64.b85encode(random.Random(7).randbytes(1500)).decode())
_LONG_CODE = repr(CODE * 40)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "import lzma,base64\ndef unpack(s):\n    return lzma.decompress(base64.b85decode(s))\n"
            f"exec(unpack({_LONG_B85}))\n",
            4,
        ),
        (
            f"import lzma,base64\nexec(getattr(lzma, 'decompress')(base64.b85decode({_LONG_B85})))\n",
            2,
        ),
        (
            f"P={_LONG_B85}\nimport lzma,base64 as B\nexec(lzma.decompress(B.b85decode(P))[::-1])\n",
            3,
        ),
        (f"exec({_LONG_CODE})\n", 1),
    ],
    ids=["own-decoder", "getattr-codec", "name-then-slice", "script-in-a-string"],
)
def test_exec_of_a_long_literal_in_an_unknown_form_is_undecodable(text: str, line: int) -> None:
    # Code the audit cannot see is reported, never passed as clean.
    inner, layers, undecodable = unpack(text)
    assert (inner, layers) == (text, ())
    assert undecodable is not None
    assert undecodable.line == line
    assert "-character literal" in undecodable.reason


@pytest.mark.parametrize(
    "text",
    [
        "exec('x = 1')\n",
        "exec(open('helpers.py').read())\n",
        f"BLOB={_LONG_B85}\nexec('print(1)')\n",
        f"def f():\n    return {_LONG_CODE}\n",
    ],
    ids=["short-literal", "file", "long-literal-not-executed", "no-exec"],
)
def test_exec_without_a_long_literal_is_ordinary_code(text: str) -> None:
    assert unpack(text) == (text, (), None)


# ----------------------------------------------------------------- ordinary code


@pytest.mark.parametrize(
    "text",
    [
        "exec(open('helpers.py').read())\n",
        "import lzma\nexec(open('helpers.py').read())\n",
        "import zlib\nexec(zlib.decompress(b'x'))\nprint('more code')\n",
        f"{zlib_wrapper(CODE)}{zlib_wrapper(CODE)}",
        "import base64\ndef load(blob):\n    exec(base64.b64decode(blob))\n",
        "import base64\nexec(str(base64.b64encode(b'x')))\n",
        "import base64\nexec('print(1)'.encode())\n",
        "import zlib\nexec(zlib.decompress(b'x'\n",  # a syntax error is the engine's to report
    ],
    ids=[
        "exec-open",
        "exec-open-with-imports",
        "more-statements",
        "two-execs",
        "exec-in-function",
        "str-without-encoding",
        "no-codec",
        "syntax-error",
    ],
)
def test_not_a_wrapper(text: str) -> None:
    assert unpack(text) == (text, (), None)


def test_normal_script_unchanged() -> None:
    script = (
        '"""A training script that mentions exec( and decode( but is no wrapper."""\n'
        "import os\nimport sentencepiece as spm\n\n"
        "sp = spm.SentencePieceProcessor(model_file=os.environ.get('TOKENIZER_PATH', 'tok.model'))\n\n"
        "def main() -> None:\n"
        "    ids = sp.encode('hello')\n"
        "    print(sp.decode(ids))  # exec(...) in a comment\n\n"
        "if __name__ == '__main__':\n    main()\n"
    )
    source_obj = source_from_bytes("train_gpt.py", script.encode())
    assert source_obj == Source("train_gpt.py", script, len(script))
    assert source_obj.decoded_from is None


def test_plain_script_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without an exec call there is nothing to unpack, so a large script costs a text scan.
    script = "import torch\n" + "x = torch.zeros(4).sum().item()\n" * 5000

    def no_parse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a script without exec( was parsed")

    monkeypatch.setattr(ast, "parse", no_parse)
    assert unpack(script) == (script, (), None)


def test_nothing_from_the_file_is_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "executed"
    payload = f"open({str(marker)!r}, 'w').write('ran')\n"
    text = (
        "import lzma as L,base64 as B\n"
        f"open({str(marker)!r}, 'w')\n"  # not a wrapper statement: must not run either
        f"exec(L.decompress(B.b85decode({base64.b85encode(lzma.compress(payload.encode()))!r})))\n"
    )
    wrapper_only = text.replace(text.splitlines()[1] + "\n", "")

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("audited code was executed")

    real_compile = builtins.compile

    def parse_only(*args: Any, **kwargs: Any) -> Any:
        # ast.parse calls compile() to build a syntax tree; anything else would make code.
        flags = kwargs.get("flags", args[3] if len(args) > 3 else 0)
        assert flags & ast.PyCF_ONLY_AST, "compile() was asked for code, not a syntax tree"
        return real_compile(*args, **kwargs)

    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "compile", parse_only)
    assert unpack(wrapper_only) == (payload, (Layer("lzma+base85", 2),), None)
    assert unpack(text) == (text, (), None)
    monkeypatch.undo()
    assert not marker.exists()


# ----------------------------------------------------------------- reading files


def test_read_source_of_a_wrapper(tmp_path: Path) -> None:
    path = tmp_path / "train_gpt.py"
    wrapper = zlib_wrapper(CODE)
    path.write_text(wrapper)
    result = read_source(path, display="records/x/train_gpt.py")
    assert result == Source(
        "records/x/train_gpt.py", CODE, len(wrapper.encode()), (Layer("zlib+base85", 2),)
    )
    assert result.decoded_from == "decoded from a zlib+base85 wrapper (line 2)"
    assert read_source(path).path == str(path)


def test_read_source_of_plain_code(tmp_path: Path) -> None:
    path = tmp_path / "train_gpt.py"
    path.write_bytes(CODE.encode())
    assert read_source(path) == Source(str(path), CODE, len(CODE))


def _error(path: Path) -> SourceError:
    with pytest.raises(SourceError) as caught:
        read_source(path, display="shown.py")
    assert caught.value.path == "shown.py"
    assert str(caught.value) == f"shown.py: {caught.value.problem}. {caught.value.fix}"
    return caught.value


def test_missing_file(tmp_path: Path) -> None:
    assert _error(tmp_path / "nope.py").problem == "no such file"


def test_directory(tmp_path: Path) -> None:
    assert "directory" in _error(tmp_path).problem


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "train_gpt.py"
    path.write_text(CODE)

    def denied(name: Path, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(name))

    # Simulated: the tests may run as root, which chmod cannot lock out.
    monkeypatch.setattr(os, "open", denied)
    error = _error(path)
    assert error.problem == "permission denied"
    assert "chmod" in error.fix


def test_too_large(tmp_path: Path) -> None:
    path = tmp_path / "train_gpt.py"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk space used
    problem = _error(path).problem
    assert f"{MAX_FILE_BYTES + 1:,} bytes" in problem
    assert "16,000,000-byte artifact limit" in problem
    with pytest.raises(SourceError, match="artifact limit"):
        source_from_bytes("blob", b"#" * (MAX_FILE_BYTES + 1))


def test_a_size_that_stat_understates_is_read_to_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /proc files and pipes report 0 bytes: the read goes on to the end, and to the bound.
    path = tmp_path / "train_gpt.py"
    path.write_bytes(CODE.encode() * 3000)
    real_fstat = os.fstat
    monkeypatch.setattr(os, "fstat", lambda fd: os.stat_result((*real_fstat(fd)[:6], 0, 0, 0, 0)))
    assert read_source(path).text == CODE * 3000
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    assert f"{MAX_FILE_BYTES + 1:,} bytes" in _error(path).problem


def test_binary(tmp_path: Path) -> None:
    path = tmp_path / "train_gpt.py"
    path.write_bytes(b"x = 1\n\0\1\2")
    assert "NUL byte at offset 6" in _error(path).problem


@pytest.mark.parametrize(("prefix", "offset"), [(b"", 11), (b"\xef\xbb\xbf", 14)])
def test_not_utf8(tmp_path: Path, prefix: bytes, offset: int) -> None:
    path = tmp_path / "train_gpt.py"
    path.write_bytes(prefix + b"x = 1\n# caf\xe9\n")
    error = _error(path)
    assert f"byte 0xe9 at offset {offset}" in error.problem
    assert "UTF-8" in error.fix


def test_not_valid_in_declared_encoding(tmp_path: Path) -> None:
    path = tmp_path / "train_gpt.py"
    path.write_bytes(b"# -*- coding: ascii -*-\nname = 'caf\xc3\xa9'\n")
    assert "not valid ascii: byte 0xc3 at offset 35" in _error(path).problem


@pytest.mark.parametrize("cookie", [b"# coding: klingon\n", b"\xef\xbb\xbf# coding: latin-1\n"])
def test_unusable_coding_cookie(tmp_path: Path, cookie: bytes) -> None:
    path = tmp_path / "train_gpt.py"
    path.write_bytes(cookie + b"x = 1\n")
    assert "encoding declaration" in _error(path).problem


def test_latin1_with_coding_cookie(tmp_path: Path) -> None:
    path = tmp_path / "train_gpt.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n")
    assert read_source(path).text == "# -*- coding: latin-1 -*-\nname = 'café'\n"


def test_a_cookie_counts_on_the_first_two_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "train_gpt.py"
    path.write_bytes(b"#!/usr/bin/env python\n# coding: latin-1\nname = 'caf\xe9'\n")
    assert read_source(path).text.endswith("name = 'café'\n")
    path.write_bytes(b"import os\n\n# coding: latin-1\nname = 'caf\xc3\xa9'\n")
    assert read_source(path).text.endswith("name = 'café'\n")  # line 3: UTF-8 as usual


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "train_gpt.py"
    path.write_bytes(b"")
    assert read_source(path) == Source(str(path), "", 0)


def test_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "train_gpt.py"
    path.write_bytes(b"\xef\xbb\xbf" + CODE.encode())
    result = read_source(path)
    assert result.text == CODE
    assert result.shipped_bytes == len(CODE) + 3


def test_source_error_is_an_input_error_and_pickles() -> None:
    error = SourceError("a.py", "no such file", "Check the path")
    assert isinstance(error, PgolfInputError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.problem, copy.fix) == ("a.py", "no such file", "Check the path")
    assert str(copy) == "a.py: no such file. Check the path"


_EXEC_AS_A_WORD = re.compile(r"\bexec\s*\(")


@pytest.mark.parametrize(
    "text",
    ["exec(x)", "y = 1\nexec (x)", "a.exec(x)", "myexec(x)", "exec_(x)", "éexec(x)", "2exec(", ""],
)
def test_an_exec_call_is_found_as_a_word(text: str) -> None:
    assert source._calls_exec(text) == (_EXEC_AS_A_WORD.search(text) is not None)


@given(st.lists(st.sampled_from(["exec", "(", " ", "\n", "_", "x", ".", "é", "1"])).map("".join))
def test_the_exec_prefilter_matches_the_word_bounded_pattern(text: str) -> None:
    assert source._calls_exec(text) == (_EXEC_AS_A_WORD.search(text) is not None)
