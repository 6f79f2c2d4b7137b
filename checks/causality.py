"""PG2xx: causality — the probability of a token may depend only on what came before it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import libcst as cst

from checks.examples import pg201, pg202, pg203, pg204, pg205, pg206
from pgolf_cli.audit.analyses.blending import Blends
from pgolf_cli.audit.analyses.bodies import Bodies
from pgolf_cli.audit.analyses.scoring import ScoringAnalysis
from pgolf_cli.audit.analyses.slot import Coverage, SlotAnalysis
from pgolf_cli.audit.analyses.target_gate import TargetGateAnalysis
from pgolf_cli.audit.analyses.token_shift import TokenShiftAnalysis
from pgolf_cli.audit.analyses.training import TrainingAnalysis
from pgolf_cli.audit.facts import TGT, Facts, Function, Lookup
from pgolf_cli.audit.findings import Confidence, Evidence, Severity
from pgolf_cli.audit.native import GatedMixture
from pgolf_cli.audit.rule import Example, Hit, Rule

_LOG_LOSSES = frozenset({"log", "log2", "log_softmax", "cross_entropy", "nll_loss"})
"""Calls whose result makes a running total a log-loss (a score), not a count."""


def _target_keyed_count_read(facts: Facts, fn: Function, lookup: Lookup) -> bool:
    """An eval-time count table read with a key built from the scored validation token: PG201's
    shape (PG205 leaves the blends built on such a read to PG201)."""
    return (
        facts.is_count_table(lookup)
        and TGT in lookup.key_labels
        and facts.carries_val(lookup.key_labels, fn.qualname)
        and not facts.is_trained_table(lookup.table_id)
    )


def _key_built(facts: Facts, fn: Function, lookup: Lookup) -> list[Evidence]:
    """Where the key of a target-keyed read is built (the statements binding the names it is
    read with), and where the table is filled: the fill shows what the table counts."""
    out: list[Evidence] = []
    if lookup.node is not None:
        node = lookup.node
        keys: list[cst.CSTNode] = (
            [e.slice for e in node.slice] if isinstance(node, cst.Subscript) else [node]
        )
        if isinstance(node, cst.Call):
            keys = [a.value for a in node.args]
        body = facts.analysis(Bodies).of(fn)
        for key in keys:
            out += [
                facts.evidence(bound.line, "the key is built here")
                for bound in body.bindings(key, lookup.where.line)
            ]
    for label in sorted(lookup.key_labels):
        helper = facts.functions.get(label[1:]) if label[0] == "C" else None
        if helper is None:
            continue
        reads = sorted(
            line for read, line in helper.position_reads.items() if read in helper.returns
        )
        if reads:
            out.append(
                facts.evidence(reads[0], f"`{helper.name}` reads the token at the positions passed")
            )
    fill = facts.table_fill(fn, lookup.table_id)
    if fill is not None:
        out.append(facts.evidence(fill.where.line, f"{lookup.table} is filled here"))
    return out


class NgramKeyUsesTarget(Rule):
    """
    ## What it does
    Finds eval-time count tables (n-gram caches, hash tables: anything updated with `+= 1`,
    `np.add.at`, `index_add_`) that are read with a key built from the token being scored
    (`tgt`, `y`, `targets`, `tokens[i + 1]`, `local[1:]`, `tokens[i]` beside a context
    `tokens[i - n : i]`) on validation data, where the value read flows into the recorded score.

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
    Targets are recognised by name (`tgt`, `y`, `targets`, ...), by `[i + 1]` / `[1:]`
    indexing, by `[i]` where the function also reads the context window `[i - n : i]` or
    `[:i]` of the same sequence, and by positions one past a start (`np.arange(ws + 1, ...)`),
    also where a helper reads `tokens[pos]` at such positions passed to it (a hashing helper
    returning a context key and a full key: only the full key holds the target); a target bound
    under another name through other arithmetic is missed. Count tables are followed by binding
    (a local of one function is not another's of the same name), into the helpers they are
    passed to and back from the helpers that count into them; a part of a table bound to a name
    (`d = t.get(ctx)`) is that table, but an array row (`row = t[ctx]`, possibly a copy) is not.
    The flow into the score is followed within one function (or to its return value); the score
    is a running total with a loss-like name (`nll_sum`), or one under any name (`ls`) when what
    it adds is a gradient-free `log` / `cross_entropy` on the targets. A table whose every
    update writes training data (filled during training, shipped as a buffer) is not an eval-time
    cache and is left to PG205 when its target-only blend is unnormalised; a table filled through
    a helper's parameter has no update under its own name and is treated as an eval-time cache.

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
        training = facts.analysis(TrainingAnalysis)
        for fn in facts.ordered_functions():
            if not any(_target_keyed_count_read(facts, fn, lookup) for lookup in fn.lookups):
                continue
            # A running total of a log-loss on the targets, kept without gradients, is the score
            # whatever it is called (`ls += ...` in minified code); a hit counter is not.
            recorded = {s.where.seq for s in training.scores(fn)}
            body = facts.analysis(Bodies).of(fn) if fn.records else None
            totals = [
                *fn.accumulations,
                *(
                    r
                    for r in fn.records
                    if body is not None
                    and r.where.seq in recorded
                    and any(
                        body.computed_with(added, _LOG_LOSSES)
                        for added in body.accumulated(r.where.line, r.target)
                    )
                ),
            ]
            for lookup in fn.lookups:
                if not _target_keyed_count_read(facts, fn, lookup):
                    continue
                scored = [a for a in totals if lookup.label in a.labels]
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
                evidence[:0] = _key_built(facts, fn, lookup)
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


class SlotOnScoredTargets(Rule):
    """
    ## What it does
    Finds SLOT-style evaluation: inside the evaluation, a tensor created trainable
    (`torch.zeros(..., requires_grad=True)`, `.requires_grad_()`, `nn.Parameter(...)` — a
    hidden-state delta `[bsz, 1, d]`, a logit bias `[bsz, 1, V]`) is optimised, by an optimizer
    or `torch.autograd.grad` and a manual update, against a loss on the window's validation
    targets, and the NLL recomputed with the optimised tensor is then added to the score. It
    follows the tensor and the data through names, helpers and `;`-joined code, not the function
    names. When the optimisation loss covers only positions before the scored slice (`[:, :s]`
    against `[:, s:]`, or a `pos < s` mask against `pos >= s`) it reports causal SLOT as a note.

    ## Why is this bad?
    Each token must be scored by a model state that depends only on the artifact and on tokens
    before it. Fitting a per-window tensor to the very targets that are then scored lets every
    scored token pull its own probability up; the reported loss is no longer a prediction.

    ## Example
    ```python
    delta = torch.zeros(bsz, 1, d, device="cuda", requires_grad=True)
    opt = torch.optim.AdamW([delta], lr=3e-3)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten()).backward()
        opt.step()
    with torch.no_grad():
        nll = F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten(), reduction="none")
        loss_sum += nll[first:].sum()
    ```

    ## Use instead
    Score the window first, then adapt on what was scored (score-first test-time training, see
    PG102): a tensor fitted on windows already scored may be applied to the windows after them.
    Causal SLOT, fitting only on the positions before the scored slice, has not been ruled on;
    a record claim that depends on it should expect to be questioned.

    ## Known problems
    The tensor is recognised where it is created trainable; one made trainable by another route
    (a slice of a model parameter, `torch.func` transforms) is missed. Which positions a loss
    covers is read from the slices and `<`/`>=` comparisons written in the loss and score
    expressions, following local names: a restriction written differently from the scored slice
    (other arithmetic, a helper's parameter) cannot be compared and is reported at low
    confidence, as is an optimisation with no visible optimizer step or update of the tensor.
    The score is a sum into an accumulator with a loss-like name (`loss_sum`, `nll_total`), or
    a gradient-free loss on the targets summed under any other name (`acc += nll[s:].sum()`);
    a loss on the targets logged under such a name inside the fit loop, before the step, is
    taken for a first score, and the fit for score-first adaptation. A mask built by item
    writes (`mask[i, :s] = True`) covers what those writes set, also when an L-BFGS closure
    reads it from the enclosing function; an optimizer's `step(closure)` runs the closure there.

    ## Ruling
    No leaderboard row ever admitted SLOT; issue #1240 showed its causality violation
    empirically. Causal SLOT (#1336) was never ruled on, hence a note rather than an error.
    """

    id = "PG202"
    name = "slot-on-scored-targets"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = (
        "A tensor fitted at eval time on the window's targets, then used to score them (SLOT)."
    )
    VALID: ClassVar[tuple[Example, ...]] = pg202.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg202.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        slots = facts.analysis(SlotAnalysis)
        for found in slots.slots():
            fn, opt, score = found.function, found.optimisation, found.score
            evidence: list[Evidence] = []
            if fn.val_lines:
                evidence.append(facts.evidence(fn.val_lines[0], "validation data enters here"))
            for line in sorted({slots.created[leaf] for leaf in found.leaves}):
                evidence.append(facts.evidence(line, "a tensor is created trainable at eval time"))
            evidence.extend(reversed(opt.chain))
            evidence.append(
                facts.evidence(opt.line, "it is optimised against a loss on the window's targets")
            )
            evidence.append(
                facts.evidence(score.line, "the NLL recomputed with it is added to the score")
            )
            gate = facts.combine(facts.gate(fn, opt.where), opt.guards)
            if found.coverage is Coverage.CAUSAL:
                yield Hit(
                    opt.line,
                    f"causal SLOT: a tensor created at eval time is optimised only on positions "
                    f"before the scored slice ({found.detail}) and then used to score; this shape "
                    "has never been ruled on, so it is reported as a note",
                    gate,
                    tuple(evidence),
                    severity=Severity.NOTE,
                )
                continue
            message = (
                "SLOT: a tensor created at eval time is optimised against the loss on the "
                "window's targets, and the NLL recomputed with it is added to the score: "
                "each scored token shapes its own prediction"
            )
            confidence = None
            if found.coverage is Coverage.UNKNOWN:
                message += (
                    f"; the optimisation loss is restricted ({found.detail}) in a way pgolf cannot "
                    "compare with the scored slice: check that it excludes the scored positions"
                )
                confidence = Confidence.LOW
            if not found.updated:
                message += "; no optimizer step or update of the tensor was found"
                confidence = Confidence.LOW
            yield Hit(opt.line, message, gate, tuple(evidence), confidence=confidence)


class TargetGatedMixture(Rule):
    """
    ## What it does
    Finds a vocabulary look-up table read at the token being scored on validation data
    (`starts_new_word_lut[tgt]`, `boundary_lut[y]`, `is_boundary[tokens[i + 1]]`) whose value then
    decides the probability of that same token: it weights a probability of the target
    (`p = w * p_word + (1 - w) * p_model`), weights per position the distributions the target's
    probability is then gathered from (`lam = lut[y][:, None]; p = lam * p_main + (1 - lam) * p_aux`),
    selects between probabilities (`if space_lut[y]: p = p_word else: p = p_model`,
    `torch.where(lut[y], p_a, p_b)`), or is added, after a `log`, to a log-probability — and the
    gated probability reaches the score (a loss accumulator such as `nll_sum`, a `log`, or the
    value the function returns).

    ## Why is this bad?
    The mixture that scores position t may only be chosen from what precedes t. A weight or a
    switch read from the table at the target itself already knows something about the answer
    (does the next token start a word? is it a boundary?) and picks the expert that suits it. The
    implied distribution is no longer normalised: summed over every candidate token, each with
    its own weight, it does not add up to one.

    ## Example
    ```python
    for i in range(seq_len):
        tgt = int(local[i + 1])
        w = starts_new_word_lut[tgt]
        p = w * word_probs[i, tgt] + (1 - w) * probs[i, tgt]
        nll_sum += -math.log(p)
    ```

    ## Use instead
    Read the table at the previous (input) token, which is known before the target is scored
    (`w = starts_new_word_lut[prev]`), or apply the gate to every candidate token, normalise the
    mixture over the vocabulary, and only then take the target's probability. Reading LUTs at
    the target to count its UTF-8 bytes — the standard BPB accounting
    (`base_bytes_lut[tgt] + (has_leading_space_lut[tgt] & ~is_boundary_lut[prev])`) — is fine:
    the byte count divides the score, it does not choose the probability.

    ## Known problems
    - A table is taken for a vocabulary look-up table when it is read with one index and holds
      no validation data; the scored token is recognised as PG201 does (`tgt`/`y`/`targets`,
      `[i + 1]`, `[1:]`), so a window that starts one token early and reads the previous token
      as `local[i + 1]` is mistaken for a read at the target. Reads are seen written as
      `lut[y]`, `lut.get(y)` or `lut.index_select(0, y)`; `torch.index_select(lut, 0, y)`,
      `F.embedding(y, lut)` and `torch.take` are not.
    - The probability of the scored token is recognised as a target-keyed read of a distribution
      computed from the validation tokens (`probs[i, tgt]`), a count-table read, `gather`,
      `cross_entropy`/`nll_loss`, or a script function returning one; whole distributions as
      the result of `softmax`/`log_softmax`. A probability produced by an object's method
      (`word_model.prob(ctx, tgt)`) or logits that are never put through a softmax in view are
      not recognised.
    - Division never counts as weighting, so the per-token byte division of a BPB computation
      is not mistaken for a gate — and neither is a temperature chosen by `temp_lut[y]`. A
      value that carries the probability itself (a tensor packing the loss sum with the byte
      count) is never taken as a gate. A weight that is itself computed from the target's
      probability and multiplies a target-LUT distribution term (`conf * unigram_lut[tgt]`)
      looks like a gate and is reported.
    - The flow is followed within functions and through the script's own helpers (arguments and
      return values; helpers walked only to learn what they return are followed two calls
      deep), not through attributes of objects. When the gated probability is only
      turned into a log-loss or returned, and never seen added to a loss accumulator, the
      finding has medium confidence.
    - Native sources (C/C++/CUDA) shipped beside a records folder are not parsed: the folder
      audit scans them textually for the same shape and reports matches at low confidence.

    ## Ruling
    The #1514 precedent, applied again in the reviews of #1967 and #2118 and in #2146: a mixture
    whose weight or switch is looked up at the token being scored is not a causal prediction
    and is disallowed; tables looked up at the previous token, as in the standard BPB byte
    count, are allowed.
    """

    id = "PG203"
    name = "target-gated-mixture"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "A look-up table read at the scored token gates the probability of that token."
    VALID: ClassVar[tuple[Example, ...]] = pg203.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg203.INVALID
    scans_native: ClassVar[bool] = True

    @classmethod
    def native_message(cls, mix: GatedMixture) -> str:
        return (
            f"native source scanned as text, not parsed: `{mix.table}[{mix.key}]` is read at the "
            f"token being scored (line {mix.read_line}) and {mix.how} the probability mixed for "
            f"that token, whose log is added to the score (line {mix.score_line}); a table read "
            "at the scored token must not decide how it is scored. Low confidence: pgolf does "
            "not parse C, C++ or CUDA, so check this kernel by hand"
        )

    _SINKS: ClassVar[dict[str, str]] = {
        "score": "the gated probability is added to the score here",
        "log": "the gated probability is turned into a log-loss here",
        "return": "the gated probability is returned as the score here",
    }

    def check(self, facts: Facts) -> Iterator[Hit]:
        reported: set[int] = set()
        for gated in facts.analysis(TargetGateAnalysis).gated_scores():
            read = gated.read
            line = read.lookup.where.line
            if line in reported:
                continue
            reported.add(line)
            evidence: list[Evidence] = []
            if read.function.val_lines:
                evidence.append(
                    facts.evidence(read.function.val_lines[0], "validation data enters here")
                )
            evidence.append(
                facts.evidence(line, f"`{read.lookup.table}` is read at the scored token")
            )
            evidence.append(facts.evidence(gated.mix.line, f"the value {gated.mix.what}"))
            evidence.append(facts.evidence(gated.sink.line, self._SINKS[gated.sink.what]))
            yield Hit(
                line,
                f"the look-up table `{read.lookup.table}` is read at the token being scored and its "
                f"value {gated.mix.what}: the mixture that scores this token depends on the token itself",
                facts.gate(read.function, read.lookup.where),
                tuple(_unique_lines(evidence)),
                confidence=None if gated.sink.what == "score" else Confidence.MEDIUM,
            )


def _unique_lines(items: list[Evidence]) -> list[Evidence]:
    """One evidence entry per line (on a minified line the read, the mix and the score coincide)."""
    seen: set[int] = set()
    out: list[Evidence] = []
    for item in items:
        if item.line not in seen:
            seen.add(item.line)
            out.append(item)
    return out


class UnnormalizedTargetBlend(Rule):
    """
    ## What it does
    Finds scores taken from a probability computed for the target token alone: the model's
    probability of the target (`probs[i, tgt]`, `probs.gather(-1, y)`) mixed with a count ratio
    read for the target (`count[ctx, tgt] / count_ctx[ctx]`) whose denominator is not a sum over
    the vocabulary, or multiplied or mixed with a product of byte-level probabilities of the
    target's bytes, where `-log` of the result is added to the score on validation data. It
    follows the values through local names, `;`-joined statements and helper tables, not names.

    ## Why is this bad?
    The score must come from a distribution normalised over the whole vocabulary. A mixture
    evaluated only at the target never has to sum to one: a count ratio from a hashed table, or
    with a denominator counted separately, can give every candidate a large share at once (the
    distribution implied by PR #886 summed to about 277), so `-log` of it understates the loss.

    ## Example
    ```python
    p_ng = full_counts[(ctx * PRIME + tgt) % BUCKETS] / max(ctx_counts[ctx], 1)
    p = (1 - lam) * probs[i, tgt] + lam * p_ng
    nll_sum += -math.log(p)
    ```

    ## Use instead
    Build the cache distribution for every candidate token, divide by its sum over the
    vocabulary (`row / row.sum(-1, keepdim=True)`), blend it with the model's full softmax, and
    only then gather the target. A target-only ratio whose denominator is the row's own sum over
    the vocabulary is fine too.

    ## Known problems
    A count ratio is a target read divided by something read from a table (a division by a
    scalar, such as a temperature, is not one). Whether its denominator sums over the vocabulary
    is judged by its form: a `.sum()` (or softmax / logsumexp) of a row passes, anything else
    (another table, `max(n, 1)`, `n + 1`) is reported, which is why the confidence is medium: a
    separately kept context count can be exact. Byte-level products are recognised as `*=` in a loop or `prod(...)` over reads keyed
    by the target; a byte model folded in through a sum of logarithms is missed, as is a blend
    computed in one helper and scored in another. When the count ratio is an eval-time count
    table read with a key that includes the target, PG201 reports it as an error and PG205 stays
    silent: fixing PG201 the way it says (a normalised distribution over every candidate) fixes
    the normalisation too, so a second finding would only repeat it.

    ## Ruling
    PR #886, whose implied distribution summed to about 277; the closures of 2026-03-27; #978;
    and the normalisation exclusions in #1902.
    """

    id = "PG205"
    name = "unnormalized-target-blend"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    summary = "A probability blended for the target token only, not normalised over the vocabulary."
    VALID: ClassVar[tuple[Example, ...]] = pg205.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg205.INVALID

    _TERMS: ClassVar[dict[str, str]] = {
        "ratio": "a count ratio read for the target; its denominator is not a sum over the vocabulary",
        "bytes": "a product of byte-level probabilities over the target's bytes",
    }
    _MESSAGES: ClassVar[dict[str, str]] = {
        "ratio": "the score takes -log of a probability computed for the target token only, mixing "
        "the model's probability with a count ratio whose denominator is not a sum over the "
        "vocabulary: nothing makes the implied distribution sum to one",
        "bytes": "the score takes -log of the model's probability of the target combined with a "
        "product of byte-level probabilities of its bytes: the result is not a distribution "
        "normalised over the vocabulary",
    }

    def check(self, facts: Facts) -> Iterator[Hit]:
        reported: set[int] = set()
        for blend in facts.analysis(Blends).found:
            fn = blend.function
            if blend.line in reported or any(
                _target_keyed_count_read(facts, fn, read) for read in blend.reads
            ):
                continue  # an eval-time count table keyed by the target: PG201's error
            reported.add(blend.line)
            evidence: list[Evidence] = []
            if fn.val_lines:
                evidence.append(facts.evidence(fn.val_lines[0], "validation data enters here"))
            evidence.append(facts.evidence(blend.term_line, self._TERMS[blend.kind]))
            evidence.append(
                facts.evidence(blend.line, "combined with the model's probability of the target")
            )
            evidence.append(
                facts.evidence(blend.score.where.line, "-log of the result is added to the score")
            )
            yield Hit(
                blend.line,
                self._MESSAGES[blend.kind],
                facts.gate(fn, blend.score.where),
                tuple(_unique_lines(evidence)),
            )


class DocumentShiftWithoutBosMask(Rule):
    """
    ## What it does
    Finds token-shift mixing layers — a hidden state added to its own previous position
    (`torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], 1)`, `(1 - g) * x + g * prev` with
    `prev` made by `torch.cat([zeros, x[:, :-1]], 1)`, `F.pad(x[:, :-1], (0, 0, 1, 0))` or
    `torch.roll(x, 1, 1)`, `torch.lerp(x, prev, mu)`; the "SmearGate") — whose shifted term is
    not masked at document starts. A factor or fill derived from a comparison of token ids
    (`input_ids[:, 1:] != BOS_ID`, `doc_ids[:, 1:] == doc_ids[:, :-1]`, `masked_fill(ids == bos, 0)`)
    counts as the mask. Model code is reached through the classes the script instantiates
    (`GPT()` in `main`, `SmearGate(dim)` in `GPT.__init__`), under the switches that guard them.

    ## Why is this bad?
    Training and validation rows are cut from one stream of documents, each starting with BOS,
    so a row packs several documents. Without a mask, the first token of every document is mixed
    with the last token of the previous, unrelated document: the prediction at a document start
    depends on text that is not part of its context, and the model learns to use it.

    ## Example
    ```python
    def forward(self, x):
        g = torch.sigmoid(self.gate)[None, None, :]
        return torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], dim=1)
    ```

    ## Use instead
    ```python
    def forward(self, x, input_ids):
        g = torch.sigmoid(self.gate)[None, None, :]
        not_bos = (input_ids[:, 1:] != BOS_ID).unsqueeze(-1).to(x.dtype)
        return torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1] * not_bos], dim=1)
    ```

    ## Known problems
    - pgolf does not follow which rows reach the layer, so it cannot tell whether they pack
      several documents (the standard loader's rows do); findings have medium confidence.
    - Any comparison-derived factor on the shifted term is taken as the document mask; pgolf
      does not check that it compares with the BOS id. When the shifted term is multiplied by a
      tensor passed in by the caller (a mask or a gate computed elsewhere), pgolf cannot tell
      which it is and reports at low confidence.
    - Shifts are recognised on the sequence axis of batched tensors (`[:, :-1]`, `roll` with
      `dims=1`); a shift through a module (`nn.ZeroPad2d`), a helper that returns the shifted
      copy, an unbatched `x[:-1]`, or `F.pad(x, (0, 0, 1, -1))` (pad one row, crop one) is not
      followed. Integer id arithmetic (BigramHash-style
      hashes, `t[:, 1:] * V + t[:, :-1]`) is not mixing and is not reported.

    ## Ruling
    A maintainer audit on #1797 found a SmearGate that mixed each document's first token with
    the previous document's last one; #1851 and #1855 fixed it by masking BOS positions. The
    finding was disputed in #1988 but the requirement was kept.
    """

    id = "PG206"
    name = "document-shift-without-bos-mask"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    summary = "A token-shift mixing layer (SmearGate) with no mask at BOS / document starts."
    VALID: ClassVar[tuple[Example, ...]] = pg206.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg206.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        shifts = facts.analysis(TokenShiftAnalysis)
        reported: set[int] = set()
        for mix in shifts.mixes:
            if mix.masked or mix.line in reported:
                continue
            reported.add(mix.line)
            message = (
                f"`{mix.base}` is mixed with its own previous position (a token shift) with no mask "
                "at BOS positions: in rows that pack several documents, each document's first token "
                "receives the previous document's last one"
            )
            confidence = None
            if mix.passed_in:
                names = ", ".join(f"`{n}`" for n in mix.passed_in)
                message += (
                    f"; the shifted term is scaled by {names}, passed in by the caller: if that is "
                    "a document mask this is fine, pgolf cannot see how it is made"
                )
                confidence = Confidence.LOW
            if mix.line == mix.shift_line:
                evidence = [
                    facts.evidence(mix.line, "the previous position is added to the current one")
                ]
            else:
                evidence = [
                    facts.evidence(mix.shift_line, "the previous position is taken here"),
                    facts.evidence(mix.line, "and added to the current position, unmasked"),
                ]
            yield Hit(mix.line, message, shifts.gate(mix), tuple(evidence), confidence)


class OracleSelection(Rule):
    """
    ## What it does
    Finds a choice among predictions made by comparing their losses on the token being scored:
    `torch.minimum(nll_a, nll_b)`, `torch.min(torch.stack([...]), dim=0)`,
    `torch.where(nll_a < nll_b, nll_a, nll_b)`, `torch.maximum` of gathered log-probabilities,
    "keep the better expert" per token or per document with an `if`, or a running best over a list
    of experts, when the chosen loss is added to the score (or is what the scoring function
    returns). A loss here is anything computed from the targets (`y`, `tgt`, `tokens[i + 1]`,
    `local[1:]`), directly or through the script's own helpers.

    ## Why is this bad?
    The probability of a token may depend only on what came before it (condition C1). Picking,
    for each token or document, whichever predictor gave the gold token the higher probability
    uses the gold token to decide how it is predicted: the implied distribution is not normalised,
    and the score beats every predictor it chooses from without predicting anything better.

    ## Example
    ```python
    nll_a = F.cross_entropy(model_a(x), y, reduction="none")
    nll_b = F.cross_entropy(model_b(x), y, reduction="none")
    loss_sum += torch.minimum(nll_a, nll_b).sum()
    ```

    ## Use instead
    Mix the predictors with weights fixed in advance or computed from the context only (the
    entropy of each predictor's distribution, which expert did better on tokens already scored),
    normalise the mixture over the vocabulary, and only then take the gold token's probability.
    Choosing a checkpoint by its loss on training data is fine.

    ## Known problems
    A choice made with a comparison of losses of earlier positions written as shifted slices
    (`nll_a[:-1] < nll_b[:-1]` choosing for `[1:]`) looks like a choice on the scored token and is
    reported; a running comparison across loop iterations is read as the previous tokens' and is
    not. Choices through `sorted(...)`, `topk` or `min(..., key=...)` are not seen, nor scores kept
    in accumulators without a loss-like name (`s += ...`). When the chosen loss is only returned
    (no score accumulator in sight) the finding is at medium confidence. The maximum of the
    candidates used only as the shift of a log-sum-exp (`top + log(w * exp(la - top) + ...)`)
    cancels out and is not a choice; any other use of it (added to the score on its own) is. A
    value floored or capped in place by constants (`p = np.maximum(p, 1e-10)`) chooses nothing.

    ## Ruling
    The challenge's evaluation conditions (#402, the field guide #1017, C1 and C2): a token's
    probability comes from a normalised distribution that depends only on earlier tokens, so
    selecting the prediction after seeing the target is not allowed.
    """

    id = "PG204"
    name = "oracle-selection"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "Choosing among predictions by their loss on the token being scored."
    VALID: ClassVar[tuple[Example, ...]] = pg204.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg204.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        for found in facts.analysis(ScoringAnalysis).oracle_choices:
            where = "goes into the score" if found.reaches == "score" else "is what it returns"
            yield Hit(
                found.selection.where.line,
                "a prediction is chosen by comparing losses on the token being scored "
                f"({len(found.selection.candidates)} candidates), and the chosen loss {where}: "
                "the choice has seen the answer",
                found.gate,
                found.evidence,
                confidence=found.confidence,
            )
