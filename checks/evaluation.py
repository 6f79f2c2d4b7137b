"""PG1xx: evaluation integrity — validation tokens must be scored before anything learns from them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from checks.examples import pg101, pg102
from pgolf_cli.audit.facts import Facts
from pgolf_cli.audit.findings import Confidence, Evidence, Severity
from pgolf_cli.audit.rule import Example, Hit, Rule
from pgolf_cli.audit.training import Verdict, analysis


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
        for verdict in analysis(facts).verdicts():
            if verdict.kind != "unscored":
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
    The one-past check compares slice bounds as written (`end` vs `end + 1`); bounds computed in
    other ways are not compared. Several epochs over the chunk loop with the score recorded in
    every epoch are PG104's (rescoring) concern.

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
        for verdict in analysis(facts).verdicts():
            template = self._MESSAGES.get(verdict.kind)
            if template is None:
                continue
            yield Hit(
                verdict.event.line,
                template.format(detail=verdict.detail),
                verdict.gate,
                _evidence(facts, verdict),
            )
