"""Which tokens the evaluation modes score, and that batched scoring equals a naive loop."""

from __future__ import annotations

import math
from collections import Counter
from types import ModuleType

import pytest
import torch
from template_helpers import TINY_ENV

CASES = [
    # (tokens N, seq_len L, stride)
    (2, 8, 4),
    (5, 8, 4),  # N < L
    (8, 8, 4),  # N = L
    (9, 8, 4),  # N - 1 = L: exactly one full window
    (10, 8, 4),
    (100, 8, 8),  # stride = L
    (101, 10, 3),  # stride does not divide L
    (57, 10, 3),
    (64, 16, 1),
    (1000, 128, 64),
    (1001, 128, 48),
]


def _scored_targets(windows: list) -> Counter[int]:
    counts: Counter[int] = Counter()
    for w in windows:
        counts.update(range(w.start + 1 + w.score_from, w.start + 1 + w.length))
    return counts


@pytest.mark.parametrize(("n", "seq_len", "stride"), CASES)
def test_sliding_scores_every_token_once(tg: ModuleType, n: int, seq_len: int, stride: int) -> None:
    windows = tg.sliding_windows(n, seq_len, stride)
    assert _scored_targets(windows) == Counter(range(1, n))
    for i, w in enumerate(windows):
        assert w.start >= 0 and w.start + w.length <= n - 1 and w.length <= seq_len
        assert 0 <= w.score_from < w.length
        if i > 0:  # later windows are full length and give every scored token enough context
            assert w.length == seq_len and w.score_from >= seq_len - stride


@pytest.mark.parametrize(("n", "seq_len", "stride"), CASES)
def test_plain_scores_every_token_once(tg: ModuleType, n: int, seq_len: int, stride: int) -> None:
    windows = tg.plain_windows(n, seq_len)
    assert _scored_targets(windows) == Counter(range(1, n))
    starts = [w.start for w in windows]
    assert starts == sorted(starts) and all(w.score_from == 0 for w in windows)
    assert sum(w.length for w in windows) == n - 1  # non-overlapping


@pytest.mark.parametrize("world", [1, 2, 3, 8])
def test_rank_shares_are_disjoint_and_complete(tg: ModuleType, world: int) -> None:
    windows = tg.sliding_windows(501, 32, 8)
    shares = [
        tg.rank_share(windows, tg.Dist(r, world, r, torch.device("cpu"))) for r in range(world)
    ]
    assert [w for share in shares for w in share] == windows


def test_batched_scoring_matches_a_naive_loop(tg: ModuleType) -> None:
    hp = tg.Hyperparameters.from_env({**TINY_ENV, "VAL_BATCH_SIZE": str(8 * 3 * 16)})
    torch.manual_seed(0)
    model = tg.GPT(hp).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    tokens = torch.randint(0, hp.vocab_size, (203,))
    tokens[::17] = 1  # some BOS boundaries
    luts = tg.ByteLuts(
        base_bytes=torch.randint(0, 4, (hp.vocab_size,), dtype=torch.int32),
        has_leading_space=torch.rand(hp.vocab_size) < 0.3,
        is_boundary=torch.arange(hp.vocab_size) < 4,
    )
    d = tg.Dist(0, 1, 0, torch.device("cpu"))
    windows = tg.sliding_windows(tokens.numel(), 16, 5)
    batch = tg.eval_batch_seqs(hp, 1, 16)
    assert batch == 3  # several batches, and shape changes inside the window list
    nll, count, nbytes = tg.score_windows(model, windows, tokens, luts, batch, d).tolist()

    want_nll, want_bytes = 0.0, 0
    with torch.no_grad():
        for w in windows:
            x = tokens[w.start : w.start + w.length][None]
            y = tokens[w.start + 1 : w.start + w.length + 1][None]
            logits = model.logit_softcap * torch.tanh(
                torch.nn.functional.linear(model.hidden(x), model.tok_emb.weight)
                / model.logit_softcap
            )
            losses = torch.nn.functional.cross_entropy(logits[0], y[0], reduction="none")
            want_nll += float(losses[w.score_from :].double().sum())
            for j in range(w.score_from, w.length):
                t, prev = int(y[0, j]), int(x[0, j])
                space = bool(luts.has_leading_space[t]) and not bool(luts.is_boundary[prev])
                want_bytes += int(luts.base_bytes[t]) + int(space)
    assert count == tokens.numel() - 1
    assert nbytes == want_bytes
    assert math.isclose(nll, want_nll, rel_tol=1e-5)
    loss, bpb = tg.loss_and_bpb(torch.tensor([nll, count, nbytes], dtype=torch.float64))
    assert math.isclose(bpb, nll / math.log(2) / nbytes) and math.isclose(loss, nll / count)
