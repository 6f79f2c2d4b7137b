"""The strict submission schema, the tolerant normalizer and `pgolf schema`, on hand-written files."""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from pgolf_cli.cli import app
from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.submission import (
    SCHEMA_FILE,
    SUBMISSION_SCHEMA_VERSION,
    JsonFloat,
    Normalized,
    Submission,
    decimals,
    find_submission,
    load_submission,
    normalize,
    schema,
    schema_text,
    validate_strict,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "submissions"


def read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture
def valid() -> dict[str, Any]:
    return read("valid.json")


def strict_error(data: object) -> str:
    with pytest.raises(PgolfInputError) as caught:
        validate_strict(data, source="sub.json")
    assert caught.value.path == "sub.json"
    return caught.value.problem


def mapped_pairs(record: Normalized) -> set[tuple[str, str]]:
    return {(entry.key, entry.to) for entry in record.mapped}


# ---------------------------------------------------------------- the schema and its file


def test_committed_schema_file_is_the_generated_one() -> None:
    committed = (REPO / "pgolf_cli" / "records" / SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == schema_text(), "regenerate it: pgolf schema -o pgolf_cli/records/" + (
        SCHEMA_FILE
    )


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    document = schema()
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"].endswith(str(SUBMISSION_SCHEMA_VERSION))
    assert document["additionalProperties"] is False
    assert {"val_bpb", "seed_results", "compliance", "generated_by"} <= set(document["required"])


def test_valid_fixture_passes_the_model_and_the_published_schema(valid: dict[str, Any]) -> None:
    submission = validate_strict(valid, source="valid.json")
    assert submission.date == dt.date(2026, 5, 2)
    assert submission.seed_results["1337"].artifact_bytes == submission.bytes_total
    assert submission.compliance.audit.rule_ids == ["PG402"]
    jsonschema.Draft202012Validator(schema()).validate(valid)


def test_written_submission_round_trips(valid: dict[str, Any]) -> None:
    # What the package step writes is model_dump(mode="json"): it must validate again unchanged.
    written = validate_strict(valid, source="valid.json").model_dump(mode="json")
    assert written == valid
    assert validate_strict(written, source="again") == Submission.model_validate(valid)


@pytest.mark.parametrize(
    "fixture",
    ["string_number.json", "missing_keys.json", "extra_keys.json", "bad_date.json"],
)
def test_broken_fixtures_fail_the_published_schema_too(fixture: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(
            schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        ).validate(read(fixture))


# ---------------------------------------------------------------- strict validation messages


def test_strict_names_each_string_number_by_key_path() -> None:
    problem = strict_error(read("string_number.json"))
    assert 'val_bpb: expected a number; got the string "1.06109012"' in problem
    assert 'seed_results.42.artifact_bytes: expected an integer; got the string "15901000"' in (
        problem
    )


def test_strict_lists_every_missing_key() -> None:
    problem = strict_error(read("missing_keys.json"))
    for key in ("author", "seeds", "compliance.no_slot"):
        assert f"{key}: required key is missing" in problem


def test_strict_forbids_extra_keys_at_every_level() -> None:
    problem = strict_error(read("extra_keys.json"))
    assert "technique_summary: not a key of the schema" in problem
    assert "seed_results.42.ttt_gain_bpb: not a key of the schema" in problem


def test_strict_rejects_a_day_that_does_not_exist() -> None:
    assert "date: '2026-02-30' is not a day of the calendar" in strict_error(read("bad_date.json"))


Mutation = Callable[[dict[str, Any]], None]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d.update(date="2026-03-18T14:56:29Z"),
            "date: expected a date written YYYY-MM-DD",
        ),
        (lambda d: d.update(track="non-record-16mb"), "track: Input should be"),
        (lambda d: d.update(val_bpb=True), "val_bpb: expected a number; got the boolean true"),
        (lambda d: d.update(val_bpb=-1.0), "val_bpb: Input should be greater than 0"),
        (lambda d: d.update(github_id="has space"), "github_id: String should match pattern"),
        (lambda d: d.update(seeds=[42, 1337]), "seeds [42, 1337] and the keys of seed_results"),
        (lambda d: d.update(seeds=[42, 42, 1337, 2024]), "seeds lists a seed twice"),
        (lambda d: d.update(bytes_total=15901000), "bytes_total is 15901000, but the largest"),
        (lambda d: d.update(artifact_bytes_max=1), "artifact_bytes_max is 1, but the largest"),
        (
            lambda d: d["seed_results"].update(best=d["seed_results"]["42"]),
            "seed_results.best: the key 'best' is not a seed number",
        ),
        (lambda d: d.update(compliance=None), "compliance: expected an object; got null"),
        (
            lambda d: d["generated_by"].update(tool="other"),
            "generated_by.tool: Input should be 'pgolf'",
        ),
        (lambda d: d["compliance"]["audit"].update(rule_ids=["E501"]), "rule_ids.0"),
    ],
)
def test_strict_messages_name_the_key_and_the_expectation(
    valid: dict[str, Any], mutate: Mutation, expected: str
) -> None:
    data = copy.deepcopy(valid)
    mutate(data)
    assert expected in strict_error(data)


def test_strict_rejects_a_non_object() -> None:
    assert "the top level is an array, not an object" in strict_error([1, 2])


# ---------------------------------------------------------------- loading files


def load_error(path: Path) -> PgolfInputError:
    with pytest.raises(PgolfInputError) as caught:
        load_submission(path)
    assert caught.value.path == str(path)
    return caught.value


def test_truncated_json_reports_line_and_column() -> None:
    path = FIXTURES / "truncated.json"
    lines = path.read_text(encoding="utf-8").splitlines()
    error = load_error(path)
    # The file stops inside the key on its last line, which opens at its last quote.
    assert f"(line {len(lines)}, column {lines[-1].rindex(chr(34)) + 1})" in error.problem
    assert "is not valid JSON" in error.problem
    assert "cut short" in error.fix


def test_a_top_level_array_is_not_a_submission() -> None:
    assert (
        "the top level is an array, not an object"
        in load_error(FIXTURES / "top_level_array.json").problem
    )


def test_non_utf8_bytes_are_named() -> None:
    error = load_error(FIXTURES / "not_utf8.json")
    assert "is not UTF-8 text (byte 0xe9" in error.problem
    assert "UTF-8" in error.fix


def test_unreadable_path(tmp_path: Path) -> None:
    assert "cannot be read" in load_error(tmp_path / "submission.json").problem
    assert "cannot be read" in load_error(tmp_path).problem


def test_nan_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "submission.json"
    path.write_text('{"val_bpb": NaN}', encoding="utf-8")
    assert "NaN is not a JSON number" in load_error(path).problem


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "submission.json"
    path.write_bytes(b'\xef\xbb\xbf{"val_bpb": 1.2000}')
    assert load_submission(path).val_bpb_text == "1.2000"


def test_find_submission(tmp_path: Path) -> None:
    with pytest.raises(PgolfInputError, match=r"has no submission\.json"):
        find_submission(tmp_path)
    (tmp_path / "submission_ternary.json").write_text("{}", encoding="utf-8")
    assert find_submission(tmp_path).name == "submission_ternary.json"
    (tmp_path / "submission_binary.json").write_text("{}", encoding="utf-8")
    with pytest.raises(PgolfInputError, match="several submission files"):
        find_submission(tmp_path)
    (tmp_path / "submission.json").write_text("{}", encoding="utf-8")
    assert find_submission(tmp_path).name == "submission.json"


def test_another_file_name_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "submission_ternary.json"
    path.write_text('{"val_bpb": 1.1565}', encoding="utf-8")
    assert ("submission_ternary.json", "submission.json") in mapped_pairs(load_submission(path))
    canonical = tmp_path / "submission.json"
    canonical.write_text('{"val_bpb": 1.1565}', encoding="utf-8")
    assert load_submission(canonical).mapped == ()


# ---------------------------------------------------------------- number precision


@pytest.mark.parametrize(
    ("text", "places"),
    [("1.2240", 4), ("1.08100", 5), ("15", 0), ("1e-3", 3), ("2.5E-2", 3), ("1.5e+1", 0)],
)
def test_decimals(text: str, places: int) -> None:
    assert decimals(text) == places


def test_json_float_keeps_its_text() -> None:
    number = json.loads("[1.21474500]", parse_float=JsonFloat)[0]
    assert number == 1.214745
    assert number.text == "1.21474500"


def test_val_bpb_keeps_the_precision_it_was_written_with(tmp_path: Path) -> None:
    path = tmp_path / "submission.json"
    path.write_text(
        '{"val_bpb": 1.08100, "seed_results": {"42": {"val_bpb": 1.0810}}}', encoding="utf-8"
    )
    record = load_submission(path)
    assert (record.val_bpb_text, record.val_bpb_decimals) == ("1.08100", 5)
    assert (record.seeds[0].val_bpb_text, record.seeds[0].val_bpb_decimals) == ("1.0810", 4)
    # Without JsonFloat the text is the float's repr, which has dropped the trailing zeros.
    assert normalize({"val_bpb": 1.08100}, source="x").val_bpb_text == "1.081"


# ---------------------------------------------------------------- the tolerant normalizer


def test_pgolf_output_normalizes_without_translations(valid: dict[str, Any]) -> None:
    record = normalize(valid, source="valid.json")
    assert record.mapped == ()
    assert record.issues == ()
    assert record.form == "multi_seed"
    assert record.missing_required == ()
    assert record.seed_numbers == (42, 1337, 2024)
    assert record.seeds[2].eval_time_s is None
    assert record.seeds[1].log_file == "train_seed1337.log"
    assert record.comparison is not None
    assert record.comparison.nats_per_bpb == 2.58311
    assert record.comparison.baseline_n_seeds == 3
    assert record.software == {"flash_attn": "3.0.0b1", "sentencepiece": "0.2.1"}
    assert len(record.compliance) == 9
    # What the normalized record has no field for is kept, not dropped.
    assert set(record.extras) == {"generated_by", "compliance.audit"}


def test_string_numbers_are_read_with_a_note() -> None:
    record = normalize(read("string_number.json"), source="s.json")
    assert record.val_bpb == 1.06109012
    assert record.val_bpb_text == "1.06109012"
    assert record.seeds[0].artifact_bytes == 15901000
    notes = {entry.key: entry.why for entry in record.mapped}
    assert "written as a string" in notes["val_bpb"]
    assert "written as a string" in notes["seed_results.42.artifact_bytes"]
    assert record.issues == ()


def test_missing_keys_are_listed_not_invented() -> None:
    record = normalize(read("missing_keys.json"), source="m.json")
    assert record.author is None
    assert record.missing_required == ("author",)
    assert "no_slot" not in record.compliance
    # Without the seeds list the per-seed results still give the seeds.
    assert record.seed_numbers == (42, 1337, 2024)


def test_extra_keys_are_kept_as_extras() -> None:
    record = normalize(read("extra_keys.json"), source="e.json")
    assert record.extras["technique_summary"] == "gated residuals"
    assert record.seeds[0].extras == {"ttt_gain_bpb": -0.0123}
    assert record.issues == ()


def test_a_bad_date_is_an_issue() -> None:
    record = normalize(read("bad_date.json"), source="b.json")
    assert record.date is None
    (issue,) = record.issues
    assert issue.key == "date"
    assert issue.message("b.json") == (
        "b.json: date: '2026-02-30' is not a date. Write the day as YYYY-MM-DD"
    )


def test_legacy_fixture() -> None:
    record = load_submission(FIXTURES / "legacy.json")
    assert record.issues == ()
    assert (record.name, record.track, record.date) == (
        "Legacy Everything",
        "non_record_16mb",
        dt.date(2026, 3, 21),
    )
    assert (record.val_bpb, record.val_bpb_text, record.val_loss) == (1.224, "1.2240", None)
    assert (record.bytes_total, record.bytes_code, record.hardware) == (
        15800123,
        48011,
        "1xRTX5090",
    )
    first, second = record.seeds
    assert (first.seed, first.artifact_bytes, first.train_time_s, first.eval_time_s) == (
        7,
        15800123,
        600.114,
        250.5,
    )
    assert second.val_bpb == 1.2229
    assert record.compliance == {"train_under_600s": True, "artifact_under_16mb": True}
    assert record.attribution == {"ideas": "@someone (PR #1); @another (PR #2)"}
    comparison = record.comparison
    assert comparison is not None
    assert (comparison.baseline, comparison.delta_bpb, comparison.delta_nats) == (
        "PR #1019",
        -0.0031,
        -0.0052,
    )
    assert (comparison.t, comparison.p, comparison.p_is_upper_bound) == (41.5, 0.001, True)
    # The delta against another reference and the non-boolean compliance note stay extras.
    assert record.extras == {
        "delta_vs_pr77_bpb": -0.04,
        "compliance.note": "checked by hand",
        "model_params": 20111222,
    }
    assert {
        ("mean_val_bpb", "val_bpb"),
        ("artifact_size_bytes", "bytes_total"),
        ("code_bytes", "bytes_code"),
        ("run_name", "name"),
        ("gpu", "hardware"),
        ("track", "track"),
        ("date", "date"),
        ("seeds", "seed_results"),
        ("seeds.7.ttt_time_ms", "seeds.7.eval_time_s"),
        ("seeds.8.bytes_total", "seeds.8.artifact_bytes"),
        ("compliance.training_under_600s", "compliance.train_under_600s"),
        ("p_value", "comparison.p"),
        ("delta_vs_pr1019_nats", "comparison.delta_nats"),
    } <= mapped_pairs(record)


@pytest.mark.parametrize(
    ("spelling", "track"),
    [
        ("10min_16mb", "10min_16mb"),
        ("track_10min_16mb", "10min_16mb"),
        ("10MIN-16MB", "10min_16mb"),
        ("non_record_16mb", "non_record_16mb"),
        ("non-record-16mb", "non_record_16mb"),
        ("non-record-unlimited-compute-16mb", "non_record_16mb"),
    ],
)
def test_track_spellings(spelling: str, track: str) -> None:
    record = normalize({"track": spelling}, source="x")
    assert record.track == track
    assert bool(record.mapped) == (spelling != track)


def test_an_unknown_track_is_an_issue() -> None:
    record = normalize({"track": "5min_8mb"}, source="x")
    assert record.track is None
    assert record.issues[0].key == "track"
    assert "10min_16mb, non_record_16mb" in record.issues[0].fix


@pytest.mark.parametrize(
    ("written", "day", "translated"),
    [
        ("2026-04-27", dt.date(2026, 4, 27), False),
        ("2026-03-18T14:56:29Z", dt.date(2026, 3, 18), True),
        ("2026-03-18 23:30:00+05:00", dt.date(2026, 3, 18), True),
        ("18/03/2026", None, False),
        ("2026-3-18", None, False),
        (20260318, None, False),
    ],
)
def test_dates(written: object, day: dt.date | None, translated: bool) -> None:
    record = normalize({"date": written}, source="x")
    assert record.date == day
    assert bool(record.mapped) == translated
    assert bool(record.issues) == (day is None)


@pytest.mark.parametrize(
    ("data", "val_bpb", "val_loss"),
    [
        # #16's shape: the 3-seed bpb mean under the name val_loss.
        ({"val_loss": 1.14276}, 1.14276, None),
        # Real nats per token of a subword tokenizer: not a bpb.
        ({"val_loss": 2.07269931}, None, 2.07269931),
        # A byte-level model's nats per token is below the bpb floor: not a bpb either.
        ({"val_loss": 0.94198807}, None, 0.94198807),
        # With a bpb key present the rule never applies.
        ({"val_loss": 1.14276, "val_bpb": 1.65}, 1.65, 1.14276),
        ({"val_loss": 1.14276, "mean_val_bpb": 1.65}, 1.65, 1.14276),
    ],
)
def test_mislabelled_val_loss(
    data: dict[str, Any], val_bpb: float | None, val_loss: float | None
) -> None:
    record = normalize(data, source="x")
    assert (record.val_bpb, record.val_loss) == (val_bpb, val_loss)
    relabelled = ("val_loss", "val_bpb") in mapped_pairs(record)
    assert relabelled == (val_loss is None)
    assert ("val_bpb" in record.missing_required) == (val_bpb is None)


def test_duplicate_legacy_keys_agree_at_the_coarser_precision() -> None:
    record = normalize({"val_loss": 2.32958, "val_loss_nats": 2.329578}, source="x")
    assert record.val_loss == 2.32958
    assert record.issues == ()
    assert "the same value as val_loss, so ignored" in record.mapped[0].why


def test_disagreeing_duplicates_are_an_issue_naming_both_keys() -> None:
    record = normalize({"val_bpb": 1.1, "mean_val_bpb": 1.2}, source="f.json")
    assert record.val_bpb == 1.1
    (issue,) = record.issues
    assert issue.message("f.json") == (
        "f.json: mean_val_bpb: disagrees with val_bpb (1.2 vs 1.1); val_bpb was kept. "
        "Remove mean_val_bpb or make the two agree"
    )


@pytest.mark.parametrize(
    ("value", "expected", "problem"),
    [
        (True, None, "expected a number, got true"),
        ("about 1.2", None, 'expected a number, got the string "about 1.2"'),
        ([1.2], None, "expected a number, got [1.2]"),
        (float("inf"), None, "inf is not a finite number"),
        (None, None, None),
        (1, 1.0, None),
    ],
)
def test_numbers(value: object, expected: float | None, problem: str | None) -> None:
    record = normalize({"val_bpb": value}, source="x")
    assert record.val_bpb == expected
    assert [issue.problem for issue in record.issues] == ([problem] if problem else [])


@pytest.mark.parametrize(
    ("value", "expected", "translated", "problem"),
    [
        (15863489, 15863489, False, None),
        (15863489.0, 15863489, True, None),
        ("15863489", 15863489, True, None),
        (15863489.5, None, False, "expected a whole number, got 15863489.5"),
        (False, None, False, "expected a number, got false"),
    ],
)
def test_integers(
    value: object, expected: int | None, translated: bool, problem: str | None
) -> None:
    record = normalize({"bytes_total": value}, source="x")
    assert record.bytes_total == expected
    assert bool(record.mapped) == translated
    assert [issue.problem for issue in record.issues] == ([problem] if problem else [])


def test_per_seed_lists_follow_the_seeds_order() -> None:
    record = normalize(
        {"seeds": [42, 0], "seed_scores": [1.0906, 1.0908], "eval_time_seconds": [83, 84]},
        source="x",
    )
    assert [(s.seed, s.val_bpb, s.eval_time_s) for s in record.seeds] == [
        (42, 1.0906, 83.0),
        (0, 1.0908, 84.0),
    ]
    assert record.eval_time_s is None


def test_a_per_seed_list_of_the_wrong_length_is_an_issue() -> None:
    record = normalize({"seeds": [42, 0, 7], "seed_scores": [1.09, 1.08]}, source="x")
    assert [s.val_bpb for s in record.seeds] == [None, None, None]
    assert record.issues[0].key == "seed_scores"
    assert "one value per seed (3)" in record.issues[0].problem


def test_seeds_and_results_that_disagree_are_an_issue() -> None:
    record = normalize(
        {"seeds": [1341, 42], "seed_results": {"1342": {"val_bpb": 1.47}, "42": {}}},
        source="x",
    )
    assert record.seed_numbers == (1341, 42, 1342)
    assert "lists [42, 1341] but the per-seed results are for [42, 1342]" in (
        record.issues[0].problem
    )


@pytest.mark.parametrize(
    ("seeds", "problem"),
    [
        ([42, "x"], '"x" is not a seed'),
        ([42, -1], "-1 is not a seed"),
        ([42, 42], "lists seed 42 twice"),
        ("42", 'expected a list of seeds, got the string "42"'),
    ],
)
def test_bad_seed_lists(seeds: object, problem: str) -> None:
    record = normalize({"seeds": seeds}, source="x")
    assert problem in record.issues[0].problem


def test_a_single_seed_key_is_read_as_the_seed_list() -> None:
    record = normalize({"seed": 1337, "val_bpb": 1.13}, source="x")
    assert record.form == "core"
    assert record.seed_numbers == (1337,)
    # The single run's score is not copied into the seed entry: that would be a computation.
    assert record.seeds[0].val_bpb is None


def test_empty_and_wrongly_typed_texts_are_issues() -> None:
    record = normalize({"author": "", "github_id": 7, "name": "ok"}, source="x")
    assert record.author is None and record.github_id is None
    assert [(i.key, i.problem) for i in record.issues] == [
        ("author", "is empty"),
        ("github_id", "expected a string, got 7"),
    ]


@pytest.mark.parametrize("value", ["<0.001", "< 0.001", "<=0.001", "≤0.001"])
def test_p_value_bounds(value: str) -> None:
    comparison = normalize({"p_value": value}, source="x").comparison
    assert comparison is not None
    assert (comparison.p, comparison.p_is_upper_bound) == (0.001, True)


def test_p_value_number_and_welch_test() -> None:
    comparison = normalize({"p_value": 0.0001, "welch_df": 3.3063}, source="x").comparison
    assert comparison is not None
    assert (comparison.p, comparison.p_is_upper_bound) == (0.0001, False)
    assert (comparison.df, comparison.test) == (3.3063, "welch")


def test_the_delta_matching_the_baseline_pr_is_chosen() -> None:
    record = normalize(
        {
            "merged_sota_reference": "records/x/README.md",
            "delta_vs_current_merged_sota_bpb": -0.0085,
            "comparison_baseline_pr": 1179,
            "delta_vs_pr1179_bpb": -0.0043,
        },
        source="x",
    )
    assert record.comparison is not None
    assert (record.comparison.baseline, record.comparison.delta_bpb) == ("PR #1179", -0.0043)
    assert record.extras == {
        "merged_sota_reference": "records/x/README.md",
        "delta_vs_current_merged_sota_bpb": -0.0085,
    }


def test_a_named_reference_supplies_the_baseline() -> None:
    record = normalize(
        {"base_submission": "2026-04-19_X (PR #1736)", "delta_vs_base_bpb": -0.00096},
        source="x",
    )
    assert record.comparison is not None
    assert record.comparison.baseline == "2026-04-19_X (PR #1736)"


def test_non_objects_where_objects_belong_are_issues() -> None:
    record = normalize(
        {"compliance": [True], "attribution": "me", "comparison": 3, "seed_results": [1]},
        source="x",
    )
    assert {issue.key for issue in record.issues} == {
        "compliance",
        "attribution",
        "comparison",
        "seed_results",
    }


def test_normalize_rejects_a_non_object() -> None:
    with pytest.raises(PgolfInputError, match="the top level is a string"):
        normalize("submission", source="x")


# ---------------------------------------------------------------- pgolf schema


def test_cli_prints_the_schema() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed["title"] == "pgolf submission.json"
    assert result.stdout == schema_text()


def test_cli_writes_the_schema_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "submission.schema.json"
    target.write_text("old", encoding="utf-8")
    writes: list[Path] = []

    # The package re-exports the command function under the module's name.
    command = importlib.import_module("pgolf_cli.cli.schema")
    real = command.write_atomically

    def spy(path: Path, text: str) -> None:
        writes.append(path)
        real(path, text)

    monkeypatch.setattr(command, "write_atomically", spy)
    result = CliRunner().invoke(app, ["schema", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert writes == [target]
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == schema_text()
    assert [path.name for path in tmp_path.iterdir()] == [target.name]


def test_cli_reports_an_unwritable_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["schema", "-o", str(tmp_path / "missing" / "s.json")])
    assert result.exit_code == 2
    assert "cannot write the schema to" in result.stderr
