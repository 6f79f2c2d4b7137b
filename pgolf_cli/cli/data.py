"""``pgolf data``: build a dataset, download the official one, prove the byte accounting."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from pgolf_cli.audit.policy import EXIT_FINDINGS
from pgolf_cli.cli._common import crash_exits_2, fail
from pgolf_cli.cli._help import PgolfTyper
from pgolf_cli.cli._options import DataDir
from pgolf_cli.console import (
    StageProgress,
    is_terminal,
    stderr_console,
    stdout_console,
    write_result,
)
from pgolf_cli.errors import PgolfInputError

if TYPE_CHECKING:
    from pgolf_cli.data.build import BuildResult
    from pgolf_cli.data.check_bytes import ByteCheck
    from pgolf_cli.data.fineweb import FinewebResult

# The defaults repeat pgolf_cli.data's constants so that `pgolf --help` need not import numpy
# and sentencepiece; a test keeps them in step.
DEFAULT_VOCAB_SIZE = 1024
DEFAULT_VAL_DOCS = 1000
DEFAULT_SHARD_TOKENS = 10**8
DEFAULT_REPO = "willdepueoai/parameter-golf"
#: Mismatched documents the text output of check-bytes lists (json lists them all).
SHOWN_MISMATCHES = 10

data_app = PgolfTyper(
    name="data",
    help="Datasets in the challenge's format: build one, download the official one, check "
    "the byte accounting of a tokenizer.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


class CheckFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def _data_dir(flag: Path | None) -> Path:
    """The data folder, resolved as pgolf train resolves it (flag, $PGOLF_DATA, pgolf.toml)."""
    from pgolf_cli.config import ConfigError, data_dir, load_train_config

    try:
        return data_dir(flag, load_train_config(Path.cwd())).value
    except ConfigError as problem:
        fail(str(problem))


Text = Annotated[
    Path | None,
    typer.Option(
        "--text",
        help='A UTF-8 text file: [bold]*.jsonl[/] with one {"text": ...} per line, or '
        "documents separated by blank lines. [dim]\\[default: the built-in corpus][/]",
        metavar="PATH",
        show_default=False,
    ),
]
VocabSize = Annotated[
    int, typer.Option("--vocab-size", metavar="N", help="Tokenizer vocabulary size.")
]
ValDocs = Annotated[
    int,
    typer.Option("--val-docs", metavar="N", help="The first N documents are the validation split."),
]
ShardTokens = Annotated[
    int,
    typer.Option(
        "--shard-tokens",
        min=1,
        metavar="N",
        help="Tokens per shard (the published dataset uses 10^8).",
    ),
]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing, different dataset.")]
BuildQuiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress and no summary; errors still print.")
]
TrainShards = Annotated[
    int | None,
    typer.Option(
        "--train-shards",
        min=0,
        metavar="N",
        help="How many train shards to download (10^8 tokens each); val is always "
        "complete. [dim]\\[default: every train shard, the full training set the challenge "
        "configuration reads][/]",
        show_default=False,
    ),
]
Variant = Annotated[
    str,
    typer.Option(
        "--variant",
        metavar="NAME",
        help="The tokenizer variant, as the repo's manifest names it (sp1024, ...).",
    ),
]
HubRepo = Annotated[
    str, typer.Option("--repo", help="The Hugging Face dataset repository.", metavar="ID")
]
Revision = Annotated[
    str | None,
    typer.Option(
        "--revision",
        metavar="REF",
        help="A branch, tag or commit of the repository. [dim]\\[default: main][/]",
        show_default=False,
    ),
]
FinewebQuiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No per-file lines and no summary.")
]


@data_app.command("build")
@crash_exits_2
def build(
    text: Text = None,
    vocab_size: VocabSize = DEFAULT_VOCAB_SIZE,
    data_dir: DataDir = None,
    val_docs: ValDocs = DEFAULT_VAL_DOCS,
    shard_tokens: ShardTokens = DEFAULT_SHARD_TOKENS,
    force: Force = False,
    quiet: BuildQuiet = False,
) -> None:
    """Train a tokenizer and write train/val shards in the official format.

    Writes [bold]DIR/datasets/builtin_sp<N>/[/] (shards and manifest.json) and [bold]DIR/tokenizers/builtin_sp<N>.model[/]. Running it again with the same input changes nothing.

    Exit codes: [bold]0[/] built or already up to date; [bold]2[/] bad input, or a different dataset is in the way (use [bold]--force[/]).
    """
    # Imported here so that `pgolf --help` does not load numpy and sentencepiece.
    from pgolf_cli.data.build import STAGE_CORPUS, build_dataset
    from pgolf_cli.data.corpus import builtin_corpus, read_text_documents

    folder = _data_dir(data_dir)
    progress = StageProgress(enabled=not quiet and is_terminal(sys.stderr))
    try:
        with progress.progress:
            if text is None:
                progress(STAGE_CORPUS, 0, None)
                corpus = builtin_corpus()
                progress(STAGE_CORPUS, 1, 1)
            else:
                corpus = read_text_documents(text)
            result = build_dataset(
                corpus,
                folder,
                vocab_size=vocab_size,
                val_docs=val_docs,
                force=force,
                max_shard_tokens=shard_tokens,
                progress=progress,
            )
    except PgolfInputError as problem:
        fail(str(problem))
    if not quiet:
        stderr_console().print(_build_summary(result))


def _build_summary(result: BuildResult) -> Table:
    source = result.manifest["source"]
    origin = (
        f"built-in corpus (Python {source.get('python')})"
        if source.get("kind") == "builtin"
        else str(source.get("path"))
    )
    verb = "built" if result.built else "already up to date, nothing written:"
    table = Table(
        title=f"{verb} {escape(result.name)} from {escape(origin)}",
        title_justify="left",
        caption=f"dataset: {escape(str(result.dataset_dir))}\n"
        f"tokenizer: {escape(str(result.tokenizer_path))}",
        caption_justify="left",
    )
    for column in ("split", "documents", "tokens", "shards", "UTF-8 bytes", "LUT bytes"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split, summary in result.splits.items():
        table.add_row(
            split,
            f"{summary.documents:,}",
            f"{summary.tokens:,}",
            f"{len(summary.shards)}",
            f"{summary.utf8_bytes:,}",
            f"{summary.lut_bytes:,}",
        )
    return table


@data_app.command("fineweb")
@crash_exits_2
def fineweb(
    train_shards: TrainShards = None,
    variant: Variant = "sp1024",
    data_dir: DataDir = None,
    repo: HubRepo = DEFAULT_REPO,
    revision: Revision = None,
    quiet: FinewebQuiet = False,
) -> None:
    """Download the published challenge dataset and tokenizer from the Hugging Face hub.

    Files land in [bold]DIR/datasets/fineweb10B_<variant>/[/] and [bold]DIR/tokenizers/[/]. Files already there that check out are kept, so an interrupted download resumes. For a quick start, [bold]--train-shards 1[/] is enough.

    Exit codes: [bold]0[/] every file downloaded or already present; [bold]2[/] bad input, no network connection, or a file that cannot be downloaded or is damaged.
    """
    from pgolf_cli.data.fineweb import download_fineweb

    console = stderr_console()

    def report(repo_path: str, done: int, total: int, kept: bool) -> None:
        if not quiet:
            action = "kept" if kept else "downloaded"
            console.print(f"[dim]{done}/{total}[/] {action} {escape(repo_path)}", soft_wrap=True)

    try:
        result = download_fineweb(
            _data_dir(data_dir),
            variant,
            train_shards,
            repo_id=repo,
            revision=revision,
            progress=report,
        )
    except PgolfInputError as problem:
        fail(str(problem))
    if not quiet:
        _print_download(result, repo)


def _print_download(result: FinewebResult, repo: str) -> None:
    console = stderr_console()
    table = Table(
        title=f"{escape(result.dataset_dir.name)} from {escape(repo)}", title_justify="left"
    )
    for column in ("split", "shards", "tokens"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split, info in result.manifest["splits"].items():
        table.add_row(split, str(len(info["shards"])), f"{info['tokens']:,}")
    console.print(table)
    console.print(f"dataset: {escape(str(result.dataset_dir))}", soft_wrap=True)
    for path in result.tokenizer_paths:
        console.print(f"tokenizer: {escape(str(path))}", soft_wrap=True)
    console.print(
        f"{len(result.downloaded)} downloaded, {len(result.kept)} already present", soft_wrap=True
    )


@data_app.command("check-bytes")
@crash_exits_2
def check_bytes(
    tokenizer: Annotated[
        Path,
        typer.Argument(
            help="A sentencepiece .model file.", metavar="TOKENIZER", show_default=False
        ),
    ],
    text: Annotated[
        Path | None,
        typer.Argument(
            help="Documents to check, as for [bold]data build --text[/]. "
            "[dim]\\[default: the built-in corpus][/]",
            metavar="TEXT",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        CheckFormat,
        typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
    ] = CheckFormat.TEXT,
) -> None:
    """Prove that a tokenizer's byte LUTs count the true UTF-8 bytes of the text.

    val_bpb divides by the bytes the LUTs count; this compares them with the text's UTF-8 byte count per document and in total, and shows the pieces where they disagree.

    Exit codes: [bold]0[/] every document agrees; [bold]1[/] some document differs; [bold]2[/] bad input.
    """
    from pgolf_cli.data.check_bytes import check_bytes as run_check
    from pgolf_cli.data.corpus import builtin_corpus, read_text_documents
    from pgolf_cli.data.tokenizer import build_luts, load_tokenizer

    try:
        processor = load_tokenizer(tokenizer)
        corpus = builtin_corpus() if text is None else read_text_documents(text)
    except PgolfInputError as problem:
        fail(str(problem))
    result = run_check(processor, build_luts(processor), corpus.documents)
    source = "built-in corpus" if text is None else str(text)
    if output_format is CheckFormat.JSON:
        write_result(json.dumps(_check_json(result, tokenizer, source), indent=2))
    else:
        _print_check(result, tokenizer, source)
    raise typer.Exit(0 if result.ok else EXIT_FINDINGS)


def _check_json(result: ByteCheck, tokenizer: Path, source: str) -> dict[str, Any]:
    return {
        "tokenizer": str(tokenizer),
        "text": source,
        "ok": result.ok,
        "documents": result.documents,
        "tokens": result.tokens,
        "utf8_bytes": result.utf8_bytes,
        "lut_bytes": result.lut_bytes,
        "difference": result.difference,
        "mismatched_documents": len(result.mismatches),
        "mismatches": [
            {
                "document": doc.index,
                "tokens": doc.tokens,
                "utf8_bytes": doc.utf8_bytes,
                "lut_bytes": doc.lut_bytes,
                "difference": doc.difference,
                "pieces": [
                    {
                        "token_index": piece.token_index,
                        "pieces": list(piece.pieces),
                        "text": piece.text,
                        "context": piece.context,
                        "utf8_bytes": piece.utf8_bytes,
                        "lut_bytes": piece.lut_bytes,
                    }
                    for piece in doc.pieces
                ],
            }
            for doc in result.mismatches
        ],
    }


def _print_check(result: ByteCheck, tokenizer: Path, source: str) -> None:
    console = stdout_console()
    summary = Table(
        title=f"byte accounting of {escape(str(tokenizer))} on {escape(source)}",
        title_justify="left",
    )
    for column in ("documents", "tokens", "UTF-8 bytes", "LUT bytes", "difference", "mismatched"):
        summary.add_column(column, justify="right")
    summary.add_row(
        f"{result.documents:,}",
        f"{result.tokens:,}",
        f"{result.utf8_bytes:,}",
        f"{result.lut_bytes:,}",
        f"{result.difference:+,}",
        f"{len(result.mismatches):,}",
    )
    console.print(summary)
    if result.ok:
        console.print(
            "[green]ok[/]: the LUT byte count equals the UTF-8 byte count of every document"
        )
        return
    shown = result.mismatches[:SHOWN_MISMATCHES]
    details = Table(
        title=f"first {len(shown)} of {len(result.mismatches)} mismatched documents",
        title_justify="left",
    )
    for column in ("document", "UTF-8", "LUT", "diff"):
        details.add_column(column, justify="right")
    details.add_column("pieces that disagree, their text: UTF-8 → LUT bytes")
    for doc in shown:
        pieces = "\n".join(
            f"{escape(' '.join(piece.pieces))}  {escape(repr(piece.text))}: "
            f"{piece.utf8_bytes} → {piece.lut_bytes}  [dim]in {escape(repr(piece.context))}[/]"
            for piece in doc.pieces[:5]
        )
        if len(doc.pieces) > 5:
            pieces += f"\n… {len(doc.pieces) - 5} more"
        details.add_row(
            str(doc.index), str(doc.utf8_bytes), str(doc.lut_bytes), f"{doc.difference:+}", pieces
        )
    console.print(details)
    console.print(
        "[red]mismatch[/]: the LUTs do not count the bytes of the text; val_bpb computed with "
        "this tokenizer would be off by the difference above"
    )


__all__ = ["data_app"]
