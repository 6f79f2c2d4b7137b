"""Fixtures for the dataset tests. Nothing here may reach the network.

``HF_HUB_OFFLINE`` is set before anything imports huggingface_hub (it reads the variable once,
at import), and every test runs with socket connections refused.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sentencepiece as spm
from typer.testing import CliRunner, Result

from pgolf_cli.cli import app
from pgolf_cli.data.corpus import builtin_corpus
from pgolf_cli.data.shards import HEADER_BYTES, read_header
from pgolf_cli.data.tokenizer import train_tokenizer

# Hand-written documents: plain prose, digits, punctuation and a few non-ASCII characters.
DOCUMENTS = [
    "The first tee opens at seven in the morning, and the early players like the quiet.",
    "A par 4 hole of 380 yards asks for a long drive and a short iron to the green.",
    "Rain in the night left the fairways soft, so the ball stopped where it landed.",
    "She kept her scores in a small notebook: 82, 79, 85 and, once, a proud 74.",
    "The caddie said the wind would turn after noon. It did, and the putts got harder.",
    "Café owners near the course sell coffee to players who arrive before the sun.",
    "Counting strokes is simple; counting them honestly is the whole game.",
    "On the 12th green the slope runs left to right, faster than it looks from the fringe.",
    "Two friends played 18 holes in 3 hours and 40 minutes, then argued about the 9th.",
    "Some clubs are older than their players, with grips worn smooth by many summers.",
    "The scorecard lists the yardage for every tee: 512, 364, 178 and 401 on the front.",
    "When the fog lifted, the flags appeared one by one along the valley floor.",
    "Naïve beginners swing hard; patient ones swing smooth and find the ball again.",
    "The clubhouse clock stopped at 4:15 years ago, and nobody has wound it since.",
    "A bunker shot needs an open face, a steady head and a little faith in the sand.",
    "Evening light makes every green look closer than the numbers on the card say.",
]

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network access is disabled in the dataset tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("PGOLF_DATA", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


@pytest.fixture
def documents() -> list[str]:
    return list(DOCUMENTS)


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    """The documents as paragraphs separated by blank lines."""
    path = tmp_path / "corpus.txt"
    path.write_text("\n\n".join(DOCUMENTS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def builtin_docs() -> tuple[str, ...]:
    return builtin_corpus().documents


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory, builtin_docs: tuple[str, ...]) -> Path:
    """A 512-piece tokenizer trained on part of the built-in corpus."""
    folder = tmp_path_factory.mktemp("tokenizer")
    return train_tokenizer(builtin_docs[:2000], 512, folder / "small")


@pytest.fixture(scope="session")
def processor(trained_model: Path) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_file=str(trained_model))


@pytest.fixture
def invoke() -> Invoke:
    def run(*args: str | os.PathLike[str], env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, [str(a) for a in args], env=env)

    return run


ShardIds = Callable[[Path], list[int]]


@pytest.fixture
def shard_ids() -> ShardIds:
    """A shard's token ids as the training script reads them: uint16 after the header, which
    pgolf's own reader checks first."""

    def read(path: Path) -> list[int]:
        tokens = read_header(path)
        ids = np.fromfile(path, dtype="<u2", count=tokens, offset=HEADER_BYTES)
        return [int(token) for token in ids]

    return read
