"""``pgolf train``: arguments, defaults, configuration, exit codes, and real torchrun runs."""

from __future__ import annotations

import importlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pgolf_cli.cli import app
from pgolf_cli.runner import dataset as dataset_module
from pgolf_cli.runner import run as run_module

# The package re-exports the command function under the module's name, so fetch the module.
train_command = importlib.import_module("pgolf_cli.cli.train")

StartPgolf = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the script with Python directly: these tests are about pgolf, and torchrun's start-up
    costs seconds. Two tests below run torchrun for real."""

    def direct(script: Path, topology: object, **_: object) -> list[str]:
        return [sys.executable, str(script)]

    monkeypatch.setattr(run_module, "torchrun_command", direct)


@pytest.fixture
def cpu_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train_command, "detect_accelerator", lambda: (False, 0))


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["train", *(str(a) for a in args)])


def data_flags(fake_data: dict[str, str]) -> list[str]:
    return [item for key, value in fake_data.items() for item in ("--env", f"{key}={value}")]


def record(workdir: Path, name: str, seed: int) -> dict[str, Any]:
    data = json.loads((workdir / "runs" / name / f"seed{seed}" / "run.json").read_text())
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------------------------
# Real torchrun
# --------------------------------------------------------------------------------------------


def test_two_seeds_under_torchrun(
    workdir: Path, fake_script: Path, fake_data: dict[str, str]
) -> None:
    result = invoke(
        fake_script,
        "--seeds",
        "42",
        "1337",
        "--preset",
        "cpu-tiny",
        "--nproc-per-node",
        "1",
        *data_flags(fake_data),
        "--env",
        "ITERATIONS=20",
        "--name",
        "real",
    )
    assert result.exit_code == 0, result.output
    for seed in (42, 1337):
        data = record(workdir, "real", seed)
        command = data["command"]
        assert isinstance(command, list)
        assert command[1:4] == ["-m", "torch.distributed.run", "--standalone"]
        assert command[-3:] == ["--nproc-per-node", "1", str(fake_script.resolve())]
        assert data["stopped_by"] is None and data["exit_status"] == 0
        seen = json.loads((workdir / "runs" / "real" / f"seed{seed}" / "seen.json").read_text())
        # torchrun set the distributed variables; pgolf set the rest.
        assert (seen["env"]["RANK"], seen["env"]["WORLD_SIZE"]) == ("0", "1")
        assert seen["env"]["SEED"] == str(seed)
        assert seen["env"]["ITERATIONS"] == "20"
    # The summary table: the sliding-window score of each seed.
    assert "2.90004200" in result.stdout and "2.90133700" in result.stdout
    assert "pgolf audit" in result.stderr
    assert "pgolf package --run runs/real" in result.stderr


def test_ctrl_c_stops_the_run_and_keeps_what_it_wrote(
    workdir: Path, fake_script: Path, fake_data: dict[str, str], start_pgolf: StartPgolf
) -> None:
    process = start_pgolf(
        "train",
        str(fake_script),
        "--seeds",
        "1,2",
        "--preset",
        "cpu-tiny",
        "--nproc-per-node",
        "1",
        *data_flags(fake_data),
        "--name",
        "stopped",
        cwd=workdir,
        env={"FAKE_MODE": "sleep"},
    )
    log = workdir / "runs" / "stopped" / "seed1" / "train.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if log.is_file() and "step:10/20" in log.read_text():
            break
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the fake script never started training")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    data = record(workdir, "stopped", 1)
    assert data["stopped_by"] == "interrupt"
    assert data["finished_at"] is not None
    text = log.read_text()
    assert "step:10/20" in text
    # The script got the SIGINT and its last words still reached the log.
    assert "fake: stopping on SIGINT" in text
    assert not (workdir / "runs" / "stopped" / "seed2").exists()
    assert "interrupted" in stderr


def test_a_node_waiting_for_its_rendezvous_says_where_and_for_how_long(
    workdir: Path, fake_script: Path, fake_data: dict[str, str], start_pgolf: StartPgolf
) -> None:
    """Node 1 of 2 with no node 0: torchrun waits, and pgolf says so at once (it used to print
    nothing until torchrun gave up)."""
    import socket
    import threading

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = start_pgolf(
        "train", str(fake_script), "--preset", "cpu-tiny", *data_flags(fake_data),
        "--nnodes", "2", "--node-rank", "1", "--rdzv-endpoint", f"127.0.0.1:{port}",
        "--name", "waiting",
        cwd=workdir,
    )  # fmt: skip
    lines: list[str] = []
    assert process.stderr is not None
    stream = process.stderr
    threading.Thread(target=lambda: lines.extend(stream), daemon=True).start()
    expected = f"starting: waiting for 2 nodes at 127.0.0.1:{port} (torchrun gives up in 10m00s)"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(expected in line for line in lines):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    assert any(expected in line for line in lines), "".join(lines)


# --------------------------------------------------------------------------------------------
# Outcomes and exit codes
# --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_torchrun")
def test_a_failed_seed_exits_1_after_the_other_seeds_ran(
    workdir: Path,
    fake_script: Path,
    fake_data: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_FAIL_SEED", "1")
    result = invoke(
        fake_script, "--seeds", "1", "2", "--preset", "cpu", "--nproc-per-node", "1",
        *data_flags(fake_data), "--name", "mixed",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "seed 1 failed (exit status 1): RuntimeError: fake training failed" in result.stderr
    assert record(workdir, "mixed", 1)["stopped_by"] == "failure"
    assert record(workdir, "mixed", 2)["stopped_by"] is None
    assert "failed" in result.stdout and "ok" in result.stdout


@pytest.mark.usefixtures("no_torchrun")
def test_a_run_over_its_cap_is_never_ok_and_the_summary_draws_the_loss_curve(
    workdir: Path, fake_script: Path, fake_data: dict[str, str]
) -> None:
    result = invoke(
        fake_script, "--preset", "challenge", "--nproc-per-node", "1", *data_flags(fake_data),
        "--env", "MAX_WALLCLOCK_SECONDS=150", "--env", "FAKE_TRAIN_MS=177000", "--name", "over",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert record(workdir, "over", 1337)["flags"] == ["train_time_over_cap"]
    assert "flagged" in result.stdout and " ok " not in result.stdout
    # Total evaluation time, named so it is not read as the scored pass's (package's column).
    assert train_command.COLUMNS[-2:] == ("train time", "eval time (all passes)")
    # The fake logs train_loss 5.5 at step 10 and 5.0 at step 20.
    assert "train_loss seed 1337: 5.5000 █▁ 5.0000 (steps 10-20)" in result.stdout


@pytest.mark.usefixtures("no_torchrun")
def test_quiet_prints_only_the_table(
    workdir: Path, fake_script: Path, fake_data: dict[str, str]
) -> None:
    result = invoke(
        fake_script, "--preset", "cpu", "--nproc-per-node", "1", *data_flags(fake_data),
        "--name", "q", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "1337" in result.stdout  # the default seed


# --------------------------------------------------------------------------------------------
# Defaults: preset, data, name
# --------------------------------------------------------------------------------------------


def fake_build(calls: list[tuple[Path, int]]) -> Callable[..., None]:
    def build(data_dir: Path, vocab_size: int, progress: object = None) -> None:
        calls.append((data_dir, vocab_size))
        dataset = data_dir / "datasets" / f"builtin_sp{vocab_size}"
        dataset.mkdir(parents=True)
        for split in ("train", "val"):
            (dataset / f"fineweb_{split}_000000.bin").write_bytes(b"\0" * 1024)
        (dataset / "manifest.json").write_text(json.dumps({"vocab_size": vocab_size}))
        (data_dir / "tokenizers").mkdir()
        (data_dir / "tokenizers" / f"builtin_sp{vocab_size}.model").write_bytes(b"model")

    return build


@pytest.mark.usefixtures("no_torchrun", "cpu_machine")
def test_defaults_on_a_cpu_machine_build_the_data_and_use_the_cpu_preset(
    workdir: Path, fake_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Path, int]] = []
    monkeypatch.setattr(dataset_module, "build_builtin", fake_build(calls))
    result = invoke(fake_script)
    assert result.exit_code == 0, result.output
    assert calls == [(Path("data"), 1024)]
    assert "building the built-in dataset builtin_sp1024" in result.stderr
    (run_dir,) = (workdir / "runs").iterdir()
    assert run_dir.name.startswith("fake_train-cpu-")
    data = json.loads((run_dir / "seed1337" / "run.json").read_text())
    assert data["preset"] == "cpu"
    env = data["env"]
    assert env["DATA_PATH"] == str(workdir / "data" / "datasets" / "builtin_sp1024")
    assert env["TOKENIZER_PATH"] == str(workdir / "data" / "tokenizers" / "builtin_sp1024.model")
    assert env["VOCAB_SIZE"] == "1024"
    assert env["MAX_WALLCLOCK_SECONDS"] == "0"  # step-based: the same seed, the same result
    assert data["hardware"]["nproc_per_node"] == 1

    # The second run finds the data and builds nothing.
    assert invoke(fake_script, "--name", "again").exit_code == 0
    assert len(calls) == 1


@pytest.mark.usefixtures("no_torchrun", "cpu_machine")
def test_a_folder_from_pgolf_init_builds_its_data_on_the_first_train(
    workdir: Path, fake_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pgolf_cli.runner.init import init_project

    project = workdir / "my-record"
    init_project(project)
    # From a subfolder too: pgolf.toml's data is relative to the file, not to the cwd.
    (project / "notes").mkdir()
    monkeypatch.chdir(project / "notes")
    calls: list[tuple[Path, int]] = []
    monkeypatch.setattr(dataset_module, "build_builtin", fake_build(calls))
    result = invoke(fake_script, "--name", "first")
    assert result.exit_code == 0, result.output
    assert [(path.resolve(), vocab) for path, vocab in calls] == [((project / "data"), 1024)]
    env = record(project, "first", 1337)["env"]
    assert env["DATA_PATH"] == str(project / "data" / "datasets" / "builtin_sp1024")


def test_a_gpu_machine_defaults_to_the_challenge_preset_and_official_data(
    workdir: Path, fake_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train_command, "detect_accelerator", lambda: (True, 8))
    result = invoke(fake_script)
    assert result.exit_code == 2
    assert "fineweb10B_sp1024" in result.stderr
    assert "pgolf data fineweb --variant sp1024" in result.stderr
    assert "--preset cpu" in result.stderr


@pytest.mark.usefixtures("no_torchrun")
def test_gpu_count_is_the_default_nproc(
    workdir: Path, fake_script: Path, fake_data: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train_command, "detect_accelerator", lambda: (True, 4))
    result = invoke(fake_script, *data_flags(fake_data), "--name", "g")
    assert result.exit_code == 0, result.output
    data = record(workdir, "g", 1337)
    assert data["preset"] == "challenge"
    assert data["hardware"]["nproc_per_node"] == 4


def test_the_default_script_is_the_bundled_template() -> None:
    from pgolf_cli.config import TrainConfig
    from pgolf_cli.runner import template_path

    assert train_command._script(None, TrainConfig()) == template_path()


def test_torch_missing_is_explained(
    workdir: Path, fake_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train_command, "torch_installed", lambda: False)
    result = invoke(fake_script)
    assert result.exit_code == 2
    assert "train extra" in result.stderr and "README" in result.stderr


# --------------------------------------------------------------------------------------------
# Usage errors
# --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("cpu_machine")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py"], "missing.py: the script does not exist"),
        (["{script}", "--env", "NOEQUALS"], "KEY=VALUE"),
        (["{script}", "--env", "SEED=3"], "--seeds"),
        (["{script}", "--preset", "gpu"], "unknown preset 'gpu'"),
        (["{script}", "--seeds", "x1"], "'x1' is not a seed"),
        (["{script}", "--seeds", "1", "1"], "seed 1 is given twice"),
        (["{script}", "other.py"], "expected one training script"),
        (["{script}", "--nnodes", "2"], "--rdzv-endpoint HOST:PORT"),
        (["{script}", "--name", "a/b"], "plain folder name"),
        (["{script}", "--data", "nowhere"], "the data folder nowhere does not exist"),
        (["42"], "to run seed 42, write --seeds 42"),
    ],
)
def test_usage_errors_exit_2(
    workdir: Path, fake_script: Path, args: list[str], message: str
) -> None:
    result = invoke(*(arg.format(script=fake_script) for arg in args))
    assert result.exit_code == 2, result.output
    assert message in result.stderr


@pytest.mark.usefixtures("cpu_machine")
def test_seeds_must_be_numbers(workdir: Path, fake_script: Path) -> None:
    result = invoke(fake_script, "--seeds", "1,x")
    assert result.exit_code == 2
    assert "'x' is not a seed" in result.stderr


@pytest.mark.usefixtures("cpu_machine")
def test_pgolf_data_env_names_an_explicit_data_dir(
    workdir: Path, fake_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGOLF_DATA", str(workdir / "elsewhere"))
    result = invoke(fake_script)
    assert result.exit_code == 2
    assert "elsewhere does not exist" in result.stderr


@pytest.mark.usefixtures("no_torchrun")
def test_an_existing_run_name_is_refused(
    workdir: Path, fake_script: Path, fake_data: dict[str, str]
) -> None:
    args: list[str | Path] = [fake_script, "--preset", "cpu", "--nproc-per-node", "1"]
    args += data_flags(fake_data)
    assert invoke(*args, "--name", "same").exit_code == 0
    result = invoke(*args, "--name", "same")
    assert result.exit_code == 2
    assert "already exists" in result.stderr


# --------------------------------------------------------------------------------------------
# pgolf.toml
# --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_torchrun", "cpu_machine")
def test_train_table_supplies_defaults_and_flags_win(
    workdir: Path, fake_script: Path, fake_data: dict[str, str]
) -> None:
    project = workdir / "project"
    project.mkdir()
    (project / "pgolf.toml").write_text(
        "[train]\n"
        f'script = "{fake_script}"\n'
        "seeds = [5, 6]\n"
        'preset = "cpu-tiny"\n'
        'out = "my-runs"\n'
        f'env = {{ ITERATIONS = 30, DATA_PATH = "{fake_data["DATA_PATH"]}", '
        f'TOKENIZER_PATH = "{fake_data["TOKENIZER_PATH"]}" }}\n'
    )
    sub = project / "sub"
    sub.mkdir()
    import os

    os.chdir(sub)
    result = invoke("--name", "cfg", "--env", "ITERATIONS=40")
    assert result.exit_code == 0, result.output
    for seed in (5, 6):
        data = json.loads((project / "my-runs" / "cfg" / f"seed{seed}" / "run.json").read_text())
        assert data["preset"] == "cpu-tiny"
        assert data["env"]["ITERATIONS"] == "40"
        assert data["script"] == str(fake_script.resolve())
    result = invoke("--name", "cfg2", "--seeds", "9")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (project / "my-runs" / "cfg2").iterdir()] == ["seed9"]


def test_bad_train_table_exits_2(workdir: Path) -> None:
    (workdir / "pgolf.toml").write_text('[train]\nseeds = "many"\n')
    result = invoke()
    assert result.exit_code == 2
    assert "seeds must be a non-empty list" in result.stderr


def test_train_help_lists_its_options(start_pgolf: StartPgolf, tmp_path: Path) -> None:
    # Run as a process: torch stays out of the start (tests/cli/test_startup.py).
    process = start_pgolf("train", "--help", cwd=tmp_path)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    for flag in ("--seeds", "--nproc-per-node", "--nnodes", "--rdzv-endpoint", "--preset",
                 "--env", "--data", "--name", "--out", "--quiet"):  # fmt: skip
        assert flag in stdout
