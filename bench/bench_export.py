"""Benchmark the template's export (int6 rows + the best of zstd-22 / brotli-11 / lzma-9) against
the challenge baseline's (per-row int8, zlib level 9) on the same trained weights.

The weights: the `cpu` preset model trained once in this process with the template's own
training loop (its step count and EMA included), on the built-in data. `--weights PATH` keeps
them (trains and saves when PATH is missing, loads it otherwise) so reruns skip training.

For each `--keep-float` threshold (tensors with at most that many elements stay float in both
schemes; the baseline's constant is 65,536, under which every block matrix of the small cpu
model would stay fp16, so 4,096 is measured too to quantize them as at the challenge's size):

* artifact bytes of each scheme and codec, and the ratio int6+best / int8+zlib-9;
* the order-0 entropy floor of each quantized state (defined in `entropy_floor`) and how far
  the compressed artifact is above it;
* the quantization gap: val_bpb of the model read back from the artifact minus val_bpb of the
  float model, plain (non-overlapping) evaluation on the same validation tokens.

The baseline scheme is written here from the facts in records.md §6.5/§6.6: float tensors with
at most 65,536 elements kept (fp32 for control tensors, fp16 otherwise), 2-D matrices per-row
int8 clipped at the 99.99984th percentile of |w| with scale = clip/127 floored at 1/127 and
stored as fp16, other tensors int8 with one fp32 scale, torch.save, then zlib level 9. Because
the floor makes rows whose clip is below 1 use a coarser step than 8 bits allow, the same scheme
without the floor is reported too.

Usage (from the repository root):
    .venv/bin/python bench/bench_export.py                 # train + export, ~4 minutes on 2 cores
    .venv/bin/python bench/bench_export.py --weights bench/out/cpu_weights.pt --json bench/out/export.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sys
import time
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import bench_common as bc
import torch
from torch import Tensor

BASELINE_FORMAT = "int8_clean_per_row_v1"
BASELINE_CLIP_Q = 99.99984 / 100
BASELINE_KEEP_FLOAT_MAX_NUMEL = 65_536


@dataclass(frozen=True)
class Setup:
    tg: ModuleType
    hp: Any
    d: Any
    luts: Any
    val_tokens: Tensor


@dataclass(frozen=True)
class Artifact:
    threshold: int
    scheme: str
    codec: str
    bytes: int
    raw_bytes: int
    """torch.save bytes before compression."""


@dataclass(frozen=True)
class SchemeResult:
    threshold: int
    scheme: str
    best_codec: str
    bytes: int
    floor_bytes: float
    floor_parts: dict[str, float]
    val_bpb: float
    gap_bpb: float
    quantized_values: int
    floored_rows: int
    """Rows whose int8 scale was raised to the 1/127 floor (baseline scheme only)."""


# --------------------------------------------------------------------------------------------
# The baseline's int8 scheme (records.md §6.5), written for this benchmark
# --------------------------------------------------------------------------------------------


def baseline_quantize(
    tg: ModuleType, state: Mapping[str, Tensor], keep_float: int, scale_floor: bool
) -> tuple[dict[str, Any], int]:
    """Returns the object the baseline torch.saves and the number of rows at the scale floor."""
    out: dict[str, Any] = {
        "__quant_format__": BASELINE_FORMAT,
        "quantized": {},
        "scales": {},
        "dtypes": {},
        "passthrough": {},
        "qmeta": {},
        "passthrough_orig_dtypes": {},
    }
    floored = 0
    for name, tensor in state.items():
        t = tensor.detach().cpu()
        if not t.is_floating_point():
            out["passthrough"][name] = t.clone()
            continue
        if t.numel() <= keep_float:
            keep = torch.float32 if tg.is_control_tensor(name) else torch.float16
            out["passthrough"][name] = t.to(keep).clone()
            out["passthrough_orig_dtypes"][name] = str(t.dtype).removeprefix("torch.")
            continue
        w = t.float()
        if w.ndim == 2:
            clip = torch.quantile(w.abs(), BASELINE_CLIP_Q, dim=1)
            scale = clip / 127.0
            if scale_floor:
                floored += int((scale < 1.0 / 127.0).sum())
                scale = scale.clamp_min(1.0 / 127.0)
            else:
                scale = scale.clamp_min(2.0**-24)  # only guards all-zero rows
            clipped = torch.maximum(torch.minimum(w, clip[:, None]), -clip[:, None])
            q = torch.clamp(torch.round(clipped / scale[:, None]), -127, 127).to(torch.int8)
            out["scales"][name] = scale.half()
            out["qmeta"][name] = {"scheme": "per_row", "axis": 0}
        else:
            clip_value = float(torch.quantile(w.abs().flatten(), BASELINE_CLIP_Q))
            step = clip_value / 127.0 if clip_value > 0 else 1.0
            q = torch.clamp(torch.round(w.clamp(-clip_value, clip_value) / step), -127, 127)
            q = q.to(torch.int8)
            out["scales"][name] = torch.tensor(step, dtype=torch.float32)
        out["quantized"][name] = q.contiguous()
        out["dtypes"][name] = str(t.dtype).removeprefix("torch.")
    return out, floored


def baseline_dequantize(obj: Mapping[str, Any]) -> dict[str, Tensor]:
    state: dict[str, Tensor] = {}
    for name, q in obj["quantized"].items():
        scale = obj["scales"][name].float()
        values = q.float() * (scale[:, None] if scale.ndim else scale)
        state[name] = values.to(getattr(torch, obj["dtypes"][name]))
    for name, t in obj["passthrough"].items():
        original = obj["passthrough_orig_dtypes"].get(name)
        state[name] = t.to(getattr(torch, original)) if original else t
    return state


def torch_save_bytes(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Entropy floor
# --------------------------------------------------------------------------------------------


def order0_bytes(q: Tensor) -> float:
    """n x H(values) / 8: the size of the values under an ideal order-0 code of this tensor's own
    value histogram (no model cost, no context between values)."""
    _, counts = torch.unique(q.flatten(), return_counts=True)
    p = counts.double() / q.numel()
    return float(-(counts.double() * torch.log2(p)).sum()) / 8


def _stored(t: Tensor) -> int:
    return t.numel() * t.element_size()


def entropy_floor(quantized: Mapping[str, Tensor], side: list[Tensor]) -> dict[str, float]:
    """Parts of the floor: the order-0 entropy of every quantized tensor (per tensor) plus the
    bytes, as stored, of the scales and of every tensor kept unquantized (float or integer).
    Not counted: torch.save's container (names, shapes, pickle) and the artifact header. It is
    not a strict lower bound: a codec may model context between values, and shrinks fp16
    passthrough tensors somewhat."""
    return {
        "quantized_values": sum(order0_bytes(q) for q in quantized.values()),
        "scales_and_passthrough": float(sum(_stored(t) for t in side)),
    }


def int6_parts(obj: Mapping[str, Any]) -> tuple[dict[str, Tensor], list[Tensor]]:
    quantized: dict[str, Tensor] = {}
    side: list[Tensor] = []
    for name, e in obj["entries"].items():
        if e["kind"] in ("rows", "tensor"):
            quantized[name] = e["q"]
            side.append(e["scale"])
        else:
            side.append(e["data"])
    return quantized, side


def int8_parts(obj: Mapping[str, Any]) -> tuple[dict[str, Tensor], list[Tensor]]:
    return dict(obj["quantized"]), [*obj["scales"].values(), *obj["passthrough"].values()]


# --------------------------------------------------------------------------------------------
# Training and scoring with the template
# --------------------------------------------------------------------------------------------


def make_setup(tg: ModuleType, env: Mapping[str, str], dataset: Path, tokenizer: Path) -> Setup:
    import sentencepiece as spm

    hp = tg.Hyperparameters.from_env(
        {
            **env,
            "DATA_PATH": str(dataset),
            "TOKENIZER_PATH": str(tokenizer),
            "SEED": "1337",
            "RUN_ID": "bench-export",
        }
    )
    # The precision main() picks on CPU (CPU_BF16).
    d = tg.Dist(0, 1, 0, torch.device("cpu"), cpu_bf16=hp.cpu_bf16)
    hp.validate(d.world_size)
    luts = tg.build_sentencepiece_luts(
        spm.SentencePieceProcessor(model_file=str(tokenizer)), hp.vocab_size
    )
    val = tg.load_validation_tokens(tg.list_shards(dataset, "val"), hp.max_val_tokens)
    return Setup(tg=tg, hp=hp, d=d, luts=luts, val_tokens=val)


def train_weights(s: Setup) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The template's training stage as its main() runs it on CPU: seeded init, Muon + Adam,
    the loop with its periodic validation, which swaps the EMA weights in at the end."""
    tg, hp, d = s.tg, s.hp, s.d
    torch.manual_seed(hp.seed)
    model = tg.GPT(hp)
    train_paths = tg.list_shards(hp.data_path, "train")
    plain = tg.plain_windows(s.val_tokens.numel(), hp.train_seq_len)
    ctx = tg.TrainContext(
        hp=hp,
        d=d,
        model=model,
        step_model=model,
        eval_model=model,
        optimizers=tg.build_optimizers(model, hp, d),
        make_loader=lambda: tg.DistributedTokenLoader(train_paths, 0, 1, d.device),
        validate=lambda m: tg.evaluate(m, plain, s.val_tokens, s.luts, hp, d, hp.train_seq_len),
    )
    ema = tg.EMA(model, hp.ema_decay) if hp.ema_decay > 0 else None
    log = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(log):  # the template's log lines; kept for the JSON
        result = tg.train(ctx, ema)
    wall = time.perf_counter() - start
    info = {
        "steps": result.steps,
        "train_time_ms": result.train_time_ms,
        "stopped_early": result.stopped_early,
        "wall_s": wall,
        "log": log.getvalue().splitlines(),
    }
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, info


def score(s: Setup, state: Mapping[str, Tensor]) -> float:
    model = s.tg.GPT(s.hp)
    model.load_state_dict(dict(state), strict=True)
    plain = s.tg.plain_windows(s.val_tokens.numel(), s.hp.train_seq_len)
    _, bpb = s.tg.evaluate(model, plain, s.val_tokens, s.luts, s.hp, s.d, s.hp.train_seq_len)
    return float(bpb)


# --------------------------------------------------------------------------------------------
# The measurement
# --------------------------------------------------------------------------------------------


def measure(
    s: Setup, state: Mapping[str, Tensor], threshold: int, float_bpb: float
) -> tuple[list[Artifact], list[SchemeResult]]:
    tg = s.tg
    artifacts: list[Artifact] = []
    results: list[SchemeResult] = []

    obj6 = tg.quantize_state_dict(state, threshold)
    raw6 = torch_save_bytes(obj6)
    for codec in tg.available_codecs("auto"):
        blob, name = tg.compress_artifact(raw6, codec)
        artifacts.append(Artifact(threshold, "int6", name, len(blob), len(raw6)))
    artifacts.append(Artifact(threshold, "int6", "zlib-9", len(zlib.compress(raw6, 9)), len(raw6)))
    # Exactly what the template writes: the auto choice, read back through its own loader.
    blob6, codec6 = tg.compress_artifact(raw6, "auto")
    quantized, side = int6_parts(obj6)
    floor = entropy_floor(quantized, side)
    bpb6 = score(s, tg.deserialize_state(blob6))
    results.append(
        SchemeResult(
            threshold=threshold,
            scheme="int6 (template)",
            best_codec=codec6,
            bytes=len(blob6),
            floor_bytes=sum(floor.values()),
            floor_parts=floor,
            val_bpb=bpb6,
            gap_bpb=bpb6 - float_bpb,
            quantized_values=sum(q.numel() for q in quantized.values()),
            floored_rows=0,
        )
    )

    for label, scale_floor in (("int8 (baseline)", True), ("int8, no scale floor", False)):
        obj8, floored = baseline_quantize(tg, state, threshold, scale_floor)
        raw8 = torch_save_bytes(obj8)
        blob8 = zlib.compress(raw8, 9)
        artifacts.append(Artifact(threshold, label, "zlib-9", len(blob8), len(raw8)))
        if scale_floor:
            best8, codec8 = tg.compress_artifact(raw8, "auto")
            artifacts.append(Artifact(threshold, label, f"best: {codec8}", len(best8), len(raw8)))
        roundtrip = baseline_dequantize(torch.load(io.BytesIO(zlib.decompress(blob8))))
        quantized, side = int8_parts(obj8)
        floor = entropy_floor(quantized, side)
        bpb8 = score(s, roundtrip)
        results.append(
            SchemeResult(
                threshold=threshold,
                scheme=label,
                best_codec="zlib-9",
                bytes=len(blob8),
                floor_bytes=sum(floor.values()),
                floor_parts=floor,
                val_bpb=bpb8,
                gap_bpb=bpb8 - float_bpb,
                quantized_values=sum(q.numel() for q in quantized.values()),
                floored_rows=floored,
            )
        )
    return artifacts, results


def render(
    info: dict[str, str],
    train: dict[str, Any],
    float_bpb: float,
    val_tokens: int,
    artifacts: list[Artifact],
    results: list[SchemeResult],
) -> str:
    out = [bc.machine_line(info), ""]
    if "steps" in train:
        out.append(
            f"Weights: cpu preset trained in-process, {train['steps']} steps, "
            f"train_time {train['train_time_ms'] / 1000:.1f} s "
            f"({'wallclock cap' if train['stopped_early'] else 'all iterations'}), EMA applied."
        )
    else:
        out.append(f"Weights: loaded from {train.get('weights')}.")
    out.append(f"Float model val_bpb (plain eval, {val_tokens:,} val tokens): {float_bpb:.4f}")
    out.append("")
    out.append("Artifact bytes by scheme and codec:")
    out.append("")
    out.append(
        bc.table(
            ["keep float <=", "scheme", "codec", "torch.save bytes", "compressed bytes"],
            [
                [f"{a.threshold:,}", a.scheme, a.codec, f"{a.raw_bytes:,}", f"{a.bytes:,}"]
                for a in artifacts
            ],
        )
    )
    out.append("")
    out.append("Per scheme (the artifact each scheme writes):")
    out.append("")
    rows = []
    for r in results:
        rows.append(
            [
                f"{r.threshold:,}",
                r.scheme,
                r.best_codec,
                f"{r.bytes:,}",
                f"{r.floor_bytes:,.0f}",
                f"{r.bytes / r.floor_bytes:.3f}",
                f"{r.quantized_values:,}",
                str(r.floored_rows) if r.scheme.startswith("int8 (") else "-",
                f"{r.val_bpb:.4f}",
                f"{r.gap_bpb:+.4f}",
            ]
        )
    out.append(
        bc.table(
            [
                "keep float <=",
                "scheme",
                "codec",
                "bytes",
                "order-0 floor",
                "bytes / floor",
                "quantized values",
                "rows at 1/127 floor",
                "val_bpb after roundtrip",
                "gap",
            ],
            rows,
        )
    )
    out.append("")
    for threshold in sorted({r.threshold for r in results}, reverse=True):
        by = {r.scheme: r for r in results if r.threshold == threshold}
        int6, int8 = by["int6 (template)"], by["int8 (baseline)"]
        out.append(
            f"keep float <= {threshold:,}: int6+{int6.best_codec} / int8+zlib-9 = "
            f"{int6.bytes:,} / {int8.bytes:,} = **{int6.bytes / int8.bytes:.3f}**; "
            f"int6 artifact / its order-0 floor = {int6.bytes / int6.floor_bytes:.3f}; "
            f"gap int6 {int6.gap_bpb:+.4f}, int8 {int8.gap_bpb:+.4f} bpb"
        )
    out.append("")
    out.append(
        f"Load average (1 min): {info['load_avg_1m_at_start']} at start, {bc.load_avg():.2f} at end"
    )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="int6 + best codec vs int8 + zlib-9.")
    parser.add_argument("--data", type=Path, default=bc.DEFAULT_DATA_DIR, help="data folder")
    parser.add_argument(
        "--weights", type=Path, help="trained state dict: loaded if present, else trained + saved"
    )
    parser.add_argument(
        "--keep-float",
        type=int,
        nargs="+",
        default=[BASELINE_KEEP_FLOAT_MAX_NUMEL, 4096],
        help="float-passthrough thresholds (elements) to measure, the same for both schemes",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a cpu-preset setting for the training (e.g. ITERATIONS=50)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    ns = parser.parse_args(argv)

    info = bc.machine()
    dataset, tokenizer, _ = bc.builtin_data(ns.data)
    env = bc.preset_env("cpu")
    for item in ns.env:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--env expects KEY=VALUE, got {item!r}")
        env[key] = value
    s = make_setup(bc.load_template(), env, dataset, tokenizer)

    train: dict[str, Any]
    if ns.weights is not None and ns.weights.is_file():
        state = torch.load(ns.weights, map_location="cpu", weights_only=True)
        train = {"weights": str(ns.weights)}
    else:
        print("training the cpu preset model ...", file=sys.stderr)
        state, train = train_weights(s)
        if ns.weights is not None:
            ns.weights.parent.mkdir(parents=True, exist_ok=True)
            torch.save(state, ns.weights)

    print("exporting and scoring ...", file=sys.stderr)
    float_bpb = score(s, state)
    artifacts: list[Artifact] = []
    results: list[SchemeResult] = []
    for threshold in ns.keep_float:
        a, r = measure(s, state, threshold, float_bpb)
        artifacts += a
        results += r
    print(render(info, train, float_bpb, s.val_tokens.numel(), artifacts, results), end="")
    if ns.json is not None:
        bc.write_json(
            ns.json,
            {
                "machine": info,
                "load_avg_1m_at_end": round(bc.load_avg(), 2),
                "env": env,
                "train": train,
                "float_val_bpb": float_bpb,
                "val_tokens": s.val_tokens.numel(),
                "artifacts": [asdict(a) for a in artifacts],
                "schemes": [asdict(r) for r in results],
            },
        )
    if any(math.isnan(r.val_bpb) for r in results):
        print("a roundtrip scored nan", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
