"""The training script: read back by hash, optionally packed into a self-extracting wrapper
(checked by decoding it statically), and audited as shipped."""

from __future__ import annotations

import base64
import hashlib
import lzma
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pgolf_cli.records.package.request import SCRIPT_NAME, PackageError, PackCodec
from pgolf_cli.records.package.seeds import PackagedSeed

if TYPE_CHECKING:
    from pgolf_cli.audit.findings import FileResult


@dataclass(frozen=True, slots=True)
class Code:
    """The training script as run and as shipped."""

    source_path: Path
    source: bytes
    sha256: str
    shipped: bytes
    packed: PackCodec | None
    logged_bytes: int | None
    """The code size the logs counted (None when they print none)."""

    @property
    def raw_bytes(self) -> int:
        return len(self.source)

    @property
    def shipped_bytes(self) -> int:
        return len(self.shipped)

    @property
    def saved_bytes(self) -> int:
        return self.raw_bytes - self.shipped_bytes


def read_code(seeds: Sequence[PackagedSeed]) -> bytes:
    """The one script all seeds ran, checked by hash against run.json and the logs."""
    by_hash: dict[str, list[int]] = {}
    for run in seeds:
        by_hash.setdefault(run.manifest.code_sha256, []).append(run.seed)
    if len(by_hash) > 1:
        groups = "; ".join(
            f"seed{'s' if len(group) > 1 else ''} {', '.join(map(str, group))} ran {digest[:12]}…"
            for digest, group in by_hash.items()
        )
        raise PackageError(
            str(seeds[0].folder.parent),
            f"the seeds ran different code ({groups})",
            "A record is one script: package seeds that ran the same train_gpt.py "
            "(pick them with --seeds), or re-run the others",
        )
    digest = seeds[0].manifest.code_sha256
    script = Path(seeds[0].manifest.script)
    try:
        data = script.read_bytes()
    except FileNotFoundError:
        raise PackageError(
            str(script),
            "the script the run launched (run.json `script`) no longer exists",
            "Restore it as it was when the run started",
        ) from None
    except OSError as problem:
        raise PackageError(
            str(script),
            f"the script the run launched cannot be read ({problem.strerror or problem})",
            "Check that the file is readable",
        ) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        runs = ", ".join(str(run.seed) for run in seeds)
        raise PackageError(
            str(script),
            f"has changed since seeds {runs} ran it (sha256 {actual[:12]}…, the run launched "
            f"{digest[:12]}…)",
            "Restore the script as it was run (e.g. from git), or train again with this one",
        )
    return data


def pack_source(source: bytes, codec: PackCodec) -> bytes:
    """A self-extracting ``train_gpt.py``: the compressed source in base85, exec'd on start."""
    if codec == "lzma":
        payload = base64.b85encode(lzma.compress(source, preset=9 | lzma.PRESET_EXTREME))
        head = b'import lzma as L,base64 as B\nexec(L.decompress(B.b85decode("'
    else:
        import brotli  # type: ignore[import-untyped]

        payload = base64.b85encode(brotli.compress(source, quality=11))
        head = b'import brotli as B,base64 as b\nexec(B.decompress(b.b85decode("'
    # The base85 alphabet has no quote or backslash, so the payload is a plain string literal.
    return head + payload + b'")))\n'


def check_packed(packed: bytes, source: bytes, codec: PackCodec, where: str) -> None:
    """Decode ``packed`` statically (never run it) and require the exact ``source`` back."""
    from pgolf_cli.audit.source import unpack

    inner, layers, undecodable = unpack(packed.decode("ascii"))
    if undecodable is not None or len(layers) != 1 or not layers[0].kind.startswith(codec):
        reason = undecodable.reason if undecodable else f"{len(layers)} layer(s) decoded"
        raise PackageError(
            where,
            f"the {codec} wrapper pgolf built does not decode statically ({reason})",
            "Report this as a pgolf bug; package without --pack-code meanwhile",
        )
    if inner.encode("utf-8") != source:
        raise PackageError(
            where,
            f"the {codec} wrapper does not decode to the exact script",
            "Save the script as UTF-8 without a byte-order mark, or package without --pack-code",
        )


def make_code(seeds: Sequence[PackagedSeed], pack: PackCodec | None) -> Code:
    source = read_code(seeds)
    where = seeds[0].manifest.script
    logged = {run.log.code_bytes for run in seeds}
    if len(logged) > 1:
        shown = ", ".join(str(size) for size in sorted(s for s in logged if s is not None))
        raise PackageError(
            str(seeds[0].folder.parent),
            f"the logs count different code sizes ({shown}) for the same script",
            "Package seeds whose logs came from this script",
        )
    shipped = source
    if pack is not None:
        from pgolf_cli.audit.source import unpack

        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError:
            raise PackageError(
                where, "is not UTF-8 text", "Save the script as UTF-8 or drop --pack-code"
            ) from None
        if unpack(text)[1]:
            raise PackageError(
                where,
                "is already a packed wrapper; packing it again would gain nothing",
                "Drop --pack-code",
            )
        shipped = pack_source(source, pack)
        check_packed(shipped, source, pack, where)
        if len(shipped) >= len(source):
            raise PackageError(
                where,
                f"packed with {pack} it would be {len(shipped)} bytes, not smaller than its "
                f"{len(source)} bytes",
                "Drop --pack-code (it pays off for scripts of a few KB and more)",
            )
    return Code(
        source_path=Path(where),
        source=source,
        sha256=seeds[0].manifest.code_sha256,
        shipped=shipped,
        packed=pack,
        logged_bytes=next(iter(logged)),
    )


def audit_code(code: Code) -> FileResult:
    """The static audit of the shipped script (decoding a packed wrapper, never running it)."""
    from pgolf_cli.audit.engine import audit_source
    from pgolf_cli.audit.source import SourceError, source_from_bytes

    try:
        source = source_from_bytes(SCRIPT_NAME, code.shipped)
    except SourceError as problem:
        raise PackageError(
            str(code.source_path), problem.problem, "Package a Python source file"
        ) from None
    return audit_source(source)
