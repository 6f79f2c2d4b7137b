"""Benchmark the template's training step on one CUDA GPU: ms/step, tokens/s and peak memory for
the challenge baseline configuration and a record-size one.

Everything that runs is the template's own code: `setup_distributed` (TF32, flash SDPA), `GPT`
under `torch.compile`, `build_optimizers` (Muon + fused Adam), `DistributedTokenLoader`,
`training_step` (bf16 autocast, 8 micro-batches of gradient accumulation on one process, so a
step is the full 524,288-token global batch) and the EMA update the training loop does after
every step. Warm-up steps (compilation, allocator growth) run first and are not timed; each
timed step ends with a device synchronisation, as the template's loop does when it checks the
wallclock cap.

Tokens are synthetic (uniform random ids, written to a temporary shard big enough that the
loader never wraps around), unless --data names a dataset folder such as
data/datasets/fineweb10B_sp1024. Step time does not depend on which tokens are fed.

Reference: the challenge's merged baseline ran 43.6 ms/step on 8xH100, each GPU doing 1/8 of
the batch; one GPU doing all 8 micro-batches is therefore expected near 8 x 43.6 = 349 ms/step
on an H100 (a little less: no gradient all-reduce).

Usage (from the repository root):
    .venv/bin/python bench/bench_gpu.py                          # baseline + record, CUDA
    .venv/bin/python bench/bench_gpu.py --steps 50 --json bench/out/gpu.json
    .venv/bin/python bench/bench_gpu.py --dry-run                # tiny config on CPU, 2 steps
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import bench_common as bc
import numpy as np

BASELINE_8XH100_MS_PER_STEP = 43.6
REFERENCE_ONE_GPU_MS_PER_STEP = 8 * BASELINE_8XH100_MS_PER_STEP

_COMMON = {
    "VOCAB_SIZE": "1024",
    "MODEL_DIM": "512",
    "NUM_HEADS": "8",
    "NUM_KV_HEADS": "4",
    "TRAIN_SEQ_LEN": "1024",
    "TRAIN_BATCH_TOKENS": "524288",
}
CONFIGS: dict[str, dict[str, str]] = {
    "baseline": {**_COMMON, "NUM_LAYERS": "9", "MLP_MULT": "2"},
    "record": {**_COMMON, "NUM_LAYERS": "11", "MLP_MULT": "3"},
    # For checking this script without a GPU: same code path, seconds on a CPU.
    "tiny": {
        "VOCAB_SIZE": "1024",
        "MODEL_DIM": "64",
        "NUM_HEADS": "2",
        "NUM_KV_HEADS": "1",
        "TRAIN_SEQ_LEN": "128",
        "TRAIN_BATCH_TOKENS": "8192",
        "NUM_LAYERS": "2",
        "MLP_MULT": "2",
    },
}


class NoCudaError(RuntimeError):
    pass


@dataclass(frozen=True)
class StepTiming:
    config: str
    device: str
    num_layers: int
    model_dim: int
    mlp_mult: float
    params: int
    batch_tokens: int
    micro_batches: int
    micro_batch_seqs: int
    compiled: bool
    ema: bool
    warmup_steps: int
    warmup_s: float
    steps: int
    ms_per_step_median: float
    ms_per_step_mean: float
    tokens_per_s: float
    """TRAIN_BATCH_TOKENS / mean step time."""
    peak_allocated_mib: float
    peak_reserved_mib: float
    final_loss: float


def synthetic_dataset(folder: Path, tokens: int, vocab_size: int) -> Path:
    """One train shard in the official layout (docs/pipeline.md) of uniform random ids."""
    header = np.zeros(256, dtype="<i4")
    header[0], header[1], header[2] = 20240520, 1, tokens
    ids = np.random.default_rng(0).integers(0, vocab_size, size=tokens, dtype=np.uint16)
    with (folder / "fineweb_train_000000.bin").open("wb") as f:
        f.write(header.tobytes())
        f.write(ids.astype("<u2").tobytes())
    return folder


def make_dist(tg: ModuleType, device: str) -> Any:
    import torch

    if device == "cuda":
        if not torch.cuda.is_available():
            raise NoCudaError(
                "bench_gpu.py needs a CUDA GPU, and torch.cuda.is_available() is False here "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}). "
                "Run it on a machine with a GPU, or check the script's CPU-side logic with "
                "--dry-run."
            )
        # The template's own device setup (TF32, flash SDPA); one process, no process group.
        return tg.setup_distributed()
    return tg.Dist(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


def bench_config(
    tg: ModuleType,
    d: Any,
    name: str,
    env: Mapping[str, str],
    data_path: Path,
    warmup: int,
    steps: int,
    compile_model: bool,
    use_ema: bool,
) -> StepTiming:
    import torch

    hp = tg.Hyperparameters.from_env({**env, "DATA_PATH": str(data_path), "RUN_ID": "bench"})
    hp.validate(d.world_size)
    torch.manual_seed(hp.seed)
    if d.is_cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(d.device)
    model = tg.GPT(hp).to(d.device)
    compiled = compile_model and d.is_cuda
    step_model = torch.compile(model) if compiled else model
    train_paths = tg.list_shards(data_path, "train")
    ctx = tg.TrainContext(
        hp=hp,
        d=d,
        model=model,
        step_model=step_model,
        eval_model=step_model,
        optimizers=tg.build_optimizers(model, hp, d),
        make_loader=lambda: tg.DistributedTokenLoader(train_paths, 0, 1, d.device),
        validate=lambda _m: (float("nan"), float("nan")),
    )
    ema = tg.EMA(model, hp.ema_decay) if use_ema and hp.ema_decay > 0 else None
    loader = ctx.make_loader()

    def one_step(step: int) -> Any:
        loss = tg.training_step(ctx, loader, step, 1.0)
        if ema is not None:
            ema.update(model)
        return loss

    d.sync()
    start = time.perf_counter()
    for step in range(warmup):
        one_step(step)
    d.sync()
    warmup_s = time.perf_counter() - start

    times: list[float] = []
    loss = None
    for step in range(warmup, warmup + steps):
        t0 = time.perf_counter()
        loss = one_step(step)
        d.sync()
        times.append(time.perf_counter() - t0)
    allocated, reserved = tg.peak_memory_mib(d)
    accum = tg.grad_accum_steps(d.world_size)
    mean_s = statistics.fmean(times)
    return StepTiming(
        config=name,
        device=torch.cuda.get_device_name(d.device) if d.is_cuda else "cpu",
        num_layers=hp.num_layers,
        model_dim=hp.model_dim,
        mlp_mult=hp.mlp_mult,
        params=sum(p.numel() for p in model.parameters()),
        batch_tokens=hp.train_batch_tokens,
        micro_batches=accum,
        micro_batch_seqs=hp.train_batch_tokens // accum // hp.train_seq_len,
        compiled=compiled,
        ema=ema is not None,
        warmup_steps=warmup,
        warmup_s=warmup_s,
        steps=steps,
        ms_per_step_median=1000 * statistics.median(times),
        ms_per_step_mean=1000 * mean_s,
        tokens_per_s=hp.train_batch_tokens / mean_s,
        peak_allocated_mib=allocated,
        peak_reserved_mib=reserved,
        final_loss=float("nan") if loss is None else float(loss.item()),
    )


def render(info: dict[str, str], rows: list[StepTiming], source: str) -> str:
    out = [
        bc.machine_line(info),
        f"Device: {rows[0].device if rows else '-'}; tokens: {source}",
        "",
    ]
    table_rows = []
    for r in rows:
        table_rows.append(
            [
                r.config,
                f"{r.num_layers}x{r.model_dim}, MLP {r.mlp_mult:g}x",
                f"{r.params:,}",
                f"{r.batch_tokens:,} = {r.micro_batches} x {r.micro_batch_seqs} seqs",
                f"{r.warmup_steps} ({r.warmup_s:.1f} s)",
                str(r.steps),
                f"{r.ms_per_step_median:.1f}",
                f"{r.ms_per_step_mean:.1f}",
                f"{r.tokens_per_s:,.0f}",
                f"{r.peak_allocated_mib:,.0f} / {r.peak_reserved_mib:,.0f}",
                f"{r.final_loss:.3f}",
            ]
        )
    out.append(
        bc.table(
            [
                "config",
                "model",
                "params",
                "tokens/step",
                "warm-up steps (time)",
                "timed steps",
                "ms/step median",
                "ms/step mean",
                "tokens/s",
                "peak MiB alloc / reserved",
                "last loss",
            ],
            table_rows,
        )
    )
    out.append("")
    flags = ", ".join(
        sorted(
            {
                f"compile={'on' if r.compiled else 'off'}, ema={'on' if r.ema else 'off'}"
                for r in rows
            }
        )
    )
    out.append(f"Settings: {flags}")
    for r in rows:
        if r.config == "baseline":
            out.append(
                f"Reference: merged baseline {BASELINE_8XH100_MS_PER_STEP} ms/step on 8xH100 -> "
                f"~{REFERENCE_ONE_GPU_MS_PER_STEP:.0f} ms/step on one GPU with 8-step accumulation; "
                f"measured / reference = {r.ms_per_step_mean / REFERENCE_ONE_GPU_MS_PER_STEP:.2f}"
            )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Training-step benchmark on one CUDA GPU.")
    parser.add_argument(
        "--configs", nargs="+", choices=sorted(CONFIGS), default=["baseline", "record"]
    )
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (compile)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--data", type=Path, help="a dataset folder with fineweb_train_*.bin")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--no-ema", action="store_true", help="skip the per-step EMA update")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the script on CPU: --device cpu --configs tiny --warmup 1 --steps 2",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    ns = parser.parse_args(argv)
    if ns.dry_run:
        ns.device, ns.configs, ns.warmup, ns.steps = "cpu", ["tiny"], 1, 2
    if ns.steps < 1 or ns.warmup < 0:
        parser.error("--steps must be at least 1 and --warmup at least 0")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        parser.error("run as one process (python bench/bench_gpu.py), not under torchrun")

    info = bc.machine()
    tg = bc.load_template()
    try:
        d = make_dist(tg, ns.device)
    except NoCudaError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2

    rows: list[StepTiming] = []
    with tempfile.TemporaryDirectory(prefix="pgolf-bench-gpu-") as tmp:
        for name in ns.configs:
            env = CONFIGS[name]
            if ns.data is not None:
                data_path, source = ns.data, f"shards in {ns.data}"
            else:
                folder = Path(tmp) / name
                folder.mkdir()
                # Enough for every step (each micro-batch reads one token more than it trains
                # on), so the timed loop never wraps around and re-reads the shard.
                tokens = int(env["TRAIN_BATCH_TOKENS"]) * (ns.warmup + ns.steps + 1)
                data_path = synthetic_dataset(folder, tokens, int(env["VOCAB_SIZE"]))
                source = "synthetic (uniform random ids)"
            print(f"{name}: {ns.warmup} warm-up + {ns.steps} timed steps ...", file=sys.stderr)
            rows.append(
                bench_config(
                    tg,
                    d,
                    name,
                    env,
                    data_path,
                    ns.warmup,
                    ns.steps,
                    compile_model=not ns.no_compile,
                    use_ema=not ns.no_ema,
                )
            )
            gc.collect()
            if d.is_cuda:
                import torch

                cast(Any, torch)._dynamo.reset()
    print(render(info, rows, source), end="")
    if ns.json is not None:
        bc.write_json(
            ns.json,
            {
                "machine": info,
                "reference_ms_per_step_8xh100": BASELINE_8XH100_MS_PER_STEP,
                "reference_ms_per_step_one_gpu": REFERENCE_ONE_GPU_MS_PER_STEP,
                "params": {
                    "configs": ns.configs,
                    "device": ns.device,
                    "warmup": ns.warmup,
                    "steps": ns.steps,
                    "data": None if ns.data is None else str(ns.data),
                },
                "results": [asdict(r) for r in rows],
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
