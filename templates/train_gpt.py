"""The pgolf reference pipeline for OpenAI's Parameter Golf challenge: one self-contained file.

Train a small GPT on FineWeb shards for at most MAX_WALLCLOCK_SECONDS, quantize it (int6 rows,
int8 embedding), compress it into `final_model.int6.ptz`, read that file back from disk into a
fresh model and score it in bits per byte (plain, sliding-window and, optionally, legal
score-first test-time training). Fork this file; the challenge counts its bytes.

Runs unchanged:
    python train_gpt.py                                    # one process, CPU or one GPU
    torchrun --standalone --nproc_per_node 8 train_gpt.py  # one node, N processes
    torchrun --nnodes 2 --node_rank R --rdzv_endpoint HOST:PORT --nproc_per_node 8 train_gpt.py
On CUDA it uses bf16 autocast, torch.compile, flash SDPA and NCCL; on CPU fp32 (CPU_BF16=1
for bf16 autocast), deterministic kernels and gloo. Every setting is an environment variable
(see Hyperparameters); rank 0 prints the log, and each node's first process prints `phase:` lines
saying what it is doing before and between the log lines (for a progress display).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import hashlib
import io
import lzma
import math
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, cast

import numpy as np
import sentencepiece as spm
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

TEMPLATE_VERSION = "0.1.0"

# =================================================================================================
# Hyperparameters
# =================================================================================================


@dataclass
class Hyperparameters:
    """Every knob of a run. Each field is read from the environment variable of the same name in
    upper case (`train_seq_len` <- TRAIN_SEQ_LEN). The defaults are the challenge baseline, so on
    8xH100 an empty environment is the challenge configuration."""

    # --- paths and run identity
    data_path: str = "./data/datasets/fineweb10B_sp1024"  # folder with fineweb_{train,val}_*.bin
    tokenizer_path: str = "./data/tokenizers/fineweb_1024_bpe.model"
    run_id: str = ""  # empty -> a fresh uuid4
    seed: int = 1337

    # --- validation and logging
    val_batch_size: int = 524_288  # tokens per evaluation batch, summed over all ranks
    val_loss_every: int = 1000  # steps between validations during training (0 = only at the end)
    train_log_every: int = 200  # steps between train-loss lines (0 = only the last step)
    max_val_tokens: int = 0  # 0 = the whole validation split; CPU presets cap it to stay short

    # --- schedule
    iterations: int = 20_000
    warmdown_iters: int = (
        1200  # LR decays linearly to 0 over the last this-many steps (or ms-equivalent)
    )
    warmup_steps: int = (
        20  # compile/warm-up steps; model and optimizer state are restored after them
    )
    train_batch_tokens: int = 524_288  # the global batch; independent of the number of processes
    train_seq_len: int = 1024
    max_wallclock_seconds: float = 600.0  # 0 disables the cap
    reserve_seconds: float = 0.0  # taken off the cap, for post-loop work that reads training data

    # --- model
    vocab_size: int = 1024
    num_layers: int = 9
    model_dim: int = 512
    num_heads: int = 8
    num_kv_heads: int = 4  # grouped-query attention: num_heads must be a multiple of this
    mlp_mult: float = 2.0
    mlp_negative_slope: float = 0.0  # 0 = relu^2; > 0 = leaky-relu^2
    tie_embeddings: bool = True
    rope_base: float = 10_000.0
    logit_softcap: float = 30.0
    qk_gain_init: float = 1.5

    # --- optimizers (Muon for block matrices, Adam for the rest)
    embed_lr: float = 0.6  # untied input embedding
    head_lr: float = 0.008  # untied output head
    tied_embed_lr: float = 0.05
    tied_embed_init_std: float = 0.005
    matrix_lr: float = 0.04
    scalar_lr: float = 0.04
    muon_momentum: float = 0.95
    muon_backend_steps: int = 5  # Newton-Schulz iterations
    muon_momentum_warmup_start: float = 0.85
    muon_momentum_warmup_steps: int = 500
    beta1: float = 0.9
    beta2: float = 0.95
    adam_eps: float = 1e-8
    grad_clip_norm: float = 0.0  # 0 = no clipping
    ema_decay: float = 0.9965  # EMA of the weights, swapped in after training; 0 disables
    # bf16 autocast on CPU too. Off: at CPU-preset sizes it measured 1.5x slower per step than
    # fp32 (casting every weight, every call) for the same val_bpb (docs/benchmarks.md).
    cpu_bf16: bool = False

    # --- export
    quant_keep_float_max_numel: int = 65_536  # tensors up to this size stay float (fp16/fp32)
    compressor: str = "auto"  # auto | zstd | brotli | lzma (auto = the smallest result)

    # --- evaluation
    eval_seq_len: int = 0  # 0 = TRAIN_SEQ_LEN
    eval_stride: int = 64  # sliding window: each later window scores its last EVAL_STRIDE tokens
    ttt_enabled: bool = False  # legal score-first test-time training on the dequantized model
    ttt_chunk_tokens: int = 32_768
    ttt_lr: float = 0.002
    ttt_momentum: float = 0.9
    ttt_epochs: int = 3
    ttt_batch_seqs: int = 32

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Hyperparameters:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            # With postponed annotations f.type is the annotation's source text.
            if f.type == "bool":
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif f.type == "int":
                values[f.name] = int(float(raw))  # accepts "1e6"-style counts
            elif f.type == "float":
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        hp = cls(**values)
        if not hp.run_id:
            hp.run_id = str(uuid.uuid4())
        if hp.eval_seq_len <= 0:
            hp.eval_seq_len = hp.train_seq_len
        return hp

    def dump(self) -> list[str]:
        lines = ["Hyperparameters:"]
        for f in fields(self):
            value = getattr(self, f.name)
            # Flags print as 0/1 so the dump can be pasted back as an environment.
            shown = int(value) if isinstance(value, bool) else value
            lines.append(f"  {f.name}: {shown}")
        return lines

    def validate(self, world_size: int) -> None:
        problems = []
        if self.model_dim % self.num_heads:
            problems.append("MODEL_DIM must be a multiple of NUM_HEADS")
        elif (self.model_dim // self.num_heads) % 2:
            problems.append("the head dimension MODEL_DIM/NUM_HEADS must be even (rotary)")
        if self.num_heads % self.num_kv_heads:
            problems.append("NUM_HEADS must be a multiple of NUM_KV_HEADS")
        if (
            self.train_batch_tokens // (world_size * grad_accum_steps(world_size))
            < self.train_seq_len
        ):
            problems.append(
                "TRAIN_BATCH_TOKENS is too small: each process needs at least one TRAIN_SEQ_LEN "
                "sequence per micro-step"
            )
        if not 1 <= self.eval_stride <= self.eval_seq_len:
            problems.append("EVAL_STRIDE must be between 1 and EVAL_SEQ_LEN")
        if not 2 <= self.vocab_size <= 65_536:
            problems.append("VOCAB_SIZE must fit the uint16 shards (<= 65536)")
        if problems:
            raise ValueError("bad hyperparameters: " + "; ".join(problems))


# =================================================================================================
# Distributed setup
# =================================================================================================


@dataclass
class Dist:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    cpu_bf16: bool = False

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def master(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1 and dist.is_available() and dist.is_initialized()

    def log(self, message: str) -> None:
        if self.master:
            print(message, flush=True)

    def phase(self, what: str) -> None:
        """Say what this node is about to do (`phase:<what>`), so whoever watches the output
        sees progress through work that prints nothing else. Each node's first process prints
        it: on a multi-node run the other nodes see no log lines at all."""
        if self.local_rank == 0:
            print(f"phase:{what}", flush=True)

    def sync(self) -> None:
        # Timings must not include kernels still queued from before the clock starts or stops.
        if self.is_cuda:
            torch.cuda.synchronize(self.device)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.is_cuda or self.cpu_bf16:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def all_reduce(self, tensor: Tensor, op: Any = None) -> Tensor:
        if self.distributed:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM if op is None else op)
        return tensor


def setup_distributed(cpu_bf16: bool = False) -> Dist:
    """torchrun sets RANK/WORLD_SIZE/LOCAL_RANK; plain `python train_gpt.py` has none of them and
    runs as world_size 1 without a process group."""
    rank = int(os.environ.get("RANK", "0"))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        # Flash attention does the work; math stays on as the fallback for shapes flash rejects.
        torch.backends.cuda.enable_flash_sdp(True)
        torch.backends.cuda.enable_mem_efficient_sdp(False)
        torch.backends.cuda.enable_math_sdp(True)
    else:
        device = torch.device("cpu")
        # The same seed must give the same run whatever else the machine is doing; CPU kernels
        # with a run-to-run varying order would make a rerun differ in the last bits.
        torch.use_deterministic_algorithms(True)
    if world_size > 1:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world_size, local_rank, device, cpu_bf16=cpu_bf16 and device.type == "cpu")


def grad_accum_steps(world_size: int) -> int:
    """The global batch is cut into 8 micro-batches (as in the baseline), spread over the ranks:
    8 processes do 1 micro-step each, 2 do 4, 1 does 8. Every micro-batch therefore has the same
    shape whatever the process count, so 1, 2, 4 or 8 processes (CPU or GPU) run the same
    optimisation. Counts that do not divide 8 still work (3 -> 2 micro-steps, 16 -> 1) but round
    the per-rank batch down to whole sequences."""
    return max(1, 8 // world_size)


# =================================================================================================
# Data loading
# =================================================================================================

SHARD_MAGIC = 20240520
SHARD_VERSION = 1
SHARD_HEADER_WORDS = 256
SHARD_HEADER_BYTES = SHARD_HEADER_WORDS * 4
BOS_ID = 1  # every document starts with BOS; there is no EOS


class ShardError(ValueError):
    """A file that is not a valid token shard; the message names the file."""


def shard_token_count(path: Path) -> int:
    """Validate a shard's header and size without reading its payload."""
    size = path.stat().st_size
    if size < SHARD_HEADER_BYTES:
        raise ShardError(
            f"{path}: {size} bytes is shorter than the {SHARD_HEADER_BYTES}-byte header"
        )
    header = np.fromfile(path, dtype="<i4", count=SHARD_HEADER_WORDS)
    if int(header[0]) != SHARD_MAGIC:
        raise ShardError(f"{path}: bad magic {int(header[0])} (expected {SHARD_MAGIC})")
    if int(header[1]) != SHARD_VERSION:
        raise ShardError(f"{path}: unsupported shard version {int(header[1])}")
    count = int(header[2])
    expected = SHARD_HEADER_BYTES + 2 * count
    if count < 0 or size != expected:
        raise ShardError(
            f"{path}: file is {size} bytes but its header says {count} tokens "
            f"(expected {expected} bytes = 1024 + 2 x tokens)"
        )
    return count


def load_shard(path: Path) -> np.ndarray:
    count = shard_token_count(path)
    return np.fromfile(path, dtype="<u2", count=count, offset=SHARD_HEADER_BYTES)


def list_shards(data_path: str | Path, split: str) -> list[Path]:
    # CaseOps datasets put fineweb_val_bytes_*.bin next to the val shards: same header, but the
    # payload is byte counts, not tokens.
    paths = sorted(Path(data_path).glob(f"fineweb_{split}_*.bin"))
    return [p for p in paths if "_bytes_" not in p.name]


def load_validation_tokens(paths: list[Path], max_tokens: int = 0) -> Tensor:
    if not paths:
        raise FileNotFoundError("no validation shards (fineweb_val_*.bin) found")
    tokens = np.concatenate([load_shard(p) for p in paths])
    if max_tokens > 0:
        tokens = tokens[:max_tokens]
    if tokens.size < 2:
        raise ValueError("validation needs at least 2 tokens")
    return torch.from_numpy(tokens.astype(np.int64))


class TokenStream:
    """The training shards read in order, one at a time, wrapping around at the end."""

    def __init__(self, paths: list[Path]) -> None:
        if not paths:
            raise FileNotFoundError("no training shards (fineweb_train_*.bin) found")
        if sum(shard_token_count(p) for p in paths) == 0:
            raise ValueError("the training shards hold no tokens")
        self.paths = paths
        self.index = 0
        self.tokens = load_shard(paths[0])
        self.pos = 0

    def take(self, n: int) -> np.ndarray:
        parts = []
        while n > 0:
            if self.pos >= self.tokens.size:
                self.index = (self.index + 1) % len(self.paths)
                self.tokens = load_shard(self.paths[self.index])
                self.pos = 0
                continue
            k = min(n, self.tokens.size - self.pos)
            parts.append(self.tokens[self.pos : self.pos + k])
            self.pos += k
            n -= k
        return np.concatenate(parts)


class DistributedTokenLoader:
    """Each micro-step, all ranks read the same span of the stream and each keeps its own
    disjoint slice (plus one token, so inputs and targets are a one-token shift). Rank r at
    micro-step m of a W-rank run gets the (m*W + r)-th slice: the same slices, in the same
    order, that one process would get, which keeps runs with different process counts equal."""

    def __init__(self, paths: list[Path], rank: int, world_size: int, device: torch.device) -> None:
        self.stream = TokenStream(paths)
        self.rank = rank
        self.world_size = world_size
        self.device = device

    def next_batch(
        self, global_tokens: int, seq_len: int, grad_accum: int
    ) -> tuple[Tensor, Tensor]:
        local = global_tokens // (self.world_size * grad_accum) // seq_len * seq_len
        span = local + 1
        chunk = self.stream.take(span * self.world_size)
        mine = chunk[self.rank * span : (self.rank + 1) * span]
        t = torch.from_numpy(mine.astype(np.int64)).to(self.device, non_blocking=True)
        return t[:-1].view(-1, seq_len), t[1:].view(-1, seq_len)


# =================================================================================================
# Tokenizer-agnostic BPB
# =================================================================================================


@dataclass
class ByteLuts:
    """Per token id: UTF-8 bytes of the piece without its leading "▁", whether it had one, and
    whether it is a boundary (control/unknown/unused) token after which a space is not text."""

    base_bytes: Tensor  # int32
    has_leading_space: Tensor  # bool
    is_boundary: Tensor  # bool

    def to(self, device: torch.device) -> ByteLuts:
        return ByteLuts(
            self.base_bytes.to(device),
            self.has_leading_space.to(device),
            self.is_boundary.to(device),
        )


def build_sentencepiece_luts(sp: spm.SentencePieceProcessor, vocab_size: int) -> ByteLuts:
    size = max(vocab_size, sp.vocab_size())
    base = torch.zeros(size, dtype=torch.int32)
    space = torch.zeros(size, dtype=torch.bool)
    # Ids the tokenizer does not have are treated like control tokens: 0 bytes and a boundary.
    boundary = torch.ones(size, dtype=torch.bool)
    for i in range(sp.vocab_size()):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
            continue
        boundary[i] = False
        if sp.is_byte(i):  # <0xNN> stands for exactly one raw byte
            base[i] = 1
            continue
        piece = sp.id_to_piece(i)
        if piece.startswith("▁"):
            space[i] = True
            piece = piece[1:]
        base[i] = len(piece.encode("utf-8"))
    return ByteLuts(base, space, boundary)


def token_bytes(luts: ByteLuts, prev: Tensor, target: Tensor) -> Tensor:
    """Bytes of text each target token stands for. The leading space is one byte, but only when
    the previous token is real text: a space right after BOS is not in the document."""
    extra = luts.has_leading_space[target] & ~luts.is_boundary[prev]
    return luts.base_bytes[target] + extra.to(torch.int32)


# =================================================================================================
# Model
# =================================================================================================

# SDPA learned to broadcast K/V heads itself (enable_gqa) in torch 2.5.
_SDPA_HAS_GQA = tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 5)


def rms_norm(x: Tensor) -> Tensor:
    return F.rms_norm(x, (x.size(-1),))


class Rotary(nn.Module):
    inv_freq: Tensor

    def __init__(self, head_dim: int, base: float) -> None:
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        # Not persistent: derived from hyperparameters, so it stays out of the artifact.
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, seq_len: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        # Recomputed per call (cheap) so any eval length works without a cache.
        t = torch.arange(seq_len, device=self.inv_freq.device, dtype=torch.float32)
        freqs = torch.outer(t, self.inv_freq)
        return freqs.cos()[None, None].to(dtype), freqs.sin()[None, None].to(dtype)


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos + x2 * sin, x2 * cos - x1 * sin), dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, hp: Hyperparameters) -> None:
        super().__init__()
        self.num_heads = hp.num_heads
        self.num_kv_heads = hp.num_kv_heads
        self.head_dim = hp.model_dim // hp.num_heads
        kv_dim = self.num_kv_heads * self.head_dim
        self.c_q = nn.Linear(hp.model_dim, hp.model_dim, bias=False)
        self.c_k = nn.Linear(hp.model_dim, kv_dim, bias=False)
        self.c_v = nn.Linear(hp.model_dim, kv_dim, bias=False)
        self.proj = nn.Linear(hp.model_dim, hp.model_dim, bias=False)
        nn.init.zeros_(self.proj.weight)  # each block starts as the identity
        # q and k are RMS-normalised, so this per-head gain is the attention temperature.
        self.q_gain = nn.Parameter(torch.full((hp.num_heads,), hp.qk_gain_init))
        self.rotary = Rotary(self.head_dim, hp.rope_base)

    def forward(self, x: Tensor) -> Tensor:
        b, t, c = x.shape
        q = self.c_q(x).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.c_k(x).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.c_v(x).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)
        # Under autocast rms_norm may come back in fp32; SDPA wants one dtype for q, k and v.
        q, k = rms_norm(q).to(v.dtype), rms_norm(k).to(v.dtype)
        cos, sin = self.rotary(t, q.dtype)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        q = q * self.q_gain.to(q.dtype)[None, :, None, None]
        if self.num_kv_heads == self.num_heads:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        elif _SDPA_HAS_GQA:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        else:
            groups = self.num_heads // self.num_kv_heads
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out: Tensor = self.proj(y.transpose(1, 2).reshape(b, t, c))
        return out


class MLP(nn.Module):
    def __init__(self, hp: Hyperparameters) -> None:
        super().__init__()
        hidden = int(hp.mlp_mult * hp.model_dim)
        self.fc = nn.Linear(hp.model_dim, hidden, bias=False)
        self.proj = nn.Linear(hidden, hp.model_dim, bias=False)
        nn.init.zeros_(self.proj.weight)
        self.negative_slope = hp.mlp_negative_slope

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.proj(F.leaky_relu(self.fc(x), self.negative_slope).square())
        return out


class Block(nn.Module):
    def __init__(self, hp: Hyperparameters) -> None:
        super().__init__()
        self.attn = CausalSelfAttention(hp)
        self.mlp = MLP(hp)
        # Learned per-channel branch scales and a mix of the running stream with the embedding x0.
        self.attn_scale = nn.Parameter(torch.ones(hp.model_dim))
        self.mlp_scale = nn.Parameter(torch.ones(hp.model_dim))
        self.resid_mix = nn.Parameter(
            torch.stack((torch.ones(hp.model_dim), torch.zeros(hp.model_dim)))
        )

    def forward(self, x: Tensor, x0: Tensor) -> Tensor:
        mix = self.resid_mix.to(x.dtype)
        x = mix[0] * x + mix[1] * x0
        x = x + self.attn_scale.to(x.dtype) * self.attn(rms_norm(x))
        out: Tensor = x + self.mlp_scale.to(x.dtype) * self.mlp(rms_norm(x))
        return out


class GPT(nn.Module):
    """Pre-norm GPT with a U-Net shortcut: the first half of the blocks push their outputs, the
    second half pops them back in (weighted) in reverse order."""

    def __init__(self, hp: Hyperparameters) -> None:
        super().__init__()
        self.logit_softcap = hp.logit_softcap
        self.tok_emb = nn.Embedding(hp.vocab_size, hp.model_dim)
        self.num_encoder = hp.num_layers // 2
        self.num_decoder = hp.num_layers - self.num_encoder
        self.skip_weights = nn.Parameter(
            torch.ones(min(self.num_encoder, self.num_decoder), hp.model_dim)
        )
        self.blocks = nn.ModuleList(Block(hp) for _ in range(hp.num_layers))
        self.lm_head: nn.Linear | None = None
        if hp.tie_embeddings:
            nn.init.normal_(self.tok_emb.weight, std=hp.tied_embed_init_std)
        else:
            self.lm_head = nn.Linear(hp.model_dim, hp.vocab_size, bias=False)
            nn.init.zeros_(self.lm_head.weight)

    def hidden(self, input_ids: Tensor) -> Tensor:
        x = rms_norm(self.tok_emb(input_ids))
        x0 = x
        skips = []
        for i in range(self.num_encoder):
            x = self.blocks[i](x, x0)
            skips.append(x)
        for i in range(self.num_decoder):
            if skips:
                x = x + self.skip_weights[i].to(x.dtype) * skips.pop()
            x = self.blocks[self.num_encoder + i](x, x0)
        return rms_norm(x)

    def forward(self, input_ids: Tensor, target_ids: Tensor, score_from: int = 0) -> Tensor:
        """Per-token NLL (nats, fp32) of the targets at positions >= score_from. The vocabulary
        projection runs only on those positions, which is what makes sliding windows cheap."""
        h = self.hidden(input_ids)[:, score_from:]
        weight = self.tok_emb.weight if self.lm_head is None else self.lm_head.weight
        logits = F.linear(h, weight.to(h.dtype)).float()
        logits = self.logit_softcap * torch.tanh(logits / self.logit_softcap)
        targets = target_ids[:, score_from:]
        nll = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="none"
        )
        return nll.view(targets.shape)


# =================================================================================================
# Optimizers
# =================================================================================================

CONTROL_TENSOR_PATTERNS = ("attn_scale", "mlp_scale", "resid_mix", "q_gain", "skip_weight")


def is_control_tensor(name: str) -> bool:
    return any(pattern in name for pattern in CONTROL_TENSOR_PATTERNS)


def newton_schulz(g: Tensor, steps: int) -> Tensor:
    """Approximately orthogonalise g (push its singular values towards 1) with a quintic
    Newton-Schulz iteration. The coefficients trade exactness for speed: singular values land
    roughly in [0.7, 1.2], which is all Muon needs. bf16 on GPU (fast, good enough), fp32 on CPU."""
    a, b, c = 3.4445, -4.7750, 2.0315
    x = g.bfloat16() if g.is_cuda else g.float()
    transposed = x.size(0) > x.size(1)
    if transposed:  # iterate on the smaller Gram matrix
        x = x.T
    x = x / (x.norm() + 1e-7)  # spectral norm <= Frobenius norm <= 1: inside the convergence region
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    if transposed:
        x = x.T
    out: Tensor = x.to(g.dtype)
    return out


class Muon(torch.optim.Optimizer):
    """SGD with Nesterov momentum whose update is orthogonalised per matrix. With several ranks
    each one orthogonalises every world_size-th matrix and an all-reduce shares the results, so
    the update is the same as in one process."""

    def __init__(
        self,
        params: list[Tensor],
        lr: float,
        momentum: float,
        backend_steps: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "backend_steps": backend_steps})
        self.rank = rank
        self.world_size = world_size

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> None:  # type: ignore[override]
        share = self.world_size > 1 and dist.is_available() and dist.is_initialized()
        for group in self.param_groups:
            params: list[Tensor] = group["params"]
            if not params:
                continue
            flat = torch.zeros(
                sum(p.numel() for p in params),
                device=params[0].device,
                dtype=torch.bfloat16 if params[0].is_cuda else torch.float32,
            )
            offset = 0
            for i, p in enumerate(params):
                if i % self.world_size == self.rank and p.grad is not None:
                    buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p.grad))
                    buf.mul_(group["momentum"]).add_(p.grad)
                    update = p.grad.add(buf, alpha=group["momentum"])  # Nesterov
                    update = newton_schulz(update, group["backend_steps"])
                    # Orthogonal updates of tall matrices have smaller entries; rescale to match.
                    update = update * max(1.0, p.size(0) / p.size(1)) ** 0.5
                    flat[offset : offset + p.numel()] = update.flatten()
                offset += p.numel()
            if share:
                dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            offset = 0
            for p in params:
                p.add_(flat[offset : offset + p.numel()].view_as(p).to(p.dtype), alpha=-group["lr"])
                offset += p.numel()


def build_optimizers(model: GPT, hp: Hyperparameters, d: Dist) -> list[torch.optim.Optimizer]:
    """Muon for the 2-D matrices inside the blocks; Adam for the embedding, an untied head and
    the small control tensors (gains, scales, mixes), which orthogonalisation would destroy."""
    matrices: list[Tensor] = []
    scalars: list[Tensor] = []
    for name, p in model.blocks.named_parameters():
        (matrices if p.ndim == 2 and not is_control_tensor(name) else scalars).append(p)
    scalars.append(model.skip_weights)
    adam_kwargs: dict[str, Any] = {"betas": (hp.beta1, hp.beta2), "eps": hp.adam_eps}
    if d.is_cuda:
        adam_kwargs["fused"] = True
    embed_lr = hp.tied_embed_lr if hp.tie_embeddings else hp.embed_lr
    adam_groups: list[dict[str, Any]] = [
        {"params": [model.tok_emb.weight], "lr": embed_lr, "base_lr": embed_lr},
        {"params": scalars, "lr": hp.scalar_lr, "base_lr": hp.scalar_lr},
    ]
    if model.lm_head is not None:
        adam_groups.append(
            {"params": [model.lm_head.weight], "lr": hp.head_lr, "base_lr": hp.head_lr}
        )
    muon = Muon(
        matrices, hp.matrix_lr, hp.muon_momentum, hp.muon_backend_steps, d.rank, d.world_size
    )
    for group in muon.param_groups:
        group["base_lr"] = hp.matrix_lr
    return [torch.optim.Adam(adam_groups, **adam_kwargs), muon]


class EMA:
    """Exponential moving average of the weights, kept in fp32 and swapped in after training.
    The decay ramps up as (1+n)/(10+n) so short runs are not dominated by the initial weights."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        state = model.state_dict()
        self.names = [k for k, v in state.items() if v.is_floating_point()]
        self.shadow = [state[k].detach().float().clone() for k in self.names]

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        state = model.state_dict()  # views of the live tensors, no copies
        torch._foreach_lerp_(self.shadow, [state[k].float() for k in self.names], 1.0 - decay)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        state = model.state_dict()
        for name, value in zip(self.names, self.shadow, strict=True):
            state[name].copy_(value.to(state[name].dtype))


# =================================================================================================
# Training loop
# =================================================================================================


def lr_scale(step: int, elapsed_ms: float, hp: Hyperparameters, cap_ms: float | None) -> float:
    """1 until the warmdown, then linear to 0. The warmdown is the last WARMDOWN_ITERS steps; under
    a wallclock cap it is also the last WARMDOWN_ITERS x (average step time) milliseconds, and
    whichever comes first wins, so a run ends cooled down whether steps or time run out."""
    if hp.warmdown_iters <= 0:
        return 1.0
    by_steps = min(1.0, max(hp.iterations - step, 0) / hp.warmdown_iters)
    if cap_ms is None:
        return by_steps
    warmdown_ms = hp.warmdown_iters * elapsed_ms / max(step, 1)
    remaining_ms = max(cap_ms - elapsed_ms, 0.0)
    by_time = remaining_ms / warmdown_ms if remaining_ms < warmdown_ms else 1.0
    return min(by_steps, by_time)


def wallclock_cap_ms(hp: Hyperparameters) -> float | None:
    if hp.max_wallclock_seconds <= 0:
        return None
    return max(hp.max_wallclock_seconds - hp.reserve_seconds, 0.0) * 1000.0


def cap_reached(elapsed_ms: float, steps_done: int, cap_ms: float | None) -> bool:
    """Stop when another step of average length would end past the cap, so train_time stays
    inside it rather than overshooting by one step."""
    if cap_ms is None:
        return False
    return elapsed_ms + elapsed_ms / max(steps_done, 1) >= cap_ms


def agree_to_stop(local_flag: bool, d: Dist) -> bool:
    """Ranks see slightly different clocks; if any one of them wants to stop, all stop at the same
    step (MAX), or the next collective would hang."""
    flag = torch.tensor(int(local_flag), device=d.device)
    d.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


@dataclass
class TrainContext:
    hp: Hyperparameters
    d: Dist
    model: GPT  # the plain module (state, EMA, export)
    step_model: nn.Module  # what forward/backward runs through (compiled and/or DDP-wrapped)
    eval_model: nn.Module  # compiled but not DDP-wrapped
    optimizers: list[torch.optim.Optimizer]
    make_loader: Callable[[], DistributedTokenLoader]
    validate: Callable[[nn.Module], tuple[float, float]]


@dataclass
class TrainResult:
    steps: int
    train_time_ms: float
    stopped_early: bool


def training_step(
    ctx: TrainContext, loader: DistributedTokenLoader, step: int, scale: float
) -> Tensor:
    hp, d = ctx.hp, ctx.d
    accum = grad_accum_steps(d.world_size)
    total = torch.zeros((), device=d.device)
    for micro in range(accum):
        x, y = loader.next_batch(hp.train_batch_tokens, hp.train_seq_len, accum)
        if isinstance(ctx.step_model, DistributedDataParallel):
            # All-reduce the gradients once, on the last micro-step, not after every backward.
            ctx.step_model.require_backward_grad_sync = micro == accum - 1
        with d.autocast():
            loss = ctx.step_model(x, y).mean()
        (loss / accum).backward()
        total += loss.detach()
    # Muon's momentum ramps up from MUON_MOMENTUM_WARMUP_START over the first steps.
    frac = min(step / max(hp.muon_momentum_warmup_steps, 1), 1.0)
    start = hp.muon_momentum_warmup_start
    momentum = start + frac * (hp.muon_momentum - start)
    for opt in ctx.optimizers:
        for group in opt.param_groups:
            group["lr"] = group["base_lr"] * scale
            if isinstance(opt, Muon):
                group["momentum"] = momentum
    if hp.grad_clip_norm > 0:
        torch.nn.utils.clip_grad_norm_(ctx.model.parameters(), hp.grad_clip_norm)
    for opt in ctx.optimizers:
        opt.step()
    ctx.model.zero_grad(set_to_none=True)
    return total / accum


def warm_up(ctx: TrainContext) -> None:
    """Run WARMUP_STEPS real steps so compilation and allocator growth happen off the clock, then
    put the model and optimizers back exactly as they were: warm-up is not training."""
    if ctx.hp.warmup_steps <= 0:
        return
    ctx.d.phase(f"warmup steps:{ctx.hp.warmup_steps}")
    model_state = copy.deepcopy(ctx.model.state_dict())
    opt_states = [copy.deepcopy(opt.state_dict()) for opt in ctx.optimizers]
    loader = ctx.make_loader()
    for step in range(ctx.hp.warmup_steps):
        training_step(ctx, loader, step, 1.0)
    ctx.model.load_state_dict(model_state)
    for opt, state in zip(ctx.optimizers, opt_states, strict=True):
        opt.load_state_dict(state)
    ctx.model.zero_grad(set_to_none=True)


def train(ctx: TrainContext, ema: EMA | None) -> TrainResult:
    """Train until ITERATIONS or the wallclock cap. With an EMA its weights are swapped in before
    the last validation, so that line scores the weights the export quantizes and the gap to the
    roundtrip score is the quantization's alone."""
    hp, d = ctx.hp, ctx.d
    cap_ms = wallclock_cap_ms(hp)
    warm_up(ctx)
    loader = ctx.make_loader()  # fresh stream: training sees the tokens warm-up consumed
    if hp.val_loss_every <= 0 and hp.iterations > 0:
        d.phase("training")  # otherwise a validation at step 0 comes first, and says so
    tokens_per_step = hp.train_batch_tokens
    train_ms = 0.0
    stop_after: int | None = None
    step = 0
    d.sync()
    t0 = time.perf_counter()
    while True:
        last = step == hp.iterations or (stop_after is not None and step >= stop_after)
        if last or (hp.val_loss_every > 0 and step % hp.val_loss_every == 0):
            # Validation is not training: the clock pauses around it.
            d.sync()
            train_ms += 1000 * (time.perf_counter() - t0)
            if last and ema is not None:
                ema.copy_to(ctx.model)
            d.phase(f"validation step:{step}/{hp.iterations}")
            ctx.model.eval()
            val_loss, val_bpb = ctx.validate(ctx.eval_model)
            ctx.model.train()
            d.log(
                f"step:{step}/{hp.iterations} val_loss:{val_loss:.4f} val_bpb:{val_bpb:.4f} "
                f"train_time:{train_ms:.0f}ms step_avg:{train_ms / max(step, 1):.2f}ms"
            )
            if not last:
                d.phase("training")
            d.sync()
            t0 = time.perf_counter()
        if last:
            stopped_early = step < hp.iterations
            if stopped_early:
                d.log(
                    f"stopping_early: wallclock_cap train_time:{train_ms:.0f}ms step:{step}/{hp.iterations}"
                )
            return TrainResult(step, train_ms, stopped_early)
        elapsed_ms = train_ms + 1000 * (time.perf_counter() - t0)
        loss = training_step(ctx, loader, step, lr_scale(step, elapsed_ms, hp, cap_ms))
        if ema is not None:
            ema.update(ctx.model)
        step += 1
        elapsed_ms = train_ms + 1000 * (time.perf_counter() - t0)
        if (
            stop_after is None
            and cap_ms is not None
            and agree_to_stop(cap_reached(elapsed_ms, step, cap_ms), d)
        ):
            stop_after = step
        final = step == hp.iterations or stop_after is not None
        if final or (hp.train_log_every > 0 and step % hp.train_log_every == 0):
            # The mean over all ranks: each rank only saw its share of the batch.
            loss = d.all_reduce(loss.detach().clone()) / d.world_size
            d.log(
                f"step:{step}/{hp.iterations} train_loss:{loss.item():.4f} train_time:{elapsed_ms:.0f}ms "
                f"step_avg:{elapsed_ms / step:.2f}ms tok_s:{tokens_per_step * step / max(elapsed_ms / 1000, 1e-9):.0f}"
            )


# =================================================================================================
# Quantization
# =================================================================================================

QUANT_FORMAT = "pgolf_int6_rows_v1"
MATRIX_BITS = 6
EMBED_BITS = 8
EMBEDDING_NAMES = ("tok_emb.weight",)
CLIP_PERCENTILES = (0.999, 0.9995, 0.9999, 0.99999, 1.0)
# Smallest normal fp16: a smaller scale would lose relative precision when stored as fp16, and
# then the largest entries of a row could land outside [-qmax, qmax].
MIN_SCALE = 2.0**-14


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def quantize_rows(
    w: Tensor, bits: int, percentiles: tuple[float, ...] = CLIP_PERCENTILES
) -> tuple[Tensor, Tensor]:
    """Symmetric per-row quantization to [-qmax, qmax] with an fp16 scale per row. For each row it
    tries clipping at several percentiles of |w| and keeps the one with the smallest
    reconstruction error: clipping a few outliers buys finer steps for all the other entries.
    1.0 (no clipping) is always a candidate, so the search is never worse than no clip."""
    qmax = 2 ** (bits - 1) - 1
    w = w.detach().float()
    cols = w.size(1)
    sorted_abs = w.abs().sort(dim=1).values
    best_err = torch.full((w.size(0),), math.inf)
    best_q = torch.zeros(w.shape, dtype=torch.int8)
    best_scale = torch.zeros(w.size(0), dtype=torch.float16)
    for p in percentiles:
        # Linear interpolation between order statistics, as torch.quantile does; plain indexing
        # would make every percentile above 1 - 1/cols the row maximum.
        pos = p * (cols - 1)
        lo = min(int(pos), cols - 1)
        hi = min(lo + 1, cols - 1)
        clip = torch.lerp(sorted_abs[:, lo], sorted_abs[:, hi], pos - lo)
        scale = (clip / qmax).clamp_min(MIN_SCALE).half()
        s = scale.float()[:, None]
        q = torch.clamp(torch.round(w / s), -qmax, qmax)
        err = (q * s - w).square().sum(dim=1)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_q[better] = q[better].to(torch.int8)
        best_scale[better] = scale[better]
    return best_q, best_scale


def quantize_state_dict(
    state: Mapping[str, Tensor], keep_float_max_numel: int = 65_536
) -> dict[str, Any]:
    """Route every tensor (the baseline routing of docs/challenge.md, int6 for matrices):
    non-float -> as is; small float -> fp32 for control tensors, fp16 otherwise; the embedding ->
    int8 rows; other 2-D matrices -> int6 rows; other large tensors -> int8 with one scale."""
    entries: dict[str, dict[str, Any]] = {}
    for name, tensor in state.items():
        t = tensor.detach().cpu()
        dtype = _dtype_name(t.dtype)
        if not t.is_floating_point():
            entries[name] = {"kind": "raw", "data": t.clone()}
        elif t.numel() <= keep_float_max_numel:
            keep = torch.float32 if is_control_tensor(name) else torch.float16
            entries[name] = {"kind": "float", "data": t.to(keep).clone(), "dtype": dtype}
        elif t.ndim == 2:
            bits = EMBED_BITS if name in EMBEDDING_NAMES else MATRIX_BITS
            q, scale = quantize_rows(t, bits)
            entries[name] = {"kind": "rows", "q": q, "scale": scale, "dtype": dtype}
        else:
            step = max(t.abs().max().item() / 127.0, MIN_SCALE)
            q = torch.clamp(torch.round(t.float() / step), -127, 127).to(torch.int8)
            entries[name] = {"kind": "tensor", "q": q, "scale": torch.tensor(step), "dtype": dtype}
    return {"format": QUANT_FORMAT, "entries": entries}


def dequantize_state_dict(obj: Mapping[str, Any]) -> dict[str, Tensor]:
    if obj.get("format") != QUANT_FORMAT:
        raise ValueError(f"unknown quantized format {obj.get('format')!r}")
    out: dict[str, Tensor] = {}
    for name, e in obj["entries"].items():
        if e["kind"] == "raw":
            out[name] = e["data"]
            continue
        dtype = getattr(torch, e["dtype"])
        if e["kind"] == "float":
            out[name] = e["data"].to(dtype)
        elif e["kind"] == "rows":
            out[name] = (e["q"].float() * e["scale"].float()[:, None]).to(dtype)
        else:
            out[name] = (e["q"].float() * e["scale"].float()).to(dtype)
    return out


# =================================================================================================
# Compression
# =================================================================================================

ARTIFACT_MAGIC = b"PGZ1"  # then 1 byte codec id, 1 byte shuffle stride, then the payload


def _zstd(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=22).compress(data)


def _unzstd(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdDecompressor().decompress(data)


def _brotli(data: bytes) -> bytes:
    import brotli

    return bytes(brotli.compress(data, quality=11))


def _unbrotli(data: bytes) -> bytes:
    import brotli

    return bytes(brotli.decompress(data))


# name -> (id in the header, compress, decompress). The imports are lazy so a missing optional
# package only matters when that codec is asked for.
CODECS: dict[str, tuple[int, Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "zstd-22": (1, _zstd, _unzstd),
    "brotli-11": (2, _brotli, _unbrotli),
    "lzma-9": (3, lambda b: lzma.compress(b, preset=9), lzma.decompress),
}


def byte_shuffle(data: bytes, stride: int) -> bytes:
    """De-interleave: all bytes at offset 0 mod stride, then 1 mod stride, ... (the tail that
    does not fill a stride is kept as is). Puts e.g. the high bytes of fp16 values together."""
    if stride <= 1:
        return data
    arr = np.frombuffer(data, dtype=np.uint8)
    body = len(arr) // stride * stride
    return arr[:body].reshape(-1, stride).T.tobytes() + arr[body:].tobytes()


def byte_unshuffle(data: bytes, stride: int) -> bytes:
    if stride <= 1:
        return data
    arr = np.frombuffer(data, dtype=np.uint8)
    body = len(arr) // stride * stride
    return arr[:body].reshape(stride, -1).T.tobytes() + arr[body:].tobytes()


def available_codecs(choice: str) -> list[str]:
    if choice == "auto":
        names = []
        for name, (_, compress, _) in CODECS.items():
            try:
                compress(b"probe")
            except ImportError:
                continue
            names.append(name)
        return names
    matches = [name for name in CODECS if name == choice or name.split("-")[0] == choice]
    if not matches:
        raise ValueError(f"COMPRESSOR={choice!r}: expected auto, zstd, brotli or lzma")
    return matches


def compress_artifact(
    raw: bytes, choice: str = "auto", strides: tuple[int, ...] = (1, 2)
) -> tuple[bytes, str]:
    """Compress with every requested codec, with and without the byte shuffle, and keep the
    smallest. The header records the codec and stride so decompression needs no settings."""
    candidates = [(name, stride) for name in available_codecs(choice) for stride in strides]

    def run(candidate: tuple[str, int]) -> bytes:
        name, stride = candidate
        codec_id, compress, _ = CODECS[name]
        return ARTIFACT_MAGIC + bytes((codec_id, stride)) + compress(byte_shuffle(raw, stride))

    # The codecs release the GIL, so threads compress in parallel.
    with ThreadPoolExecutor(max_workers=len(candidates)) as pool:
        blobs = list(pool.map(run, candidates))
    best = min(range(len(blobs)), key=lambda i: len(blobs[i]))
    return blobs[best], candidates[best][0]


def decompress_artifact(blob: bytes) -> bytes:
    if blob[:4] != ARTIFACT_MAGIC or len(blob) < 6:
        raise ValueError("not a pgolf artifact (bad magic)")
    codec_id, stride = blob[4], blob[5]
    for known_id, _, decompress in CODECS.values():
        if known_id == codec_id:
            return byte_unshuffle(decompress(blob[6:]), stride)
    raise ValueError(f"unknown codec id {codec_id}")


# =================================================================================================
# Roundtrip
# =================================================================================================


def serialize_model(model: nn.Module, hp: Hyperparameters) -> tuple[bytes, str]:
    buf = io.BytesIO()
    torch.save(quantize_state_dict(model.state_dict(), hp.quant_keep_float_max_numel), buf)
    return compress_artifact(buf.getvalue(), hp.compressor)


def deserialize_state(blob: bytes) -> dict[str, Tensor]:
    obj = torch.load(io.BytesIO(decompress_artifact(blob)), map_location="cpu", weights_only=True)
    return dequantize_state_dict(obj)


def read_artifact(path: Path, d: Dist) -> bytes:
    """Rank 0 reads the artifact back from disk; the other ranks get its exact bytes by broadcast
    (on several nodes they may not see rank 0's disk)."""
    blob = path.read_bytes() if d.master else b""
    if not d.distributed:
        return blob
    size = torch.tensor([len(blob)], dtype=torch.int64, device=d.device)
    dist.broadcast(size, src=0)
    data = torch.zeros(int(size.item()), dtype=torch.uint8, device=d.device)
    if d.master:
        data.copy_(torch.frombuffer(bytearray(blob), dtype=torch.uint8))
    dist.broadcast(data, src=0)
    return bytes(data.cpu().numpy().tobytes())


# =================================================================================================
# Evaluation
# =================================================================================================


@dataclass(frozen=True)
class Window:
    """Inputs tokens[start : start+length], targets tokens[start+1 : start+length+1]; only
    positions score_from..length-1 are scored (earlier ones are context)."""

    start: int
    length: int
    score_from: int


def plain_windows(num_tokens: int, seq_len: int) -> list[Window]:
    """Non-overlapping blocks; the remainder becomes one shorter block so every target counts."""
    inputs = num_tokens - 1
    windows = [Window(s, seq_len, 0) for s in range(0, inputs - seq_len + 1, seq_len)]
    tail = inputs - len(windows) * seq_len
    if tail > 0:
        windows.append(Window(inputs - tail, tail, 0))
    return windows


def sliding_windows(num_tokens: int, seq_len: int, stride: int) -> list[Window]:
    """Windows every `stride` tokens; the first scores everything, later ones their last `stride`
    positions, so each scored token sees >= seq_len - stride tokens of context. If the stride
    leaves a remainder, one last full-length window ending at the final token scores only the
    positions not yet scored. Every target is scored exactly once."""
    inputs = num_tokens - 1
    if inputs <= seq_len:
        return [Window(0, inputs, 0)] if inputs > 0 else []
    windows = [Window(0, seq_len, 0)]
    covered = seq_len
    start = stride
    while start + seq_len <= inputs:
        windows.append(Window(start, seq_len, seq_len - stride))
        covered = start + seq_len
        start += stride
    if covered < inputs:
        windows.append(Window(inputs - seq_len, seq_len, seq_len - (inputs - covered)))
    return windows


def rank_share(items: list[Window], d: Dist) -> list[Window]:
    """A contiguous, disjoint share per rank."""
    n = len(items)
    return items[d.rank * n // d.world_size : (d.rank + 1) * n // d.world_size]


def window_batches(windows: list[Window], batch_seqs: int) -> Iterator[list[Window]]:
    """Consecutive windows of the same shape, at most batch_seqs at a time."""
    batch: list[Window] = []
    for w in windows:
        if batch and (
            len(batch) == batch_seqs
            or (w.length, w.score_from) != (batch[0].length, batch[0].score_from)
        ):
            yield batch
            batch = []
        batch.append(w)
    if batch:
        yield batch


@torch.no_grad()
def score_windows(
    model: nn.Module,
    windows: list[Window],
    tokens: Tensor,
    luts: ByteLuts,
    batch_seqs: int,
    d: Dist,
) -> Tensor:
    """Local [nll sum, token count, byte count] in float64 for the scored positions of `windows`."""
    sums = torch.zeros(3, dtype=torch.float64, device=d.device)
    for batch in window_batches(windows, batch_seqs):
        length, score_from = batch[0].length, batch[0].score_from
        starts = torch.tensor([w.start for w in batch], device=d.device)
        idx = starts[:, None] + torch.arange(length + 1, device=d.device)[None, :]
        seqs = tokens[idx]
        x, y = seqs[:, :-1], seqs[:, 1:]
        with d.autocast():
            nll = model(x, y, score_from)
        sums[0] += nll.double().sum()
        sums[1] += nll.numel()
        sums[2] += token_bytes(luts, x[:, score_from:], y[:, score_from:]).double().sum()
    return sums


def loss_and_bpb(sums: Tensor) -> tuple[float, float]:
    nll, count, nbytes = (float(v) for v in sums.tolist())
    return nll / count, nll / (math.log(2) * nbytes)


def eval_batch_seqs(hp: Hyperparameters, world_size: int, seq_len: int) -> int:
    # Same per-rank memory as a training micro-batch at the baseline sizes.
    return max(1, hp.val_batch_size // (world_size * grad_accum_steps(world_size)) // seq_len)


def evaluate(
    model: nn.Module,
    windows: list[Window],
    tokens: Tensor,
    luts: ByteLuts,
    hp: Hyperparameters,
    d: Dist,
    seq_len: int,
) -> tuple[float, float]:
    was_training = model.training
    model.eval()
    sums = score_windows(
        model, rank_share(windows, d), tokens, luts, eval_batch_seqs(hp, d.world_size, seq_len), d
    )
    model.train(was_training)
    return loss_and_bpb(d.all_reduce(sums))


def all_reduce_grads(params: Sequence[Tensor], d: Dist) -> None:
    if not d.distributed:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.flatten() for g in grads])
    d.all_reduce(flat)
    offset = 0
    for p in params:
        p.grad = flat[offset : offset + p.numel()].view_as(p).clone()
        offset += p.numel()


def ttt_train_chunk(
    model: nn.Module, opt: torch.optim.Optimizer, chunk: Tensor, hp: Hyperparameters, d: Dist
) -> None:
    """SGD on an already-scored chunk. Rows of each batch are split over the ranks and each loss
    is normalised by the whole batch's token count, so the summed gradient is the one-process one."""
    seq_len = hp.train_seq_len
    n = (chunk.numel() - 1) // seq_len
    if n == 0:
        return
    x = chunk[: n * seq_len].view(n, seq_len)
    y = chunk[1 : n * seq_len + 1].view(n, seq_len)
    params = [p for p in model.parameters() if p.requires_grad]
    model.train()
    for _ in range(hp.ttt_epochs):
        for b0 in range(0, n, hp.ttt_batch_seqs):
            rows = min(hp.ttt_batch_seqs, n - b0)
            lo = b0 + d.rank * rows // d.world_size
            hi = b0 + (d.rank + 1) * rows // d.world_size
            if hi > lo:
                with d.autocast():
                    loss = model(x[lo:hi], y[lo:hi]).sum() / (rows * seq_len)
                loss.backward()
            all_reduce_grads(params, d)
            opt.step()
            opt.zero_grad(set_to_none=True)


def eval_legal_ttt(
    model: nn.Module, tokens: Tensor, luts: ByteLuts, hp: Hyperparameters, d: Dist
) -> tuple[float, float]:
    """Legal score-first TTT: the sliding windows are grouped into chunks of TTT_CHUNK_TOKENS
    scored targets. Each chunk is scored first (no_grad, added to the sums), and only then does
    the model train on exactly the tokens it just scored. The last chunk is not trained on."""
    windows = sliding_windows(tokens.numel(), hp.eval_seq_len, hp.eval_stride)
    chunks: list[list[Window]] = []
    for w in windows:
        index = (w.start + w.score_from) // hp.ttt_chunk_tokens
        if (
            not chunks
            or index != (chunks[-1][0].start + chunks[-1][0].score_from) // hp.ttt_chunk_tokens
        ):
            chunks.append([])
        chunks[-1].append(w)
    opt = torch.optim.SGD(model.parameters(), lr=hp.ttt_lr, momentum=hp.ttt_momentum)
    batch_seqs = eval_batch_seqs(hp, d.world_size, hp.eval_seq_len)
    loss_sum = torch.zeros(3, dtype=torch.float64, device=d.device)
    for ci, chunk_windows in enumerate(chunks):
        model.eval()
        with torch.no_grad():
            loss_sum += score_windows(
                model, rank_share(chunk_windows, d), tokens, luts, batch_seqs, d
            )
        if ci == len(chunks) - 1:
            break
        # Targets first..end-1 were scored above; inputs start one token earlier.
        first = chunk_windows[0].start + chunk_windows[0].score_from + 1
        end = chunk_windows[-1].start + chunk_windows[-1].length + 1
        ttt_train_chunk(model, opt, tokens[first - 1 : end], hp, d)
    model.eval()
    return loss_and_bpb(d.all_reduce(loss_sum))


# =================================================================================================
# Main
# =================================================================================================


def peak_memory_mib(d: Dist) -> tuple[float, float]:
    if d.is_cuda:
        return torch.cuda.max_memory_allocated() / 2**20, torch.cuda.max_memory_reserved() / 2**20
    # No allocator statistics on CPU: report the process's peak resident set for both.
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return rss, rss


def main() -> None:
    hp = Hyperparameters.from_env()
    d = setup_distributed(cpu_bf16=hp.cpu_bf16)
    hp.validate(d.world_size)
    code = Path(__file__).read_bytes()
    torch.manual_seed(hp.seed)  # identical initial weights on every rank
    np.random.seed(hp.seed)

    device_name = torch.cuda.get_device_name(d.device) if d.is_cuda else "cpu"
    d.log(f"pgolf_template: {TEMPLATE_VERSION}")
    d.log(
        f"python: {platform.python_version()} torch: {torch.__version__} cuda: {torch.version.cuda or 'none'} "
        f"device: {device_name} world_size: {d.world_size}"
    )
    d.log(f"command: {' '.join(sys.argv)}")
    d.log(f"code_sha256: {hashlib.sha256(code).hexdigest()}")
    for line in hp.dump():
        d.log(line)

    d.phase("data")
    sp = spm.SentencePieceProcessor(model_file=hp.tokenizer_path)
    if sp.vocab_size() != hp.vocab_size:
        raise ValueError(
            f"{hp.tokenizer_path} has {sp.vocab_size()} pieces but VOCAB_SIZE={hp.vocab_size}"
        )
    luts = build_sentencepiece_luts(sp, hp.vocab_size).to(d.device)
    train_paths = list_shards(hp.data_path, "train")
    val_paths = list_shards(hp.data_path, "val")
    val_tokens = load_validation_tokens(val_paths, hp.max_val_tokens).to(d.device)
    train_tokens = sum(shard_token_count(p) for p in train_paths)
    val_bytes = int(token_bytes(luts, val_tokens[:-1], val_tokens[1:]).sum().item())
    d.log(
        f"data: train_shards:{len(train_paths)} val_shards:{len(val_paths)} train_tokens:{train_tokens} "
        f"val_tokens:{val_tokens.numel()} val_bytes:{val_bytes}"
    )

    model = GPT(hp).to(d.device)
    # Default (automatic) dynamic shapes: training compiles once for its fixed shape; eval's odd
    # shapes (the last partial batch, the tail window) cost one extra dynamic compile, not one each.
    compiled = cast(nn.Module, torch.compile(model)) if d.is_cuda else model
    step_model: nn.Module = compiled
    if d.world_size > 1:
        step_model = DistributedDataParallel(
            compiled, device_ids=[d.local_rank] if d.is_cuda else None
        )
    plain = plain_windows(val_tokens.numel(), hp.train_seq_len)
    ctx = TrainContext(
        hp=hp,
        d=d,
        model=model,
        step_model=step_model,
        eval_model=compiled,
        optimizers=build_optimizers(model, hp, d),
        make_loader=lambda: DistributedTokenLoader(train_paths, d.rank, d.world_size, d.device),
        validate=lambda m: evaluate(m, plain, val_tokens, luts, hp, d, hp.train_seq_len),
    )
    ema = EMA(model, hp.ema_decay) if hp.ema_decay > 0 else None
    train(ctx, ema)  # leaves the EMA weights in `model`
    allocated, reserved = peak_memory_mib(d)
    d.log(f"peak memory allocated: {allocated:.0f} MiB reserved: {reserved:.0f} MiB")

    # Export: only rank 0 writes; everyone then reads the same bytes back.
    d.phase("export")
    artifact = Path("final_model.int6.ptz")
    if d.master:
        blob, codec = serialize_model(model, hp)
        artifact.write_bytes(blob)
        d.log(f"Code size: {len(code)} bytes")
        d.log(f"Serialized model int6+{codec}: {len(blob)} bytes")
        d.log(f"Total submission size int6+{codec}: {len(code) + len(blob)} bytes")
    if d.distributed:
        dist.barrier()

    # Roundtrip: a fresh model, strictly loaded from what is on disk, is the only thing scored.
    fresh = GPT(hp).to(d.device)
    fresh.load_state_dict(deserialize_state(read_artifact(artifact, d)), strict=True)
    scorer = cast(nn.Module, torch.compile(fresh)) if d.is_cuda else fresh
    total_eval_s = 0.0

    d.phase(f"eval final_int6_roundtrip windows:{len(plain)}")
    d.sync()
    t = time.perf_counter()
    loss, bpb = evaluate(scorer, plain, val_tokens, luts, hp, d, hp.train_seq_len)
    d.sync()
    ms = 1000 * (time.perf_counter() - t)
    total_eval_s += ms / 1000
    d.log(f"final_int6_roundtrip val_loss:{loss:.4f} val_bpb:{bpb:.4f} eval_time:{ms:.0f}ms")
    d.log(f"final_int6_roundtrip_exact val_loss:{loss:.8f} val_bpb:{bpb:.8f}")

    sliding = sliding_windows(val_tokens.numel(), hp.eval_seq_len, hp.eval_stride)
    d.phase(f"eval final_sliding_window windows:{len(sliding)}")
    d.sync()
    t = time.perf_counter()
    loss, bpb = evaluate(scorer, sliding, val_tokens, luts, hp, d, hp.eval_seq_len)
    d.sync()
    ms = 1000 * (time.perf_counter() - t)
    total_eval_s += ms / 1000
    d.log(
        f"final_sliding_window val_loss:{loss:.4f} val_bpb:{bpb:.4f} stride:{hp.eval_stride} "
        f"eval_seq_len:{hp.eval_seq_len} eval_time:{ms:.0f}ms"
    )
    d.log(f"final_sliding_window_exact val_loss:{loss:.8f} val_bpb:{bpb:.8f}")

    if hp.ttt_enabled:
        d.phase("eval legal_ttt")
        d.sync()
        t = time.perf_counter()
        loss, bpb = eval_legal_ttt(scorer, val_tokens, luts, hp, d)
        d.sync()
        ms = 1000 * (time.perf_counter() - t)
        total_eval_s += ms / 1000
        d.log(f"legal_ttt val_loss:{loss:.4f} val_bpb:{bpb:.4f} eval_time:{ms:.0f}ms")
        d.log(f"legal_ttt_exact val_loss:{loss:.8f} val_bpb:{bpb:.8f}")
    d.log(f"total_eval_time:{total_eval_s:.1f}s")


if __name__ == "__main__":
    main()
    # Tear down after main()'s frame is gone, so no DDP reducer or pending gloo work outlives the
    # process group, and together, so no rank leaves while its peer is mid-collective: either
    # can make gloo abort a rank at exit ("terminate called without an active exception").
    if dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
