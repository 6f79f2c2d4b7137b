"""The events PG104 and PG204 are built on (choices, table updates, call-site names, loops) and the
parts of their analysis the examples do not pin down: what is and is not a choice among
predictions, which loops re-score the same tokens, and which places can never both run."""

from __future__ import annotations

import libcst as cst

from checks.examples import pg104
from pgolf_cli.audit.analyses.scoring import ScoringAnalysis
from pgolf_cli.audit.engine import audit_source
from pgolf_cli.audit.facts import TGT, Facts
from pgolf_cli.audit.findings import Confidence
from pgolf_cli.audit.positions import statement_lines
from pgolf_cli.audit.source import source_from_bytes


def _facts(code: str) -> Facts:
    module = cst.parse_module(code)
    return Facts(module, statement_lines(module, code), code)


def _findings(code: str, rule_id: str) -> list[tuple[int, str]]:
    result = audit_source(source_from_bytes("probe.py", code.encode()))
    return [(f.line, f.confidence.value) for f in result.findings if f.rule_id == rule_id]


_CHOICES = """\
import torch
import torch.nn.functional as F

def pick(models, x, y, doc, k, chunk):
    nll_a = F.cross_entropy(models[0](x), y, reduction="none")
    nll_b = F.cross_entropy(models[1](x), y, reduction="none")
    both = torch.minimum(nll_a, nll_b)
    stacked = torch.stack([nll_a, nll_b])
    which = stacked.argmin(0)
    best = None
    for m in models:
        nll = F.cross_entropy(m(x), y, reduction="none")
        best = nll if best is None else torch.minimum(best, nll)
    hi = min((k + 1) * chunk, doc.numel() - 1)
    top = logits_max = x.max(-1)
    if nll_a.sum() < nll_b.sum():
        kept = nll_a
    else:
        kept = nll_b
    return both, which, best, hi, top, kept
"""


def test_choices_are_recorded_with_their_candidates() -> None:
    fn = _facts(_CHOICES).functions["pick"]
    by_line = {s.where.line: s for s in fn.selections}
    assert set(by_line) == {7, 9, 13, 16}, "sizes, positions and x.max(-1) are not choices"
    assert by_line[7].kind == "extreme" and all(TGT in c for c in by_line[7].candidates)
    assert by_line[9].kind == "index" and len(by_line[9].candidates) == 2
    assert by_line[13].running, "best = torch.minimum(best, nll) keeps a running best"
    assert by_line[16].kind == "compare" and not by_line[16].running
    test = next(s for s in fn.selections if s.where.line == 16)
    assert test.label in next(iter(fn.selection_tests.values()))


def test_a_value_bounded_by_constants_in_place_is_not_a_choice() -> None:
    code = (
        "import numpy as np\n"
        "import torch\n"
        "def score(p, q, y):\n"
        "    p = np.maximum(p[y], 1e-10)\n"
        "    p = np.maximum(p, 1e-10)\n"
        "    best = p\n"
        "    best = torch.minimum(best, q[y])\n"
        "    return p, best\n"
    )
    fn = _facts(code).functions["score"]
    # Line 5 floors `p` against a constant; line 7 keeps the lower of `best` and another loss.
    assert [(s.where.line, s.running) for s in fn.selections] == [(7, True)]


def test_a_comparison_with_a_name_the_branch_rebinds_is_running() -> None:
    code = (
        "def sweep(model, val_tokens, temps):\n"
        "    best = 9.9\n"
        "    for t in temps:\n"
        "        loss = score(model, val_tokens, t)\n"
        "        if loss < best:\n"
        "            best, best_t = loss, t\n"
        "    return best_t\n"
        "def score(model, val_tokens, t):\n"
        "    return model(val_tokens[:-1], val_tokens[1:], t)\n"
    )
    fn = _facts(code).functions["sweep"]
    (selection,) = fn.selections
    assert selection.running
    assert selection.label in fn.returns, "what the branch rebinds carries the choice"


def test_table_updates_and_call_site_names() -> None:
    code = (
        "import numpy as np\n"
        "class Cache:\n"
        "    def update(self, toks):\n"
        "        for i in range(1, len(toks)):\n"
        "            self.counts[int(toks[i - 1]), int(toks[i])] += 1\n"
        "def fill(table, toks):\n"
        "    np.add.at(table, (toks[:-1], toks[1:]), 1)\n"
        "def main(cache, val_tokens, model):\n"
        "    cache.update(val_tokens)\n"
        "    run(model=model, data=val_tokens)\n"
        "    for epoch in range(3):\n"
        "        pass\n"
    )
    facts = _facts(code)
    (update,) = facts.functions["Cache.update"].updates
    assert update.table == "counts" and "P0" in update.owner and "P1" in update.labels
    (at,) = facts.functions["fill"].updates
    assert at.table == "table" and "P0" in at.owner
    main = facts.functions["main"]
    (call,) = [c for c in main.calls if c.callee == "Cache.update"]
    assert call.receiver_name == "cache" and call.arg_names == (None, "val_tokens")
    (loop,) = main.loops.values()
    assert isinstance(loop.iter_node, cst.Call) and loop.body is not None


_POSITIONS = """\
import math
import numpy as np
import torch

@torch.no_grad()
def eval_cache(model, val_tokens, seq_len=512):
    toks = val_tokens.numpy()
    counts = np.zeros((1 << 16, 1024))
    nll_sum = 0.0
    for s in range(0, len(toks) - seq_len - 1, seq_len):
        probs = model.probs(val_tokens[s : s + seq_len])
        for i in range({inner}):
            j = s + i + 1
            row = counts[int(toks[j - 1])]
            nll_sum += -math.log(0.9 * probs[i][toks[j]] + 0.1 * row[toks[j]] / max(row.sum(), 1.0))
            counts[int(toks[j - 1]), toks[j]] += 1
    return nll_sum

def main():
    model = load_model()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    print(eval_cache(model, val_tokens))

if __name__ == "__main__":
    main()
"""


def test_a_loop_over_positions_is_not_a_repeated_pass() -> None:
    assert _findings(_POSITIONS.format(inner="seq_len"), "PG104") == []


def test_mutually_exclusive_branches_are_not_two_passes() -> None:
    code = _TTT_THEN.format(
        tail="    if TTT:\n        print(ttt(model, val_tokens))\n"
        "    else:\n        print(plain(model, val_tokens))\n"
    )
    assert _findings(code, "PG104") == []
    code = _TTT_THEN.format(
        tail="    print(ttt(model, val_tokens))\n    print(plain(model, val_tokens))\n"
    )
    assert _findings(code, "PG104") == [(28, "high")]


_TTT_THEN = """\
import torch
TTT = True

@torch.no_grad()
def plain(model, val_tokens):
    loss_sum = 0.0
    for s in range(0, val_tokens.numel() - 1, 1024):
        w = val_tokens[s : s + 1025]
        loss_sum += model(w[:-1], w[1:]).item()
    return loss_sum

def ttt(model, val_tokens):
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_sum = 0.0
    for s in range(0, val_tokens.numel() - 1, 1024):
        w = val_tokens[s : s + 1025]
        with torch.no_grad():
            loss_sum += model(w[:-1], w[1:]).item()
        loss = model(w[:-1], w[1:])
        loss.backward()
        opt.step()
    return loss_sum

def main():
    model = load_model()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
{tail}
if __name__ == "__main__":
    main()
"""


def test_an_adapted_object_that_cannot_be_named_lowers_confidence() -> None:
    code = """\
import torch

@torch.no_grad()
def evaluate(model, val_tokens):
    loss_sum = 0.0
    for s in range(0, val_tokens.numel() - 1, 1024):
        w = val_tokens[s : s + 1025]
        loss_sum += model(w[:-1], w[1:]).item()
    return loss_sum

def main():
    model = load_model()
    opt = make_optimizer(model)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    loss_sum = 0.0
    for s in range(0, val_tokens.numel() - 1, 1024):
        w = val_tokens[s : s + 1025]
        with torch.no_grad():
            loss_sum += model(w[:-1], w[1:]).item()
        loss = model(w[:-1], w[1:])
        loss.backward()
        opt.step()
    print(loss_sum, evaluate(model, val_tokens))

if __name__ == "__main__":
    main()
"""
    assert _findings(code, "PG104") == [(23, Confidence.MEDIUM.value)]


def test_a_choice_only_returned_is_reported_at_medium_confidence() -> None:
    code = """\
import torch
import torch.nn.functional as F

@torch.no_grad()
def eval_pair(a, b, val_tokens):
    x, y = val_tokens[None, :-1], val_tokens[None, 1:]
    nll = torch.minimum(F.cross_entropy(a(x), y, reduction="none"), F.cross_entropy(b(x), y, reduction="none"))
    return nll.mean().item()

def main():
    print(eval_pair(load("a"), load("b"), load_validation_tokens("./data/fineweb_val_*.bin")))

if __name__ == "__main__":
    main()
"""
    assert _findings(code, "PG204") == [(7, Confidence.MEDIUM.value)]
    facts = _facts(code)
    assert [c.reaches for c in facts.analysis(ScoringAnalysis).oracle_choices] == ["return"]


_UNFREEZE = """\
import torch

def ttt(model, val_tokens, n=2):
    for p in model.parameters():
        p.requires_grad_(False)
    params = []
    for block in model.blocks[-n:]:
        for p in block.parameters():
            p.requires_grad_(True)
            params.append(p)
    opt = torch.optim.AdamW(params, lr=1e-4)
    for s in range(0, val_tokens.numel() - 1, 1024):
        w = val_tokens[s : s + 1025]
        with torch.no_grad():
            loss_sum = model(w[:-1], w[1:]).item()
        model(w[:-1], w[1:]).backward()
        opt.step()
    return loss_sum

def main():
    model = load_model()
    print(ttt(model, load_validation_tokens("./data/fineweb_val_*.bin")))

if __name__ == "__main__":
    main()
"""


def test_an_optimizer_over_a_list_of_unfrozen_block_parameters_adapts_the_model() -> None:
    # `p.requires_grad_(True)` on a parameter of the model is not a fresh per-window tensor: the
    # list the optimizer steps is filled from `model`'s blocks, so `ttt` adapts its `model`.
    scoring = _facts(_UNFREEZE).analysis(ScoringAnalysis)
    assert scoring.adapts["ttt"] == {0}
    fresh = _UNFREEZE.replace("for p in block.parameters():", "for p in [torch.zeros(8)]:")
    assert _facts(fresh).analysis(ScoringAnalysis).adapts["ttt"] == set()


_RECORDS = """\
import torch
import torch.nn.functional as F


@torch.no_grad()
def hessians(model, tokens):
    x = model.emb(tokens)
    return x.T @ x


@torch.no_grad()
def chunk_loss(model, seq):
    return F.cross_entropy(model(seq[:-1]), seq[1:])


def prune(model, tokens, quantized):
    errors = []
    h = hessians(model, tokens)
    for name, q in quantized.items():
        errors.append((name, (q.float() @ h).pow(2).sum()))
    return errors


def ttt(model, val_tokens):
    parts = []
    for i in range(0, val_tokens.numel() - 1024, 1024):
        parts.append(chunk_loss(model, val_tokens[i : i + 1025]))
    return parts
"""


def test_a_gradient_free_result_is_a_recorded_score_only_when_it_predicts_the_targets() -> None:
    facts = _facts(_RECORDS)
    training = facts.analysis(ScoringAnalysis).training
    assert training.returns_target >= {"chunk_loss"}
    assert "hessians" not in training.returns_target
    # Errors computed from Hessians are kept in a list, as scores are, but score nothing.
    assert not training.scores(facts.functions["prune"])
    assert [s.where.line for s in training.scores(facts.functions["ttt"])] == [27]
    assert "ttt" in training.scorers and "prune" not in training.scorers


_PLACED_BUFFER = """\
import torch
import torch.nn.functional as F


@torch.no_grad()
def score(model, tokens, d):
    sums = torch.zeros(2, dtype=torch.float64, device=d.device)
    x, y = tokens[:-1], tokens[1:]
    nll = F.cross_entropy(model(x), y, reduction="none")
    sums[0] += nll.sum()
    sums[1] += nll.numel()
    return d.all_reduce(sums)


def main(model, d):
    val_tokens = load("fineweb_val_000000.bin")
    first = score(model, val_tokens, d)
    second = score(model, val_tokens, d)
    print(first, second)
"""


def test_a_buffer_placed_on_a_device_of_a_parameter_adapts_nothing() -> None:
    # `device=d.device` says where the sums live; filling them is not adapting `d`, so scoring
    # twice with the same untouched objects is not a second pass.
    scoring = _facts(_PLACED_BUFFER).analysis(ScoringAnalysis)
    assert not any(scoring.adapts.values())
    assert _findings(_PLACED_BUFFER, "PG104") == []
    owned = _PLACED_BUFFER.replace("device=d.device", "device=d.cache")
    assert _facts(owned).analysis(ScoringAnalysis).adapts["score"] == {2}


def test_a_second_pass_points_at_the_functions_that_score() -> None:
    # The scoring happens in the functions the passes call: the evidence says where they are.
    code = next(e.code for e in pg104.INVALID if e.title.startswith("vectorised two-pass"))
    lines = code.splitlines()
    result = audit_source(source_from_bytes("probe.py", code.encode()))
    (rescoring,) = [f for f in result.findings if f.rule_id == "PG104"]
    labels = {e.line: e.label for e in rescoring.evidence}
    first = 1 + next(i for i, line in enumerate(lines) if line.startswith("def model_pass("))
    second = 1 + next(i for i, line in enumerate(lines) if line.startswith("def blend_pass("))
    assert labels[first] == "the first pass: model_pass() scores the tokens"
    assert labels[second] == "the second pass: blend_pass() scores the tokens"
