"""Hyperparameters, optimizers and the training loop (run in-process on a tiny model)."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from template_helpers import TINY_ENV, load_template

CPU = torch.device("cpu")


def test_defaults_are_the_baseline(tg: ModuleType) -> None:
    hp = tg.Hyperparameters.from_env({})
    baseline = {
        "num_layers": 9,
        "model_dim": 512,
        "num_heads": 8,
        "num_kv_heads": 4,
        "vocab_size": 1024,
        "train_batch_tokens": 524_288,
        "train_seq_len": 1024,
        "iterations": 20_000,
        "warmup_steps": 20,
        "warmdown_iters": 1200,
        "max_wallclock_seconds": 600.0,
        "matrix_lr": 0.04,
        "tied_embed_lr": 0.05,
        "logit_softcap": 30.0,
        "qk_gain_init": 1.5,
        "val_batch_size": 524_288,
    }
    assert {k: getattr(hp, k) for k in baseline} == baseline
    assert hp.tie_embeddings and not hp.ttt_enabled
    assert hp.eval_seq_len == hp.train_seq_len and hp.eval_stride == 64
    assert re.fullmatch(r"[0-9a-f-]{36}", hp.run_id)


def test_env_parsing_and_dump(tg: ModuleType) -> None:
    hp = tg.Hyperparameters.from_env(
        {
            "TRAIN_SEQ_LEN": "256",
            "TIE_EMBEDDINGS": "0",
            "TTT_ENABLED": "1",
            "MLP_MULT": "3",
            "RUN_ID": "r1",
            "SEED": "7",
        }
    )
    assert (hp.train_seq_len, hp.eval_seq_len, hp.mlp_mult, hp.seed) == (256, 256, 3.0, 7)
    assert hp.tie_embeddings is False and hp.ttt_enabled is True
    lines = hp.dump()
    assert lines[0] == "Hyperparameters:"
    assert "  seed: 7" in lines and "  tie_embeddings: 0" in lines and "  run_id: r1" in lines
    assert all(re.fullmatch(r"  (\w+): (.*)", line) for line in lines[1:])
    assert len(lines) - 1 == len(tg.fields(hp))


def test_validation_errors(tg: ModuleType) -> None:
    with pytest.raises(ValueError, match="NUM_KV_HEADS"):
        tg.Hyperparameters.from_env({"NUM_KV_HEADS": "3"}).validate(1)
    with pytest.raises(ValueError, match="TRAIN_BATCH_TOKENS"):
        tg.Hyperparameters.from_env({"TRAIN_BATCH_TOKENS": "4096"}).validate(1)
    tg.Hyperparameters.from_env(TINY_ENV).validate(2)


def test_grad_accum_keeps_the_global_batch(tg: ModuleType) -> None:
    assert [tg.grad_accum_steps(w) for w in (1, 2, 4, 8, 16)] == [8, 4, 2, 1, 1]
    for world in (1, 2, 4, 8):
        assert world * tg.grad_accum_steps(world) == 8


def test_lr_schedule(tg: ModuleType) -> None:
    hp = tg.Hyperparameters.from_env({"ITERATIONS": "100", "WARMDOWN_ITERS": "10"})
    assert tg.lr_scale(50, 0.0, hp, None) == 1.0
    assert tg.lr_scale(95, 0.0, hp, None) == pytest.approx(0.5)
    # 10 ms per step, 1000 ms cap: the last 100 ms are the warmdown.
    assert tg.lr_scale(50, 500.0, hp, 1000.0) == 1.0
    assert tg.lr_scale(60, 950.0, hp, 1000.0) == pytest.approx(50 / (10 * 950 / 60))
    assert tg.lr_scale(80, 2000.0, hp, 1000.0) == 0.0


def test_cap_logic(tg: ModuleType) -> None:
    hp = tg.Hyperparameters.from_env({"MAX_WALLCLOCK_SECONDS": "10", "RESERVE_SECONDS": "2"})
    assert tg.wallclock_cap_ms(hp) == 8000.0
    assert tg.wallclock_cap_ms(tg.Hyperparameters.from_env({"MAX_WALLCLOCK_SECONDS": "0"})) is None
    assert not tg.cap_reached(7000.0, 10, 8000.0)  # 700 ms/step: the next step ends at 7.7 s
    assert tg.cap_reached(7400.0, 10, 8000.0)  # ... ends at 8.14 s: stop now
    assert not tg.cap_reached(1e12, 1, None)
    one = tg.Dist(0, 1, 0, CPU)
    assert tg.agree_to_stop(True, one) and not tg.agree_to_stop(False, one)


def _stop_worker(rank: int, store: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    tg = load_template()
    d = tg.Dist(rank, 2, rank, CPU)
    # Only rank 0 is past the cap, then nobody is.
    results = [tg.agree_to_stop(rank == 0, d), tg.agree_to_stop(False, d)]
    Path(f"{out}.{rank}").write_text(repr(results))
    dist.destroy_process_group()


def test_stop_flag_is_max_across_ranks(tmp_path: Path) -> None:
    out = tmp_path / "result"
    mp.spawn(_stop_worker, args=(str(tmp_path / "store"), str(out)), nprocs=2)
    assert [Path(f"{out}.{r}").read_text() for r in range(2)] == ["[True, False]"] * 2


def test_newton_schulz_orthogonalises(tg: ModuleType) -> None:
    torch.manual_seed(0)
    for shape in ((64, 16), (16, 64), (32, 32)):
        g = torch.randn(*shape) * torch.logspace(-1, 0, shape[1])  # condition number 10
        out = tg.newton_schulz(g, 5)
        assert out.shape == g.shape
        sv = torch.linalg.svdvals(out)
        assert sv.min() > 0.6 and sv.max() < 1.25


def test_muon_step_shapes_and_scale(tg: ModuleType) -> None:
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.zeros(s)) for s in ((64, 16), (16, 64))]
    for p in params:
        p.grad = torch.randn_like(p)
    opt = tg.Muon(params, lr=0.1, momentum=0.9, backend_steps=5)
    opt.step()
    for p in params:
        assert p.shape in ((64, 16), (16, 64))
        assert opt.state[p]["momentum_buffer"].shape == p.shape
    # Tall matrices get their update scaled by sqrt(rows/cols) = 2.
    tall, wide = (float(torch.linalg.matrix_norm(p.detach(), ord=2)) for p in params)
    assert tall == pytest.approx(2 * wide, rel=0.3)


def _context(tg: ModuleType, dataset: dict[str, Any], **env: str) -> object:
    # One 128-token sequence per micro-step keeps these in-process runs fast.
    base = {**TINY_ENV, "TRAIN_BATCH_TOKENS": "1024", "DATA_PATH": str(dataset["data"])}
    hp = tg.Hyperparameters.from_env({**base, **env})
    d = tg.Dist(0, 1, 0, CPU)
    torch.manual_seed(hp.seed)
    model = tg.GPT(hp)
    paths = tg.list_shards(hp.data_path, "train")
    return tg.TrainContext(
        hp=hp,
        d=d,
        model=model,
        step_model=model,
        eval_model=model,
        optimizers=tg.build_optimizers(model, hp, d),
        make_loader=lambda: tg.DistributedTokenLoader(paths, 0, 1, CPU),
        validate=lambda m: (1.0, 2.0),
    )


def test_optimizer_routing(tg: ModuleType, dataset: dict[str, Any]) -> None:
    ctx = _context(tg, dataset)
    adam, muon = ctx.optimizers
    everything = list(ctx.model.parameters())
    muon_params = {id(p) for g in muon.param_groups for p in g["params"]}
    for name, p in ctx.model.named_parameters():
        is_matrix = p.ndim == 2 and name.startswith("blocks.") and not tg.is_control_tensor(name)
        assert (id(p) in muon_params) == is_matrix, name
    adam_count = sum(len(g["params"]) for g in adam.param_groups)
    assert adam_count + len(muon_params) == len(everything)


def test_warm_up_is_not_training(tg: ModuleType, dataset: dict[str, Any]) -> None:
    def train_steps(warmup: int) -> dict[str, torch.Tensor]:
        ctx = _context(tg, dataset, WARMUP_STEPS=str(warmup))
        initial = {k: v.clone() for k, v in ctx.model.state_dict().items()}
        tg.warm_up(ctx)
        for k, v in ctx.model.state_dict().items():
            assert torch.equal(v, initial[k]), k
        loader = ctx.make_loader()
        for step in range(2):
            tg.training_step(ctx, loader, step, 1.0)
        return ctx.model.state_dict()

    with_warmup, without = train_steps(2), train_steps(0)
    for k, v in without.items():
        assert torch.equal(with_warmup[k], v), k


def test_ema_tracks_and_copies(tg: ModuleType, dataset: dict[str, Any]) -> None:
    ctx = _context(tg, dataset)
    ema = tg.EMA(ctx.model, 0.9)
    w = ctx.model.blocks[0].attn.c_q.weight
    start = w.detach().clone()
    with torch.no_grad():
        w.add_(1.0)
    ema.update(ctx.model)  # decay min(0.9, 2/11)
    ema.copy_to(ctx.model)
    assert torch.allclose(w, start + (1 - 2 / 11), atol=1e-6)


def test_wallclock_cap_stops_the_loop(
    tg: ModuleType, dataset: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = _context(
        tg,
        dataset,
        MAX_WALLCLOCK_SECONDS="0.4",
        ITERATIONS="100000",
        WARMUP_STEPS="1",
        TRAIN_LOG_EVERY="0",
    )
    result = tg.train(ctx, None)
    out = capsys.readouterr().out
    assert result.stopped_early and 0 < result.steps < 100_000
    m = re.search(
        r"^stopping_early: wallclock_cap train_time:(\d+)ms step:(\d+)/100000$", out, re.M
    )
    assert m and int(m.group(2)) == result.steps
    # No overshoot beyond the step in flight (two average steps of slack for a loaded machine).
    train_ms = int(m.group(1))
    assert train_ms <= 400 + 2 * train_ms / result.steps
    # The final validation runs once, after the last step, and the last step is logged.
    assert re.search(rf"^step:{result.steps}/100000 val_loss:1.0000 val_bpb:2.0000 ", out, re.M)
    assert re.search(rf"^step:{result.steps}/100000 train_loss:[\d.]+ ", out, re.M)


def test_the_last_validation_scores_the_exported_weights(
    tg: ModuleType, dataset: dict[str, Any]
) -> None:
    """The export quantizes the EMA weights, so the pre-quant line must score those, not the raw
    weights of the last step; otherwise the logged quantization gap mixes in the EMA's effect."""
    ctx = _context(tg, dataset, ITERATIONS="6", VAL_LOSS_EVERY="3", TRAIN_LOG_EVERY="0")
    ema = tg.EMA(ctx.model, 0.9)
    seen: list[dict[str, torch.Tensor]] = []

    def validate(model: torch.nn.Module) -> tuple[float, float]:
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return 1.0, 2.0

    ctx.validate = validate
    tg.train(ctx, ema)
    assert len(seen) == 3  # steps 0, 3 and 6
    exported = dict(zip(ema.names, ema.shadow, strict=True))
    for name, value in seen[-1].items():
        assert torch.equal(value.float(), exported[name]), name
        assert torch.equal(ctx.model.state_dict()[name], value), name  # left in the model


def test_cpu_bf16_switches_autocast(tg: ModuleType) -> None:
    x, w = torch.randn(2, 8), torch.randn(3, 8)
    with tg.Dist(0, 1, 0, CPU, cpu_bf16=True).autocast():
        assert torch.nn.functional.linear(x, w).dtype == torch.bfloat16
    with tg.Dist(0, 1, 0, CPU, cpu_bf16=False).autocast():
        assert torch.nn.functional.linear(x, w).dtype == torch.float32
    assert tg.Hyperparameters.from_env({}).cpu_bf16 is False  # fp32 on CPU, as measured
    assert tg.Hyperparameters.from_env({"CPU_BF16": "1"}).cpu_bf16 is True
