"""Reading train logs: the lines the template prints, and the record logs of the same lineage.

The parser works line by line. :class:`LogReader` takes one line at a time (the runner feeds it
while training streams) and turns each recognised line into an event; :func:`parse_log` runs a
reader over a whole file and returns the facts of its last run as a :class:`ParsedLog`.

What is recognised is the catalogue of the challenge's logs (the baseline lineage and the "new"
script's lines, with an optional unix-timestamp prefix). A line that does not match is ignored,
so a log cut short, or one with extra prints, still yields what it has. Which line is the score
follows the pipeline contract: the last evaluation family that is present among test-time
training, sliding window and roundtrip, preferring the full-precision ``_exact`` twin;
pre-quantization evaluations never count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar

Family = Literal["roundtrip", "sliding", "ttt", "prequant"]
_T = TypeVar("_T")

#: The families that can be the score, from the one that wins to the one that loses.
SCORE_PRIORITY: tuple[Family, ...] = ("ttt", "sliding", "roundtrip")

# One record's logs prefix every line with a unix timestamp and a space.
_TIMESTAMP = re.compile(r"^\d{9,}\.\d+ ")
_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"

_RUN_START = re.compile(
    r"^(?:pgolf_template:|Hyperparameters:\s*$|val_bpb:enabled\b|activation(?:_type)?=)"
)
_TEMPLATE = re.compile(r"^pgolf_template:\s*(?P<version>\S+)")
_VERSIONS = re.compile(
    r"^python:\s*(?P<python>\S+)\s+torch:\s*(?P<torch>\S+)\s+cuda:\s*(?P<cuda>\S+)"
    r"\s+device:\s*(?P<device>.+?)\s+world_size:\s*(?P<world_size>\d+)\s*$"
)
_COMMAND = re.compile(r"^command:\s?(?P<command>.*)$")
_CODE_SHA = re.compile(r"^code_sha256:\s*(?P<sha>[0-9a-fA-F]{64})\s*$")
_HYPER_HEADER = re.compile(r"^Hyperparameters:\s*$")
_HYPER_ITEM = re.compile(r"^ {2}(?P<key>\w+):\s?(?P<value>.*)$")
_SEED = re.compile(r"^\s{0,2}seed[:=]\s*(?P<seed>\d+)\s*$")
_DATA = re.compile(r"^data:\s+(?P<fields>\w+:\S+(?:\s+\w+:\S+)*)\s*$")
# Train steps: "step:N/M train_loss:X ..." (baseline) and "N/M train_loss: X ..." (new script).
_STEP_TRAIN = re.compile(
    rf"^(?:step:)?(?P<step>\d+)/(?P<total>\d+)\s+train_loss:\s*(?P<loss>{_NUMBER})(?P<rest>.*)$"
)
_STEP_VAL = re.compile(
    rf"^(?:step:)?(?P<step>\d+)/(?P<total>\d+)\s+val_loss:\s*(?P<loss>{_NUMBER})"
    rf"\s+val_bpb:\s*(?P<bpb>{_NUMBER})(?P<rest>.*)$"
)
_TRAIN_TIME = re.compile(r"\btrain_time:\s*(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|s|m)\b")
_STEP_AVG = re.compile(r"\bstep_avg:\s*(?P<ms>\d+(?:\.\d+)?)ms")
_TOKENS_PER_S = re.compile(r"\b(?:tok_s|tok/s):\s*(?P<rate>\d+(?:\.\d+)?)")
_STOP = re.compile(
    r"^stopping_early:\s*(?P<reason>\w+)\s+train_time:\s*(?P<ms>\d+)ms"
    r"(?:\s+step:\s*(?P<step>\d+)/(?P<total>\d+))?"
)
_PEAK_MEMORY = re.compile(
    r"^peak memory(?: allocated)?:\s*(?P<alloc>\d+) MiB(?: reserved:\s*(?P<reserved>\d+) MiB)?"
)
_CODE_SIZE = re.compile(r"^Code size(?P<kind> \((?:un)?compressed\))?:\s*(?P<n>\d+) bytes")
_MODEL_SIZE = re.compile(r"^Serialized model (?P<tag>\S+):\s*(?P<n>\d+) bytes")
_TOTAL_SIZE = re.compile(r"^Total submission size(?: (?P<tag>[^:]+))?:\s*(?P<n>\d+) bytes")
_METRIC = re.compile(
    rf"^(?P<label>[A-Za-z][\w.+\-: ]*?)\s+val_loss[:=]\s*(?P<loss>{_NUMBER})"
    rf"\s+(?:sliding\s+)?val_bpb[:=]\s*(?P<bpb>{_NUMBER})(?P<rest>.*)$"
)
_EVAL_TIME = re.compile(r"\b(?:eval_)?time:\s*(?P<ms>\d+)ms")
_TOTAL_EVAL = re.compile(r"^total_eval_time:\s*(?P<s>\d+(?:\.\d+)?)s")
_PREQUANT = re.compile(r"pre[-_]?quant|post[-_]ema|pre_ttt", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Events: what one line says
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrainStep:
    """A training-progress line."""

    step: int
    total: int
    train_loss: float
    train_time_ms: float | None
    step_avg_ms: float | None
    tokens_per_s: float | None


@dataclass(frozen=True, slots=True)
class ValStep:
    """A validation line printed during training (pre-quantization, never a score)."""

    step: int
    total: int
    val_loss: float
    val_bpb: float
    train_time_ms: float | None
    step_avg_ms: float | None


@dataclass(frozen=True, slots=True)
class StopEarly:
    """The line a script prints when a limit ended training before the last iteration."""

    reason: str
    train_time_ms: float
    step: int | None
    total: int | None


@dataclass(frozen=True, slots=True)
class ScoreLine:
    """A final evaluation line: ``<label> val_loss:X val_bpb:Y ...``."""

    label: str
    family: Family
    val_loss: float
    val_bpb: float
    eval_time_ms: float | None
    exact: bool
    """The label ends in ``_exact``: the same evaluation printed at full precision."""
    text: str


@dataclass(frozen=True, slots=True)
class SizeLine:
    """One of the byte counts printed at export."""

    kind: Literal["code", "model", "total"]
    bytes: int
    tag: str | None


@dataclass(frozen=True, slots=True)
class OtherFact:
    """A header, hyperparameter, data or timing line; the reader folds it into the log."""

    line: str


Event = TrainStep | ValStep | StopEarly | ScoreLine | SizeLine | OtherFact


# --------------------------------------------------------------------------------------------
# The facts of a run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    """What the template prints before training."""

    template_version: str | None = None
    python: str | None = None
    torch: str | None = None
    cuda: str | None = None
    device: str | None = None
    world_size: int | None = None
    command: str | None = None
    code_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """The score of a run, taken from one evaluation (and its ``_exact`` twin when printed)."""

    family: Family
    label: str
    val_loss: float
    val_bpb: float
    eval_time_ms: float | None
    text: str
    """The line the value was read from, without a timestamp prefix."""


@dataclass(frozen=True, slots=True)
class ParsedLog:
    """The facts of the last run in a train log. A field the log does not state is None."""

    header: Header = field(default_factory=Header)
    hyperparameters: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    data: dict[str, int] = field(default_factory=dict)
    """The ``data:`` fingerprint: train_shards, val_shards, train_tokens, val_tokens, val_bytes."""
    steps: int | None = None
    total_steps: int | None = None
    train_time_ms: float | None = None
    step_avg_ms: float | None = None
    step_avg_derived: bool = False
    """True when no line printed the step average and it was computed as train time / steps."""
    stop_reason: str | None = None
    """``wallclock_cap`` (or another reason the script printed), ``iterations`` when the run
    reached its last step, None when the log does not show how training ended."""
    last_train_loss: float | None = None
    last_val_bpb: float | None = None
    peak_memory_allocated_mib: int | None = None
    peak_memory_reserved_mib: int | None = None
    code_bytes: int | None = None
    model_bytes: int | None = None
    model_tag: str | None = None
    total_bytes: int | None = None
    total_tag: str | None = None
    eval_time_ms: float | None = None
    """The whole evaluation phase (``total_eval_time``), or the score line's own time."""
    scores: tuple[ScoreLine, ...] = ()
    """Every final evaluation line, in order, including pre-quantization ones."""

    @property
    def score(self) -> Score | None:
        return select_score(self.scores)


def select_score(lines: Iterable[ScoreLine]) -> Score | None:
    """The score among ``lines``: the winning family's last evaluation, at full precision.

    Within a family the last rounded line and its ``_exact`` twin (if any) describe one
    evaluation; the value comes from the twin and the eval time from the rounded line, which is
    the one that prints it.
    """
    candidates = [line for line in lines if line.family != "prequant"]
    for family in SCORE_PRIORITY:
        in_family = [line for line in candidates if line.family == family]
        if not in_family:
            continue
        last = in_family[-1]
        base_label = last.label.removesuffix("_exact")
        twins = [line for line in in_family if line.label.removesuffix("_exact") == base_label]
        exact = next((line for line in reversed(twins) if line.exact), None)
        rounded = next((line for line in reversed(twins) if not line.exact), None)
        chosen = exact or last
        eval_time = chosen.eval_time_ms
        if eval_time is None and rounded is not None:
            eval_time = rounded.eval_time_ms
        return Score(
            family=family,
            label=chosen.label,
            val_loss=chosen.val_loss,
            val_bpb=chosen.val_bpb,
            eval_time_ms=eval_time,
            text=chosen.text,
        )
    return None


def parse_log(text: str) -> ParsedLog:
    """The facts of the last run in ``text``.

    A final line without a newline is read like any other; a line cut in the middle of a number
    cannot be told from a complete one, which is why the runner only feeds whole lines.
    """
    reader = LogReader()
    for line in text.splitlines():
        reader.feed(line)
    return reader.result()


class LogReader:
    """Turns lines into events and accumulates the facts of the current run.

    A line that starts a run (the template banner, ``Hyperparameters:``, ...) after the current
    run has produced training or export facts starts a new run, so a log with several runs in
    it is read from its last one.
    """

    def __init__(self) -> None:
        self._log = ParsedLog()
        self._hyperparameters: dict[str, str] = {}
        self._has_progress = False
        self._in_hyperparameters = False

    def feed(self, raw_line: str) -> Event | None:
        """Read one line (with or without its newline); return what it said, if anything."""
        line = _TIMESTAMP.sub("", raw_line.rstrip("\r\n"))
        if _RUN_START.match(line) and self._has_progress:
            self._log = ParsedLog()
            self._hyperparameters = {}
            self._has_progress = False
            self._in_hyperparameters = False

        if self._in_hyperparameters:
            item = _HYPER_ITEM.match(line)
            if item:
                self._add_hyperparameter(item["key"], item["value"].strip())
                return OtherFact(line)
            self._in_hyperparameters = False
        if _HYPER_HEADER.match(line):
            self._in_hyperparameters = True
            return OtherFact(line)

        event = _classify(line)
        if event is None:
            return None
        self._apply(event, line)
        return event

    def result(self) -> ParsedLog:
        """The facts read so far (the reader can go on reading after this)."""
        log = replace(self._log, hyperparameters=dict(self._hyperparameters))
        if log.step_avg_ms is None and log.train_time_ms is not None and log.steps:
            log = replace(log, step_avg_ms=log.train_time_ms / log.steps, step_avg_derived=True)
        if log.stop_reason is None and log.steps is not None and log.steps == log.total_steps:
            log = replace(log, stop_reason="iterations")
        if log.eval_time_ms is None:
            score = log.score
            if score is not None and score.eval_time_ms is not None:
                log = replace(log, eval_time_ms=score.eval_time_ms)
        return log

    # ----------------------------------------------------------------------------------------

    def _add_hyperparameter(self, key: str, value: str) -> None:
        self._hyperparameters[key] = value
        if key == "seed" and value.isdigit():
            self._log = replace(self._log, seed=int(value))

    def _apply(self, event: Event, line: str) -> None:
        log = self._log
        if isinstance(event, TrainStep):
            self._has_progress = True
            log = replace(
                log,
                steps=event.step,
                total_steps=event.total,
                last_train_loss=event.train_loss,
                train_time_ms=_first(event.train_time_ms, log.train_time_ms),
                step_avg_ms=_first(event.step_avg_ms, log.step_avg_ms),
            )
        elif isinstance(event, ValStep):
            self._has_progress = True
            log = replace(
                log,
                steps=event.step,
                total_steps=event.total,
                last_val_bpb=event.val_bpb,
                train_time_ms=_first(event.train_time_ms, log.train_time_ms),
                step_avg_ms=_first(event.step_avg_ms, log.step_avg_ms),
            )
        elif isinstance(event, StopEarly):
            self._has_progress = True
            log = replace(
                log,
                stop_reason=event.reason,
                train_time_ms=event.train_time_ms,
                steps=_first(event.step, log.steps),
                total_steps=_first(event.total, log.total_steps),
            )
        elif isinstance(event, ScoreLine):
            self._has_progress = True
            log = replace(log, scores=(*log.scores, event))
        elif isinstance(event, SizeLine):
            self._has_progress = True
            if event.kind == "code":
                log = replace(log, code_bytes=event.bytes)
            elif event.kind == "model":
                log = replace(log, model_bytes=event.bytes, model_tag=event.tag)
            else:
                log = replace(log, total_bytes=event.bytes, total_tag=event.tag)
        else:
            log = _apply_other(log, line)
        self._log = log


def _first(new: _T | None, old: _T | None) -> _T | None:
    return new if new is not None else old


def _classify(line: str) -> Event | None:
    # Order matters: a validation step line also matches the generic METRIC pattern.
    if match := _STEP_TRAIN.match(line):
        rest = match["rest"]
        rate = _TOKENS_PER_S.search(rest)
        return TrainStep(
            step=int(match["step"]),
            total=int(match["total"]),
            train_loss=float(match["loss"]),
            train_time_ms=_train_time_ms(rest),
            step_avg_ms=_step_avg(rest),
            tokens_per_s=float(rate["rate"]) if rate else None,
        )
    if match := _STEP_VAL.match(line):
        rest = match["rest"]
        return ValStep(
            step=int(match["step"]),
            total=int(match["total"]),
            val_loss=float(match["loss"]),
            val_bpb=float(match["bpb"]),
            train_time_ms=_train_time_ms(rest),
            step_avg_ms=_step_avg(rest),
        )
    if match := _STOP.match(line):
        return StopEarly(
            reason=match["reason"],
            train_time_ms=float(match["ms"]),
            step=int(match["step"]) if match["step"] else None,
            total=int(match["total"]) if match["total"] else None,
        )
    if match := _CODE_SIZE.match(line):
        # A script that prints both code sizes counts the compressed one; ignore the other.
        if match["kind"] == " (uncompressed)":
            return OtherFact(line)
        return SizeLine("code", int(match["n"]), None)
    if match := _MODEL_SIZE.match(line):
        return SizeLine("model", int(match["n"]), match["tag"])
    if match := _TOTAL_SIZE.match(line):
        tag = match["tag"].strip() if match["tag"] else None
        return SizeLine("total", int(match["n"]), tag or None)
    if (match := _METRIC.match(line)) and not re.match(r"^(?:step:|\d)", match["label"]):
        label = match["label"].strip()
        eval_time = _EVAL_TIME.search(match["rest"])
        return ScoreLine(
            label=label,
            family=_family(label),
            val_loss=float(match["loss"]),
            val_bpb=float(match["bpb"]),
            eval_time_ms=float(eval_time["ms"]) if eval_time else None,
            exact=label.endswith("_exact"),
            text=line,
        )
    if any(
        pattern.match(line)
        for pattern in (_TEMPLATE, _VERSIONS, _COMMAND, _CODE_SHA, _SEED, _DATA, _PEAK_MEMORY)
    ) or _TOTAL_EVAL.match(line):
        return OtherFact(line)
    return None


def _apply_other(log: ParsedLog, line: str) -> ParsedLog:
    header = log.header
    if match := _TEMPLATE.match(line):
        return replace(log, header=replace(header, template_version=match["version"]))
    if match := _VERSIONS.match(line):
        return replace(
            log,
            header=replace(
                header,
                python=match["python"],
                torch=match["torch"],
                cuda=match["cuda"],
                device=match["device"],
                world_size=int(match["world_size"]),
            ),
        )
    if match := _COMMAND.match(line):
        return replace(log, header=replace(header, command=match["command"]))
    if match := _CODE_SHA.match(line):
        return replace(log, header=replace(header, code_sha256=match["sha"].lower()))
    if match := _SEED.match(line):
        return replace(log, seed=int(match["seed"]))
    if match := _DATA.match(line):
        fields: dict[str, int] = {}
        for item in match["fields"].split():
            key, _, value = item.partition(":")
            if value.isdigit():
                fields[key] = int(value)
        return replace(log, data=fields)
    if match := _PEAK_MEMORY.match(line):
        reserved = match["reserved"]
        return replace(
            log,
            peak_memory_allocated_mib=int(match["alloc"]),
            peak_memory_reserved_mib=int(reserved) if reserved else None,
        )
    if match := _TOTAL_EVAL.match(line):
        return replace(log, eval_time_ms=float(match["s"]) * 1000.0)
    return log


def _family(label: str) -> Family:
    if _PREQUANT.search(label):
        return "prequant"
    lowered = label.lower()
    if "ttt" in lowered:
        return "ttt"
    if "sliding" in lowered:
        return "sliding"
    return "roundtrip"


def _train_time_ms(rest: str) -> float | None:
    match = _TRAIN_TIME.search(rest)
    if match is None:
        return None
    scale = {"ms": 1.0, "s": 1000.0, "m": 60_000.0}[match["unit"]]
    return float(match["value"]) * scale


def _step_avg(rest: str) -> float | None:
    match = _STEP_AVG.search(rest)
    return float(match["ms"]) if match else None
