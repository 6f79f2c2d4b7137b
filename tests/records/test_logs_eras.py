"""The log parser on hand-written logs of each era of the records (and the template's)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.logs import (
    Family,
    Header,
    LogReader,
    ScoreLine,
    common_scores,
    parse_log,
    read_log,
    seed_from_file_name,
    select_score,
)

LOGS = Path(__file__).resolve().parent / "fixtures" / "logs"


def test_era_a_baseline_lineage() -> None:
    log = read_log(LOGS / "era_a" / "train_seed1337.log")
    assert log.file_name == "train_seed1337.log"
    assert log.header == Header(python="3.12.3", torch="2.9.1+cu128")
    assert (log.seed, log.seed_in_log, log.seed_in_file_name) == (1337, 1337, 1337)
    assert not log.seed_disagrees
    assert log.run_start_line == 22
    assert (log.steps, log.total_steps, log.stop_reason) == (13781, 20000, "wallclock_cap")
    assert (log.train_time_ms, log.step_avg_ms, log.step_avg_derived) == (600041, 43.54, False)
    assert (log.last_train_loss, log.last_val_bpb) == (2.0612, 1.2197)
    assert (log.peak_memory_allocated_mib, log.peak_memory_reserved_mib) == (10184, 10200)
    # The raw "Serialized model:" / untagged total come first; the tagged pair is the artifact.
    assert (log.model_bytes, log.model_tag) == (15_815_847, "int8+zlib")
    assert (log.total_bytes, log.total_tag) == (15_863_489, "int8+zlib")
    assert (log.code_bytes, log.code_bytes_uncompressed) == (47_642, None)
    assert log.eval_time_ms == 1401
    assert log.hyperparameters == {}
    assert log.nonfinite_loss_lines == ()
    score = log.score
    assert score is not None
    assert (score.family, score.label) == ("roundtrip", "final_int8_zlib_roundtrip_exact")
    assert (score.val_bpb, score.val_loss, score.decimals) == (1.22436570, 2.07269931, 8)
    assert (score.eval_time_ms, score.line) == (1401, 44)


def test_source_code_logged_before_the_run_is_not_read() -> None:
    # The docstring of the logged script holds a line shaped like a score (0.1111), and its
    # functions print size and stop lines; none of them is output of the run.
    log = read_log(LOGS / "era_a" / "train_seed1337.log")
    assert [line.label for line in log.scores] == [
        "final_int8_zlib_roundtrip",
        "final_int8_zlib_roundtrip_exact",
    ]
    assert [line.line for line in log.scores] == [43, 44]


def test_era_a_the_lowest_family_wins_over_a_worse_ttt_and_a_repeated_roundtrip() -> None:
    log = read_log(LOGS / "era_a" / "sliding_ttt_seed42.log")
    score = log.score
    assert score is not None
    # The pre-quantization line is lower (1.0865...) but never a score; the roundtrip_exact
    # line repeats the sliding value for compatibility and loses the tie to the original;
    # legal TTT scored worse (1.336).
    assert (score.family, score.label, score.val_bpb) == (
        "sliding",
        "final_int6_sliding_window_exact",
        1.08938974,
    )
    assert (score.val_loss, score.eval_time_ms, score.line, score.decimals) == (
        2.50671564,
        76195,
        16,
        8,
    )
    families = [(line.label, line.family) for line in log.scores]
    assert families == [
        ("pre-quantization post-ema", "prequant"),
        ("final_int6_roundtrip", "roundtrip"),
        ("final_int6_roundtrip_exact", "roundtrip"),
        ("final_int6_sliding_window", "sliding"),
        ("final_int6_sliding_window_exact", "sliding"),
        ("final_int8_zlib_roundtrip_exact", "roundtrip"),
        ("ttt_sliding:done", "ttt"),
        ("legal_ttt", "ttt"),
        ("legal_ttt_exact", "ttt"),
    ]
    ttt_done = log.scores[6]
    assert (ttt_done.val_bpb, ttt_done.decimals, ttt_done.eval_time_ms) == (1.336032, 6, 405000)
    # "train_time: 590026ms step: 5453/20000" (spaces after the colons) is the stop line too.
    assert (log.steps, log.train_time_ms, log.stop_reason) == (5453, 590026, "wallclock_cap")
    assert log.eval_time_ms == 76195
    assert (log.total_bytes, log.code_bytes) == (15_999_533, 24_584)


def test_era_b_new_script() -> None:
    log = read_log(LOGS / "era_b" / "train_seed0.log")
    assert log.hyperparameters == {
        "artifact_dir": "",
        "compressor": "brotli",
        "eval_stride": "64",
        "gptq_reserve_seconds": "4.0",
        "iterations": "20000",
        "max_wallclock_seconds": "600.0",
        "seed": "1337",
        "train_batch_tokens": "786432",
        "ttt_enabled": "True",
        "vocab_size": "8192",
    }
    # The file says seed 0, the dump says 1337 (as in one of the records): flagged.
    assert (log.seed, log.seed_in_log, log.seed_in_file_name) == (1337, 1337, 0)
    assert log.seed_disagrees
    assert log.run_start_line == 2
    assert (log.steps, log.total_steps, log.train_time_ms) == (4921, 20000, 596107)
    # No step_avg in this era: derived from train time and steps.
    assert log.step_avg_derived
    assert log.step_avg_ms == pytest.approx(596107 / 4921)
    assert log.stop_reason == "wallclock_cap"
    assert (log.code_bytes, log.code_bytes_uncompressed) == (28_320, 125_671)
    assert (log.model_bytes, log.model_tag) == (15_903_987, "quantized+brotli")
    assert (log.total_bytes, log.total_tag) == (15_932_307, "quantized+brotli")
    assert log.eval_time_ms == 488_800
    assert (log.peak_memory_allocated_mib, log.peak_memory_reserved_mib) == (40029, 44036)
    score = log.score
    assert score is not None
    assert (score.family, score.label, score.val_bpb, score.val_loss) == (
        "ttt",
        "quantized_ttt_phased",
        1.06805820,
        2.33730724,
    )
    assert (score.eval_time_ms, score.line, score.decimals) == (488_803, 40, 8)
    assert [line.family for line in log.scores] == ["prequant", "roundtrip", "sliding", "ttt"]


def test_era_b_timestamp_prefixed_lines_read_like_plain_ones() -> None:
    plain = read_log(LOGS / "era_b" / "train_seed0.log")
    stamped = read_log(LOGS / "era_b" / "logs" / "train1.txt")
    assert stamped.file_name == "train1.txt"
    assert (stamped.seed, stamped.seed_in_file_name, stamped.seed_disagrees) == (1, 1, False)
    assert stamped.hyperparameters == {**plain.hyperparameters, "seed": "1"}
    assert stamped.score == plain.score
    for name in ("steps", "train_time_ms", "total_bytes", "code_bytes", "eval_time_ms"):
        assert getattr(stamped, name) == getattr(plain, name)
    assert stamped.sha256 != plain.sha256


def test_era_c_custom_script_one_line_config() -> None:
    log = read_log(LOGS / "era_c" / "ternary_log_7.txt")
    assert log.header == Header(python="3.13.12", torch="2.10.0+cu128")
    assert log.hyperparameters == {
        "activation_type": "relu2",
        "adam_eps": "1e-08",
        "batch_tokens": "524288",
        "compile_mode": "default",
        "eval_stride": "16",
        "iterations": "10000",
        "max_wallclock_seconds": "599.0",
        "seed": "7",
        "temp_search": "1",
        "vocab_size": "8192",
    }
    assert (log.seed, log.seed_in_file_name, log.seed_disagrees) == (7, 7, False)
    assert log.run_start_line == 16
    assert (log.steps, log.total_steps, log.train_time_ms) == (6530, 10000, 599_602)
    # "avg:" on the script's step lines is its printed step average.
    assert (log.step_avg_ms, log.step_avg_derived) == (91.8, False)
    assert log.last_train_loss == 3.0211
    # Sizes come from "artifact: ... code:N" and "budget:N/16000000".
    assert (log.code_bytes, log.total_bytes, log.total_tag, log.model_bytes) == (
        70_853,
        15_992_753,
        None,
        None,
    )
    score = log.score
    assert score is not None
    assert (score.family, score.label, score.val_bpb, score.val_loss) == (
        "sliding",
        "final_sliding",
        1.1578,
        2.9901,
    )
    assert (score.decimals, score.eval_time_ms, score.line) == (4, 429_023, 28)
    assert [line.label for line in log.scores] == ["final_ternary_roundtrip", "final_sliding"]


def test_era_c_script_without_run_marker_or_tagged_sizes() -> None:
    log = read_log(LOGS / "era_c" / "legendre.log")
    assert log.run_start_line is None
    assert log.seed is None
    assert (log.steps, log.total_steps, log.stop_reason) == (600, 600, "iterations")
    assert (log.train_time_ms, log.step_avg_ms) == (965_621, 1609.37)
    assert (log.peak_memory_allocated_mib, log.peak_memory_reserved_mib) == (23749, None)
    assert (log.model_bytes, log.model_tag) == (15_370_972, "INT7+zlib")
    assert (log.total_bytes, log.code_bytes) == (15_441_941, 70_969)
    score = log.score
    assert score is not None
    assert (score.label, score.val_bpb, score.decimals, score.eval_time_ms, score.line) == (
        "final_INT7_zlib_roundtrip",
        1.2353,
        4,
        None,
        27,
    )
    assert log.eval_time_ms is None


def test_multi_run_log_is_read_from_its_last_run() -> None:
    log = read_log(LOGS / "edge" / "multi_run.log")
    # The first run scored lower; it is not this log's run.
    assert log.run_start_line == 25
    assert log.header == Header(python="3.12.4", torch="2.11.0+cu130")
    assert (log.seed, log.steps, log.train_time_ms) == (2024, 12395, 600_044)
    assert (log.code_bytes, log.total_bytes) == (56_771, 15_353_490)
    assert len(log.scores) == 4
    score = log.score
    assert score is not None
    assert (score.label, score.val_bpb, score.eval_time_ms, score.line) == (
        "final_sliding_window_eval_exact stride:256",
        1.16301431,
        72_650,
        36,
    )


def test_truncated_log_keeps_what_it_has() -> None:
    log = read_log(LOGS / "edge" / "truncated_seed3.log")
    assert (log.seed, log.steps, log.total_bytes) == (3, 8562, 15_519_859)
    # The exact line was cut inside its loss; the rounded line is the best there is.
    assert [line.label for line in log.scores] == ["final_int6_roundtrip"]
    score = log.score
    assert score is not None
    assert (score.val_bpb, score.decimals, score.eval_time_ms, score.line) == (1.1786, 4, 1525, 10)


def test_nan_and_inf_losses_are_flagged_and_never_the_score() -> None:
    log = read_log(LOGS / "edge" / "nan_loss.log")
    assert log.nonfinite_loss_lines == (6, 7, 8, 9, 13, 14)
    assert log.has_nonfinite_loss
    assert log.last_train_loss is not None and math.isnan(log.last_train_loss)
    assert log.last_val_bpb is not None and math.isnan(log.last_val_bpb)
    assert [line.family for line in log.scores] == ["roundtrip", "sliding"]
    assert log.score is None
    assert (log.steps, log.stop_reason, log.total_bytes) == (200, "iterations", 221_519)
    assert log.eval_time_ms == 10_500


def test_sliding_label_variant_and_seed_that_disagrees_with_the_file_name() -> None:
    log = read_log(LOGS / "edge" / "train_seed_2026.txt")
    assert (log.seed, log.seed_in_log, log.seed_in_file_name, log.seed_disagrees) == (
        1337,
        1337,
        2026,
        True,
    )
    score = log.score
    assert score is not None
    assert (score.family, score.label, score.val_bpb, score.val_loss) == (
        "sliding",
        "final_int8_zlib_roundtrip_exact sliding",
        1.19665674,
        2.02050108,
    )
    # The exact line prints no time; its rounded twin does.
    assert (score.eval_time_ms, score.line) == (149_675, 14)


def test_template_log_header_fingerprint_and_a_better_ttt() -> None:
    log = read_log(LOGS / "edge" / "template.log")
    assert log.header == Header(
        template_version="0.1.0",
        python="3.11.7",
        torch="2.13.0+cu128",
        cuda="12.8",
        device="NVIDIA H100 80GB HBM3",
        world_size=8,
        command="/runs/exp/seed42/train_gpt.py",
        code_sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    )
    assert log.data == {
        "train_shards": 8,
        "val_shards": 1,
        "train_tokens": 800_000_000,
        "val_tokens": 62_021_632,
        "val_bytes": 151_080_363,
    }
    assert log.hyperparameters == {
        "data_path": "./data/datasets/builtin_sp1024",
        "seed": "42",
        "ttt_enabled": "1",
    }
    assert (log.steps, log.stop_reason, log.step_avg_ms) == (20000, "iterations", 29.5)
    assert log.eval_time_ms == 374_100
    score = log.score
    assert score is not None
    assert (score.family, score.label, score.val_bpb, score.eval_time_ms, score.line) == (
        "ttt",
        "legal_ttt_exact",
        1.20155678,
        301_234,
        23,
    )


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    source = (LOGS / "era_a" / "train_seed1337.log").read_bytes()
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_bytes(source)
    second.write_bytes(source)
    assert read_log(first).sha256 == read_log(second).sha256
    assert read_log(first).sha256 == read_log(LOGS / "era_a" / "train_seed1337.log").sha256
    second.write_bytes(source + b"\n")
    assert read_log(second).sha256 != read_log(first).sha256
    assert parse_log(source.decode()).sha256 is None


# --------------------------------------------------------------------------------------------
# read_log on files that are not logs
# --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PgolfInputError) as error:
        read_log(tmp_path / "train_seed1.log")
    assert error.value.path == str(tmp_path / "train_seed1.log")
    assert error.value.problem == "the log file does not exist"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(PgolfInputError) as error:
        read_log(tmp_path)
    assert error.value.problem == "is a directory, not a log file"


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "final_model.int6.ptz"
    path.write_bytes(b"PGRP\x02\x00\x00\x00\xff\xfe")
    with pytest.raises(PgolfInputError) as error:
        read_log(path)
    assert error.value.problem == "is a binary file (NUL byte at offset 5), not a text train log"
    assert "text log the training script printed" in error.value.fix


def test_non_utf8_file_reports_where(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    path.write_bytes(b"seed:1\nstep:1/2 train_loss:2.0 caf\xe9\n")
    with pytest.raises(PgolfInputError) as error:
        read_log(path)
    assert error.value.problem == (
        "is not UTF-8: byte 0xe9 at offset 34 (line 2) cannot be decoded"
    )
    assert "UTF-8" in error.value.fix


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    path.write_bytes(b"\xef\xbb\xbfseed:9\n")
    assert read_log(path).seed == 9


# --------------------------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "seed"),
    [
        ("train_seed42.log", 42),
        ("train_seed_1337.txt", 1337),
        ("seed_0.log", 0),
        ("log_10mins_seed-7.txt", 7),
        ("train_seed42_pr1851_original.log", 42),
        ("hybrid_gdn_1xh100_600s_seq32768_s42.txt", 42),
        ("4096_hybrid448_s1337.txt", 1337),
        ("train2.txt", 2),
        ("ternary_log_1337.txt", 1337),
        ("train.log", None),
        ("train_v1.txt", None),
        ("baseline_1xh100_600s_seq8192.txt", None),
        ("summary.log", None),
    ],
)
def test_seed_from_file_name(name: str, seed: int | None) -> None:
    assert seed_from_file_name(name) == seed


def _line(label: str, bpb: str, *, line: int, family: Family = "sliding") -> ScoreLine:
    decimals = len(bpb.partition(".")[2])
    return ScoreLine(
        label=label,
        family=family,
        val_loss=2.0,
        val_bpb=float(bpb),
        eval_time_ms=None,
        exact="_exact" in label,
        text=f"{label} val_bpb:{bpb}",
        decimals=decimals,
        line=line,
    )


def test_rounded_minimum_takes_its_exact_twin() -> None:
    # 1.20226 rounds to 1.2023 > 1.2022: the rounded line of another run of the same value is
    # the minimum, and the 8-decimal line within half a unit of it gives the value.
    rounded = _line("final_sliding_window", "1.2022", line=1)
    exact = _line("final_sliding_window_exact", "1.20224999", line=2)
    score = select_score([rounded, exact])
    assert score is not None and (score.val_bpb, score.line) == (1.20224999, 2)


def test_lines_outside_rounding_distance_are_different_evaluations() -> None:
    lowest = _line("final_int6_roundtrip", "1.2015", line=1, family="roundtrip")
    other = _line("final_sliding_window_exact", "1.20160001", line=2)
    score = select_score([lowest, other])
    assert score is not None and (score.label, score.val_bpb) == ("final_int6_roundtrip", 1.2015)


def _template_log(roundtrip: str, sliding: str) -> str:
    return (
        f"final_int6_roundtrip val_loss:4.4 val_bpb:{float(roundtrip):.4f} eval_time:300ms\n"
        f"final_int6_roundtrip_exact val_loss:4.4 val_bpb:{roundtrip}\n"
        f"final_sliding_window val_loss:4.4 val_bpb:{float(sliding):.4f} eval_time:500ms\n"
        f"final_sliding_window_exact val_loss:4.4 val_bpb:{sliding}\n"
    )


def test_the_seeds_of_a_run_are_scored_by_one_evaluation() -> None:
    # A small CPU run: sliding is lower for two seeds, the roundtrip for the third. Each log
    # alone would mix the kinds; together they take the kind with the lowest mean.
    logs = [
        parse_log(_template_log("3.72246682", "3.72004792")),
        parse_log(_template_log("3.67565840", "3.67545570")),
        parse_log(_template_log("3.68988056", "3.69096255")),
    ]
    assert [log.score.label for log in logs if log.score] == [
        "final_sliding_window_exact",
        "final_sliding_window_exact",
        "final_int6_roundtrip_exact",
    ]
    scores = common_scores(logs)
    assert [s.label for s in scores if s] == ["final_sliding_window_exact"] * 3
    assert [s.val_bpb for s in scores if s] == [3.72004792, 3.67545570, 3.69096255]
    # The exact line gives the value, its rounded twin the eval time.
    assert [s.eval_time_ms for s in scores if s] == [500, 500, 500]


def test_one_evaluation_is_the_lowest_mean_of_the_kinds_all_logs_print() -> None:
    roundtrip_lower = [
        parse_log(_template_log("1.20000000", "1.20100000")),
        parse_log(_template_log("1.21000000", "1.20900000")),
    ]
    assert [s.label for s in common_scores(roundtrip_lower) if s] == [
        "final_int6_roundtrip_exact"
    ] * 2
    # A kind only one log prints (a TTT pass run for one seed) cannot score the others.
    ttt = parse_log(
        _template_log("1.20000000", "1.19000000")
        + "legal_ttt_exact val_loss:4.0 val_bpb:1.10000000\n"
    )
    plain = parse_log(_template_log("1.20000000", "1.18000000"))
    assert [s.label for s in common_scores([ttt, plain]) if s] == ["final_sliding_window_exact"] * 2
    # Nothing in common: each log keeps its own score.
    other = parse_log("final_ternary_roundtrip val_loss:4.0 val_bpb:1.3000\n")
    assert common_scores([plain, other]) == (plain.score, other.score)
    assert common_scores([]) == ()


def test_no_score_lines_no_score() -> None:
    assert select_score([]) is None
    assert select_score([_line("DIAGNOSTIC post_ema", "1.1", line=1, family="prequant")]) is None


def test_carriage_return_progress_shows_its_last_part() -> None:
    text = "eval 10%\reval 90%\rfinal_int6_roundtrip val_loss:2.0 val_bpb:1.2 eval_time:5ms\n"
    score = parse_log(text).score
    assert score is not None and (score.val_bpb, score.line) == (1.2, 1)


def test_indented_lines_outside_a_dump_are_ignored() -> None:
    text = (
        "  final_int6_roundtrip val_loss:1.0 val_bpb:0.5\n"
        "  seed: 3\n"
        "    Total submission size int6: 10 bytes\n"
    )
    log = parse_log(text)
    assert (log.scores, log.seed, log.total_bytes) == ((), None, None)


def test_reader_counts_lines_and_carries_the_file_name() -> None:
    reader = LogReader(file_name="train_seed7.log")
    for line in ("noise\n", "final_int6_roundtrip val_loss:2.0 val_bpb:1.25 eval_time:9ms\n"):
        reader.feed(line)
    log = reader.result()
    assert (log.seed, log.file_name) == (7, "train_seed7.log")
    assert log.score is not None and log.score.line == 2


def test_reader_snapshot_is_reused_until_a_line_changes_something() -> None:
    reader = LogReader()
    reader.feed("Hyperparameters:\n")
    reader.feed("  seed: 4\n")
    first = reader.result()
    reader.feed("ttp: b776/782 bl:2.6543 bb:1.0611\n")
    assert reader.result() is first
    reader.feed("step:10/20 train_loss:3.5 train_time:100ms step_avg:10.00ms\n")
    second = reader.result()
    assert second is not first
    assert (first.steps, second.steps, second.seed) == (None, 10, 4)


def test_data_facts_from_the_challenge_scripts_lines() -> None:
    log = parse_log(
        "val_loader:shards pattern=./data/fineweb_val_*.bin tokens:62021632\n"
        "train_loader:dataset:fineweb10B_sp1024 train_shards:80\n"
        "val_tokens: 1\n"
        "step:1/2 val_loss:3.0 val_bpb:1.5\n"
    )
    assert log.data == {"val_tokens": 62021632, "train_shards": 80}
    # The template's own fingerprint line wins over the older lines.
    assert parse_log("val_tokens: 5\ndata: val_tokens:7 val_bytes:9\n").data == {
        "val_tokens": 7,
        "val_bytes": 9,
    }
