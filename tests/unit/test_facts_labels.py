"""Labels the facts pre-pass gives: targets vs inputs of a window, list contents, shard splits."""

from __future__ import annotations

import libcst as cst

from pgolf_cli.audit.facts import LOSS, NG, TGT, TRAIN, VAL, Facts
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


def test_functions_a_lambda_calls_are_reached_as_values_passed_from_its_place() -> None:
    code = (
        "import os\n"
        "def two_pass(model, tokens):\n"
        "    return 0.0\n"
        "def timed(run):\n"
        "    return run()\n"
        "def main():\n"
        "    model, tokens = load()\n"
        "    if os.environ.get('NGRAM', '0') == '1':\n"
        "        timed(lambda two_pass: two_pass(model))\n"
        "        out = timed(lambda: two_pass(model, tokens))\n"
        "main()\n"
    )
    facts = _facts(code)
    # The first lambda's parameter shadows the function: only line 10 calls it, as a callback.
    assert [
        (c.where.line, c.reference) for c in facts.functions["main"].calls if c.callee == "two_pass"
    ] == [(10, True)]
    gate = facts.gates["two_pass"]
    assert gate.reachable and gate.switches  # reached, behind the NGRAM switch


_WRAPPER = (
    "import time\n"
    "\n"
    "def timed_eval(label, fn, *args, **kwargs):\n"
    "    t0 = time.perf_counter()\n"
    "    result = fn(*args, **kwargs)\n"
    "    print(label, result, time.perf_counter() - t0)\n"
    "    return result\n"
    "\n"
    "def eval_val(model, tokens, stride=64):\n"
    "    return model(tokens)\n"
    "\n"
)


def test_a_function_passed_to_a_wrapper_that_calls_it_is_called_where_the_wrapper_is() -> None:
    code = _WRAPPER + (
        "def main(model):\n"
        '    val_tokens = load("fineweb_val_000000.bin")\n'
        '    timed_eval("final", eval_val, model, val_tokens, stride=32)\n'
    )
    main = _facts(code).functions["main"]
    [run] = [c for c in main.calls if c.callee == "eval_val" and not c.reference]
    # What the wrapper forwards: the arguments after its own (`*args`), and the extra keywords.
    assert run.where.line == 14
    assert len(run.args) == 2 and VAL in run.args[1] and VAL not in run.args[0]
    assert run.arg_names == ("model", "val_tokens")
    assert [key for key, _ in run.kwargs] == ["stride"]
    assert not run.unpacked


def test_a_wrapper_that_passes_its_own_values_makes_the_forwarded_call_unknown() -> None:
    code = (
        "def retry(fn, model):\n"
        "    batch = make_batch()\n"
        "    return fn(model, batch)\n"
        "\n"
        "def step(model, batch):\n"
        "    return model(batch)\n"
        "\n"
        "def main(model):\n"
        "    retry(step, model)\n"
        "    retry(model=model, fn=step)\n"
    )
    main = _facts(code).functions["main"]
    runs = [c for c in main.calls if c.callee == "step" and not c.reference]
    assert len(runs) == 2
    assert all(c.unpacked and c.arg_names == ("model", None) for c in runs)


def test_a_function_passed_where_nothing_calls_it_is_only_a_reference() -> None:
    code = _WRAPPER + (
        "def register(name, fn):\n"
        "    HOOKS[name] = fn\n"
        "\n"
        "def main(model, tokens):\n"
        '    register("eval", eval_val)\n'
        "    fn = eval_val\n"
        '    timed_eval("x", fn, model, tokens)\n'
    )
    main = _facts(code).functions["main"]
    assert not [c for c in main.calls if c.callee == "eval_val" and not c.reference]


_QUANTIZE = (
    "def quantize(state, hessians):\n"
    "    stats = {'raw': 0, 'payload': 0}\n"
    "    out = {}\n"
    "    for name, w in state.items():\n"
    "        stats['raw'] += w.numel()\n"
    "        out[name] = (w @ hessians[name]).round()\n"
    "        stats['payload'] += out[name].numel()\n"
    "    return out, stats\n"
    "\n"
)


def test_a_tuple_return_keeps_an_argument_on_the_elements_that_return_it() -> None:
    code = _QUANTIZE + (
        "def main(model):\n"
        '    calib = load("fineweb_train_000000.bin")\n'
        "    obj, stats = quantize(model.state_dict(), collect(model, calib))\n"
        "    print(stats['raw'] / stats['payload'])\n"
        "    save(obj)\n"
    )
    uses = {u.where.line: u.names for u in _facts(code).functions["main"].train_uses}
    # The Hessians (training data) go into the quantized weights, not into the size counts.
    assert 13 not in uses
    assert uses[14] == frozenset({"obj"})


def test_a_tuple_return_keeps_what_it_may_have_used_everywhere_when_it_returns_it_nowhere() -> None:
    code = (
        "def fit(model, tokens):\n"
        "    register(model, tokens)\n"
        "    return model.weight, 1.0\n"
        "\n"
        "def main(model):\n"
        '    tokens = load("fineweb_train_000000.bin")\n'
        "    weight, scale = fit(model, tokens)\n"
        "    print(scale[0])\n"
    )
    # `tokens` is returned at no position: what the call did with it is not known.
    assert 8 in {u.where.line for u in _facts(code).functions["main"].train_uses}


def test_a_tuple_return_is_kept_apart_wherever_the_function_is_defined() -> None:
    caller = (
        "def main(model):\n"
        '    calib = load("fineweb_train_000000.bin")\n'
        "    obj, stats = quantize(model.state_dict(), collect(model, calib))\n"
        "    print(stats['raw'] / stats['payload'])\n"
        "\n"
    )
    before, after = _facts(_QUANTIZE + caller), _facts(caller + _QUANTIZE)
    assert [sorted(u.names) for u in before.functions["main"].train_uses] == [
        sorted(u.names) for u in after.functions["main"].train_uses
    ]
    assert not any("stats" in u.names for u in after.functions["main"].train_uses)


def test_a_closure_handed_to_a_wrapper_reads_the_values_of_its_scope() -> None:
    code = (
        "def run(fn):\n"
        "    return fn()\n"
        "\n"
        "def main(model):\n"
        '    val_tokens = load("fineweb_val_000000.bin")\n'
        "    def step():\n"
        "        return model(val_tokens)\n"
        "    run(step)\n"
    )
    main = _facts(code).functions["main"]
    [run] = [c for c in main.calls if c.callee == "main.step" and not c.reference]
    assert run.arg_names[-2:] == ("model", "val_tokens") and VAL in run.args[-1]


def test_a_wrapper_whose_body_is_a_nested_function_still_runs_the_callback() -> None:
    code = (
        "def timed(fn, *args):\n"
        "    def body():\n"
        "        return fn(*args)\n"
        "    return body()\n"
        "\n"
        "def score(tokens):\n"
        "    return tokens.sum()\n"
        "\n"
        "def main():\n"
        '    timed(score, load("fineweb_val_000000.bin"))\n'
    )
    main = _facts(code).functions["main"]
    [run] = [c for c in main.calls if c.callee == "score" and not c.reference]
    assert VAL in run.args[0]


def test_a_method_resolved_by_name_runs_no_callback() -> None:
    code = (
        "class Hooks:\n"
        "    def run(self, callback=None):\n"
        "        return callback()\n"
        "\n"
        "def main(hooks, model):\n"
        "    def closure():\n"
        "        return model.loss()\n"
        "    hooks.run(closure)\n"
    )
    # `hooks` may be any object with a `run` method (a library's), not the script's Hooks.
    # (`opt.step(closure)` is different: every torch optimizer calls its closure.)
    main = _facts(code).functions["main"]
    assert not [c for c in main.calls if c.callee == "main.closure" and not c.reference]


def test_a_returned_call_passes_its_tuple_on_element_wise() -> None:
    code = (
        "def quantize(state, hessians):\n"
        "    def body():\n"
        "        return {k: v @ hessians[k] for k, v in state.items()}, {'n': 0}\n"
        "    return body()\n"
        "\n"
        "def main(model):\n"
        '    calib = load("fineweb_train_000000.bin")\n'
        "    obj, stats = quantize(model.state_dict(), collect(model, calib))\n"
        "    print(stats['n'])\n"
        "    save(obj)\n"
    )
    uses = {u.where.line: u.names for u in _facts(code).functions["main"].train_uses}
    assert 9 not in uses and uses[10] == frozenset({"obj"})


def test_a_comprehension_variable_is_not_a_name_the_closure_reads_from_its_scope() -> None:
    code = (
        "def main():\n"
        '    r = score(load("fineweb_val_000000.bin"))\n'
        "    grid = [(1, 2, 3)]\n"
        "    def search():\n"
        "        return [try_one(b, d, r) for b, d, r in grid]\n"
        "    search()\n"
    )
    assert _facts(code).functions["main.search"].free == ("grid",)


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


def test_an_alias_is_found_in_any_block_and_undone_by_a_binding_inside_an_expression() -> None:
    code = (
        "def f(model, opt, data):\n"
        "    if data:\n"
        "        with ctx():\n"
        "            B = model\n"
        "    try:\n"
        "        O = opt\n"
        "    finally:\n"
        "        pass\n"
        "    D = data\n"
        "    total = [D for D in range(3)]\n"
        "    def inner(model):\n"
        "        E = model\n"
        "    return B, O, D\n"
        "def g(model):\n"
        "    return model\n"
    )
    facts = _facts(code)
    # D is bound again by the comprehension; E belongs to the nested function's own scope.
    assert facts.parameter_aliases(facts.functions["f"]) == {"B": "model", "O": "opt"}
    assert facts.parameter_aliases(facts.functions["g"]) == {}


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


_KEYS_HELPER = (
    "import numpy as np\n"
    "def keys(tokens, pos):\n"
    "    h = tokens[pos - 2] * 31 + tokens[pos - 1]\n"
    "    return h % 4096, (h * 31 + tokens[pos]) % 4096\n"
    "def score(val_tokens, ctx_counts, full_counts, ws, n):\n"
    "    pos = np.arange(POSITIONS)\n"
    "    ctx_key, full_key = keys(val_tokens, pos)\n"
    "    a = ctx_counts[ctx_key]\n"
    "    b = full_counts[full_key]\n"
    "    return a, b\n"
)


def test_a_helper_reading_tokens_at_the_target_positions_returns_the_target() -> None:
    # Positions one past the window start are the targets: the helper's `tokens[pos]` is the
    # scored token there, and only the element of its result built from it carries it.
    code = _KEYS_HELPER.replace("POSITIONS", "ws + 1, ws + n + 1")
    assert _lookups(code) == [(9, "full_counts")]
    helper = _facts(code).functions["keys"]
    assert helper.position_reads == {"A0.1": 4}


def test_the_same_helper_at_the_input_positions_reads_no_target() -> None:
    code = _KEYS_HELPER.replace("POSITIONS", "ws, ws + n")
    assert _lookups(code) == []


def test_a_wrapper_or_an_alias_passes_the_positions_read_on() -> None:
    # `keys` reads through an alias of its parameter; `wrapped` hands its own parameters on, so
    # its result reads them too and the caller's target positions reach the read.
    code = (
        _KEYS_HELPER.replace("POSITIONS", "ws + 1, ws + n + 1")
        .replace(
            "    return h % 4096, (h * 31 + tokens[pos]) % 4096\n",
            "    p = pos\n    return h % 4096, (h * 31 + tokens[p]) % 4096\n",
        )
        .replace("keys(val_tokens, pos)", "wrapped(val_tokens, pos)")
        .replace("def score(", "def wrapped(t, q):\n    return keys(t, q)\ndef score(")
    )
    assert [table for _, table in _lookups(code)] == ["full_counts"]
    assert _facts(code).functions["wrapped"].position_reads == {"A0.1": 5}


_NUMPY_PASS = """import numpy as np


def fill(table, keys):
    counts = np.bincount(keys, minlength=len(table))
    table += counts[: len(table)].astype(table.dtype)


def fill_direct(table, keys):
    table += np.bincount(keys, minlength=len(table))


def grow(table, extra):
    table += extra


def rescore(p):
    nll = -np.log(p)
    loss_sum = nll.sum()
    mean_p = p.sum()
    return loss_sum / len(p), mean_p
"""


def test_a_table_incremented_by_a_bincount_of_keys_is_a_count_update() -> None:
    facts = _facts(_NUMPY_PASS)
    for name in ("fill", "fill_direct"):
        (update,) = facts.functions[name].updates
        assert update.table == "table"
        assert "P0" in update.owner and "P1" in update.labels
    # Adding another array is not counting keys.
    assert facts.functions["grow"].updates == []


def test_a_numpy_log_loss_summed_at_once_is_a_gradient_free_total() -> None:
    fn = _facts(_NUMPY_PASS).functions["rescore"]
    (total,) = fn.accumulations
    assert total.target == "loss_sum"
    assert {LOSS, NG} <= total.labels


def test_a_name_the_targets_go_by_carries_the_target_at_every_read() -> None:
    code = (
        "def score(table, seq):\n"
        "    y = seq\n"
        "    a = table[y]\n"
        "    b = table[y]\n"
        "    z = seq\n"
        "    c = table[z]\n"
        "    return a, b, c\n"
    )
    # The second read of `y` asks the same question of the name again: same answer.
    assert _lookups(code) == [(3, "table"), (4, "table")]


def test_a_global_of_training_shards_is_training_data_until_a_local_shadows_it() -> None:
    code = (
        'files = "fineweb_train_*.bin"\n'
        "def read():\n"
        "    return files\n"
        "def shadowed():\n"
        '    files = "notes.txt"\n'
        "    return files\n"
    )
    facts = _facts(code)
    assert TRAIN in facts.functions["read"].returns
    assert TRAIN not in facts.functions["shadowed"].returns
