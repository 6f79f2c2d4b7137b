"""Labels the facts pre-pass gives: targets vs inputs of a window, list contents, shard splits."""

from __future__ import annotations

import libcst as cst

from pgolf_cli.audit.facts import TGT, TRAIN, VAL, Facts
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
