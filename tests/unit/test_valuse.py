"""How updates on validation tokens are split between PG101/PG102/PG103/PG105, and the pieces
of the validation-use analysis that the example tests do not pin down on their own."""

from __future__ import annotations

import libcst as cst
import pytest

from checks.examples import pg101, pg102, pg103, pg105, pg106
from pgolf_cli.audit.analyses.valuse import Pass, ValUse, _copies_state
from pgolf_cli.audit.engine import audit_source
from pgolf_cli.audit.facts import Facts
from pgolf_cli.audit.findings import Confidence, Finding
from pgolf_cli.audit.positions import statement_lines
from pgolf_cli.audit.rule import Example
from pgolf_cli.audit.source import source_from_bytes

UPDATE_RULES = ("PG101", "PG102", "PG103", "PG105")


def _findings(code: str) -> list[Finding]:
    result = audit_source(source_from_bytes("example.py", code.encode()))
    assert result.error is None, result.error
    return list(result.findings)


def _facts(code: str) -> Facts:
    module = cst.parse_module(code)
    return Facts(module, statement_lines(module, code), code)


def _cases(*pairs: tuple[str, tuple[Example, ...]]) -> list[object]:
    return [
        pytest.param(rule_id, example, id=f"{rule_id}-{i}-{example.title[:40]}")
        for rule_id, examples in pairs
        for i, example in enumerate(examples)
    ]


@pytest.mark.parametrize(
    ("rule_id", "example"),
    _cases(
        ("PG101", pg101.INVALID),
        ("PG102", pg102.INVALID),
        ("PG103", pg103.INVALID),
        ("PG105", pg105.INVALID),
    ),
)
def test_an_update_on_validation_tokens_has_exactly_one_owner(
    rule_id: str, example: Example
) -> None:
    owners = [f.rule_id for f in _findings(example.code) if f.rule_id in UPDATE_RULES]
    assert owners == [rule_id]


@pytest.mark.parametrize(
    ("rule_id", "example"), _cases(("PG103", pg103.VALID), ("PG105", pg105.VALID))
)
def test_legal_warmups_and_training_loops_get_no_update_finding(
    rule_id: str, example: Example
) -> None:
    found = [f"{f.rule_id}@{f.line}" for f in _findings(example.code) if f.rule_id in UPDATE_RULES]
    assert found == []


@pytest.mark.parametrize(
    ("expression", "copies"),
    [
        ("copy.deepcopy(model.state_dict())", True),
        ("{k: v.detach().clone() for k, v in model.state_dict().items()}", True),
        ("copy.deepcopy(model)", True),
        ("model.state_dict()", False),  # the live tensors: loading it back restores nothing
        ("dict(model.state_dict())", False),
    ],
)
def test_only_a_copy_of_the_state_is_a_snapshot(expression: str, copies: bool) -> None:
    assert _copies_state(cst.parse_expression(expression)) is copies


@pytest.mark.parametrize(
    ("title", "why"),
    [
        ("compile warm-up: 20 steps", "the state is not restored afterwards"),
        ("the saved state is a bare state_dict()", "bare state_dict()"),
        ("only the optimizer state is restored", "only the optimizer state is loaded back"),
        ("weights restored only after", "scored, saved or copied before its state is loaded back"),
    ],
)
def test_a_warmup_finding_says_why_the_state_was_not_restored(title: str, why: str) -> None:
    example = next(e for e in pg103.INVALID if e.title.startswith(title))
    (found,) = [f for f in _findings(example.code) if f.rule_id == "PG103"]
    assert why in found.message


def test_each_training_reason_names_its_evidence() -> None:
    reasons = {}
    plain = [e for e in pg105.INVALID if "exec(" not in e.code]  # packed ones decode first
    for example in plain:
        for use in _facts(example.code).analysis(ValUse).uses():
            if use.kind is Pass.TRAINING:
                reasons[use.reason] = use
    assert set(reasons) == {"mixed", "interleaved", "periodic", "before-training"}
    for reason in ("interleaved", "periodic", "before-training"):
        assert reasons[reason].evidence, reason  # the line that shows it is training


def test_a_candidate_chosen_on_validation_results_is_low_confidence() -> None:
    selections = [e for e in pg106.INVALID if "clip percentile" in e.title or "argmin" in e.title]
    assert len(selections) == 2
    for example in selections:
        (found,) = [f for f in _findings(example.code) if f.rule_id == "PG106"]
        assert found.confidence == Confidence.LOW
    hooks = next(e for e in pg106.INVALID if e.title.startswith("GPTQ Hessians from forward"))
    (found,) = [f for f in _findings(hooks.code) if f.rule_id == "PG106"]
    assert found.confidence == Confidence.HIGH
    assert [e.label for e in found.evidence][-2:] == [
        "forward hooks that store activations",
        "the model runs on validation tokens",
    ]


def test_hooks_removed_before_the_validation_pass_do_not_count() -> None:
    code = """import torch


def main():
    model = train_model("./data/fineweb_train_*.bin")
    stats = []
    handle = model.blocks[0].register_forward_hook(lambda m, i, o: stats.append(i[0].abs().amax()))
    for batch in training_batches(16):
        model.forward_logits(batch)
    handle.remove()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(model.forward_logits(val_tokens[:1024][None].cuda()))


if __name__ == "__main__":
    main()
"""
    assert [f for f in _findings(code) if f.rule_id == "PG106"] == []
    on = code.replace("    handle.remove()\n", "")
    assert [f.line for f in _findings(on) if f.rule_id == "PG106"] == [11]  # the print(...)


def _kinds(code: str) -> list[tuple[str, Pass]]:
    uses = _facts(code).analysis(ValUse).uses()
    return [(use.verdict.function.name, use.kind) for use in uses]


def test_an_evaluation_that_adapts_on_a_prefix_then_scores_it_is_fine_tuning() -> None:
    # The update repeats one batch (the prefix), as a warm-up does, but the function that
    # holds it scores right after: test-time adaptation judged where it happens, not at the
    # training loop's periodic-validation call (which would make it training, PG105).
    example = next(e for e in pg101.INVALID if e.title.startswith("eval_val adapts on a prefix"))
    assert _kinds(example.code) == [("eval_val", Pass.FINE_TUNING)]


def test_a_warmup_before_a_separate_evaluation_call_stays_a_warmup() -> None:
    # The near miss: the repeated batch is trained in main(), and the score is another
    # function's, called afterwards.
    warmups = [e for e in pg103.INVALID if "main" in e.code]
    assert warmups
    for example in warmups:
        assert Pass.WARM_UP in {kind for _, kind in _kinds(example.code)}, example.title


def test_validation_data_a_helper_reads_from_a_passed_object_reaches_the_caller() -> None:
    # `data.val_tokens` is read inside pre_ttt; the caller passes `data`, built from its own
    # parameters, so only the helper's own source says it is validation data.
    example = next(e for e in pg101.INVALID if "from an object its caller passes" in e.title)
    assert [kind for _, kind in _kinds(example.code)] == [Pass.FINE_TUNING]


def test_a_pass_that_trains_only_a_module_it_then_drops_is_discarded() -> None:
    throwaway = next(e for e in pg101.VALID if e.title.startswith("compile warm-up on validation"))
    uses = _facts(throwaway.code).analysis(ValUse).uses()
    assert [(use.kind, use.reason) for use in uses] == [(Pass.HARMLESS, "discarded")]
    # The near miss: the same pass, with the adapter merged into the model after the loop.
    kept = next(e for e in pg101.INVALID if "merged into the model" in e.title)
    assert [kind for _, kind in _kinds(kept.code)] == [Pass.FINE_TUNING]


def test_a_mixed_stream_points_at_the_data_path_that_names_both_splits() -> None:
    # The mechanism is the `train_files` switched to the validation shards, far from the step.
    example = next(e for e in pg105.INVALID if "switched to the validation shards" in e.title)
    switched = next(
        i for i, text in enumerate(example.code.splitlines(), 1) if "train_files =" in text
    )
    uses = [u for u in _facts(example.code).analysis(ValUse).uses() if u.kind is Pass.TRAINING]
    assert [(u.reason, [e.line for e in u.evidence]) for u in uses] == [("mixed", [switched])]


_PROBE = """\
import copy

import torch
import torch.nn.functional as F
from torch import nn


def fit(model, hidden, targets):
    probe = nn.Linear(hidden.shape[-1], 1024).cuda()
    opt = torch.optim.Adam(probe.parameters(), lr=1e-3)
    for _ in range(10):
        loss = F.cross_entropy(probe(hidden), targets)
        opt.zero_grad(); loss.backward(); opt.step()
    probe.eval()
{after}
"""


@pytest.mark.parametrize(
    ("after", "discarded"),
    [
        ("    return F.cross_entropy(probe(hidden), targets).item()", True),
        ("    return probe", False),
        ("    model.head = probe", False),
        ("    keep(probe)", False),
        ("    saved = probe.state_dict()\n    return saved", False),
    ],
    ids=["dropped", "returned", "stored", "passed-on", "state-kept"],
)
def test_a_module_built_and_dropped_in_its_function_is_discarded(
    after: str, discarded: bool
) -> None:
    facts = _facts(_PROBE.format(after=after))
    assert facts.analysis(ValUse).trains_only_its_own(facts.functions["fit"]) is discarded


@pytest.mark.parametrize(
    ("built", "discarded"),
    [
        ("copy.deepcopy(model)", True),
        ("model.to('cuda')", False),
        ("model", False),
        ("make_probe(model)", False),
    ],
)
def test_only_a_constructor_builds_a_fresh_module(built: str, discarded: bool) -> None:
    code = _PROBE.format(after="    return 0.0").replace(
        "nn.Linear(hidden.shape[-1], 1024).cuda()", built
    )
    facts = _facts(code)
    assert facts.analysis(ValUse).trains_only_its_own(facts.functions["fit"]) is discarded


def test_an_optimizer_over_the_model_passed_in_is_not_discarded() -> None:
    code = _PROBE.format(after="    return 0.0").replace(
        "opt = torch.optim.Adam(probe.parameters(), lr=1e-3)",
        "opt = torch.optim.Adam(list(probe.parameters()) + list(model.parameters()), lr=1e-3)",
    )
    facts = _facts(code)
    assert not facts.analysis(ValUse).trains_only_its_own(facts.functions["fit"])


_CALIBRATION_THROUGH_TWO_CALLS = """import torch


def collect(model, tokens, n=4, seq_len=1024):
    stats = {}

    def hook(module, inputs, output):
        x = inputs[0].reshape(-1, inputs[0].shape[-1]).float()
        stats[module] = stats.get(module, 0) + x.T @ x

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        for chunk in tokens:
            model(chunk[None].cuda())
    for h in handles:
        h.remove()
    return stats


def calibrate(model, tokens):
    return collect(model, tokens)


def main():
    model = load_trained("final_model.pt").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    flat = val_tokens.reshape(-1)
    chunks = [flat[i * 1024 : (i + 1) * 1024] for i in range(4)]
    stats = calibrate(model, chunks)
    torch.save(quantize(model.state_dict(), stats), "final_model.ptz")


if __name__ == "__main__":
    main()
"""


def test_a_calibration_helper_names_where_the_validation_data_is_cut_and_passed() -> None:
    code = _CALIBRATION_THROUGH_TWO_CALLS
    (found,) = [f for f in _findings(code) if f.rule_id == "PG106"]

    def line(marker: str) -> int:
        return next(i for i, text in enumerate(code.splitlines(), 1) if marker in text)

    # Outermost first: the chunks cut from the validation tokens, the call that passes them,
    # the call inside the wrapper, then the hooks and the forward pass themselves.
    assert [(e.line, e.label) for e in found.evidence] == [
        (line("chunks = ["), "the validation data passed (`chunks`)"),
        (line("stats = calibrate("), "validation data is passed to `calibrate`"),
        (line("return collect("), "validation data is passed to `collect`"),
        (line("register_forward_hook"), "forward hooks that store activations"),
        (line("model(chunk[None]"), "the model runs on validation tokens"),
    ]


def test_a_helper_called_only_with_training_data_gets_no_route() -> None:
    code = _CALIBRATION_THROUGH_TWO_CALLS.replace(
        'load_validation_tokens("./data/fineweb_val_*.bin", 1024)',
        'load_train_tokens("./data/fineweb_train_000.bin")',
    ).replace("val_tokens", "train_tokens")
    facts = _facts(code)
    assert not [f for f in _findings(code) if f.rule_id == "PG106"]
    assert facts.analysis(ValUse).val_route(facts.functions["collect"]) == ()
