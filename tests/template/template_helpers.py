"""Helpers for the template tests: import the template by path, make a tiny corpus, train a tiny
sentencepiece tokenizer and write shards, all independent of the template's own code."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import sentencepiece as spm

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "templates" / "train_gpt.py"

SYLLABLES = ["ka", "lo", "mi", "ne", "tor", "vas", "qu", "ri", "zen", "pa", "dul", "sho", "gri"]
# Non-ASCII words that stay unchanged under NFKC, so byte counts before and after normalisation
# agree; the rare ones fall back to <0xNN> byte pieces in a small vocabulary.
EXOTIC = ["café", "naïve", "Größe", "東京", "😀", "øre", "añejo", "Ωmega", "ß", "日本"]


def load_template() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pgolf_train_gpt_template", TEMPLATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve annotations through sys.modules, so register before executing.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def make_documents(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    vocab = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(400)]
    docs = []
    for _ in range(count):
        words = []
        for _ in range(rng.randint(8, 40)):
            r = rng.random()
            if r < 0.08:
                words.append(str(rng.randint(0, 99999)))
            elif r < 0.12:
                words.append(rng.choice(EXOTIC))
            else:
                word = rng.choice(vocab)
                words.append(word.capitalize() if rng.random() < 0.1 else word)
        docs.append(" ".join(words) + rng.choice([".", "!", "?", ","]))
    return docs


def train_tokenizer(docs: list[str], prefix: Path, vocab_size: int) -> spm.SentencePieceProcessor:
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(docs),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        model_type="bpe",
        byte_fallback=True,
        split_digits=True,
        normalization_rule_name="nmt_nfkc",
        add_dummy_prefix=False,
        pad_id=0,
        bos_id=1,
        eos_id=2,
        unk_id=3,
        character_coverage=0.995,
        num_threads=1,
        minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_file=f"{prefix}.model")


def write_shard(path: Path, tokens: np.ndarray) -> None:
    """The official layout: 256 little-endian int32 header words, then uint16 tokens."""
    header = np.zeros(256, dtype="<i4")
    header[0], header[1], header[2] = 20240520, 1, len(tokens)
    with path.open("wb") as f:
        f.write(header.tobytes())
        f.write(np.asarray(tokens, dtype="<u2").tobytes())


def encode_stream(sp: spm.SentencePieceProcessor, docs: list[str]) -> np.ndarray:
    out: list[int] = []
    for ids in sp.encode(docs):
        out.append(1)  # BOS before every document, no EOS
        out.extend(ids)
    return np.array(out, dtype=np.uint16)


# The tiny configuration the tests run (and the brief's CPU smoke config).
TINY_ENV = {
    "VOCAB_SIZE": "512",
    "NUM_LAYERS": "2",
    "MODEL_DIM": "64",
    "NUM_HEADS": "4",
    "NUM_KV_HEADS": "2",
    "TRAIN_SEQ_LEN": "128",
    "TRAIN_BATCH_TOKENS": "4096",
    "ITERATIONS": "30",
    "MAX_VAL_TOKENS": "16384",
    "WARMUP_STEPS": "2",
    "WARMDOWN_ITERS": "10",
    "VAL_LOSS_EVERY": "0",
    "TRAIN_LOG_EVERY": "10",
    "MAX_WALLCLOCK_SECONDS": "0",
}
