"""PG4xx: the environment of the evaluation — it runs offline, on what the artifact ships."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from typing import ClassVar

import libcst as cst

from checks.examples import pg401, pg402, pg403
from pgolf_cli.audit.analyses.phases import Frame, Item, Phases, Region
from pgolf_cli.audit.facts import TRAIN, ExternalCall, Facts, Function, TrainUse, code_of
from pgolf_cli.audit.findings import Confidence, Evidence, Severity
from pgolf_cli.audit.rule import Example, Hit, Rule

SHELL_CALLS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
    }
)
_SHELL_SEPARATORS = re.compile(r"&&|\|\||[;|\n]")
_SHELLS = frozenset({"sh", "bash", "dash", "zsh"})
_MAX_SHELL_NESTING = 3

_HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
_NETWORK_CALLS = frozenset(
    {
        "urllib.request.urlopen",
        "urllib.request.urlretrieve",
        "http.client.HTTPConnection",
        "http.client.HTTPSConnection",
        "socket.create_connection",
        "socket.socket().connect",
        "socket.socket().connect_ex",
        "huggingface_hub.hf_hub_download",
        "huggingface_hub.snapshot_download",
        "huggingface_hub.file_download.hf_hub_download",
        "datasets.load_dataset",
        "torch.hub.load",
        "torch.hub.download_url_to_file",
        "torch.hub.load_state_dict_from_url",
        "torch.utils.model_zoo.load_url",
        "wget.download",
    }
)
_FETCHING_GIT = frozenset({"clone", "fetch", "pull"})


def _literal(node: cst.BaseExpression) -> str | None:
    """The text of a string literal; an f-string keeps its literal parts around a blank hole."""
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.FormattedString):
        return "".join(
            part.value if isinstance(part, cst.FormattedStringText) else " {} "
            for part in node.parts
        )
    return None


def commands_run(call: ExternalCall) -> list[list[str]]:
    """The argv of each command a ``subprocess`` / ``os.system`` call runs, as far as literals tell.

    A list argument gives one argv up to its first non-literal item; a string argument is a
    shell line, split into its commands at ``;``, ``&&``, ``||`` and ``|``. A shell given a line
    with ``-c`` (``["bash", "-c", "curl ... | tar x"]``) gives the commands of that line. Program
    names are reduced to their base name (``/usr/local/cuda/bin/nvcc`` -> ``nvcc``).
    """
    if call.name not in SHELL_CALLS:
        return []
    command: cst.BaseExpression | None = None
    for arg in call.node.args:
        if arg.keyword is None and not arg.star:
            command = arg.value
            break
        if arg.keyword is not None and arg.keyword.value in ("args", "cmd", "command"):
            command = arg.value
            break
    if command is None:
        return []
    argvs: list[list[str]] = []
    if isinstance(command, cst.List | cst.Tuple):
        argv: list[str] = []
        for element in command.elements:
            text = _literal(element.value) if not isinstance(element, cst.StarredElement) else None
            if text is None:
                break
            argv.append(text)
        argvs.append(argv)
    else:
        line = _literal(command)
        if line is None:
            return []
        argvs.extend(_shell_line(line))
    return _programs(argvs)


def _shell_line(line: str) -> list[list[str]]:
    """The words of each command of a shell line, split at ``;``, ``&&``, ``||``, ``|``."""
    argvs: list[list[str]] = []
    for part in _SHELL_SEPARATORS.split(line):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        argvs.append(words)
    return argvs


def _programs(argvs: list[list[str]], depth: int = 0) -> list[list[str]]:
    """Each argv with its program reduced to a base name, looking through the wrappers that
    run another command: ``sudo``, ``env X=1 cmd``, ``X=1 cmd``, and ``bash -c "line"``."""
    out: list[list[str]] = []
    for argv in argvs:
        while argv and (argv[0] in ("sudo", "exec", "env") or "=" in argv[0]):
            argv = argv[1:]
        if not argv:
            continue
        # a quote left open where the line was split at a separator inside it stays on the word
        program = argv[0].strip("\"'").rsplit("/", 1)[-1]
        if program in _SHELLS and "-c" in argv[1:-1] and depth < _MAX_SHELL_NESTING:
            out.extend(_programs(_shell_line(argv[argv.index("-c", 1) + 1]), depth + 1))
            continue
        out.append([program, *argv[1:]])
    return out


def external_call_hits(
    facts: Facts,
    classify: Callable[[ExternalCall], str | None],
    message: Callable[[str], str],
    label: str,
) -> Iterator[Hit]:
    """One hit per reachable line that calls an imported name ``classify`` recognises.

    ``classify`` says in words what the call does (or None); ``message`` turns that into the
    finding's message; ``label`` names the evidence line.
    """
    seen: set[int] = set()
    for fn in facts.ordered_functions():
        for call in fn.externals:
            what = classify(call)
            if what is None or call.where.line in seen:
                continue
            gate = facts.gate(fn, call.where)
            if not gate.reachable:
                continue
            seen.add(call.where.line)
            yield Hit(
                call.where.line, message(what), gate, (facts.evidence(call.where.line, label),)
            )


def _network_use(call: ExternalCall) -> str | None:
    """What reaches the network in this call, in words, or None."""
    name = call.name
    if name in _NETWORK_CALLS:
        return f"`{name}`"
    root = name.split(".", 1)[0]
    if root in ("requests", "httpx") and name.rsplit(".", 1)[-1] in _HTTP_VERBS:
        return f"`{name}`"
    for argv in commands_run(call):
        program = argv[0]
        if program in ("curl", "wget"):
            return f"`{program}` run through `{name}`"
        if program == "git" and _FETCHING_GIT & set(argv[1:]):
            verb = next(w for w in argv[1:] if w in _FETCHING_GIT)
            return f"`git {verb}` run through `{name}`"
    return None


class NetworkAtEval(Rule):
    """
    ## What it does
    Finds calls that reach the network on a path the official run takes: `urllib.request`
    (`urlopen`, `urlretrieve`), `requests` / `httpx` verbs, `http.client` connections,
    `socket.create_connection` and `socket.socket(...).connect`, `huggingface_hub` downloads,
    `datasets.load_dataset`, `torch.hub`, and `subprocess` / `os.system` running `curl`, `wget`
    or `git clone|fetch|pull`, also inside a shell line (`["bash", "-c", "curl ... && ..."]`). Module aliases are resolved (`import urllib.request as ur`,
    `from requests import get`). Importing a network package is not a finding — an optional
    import (`try: import requests except ImportError: ...`) is fine; only calls count.

    ## Why is this bad?
    The evaluation must run offline on what the submission ships: the 16 MB artifact and the
    code. Anything fetched at run time — weights, a tokenizer, a cache, extra text — is
    unpaid for and unverifiable, and the evaluation machine may not be online at all.

    ## Example
    ```python
    def main():
        path = hf_hub_download("someone/ngram-cache", "cache.bin")
        cache = load_cache(path)
        print("val_bpb", evaluate(model, val_tokens, cache))
    ```

    ## Use instead
    Build what the evaluation needs during training (inside the time cap) and serialize it into
    the artifact, or put it in the code. Data preparation belongs to the dataset download step,
    outside `train_gpt.py`.

    ## Known problems
    Any reachable network call is reported, also one in data preparation before training; a
    call behind a switch that is off by default is a warning naming the switch. Names built at
    run time (`__import__("requests")`, `getattr(requests, verb)`), a command held in a variable
    before it reaches `subprocess`, and `from_pretrained` with a hub id are not recognised.

    ## Ruling
    The challenge README's evaluation conditions: downloads and network access reachable after training or inside the
    evaluation are not allowed; optional-import fallbacks are fine.
    """

    id = "PG401"
    name = "network-at-eval"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "A network call (download, HTTP, socket, git/curl/wget) on the official run's path."
    run_only = True
    VALID: ClassVar[tuple[Example, ...]] = pg401.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg401.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        return external_call_hits(
            facts,
            _network_use,
            lambda what: (
                f"{what} reaches the network; the evaluation must not reach the network — "
                "ship what it needs in the artifact or the code"
            ),
            "network call",
        )


def _unique(items: list[Evidence]) -> tuple[Evidence, ...]:
    seen: set[int] = set()
    out: list[Evidence] = []
    for item in items:
        if item.line and item.line not in seen:
            seen.add(item.line)
            out.append(item)
    return tuple(out)


def _shown(names: frozenset[str]) -> str:
    return ", ".join(f"`{n.lstrip('.')}`" for n in sorted(names))


def _fits_a_scalar(ph: Phases) -> bool:
    """Whether training data at evaluation only feeds a search over candidate values.

    Every call at evaluation that passes training data enters a search: a function that keeps
    a running best among candidates (``if loss < best: best, best_t = loss, t``), or one that
    returns what such a function returns (a helper that runs the grid); and nothing under those
    calls runs a backward pass or updates a table: the data picks a number such as a
    temperature, it trains nothing and fills nothing.
    """
    late = [i for i in ph.items[ph.train_end + 1 :] if ph.at_eval(i)]
    functions = ph.facts.functions
    searches = _searches(functions)

    def data(labels: frozenset[str]) -> bool:
        # What a search returns (the scalar it found) is not the data it searched on.
        return TRAIN in labels and not any(
            lbl.startswith("C") and lbl[1:] in searches for lbl in labels
        )

    fed: dict[int, Frame] = {}
    for item in late:
        frame: Frame | None = item.frame
        while frame is not None and frame.call is not None:
            call = frame.call
            if any(data(labels) for labels in (*call.args, *(v for _, v in call.kwargs))):
                fed[id(frame)] = frame
            frame = frame.parent
    # The outermost calls that receive training data decide; the functions they call with it
    # (a scoring pass per candidate) are part of the search. A reader that hands the data back
    # (`stream.take(n)`, anything returning what it was given) decides nothing: where the data
    # goes next does.
    outermost = [
        f
        for f in fed.values()
        if (f.parent is None or id(f.parent) not in fed)
        and (
            f.fn.qualname in searches
            or not any(lbl == TRAIN or lbl.startswith("P") for lbl in f.fn.returns)
        )
    ]
    if not outermost or not all(f.fn.qualname in searches for f in outermost):
        return False
    if any(f.fn.updates for f in fed.values()):
        return False
    for item in late:
        if item.kind != "backward":
            continue
        frame = item.frame
        while frame is not None:
            if id(frame) in fed:
                return False
            frame = frame.parent
    return True


def _searches(functions: Mapping[str, Function]) -> set[str]:
    """Functions that keep a running best among candidates, and those that return what one of
    them returns (``return grid(model, tokens, scales)``)."""
    found = {q for q, fn in functions.items() if any(c.running for c in fn.selections)}
    grown = True
    while grown:
        grown = False
        for q, fn in functions.items():
            if q not in found and any(
                lbl.startswith("C") and lbl[1:] in found for lbl in fn.returns
            ):
                found.add(q)
                grown = True
    return found


def _training_evidence(facts: Facts, ph: Phases) -> list[Evidence]:
    items: list[Evidence] = []
    first = ph.first_train_line()
    if first is not None:
        items.append(facts.evidence(first, "training data is read here"))
    if ph.main is not None:
        items.append(facts.evidence(ph.main.line, "the training loop"))
    return items


class TrainingDataAtEval(Rule):
    """
    ## What it does
    Finds training data used after training has ended: reads of `fineweb_train_*` shards, of
    the token tensors loaded from them and of the loader over them (`next_batch`, a slice, a
    new `TokenStream`) once the artifact has been written, or inside an evaluation function
    called after the training loop. "After training" comes from the order of the run, not from
    names: pgolf follows `main()` and every function it calls, finds the last training loop
    (a loop around a backward pass on non-validation data) before the artifact is written
    (`torch.save`, `np.save`, `Path.write_bytes`, a binary `open(...).write`), and treats what
    runs after that write — or, with no write, after the first score that follows the loop —
    as the evaluation. Training data is whatever comes from a `fineweb_train_*` name through
    assignments, slices, calls and arguments.

    ## Why is this bad?
    The evaluation may use only what the submission ships: the code and the 16,000,000-byte
    artifact. Test-time training on a training slice, calibrating the logits on training
    tokens after quantization, or filling an n-gram cache from the training shards at
    evaluation all bring in information whose bits were never paid for.

    ## Example
    ```python
    torch.save(quantize(model), "final_model.ptz")
    calib = train_tokens[:131072]
    temperature = fit_temperature(model, calib)
    print("val_bpb", evaluate(model, val_tokens, temperature))
    ```

    ## Use instead
    Build what the evaluation needs during training, inside the time cap, and write it into
    the artifact (a table serialized with the weights is paid for and is fine to use at
    evaluation). GPTQ or other calibration on training data belongs before the artifact is
    written, inside the training budget (see PG403).

    ## Known problems
    Training data is recognised from `fineweb_train_*` names, and from a shard lister that
    builds `f"fineweb_{split}_*.bin"` from a parameter when a call passes it the literal
    `"train"`; a split held in a variable, or a path read from an environment variable, is not
    followed, nor is data reached through a lambda or a callback (a function of the script passed
    to another of its functions that calls it, `timed_eval("final", eval_val, model)`, is followed
    as a call made there; a callback handed to a method or to a library is not). A value
    computed from training data by one of the script's own functions and written into the
    artifact is "paid"; when pgolf cannot
    tell whether what the evaluation reads is that paid value, the finding has low
    confidence. An object that holds the loader next to other things (`ctx.loader`,
    `ctx.model`) carries training data as a whole, so using its other parts after training
    can be reported. With no artifact write, the first score after training starts the
    evaluation, so a diagnostic pre-quantization evaluation followed by calibration on training
    data is reported. Only the first read per reachability is reported. Where training data at
    evaluation only feeds functions that search over candidate values (a temperature grid
    kept by its loss) and nothing fed from it runs a backward pass or fills a table, the finding
    is a warning: the organizers accepted temperatures fitted this way, and whether the value
    found is only such a scalar needs a human.

    ## Ruling
    The challenge README's evaluation conditions: training data may not be read during the
    evaluation unless its bits are paid for inside the 16,000,000 bytes; reads of
    `fineweb_train_*` or the training loader after the training loop or inside evaluation
    functions (test-time training on a training slice, logit calibration on training tokens
    after quantization, caches pre-filled from training data) are not allowed. A table built
    during training and serialized into the artifact is legal.
    """

    id = "PG402"
    name = "training-data-at-eval"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "Training data read after the artifact is written or inside the evaluation."
    run_only = True
    VALID: ClassVar[tuple[Example, ...]] = pg402.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg402.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        ph = facts.analysis(Phases)
        reported: set[object] = set()
        for item in ph.train_reads():
            if not ph.at_eval(item) or (item.gate.reach, item.gate.switches) in reported:
                continue
            reported.add((item.gate.reach, item.gate.switches))
            yield self._hit(facts, ph, item)

    @staticmethod
    def _hit(facts: Facts, ph: Phases, item: Item) -> Hit:
        use = item.event
        assert isinstance(use, TrainUse)
        if ph.eval_start is not None and item.index >= ph.eval_start:
            when = (
                "after the artifact is written"
                if ph.artifact is not None
                else "after training, once the evaluation has started"
            )
        else:
            when = "inside an evaluation function called after training"
        evidence = _training_evidence(facts, ph)
        if ph.artifact is not None:
            evidence.append(facts.evidence(ph.artifact.line, "the artifact is written here"))
        evidence.append(facts.evidence(item.line, "training data is used at evaluation"))
        message = (
            f"training data ({_shown(use.names)}) is used {when}; the evaluation may only use "
            "what the artifact holds — training data it reads is not paid for"
        )
        confidence = None
        severity = None
        if ph.may_be_paid(item):
            confidence = Confidence.LOW
            message += (
                " (low confidence: something computed from this data is written into the "
                "artifact, and pgolf cannot tell whether this use reads only that)"
            )
        if _fits_a_scalar(ph):
            # Accepted practice: records fitted a temperature on training tokens after the
            # artifact was written, and the organizers accepted them.
            severity = Severity.WARNING
            message += (
                "; it only feeds a search over candidate values (a temperature or another "
                "scalar fitted on training tokens), with no weight update or table fill: the "
                "organizers accepted such scalars, so a human must judge whether this one is"
            )
        return Hit(item.line, message, item.gate, _unique(evidence), confidence, severity)


class StopWithoutWallclock(Rule):
    """
    ## What it does
    Looks at the training loop — the outermost loop around a backward pass on training data,
    the last one before the artifact is written — and warns when nothing inside it compares
    the wall clock with a cap: no `if`/`while` test that reads `time.perf_counter()`,
    `time.time()` or `time.monotonic()` (directly, through a helper, or through a flag that is
    all-reduced across ranks) and leaves the loop or sets a stop flag. Such a loop stops on a
    step count (`for step in range(ITERATIONS)`, `if step >= FORCE_STOP_STEP: break`). A clock
    test that is false with the defaults (`MAX_WALLCLOCK_SECONDS` defaulting to 0) or sits
    behind a switch that is off does not count.

    When the loop does stop on the clock, it also reports, as an error, training data read
    after the loop and before the artifact is written (GPTQ calibration batches from the
    training shards) while the cap keeps no reserve for that work: no `*_RESERVE_SECONDS`-style
    amount subtracted from the cap, or one that is 0 with the defaults. Behind a switch that is
    off by default (`SKIP_GPTQ=1`), it is a warning. A training loop with no clock test that
    runs after another one that stops on the clock (polish steps once the cap has ended the
    main loop) is an error too when that cap keeps no reserve: it trains past the budget.

    ## Why is this bad?
    Training is limited to 600 s on 8xH100. A step count tuned on one machine runs past the
    cap on a slower one, and the logs then show a stop that is not `stopping_early:
    wallclock_cap`. Work on training data after the clock stops (Hessians for GPTQ) is still
    training and counts against the same 600 s, so the cap has to leave room for it.

    ## Example
    ```python
    for step in range(args.iterations):
        x, y = loader.next_batch(args.train_batch_tokens, args.train_seq_len)
        model(x, y).backward()
        opt.step()
    ```

    ## Use instead
    Check `elapsed >= MAX_WALLCLOCK_SECONDS * 1000` after every step (all-reduce the stop flag
    so every rank stops at the same step) and print `stopping_early: wallclock_cap`. When
    training data is used after the loop, stop at `MAX_WALLCLOCK_SECONDS -
    GPTQ_RESERVE_SECONDS` with a reserve that covers that work.

    ## Known problems
    Any `if` on a clock reading that breaks, returns, raises or sets a flag counts as the
    stop. A reserve is
    recognised by a name, attribute or environment key containing "reserve" that is subtracted
    somewhere in the function holding the clock test, the functions it calls, or a global or
    attribute assignment; pgolf does not check that it is the cap the loop compares with, nor
    that it is long enough. A test that only re-arms a timestamp (`if now - last_log > 30:
    last_log = now`) throttles and is not a stop. A cap whose default depends on the GPU count
    (`600 if WORLD_SIZE < 8 else 0`) is taken as set, though on the official 8-GPU run it may
    be off. Training loops reached only through lambdas, or through callbacks handed to a method or
    a library, are not seen. A loop that trains on random tokens after the artifact (the compile
    warm-up of test-time training) is not the training loop; one that does so before it is taken
    for it.

    ## Ruling
    The challenge README's 10-minute limit: training stops on the wallclock check,
    not a fixed step count (`FORCE_STOP_STEP`); work on training data after the cap (GPTQ
    calibration batches) needs a `GPTQ_RESERVE_SECONDS`-style reserve that keeps it inside
    600 s. The records checklist counts post-training work on training data against the
    training budget; PRs #593 and #609 were rejected or flagged for GPTQ calibration on
    training data after the cap, hence an error (the step-count stop stays a warning).
    """

    id = "PG403"
    name = "stop-without-wallclock"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    summary = (
        "Training stops on a step count, or reads training data after the cap with no reserve."
    )
    run_only = True
    VALID: ClassVar[tuple[Example, ...]] = pg403.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg403.INVALID

    @staticmethod
    def _after_a_capped_loop(ph: Phases, region: Region) -> Hit | None:
        """An error when ``region``, a training loop with no clock test, runs after another
        training loop on the same path that stops on the clock with no reserve: the cap ends
        that loop, and this one goes on training past the 600 s budget."""
        facts = ph.facts
        for earlier in reversed(ph.regions):
            if earlier.end >= region.start or ph.exclusive(earlier.first, region.first):
                continue
            stops, _ = ph.clock_stops(earlier)
            if not stops:
                continue
            amount, zero = ph.reserve(stops)
            if amount is not None and not zero:
                return None  # time kept back for the work after the cap: a step count there
            evidence = [
                facts.evidence(stops[0].line, "the wallclock stop"),
                facts.evidence(region.line, "training goes on after it"),
            ]
            evidence += [facts.evidence(b.line, "the training step") for b in region.backwards[:1]]
            return Hit(
                region.line,
                "training goes on after the loop that stopped on the wallclock cap: this loop "
                "trains for a step count past the 600 s training budget, and the cap keeps no "
                "reserve for it — train inside the capped loop, or subtract a "
                "reserve from the cap that covers these steps",
                region.gate,
                _unique(evidence),
                severity=Severity.ERROR,
            )
        return None

    def check(self, facts: Facts) -> Iterator[Hit]:
        ph = facts.analysis(Phases)
        if ph.main is None:
            return
        unbounded = False
        for region in ph.final_regions():
            effective, dormant = ph.clock_stops(region)
            if effective:
                continue
            unbounded = True
            past_cap = self._after_a_capped_loop(ph, region)
            if past_cap is not None:
                yield past_cap
                continue
            message = (
                "the training loop stops on a step count: no test in it compares the wall "
                "clock with the 600 s cap"
            )
            evidence = [facts.evidence(region.line, "the training loop")]
            evidence += [facts.evidence(b.line, "the training step") for b in region.backwards[:1]]
            if dormant:
                message += " (its clock test is off with the default settings)"
                evidence.append(facts.evidence(dormant[0].line, "a clock test that is off"))
            yield Hit(region.line, message, region.gate, _unique(evidence))
        if unbounded:
            return  # without a cap, a reserve taken off it means nothing
        effective, _ = ph.clock_stops(ph.main)
        late = [item for item in ph.train_reads() if not ph.at_eval(item)]
        if not late:
            return
        amount, zero = ph.reserve(effective)
        if amount is not None and not zero:
            return
        first = late[0]
        use = first.event
        assert isinstance(use, TrainUse)
        why = (
            f"the reserve `{code_of(amount)}` is 0 by default"
            if amount is not None
            else "the cap keeps no reserve for it"
        )
        evidence = [
            facts.evidence(effective[0].line, "the wallclock stop"),
            facts.evidence(first.line, "training data is used after the loop"),
        ]
        yield Hit(
            first.line,
            f"training data ({_shown(use.names)}) is used after the training loop stopped on "
            f"the wallclock cap and before the artifact is written, but {why}: this work "
            "runs past the 600 s training budget — subtract a GPTQ_RESERVE_SECONDS-style "
            "reserve from the cap",
            first.gate,
            _unique(evidence),
            # Submissions calibrating on training data past the cap were rejected (#593,
            # #609); a step-count stop is only a warning, this is an error.
            severity=Severity.ERROR,
        )
