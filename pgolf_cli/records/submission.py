"""submission.json: the strict schema pgolf writes, and a tolerant reader for the ones in the wild.

Two halves with different jobs:

* :class:`Submission` is what ``pgolf package`` writes: pydantic models with ``extra="forbid"``
  and strict types, published as a JSON Schema (:func:`schema`, ``pgolf schema``, and the
  generated file ``submission.schema.json`` next to this module). :func:`validate_strict`
  checks a dict against it.
* :func:`normalize` / :func:`load_submission` read any submission.json of the challenge's
  records (legacy key names, numbers written as strings, nulls, timestamps for dates, seeds
  given as an object, ...) into a :class:`Normalized` record that uses the strict schema's
  field names, every field optional. It never fails on content: it reports each key it
  translated (:attr:`Normalized.mapped`), each value it could not interpret
  (:attr:`Normalized.issues`) and keeps the keys it does not know verbatim
  (:attr:`Normalized.extras`). Deciding what is required is the caller's job
  (:attr:`Normalized.missing_required` lists the usual candidates).

The normalizer translates names and formats; it does not compute anything that is not
written in the file (no means or maxima over seeds, no track from the folder name): those
are checks for ``verify``, which also reads the logs.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import ErrorDetails

from pgolf_cli.errors import PgolfInputError

#: Bumped whenever a key of the written submission.json changes meaning or disappears.
SUBMISSION_SCHEMA_VERSION = 1

#: The generated JSON Schema shipped with the package (a test keeps it equal to :func:`schema`).
SCHEMA_FILE = "submission.schema.json"

Track = Literal["10min_16mb", "non_record_16mb"]
TRACKS: tuple[Track, ...] = ("10min_16mb", "non_record_16mb")

_T = TypeVar("_T")

# --------------------------------------------------------------------------------------------
# The strict schema
# --------------------------------------------------------------------------------------------

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEED_KEY = r"^(0|[1-9][0-9]*)$"


def _iso_day(value: object) -> object:
    # A strict date field takes only date objects; json carries the day as text, and only
    # the plain YYYY-MM-DD form is allowed (a timestamp is the tolerant reader's business).
    if isinstance(value, str):
        if not _DAY.fullmatch(value):
            raise ValueError(f"expected a date written YYYY-MM-DD, got {value!r}")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as error:
            raise ValueError(f"{value!r} is not a day of the calendar ({error})") from None
    return value


IsoDay = Annotated[
    dt.date,
    BeforeValidator(_iso_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": f"^{_DAY.pattern}$"}),
]
NonNegativeInt = Annotated[int, Field(ge=0)]
Bytes = Annotated[int, Field(ge=0, description="A size in bytes.")]
Seconds = Annotated[float, Field(ge=0, description="A duration in seconds.")]
Score = Annotated[float, Field(gt=0)]
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class SeedResult(_Strict):
    """One seed's run, as read from its train log."""

    val_bpb: Score = Field(description="The score of this seed's log (bits per byte).")
    val_loss: Score = Field(description="Validation loss of the score line (nats per token).")
    artifact_bytes: Bytes = Field(
        description="The logged total submission size: compressed model plus code."
    )
    bytes_model: Bytes | None = Field(description="The compressed model file; null if unknown.")
    steps: NonNegativeInt | None = Field(description="Training steps taken; null if unknown.")
    train_time_s: Seconds | None = Field(description="Training wallclock; null if unknown.")
    eval_time_s: Seconds | None = Field(
        description="Wallclock of the scoring evaluation; null if unknown."
    )
    log_file: Text = Field(description="The log's path inside the record folder.")


class AuditSummary(_Strict):
    """What `pgolf audit` found in the record's scripts."""

    files: list[Text] = Field(description="The audited files, relative to the record folder.")
    errors: NonNegativeInt
    warnings: NonNegativeInt
    notes: NonNegativeInt
    suppressed: NonNegativeInt
    rule_ids: list[Annotated[str, Field(pattern=r"^PG[0-9]{3}$")]] = Field(
        description="Sorted ids of the rules with unsuppressed findings."
    )


class Compliance(_Strict):
    """The challenge's compliance claims, each computed by pgolf rather than typed in.

    A `no_*` / `score_first_ttt` value is true when the audit found no violation of that
    rule (a script without test-time training satisfies `score_first_ttt`), and null when the
    pgolf version that wrote the file has no rule for it yet (not checked).
    """

    artifact_under_16mb: bool = Field(description="Every seed's artifact is <= 16,000,000 bytes.")
    train_under_600s: bool = Field(description="Every seed trained within 600 s.")
    eval_under_600s: bool = Field(description="Every seed's scoring evaluation took < 600 s.")
    three_seeds: bool = Field(description="At least three seeds were run.")
    score_first_ttt: bool | None
    no_pre_quant_ttt: bool | None
    no_ngram_cache: bool | None
    no_slot: bool | None
    no_etlb: bool | None
    audit: AuditSummary


class Comparison(_Strict):
    """The significance test against the baseline record (docs/challenge.md, "Significance")."""

    baseline: Text = Field(description="The baseline: a records folder or a pull request.")
    baseline_val_bpb: Score
    baseline_n_seeds: NonNegativeInt | None = Field(
        description="Seeds of the baseline; null when only its mean was known (one-sample test)."
    )
    delta_bpb: float = Field(description="This submission's val_bpb minus the baseline's.")
    delta_nats: float = Field(description="delta_bpb times nats_per_bpb (nats per token).")
    nats_per_bpb: Score = Field(description="ln 2 times bytes per token: the unit factor.")
    nats_per_bpb_source: Text = Field(description="Where nats_per_bpb came from.")
    threshold_nats: float = Field(ge=0, description="The improvement required, in nats.")
    test: Literal["welch", "one_sample"]
    t: float
    df: float = Field(gt=0)
    p: float = Field(ge=0, le=1)


class GeneratedBy(_Strict):
    tool: Literal["pgolf"]
    version: Text
    schema_version: Literal[1]


class Submission(_Strict):
    """The submission.json that `pgolf package` writes (multi-seed form).

    Beyond what the JSON Schema can say, the seeds listed must be exactly the keys of
    `seed_results`, and `bytes_total` and `artifact_bytes_max` must both be the largest
    per-seed `artifact_bytes`.
    """

    model_config = ConfigDict(
        title="pgolf submission.json",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:pgolf:submission:{SUBMISSION_SCHEMA_VERSION}",
        },
    )

    track: Track
    name: Text
    author: Text
    github_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")]
    date: IsoDay
    blurb: str
    val_bpb: Score = Field(description="The mean over seeds of the per-seed val_bpb.")
    val_loss: Score = Field(description="The mean over seeds of the per-seed val_loss.")
    val_bpb_std: Annotated[float, Field(ge=0)] | None = Field(
        description="Sample standard deviation over seeds; null with one seed."
    )
    val_loss_std: Annotated[float, Field(ge=0)] | None
    seeds: list[NonNegativeInt] = Field(min_length=1)
    seed_results: dict[Annotated[str, Field(pattern=_SEED_KEY)], SeedResult] = Field(
        min_length=1, json_schema_extra={"additionalProperties": False}
    )
    bytes_code: Bytes
    bytes_total: Bytes = Field(description="The largest per-seed artifact_bytes.")
    artifact_bytes_mean: Annotated[float, Field(ge=0)]
    artifact_bytes_max: Bytes
    hardware: Text
    python_version: Text
    pytorch_version: Text
    cuda_version: Text | None = Field(description="null on CPU.")
    software: dict[str, Text] = Field(description="Other package versions the run used.")
    compliance: Compliance
    comparison: Comparison | None = Field(description="null when there is no baseline.")
    attribution: dict[str, Text] = Field(description="Credits: technique -> who (and which PR).")
    generated_by: GeneratedBy

    @model_validator(mode="after")
    def _consistent(self) -> Submission:
        listed = sorted(self.seeds)
        if len(set(listed)) != len(listed):
            raise ValueError(f"seeds lists a seed twice: {self.seeds}")
        keyed = sorted(int(key) for key in self.seed_results)
        if listed != keyed:
            raise ValueError(f"seeds {listed} and the keys of seed_results {keyed} differ")
        largest = max(result.artifact_bytes for result in self.seed_results.values())
        for key in ("bytes_total", "artifact_bytes_max"):
            if getattr(self, key) != largest:
                raise ValueError(
                    f"{key} is {getattr(self, key)}, but the largest seed artifact_bytes is "
                    f"{largest}"
                )
        return self


def schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Submission` (draft 2020-12)."""
    return Submission.model_json_schema()


def schema_text() -> str:
    """:func:`schema` as the text of ``submission.schema.json`` (what ``pgolf schema`` prints)."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def validate_strict(data: object, *, source: str) -> Submission:
    """Check ``data`` against the schema pgolf writes; raise with every bad key on failure."""
    if not isinstance(data, dict):
        raise _not_an_object(source, data)
    try:
        return Submission.model_validate(data)
    except ValidationError as error:
        problems = [_describe(detail) for detail in error.errors(include_url=False)]
        raise PgolfInputError(
            source,
            "does not match the pgolf submission schema:\n  " + "\n  ".join(problems),
            "Regenerate it with `pgolf package`, or correct the keys listed; "
            "`pgolf schema` prints the schema",
        ) from None


def _describe(detail: ErrorDetails) -> str:
    where = ".".join(str(part) for part in detail["loc"] if part != "[key]") or "(top level)"
    kind = detail["type"]
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind == "extra_forbidden":
        return f"{where}: not a key of the schema (remove it, or check its spelling)"
    message = _EXPECTED.get(kind) or detail["msg"].removeprefix("Value error, ")
    if "[key]" in detail["loc"]:
        # Only seed_results constrains its keys.
        return f"{where}: the key {detail['input']!r} is not a seed number"
    if kind.endswith("_type") or kind in {"literal_error", "string_pattern_mismatch"}:
        return f"{where}: {message}; got {_shown(detail['input'])}"
    return f"{where}: {message}"


_EXPECTED = {
    "float_type": "expected a number",
    "int_type": "expected an integer",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected an object",
    "model_type": "expected an object",
}


def _shown(value: object) -> str:
    kind = {str: "the string", bool: "the boolean", type(None): "null"}.get(type(value))
    text = json.dumps(value, default=str)
    text = text if len(text) <= 60 else text[:57] + "..."
    if value is None:
        return "null"
    return f"{kind} {text}" if kind else text


# --------------------------------------------------------------------------------------------
# The tolerant reader
# --------------------------------------------------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KeyMapping(_Record):
    """One translation the normalizer made: the json key (a dotted path), where it went, why."""

    key: str
    to: str
    why: str


class Issue(_Record):
    """A value the normalizer could not interpret (it was left out of the record)."""

    key: str
    problem: str
    fix: str

    def message(self, source: str) -> str:
        return f"{source}: {self.key}: {self.problem}. {self.fix}"


class NormalizedSeed(_Record):
    seed: int
    val_bpb: float | None = None
    val_bpb_text: str | None = None
    """``val_bpb`` exactly as written in the json (for comparisons at the json's precision)."""
    val_loss: float | None = None
    artifact_bytes: int | None = None
    bytes_model: int | None = None
    steps: int | None = None
    train_time_s: float | None = None
    eval_time_s: float | None = None
    log_file: str | None = None
    extras: dict[str, Any] = Field(default_factory=dict)

    @property
    def val_bpb_decimals(self) -> int | None:
        return decimals(self.val_bpb_text) if self.val_bpb_text is not None else None


class NormalizedComparison(_Record):
    baseline: str | None = None
    baseline_val_bpb: float | None = None
    delta_bpb: float | None = None
    delta_nats: float | None = None
    nats_per_bpb: float | None = None
    test: str | None = None
    t: float | None = None
    df: float | None = None
    p: float | None = None
    p_is_upper_bound: bool = False
    """True when the json gave the p-value as a bound such as "<0.001"."""
    baseline_n_seeds: int | None = None
    nats_per_bpb_source: str | None = None
    threshold_nats: float | None = None


class Normalized(_Record):
    """A submission.json of any vintage, in the strict schema's vocabulary.

    Run-level ``steps`` / ``train_time_s`` / ``eval_time_s`` / ``bytes_model`` hold what a
    single-run (core form) file states about its run; per-seed values live in ``seeds``.
    """

    source: str
    form: Literal["core", "multi_seed"]
    track: Track | None = None
    name: str | None = None
    author: str | None = None
    github_id: str | None = None
    date: dt.date | None = None
    blurb: str | None = None
    val_bpb: float | None = None
    val_bpb_text: str | None = None
    """``val_bpb`` exactly as written in the json (for comparisons at the json's precision)."""
    val_loss: float | None = None
    val_bpb_std: float | None = None
    val_loss_std: float | None = None
    seeds: tuple[NormalizedSeed, ...] = ()
    bytes_total: int | None = None
    bytes_code: int | None = None
    bytes_model: int | None = None
    artifact_bytes_mean: float | None = None
    artifact_bytes_max: int | None = None
    steps: int | None = None
    train_time_s: float | None = None
    eval_time_s: float | None = None
    hardware: str | None = None
    python_version: str | None = None
    pytorch_version: str | None = None
    cuda_version: str | None = None
    software: dict[str, str] = Field(default_factory=dict)
    compliance: dict[str, bool] = Field(default_factory=dict)
    comparison: NormalizedComparison | None = None
    attribution: dict[str, str] = Field(default_factory=dict)
    extras: dict[str, Any] = Field(default_factory=dict)
    """Keys the normalizer does not interpret, verbatim (nested ones as dotted paths)."""
    mapped: tuple[KeyMapping, ...] = ()
    issues: tuple[Issue, ...] = ()

    @property
    def val_bpb_decimals(self) -> int | None:
        return decimals(self.val_bpb_text) if self.val_bpb_text is not None else None

    @property
    def seed_numbers(self) -> tuple[int, ...]:
        return tuple(entry.seed for entry in self.seeds)

    @property
    def missing_required(self) -> tuple[str, ...]:
        """The keys every submission needs that this one lacks (docs/challenge.md)."""
        wanted = ("val_bpb", "author", "github_id", "name", "date", "track")
        return tuple(key for key in wanted if getattr(self, key) is None)


class JsonFloat(float):
    """A float parsed from json that remembers how it was written (``1.2240`` keeps its 0)."""

    text: str

    def __new__(cls, text: str) -> JsonFloat:
        number = super().__new__(cls, text)
        number.text = text
        return number


def decimals(text: str) -> int:
    """Digits after the decimal point of a number as written: ``"1.2240"`` -> 4, ``"1e-3"`` -> 3."""
    mantissa, _, exponent = text.strip().lower().partition("e")
    fraction = mantissa.partition(".")[2]
    return max(len(fraction) - (int(exponent) if exponent else 0), 0)


def find_submission(folder: Path) -> Path:
    """The submission json of a record folder: ``submission.json``, else one ``submission_*.json``.

    Three records of the challenge name theirs ``submission_ternary.json`` and the like.
    """
    exact = folder / "submission.json"
    if exact.is_file():
        return exact
    found = sorted(path for path in folder.glob("submission*.json") if path.is_file())
    if len(found) == 1:
        return found[0]
    if not found:
        raise PgolfInputError(
            str(folder), "has no submission.json", "Add one (`pgolf package` writes it)"
        )
    names = ", ".join(path.name for path in found)
    raise PgolfInputError(
        str(folder),
        f"has several submission files and no submission.json ({names})",
        "Keep one and name it submission.json",
    )


def load_submission(path: Path) -> Normalized:
    """Read and normalize a submission json; raise :class:`PgolfInputError` if it is not json."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PgolfInputError(
            source, f"cannot be read ({error.strerror or error})", "Check the path"
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PgolfInputError(
            source,
            f"is not UTF-8 text (byte {raw[error.start]:#04x} at offset {error.start})",
            "Save it as UTF-8",
        ) from None
    try:
        data = json.loads(text, parse_float=JsonFloat, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise PgolfInputError(
            source,
            f"is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})",
            "Fix the syntax there (a file cut short, a trailing comma or a missing quote)",
        ) from None
    except ValueError as error:
        raise PgolfInputError(source, f"is not valid JSON: {error}", "Write a number") from None
    normalized = normalize(data, source=source)
    if path.name != "submission.json":
        renamed = KeyMapping(
            key=path.name,
            to="submission.json",
            why="the challenge's folders carry one submission.json; this one has another name",
        )
        normalized = normalized.model_copy(update={"mapped": (renamed, *normalized.mapped)})
    return normalized


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _not_an_object(source: str, data: object) -> PgolfInputError:
    kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(data), "a number"
    )
    return PgolfInputError(
        source,
        f"the top level is {kind}, not an object",
        'A submission.json is one JSON object: {"name": ..., "val_bpb": ..., ...}',
    )


# Legacy names per canonical field, in order of preference, with the reason shown in reports.
_Alias = tuple[str, str]
_TOP_NUMBERS: dict[str, tuple[_Alias, ...]] = {
    "val_bpb": (
        ("mean_val_bpb", "an older name for the seed mean"),
        ("mean_bpb", "an older name for the seed mean"),
    ),
    "val_loss": (
        ("mean_val_loss", "an older name for the seed mean"),
        ("mean_val_loss_nats", "an older name for the seed mean"),
        ("val_loss_nats", "val_loss with its unit in the name"),
    ),
    "val_bpb_std": (("std_bpb", "an older name"),),
    "val_loss_std": (
        ("std_val_loss_nats", "an older name"),
        ("val_loss_nats_std", "val_loss_std with its unit in the name"),
    ),
    "artifact_bytes_mean": (),
    "train_time_s": (
        ("wallclock_seconds", "the run's training wallclock"),
        ("train_time_seconds", "an older name"),
    ),
}
_TOP_INTEGERS: dict[str, tuple[_Alias, ...]] = {
    "bytes_total": (
        ("artifact_bytes", "the artifact (model + code) size under another name"),
        ("artifact_size_bytes", "the artifact (model + code) size under another name"),
    ),
    "bytes_code": (("code_bytes", "an older name"),),
    "bytes_model": (
        ("bytes_model_int8_zlib", "the compressed model, named after its codec"),
        ("bytes_model_int6_zstd", "the compressed model, named after its codec"),
        ("bytes_model_compressed", "the compressed model under another name"),
    ),
    "artifact_bytes_max": (),
    "steps": (
        ("step_stop", "the step training stopped at"),
        ("train_steps", "an older name"),
    ),
}
_TOP_TEXTS: dict[str, tuple[_Alias, ...]] = {
    "name": (("run_name", "an older name"),),
    "author": (),
    "github_id": (),
    "blurb": (),
    "hardware": (("gpu", "the hardware under another name"),),
    "python_version": (),
    "pytorch_version": (),
    "cuda_version": (),
}
# Per-seed keys: canonical -> (legacy name, factor to the canonical unit, why).
_SEED_NUMBERS: dict[str, tuple[tuple[str, float, str], ...]] = {
    "val_bpb": (("val_var_bpb", 1.0, "the seed's only bpb figure (a variational bound)"),),
    "val_loss": (),
    "train_time_s": (("train_time_ms", 1e-3, "milliseconds converted to seconds"),),
    "eval_time_s": (
        ("eval_time_ms", 1e-3, "milliseconds converted to seconds"),
        ("ttt_eval_time_s", 1.0, "the test-time-training pass is the scoring evaluation"),
        ("ttt_time_ms", 1e-3, "the test-time-training pass is the scoring evaluation, in ms"),
    ),
}
_SEED_INTEGERS: dict[str, tuple[tuple[str, str], ...]] = {
    "artifact_bytes": (("bytes_total", "the seed's artifact size under the top-level name"),),
    "bytes_model": (),
    "steps": (),
}
_COMPLIANCE_SPELLINGS = {
    "training_under_600s": "train_under_600s",
    "artifact_under_16_mb": "artifact_under_16mb",
}
_COMPARISON_TEXTS = frozenset({"baseline", "test", "nats_per_bpb_source"})
_COMPARISON_NUMBERS = frozenset(
    {"baseline_val_bpb", "baseline_n_seeds", "delta_bpb", "delta_nats", "nats_per_bpb"}
    | {"threshold_nats", "t", "df", "p"}
)
# The key that names the baseline a `delta_vs_<ref>_*` key refers to, for refs that are no PR.
_REFERENCE_KEYS = {"base": "base_submission", "current_merged_sota": "merged_sota_reference"}
_DELTA = re.compile(r"^delta_vs_(?P<ref>.+?)_(?P<unit>bpb|nats|loss_nats)$")
_NUMERIC = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_P_BOUND = re.compile(r"\s*(?P<op><=?|≤)\s*(?P<value>" + _NUMERIC.pattern + r")\s*")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\S+")

# #16's file names its 3-seed bpb mean `val_loss`. A bpb has been >= 1.0 in every record so far,
# while nats per token = bpb * ln2 * bytes/token is >= 1.688 * bpb for every subword tokenizer
# the challenge uses (sp1024 has the fewest bytes per token, 2.436). So when no bpb key exists,
# a val_loss in [1.0, 1.688) cannot be nats of a subword model and is read as the bpb.
BPB_FLOOR = 1.0
MIN_SUBWORD_NATS_PER_BPB = 1.688


class _Reader:
    """Reads values out of one json object, recording translations and failures."""

    def __init__(self) -> None:
        self.mapped: list[KeyMapping] = []
        self.issues: list[Issue] = []

    def map(self, key: str, to: str, why: str) -> None:
        self.mapped.append(KeyMapping(key=key, to=to, why=why))

    def issue(self, key: str, problem: str, fix: str) -> None:
        self.issues.append(Issue(key=key, problem=problem, fix=fix))

    def number(self, key: str, value: object) -> tuple[float, str] | None:
        """A finite number and its text as written, or None (null, or not a number)."""
        if value is None:
            return None
        if isinstance(value, bool):
            self.issue(key, f"expected a number, got {json.dumps(value)}", "Write the number")
            return None
        if isinstance(value, int | float):
            if not math.isfinite(value):
                self.issue(key, f"{value} is not a finite number", "Write the measured value")
                return None
            text = value.text if isinstance(value, JsonFloat) else repr(value)
            return float(value), text
        if isinstance(value, str) and _NUMERIC.fullmatch(value.strip()):
            self.map(key, key, f"a number written as a string ({value!r}); read as a number")
            return float(value), value.strip()
        self.issue(key, f"expected a number, got {_shown(value)}", "Write a plain JSON number")
        return None

    def integer(self, key: str, value: object) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        read = self.number(key, value)
        if read is None:
            return None
        if not read[0].is_integer():
            self.issue(key, f"expected a whole number, got {read[1]}", "Write a whole number")
            return None
        if isinstance(value, float):
            self.map(key, key, f"a whole number written as {read[1]}; read as an integer")
        return int(read[0])

    def text(self, key: str, value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.issue(key, f"expected a string, got {_shown(value)}", "Write it as a string")
            return None
        if not value.strip():
            self.issue(key, "is empty", "Fill it in or remove the key")
            return None
        return value

    def pick(
        self,
        data: dict[str, Any],
        taken: set[str],
        canonical: str,
        aliases: tuple[tuple[str, str], ...],
        read: Callable[[str, object], _T | None],
        *,
        prefix: str = "",
        same: Callable[[_T, _T], bool] | None = None,
    ) -> _T | None:
        """The value of ``canonical``, else of its first legacy alias present.

        Every alias present is reported: used, ignored as a duplicate of the same value, or
        an issue when it disagrees with the value kept.
        """
        target = f"{prefix}{canonical}"
        value: _T | None = None
        chosen = ""
        if canonical in data:
            taken.add(canonical)
            value = read(f"{prefix}{canonical}", data[canonical])
            chosen = f"{prefix}{canonical}"
        for alias, why in aliases:
            if alias not in data:
                continue
            taken.add(alias)
            key = f"{prefix}{alias}"
            other = read(key, data[alias])
            if other is None:
                continue
            if value is None:
                value, chosen = other, key
                self.map(key, target, why)
            elif (same or _equal)(value, other):
                self.map(key, target, f"{why}; the same value as {chosen}, so ignored")
            else:
                self.issue(
                    key,
                    f"disagrees with {chosen} ({_plain(other)} vs {_plain(value)}); "
                    f"{chosen} was kept",
                    f"Remove {alias} or make the two agree",
                )
        return value


def _equal(a: object, b: object) -> bool:
    return a == b


def _same_number(a: tuple[float, str], b: tuple[float, str]) -> bool:
    # Two spellings of one figure agree when they match at the coarser of their precisions.
    places = min(decimals(a[1]), decimals(b[1]))
    return abs(a[0] - b[0]) <= 0.5 * 10.0**-places + 1e-12


def _plain(value: object) -> str:
    if isinstance(value, tuple):
        return str(value[1])
    return str(value)


def normalize(data: object, *, source: str) -> Normalized:
    """Translate one submission json (already parsed) into a :class:`Normalized` record.

    ``source`` names the file in messages. Numbers keep the text they were written with only
    when ``data`` was parsed with ``parse_float=JsonFloat`` (as :func:`load_submission` does);
    otherwise ``val_bpb_text`` is the float's shortest repr, which drops trailing zeros.
    """
    if not isinstance(data, dict):
        raise _not_an_object(source, data)
    reader = _Reader()
    taken: set[str] = set()
    fields: dict[str, Any] = {}

    for canonical, number_aliases in _TOP_NUMBERS.items():
        read = reader.pick(data, taken, canonical, number_aliases, reader.number, same=_same_number)
        if read is not None:
            fields[canonical], fields[f"{canonical}_text"] = read
    for canonical, integer_aliases in _TOP_INTEGERS.items():
        fields[canonical] = reader.pick(data, taken, canonical, integer_aliases, reader.integer)
    for canonical, text_aliases in _TOP_TEXTS.items():
        fields[canonical] = reader.pick(data, taken, canonical, text_aliases, reader.text)
    if "val_bpb" not in fields and "val_loss" in fields:
        _mislabelled_bpb(reader, fields)
    # Only val_bpb's text is part of the record; the others were kept for the rule above.
    for canonical in _TOP_NUMBERS:
        if canonical != "val_bpb":
            fields.pop(f"{canonical}_text", None)

    taken.add("track")
    fields["track"] = _track(reader, data.get("track"))
    taken.add("date")
    fields["date"] = _date(reader, data.get("date"))

    seeds, run_eval_time = _seeds(data, taken, reader)
    fields["seeds"] = seeds
    if run_eval_time is not None:
        fields["eval_time_s"] = run_eval_time

    extras: dict[str, Any] = {}
    fields["compliance"] = _compliance(data, taken, reader, extras)
    fields["attribution"] = _attribution(data, taken, reader)
    fields["software"] = _software(data, taken, reader)
    fields["comparison"] = _comparison(data, taken, reader, extras)

    for key, value in data.items():
        if key not in taken:
            extras[key] = value
    return Normalized(
        source=source,
        form="multi_seed" if "seeds" in data or "seed_results" in data else "core",
        extras=extras,
        mapped=tuple(reader.mapped),
        issues=tuple(reader.issues),
        **{key: value for key, value in fields.items() if value is not None},
    )


def _mislabelled_bpb(reader: _Reader, fields: dict[str, Any]) -> None:
    loss = fields["val_loss"]
    if BPB_FLOOR <= loss < MIN_SUBWORD_NATS_PER_BPB:
        fields["val_bpb"] = fields.pop("val_loss")
        fields["val_bpb_text"] = fields.pop("val_loss_text")
        reader.map(
            "val_loss",
            "val_bpb",
            f"there is no bpb key, and {loss} is too small to be nats per token of a subword "
            "tokenizer for any bpb >= 1.0: it is the bpb under the wrong name (rename it val_bpb)",
        )


def _track(reader: _Reader, value: object) -> Track | None:
    text = reader.text("track", value)
    if text is None:
        return None
    spelled = text.strip().lower().replace("-", "_").removeprefix("track_")
    if spelled == "10min_16mb":
        track: Track = "10min_16mb"
    elif spelled.startswith("non_record") and spelled.endswith("16mb"):
        track = "non_record_16mb"
    else:
        reader.issue("track", f"unknown track {text!r}", f"Use one of: {', '.join(TRACKS)}")
        return None
    if track != text:
        reader.map(
            "track",
            "track",
            f"{text!r} is a spelling of {track!r}"
            + (" (the unlimited-compute entries sit in that track)" if "unlimited" in text else ""),
        )
    return track


def _date(reader: _Reader, value: object) -> dt.date | None:
    text = reader.text("date", value)
    if text is None:
        return None
    try:
        if _DAY.fullmatch(text):
            return dt.date.fromisoformat(text)
        if _TIMESTAMP.fullmatch(text):
            day = dt.datetime.fromisoformat(text).date()
            reader.map("date", "date", f"a timestamp ({text}); the day as written is kept")
            return day
    except ValueError:
        pass
    reader.issue("date", f"{text!r} is not a date", "Write the day as YYYY-MM-DD")
    return None


def _seed_number(reader: _Reader, key: str, value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    reader.issue(key, f"{_shown(value)} is not a seed", "A seed is a whole number >= 0")
    return None


def _seeds(
    data: dict[str, Any], taken: set[str], reader: _Reader
) -> tuple[tuple[NormalizedSeed, ...], float | None]:
    """The per-seed entries, and a run-level eval time if the file gives a scalar one."""
    order: list[int] = []
    results: dict[int, tuple[str, dict[str, Any]]] = {}

    def add_results(key: str, value: object) -> None:
        if not isinstance(value, dict):
            reader.issue(key, f"expected an object of seeds, got {_shown(value)}", "See §3")
            return
        for seed_key, entry in value.items():
            seed = _seed_number(reader, f"{key}.{seed_key}", seed_key)
            if seed is None:
                continue
            if not isinstance(entry, dict):
                reader.issue(
                    f"{key}.{seed_key}",
                    f"expected an object, got {_shown(entry)}",
                    'Write {"val_bpb": ..., "val_loss": ..., ...}',
                )
                continue
            results[seed] = (f"{key}.{seed_key}", entry)

    listed = data.get("seeds")
    if "seeds" in data:
        taken.add("seeds")
    if isinstance(listed, list):
        for index, item in enumerate(listed):
            seed = _seed_number(reader, f"seeds.{index}", item)
            if seed is None:
                continue
            if seed in order:
                reader.issue("seeds", f"lists seed {seed} twice", "List each seed once")
            else:
                order.append(seed)
    elif isinstance(listed, dict):
        reader.map("seeds", "seed_results", "seeds given as an object of per-seed results")
        add_results("seeds", listed)
        order.extend(results)
    elif listed is not None:
        reader.issue("seeds", f"expected a list of seeds, got {_shown(listed)}", "Write [42, ...]")

    if "seed_results" in data:
        taken.add("seed_results")
        if isinstance(listed, dict):
            reader.issue(
                "seed_results",
                "per-seed results are given twice (seeds and seed_results); seed_results wins",
                "Keep seed_results and make seeds a list",
            )
        add_results("seed_results", data["seed_results"])
    if order and results and set(order) != set(results):
        reader.issue(
            "seeds",
            f"lists {sorted(order)} but the per-seed results are for {sorted(results)}",
            "Make the two agree",
        )
    if not order and "seed" in data:
        taken.add("seed")
        seed = _seed_number(reader, "seed", data["seed"])
        if seed is not None:
            reader.map("seed", "seeds", "the one seed of a single-run file")
            order.append(seed)
    order.extend(seed for seed in results if seed not in order)

    entries: dict[int, dict[str, Any]] = {seed: {"seed": seed} for seed in order}
    for seed, (prefix, raw) in results.items():
        entries[seed].update(_seed_entry(reader, f"{prefix}.", raw))

    if "seed_scores" in data:
        taken.add("seed_scores")
        _by_position(reader, data["seed_scores"], "seed_scores", order, entries, "val_bpb")
    run_eval: float | None = None
    if "eval_time_seconds" in data:
        taken.add("eval_time_seconds")
        value = data["eval_time_seconds"]
        if isinstance(value, list):
            _by_position(reader, value, "eval_time_seconds", order, entries, "eval_time_s")
        else:
            read = reader.number("eval_time_seconds", value)
            if read is not None:
                reader.map("eval_time_seconds", "eval_time_s", "an older name")
                run_eval = read[0]
    return tuple(NormalizedSeed(**entry) for entry in entries.values()), run_eval


def _by_position(
    reader: _Reader,
    value: object,
    key: str,
    order: list[int],
    entries: dict[int, dict[str, Any]],
    field: str,
) -> None:
    # Some files give per-seed figures as a list in the order of `seeds`.
    if not isinstance(value, list) or len(value) != len(order):
        reader.issue(
            key,
            f"expected a list with one value per seed ({len(order)}), got {_shown(value)}",
            "Put per-seed values in seed_results",
        )
        return
    for index, (seed, item) in enumerate(zip(order, value, strict=True)):
        read = reader.number(f"{key}.{index}", item)
        if read is None:
            continue
        entries[seed][field] = read[0]
        if field == "val_bpb":
            entries[seed]["val_bpb_text"] = read[1]
    reader.map(key, f"seed_results.*.{field}", "a list with one value per seed, in seeds order")


def _seed_entry(reader: _Reader, prefix: str, raw: dict[str, Any]) -> dict[str, Any]:
    taken: set[str] = set()
    entry: dict[str, Any] = {}
    for canonical, scaled in _SEED_NUMBERS.items():
        aliases = tuple((name, why) for name, _, why in scaled)
        got = reader.pick(
            raw,
            taken,
            canonical,
            aliases,
            _scaled(reader, {name: factor for name, factor, _ in scaled}),
            prefix=prefix,
            same=_same_number,
        )
        if got is not None:
            entry[canonical] = got[0]
            if canonical == "val_bpb":
                entry["val_bpb_text"] = got[1]
    for canonical, integer_aliases in _SEED_INTEGERS.items():
        entry[canonical] = reader.pick(
            raw, taken, canonical, integer_aliases, reader.integer, prefix=prefix
        )
    taken.add("log_file")
    entry["log_file"] = reader.text(f"{prefix}log_file", raw.get("log_file"))
    entry["extras"] = {key: value for key, value in raw.items() if key not in taken}
    return {key: value for key, value in entry.items() if value is not None}


def _scaled(
    reader: _Reader, factors: dict[str, float]
) -> Callable[[str, object], tuple[float, str] | None]:
    """A number reader that converts a legacy key's unit (ms) to the canonical one (s)."""

    def read(key: str, value: object) -> tuple[float, str] | None:
        number = reader.number(key, value)
        if number is None:
            return None
        return number[0] * factors.get(key.rpartition(".")[2], 1.0), number[1]

    return read


def _compliance(
    data: dict[str, Any], taken: set[str], reader: _Reader, extras: dict[str, Any]
) -> dict[str, bool]:
    block = data.get("compliance")
    if block is None:
        return {}
    taken.add("compliance")
    if not isinstance(block, dict):
        reader.issue("compliance", f"expected an object, got {_shown(block)}", "See §3")
        return {}
    claims: dict[str, bool] = {}
    for key, value in block.items():
        if not isinstance(value, bool):
            # Numbers, notes and pgolf's own audit summary: kept, not a claim.
            extras[f"compliance.{key}"] = value
            continue
        name = _COMPLIANCE_SPELLINGS.get(key) or str(key)
        if name != key:
            reader.map(f"compliance.{key}", f"compliance.{name}", "another spelling")
        claims[name] = value
    return claims


def _attribution(data: dict[str, Any], taken: set[str], reader: _Reader) -> dict[str, str]:
    block = data.get("attribution")
    if block is None:
        return {}
    taken.add("attribution")
    if not isinstance(block, dict):
        reader.issue("attribution", f"expected an object, got {_shown(block)}", "See §3")
        return {}
    credits: dict[str, str] = {}
    for key, value in block.items():
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            reader.map(f"attribution.{key}", f"attribution.{key}", "a list, joined with '; '")
            credits[key] = "; ".join(value)
        elif isinstance(value, str):
            credits[key] = value
        else:
            reader.issue(
                f"attribution.{key}", f"expected a string, got {_shown(value)}", "Write who"
            )
    return credits


def _software(data: dict[str, Any], taken: set[str], reader: _Reader) -> dict[str, str]:
    software: dict[str, str] = {}
    block = data.get("software")
    if block is not None:
        taken.add("software")
        if isinstance(block, dict):
            for key, value in block.items():
                text = reader.text(f"software.{key}", value)
                if text is not None:
                    software[key] = text
        else:
            reader.issue("software", f"expected an object, got {_shown(block)}", "See §3")
    if "flash_attn_version" in data:
        taken.add("flash_attn_version")
        text = reader.text("flash_attn_version", data["flash_attn_version"])
        if text is not None:
            reader.map("flash_attn_version", "software.flash_attn", "one of the software versions")
            software.setdefault("flash_attn", text)
    return software


def _comparison(
    data: dict[str, Any], taken: set[str], reader: _Reader, extras: dict[str, Any]
) -> NormalizedComparison | None:
    fields: dict[str, Any] = {}
    block = data.get("comparison")
    if block is not None:
        taken.add("comparison")
        if isinstance(block, dict):
            for key, value in block.items():
                path = f"comparison.{key}"
                if key in _COMPARISON_TEXTS:
                    fields[key] = reader.text(path, value)
                elif key in _COMPARISON_NUMBERS:
                    read = reader.number(path, value)
                    fields[key] = None if read is None else read[0]
                else:
                    extras[path] = value
        else:
            reader.issue("comparison", f"expected an object, got {_shown(block)}", "See §3")

    def legacy(key: str, to: str, value: object, why: str) -> None:
        # A legacy key fills its field unless the comparison block already did.
        taken.add(key)
        if value is None:
            return
        if fields.get(to) is not None:
            extras[key] = value
            return
        fields[to] = value
        reader.map(key, f"comparison.{to}", why)

    def number(key: str) -> float | None:
        read = reader.number(key, data[key])
        return None if read is None else read[0]

    if "comparison_baseline_pr" in data:
        pr = reader.integer("comparison_baseline_pr", data["comparison_baseline_pr"])
        baseline = None if pr is None else f"PR #{pr}"
        legacy("comparison_baseline_pr", "baseline", baseline, "the baseline pull request")
    for key in ("comparison_baseline_bpb", "base_val_bpb"):
        if key in data:
            legacy(key, "baseline_val_bpb", number(key), "the baseline's val_bpb")

    # delta_vs_<ref>_{bpb,nats}: several refs can appear; the one matching the baseline PR is
    # the comparison, the others stay extras.
    groups: dict[str, dict[str, str]] = {}
    for key in data:
        match = _DELTA.match(key)
        if match:
            unit = "delta_bpb" if match["unit"] == "bpb" else "delta_nats"
            groups.setdefault(match["ref"], {})[unit] = key
    if groups:
        refs = {_reference(ref): ref for ref in groups}
        chosen = refs.get(fields.get("baseline") or "", next(iter(groups)))
        for unit, key in groups[chosen].items():
            legacy(key, unit, number(key), f"the difference against {_reference(chosen)}")
        named_by = _REFERENCE_KEYS.get(chosen)
        if named_by in data:
            legacy(named_by, "baseline", reader.text(named_by, data[named_by]), "the baseline")
        if fields.get("baseline") is None:
            fields["baseline"] = _reference(chosen)

    if "t_statistic" in data:
        legacy("t_statistic", "t", number("t_statistic"), "an older name")
    if "welch_df" in data:
        df = number("welch_df")
        legacy("welch_df", "df", df, "the Welch-Satterthwaite degrees of freedom of the t-test")
        if df is not None and fields.get("test") is None:
            fields["test"] = "welch"
    if "p_value" in data:
        value = data["p_value"]
        bound = _P_BOUND.fullmatch(value) if isinstance(value, str) else None
        if bound:
            legacy("p_value", "p", float(bound["value"]), f"{value!r} read as a bound on p")
            fields["p_is_upper_bound"] = True
        else:
            legacy("p_value", "p", number("p_value"), "an older name")
    present = {key: value for key, value in fields.items() if value is not None}
    return NormalizedComparison(**present) if present else None


def _reference(ref: str) -> str:
    """``pr549`` (from ``delta_vs_pr549_bpb``) -> ``PR #549``; other names stay as they are."""
    return f"PR #{ref[2:]}" if re.fullmatch(r"pr\d+", ref) else ref
