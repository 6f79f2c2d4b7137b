"""A small GPT trainer that breaks the rules: "pre-quant TTT" (an example for `pgolf audit`).

After training, ttt_adapt() fine-tunes the model on the validation tokens and only then is the
model quantized and scored on those same tokens, so the reported score measures memorisation
of the evaluation set. `pgolf audit` reports this as PG101.
"""

from __future__ import annotations

import glob
import io
import math
import os
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
ITERATIONS = int(os.environ.get("ITERATIONS", "2000"))
SEQ_LEN = int(os.environ.get("TRAIN_SEQ_LEN", "512"))
BATCH_SEQS = int(os.environ.get("BATCH_SEQS", "16"))
TTT_EPOCHS = int(os.environ.get("TTT_EPOCHS", "3"))
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


def ttt_adapt(model: nn.Module, val_tokens: torch.Tensor, epochs: int) -> None:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    for _epoch in range(epochs):
        for start in range(0, val_tokens.numel() - SEQ_LEN - 1, SEQ_LEN):
            local = val_tokens[start : start + SEQ_LEN + 1]
            x, y = local[:-1][None], local[1:][None]
            loss = model(x, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)


def quantize_int8(model: nn.Module) -> bytes:
    quantized = {}
    for name, weight in model.state_dict().items():
        scale = weight.abs().max().clamp(min=1e-8) / 127
        quantized[name] = ((weight / scale).round().to(torch.int8), scale)
    buffer = io.BytesIO()
    torch.save(quantized, buffer)
    return zlib.compress(buffer.getvalue(), 9)


def final_eval(model: nn.Module, val_tokens: torch.Tensor) -> float:
    model.eval()
    loss_sum, byte_count = 0.0, 0.0
    with torch.no_grad():
        for start in range(0, val_tokens.numel() - SEQ_LEN - 1, SEQ_LEN):
            local = val_tokens[start : start + SEQ_LEN + 1]
            loss_sum += float(model(local[:-1][None], local[1:][None])) * SEQ_LEN
            byte_count += SEQ_LEN * BYTES_PER_TOKEN
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
    ttt_adapt(model, val_tokens, TTT_EPOCHS)
    blob = quantize_int8(model)
    with open("final_model.int8.ptz", "wb") as handle:
        handle.write(blob)
    print(f"Serialized model int8+zlib: {len(blob)} bytes")
    print(f"final_int8_zlib_roundtrip val_bpb:{final_eval(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
