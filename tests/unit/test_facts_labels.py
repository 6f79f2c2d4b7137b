"""Labels the facts pre-pass gives: targets vs inputs of a window, list contents, shard splits."""

from __future__ import annotations

import libcst as cst

from pgolf_cli.audit.facts import LOSS, TGT, TRAIN, VAL, Facts
from pgolf_cli.audit.positions import statement_lines


def _facts(code: str) -> Facts:
    module = cst.parse_module(code)
    return Facts(module, statement_lines(module, code), code)


def _lookups(code: str) -> list[tuple[int, str]]:
    fn = _facts(code).functions["score"]
    return [(lookup.where.line, lookup.table) for lookup in fn.lookups if TGT in lookup.key_labels]


def test_the_shifted_input_window_is_not_the_target() -> None:
    code = (
        "def score(seg, ctx_counts, full_counts):\n"
        "    x, y = seg[:-1], seg[1:]\n"
        "    ctx = x[:-1] * 31 + x[1:]\n"
        "    a = ctx_counts[ctx]\n"
        "    b = full_counts[ctx * 31 + y[1:]]\n"
        "    return a, b\n"
    )
    # Only the read keyed with y is keyed with the target; x[1:] is the previous token.
    assert _lookups(code) == [(5, "full_counts")]


def test_a_name_rebound_from_an_input_window_to_the_whole_sequence_is_a_sequence_again() -> None:
    code = "def score(seg, table):\n    x = seg[:-1]\n    x = seg\n    return table[x[1:]]\n"
    assert _lookups(code) == [(4, "table")]


def test_tuples_appended_to_a_list_keep_their_positions_through_a_loop() -> None:
    code = (
        "def score(val_np, j, ctx_counts, full_counts):\n"
        "    tgt = val_np[j]\n"
        "    keys = []\n"
        "    for k in (2, 3):\n"
        "        ctx = hash(val_np[j - k : j])\n"
        "        keys.append((ctx, ctx ^ tgt))\n"
        "    for ctx, full in reversed(keys):\n"
        "        a = ctx_counts[ctx]\n"
        "        b = full_counts[full]\n"
        "    return a, b\n"
    )
    assert _lookups(code) == [(9, "full_counts")]


def test_a_split_parameterized_lister_lists_the_split_its_call_names() -> None:
    code = (
        "def list_shards(root, split):\n"
        '    return sorted(Path(root).glob(f"fineweb_{split}_*.bin"))\n'
        "\n"
        "def train_files():\n"
        '    return list_shards("./data", "train")\n'
        "\n"
        "def val_files():\n"
        '    return list_shards("./data", split="val")\n'
        "\n"
        "def some_files(kind):\n"
        '    return list_shards("./data", kind)\n'
    )
    facts = _facts(code)
    assert facts.split_listers == {"list_shards": 1}
    assert TRAIN in facts.functions["train_files"].returns
    assert VAL not in facts.functions["train_files"].returns
    assert "val_files" in facts.returns_val
    assert facts.functions["val_files"].val_lines == [8]
    # A split held in a variable is not followed: neither label.
    assert not {TRAIN, VAL} & facts.functions["some_files"].returns


_SEARCH = (
    "def search(model, val_tokens):\n"
    "    return model(val_tokens)\n"
    "\n"
    "def main():\n"
    "    calib = load_data_shard('fineweb_train_000.bin')\n"
    "    held_out = load_validation_tokens('fineweb_val_*.bin')\n"
)


def test_a_parameter_named_val_tokens_takes_its_label_from_the_call_sites() -> None:
    # Only ever passed training tokens: not validation data, no line where validation enters.
    facts = _facts(_SEARCH + "    search(None, calib)\n")
    assert VAL not in facts.functions["search"].returns
    assert facts.val_params["search"] == set()
    assert facts.functions["search"].val_lines == []
    # Passed the validation tokens at one call site: validation data enters at the reads.
    facts = _facts(_SEARCH + "    search(None, calib)\n    search(None, held_out)\n")
    assert facts.val_params["search"] == {1}
    assert facts.functions["search"].val_lines == [2]


def test_the_name_decides_where_the_call_sites_do_not_say() -> None:
    uncalled = _facts(_SEARCH)
    assert uncalled.functions["search"].val_lines == [2]
    # A callback (called by code we do not see) and a call spreading `*args`.
    for use in ("    run(search)\n    search(None, calib)\n", "    search(*[None, calib])\n"):
        assert VAL in _facts(_SEARCH + use).functions["search"].returns, use


def _scores(code: str) -> list[str]:
    facts = _facts(code)
    return sorted(facts.score_accumulators(facts.functions["score"]))


# The same loop three ways: what adds up the score is found by what flows into it, whatever it is
# called; the token and byte counts divided into it are not a score.
_SCORING_LOOP = (
    "def score(model, val_tokens, lut):\n"
    "    {a}, {b}, {c} = 0.0, 0, 0.0\n"
    "    for i in range(0, val_tokens.numel() - 1, 1024):\n"
    "        w = val_tokens[i : i + 1025]\n"
    "        x, y = w[:-1], w[1:]\n"
    "        {a} += F.cross_entropy(model.logits(x), y, reduction='sum').item()\n"
    "        {b} += y.numel()\n"
    "        {c} += lut[y].sum()\n"
    "    return {a} / {c}\n"
)


def test_a_score_accumulator_is_what_a_log_loss_flows_into_under_any_name() -> None:
    for a, b, c in (("loss_sum", "token_count", "byte_count"), ("s", "n", "m"), ("A", "B", "C")):
        assert _scores(_SCORING_LOOP.format(a=a, b=b, c=c)) == [a]


def test_a_model_called_with_the_targets_returns_a_loss() -> None:
    code = (
        "def score(model, val_tokens):\n"
        "    t = 0.0\n"
        "    for i in range(0, val_tokens.numel() - 1, 1024):\n"
        "        w = val_tokens[i : i + 1025]\n"
        "        x, y = w[:-1], w[1:]\n"
        "        t += model(x, y).item() * y.numel()\n"
        "        u += model(x).sum()  # no targets beside the inputs: not its loss\n"
        "        v += sum(x, y)  # a builtin, not a model\n"
        "    return t\n"
    )
    assert _scores(code) == ["t"]


def test_a_loss_returned_by_a_helper_reaches_its_caller() -> None:
    code = (
        "def nll(logits, y):\n"
        "    return -torch.log_softmax(logits, -1).gather(-1, y[:, None])\n"
        "\n"
        "def score(model, val_tokens):\n"
        "    q, k = 0.0, 0\n"
        "    for i in range(0, val_tokens.numel() - 1, 1024):\n"
        "        w = val_tokens[i : i + 1025]\n"
        "        q += nll(model.logits(w[:-1]), w[1:]).sum()\n"
        "        k += nll(model.logits(w[:-1]), w[1:]).numel()\n"
        "    return q / k\n"
    )
    assert _scores(code) == ["q"]


def test_a_comparison_of_losses_or_a_log_of_a_constant_is_no_loss() -> None:
    code = (
        "def score(a, b):\n"
        "    picks = 0\n"
        "    picks += int((F.cross_entropy(a, b) < F.cross_entropy(b, a)).sum())\n"
        "    picks += math.log(2)\n"
        "    return picks\n"
    )
    facts = _facts(code)
    assert all(LOSS not in acc.labels for acc in facts.functions["score"].accumulations)
    assert _scores(code) == []


def test_the_tail_of_a_window_past_a_two_token_context_is_the_target() -> None:
    code = (
        "def score(seg, table):\n"
        "    a, b, y = seg[:-2], seg[1:-1], seg[2:]\n"
        "    c = table[a * 31 + b]\n"
        "    return table[(a * 31 + b) * 31 + y]\n"
    )
    assert _lookups(code) == [(4, "table")]


def test_the_inputs_shifted_by_one_to_the_same_length_are_the_targets() -> None:
    code = (
        "def score(chunk, n, table):\n"
        "    x, y = chunk[:n], chunk[1 : n + 1]\n"
        "    a = table[x]\n"
        "    return table[y]\n"
    )
    assert _lookups(code) == [(4, "table")]


def test_a_model_method_given_inputs_and_targets_is_a_loss_but_a_gather_is_not() -> None:
    code = (
        "def score(model, val_tokens, lut):\n"
        "    s, g = 0.0, 0.0\n"
        "    w = val_tokens[:1025]\n"
        "    s += model.token_nll(w[:-1], w[1:]).sum()\n"
        "    g += lut.index_select(0, w[1:]).sum()\n"
        "    return s / g\n"
    )
    assert _scores(code) == ["s"]


def test_a_local_bound_once_to_a_parameter_is_that_parameter() -> None:
    code = (
        "def f(model, data, other):\n"
        "    B = model\n"
        "    C = other\n"
        "    C = data\n"
        "    D = data\n"
        "    for D in data:\n"
        "        pass\n"
        "    data = 1\n"
        "    return B, C, D\n"
    )
    facts = _facts(code)
    # C is rebound; D is bound again by the loop; `data` itself is rebound.
    assert facts.parameter_aliases(facts.functions["f"]) == {"B": "model"}


def test_a_nested_function_of_a_grad_free_function_runs_without_gradients_unless_handed_out() -> (
    None
):
    code = (
        "@torch.no_grad()\n"
        "def outer(model):\n"
        "    def body():\n"
        "        return model(1)\n"
        "    def factory():\n"
        "        return 2\n"
        "    body()\n"
        "    return factory\n"
        "\n"
        "def plain():\n"
        "    def inner():\n"
        "        return 3\n"
        "    return inner()\n"
    )
    functions = _facts(code).functions
    assert functions["outer.body"].grad_free
    assert not functions["outer.factory"].grad_free
    assert not functions["plain.inner"].grad_free
