"""Reading train logs: the template's, and the challenge records' of every era.

The parser works line by line. :class:`LogReader` takes one line at a time (the runner feeds it
while training streams) and turns each recognised line into an event; :func:`parse_log` runs a
reader over a whole text and :func:`read_log` over a file. Both return the facts of the log's
last run as a :class:`ParsedLog`.

What is recognised is the catalogue of the challenge's logs (docs/challenge.md, "Train logs and
the score"): the baseline lineage, the "new" script (with or without a unix-timestamp prefix
on every line) and the custom non-record scripts, plus the template's header. A line that does
not match is ignored, so a log cut short, or one with extra prints, still yields what it has.
Indented lines are never read outside a hyperparameter dump, which keeps the source code many
logs embed from being taken for output.

The score is the challenge's: the lowest ``val_bpb`` among the post-quantization final
evaluations (roundtrip, sliding window, test-time training), read from the line with the most
decimals among those within rounding distance of it (the ``_exact`` twin). Pre-quantization
evaluations never count.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from pgolf_cli.errors import PgolfInputError

Family = Literal["roundtrip", "sliding", "ttt", "prequant"]

_T = TypeVar("_T")

#: The evaluation families whose lines can be the score.
SCORE_FAMILIES: frozenset[Family] = frozenset({"ttt", "sliding", "roundtrip"})

# One record's logs prefix every line with a unix timestamp and one space; the indentation of a
# hyperparameter dump comes after that space, so only the one space is removed.
_TIMESTAMP = re.compile(r"^\d{9,}\.\d+ ")
# Losses print as `nan` / `inf` when training diverges; those lines must still be read.
_NUMBER = r"(?:[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?(?i:nan|inf(?:inity)?))"

_RUN_START = re.compile(
    r"^(?:pgolf_template:|Hyperparameters:\s*$|val_bpb:enabled\b|activation(?:_type)?=)"
)
_RUN_START_PREFIXES = ("pgolf_template:", "Hyperparameters:", "val_bpb:enabled", "activation")
# Lines that may carry a header, memory, data or timing fact (the patterns below decide).
_OTHER_PREFIXES = (
    "peak memory",
    "total_eval_time:",
    "data:",
    "val_loader:",
    "val_tokens:",
    "train_loader:",
    "train_shards:",
    "pgolf_template:",
    "python:",
    "command:",
    "code_sha256:",
    "Python ",
    "PyTorch ",
    "Running Py",
)
_TEMPLATE = re.compile(r"^pgolf_template:\s*(?P<version>\S+)")
_VERSIONS = re.compile(
    r"^python:\s*(?P<python>\S+)\s+torch:\s*(?P<torch>\S+)\s+cuda:\s*(?P<cuda>\S+)"
    r"\s+device:\s*(?P<device>.+?)\s+world_size:\s*(?P<world_size>\d+)\s*$"
)
# "Running Python 3.12.3 (main, ...)" (records) and "Python 3.13.12 | packaged ..." (custom).
_PYTHON = re.compile(r"^(?:Running )?Python (?P<version>\d+\.\d+\.\d+\S*)")
_TORCH = re.compile(r"^(?:Running )?PyTorch (?P<version>\d+\.\d+\S*)")
_COMMAND = re.compile(r"^command:\s?(?P<command>.*)$")
_CODE_SHA = re.compile(r"^code_sha256:\s*(?P<sha>[0-9a-fA-F]{64})\s*$")
_HYPER_HEADER = re.compile(r"^Hyperparameters:\s*$")
_HYPER_ITEM = re.compile(r"^ {2}(?P<key>\w+):\s?(?P<value>.*)$")
_KEY_VALUE = re.compile(r"(?P<key>\w+)=(?P<value>\S*)")
_SEED = re.compile(r"^seed[:=]\s*(?P<seed>\d+)\s*$")
_DATA = re.compile(r"^data:\s+(?P<fields>\w+:\S+(?:\s+\w+:\S+)*)\s*$")
# The same facts as the template's `data:` line, as the challenge's scripts print them.
_VAL_LOADER = re.compile(r"^val_loader:.*\btokens:(?P<n>\d+)")
_VAL_TOKENS = re.compile(r"^val_tokens:\s*(?P<n>\d+)\s*$")
_TRAIN_SHARDS = re.compile(r"^(?:train_loader:\S*\s+)?train_shards:\s*(?P<n>\d+)")

# "step:N/M ..." (baseline, custom scripts) and "N/M ..." (new script).
_STEP = re.compile(r"^(?:step:)?(?P<step>\d+)/(?P<total>\d+)\s+(?P<rest>.*)$")
_STEP_TRAIN = re.compile(rf"^(?:train_)?loss:\s*(?P<loss>{_NUMBER})")
_STEP_VAL = re.compile(rf"^val_loss:\s*(?P<loss>{_NUMBER})\s+val_bpb:\s*(?P<bpb>{_NUMBER})")
_TRAIN_TIME = re.compile(r"\b(?:train_time|t):\s*(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|s|m)\b")
_STEP_AVG = re.compile(r"\b(?:step_)?avg:\s*(?P<ms>\d+(?:\.\d+)?)ms")
_TOKENS_PER_S = re.compile(r"\b(?:tok_s|tok/s):\s*(?P<rate>\d+(?:\.\d+)?)")
_STOP = re.compile(
    r"^stopping_early:\s*(?P<reason>\w+)\s+train_time:\s*(?P<ms>\d+)ms"
    r"(?:\s+step:\s*(?P<step>\d+)/(?P<total>\d+))?"
)
_PEAK_MEMORY = re.compile(
    r"^peak memory(?: allocated)?:\s*(?P<alloc>\d+) MiB(?: reserved:\s*(?P<reserved>\d+) MiB)?"
)
_CODE_SIZE = re.compile(r"^Code size(?: \((?P<kind>(?:un)?compressed)\))?:\s*(?P<n>\d+) bytes")
_CODE_ALT = re.compile(r"^artifact:.*\bcode:(?P<n>\d+)\s*$|\| Code: (?P<n2>\d+) bytes")
_MODEL_SIZE = re.compile(
    r"^Serialized model (?P<tag>\S+):\s*(?P<n>\d+) bytes|^(?P<tag2>INT\d+\+\w+) model: (?P<n2>\d+) bytes"
)
_TOTAL_SIZE = re.compile(r"^Total submission size(?: (?P<tag>[^:]+))?:\s*(?P<n>\d+) bytes")
_TOTAL_ALT = re.compile(r"Total submission:\s*(?P<n>\d+) bytes|^budget:(?P<n2>\d+)/\d+")
_METRIC = re.compile(
    rf"^(?P<label>[A-Za-z][\w.+\-: ]*?)\s+val_loss[:=]\s*(?P<loss>{_NUMBER})"
    rf"\s+(?:sliding\s+)?val_bpb[:=]\s*(?P<bpb>{_NUMBER})(?P<rest>.*)$"
)
_EVAL_TIME = re.compile(r"\b(?:eval_)?time:\s*(?P<ms>\d+)ms")
_ELAPSED = re.compile(r"\belapsed=(?P<s>\d+(?:\.\d+)?)s")
_TOTAL_EVAL = re.compile(r"^total_eval_time:\s*(?P<s>\d+(?:\.\d+)?)s")
_DECIMALS = re.compile(r"\.(\d+)")
_OTHER_PATTERNS = (
    _PEAK_MEMORY,
    _TOTAL_EVAL,
    _DATA,
    _VAL_LOADER,
    _VAL_TOKENS,
    _TRAIN_SHARDS,
    _TEMPLATE,
    _VERSIONS,
    _COMMAND,
    _CODE_SHA,
    _PYTHON,
    _TORCH,
)
_PREQUANT = re.compile(r"pre[-_]?quant|post[-_]ema|pre_ttt", re.IGNORECASE)

# File names that carry a seed: train_seed42.log, seed_0.log, log_10mins_seed-7.txt,
# ..._s1337.txt, logs/train2.txt, ternary_log_42.txt.
_FILE_SEED = (
    re.compile(r"seed[_-]?(\d+)", re.IGNORECASE),
    re.compile(r"_s(\d+)(?:\D|$)"),
    re.compile(r"^train(\d+)\.txt$"),
    re.compile(r"_log_(\d+)\.txt$"),
)


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
    decimals: int = 0
    """Digits after the decimal point in the printed ``val_bpb``."""
    line: int = 0
    """1-based line number in the log (0 when the reader was not counting)."""


@dataclass(frozen=True, slots=True)
class SizeLine:
    """One of the byte counts printed at export."""

    kind: Literal["code", "model", "total"]
    bytes: int
    tag: str | None
    alternative: bool = False
    """A custom script's form (``budget:N/...``, ``artifact: ... code:N``); the standard line
    wins when a run prints both."""


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
    """What a script prints about itself and its environment before training."""

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
    """The score of a run, taken from one evaluation line (and its rounded twin's eval time)."""

    family: Family
    label: str
    val_loss: float
    val_bpb: float
    eval_time_ms: float | None
    text: str
    """The line the value was read from, without a timestamp prefix."""
    decimals: int = 0
    """Digits after the decimal point of ``val_bpb`` as printed (8 on an ``_exact`` line)."""
    line: int = 0
    """1-based line number of :attr:`text` in the log, for evidence."""


@dataclass(frozen=True, slots=True)
class ParsedLog:
    """The facts of the last run in a train log. A field the log does not state is None."""

    header: Header = field(default_factory=Header)
    hyperparameters: dict[str, str] = field(default_factory=dict)
    """The ``Hyperparameters:`` dump (``  key: value``) or a one-line ``key=value`` dump."""
    seed: int | None = None
    """The seed the log prints, else the one in the file name."""
    seed_in_log: int | None = None
    seed_in_file_name: int | None = None
    seed_disagrees: bool = False
    """Both seeds are known and differ (a log renamed, or a run that ignored its seed)."""
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
    """The counted code size: the compressed figure when the script prints both."""
    code_bytes_uncompressed: int | None = None
    model_bytes: int | None = None
    model_tag: str | None = None
    total_bytes: int | None = None
    """The artifact size: the last ``Total submission size`` line of the run (a custom script's
    budget line when there is none)."""
    total_tag: str | None = None
    eval_time_ms: float | None = None
    """The whole evaluation phase (``total_eval_time``), or the score line's own time."""
    scores: tuple[ScoreLine, ...] = ()
    """Every final evaluation line of the run, in order, including pre-quantization ones."""
    nonfinite_loss_lines: tuple[int, ...] = ()
    """Line numbers of training, validation or evaluation lines with a NaN or infinite value."""
    run_start_line: int | None = None
    """Line number where the last run starts; None when no line marks a run start."""
    file_name: str | None = None
    sha256: str | None = None
    """Of the file's bytes (set by :func:`read_log`), to find copies of one log."""

    @property
    def score(self) -> Score | None:
        return select_score(self.scores)

    @property
    def has_nonfinite_loss(self) -> bool:
        return bool(self.nonfinite_loss_lines)


def select_score(lines: Iterable[ScoreLine]) -> Score | None:
    """The score among ``lines``: the lowest post-quantization ``val_bpb`` at full precision.

    Lines within rounding distance of the lowest value (half a unit in the last printed place
    of the coarser of the two) are one evaluation printed at different precisions; the one with
    the most decimals gives the value. A line without an eval time takes it from such a twin of
    the same family, preferring the one whose label differs only by ``_exact``.
    """
    candidates = [
        line for line in lines if line.family in SCORE_FAMILIES and math.isfinite(line.val_bpb)
    ]
    if not candidates:
        return None
    lowest = min(candidates, key=lambda line: line.val_bpb)
    twins = [line for line in candidates if _same_value(line, lowest)]
    # Most decimals first, then the lower value, then the earlier line: some scripts repeat the
    # sliding score under the roundtrip label afterwards, and the original names the evaluation.
    chosen = max(twins, key=lambda line: (line.decimals, -line.val_bpb, -line.line))
    eval_time = chosen.eval_time_ms
    if eval_time is None:
        base = _base_label(chosen.label)
        timed = [
            line for line in twins if line.family == chosen.family and line.eval_time_ms is not None
        ]
        if timed:
            best = max(timed, key=lambda line: (_base_label(line.label) == base, line.line))
            eval_time = best.eval_time_ms
    return Score(
        family=chosen.family,
        label=chosen.label,
        val_loss=chosen.val_loss,
        val_bpb=chosen.val_bpb,
        eval_time_ms=eval_time,
        text=chosen.text,
        decimals=chosen.decimals,
        line=chosen.line,
    )


def score_kind(label: str) -> str:
    """The evaluation a score line reports: its label without ``_exact`` (``final_sliding_window``)."""
    return _base_label(label)


def scores_by_kind(log: ParsedLog) -> dict[str, Score]:
    """The log's score per evaluation kind (:func:`select_score` over that kind's lines)."""
    kinds: dict[str, list[ScoreLine]] = {}
    for line in log.scores:
        kinds.setdefault(score_kind(line.label), []).append(line)
    found = {kind: select_score(lines) for kind, lines in kinds.items()}
    return {kind: score for kind, score in found.items() if score is not None}


def common_scores(logs: Sequence[ParsedLog]) -> tuple[Score | None, ...]:
    """One score per log, every one from the same evaluation kind.

    The seeds of one submission are one measurement, so they must be scored by one evaluation:
    the lowest line of each log alone can be the roundtrip for one seed and the sliding window
    for the next when the two are close (small CPU runs). The kind is the one every log
    prints with the lowest mean ``val_bpb`` over the logs, which is :func:`select_score`'s rule
    applied to the seeds together. When no kind is common to all logs (logs of different
    scripts), each log keeps its own :attr:`ParsedLog.score`.
    """
    per_log = [scores_by_kind(log) for log in logs]
    shared = set.intersection(*(set(kinds) for kinds in per_log)) if per_log else set()
    if not shared:
        return tuple(log.score for log in logs)
    # As in select_score: kinds whose means are within rounding of the lowest are one
    # evaluation printed twice (``ttt_sliding:done`` at 6 decimals, ``legal_ttt_exact`` at 8);
    # the one with the most decimals gives the values.
    means = {kind: statistics.fmean(kinds[kind].val_bpb for kinds in per_log) for kind in shared}
    places = {kind: min(kinds[kind].decimals for kinds in per_log) for kind in shared}
    lowest = min(sorted(shared), key=lambda kind: means[kind])
    twins = [
        kind
        for kind in sorted(shared)
        if abs(means[kind] - means[lowest])
        <= 0.5 * 10.0 ** -min(places[kind], places[lowest]) + 1e-12
    ]
    best = max(twins, key=lambda kind: (places[kind], -means[kind]))
    return tuple(kinds[best] for kinds in per_log)


def _same_value(a: ScoreLine, b: ScoreLine) -> bool:
    places = min(a.decimals, b.decimals)
    return abs(a.val_bpb - b.val_bpb) <= 0.5 * 10.0**-places + 1e-12


def _base_label(label: str) -> str:
    return label.replace("_exact", "")


def is_log_file_name(name: str) -> bool:
    """Whether a file in a records folder is a train log: ``*.log`` / ``*.txt`` but not requirements.txt."""
    lower = name.rsplit("/", 1)[-1].lower()
    return lower.endswith((".log", ".txt")) and lower != "requirements.txt"


def log_files(folder: Path) -> list[Path]:
    """The train logs directly in a records folder (``*.log`` / ``*.txt``), by name."""
    return [p for p in sorted(folder.iterdir()) if p.is_file() and is_log_file_name(p.name)]


def seed_from_file_name(name: str) -> int | None:
    """The seed a log's file name states (``train_seed42.log``, ``seed_0.log``, ...), if any."""
    for pattern in _FILE_SEED:
        if match := pattern.search(name):
            return int(match[1])
    return None


def parse_log(text: str, *, file_name: str | None = None) -> ParsedLog:
    """The facts of the last run in ``text``; ``file_name`` supplies a seed the log lacks.

    Lines end at ``\\n`` (a ``\\r`` before it is dropped), so line numbers match an editor's. A
    final line without a newline is read like any other; a line cut in the middle of a number
    cannot be told from a complete one, which is why the runner only feeds whole lines.
    """
    reader = LogReader(file_name=file_name)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        reader.feed(line)
    return reader.result()


def read_log(path: Path) -> ParsedLog:
    """Parse the log file at ``path``; its name and sha256 are recorded in the result.

    Raises :class:`PgolfInputError` when the file cannot be read, is binary, or is not UTF-8.
    """
    where = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PgolfInputError(
            where, "the log file does not exist", "Check the path and try again."
        ) from None
    except IsADirectoryError:
        raise PgolfInputError(
            where, "is a directory, not a log file", "Pass the train log inside it."
        ) from None
    except OSError as problem:
        raise PgolfInputError(
            where,
            f"the log file cannot be read ({problem.strerror or problem})",
            "Check that the file exists and is readable.",
        ) from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise PgolfInputError(
            where,
            f"is a binary file (NUL byte at offset {nul}), not a text train log",
            "Pass the text log the training script printed (e.g. train_seed42.log).",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as problem:
        line = data.count(b"\n", 0, problem.start) + 1
        raise PgolfInputError(
            where,
            f"is not UTF-8: byte 0x{data[problem.start]:02x} at offset {problem.start} "
            f"(line {line}) cannot be decoded",
            "Convert the log to UTF-8 (e.g. `iconv -f latin1 -t utf-8`) and try again.",
        ) from None
    log = parse_log(text.removeprefix("\ufeff"), file_name=path.name)
    return replace(log, sha256=hashlib.sha256(data).hexdigest())


# --------------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """The facts of one run block as they accumulate."""

    header: Header = field(default_factory=Header)
    start_line: int | None = None
    hyperparameters: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    data: dict[str, int] = field(default_factory=dict)
    steps: int | None = None
    total_steps: int | None = None
    train_time_ms: float | None = None
    step_avg_ms: float | None = None
    stop: StopEarly | None = None
    last_train_loss: float | None = None
    last_val_bpb: float | None = None
    peak_allocated: int | None = None
    peak_reserved: int | None = None
    code: int | None = None
    code_compressed: int | None = None
    code_uncompressed: int | None = None
    code_alt: int | None = None
    model: SizeLine | None = None
    total: SizeLine | None = None
    total_alt: int | None = None
    total_eval_ms: float | None = None
    scores: list[ScoreLine] = field(default_factory=list)
    nonfinite: list[int] = field(default_factory=list)


class LogReader:
    """Turns lines into events and accumulates the facts of the current run.

    A line that starts a run (the template banner, ``Hyperparameters:``, ``val_bpb:enabled``, a
    ``key=value`` config line) begins a new run block, so a log with several runs in it is read
    from its last one. Header lines printed since the previous run's last output (the versions a
    script prints before its start line) go with the new run.
    """

    def __init__(self, *, file_name: str | None = None) -> None:
        self._file_name = file_name
        self._run = _Run()
        self._pending_header = Header()
        self._line_no = 0
        self._in_hyperparameters = False
        # The runner asks for a snapshot after every line; most lines change nothing.
        self._snapshot: ParsedLog | None = None

    def feed(self, raw_line: str) -> Event | None:
        """Read one line (with or without its newline); return what it said, if anything."""
        self._line_no += 1
        line = raw_line.rstrip("\r\n")
        if "\r" in line:
            # A progress bar redraws with carriage returns; the terminal shows the last part.
            line = line.rsplit("\r", 1)[1]
        if line[:1].isdigit():
            line = _TIMESTAMP.sub("", line, count=1)
        if not line:
            self._in_hyperparameters = False
            return None

        if line[0] == " " or line[0] == "\t":
            if self._in_hyperparameters and (item := _HYPER_ITEM.match(line)):
                self._snapshot = None
                self._add_hyperparameter(item["key"], item["value"].strip())
                return OtherFact(line)
            # Indented lines are source code or a script's pretty-printing, never facts.
            return None
        self._in_hyperparameters = False

        if line.startswith(_RUN_START_PREFIXES) and _RUN_START.match(line):
            self._snapshot = None
            self._run = _Run(header=self._pending_header, start_line=self._line_no)
            if _HYPER_HEADER.match(line):
                self._in_hyperparameters = True
                return OtherFact(line)
            if line.startswith("activation"):
                for match in _KEY_VALUE.finditer(line):
                    self._add_hyperparameter(match["key"], match["value"])
                return OtherFact(line)

        events = _classify(line, self._line_no)
        if not events:
            return None
        self._snapshot = None
        for event in events:
            self._apply(event, line)
        return events[0]

    def result(self) -> ParsedLog:
        """The facts read so far (the reader can go on reading after this)."""
        if self._snapshot is None:
            self._snapshot = self._build()
        return self._snapshot

    def _build(self) -> ParsedLog:
        run = self._run
        steps, total, train_time = run.steps, run.total_steps, run.train_time_ms
        stop_reason: str | None = None
        if run.stop is not None:
            stop_reason = run.stop.reason
            train_time = run.stop.train_time_ms
            if run.stop.step is not None:
                steps, total = run.stop.step, run.stop.total
        elif steps is not None and steps == total:
            stop_reason = "iterations"
        step_avg, derived = run.step_avg_ms, False
        if step_avg is None and train_time is not None and steps:
            step_avg, derived = train_time / steps, True

        file_seed = seed_from_file_name(self._file_name) if self._file_name else None
        seed = run.seed if run.seed is not None else file_seed
        disagrees = run.seed is not None and file_seed is not None and run.seed != file_seed

        code = run.code_compressed if run.code_compressed is not None else run.code
        if code is None:
            code = run.code_alt
        total_bytes: int | None = None
        total_tag: str | None = None
        if run.total is not None:
            total_bytes, total_tag = run.total.bytes, run.total.tag
        elif run.total_alt is not None:
            total_bytes = run.total_alt
        scores = tuple(run.scores)
        eval_time = run.total_eval_ms
        if eval_time is None:
            score = select_score(scores)
            eval_time = score.eval_time_ms if score is not None else None

        return ParsedLog(
            header=run.header,
            hyperparameters=dict(run.hyperparameters),
            seed=seed,
            seed_in_log=run.seed,
            seed_in_file_name=file_seed,
            seed_disagrees=disagrees,
            data=dict(run.data),
            steps=steps,
            total_steps=total,
            train_time_ms=train_time,
            step_avg_ms=step_avg,
            step_avg_derived=derived,
            stop_reason=stop_reason,
            last_train_loss=run.last_train_loss,
            last_val_bpb=run.last_val_bpb,
            peak_memory_allocated_mib=run.peak_allocated,
            peak_memory_reserved_mib=run.peak_reserved,
            code_bytes=code,
            code_bytes_uncompressed=run.code_uncompressed,
            model_bytes=run.model.bytes if run.model else None,
            model_tag=run.model.tag if run.model else None,
            total_bytes=total_bytes,
            total_tag=total_tag,
            eval_time_ms=eval_time,
            scores=scores,
            nonfinite_loss_lines=tuple(run.nonfinite),
            run_start_line=run.start_line,
            file_name=self._file_name,
        )

    # ----------------------------------------------------------------------------------------

    def _add_hyperparameter(self, key: str, value: str) -> None:
        self._run.hyperparameters[key] = value
        if key == "seed" and value.isdigit():
            self._run.seed = int(value)

    def _set_header(self, **facts: Any) -> None:
        self._run.header = replace(self._run.header, **facts)
        self._pending_header = replace(self._pending_header, **facts)

    def _apply(self, event: Event, line: str) -> None:
        run = self._run
        if isinstance(event, OtherFact):
            self._apply_other(line)
            return
        # Output of the run: header lines from here on belong to whatever run comes next.
        self._pending_header = Header()
        if isinstance(event, TrainStep):
            run.steps, run.total_steps = event.step, event.total
            run.last_train_loss = event.train_loss
            run.train_time_ms = _first(event.train_time_ms, run.train_time_ms)
            run.step_avg_ms = _first(event.step_avg_ms, run.step_avg_ms)
            if not math.isfinite(event.train_loss):
                run.nonfinite.append(self._line_no)
        elif isinstance(event, ValStep):
            run.steps, run.total_steps = event.step, event.total
            run.last_val_bpb = event.val_bpb
            run.train_time_ms = _first(event.train_time_ms, run.train_time_ms)
            run.step_avg_ms = _first(event.step_avg_ms, run.step_avg_ms)
            if not (math.isfinite(event.val_loss) and math.isfinite(event.val_bpb)):
                run.nonfinite.append(self._line_no)
        elif isinstance(event, StopEarly):
            run.stop = event
        elif isinstance(event, ScoreLine):
            run.scores.append(event)
            if not (math.isfinite(event.val_loss) and math.isfinite(event.val_bpb)):
                run.nonfinite.append(self._line_no)
        elif event.kind == "code":
            if event.alternative:
                run.code_alt = event.bytes
            elif event.tag == "compressed":
                run.code_compressed = event.bytes
            elif event.tag == "uncompressed":
                run.code_uncompressed = event.bytes
            else:
                run.code = event.bytes
        elif event.kind == "model":
            run.model = event
        elif event.alternative:
            run.total_alt = event.bytes
        else:
            run.total = event

    def _apply_other(self, line: str) -> None:
        run = self._run
        if match := _STEP.match(line):
            # A step line with neither loss (e.g. an evolution strategy's fitness): its timing.
            rest = match["rest"]
            run.train_time_ms = _first(_train_time_ms(rest), run.train_time_ms)
            run.step_avg_ms = _first(_step_avg(rest), run.step_avg_ms)
        elif match := _SEED.match(line):
            run.seed = int(match["seed"])
        elif match := _PEAK_MEMORY.match(line):
            reserved = match["reserved"]
            run.peak_allocated = int(match["alloc"])
            run.peak_reserved = int(reserved) if reserved else None
        elif match := _TOTAL_EVAL.match(line):
            run.total_eval_ms = round(float(match["s"]) * 1000.0, 3)
        elif match := _DATA.match(line):
            fields: dict[str, int] = {}
            for item in match["fields"].split():
                key, _, value = item.partition(":")
                if value.isdigit():
                    fields[key] = int(value)
            run.data = {**run.data, **fields}  # the template's own line wins
        elif match := _VAL_LOADER.match(line) or _VAL_TOKENS.match(line):
            run.data.setdefault("val_tokens", int(match["n"]))
        elif match := _TRAIN_SHARDS.match(line):
            run.data.setdefault("train_shards", int(match["n"]))
        elif match := _TEMPLATE.match(line):
            self._set_header(template_version=match["version"])
        elif match := _VERSIONS.match(line):
            self._set_header(
                python=match["python"],
                torch=match["torch"],
                cuda=match["cuda"],
                device=match["device"],
                world_size=int(match["world_size"]),
            )
        elif match := _COMMAND.match(line):
            self._set_header(command=match["command"])
        elif match := _CODE_SHA.match(line):
            self._set_header(code_sha256=match["sha"].lower())
        elif match := _PYTHON.match(line):
            self._set_header(python=match["version"])
        elif match := _TORCH.match(line):
            self._set_header(torch=match["version"])


def _first(new: _T | None, old: _T | None) -> _T | None:
    return new if new is not None else old


def _classify(line: str, line_no: int) -> tuple[Event, ...]:
    """The events of one unindented line. Cheap prefix tests pick the patterns worth trying."""
    first = line[0]
    if first.isdigit() or line.startswith("step:"):
        match = _STEP.match(line)
        if match is not None:
            return (_step_event(match),)
    if "val_loss" in line:
        return _score_event(line, line_no)
    if first == "s":
        if match := _STOP.match(line):
            return (
                StopEarly(
                    reason=match["reason"],
                    train_time_ms=float(match["ms"]),
                    step=int(match["step"]) if match["step"] else None,
                    total=int(match["total"]) if match["total"] else None,
                ),
            )
        if _SEED.match(line):
            return (OtherFact(line),)
        return ()
    if "bytes" in line or "code:" in line or first == "b":
        sizes = _size_events(line)
        if sizes:
            return sizes
    if line.startswith(_OTHER_PREFIXES) and any(pattern.match(line) for pattern in _OTHER_PATTERNS):
        return (OtherFact(line),)
    return ()


def _step_event(match: re.Match[str]) -> Event:
    step, total, rest = int(match["step"]), int(match["total"]), match["rest"]
    if val := _STEP_VAL.match(rest):
        return ValStep(
            step=step,
            total=total,
            val_loss=float(val["loss"]),
            val_bpb=float(val["bpb"]),
            train_time_ms=_train_time_ms(rest),
            step_avg_ms=_step_avg(rest),
        )
    if train := _STEP_TRAIN.match(rest):
        rate = _TOKENS_PER_S.search(rest)
        return TrainStep(
            step=step,
            total=total,
            train_loss=float(train["loss"]),
            train_time_ms=_train_time_ms(rest),
            step_avg_ms=_step_avg(rest),
            tokens_per_s=float(rate["rate"]) if rate else None,
        )
    return OtherFact(match.string)


def _score_event(line: str, line_no: int) -> tuple[Event, ...]:
    match = _METRIC.match(line)
    if match is None or match["label"].startswith("step:"):
        return ()
    label = match["label"].strip()
    rest = match["rest"]
    eval_time_ms: float | None = None
    if timed := _EVAL_TIME.search(rest):
        eval_time_ms = float(timed["ms"])
    elif elapsed := _ELAPSED.search(rest):
        eval_time_ms = round(float(elapsed["s"]) * 1000.0, 3)
    bpb = match["bpb"]
    decimals = len(digits[1]) if (digits := _DECIMALS.search(bpb)) else 0
    return (
        ScoreLine(
            label=label,
            family=_family(label),
            val_loss=float(match["loss"]),
            val_bpb=float(bpb),
            eval_time_ms=eval_time_ms,
            exact="_exact" in label,
            text=line,
            decimals=decimals,
            line=line_no,
        ),
    )


def _size_events(line: str) -> tuple[Event, ...]:
    if match := _CODE_SIZE.match(line):
        return (SizeLine("code", int(match["n"]), match["kind"]),)
    if match := _TOTAL_SIZE.match(line):
        tag = match["tag"].strip() if match["tag"] else None
        return (SizeLine("total", int(match["n"]), tag or None),)
    events: list[Event] = []
    if match := _MODEL_SIZE.match(line):
        if match["n"] is not None:
            events.append(SizeLine("model", int(match["n"]), match["tag"]))
        else:
            events.append(SizeLine("model", int(match["n2"]), match["tag2"]))
    if match := _CODE_ALT.search(line):
        events.append(SizeLine("code", int(match["n"] or match["n2"]), None, alternative=True))
    if match := _TOTAL_ALT.search(line):
        events.append(SizeLine("total", int(match["n"] or match["n2"]), None, alternative=True))
    return tuple(events)


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
