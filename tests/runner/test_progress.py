"""The live view's state from streamed log lines, and the plain (non-terminal) view."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from pgolf_cli.records.logs import LogReader
from pgolf_cli.runner.progress import (
    LiveView,
    PlainView,
    Rendezvous,
    SeedProgress,
    format_duration,
    status_text,
)

STREAM = [
    "pgolf_template: 0.1.0\n",
    "Hyperparameters:\n",
    "  train_batch_tokens: 16384\n",
    "  max_wallclock_seconds: 150.0\n",
    "step:0/200 val_loss:6.8823 val_bpb:4.1731 train_time:0ms step_avg:0.01ms\n",
    "step:10/200 train_loss:5.0957 train_time:14000ms step_avg:1400.00ms tok_s:11703\n",
]


def feed(progress: SeedProgress, lines: list[str], reader: LogReader | None = None) -> list[bool]:
    reader = reader or LogReader()
    return [progress.update(reader.feed(line), reader.result()) for line in lines]


def test_state_follows_the_stream() -> None:
    progress = SeedProgress(index=1, count=3, seed=42, started=0.0, wallclock_cap_s=600.0)
    changed = feed(progress, STREAM)
    assert changed == [False, False, False, False, True, True]
    assert progress.phase == "training"
    assert (progress.step, progress.total) == (10, 200)
    assert progress.train_loss == 5.0957
    assert progress.tokens_per_s == 11703
    assert progress.val_bpb == 4.1731
    assert progress.batch_tokens == 16384
    # The script's own cap (from the dump) wins over the preset's.
    assert progress.wallclock_cap_s == 150.0


def test_eta_is_the_pace_or_the_cap_whichever_comes_first() -> None:
    progress = SeedProgress(index=1, count=1, seed=1, started=0.0)
    feed(progress, STREAM)
    # 190 steps at 1.4 s would be 266 s, but the cap leaves 150 - 14 = 136 s.
    assert progress.training_eta_s() == 136.0
    progress.wallclock_cap_s = 0.0
    assert progress.training_eta_s() == 266.0


def test_no_eta_before_the_first_step_or_after_training() -> None:
    progress = SeedProgress(index=1, count=1, seed=1, started=0.0)
    feed(progress, STREAM[:5])
    assert progress.training_eta_s() is None
    feed(progress, [*STREAM[5:], "stopping_early: wallclock_cap train_time:150100ms step:107/200"])
    assert progress.phase == "evaluating"
    assert progress.training_eta_s() is None
    assert progress.train_time_ms == 150100


def test_tokens_per_second_is_derived_without_tok_s() -> None:
    progress = SeedProgress(index=1, count=1, seed=1, started=0.0)
    feed(
        progress, [*STREAM[:4], "step:10/200 train_loss:5.0 train_time:20000ms step_avg:2000.00ms"]
    )
    assert progress.tokens_per_s == 16384 / 2.0


def test_score_lines_move_to_evaluating() -> None:
    progress = SeedProgress(index=1, count=1, seed=1, started=0.0)
    reader = LogReader()
    feed(progress, STREAM, reader)
    assert feed(
        progress, ["Code size: 100 bytes\n", "Total submission size x: 5 bytes\n"], reader
    ) == [
        True,
        False,
    ]
    assert progress.phase == "evaluating"


def test_status_text() -> None:
    progress = SeedProgress(index=2, count=3, seed=1337, started=0.0)
    feed(progress, STREAM)
    text = status_text(progress, now=75.0)
    assert text == (
        "seed 2/3 (1337) · training · step 10/200 · loss 5.0957 · 11.7k tok/s · "
        "elapsed 1m15s (training 14s of 2m30s cap) · ETA 2m16s · val_bpb 4.1731 (step 0)"
    )


def test_phase_lines_name_the_work_between_log_lines() -> None:
    progress = SeedProgress(index=1, count=1, seed=1, started=0.0)
    assert progress.update(None, None, "phase:data", now=1.0)
    assert progress.phase == "starting"
    assert status_text(progress, now=4.0).startswith(
        "seed 1/1 (1) · starting: loading the tokenizer and data (3s) · "
    )
    progress.update(None, None, "phase:validation step:0/150", now=5.0)
    assert progress.activity_text(now=7.0) == "validating step:0/150 (2s)"
    reader = LogReader()
    line = "step:0/150 val_loss:6.9 val_bpb:4.1 train_time:0ms step_avg:0.01ms"
    progress.update(reader.feed(line), reader.result(), line, now=8.0)
    assert progress.activity is None and progress.phase == "training"
    progress.update(None, None, "phase:training", now=8.0)
    assert progress.activity_text(now=9.0) is None
    progress.update(None, None, "phase:export", now=20.0)
    assert progress.phase == "evaluating"
    progress.update(None, None, "phase:eval final_sliding_window windows:1021", now=30.0)
    assert "scoring final_sliding_window windows:1021 (12s)" in status_text(progress, now=42.0)


def test_the_last_validation_gives_way_to_the_final_scores() -> None:
    progress = SeedProgress(index=1, count=1, seed=1, started=0.0)
    reader = LogReader()
    feed(progress, STREAM, reader)
    assert progress.val_bpb_at == "step 0"
    line = "final_int6_roundtrip val_loss:3.0 val_bpb:1.7713 eval_time:2000ms"
    assert progress.update(reader.feed(line), reader.result(), line)
    assert (progress.val_bpb, progress.val_bpb_at) == (1.7713, "final_int6_roundtrip")
    assert status_text(progress, now=100.0).endswith("val_bpb 1.7713 (final_int6_roundtrip)")


def test_a_multi_node_wait_shows_the_endpoint_and_a_countdown() -> None:
    progress = SeedProgress(
        index=1, count=1, seed=1, started=0.0, rendezvous=Rendezvous("host0:29500", 2, 600.0)
    )
    assert status_text(progress, now=45.0).startswith(
        "seed 1/1 (1) · starting: waiting for 2 nodes at host0:29500 (torchrun gives up in 9m15s)"
    )
    # torchrun's own complaints while it waits do not end the wait, but they are shown.
    progress.update(None, None, "[W socket.cpp:752] connect failed")
    assert progress.rendezvous is not None
    assert progress.activity_text(now=46.0) == (
        "waiting for 2 nodes at host0:29500 (torchrun gives up in 9m14s); "
        "last output: [W socket.cpp:752] connect failed"
    )
    # The script's first line means the nodes met.
    progress.update(None, None, "phase:data", now=50.0)
    assert progress.rendezvous is None
    assert progress.activity_text(now=51.0) == "loading the tokenizer and data (1s)"


def test_a_script_without_phase_lines_shows_its_last_line() -> None:
    progress = SeedProgress(index=1, count=1, seed=1, started=0.0)
    assert progress.activity_text(now=1.0) == "launching the script"
    progress.update(None, None, "loading my custom dataset...\n")
    assert progress.activity_text(now=1.0) == "last output: loading my custom dataset..."


def test_format_duration() -> None:
    assert format_duration(3.4) == "3s"
    assert format_duration(125) == "2m05s"
    assert format_duration(3725) == "1h02m05s"
    assert format_duration(3.44, tenths_below_minute=True) == "3.4s"
    assert format_duration(61, tenths_below_minute=True) == "1m01s"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_view_prints_at_most_every_interval_and_on_phase_changes(tmp_path: Path) -> None:
    out = io.StringIO()
    clock = Clock()
    view = PlainView(Console(file=out, width=200), every_s=30.0, clock=clock)
    progress = SeedProgress(index=1, count=1, seed=7, started=0.0)
    view.seed_started(progress, tmp_path, {})
    reader = LogReader()
    lines = [f"step:{i}/100 train_loss:5.0 train_time:{i}ms step_avg:1.00ms\n" for i in (1, 2, 3)]
    for when, line in zip((1.0, 10.0, 40.0), lines, strict=True):
        clock.now = when
        view.line(progress, progress.update(reader.feed(line), reader.result()))
    clock.now = 41.0
    view.line(progress, progress.update(reader.feed("Code size: 1 bytes\n"), reader.result()))
    printed = out.getvalue().splitlines()
    assert printed[0] == f"seed 1/1 (7): running in {tmp_path}"
    # Step 1 is a phase change (starting -> training), step 2 comes too soon, step 3 after 30 s,
    # and the export line starts the evaluation phase.
    assert [line.split(" · ")[2] for line in printed[1:]] == [
        "step 1/100",
        "step 3/100",
        "step 3/100",
    ]
    assert " · evaluating · " in printed[-1]
    assert "\x1b[" not in out.getvalue()


def test_live_view_draws_and_stops(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True)
    view = LiveView(console)
    progress = SeedProgress(index=1, count=1, seed=7, started=0.0)
    view.seed_started(progress, tmp_path, {})
    progress.update(LogReader().feed(STREAM[5]))
    view.line(progress, True)
    view.close()
    text = out.getvalue()
    assert "step 10/200" in text
    assert str(tmp_path / "train.log") in text
