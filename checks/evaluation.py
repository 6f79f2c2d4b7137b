"""PG1xx: evaluation integrity — validation tokens must be scored before anything learns from them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from checks.examples import pg101, pg102, pg103, pg104, pg105, pg106
from pgolf_cli.audit.analyses.scoring import ScoringAnalysis
from pgolf_cli.audit.analyses.training import TrainingAnalysis, Verdict
from pgolf_cli.audit.analyses.valuse import Pass, ValUse
from pgolf_cli.audit.facts import Facts
from pgolf_cli.audit.findings import Confidence, Evidence, Severity
from pgolf_cli.audit.rule import Example, Hit, Rule


def _evidence(facts: Facts, verdict: Verdict) -> tuple[Evidence, ...]:
    fn = verdict.function
    items: list[Evidence] = []
    if fn.val_lines:
        items.append(facts.evidence(fn.val_lines[0], "validation data enters here"))
    items.extend(reversed(verdict.event.chain))
    if verdict.score is not None:
        items.append(facts.evidence(verdict.score.where.line, "the score is recorded here"))
    items.append(facts.evidence(verdict.event.line, "the update (backward) on validation tokens"))
    seen: set[int] = set()
    unique = []
    for item in items:
        if item.line not in seen:
            seen.add(item.line)
            unique.append(item)
    return tuple(unique)


class ValFinetuneBeforeScoring(Rule):
    """
    ## What it does
    Finds training steps (`loss.backward()` / `optimizer.step()`) on validation tokens that were
    not scored before the update — "pre-quant TTT": fine-tuning on the validation set after
    training and before quantization, serialization or the final evaluation. It follows the
    data, not names: validation tokens are whatever comes from `val_tokens`,
    `load_validation_tokens(...)` or a `fineweb_val_*` file, through slices, reshapes,
    `.to()`, loop variables and helper-function parameters.

    ## Why is this bad?
    The score must measure how well the artifact predicts tokens it has not learned from. A model
    fine-tuned on the validation tokens has memorised part of what it is then scored on; one epoch
    is as illegal as ten, and AdamW, SGD, LoRA adapters or frozen blocks change nothing.

    ## Example
    ```python
    def ttt_adapt(model, val_tokens, epochs):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        for _ in range(epochs):
            for i in range(0, val_tokens.numel() - 1, 2048):
                local = val_tokens[i : i + 2049]
                loss = model(local[:-1], local[1:])
                loss.backward()
                opt.step()
    ```

    ## Use instead
    Score-first test-time training (see PG102): score each chunk under `torch.no_grad()`, add it
    to the running loss, and only then train on that chunk.

    ## Known problems
    A score recorded anywhere in the same loop before the update is taken as "scored first", so a
    diagnostic no-grad evaluation inside a fine-tuning loop can hide a violation. In a helper that
    receives the data as a parameter, an earlier score of it makes an update score-first only when
    the update does not walk over that data in a loop (a per-chunk helper, not a fine-tuning pass).
    Updates on validation tokens are split with other rules by the kind of pass: a pass whose state
    is saved before and loaded back after is not reported; one that repeats a fixed validation batch
    or takes a single step is a warm-up (PG103); one inside or before the main training is PG105.
    A score is a gradient-free loss added to a running value or a list; one written into a slot
    (`per_chunk[ci] = ...`) or taken from the training forward itself before the step is not
    seen, so such legal score-first TTT is reported. Validation files named through a parameter
    (`f"fineweb_{split}_*.bin"`) are followed when the call passes the literal `"val"`, not when
    the split is held in a variable; calls through `functools.partial` are not followed; a dict that holds validation data makes every entry of it validation data.

    ## Ruling
    Challenge README FAQ (test-time training only on validation tokens already evaluated);
    issue #402; PR #1376 closed by a maintainer on 2026-04-10 and the pre-quant TTT cluster listed
    in #677.
    """

    id = "PG101"
    name = "val-finetune-before-scoring"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "Training on validation tokens that were not scored first (pre-quant TTT)."
    VALID: ClassVar[tuple[Example, ...]] = pg101.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg101.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        for verdict in facts.analysis(TrainingAnalysis).verdicts():
            if (
                verdict.kind != "unscored"
                or facts.analysis(ValUse).kind(verdict) is not Pass.FINE_TUNING
            ):
                continue
            yield Hit(
                verdict.event.line,
                "the model is trained on validation tokens that were never scored before the update "
                "(test-time training is only allowed on tokens already evaluated)",
                verdict.gate,
                _evidence(facts, verdict),
            )


class TrainBeforeScore(Rule):
    """
    ## What it does
    Checks the order of chunked test-time training on validation tokens: each chunk's score must
    be recorded before any update on that chunk. It reports an update that comes before the score
    in the same loop, a loop that records the score only on its final epoch after earlier epochs
    trained on the chunk, and an update slice that reaches one token past the scored slice.

    ## Why is this bad?
    Every token must be predicted by a model that has not yet seen it (condition C3 of the field
    guide). Updating first, scoring only in the last epoch, or training on one extra token all let
    the model learn a token before it is scored.

    ## Example
    ```python
    for ci in range(num_chunks):
        chunk = val_tokens[ci * n : (ci + 1) * n + 1]
        train_on(model, opt, chunk)          # update first ...
        with torch.no_grad():
            loss_sum += score(model, chunk)  # ... then score: too late
    ```

    ## Use instead
    ```python
    for ci in range(num_chunks):
        chunk = val_tokens[ci * n : (ci + 1) * n + 1]
        with torch.no_grad():
            loss_sum += score(model, chunk)  # score first
        if ci < num_chunks - 1:
            train_on(model, opt, chunk)      # then adapt on what was scored
    ```

    ## Known problems
    The one-past check compares slice bounds as written, as a base plus a constant (`end` vs
    `end + 1`, `stop + 1` vs `stop + 2`); bounds computed in other ways are not compared. The
    final-epoch guard is recognised when it tests the loop variable or a flag computed from it
    in the loop (`last = ep == epochs - 1`), not a flag computed elsewhere. Several epochs over the chunk loop with the score recorded in
    every epoch are PG104's (rescoring) concern.
    A loop that is the training loop (it also trains on other data, runs a periodic validation on
    every n-th step, or mixes training and validation tokens) is reported by PG105 instead.

    ## Ruling
    README FAQ; #402; #568; the field guide #1017, condition C3. The legal reference shape is
    PRs #461/#549 and later #1413.
    """

    id = "PG102"
    name = "train-before-score"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "Chunked TTT that updates on a chunk before recording that chunk's score."
    VALID: ClassVar[tuple[Example, ...]] = pg102.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg102.INVALID

    _MESSAGES: ClassVar[dict[str, str]] = {
        "reversed": "the update on a validation chunk comes before that chunk's score is recorded",
        "last-epoch": "the chunk's score is recorded only on some iterations ({detail}) while every "
        "iteration trains on it: earlier epochs update on tokens before they are scored",
        "one-past": "the update slice reaches one token past the scored slice ({detail}): that token "
        "is trained on before it is scored",
    }

    def check(self, facts: Facts) -> Iterator[Hit]:
        for verdict in facts.analysis(TrainingAnalysis).verdicts():
            template = self._MESSAGES.get(verdict.kind)
            if template is None or facts.analysis(ValUse).kind(verdict) is not Pass.MISORDERED:
                continue
            yield Hit(
                verdict.event.line,
                template.format(detail=verdict.detail),
                verdict.gate,
                _evidence(facts, verdict),
            )


class ValWarmupTraining(Rule):
    """
    ## What it does
    Finds warm-up passes that train on validation tokens and keep the result: backward passes
    and optimizer steps that repeat one fixed validation batch, or take a single step on one —
    typically the few steps a script runs before timing the evaluation so that `torch.compile`
    and the allocator warm up — when the state is not saved before the pass and loaded back
    after it. A pass whose model state is restored (`load_state_dict` of a copy taken before,
    with nothing scoring, saving or copying the model in between) is not reported, nor one whose
    optimizer steps only a module built in the same function that never leaves it (a linear
    probe fitted on frozen hidden states as a diagnostic and dropped).

    ## Why is this bad?
    A warm-up is meant to exercise kernels, not to learn. When its steps run on real validation
    tokens and the weights they produce are kept, the model that is scored has already trained on
    the tokens it is scored on.

    ## Example
    ```python
    x, y = val_tokens[: 8 * 1024].view(8, 1024), val_tokens[1 : 8 * 1024 + 1].view(8, 1024)
    for _ in range(20):  # compile warm-up before the timed evaluation
        loss = model(x, y)
        loss.backward()
        opt.step()
    ```

    ## Use instead
    Warm up on random tokens (`torch.randint`) or on training tokens; or save the state first and
    load it back afterwards:
    ```python
    saved = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
    for _ in range(20):
        ...
    model.load_state_dict(saved[0])
    opt.load_state_dict(saved[1])
    ```

    ## Known problems
    A warm-up is recognised by its data, not its name: the update does not walk over the
    validation data (the same batch on every step, or a single step). A pass that takes new
    validation tokens on each step is a fine-tuning pass (PG101) or part of training (PG105), and
    a single step on a huge batch (the whole validation set) is reported here, as a warm-up.
    Restoring the weights counts as restored whether or not the optimizer state is restored too
    (restoring only the optimizer does not count); a restore by reloading the artifact from disk
    is not recognised and is reported. A module counts as dropped when every binding of its name
    is a constructor call (`nn.Linear(...)`, `copy.deepcopy(model)`) and the name is only called,
    moved or asked for its parameters: stored, returned or passed anywhere, it counts as kept.

    ## Ruling
    Raised on the merged record #1530 and kept, hence a warning: compile or warm-up passes must not
    run backward/step on real validation tokens before the scored pass. Warm-up on random or
    training tokens, or whose state is discarded and restored, is fine (`pgolf rules PG103`).
    """

    id = "PG103"
    name = "val-warmup-training"
    severity = Severity.WARNING
    confidence = Confidence.HIGH
    summary = "Warm-up steps that train on validation tokens and keep the result."
    VALID: ClassVar[tuple[Example, ...]] = pg103.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg103.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        uses = facts.analysis(ValUse)
        for use in uses.uses():
            if use.kind is not Pass.WARM_UP:
                continue
            verdict = use.verdict
            repeated = any(site.where.loops for site in uses.path(verdict))
            how = "the same validation batch on every step" if repeated else "a step"
            kept = use.detail or "the state is not restored afterwards"
            yield Hit(
                verdict.event.line,
                f"warm-up steps train on validation tokens ({how}) and {kept}: the scored model "
                "has learned from them (warm up on random or training tokens, or load_state_dict "
                "a copy saved before the warm-up)",
                verdict.gate,
                (*_evidence(facts, verdict), *use.evidence),
            )


class ValDataInTraining(Rule):
    """
    ## What it does
    Finds training on validation tokens during training: the training loader reads
    `fineweb_val_*` shards or `val_tokens`; validation tokens appended or concatenated into the
    training stream; the training loop also stepping on batches of validation data; or a pass over
    validation data before the main training. An update on validation data counts as training
    when its batch mixes training and validation tokens, when the loop around it also trains on
    other data or runs the periodic validation of a training loop (`step % every == 0`), or when
    training on other data comes after it. Fine-tuning on validation data after training is PG101.

    ## Why is this bad?
    The README says it plainly: validation data cannot be accessed during training. A model
    trained on the tokens it is later scored on has memorised part of its test set.

    ## Example
    ```python
    class Hyperparameters:
        train_files = os.path.join(data_path, "fineweb_val_*.bin")  # the loader reads val shards

    loader = DistributedTokenLoader(args.train_files, rank, world_size, device)
    for step in range(args.iterations):
        if step % args.val_loss_every == 0:
            print(eval_val(model, val_tokens))
        x, y = loader.next_batch(args.train_batch_tokens, args.train_seq_len)
        model(x, y).backward()
        opt.step()
    ```

    ## Use instead
    Train only on `fineweb_train_*` shards. Periodic validation during training under
    `torch.no_grad()` (`VAL_LOSS_EVERY`) is a diagnostic and is fine.

    ## Known problems
    A training loop over validation shards that has no periodic validation, mixes in no training
    data and is followed by no other training looks exactly like post-training fine-tuning and is
    reported by PG101. Training data is recognised by a `fineweb_train_*` name (directly or
    through a global, an attribute or a function's return value); a stream built from names
    computed at run time is not seen as mixed. Validation tokens compressed into the artifact are
    PG303's. A pass over validation data that is restored before the main training is not
    reported (see PG103).

    ## Ruling
    README: "You CANNOT access validation data during training"; PR #44; the "paid prefix" PR #168.
    """

    id = "PG105"
    name = "val-data-in-training"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "Validation tokens used as training data."
    VALID: ClassVar[tuple[Example, ...]] = pg105.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg105.INVALID

    _MESSAGES: ClassVar[dict[str, str]] = {
        "mixed": "the training batches mix validation tokens into the training data",
        "interleaved": "the training loop also takes steps on validation tokens",
        "periodic": "the training loop draws its batches from validation data",
        "before-training": "the model trains on validation tokens before its main training",
    }

    def check(self, facts: Facts) -> Iterator[Hit]:
        for use in facts.analysis(ValUse).uses():
            if use.kind is not Pass.TRAINING:
                continue
            verdict = use.verdict
            yield Hit(
                verdict.event.line,
                f"{self._MESSAGES[use.reason]}: validation data may not be used for training",
                verdict.gate,
                (*_evidence(facts, verdict), *use.evidence),
            )


class CalibrationOnVal(Rule):
    """
    ## What it does
    Finds quantization calibrated on validation tokens: the model run on validation tokens while
    forward hooks that store what they see are installed (GPTQ Hessians `H += x.T @ x`, AWQ
    activation scales), a Gram matrix or magnitude statistic (`abs`, square, running `amax`)
    accumulated from the model's results on validation tokens, or a candidate (a clip percentile,
    a scale) chosen by comparing results computed on validation tokens. Calibration on training
    data, or on text the model generates itself, is not reported, whatever the names say.

    ## Why is this bad?
    Calibration is fitting: GPTQ, AWQ and clip searches adapt the quantized weights to the
    activations they see. Fitted on the validation set, the artifact is tuned to the tokens it is
    scored on.

    ## Example
    ```python
    def collect_hessians(model, tokens, n_batches=16):
        hessians = {}
        def make_hook(name):
            def hook(module, inputs, output):
                x = inputs[0].reshape(-1, inputs[0].shape[-1]).float()
                hessians[name] = hessians.get(name, 0) + x.T @ x
            return hook
        hooks = [m.register_forward_hook(make_hook(n)) for n, m in model.named_modules()]
        with torch.no_grad():
            for i in range(n_batches):
                model(tokens[i * 2048 : (i + 1) * 2048][None])
        ...

    hessians = collect_hessians(model, val_tokens)
    ```

    ## Use instead
    Calibrate on training batches (inside the training time budget), or on sequences the model
    samples from itself (`torch.multinomial` over its own logits), as #1019 did.

    ## Known problems
    A hook is taken to collect when its body accumulates (`+=`, `add_`, `append`, `copy_`) or
    stores into a subscript; a hook that only returns a changed output is not. The model's results
    are recognised as calls that receive validation data other than library, builtin or
    tensor-method calls, so a helper that only slices the data counts as running the model. A
    choice among candidates is reported at low confidence: a comparison of validation results
    that keeps a candidate may also be checkpoint selection, which is not calibration (but uses
    validation data as well). Statistics computed through hooks installed by library code that the
    script does not show are not seen, nor hooks installed by a subclass constructor that only
    calls `super().__init__()`.

    ## Ruling
    Maintainer closures of 2026-03-27 for "illegal GPTQ" calibrated on validation data; #1019's
    self-generated calibration was accepted because it used no validation data (`pgolf rules PG106`).
    """

    id = "PG106"
    name = "calibration-on-val"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "Quantization calibration (GPTQ, AWQ, clip search) computed on validation tokens."
    VALID: ClassVar[tuple[Example, ...]] = pg106.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg106.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        for found in facts.analysis(ValUse).calibrations:
            yield Hit(
                found.line,
                found.message,
                found.gate,
                found.evidence,
                confidence=None if found.certain else Confidence.LOW,
            )


class RescoringPass(Rule):
    """
    ## What it does
    Finds a reported score that depends on a second look at validation tokens already scored:
    a pass that runs after state was built from a first pass over the same tokens (an n-gram cache
    filled by the first pass, a model adapted by score-first TTT, a temperature or setting fitted
    on a pass), a loop that repeats a score-first pass and adds to the score on every iteration,
    and the better of several passes (`min(loss_a, loss_b)`, `if a < b`). It follows which
    object was adapted (an optimizer over `model.parameters()`, or over a list filled from
    `for p in block.parameters()` for `block` in `model.blocks`, adapts `model`): scoring a copy
    of the model that TTT never touched is not a second pass. A scoring function run through a
    lambda (`timed(lambda: eval_ngram(model, val_tokens))`) is reached from the lambda's place.

    ## Why is this bad?
    Each validation token is scored once, in one left-to-right pass (condition C4 of the field
    guide). A second pass predicts tokens with a cache, weights or a temperature built from those
    very tokens, and keeping the better of two passes chooses with the answers in hand. Either way
    the number no longer measures how well the artifact predicts unseen text.

    ## Example
    ```python
    for i in range(n):                       # pass 1: score, then fill the cache (legal so far)
        loss_sum += -math.log(blend(probs[i], counts[ctx(i)])[tokens[i + 1]])
        counts[ctx(i), tokens[i + 1]] += 1
    for i in range(n):                       # pass 2: every token again, with the full cache
        rescored_sum += -math.log(blend(probs[i], counts[ctx(i)])[tokens[i + 1]])
    return rescored_sum / n
    ```

    ## Use instead
    Report the first pass: score each token once, with state built only from tokens before it.
    Sliding-window evaluation is fine (each window scores only its last `stride` positions), and
    so are diagnostic evaluations of other models (pre-quantization, a copy of the model before
    TTT) logged under their own names.

    ## Known problems
    The second pass is matched to the adaptation by the name of the object passed (`model`,
    `cache`); an object reached through an attribute or a container can be missed, and when the
    adapted object cannot be named the finding is reported at medium confidence. A repeated loop
    is recognised as `for _ in range(n)` around both the score and the adaptation; an epoch loop
    written otherwise is missed. A re-score after TTT that is only printed as a diagnostic is still
    reported: pgolf does not know which printed line is the claimed score. State reset between the
    passes (`model.load_state_dict(base)`) is not followed. A pass is a no-grad accumulation into a
    loss-named accumulator (`loss_sum`, `nll_total`), a gradient-free log-loss summed at once
    (`nll = -np.log(p); total = nll.sum()`), or a call to a function that records one; a score
    kept under another name is not seen. A cache counts as filled from the tokens when a table is
    written at their keys (`table[key] += 1`, `np.add.at`, `index_add_`) or incremented by a
    histogram of them (`table += np.bincount(keys)`), in the function or in a method it calls.
    A table a helper fills from all the validation tokens and returns before any pass
    (`table = bigram_counts(val_tokens)`, then a single pass that blends it in) is not seen: with
    no first pass there is no second, and the returned value does not carry the tokens it counted.

    ## Ruling
    Maintainer closures on 2026-03-27 (#846, #869, #870, #881), #573 and #991; the field guide
    #1017, condition C4 (each token is scored once).
    """

    id = "PG104"
    name = "rescoring-pass"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "Validation tokens scored again after a first pass built state from them."
    VALID: ClassVar[tuple[Example, ...]] = pg104.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg104.INVALID

    _MESSAGES: ClassVar[dict[str, str]] = {
        "better-of": "the reported score keeps the better of {detail} over the same validation "
        "tokens: each token is scored once, and choosing the lower loss uses the answers",
        "epochs": "the score is recorded on every iteration of `{detail}`, which also adapts on the "
        "same validation tokens: from the second iteration on, tokens are scored again by state "
        "built from them",
        "second-pass": "the validation tokens are scored again after {detail}: this pass benefits "
        "from state built on a first pass over the same tokens",
        "fitted": "this pass scores the validation tokens with a value chosen on an earlier pass "
        "over them (a temperature, a best setting): a second pass tuned on the answers",
    }

    def check(self, facts: Facts) -> Iterator[Hit]:
        for found in facts.analysis(ScoringAnalysis).rescorings:
            yield Hit(
                found.line,
                self._MESSAGES[found.kind].format(detail=found.detail),
                found.gate,
                found.evidence,
                confidence=found.confidence,
            )
