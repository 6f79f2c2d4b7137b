"""Benchmark the template's CPU precision: fp32 against bf16 autocast, on the `cpu` preset.

Two copies of the same model (same seed, same initial weights, the same batches in the same
order) train side by side with the template's own `training_step`, one in fp32 and one under
bf16 autocast (`Dist(cpu_bf16=...)`, what `CPU_BF16` switches). Their steps alternate, so both
see the same machine load, and each step is timed on its own. At the end each swaps its EMA in
(the weights the export quantizes) and is scored with the template's `evaluate` on the preset's
validation tokens, in its own precision.

Each step is timed twice: wall time, and the CPU time of this process (`time.process_time`).
On a machine other work shares, wall time also counts the waits for a core; CPU time counts only
the work, so with one torch thread it is what the step takes on an idle core. Reported: median
step times of each and their ratios, and val_bpb of each after the same number of steps.

Usage (from the repository root):
    .venv/bin/python bench/bench_cpu_precision.py                 # the cpu preset's steps, ~10 min
    .venv/bin/python bench/bench_cpu_precision.py --steps 40 --threads 1 --json out.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import bench_common as bc

bc.use_this_checkout()

from pgolf_cli.runner.presets import get_preset  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=bc.DEFAULT_DATA_DIR, help="data folder")
    parser.add_argument("--steps", type=int, help="default: the cpu preset's ITERATIONS")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    ns = parser.parse_args(argv)

    import torch

    if ns.threads:
        torch.set_num_threads(ns.threads)
    tg = bc.load_template()
    dataset_dir, tokenizer, _ = bc.builtin_data(ns.data)
    env = dict(get_preset("cpu").env)
    if ns.steps:
        env["ITERATIONS"] = str(ns.steps)
    env.update({"DATA_PATH": str(dataset_dir), "TOKENIZER_PATH": str(tokenizer)})
    hp = tg.Hyperparameters.from_env(env)
    info = bc.machine()

    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=hp.tokenizer_path)
    luts = tg.build_sentencepiece_luts(sp, hp.vocab_size)
    val_tokens = tg.load_validation_tokens(tg.list_shards(hp.data_path, "val"), hp.max_val_tokens)
    train_paths = tg.list_shards(hp.data_path, "train")
    windows = tg.plain_windows(val_tokens.numel(), hp.train_seq_len)

    runs: dict[str, dict[str, Any]] = {}
    for name, bf16 in (("fp32", False), ("bf16", True)):
        d = tg.Dist(0, 1, 0, torch.device("cpu"), cpu_bf16=bf16)
        torch.manual_seed(hp.seed)
        model = tg.GPT(hp)
        ctx = tg.TrainContext(
            hp=hp,
            d=d,
            model=model,
            step_model=model,
            eval_model=model,
            optimizers=tg.build_optimizers(model, hp, d),
            make_loader=lambda: tg.DistributedTokenLoader(train_paths, 0, 1, torch.device("cpu")),
            validate=lambda m: (0.0, 0.0),
        )
        runs[name] = {
            "ctx": ctx,
            "loader": ctx.make_loader(),
            "ema": tg.EMA(model, hp.ema_decay),
            "times": [],
            "cpu_times": [],
            "losses": [],
        }

    torch.use_deterministic_algorithms(True)
    load_start = bc.load_avg()
    for step in range(hp.iterations):
        scale = tg.lr_scale(step, 0.0, hp, None)
        # Alternate which goes first, so neither always runs right after the other's step.
        order = ("fp32", "bf16") if step % 2 == 0 else ("bf16", "fp32")
        for name in order:
            run = runs[name]
            start, cpu_start = time.perf_counter(), time.process_time()
            loss = tg.training_step(run["ctx"], run["loader"], step, scale)
            run["ema"].update(run["ctx"].model)
            run["times"].append(time.perf_counter() - start)
            run["cpu_times"].append(time.process_time() - cpu_start)
            run["losses"].append(float(loss))
        if (step + 1) % 10 == 0:
            print(
                f"step {step + 1}/{hp.iterations}: "
                + ", ".join(f"{n} loss {r['losses'][-1]:.4f}" for n, r in runs.items()),
                file=sys.stderr,
            )
    load_end = bc.load_avg()

    results: dict[str, dict[str, float]] = {}
    for name, run in runs.items():
        ctx = run["ctx"]
        run["ema"].copy_to(ctx.model)
        start, cpu_start = time.perf_counter(), time.process_time()
        val_loss, val_bpb = tg.evaluate(
            ctx.model, windows, val_tokens, luts, hp, ctx.d, hp.train_seq_len
        )
        results[name] = {
            "median_step_s": statistics.median(run["times"]),
            "median_step_cpu_s": statistics.median(run["cpu_times"]),
            "total_train_s": sum(run["times"]),
            "final_train_loss": run["losses"][-1],
            "val_loss": val_loss,
            "val_bpb": val_bpb,
            "eval_s": time.perf_counter() - start,
            "eval_cpu_s": time.process_time() - cpu_start,
        }
    ratio = results["bf16"]["median_step_s"] / results["fp32"]["median_step_s"]
    cpu_ratio = results["bf16"]["median_step_cpu_s"] / results["fp32"]["median_step_cpu_s"]

    rows = [
        [
            name,
            f"{r['median_step_s'] * 1000:.0f}",
            f"{r['median_step_cpu_s'] * 1000:.0f}",
            f"{r['total_train_s']:.1f}",
            f"{r['final_train_loss']:.4f}",
            f"{r['val_bpb']:.4f}",
            f"{r['eval_s']:.1f} / {r['eval_cpu_s']:.1f}",
        ]
        for name, r in results.items()
    ]
    print(bc.machine_line(info))
    print(
        f"\n{hp.iterations} steps each, interleaved; load average {load_start:.2f} at start, "
        f"{load_end:.2f} at end\n"
    )
    print(
        bc.table(
            [
                "precision",
                "median step ms (wall)",
                "median step ms (CPU)",
                "train s (wall)",
                "last train_loss",
                "val_bpb (EMA)",
                "eval s (wall / CPU)",
            ],
            rows,
        )
    )
    print(f"\nbf16 / fp32 step time: {ratio:.3f} (wall), {cpu_ratio:.3f} (CPU)")
    if ns.json is not None:
        bc.write_json(
            ns.json,
            {
                "machine": info,
                "steps": hp.iterations,
                "results": results,
                "bf16_over_fp32_step_time": ratio,
                "bf16_over_fp32_step_cpu_time": cpu_ratio,
                "load": [load_start, load_end],
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
