"""run_training with the fake script, run directly by Python (torchrun is tested in the CLI tests)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pgolf_cli.run_folder import FLAG_ARTIFACT, FLAG_EVAL_TIME, FLAG_NO_SCORE, FLAG_TRAIN_TIME
from pgolf_cli.runner.outcome import SeedOutcome
from pgolf_cli.runner.presets import get_preset
from pgolf_cli.runner.progress import RunObserver, SeedProgress
from pgolf_cli.runner.run import RunExistsError, RunPlan, run_training


def plan_for(script: Path, tmp_path: Path, **changes: object) -> RunPlan:
    settings: dict[str, object] = {
        "name": "exp",
        "script": script,
        "seeds": (42,),
        "out_dir": tmp_path / "runs",
        "preset": get_preset("cpu-tiny"),
        "overrides": {"DATA_PATH": "/data/ds", "TOKENIZER_PATH": "/data/tok.model"},
        "launcher": (sys.executable,),
        "grace_s": 2.0,
    }
    settings.update(changes)
    return RunPlan(**settings)  # type: ignore[arg-type]


class Recorder(RunObserver):
    def __init__(self) -> None:
        self.events: list[str] = []
        self.steps: list[int | None] = []

    def seed_started(self, progress: SeedProgress, seed_dir: Path, env: object) -> None:
        self.events.append(f"start {progress.seed} {progress.index}/{progress.count}")

    def line(self, progress: SeedProgress, changed: bool) -> None:
        if changed:
            self.steps.append(progress.step)

    def seed_finished(self, outcome: SeedOutcome) -> None:
        self.events.append(f"end {outcome.seed} {outcome.stopped_by}")

    def close(self) -> None:
        self.events.append("close")


def test_one_seed_end_to_end(fake_script: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    outcome = run_training(plan_for(fake_script, tmp_path), recorder)
    assert not outcome.interrupted and not outcome.failed
    (seed,) = outcome.seeds
    assert seed.ok and seed.exit_status == 0 and seed.flags == ()
    seed_dir = tmp_path / "runs" / "exp" / "seed42"
    assert seed.seed_dir == seed_dir
    assert recorder.events == ["start 42 1/1", "end 42 None", "close"]
    assert 10 in recorder.steps and 20 in recorder.steps

    seen = json.loads((seed_dir / "seen.json").read_text())
    assert Path(seen["cwd"]) == seed_dir.resolve()
    assert seen["env"]["SEED"] == "42"
    assert seen["env"]["RUN_ID"] == "exp-seed42"
    assert seen["env"]["DATA_PATH"] == "/data/ds"
    assert seen["env"]["NUM_LAYERS"] == "2"  # from the cpu-tiny preset

    log_text = (seed_dir / "train.log").read_text()
    assert log_text.startswith("pgolf_template: fake-1\n")
    assert "final_sliding_window_exact" in log_text

    record = json.loads((seed_dir / "run.json").read_text())
    assert record["seed"] == 42
    assert record["stopped_by"] is None and record["exit_status"] == 0
    assert record["results"]["val_bpb"] == pytest.approx(3.0 + 42 / 1e6 - 0.1)
    assert record["results"]["score_label"] == "final_sliding_window_exact"
    assert record["artifact"] == {"path": "final_model.int6.ptz", "bytes": 1000}
    assert record["command"] == [sys.executable, str(fake_script.resolve())]
    assert record["env"]["SEED"] == "42"
    assert "PATH" not in record["env"]  # only what pgolf set, not the inherited environment
    assert record["flags"] == []
    assert not list(seed_dir.glob(".run.json.*"))


def test_a_failing_seed_does_not_stop_the_others(
    fake_script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FAIL_SEED", "2")
    outcome = run_training(plan_for(fake_script, tmp_path, seeds=(1, 2, 3)))
    assert [s.seed for s in outcome.seeds] == [1, 2, 3]
    assert [s.stopped_by for s in outcome.seeds] == [None, "failure", None]
    failed = outcome.failed[0]
    assert failed.exit_status == 1
    assert failed.first_error == "RuntimeError: fake training failed"
    assert any("Traceback" in line for line in failed.tail)
    record = json.loads((failed.seed_dir / "run.json").read_text())
    assert (record["stopped_by"], record["exit_status"]) == ("failure", 1)
    assert "fake training failed" in (failed.seed_dir / "train.log").read_text()
    assert FLAG_NO_SCORE in record["flags"]


def test_no_score_line_is_a_failure_even_with_exit_status_0(
    fake_script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MODE", "noscore")
    (seed,) = run_training(plan_for(fake_script, tmp_path)).seeds
    assert (seed.exit_status, seed.stopped_by) == (0, "failure")
    assert seed.flags == (FLAG_NO_SCORE,)


def test_limits_are_flagged_but_not_failures(
    fake_script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TRAIN_MS", "600500")
    monkeypatch.setenv("FAKE_EVAL_S", "601")
    monkeypatch.setenv("FAKE_MODEL_BYTES", "16000000")
    (seed,) = run_training(plan_for(fake_script, tmp_path)).seeds
    assert seed.ok
    assert seed.flags == (FLAG_TRAIN_TIME, FLAG_EVAL_TIME, FLAG_ARTIFACT)
    record = json.loads((seed.seed_dir / "run.json").read_text())
    assert record["flags"] == [FLAG_TRAIN_TIME, FLAG_EVAL_TIME, FLAG_ARTIFACT]


def test_a_launcher_that_cannot_start_is_recorded(fake_script: Path, tmp_path: Path) -> None:
    plan = plan_for(fake_script, tmp_path, launcher=(str(tmp_path / "no-such-python"),))
    (seed,) = run_training(plan).seeds
    assert seed.exit_status is None and seed.stopped_by == "failure"
    assert "could not start" in (seed.seed_dir / "train.log").read_text()


def test_an_existing_run_folder_is_refused(fake_script: Path, tmp_path: Path) -> None:
    (tmp_path / "runs" / "exp").mkdir(parents=True)
    with pytest.raises(RunExistsError, match="--name"):
        run_training(plan_for(fake_script, tmp_path))


def test_other_nodes_write_their_own_folder(fake_script: Path, tmp_path: Path) -> None:
    from pgolf_cli.runner.launch import Topology

    topology = Topology(nproc_per_node=1, nnodes=2, node_rank=1, rdzv_endpoint="h:1")
    plan = plan_for(fake_script, tmp_path, topology=topology)
    assert plan.run_dir == tmp_path / "runs" / "exp-node1"
    command = plan_for(fake_script, tmp_path, topology=topology, launcher=None).command(42)
    assert "--rdzv-id" in command and "pgolf-seed42" in command
