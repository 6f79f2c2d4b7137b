"""The train-log parser on hand-written logs in the template's format and the records' variants."""

from __future__ import annotations

import pytest

from pgolf_cli.records.logs import LogReader, ScoreLine, StopEarly, TrainStep, parse_log

SHA = "ab" * 32

TEMPLATE_LOG = f"""\
pgolf_template: 0.1.0
python: 3.11.7 torch: 2.13.0+cu128 cuda: 12.8 device: NVIDIA H100 80GB HBM3 world_size: 8
command: /runs/train_gpt.py
code_sha256: {SHA}
Hyperparameters:
  data_path: /data/datasets/fineweb10B_sp1024
  seed: 42
  iterations: 20000
  train_batch_tokens: 524288
  max_wallclock_seconds: 600.0
  ttt_enabled: 0
data: train_shards:80 val_shards:1 train_tokens:8000000000 val_tokens:62021632 val_bytes:151080363
step:0/20000 val_loss:6.9357 val_bpb:4.1077 train_time:0ms step_avg:0.01ms
step:200/20000 train_loss:3.2101 train_time:12000ms step_avg:60.00ms tok_s:8738133
step:9000/20000 val_loss:2.0700 val_bpb:1.2260 train_time:540000ms step_avg:60.00ms
step:10001/20000 train_loss:2.0500 train_time:600050ms step_avg:60.00ms tok_s:8738000
stopping_early: wallclock_cap train_time:600050ms step:10001/20000
step:10001/20000 val_loss:2.0500 val_bpb:1.2141 train_time:600050ms step_avg:60.00ms
peak memory allocated: 10184 MiB reserved: 10588 MiB
Code size: 47686 bytes
Serialized model int6+zstd-22: 15812345 bytes
Total submission size int6+zstd-22: 15860031 bytes
final_int6_roundtrip val_loss:2.0601 val_bpb:1.2201 eval_time:1412ms
final_int6_roundtrip_exact val_loss:2.06012345 val_bpb:1.22012345
final_sliding_window val_loss:2.0301 val_bpb:1.2023 stride:64 eval_seq_len:1024 eval_time:71234ms
final_sliding_window_exact val_loss:2.03012345 val_bpb:1.20234567
total_eval_time:72.6s
"""


def test_template_log_facts() -> None:
    log = parse_log(TEMPLATE_LOG)
    assert log.header.template_version == "0.1.0"
    assert log.header.python == "3.11.7"
    assert log.header.torch == "2.13.0+cu128"
    assert log.header.cuda == "12.8"
    assert log.header.device == "NVIDIA H100 80GB HBM3"
    assert log.header.world_size == 8
    assert log.header.command == "/runs/train_gpt.py"
    assert log.header.code_sha256 == SHA
    assert log.seed == 42
    assert log.hyperparameters["iterations"] == "20000"
    assert log.hyperparameters["data_path"] == "/data/datasets/fineweb10B_sp1024"
    assert log.data == {
        "train_shards": 80,
        "val_shards": 1,
        "train_tokens": 8_000_000_000,
        "val_tokens": 62_021_632,
        "val_bytes": 151_080_363,
    }
    assert (log.steps, log.total_steps) == (10001, 20000)
    assert log.train_time_ms == 600050
    assert log.step_avg_ms == 60.0
    assert not log.step_avg_derived
    assert log.stop_reason == "wallclock_cap"
    assert log.last_train_loss == 2.05
    assert log.last_val_bpb == 1.2141
    assert (log.peak_memory_allocated_mib, log.peak_memory_reserved_mib) == (10184, 10588)
    assert log.code_bytes == 47686
    assert (log.model_bytes, log.model_tag) == (15_812_345, "int6+zstd-22")
    assert (log.total_bytes, log.total_tag) == (15_860_031, "int6+zstd-22")
    assert log.eval_time_ms == pytest.approx(72_600)


def test_score_is_the_sliding_window_exact_value_with_the_rounded_lines_eval_time() -> None:
    score = parse_log(TEMPLATE_LOG).score
    assert score is not None
    assert score.family == "sliding"
    assert score.label == "final_sliding_window_exact"
    assert score.val_bpb == 1.20234567
    assert score.val_loss == 2.03012345
    assert score.eval_time_ms == 71234
    assert score.text == "final_sliding_window_exact val_loss:2.03012345 val_bpb:1.20234567"


def test_all_final_lines_are_kept_in_order() -> None:
    labels = [line.label for line in parse_log(TEMPLATE_LOG).scores]
    assert labels == [
        "final_int6_roundtrip",
        "final_int6_roundtrip_exact",
        "final_sliding_window",
        "final_sliding_window_exact",
    ]


def test_the_lowest_evaluation_wins_even_when_a_later_ttt_is_worse() -> None:
    text = TEMPLATE_LOG.replace(
        "total_eval_time:72.6s\n",
        "legal_ttt val_loss:2.1000 val_bpb:1.2500 eval_time:300000ms\n"
        "legal_ttt_exact val_loss:2.10000001 val_bpb:1.25000001\n"
        "total_eval_time:372.6s\n",
    )
    score = parse_log(text).score
    assert score is not None
    assert (score.family, score.label, score.val_bpb) == (
        "sliding",
        "final_sliding_window_exact",
        1.20234567,
    )
    assert score.eval_time_ms == 71234


def test_a_better_ttt_is_the_score() -> None:
    text = TEMPLATE_LOG.replace(
        "total_eval_time:72.6s\n",
        "legal_ttt val_loss:2.0100 val_bpb:1.1900 eval_time:300000ms\n"
        "legal_ttt_exact val_loss:2.01000001 val_bpb:1.19000001\n"
        "total_eval_time:372.6s\n",
    )
    score = parse_log(text).score
    assert score is not None
    assert (score.family, score.label, score.val_bpb) == ("ttt", "legal_ttt_exact", 1.19000001)
    assert score.eval_time_ms == 300000


def test_roundtrip_only_and_no_exact_twin() -> None:
    text = "final_int8_zlib_roundtrip val_loss:2.0700 val_bpb:1.2244 eval_time:1500ms\n"
    score = parse_log(text).score
    assert score is not None
    assert (score.family, score.label, score.val_bpb, score.eval_time_ms) == (
        "roundtrip",
        "final_int8_zlib_roundtrip",
        1.2244,
        1500,
    )


def test_pre_quantization_lines_are_never_the_score() -> None:
    text = (
        "pre-quantization post-ema val_loss:1.9000 val_bpb:1.1000 eval_time:9000ms\n"
        "DIAGNOSTIC post_ema val_loss:1.9000 val_bpb:1.1000\n"
    )
    log = parse_log(text)
    assert [line.family for line in log.scores] == ["prequant", "prequant"]
    assert log.score is None


def test_truncated_log_has_no_score_and_keeps_what_it_has() -> None:
    cut = TEMPLATE_LOG.index("final_int6_roundtrip val_loss")
    text = TEMPLATE_LOG[:cut] + "final_int6_roundtrip val_lo"
    log = parse_log(text)
    assert log.score is None
    assert log.scores == ()
    assert log.total_bytes == 15_860_031
    assert log.steps == 10001


def test_log_cut_inside_training() -> None:
    text = TEMPLATE_LOG[: TEMPLATE_LOG.index("step:9000")] + "step:90"
    log = parse_log(text)
    assert log.score is None
    assert (log.steps, log.train_time_ms) == (200, 12000)
    assert log.stop_reason is None
    assert log.total_bytes is None


def test_timestamp_prefixed_lines() -> None:
    stamped = "".join(
        f"1776143349.{i:03d} {line}\n" for i, line in enumerate(TEMPLATE_LOG.splitlines())
    )
    plain, log = parse_log(TEMPLATE_LOG), parse_log(stamped)
    assert log == plain
    assert log.seed == 42


def test_windows_line_endings() -> None:
    assert parse_log(TEMPLATE_LOG.replace("\n", "\r\n")) == parse_log(TEMPLATE_LOG)


def test_empty_and_unrelated_text() -> None:
    log = parse_log("hello\nworld\n")
    assert log.score is None
    assert log.steps is None
    assert log.hyperparameters == {}
    assert parse_log("").score is None


def test_last_run_of_a_multi_run_log_wins() -> None:
    first = TEMPLATE_LOG.replace("  seed: 42", "  seed: 1").replace("1.20234567", "1.30000000")
    log = parse_log(first + TEMPLATE_LOG)
    assert log.seed == 42
    score = log.score
    assert score is not None and score.val_bpb == 1.20234567
    assert len(log.scores) == 4


def test_header_before_the_dump_belongs_to_the_same_run() -> None:
    # The banner and the dump both start a run; only a start after training begins a new one.
    log = parse_log(TEMPLATE_LOG)
    assert log.header.code_sha256 == SHA
    assert log.hyperparameters["seed"] == "42"


def test_step_average_is_derived_when_not_printed() -> None:
    text = (
        "Hyperparameters:\n  seed: 7\n"
        "500/20000 train_loss: 3.1 train_time: 1.0m tok/s: 900000\n"
        "stopping_early: wallclock_cap train_time: 588000ms step: 4900/20000\n"
        "quantized_sliding_window val_loss:2.0000 val_bpb:1.1000 eval_time:90000ms\n"
    )
    log = parse_log(text)
    assert log.seed == 7
    assert (log.steps, log.train_time_ms) == (4900, 588000)
    assert log.step_avg_derived
    assert log.step_avg_ms == pytest.approx(120.0)
    score = log.score
    assert score is not None and score.family == "sliding"


def test_compressed_code_size_is_preferred() -> None:
    text = "Code size (uncompressed): 120000 bytes\nCode size (compressed): 30000 bytes\n"
    assert parse_log(text).code_bytes == 30000


def test_tagged_total_after_the_raw_one() -> None:
    text = (
        "Serialized model: 67000000 bytes\n"
        "Code size: 47000 bytes\n"
        "Total submission size: 67047000 bytes\n"
        "Serialized model int8+zlib: 15800000 bytes (payload:1 raw_torch:2 payload_ratio:3x)\n"
        "Total submission size int8+zlib: 15847000 bytes\n"
    )
    log = parse_log(text)
    assert (log.model_bytes, log.model_tag) == (15_800_000, "int8+zlib")
    assert (log.total_bytes, log.total_tag) == (15_847_000, "int8+zlib")


def test_stop_reason_iterations_when_the_last_step_is_reached() -> None:
    log = parse_log("step:20/20 train_loss:4.0 train_time:100ms step_avg:5.00ms\n")
    assert log.stop_reason == "iterations"


def test_reader_reports_events_as_lines_stream() -> None:
    reader = LogReader()
    assert reader.feed("Hyperparameters:\n") is not None
    assert reader.feed("  train_batch_tokens: 2048\n") is not None
    event = reader.feed("step:5/20 train_loss:6.0 train_time:50ms step_avg:10.00ms tok_s:4096\n")
    assert event == TrainStep(5, 20, 6.0, 50.0, 10.0, 4096.0)
    assert reader.result().hyperparameters == {"train_batch_tokens": "2048"}
    stop = reader.feed("stopping_early: wallclock_cap train_time:150000ms step:150/200")
    assert stop == StopEarly("wallclock_cap", 150000.0, 150, 200)
    score = reader.feed("final_int6_roundtrip val_loss:5.0 val_bpb:3.0 eval_time:10ms\n")
    assert isinstance(score, ScoreLine) and score.family == "roundtrip"
    assert reader.feed("some other print\n") is None
    # The reader keeps reading after a snapshot.
    assert reader.result().steps == 150
    assert reader.result().score is not None
