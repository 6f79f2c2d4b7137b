"""A small GPT trainer with legal score-first test-time training (an example for `pgolf audit`).

Training reads only the training shards. Validation runs under torch.no_grad() while training
(a diagnostic) and once at the end, chunk by chunk: each chunk is scored first and only then
used for a few adaptation steps, so no token is ever predicted by weights that saw it.
"""

from __future__ import annotations

import glob
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
ITERATIONS = int(os.environ.get("ITERATIONS", "2000"))
SEQ_LEN = int(os.environ.get("TRAIN_SEQ_LEN", "512"))
BATCH_SEQS = int(os.environ.get("BATCH_SEQS", "16"))
VAL_LOSS_EVERY = int(os.environ.get("VAL_LOSS_EVERY", "500"))
TTT_CHUNK_TOKENS = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))
TTT_LR = float(os.environ.get("TTT_LR", "1e-4"))
MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
BYTES_PER_TOKEN = 2.4  # a stand-in; the real script counts bytes with the tokenizer's LUTs


def load_shard(path: str) -> torch.Tensor:
    header = np.fromfile(path, dtype="<i4", count=256)
    tokens = np.fromfile(path, dtype="<u2", count=int(header[2]), offset=256 * 4)
    return torch.from_numpy(tokens.astype(np.int64))


def load_validation_tokens(pattern: str) -> torch.Tensor:
    return torch.cat([load_shard(p) for p in sorted(glob.glob(pattern))])


class TinyGPT(nn.Module):
    def __init__(self, vocab: int = 1024, dim: int = 256, layers: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        block = nn.TransformerEncoderLayer(dim, 4, 4 * dim, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, layers)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        mask = nn.Transformer.generate_square_subsequent_mask(x.size(1))
        h = self.blocks(self.embed(x), mask=mask, is_causal=True)
        logits = self.head(h)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))


def evaluate(model: nn.Module, val_tokens: torch.Tensor) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, val_tokens.numel() - SEQ_LEN - 1, SEQ_LEN):
            local = val_tokens[start : start + SEQ_LEN + 1]
            total += float(model(local[:-1][None], local[1:][None])) * SEQ_LEN
            count += SEQ_LEN
    model.train()
    return total / max(count, 1)


def score_first_ttt(model: nn.Module, val_tokens: torch.Tensor) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=TTT_LR)
    chunks = val_tokens.split(TTT_CHUNK_TOKENS + 1)
    loss_sum, byte_count = 0.0, 0.0
    for ci, chunk in enumerate(chunks):
        x, y = chunk[:-1][None], chunk[1:][None]
        model.eval()
        with torch.no_grad():
            loss_sum += float(model(x, y)) * y.numel()
            byte_count += y.numel() * BYTES_PER_TOKEN
        if ci == len(chunks) - 1:
            break
        # Only now, with every token of this chunk already scored, may the chunk teach the model.
        model.train()
        loss = model(x, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return loss_sum / math.log(2) / byte_count


def main() -> None:
    torch.manual_seed(int(os.environ.get("SEED", "1337")))
    train_tokens = torch.cat(
        [load_shard(p) for p in sorted(glob.glob(f"{DATA_PATH}/fineweb_train_*.bin"))]
    )
    val_tokens = load_validation_tokens(f"{DATA_PATH}/fineweb_val_*.bin")
    model = TinyGPT()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    started = time.perf_counter()
    for step in range(ITERATIONS):
        if time.perf_counter() - started > MAX_WALLCLOCK_SECONDS:
            print(f"stopping_early: wallclock_cap step:{step}")
            break
        starts = torch.randint(0, train_tokens.numel() - SEQ_LEN - 1, (BATCH_SEQS,))
        batch = torch.stack([train_tokens[s : s + SEQ_LEN + 1] for s in starts.tolist()])
        loss = model(batch[:, :-1], batch[:, 1:])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if VAL_LOSS_EVERY and step % VAL_LOSS_EVERY == 0:
            print(f"step:{step} val_loss:{evaluate(model, val_tokens):.4f}")
    torch.save(model.state_dict(), "final_model.pt")
    print(f"final_ttt val_bpb:{score_first_ttt(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
