"""The loss curve of the train summary: points from train.log, drawn as a sparkline."""

from __future__ import annotations

from pathlib import Path

from pgolf_cli.runner.curve import LossCurve, read_curve, sparkline


def test_sparkline_spans_lowest_to_highest() -> None:
    assert sparkline([8.0, 1.0, 4.5]) == "█▁▅"
    assert sparkline([2.0, 2.0]) == "▄▄"
    assert sparkline([]) == ""
    assert sparkline([1.0, float("nan"), 3.0]) == "▁·█"


def test_long_curves_are_averaged_to_the_width() -> None:
    line = sparkline([float(v) for v in range(100)], width=10)
    assert len(line) == 10
    assert line[0] == "▁" and line[-1] == "█"
    assert list(line) == sorted(line)


def test_points_come_from_the_last_run_of_the_log(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text(
        "step:5/10 train_loss:9.0000 train_time:1ms step_avg:1.00ms\n"
        "step:5/10 train_loss:6.9000 train_time:1ms step_avg:1.00ms\n"  # a restart: begins again
        "phase:validation step:5/10\n"
        "step:5/10 val_loss:6.0 val_bpb:3.5 train_time:1ms step_avg:1.00ms\n"
        "step:10/10 train_loss:3.1000 train_time:2ms step_avg:1.00ms\n",
        encoding="utf-8",
    )
    curve = read_curve(log)
    assert curve == LossCurve((5, 10), (6.9, 3.1))
    assert curve.text() == "6.9000 █▁ 3.1000 (steps 5-10)"
    assert read_curve(tmp_path / "missing.log").text() == ""
