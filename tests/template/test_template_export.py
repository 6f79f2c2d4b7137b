"""Quantization, compression and the strict roundtrip into a fresh model."""

from __future__ import annotations

import io
import os
from types import ModuleType

import pytest
import torch
from template_helpers import TINY_ENV


def _matrix(rows: int = 48, cols: int = 300, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g) * 0.02
    w[:, 7] *= 40  # an outlier per row: the widest possible steps
    w[3] = 0.0  # a dead row must not divide by zero
    return w


def _dequant(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return q.float() * scale.float()[:, None]


@pytest.mark.parametrize("bits", [6, 8])
def test_no_clip_error_is_at_most_half_a_step(tg: ModuleType, bits: int) -> None:
    w = _matrix()
    q, scale = tg.quantize_rows(w, bits, percentiles=(1.0,))
    qmax = 2 ** (bits - 1) - 1
    assert q.dtype == torch.int8 and scale.dtype == torch.float16
    assert int(q.abs().max()) <= qmax
    err = (_dequant(q, scale) - w).abs()
    assert torch.all(err <= scale.float()[:, None] / 2 * (1 + 1e-5) + 1e-12)
    assert torch.all(_dequant(q, scale)[3] == 0)


def test_clip_search_never_worse_than_no_clip(tg: ModuleType) -> None:
    torch.manual_seed(0)
    # Heavy tails (Student t, 3 dof), like trained weights: here clipping the extremes pays.
    w = torch.distributions.StudentT(3.0).sample((48, 1024)) * 0.02
    q0, s0 = tg.quantize_rows(w, 6, percentiles=(1.0,))
    q, s = tg.quantize_rows(w, 6)
    mse_plain = (_dequant(q0, s0) - w).square().sum(1)
    mse_search = (_dequant(q, s) - w).square().sum(1)
    assert torch.all(mse_search <= mse_plain)
    assert torch.any(mse_search < mse_plain * 0.95), "heavy tails should make some clip pay off"
    # Inside the chosen clip range the half-step bound still holds.
    inside = w.abs() <= 31 * s.float()[:, None]
    err = (_dequant(q, s) - w).abs()
    assert torch.all(err[inside] <= (s.float()[:, None] / 2 * (1 + 1e-5)).expand_as(w)[inside])


def _tiny_model(tg: ModuleType) -> tuple[object, torch.nn.Module]:
    env = {**TINY_ENV, "TIE_EMBEDDINGS": "1"}
    hp = tg.Hyperparameters.from_env(env)
    torch.manual_seed(0)
    model = tg.GPT(hp)
    with torch.no_grad():  # zero-initialised projections would make the check trivial
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return hp, model


def test_routing_and_strict_load(tg: ModuleType) -> None:
    hp, model = _tiny_model(tg)
    state = model.state_dict()
    obj = tg.quantize_state_dict(
        {**state, "step_count": torch.tensor([3, 4])}, keep_float_max_numel=1024
    )
    entries = obj["entries"]
    assert entries["step_count"]["kind"] == "raw"
    assert entries["tok_emb.weight"]["kind"] == "rows"
    assert int(entries["tok_emb.weight"]["q"].abs().max()) > 31  # int8, not int6
    assert entries["blocks.0.mlp.fc.weight"]["kind"] == "rows"
    assert int(entries["blocks.0.mlp.fc.weight"]["q"].abs().max()) <= 31
    assert entries["blocks.0.attn_scale"]["data"].dtype == torch.float32
    assert entries["blocks.0.attn.q_gain"]["data"].dtype == torch.float32
    assert entries["skip_weights"]["data"].dtype == torch.float32

    buf = io.BytesIO()
    torch.save(obj, buf)
    restored = tg.dequantize_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    assert torch.equal(restored["step_count"], torch.tensor([3, 4]))
    del restored["step_count"]
    for name in (
        "blocks.0.attn_scale",
        "blocks.1.resid_mix",
        "skip_weights",
        "blocks.0.attn.q_gain",
    ):
        assert torch.equal(restored[name], state[name])  # control tensors: exact
    small = "blocks.0.attn.c_k.weight"  # 32x64 = 2048 > 1024 -> quantized; c_q bias-free too
    assert entries[small]["kind"] == "rows"

    fresh = tg.GPT(hp)
    fresh.load_state_dict(restored, strict=True)
    for name, value in fresh.state_dict().items():
        assert value.dtype == state[name].dtype
    x = torch.randint(0, hp.vocab_size, (2, 32))
    with torch.no_grad():
        before = model(x[:, :-1], x[:, 1:]).mean()
        after = fresh(x[:, :-1], x[:, 1:]).mean()
    assert abs(float(before) - float(after)) < 0.05


def test_small_tensors_are_fp16_exact(tg: ModuleType) -> None:
    _, model = _tiny_model(tg)
    state = model.state_dict()
    # At the default threshold every tensor of the tiny model counts as small.
    restored = tg.dequantize_state_dict(tg.quantize_state_dict(state))
    for name, value in state.items():
        expected = value if tg.is_control_tensor(name) else value.half().float()
        assert torch.equal(restored[name], expected), name


@pytest.mark.parametrize("codec", ["zstd-22", "brotli-11", "lzma-9"])
@pytest.mark.parametrize("stride", [1, 2])
def test_codec_round_trip(tg: ModuleType, codec: str, stride: int) -> None:
    raw = os.urandom(301) + bytes(range(256)) * 40 + b"\x00" * 999  # odd length: a shuffle tail
    blob, name = tg.compress_artifact(raw, codec, strides=(stride,))
    assert name == codec
    assert blob[:4] == b"PGZ1" and blob[5] == stride
    assert tg.decompress_artifact(blob) == raw


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("length", [0, 1, 7, 64, 65])
def test_byte_shuffle_inverts(tg: ModuleType, stride: int, length: int) -> None:
    data = os.urandom(length)
    assert tg.byte_unshuffle(tg.byte_shuffle(data, stride), stride) == data


def test_auto_picks_the_smallest(tg: ModuleType) -> None:
    # fp16-like data: the high bytes repeat, so the shuffle should matter for some codec.
    values = (torch.randn(20_000) * 0.01).half()
    raw = values.numpy().tobytes()
    blob, _ = tg.compress_artifact(raw, "auto")
    sizes = [len(tg.compress_artifact(raw, c, strides=(s,))[0]) for c in tg.CODECS for s in (1, 2)]
    assert len(blob) == min(sizes)
    assert tg.decompress_artifact(blob) == raw


def test_bad_artifacts(tg: ModuleType) -> None:
    with pytest.raises(ValueError, match="magic"):
        tg.decompress_artifact(b"XXXX\x01\x01abc")
    with pytest.raises(ValueError, match="codec id"):
        tg.decompress_artifact(b"PGZ1\x09\x01abc")
    with pytest.raises(ValueError, match="COMPRESSOR"):
        tg.available_codecs("gzip")
