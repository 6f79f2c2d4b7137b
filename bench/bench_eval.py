"""Benchmark the template's sliding-window evaluation against its plain evaluation.

A sliding window of length L and stride S runs about L/S times as many windows as the plain,
non-overlapping evaluation of the same tokens. The cost target is that sliding evaluation costs
no more than that:

    sliding time / (plain time x L / S)        (target <= 1.1)

On N tokens the window counts are N/L (plain) and (N - L)/S + 1 (sliding), whose ratio reaches
L/S only when N >> L. The headline therefore divides by the actual window-count ratio: that is
the cost per window of sliding over plain, which is exactly the ratio above on a long split (the
full validation set), whatever N this benchmark can afford. The ratio against L/S at this N is
printed next to it.

Both use the template's own `evaluate`, `plain_windows` and `sliding_windows` on the same
validation tokens of the built-in dataset, run interleaved (plain, sliding, plain, ...) after one
warm-up of each; medians of --repeat. Weights are a seeded random initialisation: the cost of a
forward pass does not depend on their values. Both evaluations use the same batch (sequences per
forward pass): the cpu preset's own, and 4 for the baseline-size model, whose baseline batch of
64 sequences would put all of the few windows this benchmark can afford into one batch for one
evaluation and not the other, and on a CPU the batch size changes the cost per token.

Usage (from the repository root):
    .venv/bin/python bench/bench_eval.py                  # both model sizes, ~3 minutes on 2 cores
    .venv/bin/python bench/bench_eval.py --json bench/out/eval.json
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

import bench_common as bc

# The "larger" model: the challenge baseline's dimensions (the template's defaults).
BASELINE_ENV = {
    "NUM_LAYERS": "9",
    "MODEL_DIM": "512",
    "NUM_HEADS": "8",
    "NUM_KV_HEADS": "4",
    "MLP_MULT": "2",
    "TRAIN_SEQ_LEN": "1024",
    "EVAL_SEQ_LEN": "1024",
    "EVAL_STRIDE": "64",
    # 4 sequences of 1024 per forward pass (VAL_BATCH_SIZE / 8 micro-batches / seq_len).
    "VAL_BATCH_SIZE": "32768",
}


@dataclass(frozen=True)
class EvalTiming:
    config: str
    params: int
    tokens: int
    seq_len: int
    stride: int
    batch_seqs: int
    plain_windows: int
    sliding_windows: int
    plain_s: float
    sliding_s: float
    ratio: float
    """Median over repeats of sliding / (plain x sliding windows / plain windows), each pair run
    back to back: the cost per window, = sliding / (plain x L/S) on a long split."""
    ratio_at_n: float
    """Median over repeats of sliding / (plain x L/S) at this benchmark's token count."""
    plain_bpb: float
    sliding_bpb: float


def _timed(fn: Callable[[], tuple[float, float]]) -> tuple[float, tuple[float, float]]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_config(
    tg: ModuleType,
    label: str,
    env: dict[str, str],
    dataset: Path,
    tokenizer: Path,
    tokens: int,
    repeat: int,
) -> EvalTiming:
    import sentencepiece as spm
    import torch

    hp = tg.Hyperparameters.from_env(
        {**env, "DATA_PATH": str(dataset), "TOKENIZER_PATH": str(tokenizer)}
    )
    d = tg.Dist(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
    hp.validate(d.world_size)
    luts = tg.build_sentencepiece_luts(
        spm.SentencePieceProcessor(model_file=str(tokenizer)), hp.vocab_size
    )
    val = tg.load_validation_tokens(tg.list_shards(dataset, "val"), tokens)
    torch.manual_seed(0)
    model = tg.GPT(hp)
    model.eval()
    plain = tg.plain_windows(val.numel(), hp.train_seq_len)
    sliding = tg.sliding_windows(val.numel(), hp.eval_seq_len, hp.eval_stride)

    def run_plain() -> tuple[float, float]:
        result: tuple[float, float] = tg.evaluate(model, plain, val, luts, hp, d, hp.train_seq_len)
        return result

    def run_sliding() -> tuple[float, float]:
        result: tuple[float, float] = tg.evaluate(model, sliding, val, luts, hp, d, hp.eval_seq_len)
        return result

    # Warm-up: first calls pay for lazy initialisation and allocator growth.
    _, (_, plain_bpb) = _timed(run_plain)
    _, (_, sliding_bpb) = _timed(run_sliding)
    plain_s: list[float] = []
    sliding_s: list[float] = []
    for _ in range(repeat):
        plain_s.append(_timed(run_plain)[0])
        sliding_s.append(_timed(run_sliding)[0])
    factor = hp.eval_seq_len / hp.eval_stride
    window_factor = len(sliding) / len(plain)
    pairs = list(zip(sliding_s, plain_s, strict=True))
    return EvalTiming(
        config=label,
        params=sum(p.numel() for p in model.parameters()),
        tokens=val.numel(),
        seq_len=hp.eval_seq_len,
        stride=hp.eval_stride,
        batch_seqs=tg.eval_batch_seqs(hp, 1, hp.eval_seq_len),
        plain_windows=len(plain),
        sliding_windows=len(sliding),
        plain_s=statistics.median(plain_s),
        sliding_s=statistics.median(sliding_s),
        ratio=statistics.median(s / (p * window_factor) for s, p in pairs),
        ratio_at_n=statistics.median(s / (p * factor) for s, p in pairs),
        plain_bpb=plain_bpb,
        sliding_bpb=sliding_bpb,
    )


def render(info: dict[str, str], rows: list[EvalTiming], repeat: int) -> str:
    out = [bc.machine_line(info), ""]
    out.append(f"Plain vs sliding-window evaluation (median of {repeat} interleaved repeats):")
    out.append("")
    out.append(
        bc.table(
            [
                "model",
                "params",
                "val tokens",
                "L / S",
                "batch",
                "windows plain / sliding",
                "plain s",
                "sliding s",
                "per window, sliding / plain (= long-split ratio)",
                "sliding / (plain x L/S) at this N",
            ],
            [
                [
                    r.config,
                    f"{r.params:,}",
                    f"{r.tokens:,}",
                    f"{r.seq_len} / {r.stride}",
                    str(r.batch_seqs),
                    f"{r.plain_windows} / {r.sliding_windows}",
                    f"{r.plain_s:.2f}",
                    f"{r.sliding_s:.2f}",
                    f"**{r.ratio:.2f}**",
                    f"{r.ratio_at_n:.2f}",
                ]
                for r in rows
            ],
        )
    )
    out.append("")
    out.append(
        "Untrained weights; val_bpb plain / sliding (a check that both scored the same tokens): "
        + "; ".join(f"{r.config}: {r.plain_bpb:.4f} / {r.sliding_bpb:.4f}" for r in rows)
    )
    out.append("")
    out.append(
        f"Load average (1 min): {info['load_avg_1m_at_start']} at start, {bc.load_avg():.2f} at end"
    )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sliding-window vs plain evaluation cost.")
    parser.add_argument("--data", type=Path, default=bc.DEFAULT_DATA_DIR, help="data folder")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved repeats per model")
    parser.add_argument(
        "--cpu-tokens",
        type=int,
        default=0,
        help="validation tokens for the cpu-preset model (default: the preset's MAX_VAL_TOKENS)",
    )
    parser.add_argument(
        "--large-tokens",
        type=int,
        default=4097,
        help="validation tokens for the baseline-size model (0 skips it)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    ns = parser.parse_args(argv)
    if ns.repeat < 1:
        parser.error("--repeat must be at least 1")

    info = bc.machine()
    dataset, tokenizer, built_s = bc.builtin_data(ns.data)
    if built_s:
        print(f"built the built-in dataset in {built_s:.1f}s", file=sys.stderr)
    tg = bc.load_template()
    cpu_env = bc.preset_env("cpu")
    cpu_tokens = ns.cpu_tokens or int(cpu_env["MAX_VAL_TOKENS"])
    configs = [("cpu preset (4x128)", cpu_env, cpu_tokens)]
    if ns.large_tokens > 0:
        configs.append(("baseline dims (9x512)", BASELINE_ENV, ns.large_tokens))
    rows = []
    for label, env, tokens in configs:
        print(f"{label}: {tokens} tokens x {ns.repeat} repeats ...", file=sys.stderr)
        start = time.perf_counter()
        rows.append(bench_config(tg, label, env, dataset, tokenizer, tokens, ns.repeat))
        print(f"  done in {time.perf_counter() - start:.0f}s", file=sys.stderr)
    print(render(info, rows, ns.repeat), end="")
    if ns.json is not None:
        bc.write_json(
            ns.json,
            {
                "machine": info,
                "load_avg_1m_at_end": round(bc.load_avg(), 2),
                "params": {"repeat": ns.repeat, "data": str(ns.data)},
                "results": [asdict(r) for r in rows],
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
