"""Count tables are bindings, not names; the scored token is known by its place, not its name."""

from __future__ import annotations

import libcst as cst

from pgolf_cli.audit.facts import TGT, Facts
from pgolf_cli.audit.positions import statement_lines


def _facts(code: str) -> Facts:
    module = cst.parse_module(code)
    return Facts(module, statement_lines(module, code), code)


def _reads(code: str, function: str) -> list[tuple[str, bool]]:
    """Each target-keyed read in ``function``: the table, and whether it is a count table."""
    facts = _facts(code)
    return [
        (lookup.table, facts.is_count_table(lookup))
        for lookup in facts.functions[function].lookups
        if TGT in lookup.key_labels
    ]


def test_one_functions_local_is_not_anothers_of_the_same_name() -> None:
    # python-minifier names the first local of every function `A`.
    code = (
        "def fill(val_tokens):\n"
        "    A = {}\n"
        "    for i in range(len(val_tokens)):\n"
        "        A[val_tokens[i]] = A.get(val_tokens[i], 0) + 1\n"
        "    return A\n"
        "\n"
        "def score(probs, target):\n"
        "    A = probs.log()\n"
        "    return A[target]\n"
    )
    assert _reads(code, "score") == [("A", False)]


def test_a_global_table_counted_in_one_function_is_read_in_another() -> None:
    code = (
        "COUNTS = {}\n"
        "\n"
        "def fill(key):\n"
        "    COUNTS[key] += 1\n"
        "\n"
        "def score(ctx, target):\n"
        "    return COUNTS[ctx * 31 + target]\n"
    )
    assert _reads(code, "score") == [("COUNTS", True)]


def test_a_closure_reads_its_enclosing_functions_table() -> None:
    code = (
        "def evaluate(val_tokens, target):\n"
        "    tables = {}\n"
        "    def prob(key):\n"
        "        return tables[key ^ target]\n"
        "    for t in val_tokens:\n"
        "        tables[t] += 1\n"
        "    return prob(3)\n"
    )
    assert _reads(code, "evaluate.prob") == [("tables", True)]


def test_a_name_bound_to_a_part_of_a_table_is_that_table() -> None:
    # `d` of `update` and `dist` of `prob` are different locals, each a part of `self.counts`.
    code = (
        "class Cache:\n"
        "    def update(self, ctx, t):\n"
        "        d = self.counts.get(ctx)\n"
        "        if d is None:\n"
        "            d = {}\n"
        "            self.counts[ctx] = d\n"
        "        d[t] = d.get(t, 0) + 1\n"
        "\n"
        "    def prob(self, ctx, target):\n"
        "        dist = self.counts.get(ctx)\n"
        "        return dist.get(target, 0)\n"
    )
    assert _reads(code, "Cache.prob") == [("dist", True)]


def test_an_array_indexed_by_position_is_not_taken_for_a_part_of_it() -> None:
    # `row = counts[ctx]` may be a copy: counting into it is not counting into `counts`.
    code = (
        "def score(counts, ctx, target):\n"
        "    row = counts[ctx]\n"
        "    row[target] += 1\n"
        "    return counts[ctx * 31 + target]\n"
    )
    assert _reads(code, "score") == [("counts", False)]


def test_a_table_passed_where_a_helper_counts_into_its_parameter_is_a_count_table() -> None:
    code = (
        "def bump(table, key):\n"
        "    table[key] += 1\n"
        "\n"
        "def peek(cache, target):\n"
        "    return cache[target]\n"
        "\n"
        "def evaluate(val_tokens, target):\n"
        "    seen = {}\n"
        "    bump(seen, val_tokens[0])\n"
        "    return seen[target], peek(seen, target)\n"
    )
    facts = _facts(code)
    assert _reads(code, "evaluate") == [("seen", True)]
    # ...and the helper's parameter that receives it is one too.
    peek = facts.functions["peek"]
    assert [facts.is_count_table(lookup) for lookup in peek.lookups] == [True]


def _target_reads(code: str) -> list[str]:
    facts = _facts(code)
    return [lookup.table for lookup in facts.functions["score"].lookups if TGT in lookup.key_labels]


def test_the_token_after_a_context_window_is_the_target_whatever_its_name() -> None:
    code = (
        "def score(val_np, full_counts, n):\n"
        "    for j in range(n, len(val_np)):\n"
        "        q = int(val_np[j])\n"  # read before the window, under any name
        "        ctx = hash(tuple(val_np[j - n : j]))\n"
        "        p = full_counts[ctx ^ q]\n"
    )
    assert _target_reads(code) == ["full_counts"]


def test_the_token_after_a_prefix_or_a_clamped_window_is_the_target() -> None:
    for window in ("val_np[:j]", "val_np[max(0, j - 4) : j]"):
        code = (
            "def score(val_np, full_counts):\n"
            "    for j in range(1, len(val_np)):\n"
            f"        ctx = hash(tuple({window}))\n"
            "        p = full_counts[ctx ^ int(val_np[j])]\n"
        )
        assert _target_reads(code) == ["full_counts"], window


def test_a_token_beside_no_window_ending_at_it_is_not_the_target() -> None:
    code = (
        "def score(val_np, full_counts, n):\n"
        "    for j in range(n, len(val_np)):\n"
        "        q = int(val_np[j])\n"
        "        ctx = hash(tuple(val_np[j - n : j - 1]))\n"  # ends before j - 1, not at j
        "        head = val_np[:8]\n"  # a constant prefix: no position moves with it
        "        p = full_counts[ctx ^ q ^ int(val_np[8])]\n"
    )
    assert _target_reads(code) == []
