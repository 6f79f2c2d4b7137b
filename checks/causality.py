"""PG2xx: causality — the probability of a token may depend only on what came before it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from checks.examples import pg201
from pgolf_cli.audit.facts import TGT, Facts
from pgolf_cli.audit.findings import Confidence, Severity
from pgolf_cli.audit.rule import Example, Hit, Rule


class NgramKeyUsesTarget(Rule):
    """
    ## What it does
    Finds eval-time count tables (n-gram caches, hash tables: anything updated with `+= 1`,
    `np.add.at`, `index_add_`) that are read with a key built from the token being scored
    (`tgt`, `y`, `targets`, `tokens[i + 1]`, `local[1:]`) on validation data, where the value
    read flows into the recorded score.

    ## Why is this bad?
    The probability of position t may only depend on tokens before t. A key that includes the
    target itself looks up "how often did exactly this continuation follow" — the answer leaks
    the token being predicted, and the implied distribution no longer sums to one.

    ## Example
    ```python
    tgt = int(val_np[j])
    full_key = (ctx_hash ^ (tgt * PRIME)) & MASK
    p_ng = full_table[full_key] / max(ctx_table[ctx_key], 1)
    nll_sum += -math.log(lam * p_model + (1 - lam) * p_ng)
    ```

    ## Use instead
    Compute the cache distribution for every candidate token from context-only keys, normalise it
    over the vocabulary, blend, and only then take the target's probability. Updating the table
    with the target's key after scoring is fine.

    ## Known problems
    Targets are recognised by name (`tgt`, `y`, `targets`, ...) and by `[i + 1]` / `[1:]`
    indexing; a target bound under another name through other arithmetic is missed. The flow into
    the score is followed within one function (or to its return value).

    ## Ruling
    A maintainer on PR #779 (2026-03-27) and the mass closures that followed (#677); #982.
    """

    id = "PG201"
    name = "ngram-key-uses-target"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "An eval-time count table looked up with a key that includes the scored token."
    VALID: ClassVar[tuple[Example, ...]] = pg201.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg201.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        for fn in facts.ordered_functions():
            for lookup in fn.lookups:
                if not facts.is_count_table(fn, lookup.table) or TGT not in lookup.key_labels:
                    continue
                if not facts.carries_val(lookup.key_labels, fn.qualname):
                    continue
                scored = [a for a in fn.accumulations if lookup.label in a.labels]
                returned = lookup.label in fn.returns
                if not scored and not returned:
                    continue
                evidence = [
                    facts.evidence(
                        lookup.where.line,
                        f"{lookup.table} read with a key that includes the target",
                    )
                ]
                if scored:
                    evidence.append(
                        facts.evidence(
                            scored[0].where.line, "the looked-up value is added to the score"
                        )
                    )
                if fn.val_lines:
                    evidence.insert(
                        0, facts.evidence(fn.val_lines[0], "validation data enters here")
                    )
                yield Hit(
                    lookup.where.line,
                    f"the count table `{lookup.table}` is read with a key built from the token being scored, "
                    "and the value feeds the score: the prediction sees its own target",
                    facts.gate(fn, lookup.where),
                    tuple(evidence),
                    confidence=None if scored else Confidence.MEDIUM,
                )
