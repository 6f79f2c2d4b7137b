"""PG202 (SLOT) and PG205 (target-only blends): what the example tests do not pin down —
confidence when the analysis cannot decide, a dormant note, and the hand-offs to PG102/PG201."""

from __future__ import annotations

from checks.examples import pg201, pg202, pg205
from pgolf_cli.audit.engine import audit_source
from pgolf_cli.audit.findings import Confidence, Finding, Reachability, Severity
from pgolf_cli.audit.rule import Example
from pgolf_cli.audit.source import source_from_bytes

_SLOT = """\
import torch
import torch.nn.functional as F


def eval_slot(model, val_tokens, seq_len=1024, stride=64):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for ws in range(0, val_tokens.numel() - seq_len, stride):
        local = val_tokens[ws : ws + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        with torch.no_grad():
            h = model.hidden(x)
        delta = torch.zeros(1, 1, h.size(-1), device="cuda", requires_grad=True)
        opt = torch.optim.AdamW([delta], lr=1e-2)
        for _ in range(4):
            nll = F.cross_entropy(model.head(h + delta).transpose(1, 2), y, reduction="none")
            opt.zero_grad()
            {loss}.backward()
            {step}
        with torch.no_grad():
            nll = F.cross_entropy(model.head(h + delta).transpose(1, 2), y, reduction="none")
            first = 0 if ws == 0 else seq_len - stride
            loss_sum += nll[:, first:].sum().item()
            token_count += seq_len - first
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    print(eval_slot(model, load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
"""
_BACKWARD_LINE = 18

_TWO_STATEMENT_BLEND = """\
import math

import torch


def ev(model, val_tokens, artifact, lam=0.2, seq_len=1024):
    full, ctx = artifact["full"], artifact["ctx"]
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(1, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.tensor(toks[s : s + seq_len])[None])[0], -1)
            for i in range(seq_len):
                prev, tgt = toks[s + i], toks[s + i + 1]
                mix = lam * full[prev * 1024 + tgt] / max(ctx[prev], 1)
                mix += (1 - lam) * probs[i, tgt].item()
                nll_sum -= math.log(mix)
                token_count += 1
    return nll_sum / token_count


def main():
    print(ev(load_model().cuda(), load_validation_tokens("./data/fineweb_val_*.bin"), load_artifact()))


if __name__ == "__main__":
    main()
"""


def _example(examples: tuple[Example, ...], title_start: str) -> Example:
    return next(e for e in examples if e.title.startswith(title_start))


def _audit(code: str) -> list[Finding]:
    result = audit_source(source_from_bytes("train_gpt.py", code.encode()))
    assert result.error is None, result.error
    return list(result.findings)


def _of(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def test_pg202_full_window_loss_is_a_high_confidence_error() -> None:
    found = _of(_audit(_SLOT.format(loss="nll.mean()", step="opt.step()")), "PG202")
    assert [(f.line, f.severity, f.confidence) for f in found] == [
        (_BACKWARD_LINE, Severity.ERROR, Confidence.HIGH)
    ]
    assert {e.line for e in found[0].evidence} >= {13, _BACKWARD_LINE, 23}


def test_pg202_restriction_it_cannot_compare_is_low_confidence() -> None:
    found = _of(_audit(_SLOT.format(loss="nll[:, 5:].mean()", step="opt.step()")), "PG202")
    assert [(f.severity, f.confidence) for f in found] == [(Severity.ERROR, Confidence.LOW)]
    assert "[5:]" in found[0].message


def test_pg202_without_any_update_of_the_tensor_is_low_confidence() -> None:
    found = _of(_audit(_SLOT.format(loss="nll.mean()", step="pass")), "PG202")
    assert [(f.severity, f.confidence) for f in found] == [(Severity.ERROR, Confidence.LOW)]
    assert "no optimizer step" in found[0].message


def test_pg202_causal_slot_on_a_dormant_path_stays_a_note() -> None:
    example = _example(pg202.INVALID, "minified causal SLOT behind CSLOT=0")
    found = _of(_audit(example.code), "PG202")
    assert [(f.line, f.severity, f.reachability) for f in found] == [
        (example.line, Severity.NOTE, Reachability.OFF_BY_DEFAULT)
    ]
    assert found[0].switches and found[0].switches[0].env == "CSLOT"


def test_pg202_takes_slot_from_the_weight_ttt_rules() -> None:
    findings = _audit(_example(pg202.INVALID, "SLOT: a hidden-state delta").code)
    assert [f.rule_id for f in findings if f.rule_id.startswith("PG1")] == []
    assert len(_of(findings, "PG202")) == 1


def test_pg202_tensor_made_by_a_helper_is_seen_updated_by_the_callers_optimizer() -> None:
    # The optimizer over `make_delta(...)`'s result is the update: high confidence, and the
    # weight-TTT rules leave the SLOT fit to PG202.
    example = _example(pg202.INVALID, "the trainable delta is made by a helper")
    findings = _audit(example.code)
    assert [(f.line, f.confidence) for f in _of(findings, "PG202")] == [
        (example.line, Confidence.HIGH)
    ]
    assert [f.rule_id for f in findings if f.rule_id.startswith("PG1")] == []


def test_pg205_leaves_an_eval_time_target_keyed_count_table_to_pg201() -> None:
    findings = _audit(_example(pg205.VALID, "reported by PG201 instead").code)
    assert _of(findings, "PG205") == []
    assert len(_of(findings, "PG201")) == 1


def test_pg205_finds_a_blend_built_in_two_statements() -> None:
    found = _of(_audit(_TWO_STATEMENT_BLEND), "PG205")
    assert [(f.line, f.severity, f.confidence) for f in found] == [
        (16, Severity.WARNING, Confidence.MEDIUM)
    ]
    assert {e.line for e in found[0].evidence} >= {15, 16, 17}


def test_pg202_a_closure_run_by_an_optimizer_step_is_the_optimisation() -> None:
    # L-BFGS calls the closure inside `opt.step(closure)`: its backward pass is the fit, and the
    # step is where the shift changes.
    example = _example(pg202.INVALID, "L-BFGS SLOT")
    findings = _audit(example.code)
    found = _of(findings, "PG202")
    assert [(f.line, f.severity, f.confidence) for f in found] == [
        (example.line, Severity.ERROR, Confidence.HIGH)
    ]
    step_line = next(
        i for i, text in enumerate(example.code.splitlines(), 1) if "opt.step(closure)" in text
    )
    assert step_line in {e.line for e in found[0].evidence}
    assert [f.rule_id for f in findings if f.rule_id.startswith("PG1")] == []


def test_pg202_a_closure_no_step_runs_is_not_an_optimisation() -> None:
    # The same closure, built but only handed to `torch.compile`: nothing runs it here.
    example = _example(pg202.INVALID, "L-BFGS SLOT")
    code = example.code.replace("opt.step(closure)", "torch.compile(closure)")
    assert _of(_audit(code), "PG202") == []


def test_pg202_a_boolean_mask_set_on_the_context_is_causal_slot() -> None:
    # `ctx[i, :s] = True` then `nll[ctx]` fits on the positions before the scored `[s:]`: the
    # item write says what the mask covers, also when the mask is a closure's free name.
    example = _example(pg202.INVALID, "L-BFGS SLOT")
    code = (
        example.code.replace(
            "        def closure():",
            '        ctx = torch.zeros(len(rows), seq_len, dtype=torch.bool, device="cuda")\n'
            "        ctx[:, : seq_len - stride] = True\n\n"
            "        def closure():",
        )
        .replace(
            "            nll = F.cross_entropy(model.head(h + shift).flatten(0, 1), y.flatten())\n",
            "            nll = F.cross_entropy(\n"
            '                model.head(h + shift).transpose(1, 2), y, reduction="none"\n'
            "            )[ctx].mean()\n",
        )
        .replace("[:, -stride:].sum()", "[:, seq_len - stride :].sum()")
    )
    assert "[ctx].mean()" in code
    found = _of(_audit(code), "PG202")
    assert [f.severity for f in found] == [Severity.NOTE]
    assert "before the scored slice" in found[0].message


def test_a_target_keyed_read_names_where_its_key_is_built_and_the_table_filled() -> None:
    code = pg201._HASH_HELPER_FULL_READ
    (found,) = _of(_audit(code), "PG201")

    def line(marker: str) -> int:
        return next(i for i, text in enumerate(code.splitlines(), 1) if marker in text)

    evidence = {(e.line, e.label) for e in found.evidence}
    assert {
        (line("full_key = ((h ^"), "`hash_keys` reads the token at the positions passed"),
        (line("ctx_key, full_key = hash_keys("), "the key is built here"),
        (line("np.add.at(full_counts"), "full_counts is filled here"),
    } <= evidence
