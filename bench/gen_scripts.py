"""Generate large, realistic Parameter Golf ``train_gpt.py`` scripts for the audit benchmarks.

Each script has the shape real submissions have: a Hyperparameters class reading dozens of
environment variables, distributed setup, a shard loader, tokenizer-agnostic BPB, a GPT with
GQA attention and a BigramHash embedding, Muon, a wallclock-capped training loop, int6/int8
quantization with compression and a roundtrip, sliding-window evaluation and score-first
chunked TTT. Seeded variations of realistic helper functions and classes (schedules, MLP and
attention variants, config dataclasses, packers, minified one-liners) fill it to the requested
size. Output is a pure function of (seed, index, size), so benchmark runs are comparable.

Usage:
    python bench/gen_scripts.py --count 80 --size-kb 150 --out bench/out/scripts
"""

from __future__ import annotations

import argparse
import ast
import random
import sys
from collections.abc import Callable
from pathlib import Path
from string import Template

DEFAULT_SIZE_KB = 150.0
DEFAULT_OUT = Path("bench/out/scripts")

# ---------------------------------------------------------------------------------------------
# Word pools for names and prose. Varying them by seed keeps the files from being identical
# copies, which would let caches or a lucky branch predictor flatter the timings.
# ---------------------------------------------------------------------------------------------

_VERBS = (
    "compute",
    "build",
    "apply",
    "make",
    "estimate",
    "fuse",
    "project",
    "collect",
    "prepare",
    "resolve",
    "select",
    "merge",
)
_NOUNS = (
    "schedule",
    "scale",
    "mask",
    "table",
    "stats",
    "groups",
    "weights",
    "buffer",
    "plan",
    "bias",
    "gains",
    "spans",
)
_ADJECTIVES = (
    "Fast",
    "Lite",
    "Gated",
    "Sparse",
    "Local",
    "Tiny",
    "Shared",
    "Mixed",
    "Deep",
    "Wide",
    "Stable",
    "Lean",
)
_CLASS_NOUNS = (
    "MLP",
    "Attention",
    "Config",
    "Tracker",
    "EMA",
    "Embedding",
    "Table",
    "Mixer",
    "Gate",
    "Averager",
)
_FIELD_WORDS = (
    "rank",
    "width",
    "depth",
    "ratio",
    "decay",
    "warmup",
    "budget",
    "stride",
    "margin",
    "floor",
    "gain",
    "cap",
)
_DOCS = (
    "Tuned on 1xH100 sweeps; the 8-GPU run uses the same values.",
    "Kept separate so ablations can swap it without touching the model.",
    "Cheap enough to run every step; the cost is a few kernels.",
    "The constants came from a small grid search over three seeds.",
    "Numerically safe in bf16: all reductions happen in fp32.",
    "Only used by the ablation runs; the record configuration leaves it off.",
    "Mirrors the reference implementation but avoids a host sync.",
    "Shapes follow the attention layout (batch, heads, time, head_dim).",
    "Returns new tensors; inputs are never modified in place.",
    "Bytes matter here: the int6 payload dominates the artifact size.",
    "Works per row so outlier rows do not inflate every scale.",
    "Deterministic for a fixed seed, which keeps runs comparable.",
    "Falls back to the plain path when the tensor is too small to matter.",
    "Written for clarity first; torch.compile fuses the elementwise ops.",
    "This is the variant that survived the 3-seed significance check.",
    "Uses only training-time statistics; nothing here looks at validation data.",
)
_COMMENTS = (
    "# Helpers below are shared by the ablation variants.",
    "# NOTE: keep these in sync with the quantizer's control-tensor patterns.",
    "# Small utilities; each one is cheap and has no global state.",
    "# Variants tried during the sweep, kept for reproducibility.",
    "# These run on every rank; only rank 0 writes files.",
    "# Everything here is fp32 on purpose: bf16 loses the small updates.",
    "# fmt: off -- the minified lines below are deliberate, they save bytes.",
    "# TODO(sweep): try the wider variant once the budget allows it.",
)


def _doc(rng: random.Random) -> str:
    return " ".join(rng.sample(_DOCS, rng.randint(1, 2)))


def _num(rng: random.Random, lo: float, hi: float, digits: int = 4) -> str:
    return repr(round(rng.uniform(lo, hi), digits))


class _Namer:
    """Hands out identifiers that are unique within one generated file."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def _unique(self, base: str) -> str:
        name = base
        n = 2
        while name in self._used:
            name = f"{base}{n}" if base[-1].isalpha() else f"{base}_{n}"
            n += 1
        self._used.add(name)
        return name

    def func(self) -> str:
        return self._unique(f"{self._rng.choice(_VERBS)}_{self._rng.choice(_NOUNS)}")

    def cls(self) -> str:
        return self._unique(f"{self._rng.choice(_ADJECTIVES)}{self._rng.choice(_CLASS_NOUNS)}")

    def const(self) -> str:
        return self._unique(
            f"{self._rng.choice(_NOUNS).upper()}_{self._rng.choice(_FIELD_WORDS).upper()}"
        )

    def fields(self, n: int) -> list[str]:
        words = self._rng.sample(_FIELD_WORDS, n)
        return [f"{w}_{self._rng.choice(_NOUNS)}" for w in words]


# ---------------------------------------------------------------------------------------------
# The Hyperparameters class
# ---------------------------------------------------------------------------------------------

# (attribute, env var, kind, default factory). The core script reads every one of these.
_Field = tuple[str, str, str, Callable[[random.Random], str]]


def _choice(*values: object) -> Callable[[random.Random], str]:
    return lambda rng: str(rng.choice(values))


_CORE_FIELDS: tuple[_Field, ...] = (
    ("seed", "SEED", "int", _choice(1337, 42, 2024, 7)),
    ("val_batch_size", "VAL_BATCH_SIZE", "int", _choice(524288, 262144)),
    ("val_loss_every", "VAL_LOSS_EVERY", "int", _choice(0, 250, 500, 1000)),
    ("train_log_every", "TRAIN_LOG_EVERY", "int", _choice(50, 100, 200)),
    ("iterations", "ITERATIONS", "int", _choice(20000, 9000, 7200, 12000)),
    ("warmdown_iters", "WARMDOWN_ITERS", "int", _choice(1200, 3000, 3500, 4000)),
    ("warmup_steps", "WARMUP_STEPS", "int", _choice(20, 10, 0)),
    ("train_batch_tokens", "TRAIN_BATCH_TOKENS", "int", _choice(524288, 786432)),
    ("train_seq_len", "TRAIN_SEQ_LEN", "int", _choice(1024, 2048)),
    ("max_wallclock_seconds", "MAX_WALLCLOCK_SECONDS", "float", _choice(600.0, 590.0, 585.0)),
    ("qk_gain_init", "QK_GAIN_INIT", "float", _choice(1.5, 2.0, 4.0)),
    ("vocab_size", "VOCAB_SIZE", "int", _choice(1024)),
    ("num_layers", "NUM_LAYERS", "int", _choice(9, 10, 11, 12)),
    ("num_kv_heads", "NUM_KV_HEADS", "int", _choice(4, 2)),
    ("model_dim", "MODEL_DIM", "int", _choice(512, 576, 640)),
    ("num_heads", "NUM_HEADS", "int", _choice(8)),
    ("mlp_mult", "MLP_MULT", "int", _choice(2, 3, 4)),
    ("tie_embeddings", "TIE_EMBEDDINGS", "bool", _choice(1)),
    ("rope_base", "ROPE_BASE", "float", _choice(10000.0, 50000.0)),
    ("logit_softcap", "LOGIT_SOFTCAP", "float", _choice(30.0, 20.0, 15.0)),
    ("embed_lr", "EMBED_LR", "float", _choice(0.6, 0.5)),
    ("head_lr", "HEAD_LR", "float", _choice(0.008, 0.01)),
    ("tied_embed_lr", "TIED_EMBED_LR", "float", _choice(0.05, 0.035, 0.03)),
    ("tied_embed_init_std", "TIED_EMBED_INIT_STD", "float", _choice(0.005, 0.01)),
    ("matrix_lr", "MATRIX_LR", "float", _choice(0.04, 0.025, 0.02)),
    ("scalar_lr", "SCALAR_LR", "float", _choice(0.04, 0.025, 0.02)),
    ("muon_momentum", "MUON_MOMENTUM", "float", _choice(0.95, 0.99)),
    ("muon_backend_steps", "MUON_BACKEND_STEPS", "int", _choice(5, 4)),
    ("muon_momentum_warmup_start", "MUON_MOMENTUM_WARMUP_START", "float", _choice(0.85, 0.92)),
    ("muon_momentum_warmup_steps", "MUON_MOMENTUM_WARMUP_STEPS", "int", _choice(500, 1500)),
    ("beta1", "BETA1", "float", _choice(0.9, 0.8)),
    ("beta2", "BETA2", "float", _choice(0.95, 0.99)),
    ("adam_eps", "ADAM_EPS", "float", _choice(1e-8, 1e-10)),
    ("grad_clip_norm", "GRAD_CLIP_NORM", "float", _choice(0.0, 0.3, 1.0)),
    ("ema_enabled", "EMA_ENABLED", "bool", _choice(0, 1)),
    ("ema_decay", "EMA_DECAY", "float", _choice(0.997, 0.999)),
    ("quant_bits", "QUANT_BITS", "int", _choice(6, 8)),
    ("eval_stride", "EVAL_STRIDE", "int", _choice(64, 128, 256)),
    ("eval_batch_seqs", "EVAL_BATCH_SEQS", "int", _choice(32, 64)),
    ("ttt_enabled", "TTT_ENABLED", "bool", _choice(1, 0)),
    ("ttt_lr", "TTT_LR", "float", _choice(0.002, 0.005, 0.01)),
    ("ttt_momentum", "TTT_MOMENTUM", "float", _choice(0.9, 0.0)),
    ("ttt_epochs", "TTT_EPOCHS", "int", _choice(1, 2, 3)),
    ("ttt_chunk_tokens", "TTT_CHUNK_TOKENS", "int", _choice(32768, 65536)),
    ("ttt_batch_seqs", "TTT_BATCH_SEQS", "int", _choice(16, 32)),
    ("ttt_freeze_blocks", "TTT_FREEZE_BLOCKS", "int", _choice(0, 2)),
    ("bigram_vocab_size", "BIGRAM_VOCAB_SIZE", "int", _choice(2048, 4096, 10240)),
    ("bigram_dim", "BIGRAM_DIM", "int", _choice(128, 96)),
)

# Knobs real records carry for features this script does not exercise; they make the class as
# long as the real ones without changing the pipeline.
_EXTRA_FIELDS: tuple[_Field, ...] = (
    ("xsa_last_n", "XSA_LAST_N", "int", _choice(0, 3, 4)),
    ("ve_dim", "VE_DIM", "int", _choice(64, 128)),
    ("swa_enabled", "SWA_ENABLED", "bool", _choice(0, 1)),
    ("swa_every", "SWA_EVERY", "int", _choice(50, 100, 200)),
    ("late_qat_threshold", "LATE_QAT_THRESHOLD", "float", _choice(0.1, 0.15, 0.25)),
    ("ln_scale", "LN_SCALE", "bool", _choice(0, 1)),
    ("rope_dims", "ROPE_DIMS", "int", _choice(16, 32, 64)),
    ("muon_wd", "MUON_WD", "float", _choice(0.0, 0.02, 0.04)),
    ("adam_wd", "ADAM_WD", "float", _choice(0.0, 0.01)),
    ("value_residual", "VALUE_RESIDUAL", "bool", _choice(0, 1)),
    ("unet_skips", "UNET_SKIPS", "bool", _choice(1)),
    ("mtp_heads", "MTP_NUM_HEADS", "int", _choice(0, 1, 2)),
    ("mtp_loss_weight", "MTP_LOSS_WEIGHT", "float", _choice(0.1, 0.2)),
    ("trigram_enabled", "TRIGRAM_ENABLED", "bool", _choice(0)),
    ("compile_model", "COMPILE_MODEL", "bool", _choice(1)),
    ("fused_adam", "FUSED_ADAM", "bool", _choice(1, 0)),
    ("grad_accum_override", "GRAD_ACCUM_STEPS", "int", _choice(0)),
    ("ortho_init", "ORTHO_INIT", "bool", _choice(0, 1)),
    ("clip_search", "CLIP_SEARCH", "bool", _choice(0, 1)),
    ("prune_ratio", "PRUNE_RATIO", "float", _choice(0.0, 0.02, 0.05)),
)


def _render_field(rng: random.Random, attr: str, env: str, kind: str, default: str) -> str:
    quoted = rng.random() < 0.7  # submissions mix "123" and 123 defaults freely
    if kind == "bool":
        if rng.random() < 0.8:
            return f'    {attr} = bool(int(os.environ.get("{env}", "{default}")))'
        return f'    {attr} = os.environ.get("{env}", "{default}") == "1"'
    value = f'"{default}"' if quoted else default
    return f'    {attr} = {kind}(os.environ.get("{env}", {value}))'


def _hyperparameters(rng: random.Random, vocab_size: int) -> str:
    lines = [
        "class Hyperparameters:",
        '    """Every knob reads an environment variable so a launch command can override it."""',
        "",
        f'    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp{vocab_size}")',
        '    train_files = os.path.join(data_path, "fineweb_train_*.bin")',
        '    val_files = os.path.join(data_path, "fineweb_val_*.bin")',
        "    tokenizer_path = os.environ.get(",
        f'        "TOKENIZER_PATH", "./data/tokenizers/fineweb_{vocab_size}_bpe.model"',
        "    )",
        '    run_id = os.environ.get("RUN_ID", str(uuid.uuid4()))',
        f'    compressor = os.environ.get("COMPRESSOR", "{rng.choice(("zstd", "lzma"))}")',
        "",
    ]
    fields = list(_CORE_FIELDS) + rng.sample(_EXTRA_FIELDS, rng.randint(8, len(_EXTRA_FIELDS)))
    for section, (attr, env, kind, default) in enumerate(fields, start=1):
        default_value = str(vocab_size) if attr == "vocab_size" else default(rng)
        if kind == "bool":
            default_value = str(int(default_value in ("1", "True")))
        lines.append(_render_field(rng, attr, env, kind, default_value))
        if section % rng.randint(6, 12) == 0:
            lines.append("")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The core pipeline, in the reading order of a real script. ``$name`` placeholders vary by seed.
# ---------------------------------------------------------------------------------------------

_HEADER = Template(r'''"""
$title

$blurb
Run: torchrun --standalone --nproc_per_node=8 train_gpt.py
"""

from __future__ import annotations

import copy
import functools
import glob
import io
import lzma
import math
import os
import random
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel as DDP

try:
    import zstandard

    _HAVE_ZSTD = True
except ImportError:  # the grader image has it; laptops often do not
    zstandard = None
    _HAVE_ZSTD = False

''')

_DISTRIBUTED = Template(r'''
# -----------------------------------------------------------------------------
# Distributed setup
# -----------------------------------------------------------------------------


def setup_distributed() -> tuple[bool, int, int, int, torch.device]:
    """Reads torchrun's variables; falls back to one CPU process when they are absent."""
    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    rank = int(os.environ.get("RANK", "0"))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    if distributed:
        dist.init_process_group(backend=backend)
        dist.barrier()
    return distributed, rank, world_size, local_rank, device


def $sync_fn(device: torch.device) -> None:
    # Timings are only honest after the queued kernels have finished.
    if device.type == "cuda":
        torch.cuda.synchronize()


def autocast_ctx(device: torch.device) -> torch.autocast:
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")

''')

_DATA = Template(r'''
# -----------------------------------------------------------------------------
# Data loading
# -----------------------------------------------------------------------------

SHARD_MAGIC = 20240520
SHARD_VERSION = 1
HEADER_INTS = 256


def load_data_shard(file: Path) -> Tensor:
    """A shard is a 256 x int32 header (magic, version, token count) followed by uint16 tokens."""
    header_bytes = HEADER_INTS * np.dtype("<i4").itemsize
    token_bytes = np.dtype("<u2").itemsize
    header = np.fromfile(file, dtype="<i4", count=HEADER_INTS)
    if header.size != HEADER_INTS or int(header[0]) != SHARD_MAGIC or int(header[1]) != SHARD_VERSION:
        raise ValueError(f"Unexpected shard header for {file}")
    num_tokens = int(header[2])
    expected_size = header_bytes + num_tokens * token_bytes
    if file.stat().st_size != expected_size:
        raise ValueError(f"Shard size mismatch for {file}: expected {expected_size} bytes")
    tokens_np = np.fromfile(file, dtype="<u2", count=num_tokens, offset=header_bytes)
    if tokens_np.size != num_tokens:
        raise ValueError(f"Short read for {file}")
    return torch.from_numpy(tokens_np.astype(np.uint16, copy=False))


class TokenStream:
    """Reads shards in order and wraps around, so every rank sees the same global stream."""

    def __init__(self, pattern: str) -> None:
        self.files = [Path(p) for p in sorted(glob.glob(pattern))]
        if not self.files:
            raise FileNotFoundError(f"No files found for pattern: {pattern}")
        self.file_idx = 0
        self.tokens = load_data_shard(self.files[0])
        self.pos = 0

    def _advance_file(self) -> None:
        self.file_idx = (self.file_idx + 1) % len(self.files)
        self.tokens = load_data_shard(self.files[self.file_idx])
        self.pos = 0

    def take(self, n: int) -> Tensor:
        chunks: list[Tensor] = []
        remaining = n
        while remaining > 0:
            avail = self.tokens.numel() - self.pos
            if avail <= 0:
                self._advance_file()
                continue
            k = min(remaining, avail)
            chunks.append(self.tokens[self.pos : self.pos + k])
            self.pos += k
            remaining -= k
        return chunks[0] if len(chunks) == 1 else torch.cat(chunks)


class DistributedTokenLoader:
    def __init__(self, pattern: str, rank: int, world_size: int, device: torch.device) -> None:
        self.rank = rank
        self.world_size = world_size
        self.device = device
        self.stream = TokenStream(pattern)

    def next_batch(self, global_tokens: int, seq_len: int, grad_accum_steps: int) -> tuple[Tensor, Tensor]:
        local_tokens = global_tokens // (self.world_size * grad_accum_steps)
        per_rank_span = local_tokens + 1
        chunk = self.stream.take(per_rank_span * self.world_size)
        start = self.rank * per_rank_span
        local = chunk[start : start + per_rank_span].to(dtype=torch.int64)
        x = local[:-1].reshape(-1, seq_len)
        y = local[1:].reshape(-1, seq_len)
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


def load_validation_tokens(pattern: str, seq_len: int) -> Tensor:
    files = [Path(p) for p in sorted(glob.glob(pattern))]
    if not files:
        raise FileNotFoundError(f"No files found for pattern: {pattern}")
    tokens = torch.cat([load_data_shard(file) for file in files]).contiguous()
    usable = ((tokens.numel() - 1) // seq_len) * seq_len
    if usable <= 0:
        raise ValueError(f"Validation split is too short for TRAIN_SEQ_LEN={seq_len}")
    return tokens[: usable + 1]

''')

_BPB = Template(r'''
# -----------------------------------------------------------------------------
# Tokenizer-agnostic bits per byte
# -----------------------------------------------------------------------------


def build_sentencepiece_luts(
    sp: spm.SentencePieceProcessor, vocab_size: int, device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-token byte counts, so the score is in bits per byte of the raw text for any tokenizer."""
    sp_vocab_size = int(sp.vocab_size())
    table_size = max(sp_vocab_size, vocab_size)
    base_bytes_np = np.zeros((table_size,), dtype=np.int16)
    has_leading_space_np = np.zeros((table_size,), dtype=np.bool_)
    is_boundary_token_np = np.ones((table_size,), dtype=np.bool_)
    for token_id in range(sp_vocab_size):
        if sp.is_control(token_id) or sp.is_unknown(token_id) or sp.is_unused(token_id):
            continue
        is_boundary_token_np[token_id] = False
        if sp.is_byte(token_id):
            base_bytes_np[token_id] = 1
            continue
        piece = sp.id_to_piece(token_id)
        if piece.startswith("\u2581"):
            has_leading_space_np[token_id] = True
            piece = piece[1:]
        base_bytes_np[token_id] = len(piece.encode("utf-8"))
    return (
        torch.tensor(base_bytes_np, dtype=torch.int16, device=device),
        torch.tensor(has_leading_space_np, dtype=torch.bool, device=device),
        torch.tensor(is_boundary_token_np, dtype=torch.bool, device=device),
    )


def $count_bytes_fn(prev_ids: Tensor, tgt_ids: Tensor, luts: tuple[Tensor, Tensor, Tensor]) -> Tensor:
    # The leading space of a piece is a byte of the text unless the previous token ends a document.
    base_bytes_lut, has_leading_space_lut, is_boundary_token_lut = luts
    token_bytes = base_bytes_lut[tgt_ids].to(dtype=torch.int16)
    token_bytes += (has_leading_space_lut[tgt_ids] & ~is_boundary_token_lut[prev_ids]).to(dtype=torch.int16)
    return token_bytes.to(torch.float64).sum()


def $all_reduce_fn(*tensors: Tensor) -> None:
    if dist.is_available() and dist.is_initialized():
        for t in tensors:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)


def eval_val(
    args: Hyperparameters,
    model: nn.Module,
    rank: int,
    world_size: int,
    device: torch.device,
    grad_accum_steps: int,
    val_tokens: Tensor,
    luts: tuple[Tensor, Tensor, Tensor],
) -> tuple[float, float]:
    local_batch_tokens = args.val_batch_size // (world_size * grad_accum_steps)
    local_batch_seqs = max(1, local_batch_tokens // args.train_seq_len)
    total_seqs = (val_tokens.numel() - 1) // args.train_seq_len
    seq_start = (total_seqs * rank) // world_size
    seq_end = (total_seqs * (rank + 1)) // world_size
    val_loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    val_token_count = torch.zeros((), device=device, dtype=torch.float64)
    val_byte_count = torch.zeros((), device=device, dtype=torch.float64)
    model.eval()
    with torch.inference_mode():
        for batch_seq_start in range(seq_start, seq_end, local_batch_seqs):
            batch_seq_end = min(batch_seq_start + local_batch_seqs, seq_end)
            raw_start = batch_seq_start * args.train_seq_len
            raw_end = batch_seq_end * args.train_seq_len + 1
            local = val_tokens[raw_start:raw_end].to(device=device, dtype=torch.int64, non_blocking=True)
            x = local[:-1].reshape(-1, args.train_seq_len)
            y = local[1:].reshape(-1, args.train_seq_len)
            with autocast_ctx(device):
                batch_loss = model(x, y).detach()
            batch_token_count = float(y.numel())
            val_loss_sum += batch_loss.to(torch.float64) * batch_token_count
            val_token_count += batch_token_count
            val_byte_count += $count_bytes_fn(x.reshape(-1), y.reshape(-1), luts)
    $all_reduce_fn(val_loss_sum, val_token_count, val_byte_count)
    val_loss = val_loss_sum / val_token_count
    bits_per_token = val_loss.item() / math.log(2.0)
    tokens_per_byte = val_token_count.item() / val_byte_count.item()
    model.train()
    return float(val_loss.item()), float(bits_per_token * tokens_per_byte)

''')

_MUON = Template(r'''
# -----------------------------------------------------------------------------
# Muon: momentum + Newton-Schulz orthogonalisation of 2D updates
# -----------------------------------------------------------------------------


def $ns_fn(G: Tensor, steps: int = $ns_steps, eps: float = 1e-7) -> Tensor:
    # Quintic iteration; the coefficients maximise the slope at zero, not exact convergence.
    a, b, c = ($ns_a, $ns_b, $ns_c)
    X = G.bfloat16()
    X /= X.norm() + eps
    transposed = G.size(0) > G.size(1)
    if transposed:
        X = X.T
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * A @ A
        X = a * X + B @ X
    return X.T if transposed else X


class Muon(torch.optim.Optimizer):
    """Each rank orthogonalises a round-robin share of the matrices; one all-reduce shares them."""

    def __init__(self, params, lr: float, momentum: float, backend_steps: int, nesterov: bool = True) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, backend_steps=backend_steps, nesterov=nesterov))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        distributed = dist.is_available() and dist.is_initialized()
        world_size = dist.get_world_size() if distributed else 1
        rank = dist.get_rank() if distributed else 0
        for group in self.param_groups:
            params = group["params"]
            if not params:
                continue
            lr = group["lr"]
            momentum = group["momentum"]
            backend_steps = group["backend_steps"]
            nesterov = group["nesterov"]
            total_params = sum(int(p.numel()) for p in params)
            updates_flat = torch.zeros(total_params, device=params[0].device, dtype=torch.bfloat16)
            curr = 0
            for i, p in enumerate(params):
                if i % world_size == rank and p.grad is not None:
                    g = p.grad
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = torch.zeros_like(g)
                    buf = state["momentum_buffer"]
                    buf.mul_(momentum).add_(g)
                    if nesterov:
                        g = g.add(buf, alpha=momentum)
                    g = $ns_fn(g, steps=backend_steps)
                    g *= max(1, g.size(0) / g.size(1)) ** 0.5
                    updates_flat[curr : curr + p.numel()] = g.reshape(-1)
                curr += p.numel()
            if distributed:
                dist.all_reduce(updates_flat, op=dist.ReduceOp.SUM)
            curr = 0
            for p in params:
                g = updates_flat[curr : curr + p.numel()].view_as(p).to(dtype=p.dtype)
                p.add_(g, alpha=-lr)
                curr += p.numel()
        return loss

''')

_MODEL = Template(r'''
# -----------------------------------------------------------------------------
# Model
# -----------------------------------------------------------------------------

CONTROL_TENSOR_NAME_PATTERNS = ("attn_scale", "mlp_scale", "resid_mix", "q_gain", "skip_weight", "bigram.scale")


class RMSNorm(nn.Module):
    def __init__(self, eps: float | None = None) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, (x.size(-1),), eps=self.eps)


class CastedLinear(nn.Linear):
    # Weights stay fp32 for the optimizer; the matmul runs in the activation dtype.
    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias.to(x.dtype) if self.bias is not None else None
        return F.linear(x, self.weight.to(x.dtype), bias)


class Rotary(nn.Module):
    def __init__(self, dim: int, base: float = 10000.0) -> None:
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self._seq_len_cached = 0
        self._cos_cached: Tensor | None = None
        self._sin_cached: Tensor | None = None

    def forward(self, seq_len: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        if self._cos_cached is None or self._seq_len_cached != seq_len or self._cos_cached.device != device:
            t = torch.arange(seq_len, device=device, dtype=self.inv_freq.dtype)
            freqs = torch.outer(t, self.inv_freq.to(device))
            self._cos_cached = freqs.cos()[None, None, :, :]
            self._sin_cached = freqs.sin()[None, None, :, :]
            self._seq_len_cached = seq_len
        return self._cos_cached.to(dtype=dtype), self._sin_cached.to(dtype=dtype)


def apply_rotary_emb(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos + x2 * sin, x1 * (-sin) + x2 * cos), dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int, num_kv_heads: int, rope_base: float, qk_gain_init: float) -> None:
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError("model_dim must be divisible by num_heads")
        if num_heads % num_kv_heads != 0:
            raise ValueError("num_heads must be divisible by num_kv_heads")
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads
        self.head_dim = dim // num_heads
        kv_dim = self.num_kv_heads * self.head_dim
        self.c_q = CastedLinear(dim, dim, bias=False)
        self.c_k = CastedLinear(dim, kv_dim, bias=False)
        self.c_v = CastedLinear(dim, kv_dim, bias=False)
        self.proj = CastedLinear(dim, dim, bias=False)
        self.proj._zero_init = True
        self.q_gain = nn.Parameter(torch.full((num_heads,), qk_gain_init, dtype=torch.float32))
        self.rotary = Rotary(self.head_dim, base=rope_base)

    def forward(self, x: Tensor) -> Tensor:
        bsz, seqlen, dim = x.shape
        q = self.c_q(x).reshape(bsz, seqlen, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.c_k(x).reshape(bsz, seqlen, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.c_v(x).reshape(bsz, seqlen, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q = F.rms_norm(q, (q.size(-1),))
        k = F.rms_norm(k, (k.size(-1),))
        cos, sin = self.rotary(seqlen, x.device, q.dtype)
        q = apply_rotary_emb(q, cos, sin)
        k = apply_rotary_emb(k, cos, sin)
        q = q * self.q_gain.to(dtype=q.dtype)[None, :, None, None]
        if self.num_kv_heads != self.num_heads:
            # GQA: each key/value head serves a group of query heads.
            repeat = self.num_heads // self.num_kv_heads
            k = k.repeat_interleave(repeat, dim=1)
            v = v.repeat_interleave(repeat, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=True)
        y = y.transpose(1, 2).contiguous().reshape(bsz, seqlen, dim)
        return self.proj(y)


class MLP(nn.Module):
    def __init__(self, dim: int, mlp_mult: int) -> None:
        super().__init__()
        hidden = mlp_mult * dim
        self.fc = CastedLinear(dim, hidden, bias=False)
        self.proj = CastedLinear(hidden, dim, bias=False)
        self.proj._zero_init = True

    def forward(self, x: Tensor) -> Tensor:
        x = torch.relu(self.fc(x))
        return self.proj(x.square())


class BigramHashEmbedding(nn.Module):
    """Embeds a hash of (previous input token, current input token): cheap extra context."""

    def __init__(self, num_buckets: int, dim: int, model_dim: int) -> None:
        super().__init__()
        self.num_buckets = num_buckets
        self.embed = nn.Embedding(num_buckets, dim)
        nn.init.zeros_(self.embed.weight)
        self.proj = CastedLinear(dim, model_dim, bias=False) if dim != model_dim else None
        self.scale = nn.Parameter(torch.tensor($bigram_scale, dtype=torch.float32))

    def bucket_ids(self, tokens: Tensor) -> Tensor:
        t = tokens.to(torch.int32)
        mod = self.num_buckets - 1
        out = torch.empty_like(t)
        out[..., 0] = mod
        out[..., 1:] = torch.bitwise_xor($prime_a * t[..., 1:], $prime_b * t[..., :-1]) % mod
        return out.long()

    def forward(self, tokens: Tensor) -> Tensor:
        h = self.embed(self.bucket_ids(tokens))
        if self.proj is not None:
            h = self.proj(h)
        return h * self.scale.to(dtype=h.dtype)


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, num_kv_heads: int, mlp_mult: int, rope_base: float, qk_gain_init: float) -> None:
        super().__init__()
        self.attn_norm = RMSNorm()
        self.mlp_norm = RMSNorm()
        self.attn = CausalSelfAttention(dim, num_heads, num_kv_heads, rope_base, qk_gain_init)
        self.mlp = MLP(dim, mlp_mult)
        self.attn_scale = nn.Parameter(torch.ones(dim, dtype=torch.float32))
        self.mlp_scale = nn.Parameter(torch.ones(dim, dtype=torch.float32))
        self.resid_mix = nn.Parameter(torch.stack((torch.ones(dim), torch.zeros(dim))).float())

    def forward(self, x: Tensor, x0: Tensor) -> Tensor:
        mix = self.resid_mix.to(dtype=x.dtype)
        x = mix[0][None, None, :] * x + mix[1][None, None, :] * x0
        x = x + self.attn_scale.to(dtype=x.dtype)[None, None, :] * self.attn(self.attn_norm(x))
        x = x + self.mlp_scale.to(dtype=x.dtype)[None, None, :] * self.mlp(self.mlp_norm(x))
        return x


class GPT(nn.Module):
    def __init__(self, args: Hyperparameters) -> None:
        super().__init__()
        if args.logit_softcap <= 0.0:
            raise ValueError(f"logit_softcap must be positive, got {args.logit_softcap}")
        self.tie_embeddings = args.tie_embeddings
        self.tied_embed_init_std = args.tied_embed_init_std
        self.logit_softcap = args.logit_softcap
        self.tok_emb = nn.Embedding(args.vocab_size, args.model_dim)
        self.bigram = (
            BigramHashEmbedding(args.bigram_vocab_size, args.bigram_dim, args.model_dim)
            if args.bigram_vocab_size > 0
            else None
        )
        # U-Net style: the first half's outputs feed the second half in reverse order.
        self.num_encoder_layers = args.num_layers // 2
        self.num_decoder_layers = args.num_layers - self.num_encoder_layers
        self.num_skip_weights = min(self.num_encoder_layers, self.num_decoder_layers)
        self.skip_weights = nn.Parameter(torch.ones(self.num_skip_weights, args.model_dim, dtype=torch.float32))
        self.blocks = nn.ModuleList(
            [
                Block(args.model_dim, args.num_heads, args.num_kv_heads, args.mlp_mult, args.rope_base, args.qk_gain_init)
                for _ in range(args.num_layers)
            ]
        )
        self.final_norm = RMSNorm()
        self.lm_head = None if args.tie_embeddings else CastedLinear(args.model_dim, args.vocab_size, bias=False)
        if self.lm_head is not None:
            self.lm_head._zero_init = True
        self._init_weights()

    def _init_weights(self) -> None:
        if self.tie_embeddings:
            nn.init.normal_(self.tok_emb.weight, mean=0.0, std=self.tied_embed_init_std)
        for module in self.modules():
            if isinstance(module, nn.Linear) and getattr(module, "_zero_init", False):
                nn.init.zeros_(module.weight)

    def forward_logits(self, input_ids: Tensor) -> Tensor:
        x = self.tok_emb(input_ids)
        if self.bigram is not None:
            x = x + self.bigram(input_ids)
        x = F.rms_norm(x, (x.size(-1),))
        x0 = x
        skips: list[Tensor] = []
        for i in range(self.num_encoder_layers):
            x = self.blocks[i](x, x0)
            skips.append(x)
        for i in range(self.num_decoder_layers):
            if skips:
                x = x + self.skip_weights[i].to(dtype=x.dtype)[None, None, :] * skips.pop()
            x = self.blocks[self.num_encoder_layers + i](x, x0)
        x = self.final_norm(x)
        logits = F.linear(x, self.tok_emb.weight) if self.tie_embeddings else self.lm_head(x)
        return self.logit_softcap * torch.tanh(logits / self.logit_softcap)

    def forward(self, input_ids: Tensor, target_ids: Tensor) -> Tensor:
        logits = self.forward_logits(input_ids)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), target_ids.reshape(-1), reduction="mean")

''')

_QUANT = Template(r'''
# -----------------------------------------------------------------------------
# Quantization, compression and the roundtrip
# -----------------------------------------------------------------------------

KEEP_FLOAT_MAX_NUMEL = $keep_float
CLIP_Q = $clip_q / 100.0


def $quant_fn(t: Tensor, bits: int) -> tuple[Tensor, Tensor]:
    """Symmetric per-row quantization with a high-percentile clip: outliers cost less than rounding."""
    qmax = 2 ** (bits - 1) - 1
    t32 = t.float()
    if t32.ndim == 2:
        clip_abs = torch.quantile(t32.abs(), CLIP_Q, dim=1) if t32.numel() else torch.empty((t32.shape[0],))
        clipped = torch.maximum(torch.minimum(t32, clip_abs[:, None]), -clip_abs[:, None])
        scale = (clip_abs / qmax).clamp_min(1.0 / qmax)
        q = torch.clamp(torch.round(clipped / scale[:, None]), -qmax, qmax).to(torch.int8).contiguous()
        return q, scale.to(torch.float16).contiguous()
    clip_abs = float(torch.quantile(t32.abs().flatten(), CLIP_Q).item()) if t32.numel() else 0.0
    scale = torch.tensor(clip_abs / qmax if clip_abs > 0 else 1.0, dtype=torch.float32)
    q = torch.clamp(torch.round(torch.clamp(t32, -clip_abs, clip_abs) / scale), -qmax, qmax).to(torch.int8).contiguous()
    return q, scale


def pack_int6(q: Tensor) -> Tensor:
    # Four 6-bit values in three bytes; the compressor cannot find this on its own.
    flat = (q.reshape(-1).to(torch.int16) + 32).to(torch.uint8)
    pad = (-flat.numel()) % 4
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    v = flat.view(-1, 4).to(torch.int32)
    packed = v[:, 0] | (v[:, 1] << 6) | (v[:, 2] << 12) | (v[:, 3] << 18)
    out = torch.stack([packed & 0xFF, (packed >> 8) & 0xFF, (packed >> 16) & 0xFF], dim=1).to(torch.uint8)
    return out.reshape(-1)


def unpack_int6(data: Tensor, numel: int) -> Tensor:
    b = data.view(-1, 3).to(torch.int32)
    packed = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    v = torch.stack([(packed >> s) & 0x3F for s in (0, 6, 12, 18)], dim=1).reshape(-1)[:numel]
    return (v - 32).to(torch.int8)


def quantize_state_dict(state_dict: dict[str, Tensor], bits: int) -> tuple[dict[str, object], dict[str, int]]:
    quantized: dict[str, Tensor] = {}
    scales: dict[str, Tensor] = {}
    dtypes: dict[str, str] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    passthrough: dict[str, Tensor] = {}
    stats = dict.fromkeys(("param_count", "num_tensors", "baseline_bytes", "payload_bytes"), 0)
    for name, tensor in state_dict.items():
        t = tensor.detach().to("cpu").contiguous()
        stats["param_count"] += int(t.numel())
        stats["num_tensors"] += 1
        stats["baseline_bytes"] += int(t.numel()) * int(t.element_size())
        small = t.numel() <= KEEP_FLOAT_MAX_NUMEL
        if not t.is_floating_point() or small or any(p in name for p in CONTROL_TENSOR_NAME_PATTERNS):
            kept = t.to(torch.float16) if t.is_floating_point() else t
            passthrough[name] = kept
            stats["payload_bytes"] += int(kept.numel()) * int(kept.element_size())
            continue
        q, s = $quant_fn(t, bits)
        quantized[name] = pack_int6(q) if bits == 6 else q
        scales[name] = s
        dtypes[name] = str(t.dtype).removeprefix("torch.")
        shapes[name] = tuple(t.shape)
        stats["payload_bytes"] += int(quantized[name].numel()) + int(s.numel()) * int(s.element_size())
    obj: dict[str, object] = {
        "__quant_format__": f"int{bits}_per_row_v1",
        "bits": bits,
        "quantized": quantized,
        "scales": scales,
        "dtypes": dtypes,
        "shapes": shapes,
        "passthrough": passthrough,
    }
    return obj, stats


def $dequant_fn(obj: dict[str, object]) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    bits = int(obj["bits"])
    for name, q in obj["quantized"].items():
        shape = obj["shapes"][name]
        if bits == 6:
            q = unpack_int6(q, math.prod(shape)).reshape(shape)
        dtype = getattr(torch, obj["dtypes"][name])
        s = obj["scales"][name]
        if s.ndim > 0:
            out[name] = (q.float() * s.float().view(q.shape[0], *([1] * (q.ndim - 1)))).to(dtype=dtype).contiguous()
        else:
            out[name] = (q.float() * float(s.item())).to(dtype=dtype).contiguous()
    for name, t in obj["passthrough"].items():
        out[name] = t.float() if t.is_floating_point() else t
    return out


def compress_blob(raw: bytes, method: str) -> bytes:
    if method == "zstd" and _HAVE_ZSTD:
        return zstandard.ZstdCompressor(level=$zstd_level).compress(raw)
    if method == "lzma":
        return lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME)
    return zlib.compress(raw, level=9)


def decompress_blob(blob: bytes, method: str) -> bytes:
    if method == "zstd" and _HAVE_ZSTD:
        return zstandard.ZstdDecompressor().decompress(blob)
    if method == "lzma":
        return lzma.decompress(blob)
    return zlib.decompress(blob)

''')

_EVAL = Template(r'''
# -----------------------------------------------------------------------------
# Sliding-window evaluation
# -----------------------------------------------------------------------------


def $windows_fn(total_tokens: int, seq_len: int, stride: int) -> list[tuple[int, int]]:
    """(window start, first scored offset) pairs; together they score every target exactly once."""
    if total_tokens <= seq_len:
        return [(0, 0)]
    starts = list(range(0, total_tokens - seq_len + 1, stride))
    if starts[-1] + seq_len < total_tokens:
        starts.append(total_tokens - seq_len)
    windows = [(starts[0], 0)]
    for prev, start in zip(starts, starts[1:], strict=False):
        windows.append((start, prev + seq_len - start))
    return windows


def $sliding_fn(
    args: Hyperparameters,
    base_model: GPT,
    rank: int,
    world_size: int,
    device: torch.device,
    val_tokens: Tensor,
    luts: tuple[Tensor, Tensor, Tensor],
) -> tuple[float, float]:
    seq_len = args.train_seq_len
    total = val_tokens.numel() - 1
    windows = $windows_fn(total, seq_len, args.eval_stride)
    my_windows = windows[rank::world_size]
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    token_count = torch.zeros((), device=device, dtype=torch.float64)
    byte_count = torch.zeros((), device=device, dtype=torch.float64)
    base_model.eval()
    with torch.inference_mode():
        for i in range(0, len(my_windows), args.eval_batch_seqs):
            batch = my_windows[i : i + args.eval_batch_seqs]
            rows = [val_tokens[s : s + seq_len + 1].to(dtype=torch.int64) for s, _ in batch]
            chunk = torch.stack(rows).to(device, non_blocking=True)
            x, y = chunk[:, :-1], chunk[:, 1:]
            with autocast_ctx(device):
                logits = base_model.forward_logits(x)
            nll = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="none").view(len(batch), seq_len)
            for row, (_, offset) in enumerate(batch):
                loss_sum += nll[row, offset:].to(torch.float64).sum()
                token_count += float(seq_len - offset)
                byte_count += $count_bytes_fn(x[row, offset:], y[row, offset:], luts)
    $all_reduce_fn(loss_sum, token_count, byte_count)
    val_loss = (loss_sum / token_count).item()
    base_model.train()
    return val_loss, val_loss / math.log(2.0) * (token_count.item() / byte_count.item())

''')

_TTT = Template(r'''
# -----------------------------------------------------------------------------
# Legal test-time training: score a chunk first, then train on it
# -----------------------------------------------------------------------------


def $ttt_fn(
    args: Hyperparameters,
    base_model: GPT,
    rank: int,
    world_size: int,
    device: torch.device,
    val_tokens: Tensor,
    luts: tuple[Tensor, Tensor, Tensor],
) -> tuple[float, float]:
    """Chunks are scored under no_grad before any update sees them, so each token is predicted
    only from the artifact and from tokens already scored (README FAQ on TTT)."""
    seq_len = args.train_seq_len
    chunk_tokens = max(seq_len, (args.ttt_chunk_tokens // seq_len) * seq_len)
    total = val_tokens.numel() - 1
    n_chunks = (total + chunk_tokens - 1) // chunk_tokens
    for i, block in enumerate(base_model.blocks):
        for p in block.parameters():
            p.requires_grad_(i >= args.ttt_freeze_blocks)
    ttt_params = [p for p in base_model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(ttt_params, lr=args.ttt_lr, momentum=args.ttt_momentum)
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    token_count = torch.zeros((), device=device, dtype=torch.float64)
    byte_count = torch.zeros((), device=device, dtype=torch.float64)
    distributed = dist.is_available() and dist.is_initialized()
    for ci in range(n_chunks):
        start = ci * chunk_tokens
        end = min(start + chunk_tokens, total)
        chunk = val_tokens[start : end + 1].to(device=device, dtype=torch.int64)
        n_seq = (end - start) // seq_len
        x = chunk[: n_seq * seq_len].view(n_seq, seq_len)
        y = chunk[1 : n_seq * seq_len + 1].view(n_seq, seq_len)
        my_rows = list(range(rank, n_seq, world_size))
        base_model.eval()
        with torch.no_grad():
            for r in range(0, len(my_rows), args.eval_batch_seqs):
                idx = torch.tensor(my_rows[r : r + args.eval_batch_seqs], device=device)
                with autocast_ctx(device):
                    logits = base_model.forward_logits(x[idx])
                nll = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y[idx].reshape(-1), reduction="none")
                loss_sum += nll.to(torch.float64).sum()
                token_count += float(nll.numel())
                byte_count += $count_bytes_fn(x[idx].reshape(-1), y[idx].reshape(-1), luts)
        is_last_chunk = ci == n_chunks - 1
        if is_last_chunk:
            break
        base_model.train()
        for _epoch in range(args.ttt_epochs):
            for b in range(0, len(my_rows), args.ttt_batch_seqs):
                idx = torch.tensor(my_rows[b : b + args.ttt_batch_seqs], device=device)
                optimizer.zero_grad(set_to_none=True)
                with autocast_ctx(device):
                    loss = base_model(x[idx], y[idx])
                loss.backward()
                if distributed:
                    for p in ttt_params:
                        if p.grad is not None:
                            dist.all_reduce(p.grad, op=dist.ReduceOp.AVG)
                torch.nn.utils.clip_grad_norm_(ttt_params, $ttt_clip)
                optimizer.step()
    $all_reduce_fn(loss_sum, token_count, byte_count)
    val_loss = (loss_sum / token_count).item()
    base_model.eval()
    return val_loss, val_loss / math.log(2.0) * (token_count.item() / byte_count.item())

''')

_MAIN = Template(r"""
# -----------------------------------------------------------------------------
# Main
# -----------------------------------------------------------------------------


def main() -> None:
    args = Hyperparameters()
    distributed, rank, world_size, local_rank, device = setup_distributed()
    master_process = rank == 0
    if 8 % world_size != 0:
        raise ValueError(f"WORLD_SIZE={world_size} must divide 8 so the global batch stays fixed")
    grad_accum_steps = 8 // world_size
    grad_scale = 1.0 / grad_accum_steps
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    logfile = None
    if master_process:
        os.makedirs("logs", exist_ok=True)
        logfile = f"logs/{args.run_id}.txt"
        print(logfile)

    def log0(msg: str, console: bool = True) -> None:
        if not master_process:
            return
        if console:
            print(msg)
        if logfile is not None:
            with open(logfile, "a", encoding="utf-8") as f:
                print(msg, file=f)

    code = Path(__file__).read_text(encoding="utf-8")
    log0(code, console=False)
    for name, value in sorted(vars(Hyperparameters).items()):
        if not name.startswith("_"):
            log0(f"{name}: {value}", console=False)

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    sp = spm.SentencePieceProcessor(model_file=args.tokenizer_path)
    if int(sp.vocab_size()) != args.vocab_size:
        raise ValueError(f"VOCAB_SIZE={args.vocab_size} does not match tokenizer vocab_size={int(sp.vocab_size())}")
    val_tokens = load_validation_tokens(args.val_files, args.train_seq_len)
    luts = build_sentencepiece_luts(sp, args.vocab_size, device)
    log0(f"val_bpb:enabled tokenizer_kind=sentencepiece tokenizer_path={args.tokenizer_path}")
    log0(f"val_loader:shards pattern={args.val_files} tokens:{val_tokens.numel() - 1}")

    base_model = GPT(args).to(device)
    compiled = torch.compile(base_model, dynamic=False) if device.type == "cuda" else base_model
    model = DDP(compiled, device_ids=[local_rank], broadcast_buffers=False) if distributed else compiled

    block_named_params = list(base_model.blocks.named_parameters())
    matrix_params = [
        p for name, p in block_named_params if p.ndim == 2 and not any(pat in name for pat in CONTROL_TENSOR_NAME_PATTERNS)
    ]
    scalar_params = [
        p for name, p in block_named_params if p.ndim < 2 or any(pat in name for pat in CONTROL_TENSOR_NAME_PATTERNS)
    ]
    if base_model.skip_weights.numel() > 0:
        scalar_params.append(base_model.skip_weights)
    embed_params = [base_model.tok_emb.weight]
    if base_model.bigram is not None:
        embed_params += list(base_model.bigram.parameters())
    token_lr = args.tied_embed_lr if args.tie_embeddings else args.embed_lr
    fused = device.type == "cuda"
    optimizer_tok = torch.optim.Adam(
        [{"params": embed_params, "lr": token_lr, "base_lr": token_lr}],
        betas=(args.beta1, args.beta2),
        eps=args.adam_eps,
        fused=fused,
    )
    optimizer_muon = Muon(matrix_params, lr=args.matrix_lr, momentum=args.muon_momentum, backend_steps=args.muon_backend_steps)
    for group in optimizer_muon.param_groups:
        group["base_lr"] = args.matrix_lr
    optimizer_scalar = torch.optim.Adam(
        [{"params": scalar_params, "lr": args.scalar_lr, "base_lr": args.scalar_lr}],
        betas=(args.beta1, args.beta2),
        eps=args.adam_eps,
        fused=fused,
    )
    optimizers: list[torch.optim.Optimizer] = [optimizer_tok, optimizer_muon, optimizer_scalar]
    if base_model.lm_head is not None:
        optimizer_head = torch.optim.Adam(
            [{"params": [base_model.lm_head.weight], "lr": args.head_lr, "base_lr": args.head_lr}],
            betas=(args.beta1, args.beta2),
            eps=args.adam_eps,
            fused=fused,
        )
        optimizers.insert(1, optimizer_head)

    n_params = sum(p.numel() for p in base_model.parameters())
    log0(f"model_params:{n_params}")
    log0(f"world_size:{world_size} grad_accum_steps:{grad_accum_steps}")
    log0(f"seed:{args.seed}")

    train_loader = DistributedTokenLoader(args.train_files, rank, world_size, device)

    def zero_grad_all() -> None:
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)

    max_wallclock_ms = 1000.0 * args.max_wallclock_seconds if args.max_wallclock_seconds > 0 else None

    def lr_mul(step: int, elapsed_ms: float) -> float:
        if args.warmdown_iters <= 0:
            return 1.0
        if max_wallclock_ms is None:
            warmdown_start = max(args.iterations - args.warmdown_iters, 0)
            if warmdown_start <= step < args.iterations:
                return max((args.iterations - step) / max(args.warmdown_iters, 1), 0.0)
            return 1.0
        step_ms = elapsed_ms / max(step, 1)
        warmdown_ms = args.warmdown_iters * step_ms
        remaining_ms = max(max_wallclock_ms - elapsed_ms, 0.0)
        return remaining_ms / max(warmdown_ms, 1e-9) if remaining_ms <= warmdown_ms else 1.0

    if args.warmup_steps > 0:
        # Warm-up only primes torch.compile on training batches; weights and optimizer
        # states are restored afterwards, so it does not count as training.
        initial_model_state = {name: t.detach().cpu().clone() for name, t in base_model.state_dict().items()}
        initial_optimizer_states = [copy.deepcopy(opt.state_dict()) for opt in optimizers]
        model.train()
        for warmup_step in range(args.warmup_steps):
            zero_grad_all()
            for micro_step in range(grad_accum_steps):
                if distributed:
                    model.require_backward_grad_sync = micro_step == grad_accum_steps - 1
                x, y = train_loader.next_batch(args.train_batch_tokens, args.train_seq_len, grad_accum_steps)
                with autocast_ctx(device):
                    warmup_loss = model(x, y)
                (warmup_loss * grad_scale).backward()
            for opt in optimizers:
                opt.step()
            zero_grad_all()
            if args.warmup_steps <= 20 or (warmup_step + 1) % 10 == 0:
                log0(f"warmup_step:{warmup_step + 1}/{args.warmup_steps}")
        base_model.load_state_dict(initial_model_state, strict=True)
        for opt, state in zip(optimizers, initial_optimizer_states, strict=True):
            opt.load_state_dict(state)
        zero_grad_all()
        train_loader = DistributedTokenLoader(args.train_files, rank, world_size, device)

    ema_state = (
        {k: v.detach().clone().float() for k, v in base_model.state_dict().items()} if args.ema_enabled else None
    )

    training_time_ms = 0.0
    stop_after_step: int | None = None
    $sync_fn(device)
    t0 = time.perf_counter()
    step = 0
    while True:
        last_step = step == args.iterations or (stop_after_step is not None and step >= stop_after_step)
        should_validate = last_step or (args.val_loss_every > 0 and step % args.val_loss_every == 0)
        if should_validate:
            $sync_fn(device)
            training_time_ms += 1000.0 * (time.perf_counter() - t0)
            val_loss, val_bpb = eval_val(args, model, rank, world_size, device, grad_accum_steps, val_tokens, luts)
            log0(
                f"step:{step}/{args.iterations} val_loss:{val_loss:.4f} val_bpb:{val_bpb:.4f} "
                f"train_time:{training_time_ms:.0f}ms step_avg:{training_time_ms / max(step, 1):.2f}ms"
            )
            $sync_fn(device)
            t0 = time.perf_counter()
        if last_step:
            if stop_after_step is not None and step < args.iterations:
                log0(f"stopping_early: wallclock_cap train_time:{training_time_ms:.0f}ms step:{step}/{args.iterations}")
            break

        elapsed_ms = training_time_ms + 1000.0 * (time.perf_counter() - t0)
        scale = lr_mul(step, elapsed_ms)
        zero_grad_all()
        train_loss = torch.zeros((), device=device)
        for micro_step in range(grad_accum_steps):
            if distributed:
                model.require_backward_grad_sync = micro_step == grad_accum_steps - 1
            x, y = train_loader.next_batch(args.train_batch_tokens, args.train_seq_len, grad_accum_steps)
            with autocast_ctx(device):
                loss = model(x, y)
            train_loss += loss.detach()
            (loss * grad_scale).backward()
        train_loss /= grad_accum_steps

        frac = min(step / args.muon_momentum_warmup_steps, 1.0) if args.muon_momentum_warmup_steps > 0 else 1.0
        muon_momentum = (1 - frac) * args.muon_momentum_warmup_start + frac * args.muon_momentum
        for group in optimizer_muon.param_groups:
            group["momentum"] = muon_momentum
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * scale
        if args.grad_clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(base_model.parameters(), args.grad_clip_norm)
        for opt in optimizers:
            opt.step()
        zero_grad_all()
        if ema_state is not None:
            with torch.no_grad():
                for k, v in base_model.state_dict().items():
                    ema_state[k].mul_(args.ema_decay).add_(v.detach().float(), alpha=1.0 - args.ema_decay)

        step += 1
        approx_training_time_ms = training_time_ms + 1000.0 * (time.perf_counter() - t0)
        if args.train_log_every > 0 and (step <= 10 or step % args.train_log_every == 0):
            log0(
                f"step:{step}/{args.iterations} train_loss:{train_loss.item():.4f} "
                f"train_time:{approx_training_time_ms:.0f}ms step_avg:{approx_training_time_ms / step:.2f}ms"
            )
        reached_cap = max_wallclock_ms is not None and approx_training_time_ms >= max_wallclock_ms
        if distributed and max_wallclock_ms is not None:
            reached_cap_tensor = torch.tensor(int(reached_cap), device=device)
            dist.all_reduce(reached_cap_tensor, op=dist.ReduceOp.MAX)
            reached_cap = bool(reached_cap_tensor.item())
        if stop_after_step is None and reached_cap:
            stop_after_step = step

    if device.type == "cuda":
        log0(f"peak memory allocated: {torch.cuda.max_memory_allocated() // 1024 // 1024} MiB")
    if ema_state is not None:
        current = base_model.state_dict()
        base_model.load_state_dict({k: v.to(dtype=current[k].dtype) for k, v in ema_state.items()}, strict=True)

    artifact = f"final_model.int{args.quant_bits}.ptz"
    quant_obj, quant_stats = quantize_state_dict(base_model.state_dict(), args.quant_bits)
    quant_buf = io.BytesIO()
    torch.save(quant_obj, quant_buf)
    quant_blob = compress_blob(quant_buf.getvalue(), args.compressor)
    if master_process:
        with open(artifact, "wb") as f:
            f.write(quant_blob)
        quant_file_bytes = os.path.getsize(artifact)
        code_bytes = len(code.encode("utf-8"))
        ratio = quant_stats["baseline_bytes"] / max(quant_stats["payload_bytes"], 1)
        log0(f"Serialized model int{args.quant_bits}+{args.compressor}: {quant_file_bytes} bytes (payload ratio {ratio:.2f}x)")
        log0(f"Code size: {code_bytes} bytes")
        log0(f"Total submission size int{args.quant_bits}+{args.compressor}: {quant_file_bytes + code_bytes} bytes")
    if distributed:
        dist.barrier()

    with open(artifact, "rb") as f:
        quant_blob_disk = f.read()
    quant_state = torch.load(io.BytesIO(decompress_blob(quant_blob_disk, args.compressor)), map_location="cpu")
    base_model.load_state_dict($dequant_fn(quant_state), strict=True)
    $sync_fn(device)
    t_eval = time.perf_counter()
    q_val_loss, q_val_bpb = eval_val(args, model, rank, world_size, device, grad_accum_steps, val_tokens, luts)
    $sync_fn(device)
    log0(
        f"final_int{args.quant_bits}_roundtrip val_loss:{q_val_loss:.4f} val_bpb:{q_val_bpb:.4f} "
        f"eval_time:{1000.0 * (time.perf_counter() - t_eval):.0f}ms"
    )
    log0(f"final_int{args.quant_bits}_roundtrip_exact val_loss:{q_val_loss:.8f} val_bpb:{q_val_bpb:.8f}")

    if args.eval_stride > 0:
        t_eval = time.perf_counter()
        sw_loss, sw_bpb = $sliding_fn(args, base_model, rank, world_size, device, val_tokens, luts)
        $sync_fn(device)
        log0(
            f"final_sliding_window stride:{args.eval_stride} val_loss:{sw_loss:.8f} val_bpb:{sw_bpb:.8f} "
            f"eval_time:{1000.0 * (time.perf_counter() - t_eval):.0f}ms"
        )
    if args.ttt_enabled:
        t_eval = time.perf_counter()
        ttt_loss, ttt_bpb = $ttt_fn(args, base_model, rank, world_size, device, val_tokens, luts)
        $sync_fn(device)
        log0(
            f"final_ttt epochs:{args.ttt_epochs} val_loss:{ttt_loss:.8f} val_bpb:{ttt_bpb:.8f} "
            f"eval_time:{1000.0 * (time.perf_counter() - t_eval):.0f}ms"
        )
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
""")


# ---------------------------------------------------------------------------------------------
# Filler blocks: realistic helpers, each rendered with fresh names and constants.
# ---------------------------------------------------------------------------------------------

_SCHEDULE = Template(r'''
def $name(step: int, total_steps: int, warmup: int = $warmup, floor: float = $floor) -> float:
    """$doc"""
    if total_steps <= 0:
        return 1.0
    if step < warmup:
        return (step + 1) / max(warmup, 1)
    progress = min(max((step - warmup) / max(total_steps - warmup, 1), 0.0), 1.0)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return floor + (1.0 - floor) * cosine**$power
''')

_GATED_MLP = Template(r'''
class $cls(nn.Module):
    """$doc"""

    def __init__(self, dim: int, hidden_mult: float = $mult, zero_init: bool = True) -> None:
        super().__init__()
        hidden = int(hidden_mult * dim) // $align * $align
        self.gate = CastedLinear(dim, hidden, bias=False)
        self.up = CastedLinear(dim, hidden, bias=False)
        self.down = CastedLinear(hidden, dim, bias=False)
        self.down._zero_init = zero_init
        self.negative_slope = $slope

    def forward(self, x: Tensor) -> Tensor:
        g = F.leaky_relu(self.gate(x), negative_slope=self.negative_slope)
        return self.down(g.square() * self.up(x))

    def extra_repr(self) -> str:
        return f"hidden={self.gate.out_features}, slope={self.negative_slope}"
''')

_CONFIG = Template(r'''
@dataclass(frozen=True)
class $cls:
    """$doc"""

    $f1: int = $v1
    $f2: float = $v2
    $f3: bool = $v3
    $f4: str = "$v4"

    @classmethod
    def from_env(cls, prefix: str = "${prefix}_") -> $cls:
        return cls(
            $f1=int(os.environ.get(prefix + "$F1", "$v1")),
            $f2=float(os.environ.get(prefix + "$F2", "$v2")),
            $f3=bool(int(os.environ.get(prefix + "$F3", "$v3i"))),
            $f4=os.environ.get(prefix + "$F4", "$v4"),
        )

    @property
    def $prop(self) -> float:
        return self.$f2 * (self.$f1 if self.$f3 else 1)

    def describe(self) -> str:
        return " ".join(f"{k}:{v}" for k, v in sorted(vars(self).items()))
''')

_MINIFIED = Template(r"""
def $name(t: Tensor, k: int = $k) -> Tensor:
    # Kept terse on purpose: the bytes of this file count toward the 16 MB cap.
    n=t.numel();m=n//k
    if m==0:return t
    s=t.reshape(-1)[:m*k].view(m,k).float();a=s.abs().amax(dim=1,keepdim=True).clamp_min($eps);q=torch.round(s/a*$qmax).clamp(-$qmax,$qmax)
    r=(q*a/$qmax).to(t.dtype);return torch.cat([r.reshape(-1),t.reshape(-1)[m*k:]]).view_as(t)
""")

_CLIP_SEARCH = Template(r'''
@torch.no_grad()
def $name(w: Tensor, bits: int = $bits, candidates: tuple[float, ...] = ($cands)) -> tuple[Tensor, Tensor]:
    """$doc"""
    qmax = 2 ** (bits - 1) - 1
    w32 = w.float()
    row_max = w32.abs().amax(dim=1).clamp_min(1e-8)
    best_err = torch.full_like(row_max, float("inf"))
    best_scale = row_max / qmax
    for ratio in candidates:
        scale = (row_max * ratio / qmax).clamp_min(1e-8)
        q = torch.clamp(torch.round(w32 / scale[:, None]), -qmax, qmax)
        err = (q * scale[:, None] - w32).pow(2).sum(dim=1)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_scale = torch.where(better, scale, best_scale)
    q = torch.clamp(torch.round(w32 / best_scale[:, None]), -qmax, qmax).to(torch.int8)
    return q, best_scale.to(torch.float16)
''')

_TRACKER = Template(r'''
class $cls:
    """$doc"""

    __slots__ = ("name", "_values", "_window")

    def __init__(self, name: str, window: int = $window) -> None:
        self.name = name
        self._values: list[float] = []
        self._window = window

    def update(self, value: float) -> None:
        self._values.append(float(value))
        if len(self._values) > self._window:
            del self._values[: len(self._values) - self._window]

    @property
    def mean(self) -> float:
        return sum(self._values) / len(self._values) if self._values else float("nan")

    @property
    def $prop(self) -> float:
        if len(self._values) < 2:
            return 0.0
        mu = self.mean
        return math.sqrt(sum((v - mu) ** 2 for v in self._values) / (len(self._values) - 1))

    def __repr__(self) -> str:
        return f"$cls({self.name!r}, mean={self.mean:.${prec}f}, n={len(self._values)})"
''')

_PARAM_GROUPS = Template(r'''
def $name(model: nn.Module, weight_decay: float = $wd, $extra: float = $extra_v) -> list[dict[str, object]]:
    """$doc"""

    def wants_decay(param_name: str, param: Tensor) -> bool:
        if param.ndim < 2:
            return False
        return not any(tag in param_name for tag in ($tags))

    decay: list[Tensor] = []
    no_decay: list[Tensor] = []
    for param_name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (decay if wants_decay(param_name, param) else no_decay).append(param)
    groups: list[dict[str, object]] = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0, "lr_scale": $extra},
    ]
    return [g for g in groups if g["params"]]
''')

_NS_TABLE = Template(r'''
$const = (
$rows
)


def $name(G: Tensor, steps: int = $steps, eps: float = $eps) -> Tensor:
    """$doc"""
    X = G.bfloat16() / (G.norm() + eps)
    transposed = X.size(-2) > X.size(-1)
    if transposed:
        X = X.mT
    for i in range(steps):
        a, b, c = $const[min(i, len($const) - 1)]
        A = X @ X.mT
        X = a * X + (b * A + c * (A @ A)) @ X
    return X.mT if transposed else X
''')

_LOCAL_ATTN = Template(r'''
class $cls(nn.Module):
    """$doc"""

    def __init__(self, dim: int, num_heads: int, window: int = $window, rope_base: float = $rope) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.window = window
        self.qkv = CastedLinear(dim, 3 * dim, bias=False)
        self.out = CastedLinear(dim, dim, bias=False)
        self.out._zero_init = True
        self.rotary = Rotary(self.head_dim, base=rope_base)

    def _mask(self, seqlen: int, device: torch.device) -> Tensor:
        idx = torch.arange(seqlen, device=device)
        rel = idx[:, None] - idx[None, :]
        return (rel >= 0) & (rel < self.window)

    def forward(self, x: Tensor) -> Tensor:
        bsz, seqlen, dim = x.shape
        q, k, v = self.qkv(x).view(bsz, seqlen, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        cos, sin = self.rotary(seqlen, x.device, q.dtype)
        q = apply_rotary_emb(F.rms_norm(q, (self.head_dim,)), cos, sin)
        k = apply_rotary_emb(F.rms_norm(k, (self.head_dim,)), cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=self._mask(seqlen, x.device))
        return self.out(y.transpose(1, 2).reshape(bsz, seqlen, dim))
''')

_EMA = Template(r'''
class $cls:
    """$doc"""

    def __init__(self, model: nn.Module, decay: float = $decay, every: int = $every) -> None:
        self.decay = decay
        self.every = every
        self.updates = 0
        self.shadow = {k: v.detach().float().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        if step % self.every:
            return
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / ($warm + self.updates))
        for k, v in model.state_dict().items():
            if k in self.shadow:
                self.shadow[k].mul_(d).add_(v.detach().float(), alpha=1.0 - d)

    def copy_to(self, model: nn.Module) -> None:
        state = model.state_dict()
        model.load_state_dict({k: (self.shadow[k].to(v.dtype) if k in self.shadow else v) for k, v in state.items()})
''')

_NIBBLES = Template(r'''
def $pack(q: Tensor) -> Tensor:
    """$doc"""
    flat = (q.reshape(-1).to(torch.int16) + $offset).to(torch.uint8)
    if flat.numel() % 2:
        flat = torch.cat([flat, flat.new_zeros(1)])
    pairs = flat.view(-1, 2)
    return (pairs[:, 0] | (pairs[:, 1] << 4)).contiguous()


def $unpack(packed: Tensor, numel: int) -> Tensor:
    lo = packed & 0x0F
    hi = (packed >> 4) & 0x0F
    return (torch.stack([lo, hi], dim=1).reshape(-1)[:numel].to(torch.int16) - $offset).to(torch.int8)
''')

_DUMP = Template(r'''
def $name(args: object, keys: tuple[str, ...] | None = None, sep: str = "$sep") -> str:
    """$doc"""
    items = sorted((k, v) for k, v in vars(type(args)).items() if not k.startswith("_") and not callable(v))
    if keys is not None:
        items = [(k, v) for k, v in items if k in keys]
    width = max((len(k) for k, _ in items), default=0)
    return "\n".join(f"{k:<{width}}{sep}{v!r}" for k, v in items)
''')

_VALUE_EMBED = Template(r'''
class $cls(nn.Module):
    """$doc"""

    def __init__(self, vocab_size: int, dim: int, num_tables: int = $tables, init_std: float = $std) -> None:
        super().__init__()
        self.tables = nn.ModuleList([nn.Embedding(vocab_size, dim) for _ in range(num_tables)])
        self.scales = nn.Parameter(torch.full((num_tables,), $scale))
        for table in self.tables:
            nn.init.normal_(table.weight, std=init_std)

    def forward(self, input_ids: Tensor, layer: int) -> Tensor:
        idx = layer % len(self.tables)
        return self.scales[idx].to(dtype=torch.float32) * self.tables[idx](input_ids)
''')

_CONSTANTS = Template(r"""
${const}_SHAPES = {f"blocks.{i}.$part": ($a * (i + 1) % $b + $c, $d) for i in range($n)}
${const}_BUDGET = int($mb * 1_000_000 - sum(r * c for r, c in ${const}_SHAPES.values()) * $bits / 8 - $code_reserve)
$lam = lambda t, s=$s: torch.tanh(t / s) * s  # noqa: E731
""")

_CACHED_PLAN = Template(r'''
@functools.lru_cache(maxsize=$cache)
def $name(total: int, seq_len: int, stride: int) -> tuple[tuple[int, int], ...]:
    """$doc"""
    if stride <= 0 or stride > seq_len:
        raise ValueError(f"stride must be in (0, {seq_len}], got {stride}")
    plan = [(0, min(seq_len, total))]
    pos = plan[0][1]
    while pos < total:
        start = max(0, min(pos + stride, total) - seq_len)
        plan.append((start, pos - start))
        pos = min(pos + stride, total)
    return tuple(plan)
''')


def _filler(kind: int, rng: random.Random, namer: _Namer) -> str:
    """Renders filler block ``kind`` with fresh names and constants."""
    doc = _doc(rng)
    if kind == 0:
        return _SCHEDULE.substitute(
            name=namer.func(),
            warmup=rng.choice((0, 10, 50, 100, 250)),
            floor=_num(rng, 0.0, 0.2, 3),
            power=rng.choice((1, 2, "1.5")),
            doc=doc,
        )
    if kind == 1:
        return _GATED_MLP.substitute(
            cls=namer.cls(),
            mult=rng.choice(("2.0", "2.5", "3.0", "8 / 3")),
            align=rng.choice((32, 64, 128)),
            slope=_num(rng, 0.0, 0.6, 2),
            doc=doc,
        )
    if kind == 2:
        f1, f2, f3, f4 = namer.fields(4)
        v3 = rng.random() < 0.5
        return _CONFIG.substitute(
            cls=namer.cls(),
            f1=f1,
            f2=f2,
            f3=f3,
            f4=f4,
            F1=f1.upper(),
            F2=f2.upper(),
            F3=f3.upper(),
            F4=f4.upper(),
            v1=rng.randint(1, 4096),
            v2=_num(rng, 0.0, 2.0),
            v3=v3,
            v3i=int(v3),
            v4=rng.choice(("auto", "bf16", "int6", "row", "zstd")),
            prefix=rng.choice(_NOUNS).upper(),
            prop=f"effective_{rng.choice(_FIELD_WORDS)}",
            doc=doc,
        )
    if kind == 3:
        return _MINIFIED.substitute(
            name=namer.func(),
            k=rng.choice((32, 64, 128, 256)),
            eps=rng.choice(("1e-8", "1e-6", "1e-5")),
            qmax=rng.choice((7, 15, 31, 127)),
        )
    if kind == 4:
        cands = ", ".join(_num(rng, 0.8, 1.0, 3) for _ in range(rng.randint(3, 7)))
        return _CLIP_SEARCH.substitute(
            name=namer.func(), bits=rng.choice((5, 6, 8)), cands=cands + ",", doc=doc
        )
    if kind == 5:
        return _TRACKER.substitute(
            cls=namer.cls(),
            window=rng.choice((10, 50, 100, 500)),
            prop=f"{rng.choice(_NOUNS)}_std",
            prec=rng.choice((3, 4, 6)),
            doc=doc,
        )
    if kind == 6:
        tags = ", ".join(f'"{t}"' for t in rng.sample(("norm", "bias", "scale", "gain", "emb"), 3))
        return _PARAM_GROUPS.substitute(
            name=namer.func(),
            wd=_num(rng, 0.0, 0.1, 3),
            extra=f"{rng.choice(_FIELD_WORDS)}_mult",
            extra_v=_num(rng, 0.5, 2.0, 2),
            tags=tags,
            doc=doc,
        )
    if kind == 7:
        rows = "\n".join(
            f"    ({_num(rng, 2.5, 4.5)}, {_num(rng, -5.5, -3.0)}, {_num(rng, 1.0, 2.5)}),"
            for _ in range(rng.randint(3, 8))
        )
        return _NS_TABLE.substitute(
            const=namer.const(),
            rows=rows,
            name=namer.func(),
            steps=rng.choice((4, 5, 6)),
            eps=rng.choice(("1e-7", "1e-8")),
            doc=doc,
        )
    if kind == 8:
        return _LOCAL_ATTN.substitute(
            cls=namer.cls(),
            window=rng.choice((128, 256, 512)),
            rope=rng.choice(("10000.0", "50000.0")),
            doc=doc,
        )
    if kind == 9:
        return _EMA.substitute(
            cls=namer.cls(),
            decay=_num(rng, 0.99, 0.9999),
            every=rng.choice((1, 5, 10)),
            warm=rng.choice((10, 20)),
            doc=doc,
        )
    if kind == 10:
        return _NIBBLES.substitute(pack=namer.func(), unpack=namer.func(), offset=8, doc=doc)
    if kind == 11:
        return _DUMP.substitute(name=namer.func(), sep=rng.choice((": ", " = ", "\\t")), doc=doc)
    if kind == 12:
        return _VALUE_EMBED.substitute(
            cls=namer.cls(),
            tables=rng.choice((1, 2, 3)),
            std=_num(rng, 0.001, 0.02),
            scale=_num(rng, 0.05, 0.5, 2),
            doc=doc,
        )
    if kind == 13:
        return _CONSTANTS.substitute(
            const=namer.const(),
            part=rng.choice(("attn.c_q.weight", "mlp.fc.weight", "mlp.proj.weight")),
            a=rng.choice((512, 576, 640)),
            b=rng.choice((1536, 2048)),
            c=rng.choice((0, 64)),
            d=rng.choice((512, 576)),
            n=rng.randint(8, 12),
            mb=16,
            bits=rng.choice((5, 6, 8)),
            code_reserve=rng.choice((60_000, 100_000, 150_000)),
            lam=namer.func(),
            s=_num(rng, 10.0, 30.0, 1),
        )
    return _CACHED_PLAN.substitute(
        name=namer.func(), cache=rng.choice(("None", 8, 32)), doc=_doc(rng)
    )


_N_FILLER_KINDS = 15
_GAP = "\n\n\n"  # two blank lines between top-level blocks, as formatters leave them


# ---------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------

_TITLES = (
    "11L int6 + BigramHash + legal score-first TTT",
    "GQA baseline, Muon, zstd-22 int6, sliding-window eval",
    "U-Net skips, relu^2 MLP, EMA, chunked TTT",
    "Parameter Golf submission: 10 layers, tied embeddings, int8+lzma",
)
_BLURBS = (
    "Single-file training script: every byte here counts toward the 16,000,000-byte cap.",
    "Forked from the baseline; changes are listed in the README of the records folder.",
    "Trains for at most 600 s on 8xH100, then quantizes, compresses and evaluates.",
)


def _core_values(rng: random.Random) -> dict[str, object]:
    return {
        "title": rng.choice(_TITLES),
        "blurb": rng.choice(_BLURBS),
        "sync_fn": rng.choice(("sync_device", "maybe_sync", "cuda_sync")),
        "count_bytes_fn": rng.choice(
            ("count_target_bytes", "token_byte_count", "bytes_for_targets")
        ),
        "all_reduce_fn": rng.choice(("all_reduce_sum", "reduce_metrics", "sum_across_ranks")),
        "ns_fn": rng.choice(("zeropower_via_newtonschulz5", "newton_schulz_orthogonalize", "ns5")),
        "ns_steps": rng.choice((5, 10)),
        "ns_a": "3.4445",
        "ns_b": "-4.7750",
        "ns_c": "2.0315",
        "bigram_scale": _num(rng, 0.02, 0.1, 3),
        "prime_a": rng.choice((36313, 48271, 92821)),
        "prime_b": rng.choice((27191, 69621, 16807)),
        "keep_float": rng.choice(("65_536", "16_384", "131_072")),
        "clip_q": rng.choice(("99.99984", "99.9999", "99.999")),
        "quant_fn": rng.choice(("quantize_float_tensor", "quantize_per_row", "quant_tensor")),
        "dequant_fn": rng.choice(
            ("dequantize_state_dict", "dequantize_mixed", "restore_state_dict")
        ),
        "zstd_level": rng.choice((19, 22)),
        "windows_fn": rng.choice(("sliding_windows", "window_plan", "score_windows")),
        "sliding_fn": rng.choice(("eval_val_sliding", "eval_sliding_window", "sliding_eval")),
        "ttt_fn": rng.choice(("eval_val_ttt", "legal_ttt_eval", "score_first_ttt")),
        "ttt_clip": rng.choice(("1.0", "0.5")),
    }


def generate_script(seed: int, index: int = 0, size_kb: float = DEFAULT_SIZE_KB) -> str:
    """One script of about ``size_kb`` KiB (never less than the core pipeline, ~45 KiB)."""
    rng = random.Random(f"pgolf-bench:{seed}:{index}")
    namer = _Namer(rng)
    values = _core_values(rng)
    vocab_size = 1024
    sections = [
        _HEADER.substitute(values),
        _hyperparameters(rng, vocab_size),
        _DISTRIBUTED.substitute(values),
        _DATA.substitute(values),
        _BPB.substitute(values),
        _MUON.substitute(values),
        _MODEL.substitute(values),
        _QUANT.substitute(values),
        _EVAL.substitute(values),
        _TTT.substitute(values),
    ]
    main = _MAIN.substitute(values)
    # Filler goes into the gaps between sections (never before the imports or after main),
    # the way real scripts accumulate helpers wherever their author needed them.
    slots: list[list[str]] = [[] for _ in sections]
    target = int(size_kb * 1024)
    total = sum(len(s.encode()) for s in sections) + len(main.encode())
    while total < target:
        block = _filler(rng.randrange(_N_FILLER_KINDS), rng, namer).strip("\n")
        if rng.random() < 0.25:
            block = f"{rng.choice(_COMMENTS)}\n{block}"
        slots[rng.randrange(1, len(sections))].append(block)
        total += len(block.encode()) + len(_GAP)
    parts: list[str] = []
    for section, extra in zip(sections, slots, strict=True):
        parts.append(section.strip("\n"))
        parts.extend(extra)
    parts.append(main.strip("\n"))
    source = _GAP.join(parts) + "\n"
    ast.parse(source)  # a generator bug must fail here, not show up as an engine "finding"
    return source


def write_scripts(
    out: Path, count: int, seed: int = 0, size_kb: float = DEFAULT_SIZE_KB
) -> list[Path]:
    """Writes ``train_gpt_NNN.py`` files into ``out`` and returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = out / f"train_gpt_{i:03d}.py"
        path.write_text(generate_script(seed, i, size_kb), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1, help="number of scripts (default 1)")
    parser.add_argument(
        "--size-kb", type=float, default=DEFAULT_SIZE_KB, help="target size of each script in KiB"
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"directory (default {DEFAULT_OUT})"
    )
    ns = parser.parse_args(argv)
    if ns.count < 1:
        parser.error("--count must be at least 1")
    paths = write_scripts(ns.out, ns.count, ns.seed, ns.size_kb)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} scripts, {total / 1024:.0f} KiB in all, to {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
