"""The torchrun command line, the per-seed environment, and presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgolf_cli.data.names import builtin_vocab_size
from pgolf_cli.runner.dataset import DataSelection
from pgolf_cli.runner.launch import (
    LaunchError,
    Topology,
    parse_env_assignments,
    seed_env,
    torchrun_command,
)
from pgolf_cli.runner.presets import PRESETS, get_preset

SCRIPT = Path("/work/train_gpt.py")


def test_single_node_is_standalone() -> None:
    command = torchrun_command(SCRIPT, Topology(nproc_per_node=8), python="/py")
    assert command == [
        "/py",
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "8",
        "/work/train_gpt.py",
    ]


def test_multi_node_uses_c10d_rendezvous() -> None:
    topology = Topology(nproc_per_node=8, nnodes=2, node_rank=1, rdzv_endpoint="10.0.0.1:29500")
    command = torchrun_command(SCRIPT, topology, rdzv_id="pgolf-seed42", python="/py")
    assert "--standalone" not in command
    assert command[3:] == [
        "--nnodes",
        "2",
        "--node-rank",
        "1",
        "--rdzv-endpoint",
        "10.0.0.1:29500",
        "--rdzv-backend",
        "c10d",
        "--rdzv-id",
        "pgolf-seed42",
        "--rdzv-conf",
        "join_timeout=600",  # the countdown the live view shows is this one
        "--nproc-per-node",
        "8",
        "/work/train_gpt.py",
    ]
    assert topology.world_size == 16


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        (Topology(nproc_per_node=0), "--nproc-per-node"),
        (Topology(nnodes=2), "--rdzv-endpoint HOST:PORT"),
        (Topology(nnodes=2, rdzv_endpoint="host-without-port"), "not HOST:PORT"),
        (Topology(nnodes=2, node_rank=2, rdzv_endpoint="h:1"), "--node-rank 2"),
        (Topology(rdzv_endpoint="h:1"), "multi-node"),
        (Topology(node_rank=1), "multi-node"),
    ],
)
def test_bad_topologies(topology: Topology, message: str) -> None:
    with pytest.raises(LaunchError, match=message):
        topology.check()


def test_good_topologies_pass() -> None:
    Topology(nproc_per_node=1).check()
    Topology(nproc_per_node=8, nnodes=4, node_rank=3, rdzv_endpoint="node0.cluster:29400").check()


def _selection(tmp_path: Path, manifest: dict[str, object] | None) -> DataSelection:
    return DataSelection(
        data_dir=tmp_path,
        name="builtin_sp4096",
        dataset_dir=tmp_path / "datasets" / "builtin_sp4096",
        tokenizer_path=tmp_path / "tokenizers" / "builtin_sp4096.model",
        manifest=manifest,
    )


def test_seed_env_order_preset_then_overrides(tmp_path: Path) -> None:
    env = seed_env(
        seed=42,
        run_id="run-seed42",
        data=_selection(tmp_path, {"vocab_size": 2048}),
        preset_env={"ITERATIONS": "200", "NUM_LAYERS": "4"},
        overrides={"ITERATIONS": "500", "VOCAB_SIZE": "999"},
    )
    assert env["SEED"] == "42"
    assert env["RUN_ID"] == "run-seed42"
    assert env["DATA_PATH"] == str(tmp_path / "datasets" / "builtin_sp4096")
    assert env["TOKENIZER_PATH"] == str(tmp_path / "tokenizers" / "builtin_sp4096.model")
    assert env["NUM_LAYERS"] == "4"
    assert env["ITERATIONS"] == "500"  # the override wins over the preset
    assert env["VOCAB_SIZE"] == "999"  # and over the manifest
    assert env["PYTHONUNBUFFERED"] == "1"


def test_vocab_size_from_manifest_then_name(tmp_path: Path) -> None:
    with_manifest = seed_env(
        seed=1,
        run_id="r",
        data=_selection(tmp_path, {"vocab_size": 2048}),
        preset_env={},
        overrides={},
    )
    assert with_manifest["VOCAB_SIZE"] == "2048"
    from_name = seed_env(
        seed=1, run_id="r", data=_selection(tmp_path, None), preset_env={}, overrides={}
    )
    assert from_name["VOCAB_SIZE"] == "4096"
    without_data = seed_env(seed=1, run_id="r", data=None, preset_env={}, overrides={})
    assert "DATA_PATH" not in without_data and "VOCAB_SIZE" not in without_data


def test_parse_env_assignments() -> None:
    parsed = parse_env_assignments(["A=1", "B_2=x=y", "EMPTY=", "A=3"])
    assert parsed == {"A": "3", "B_2": "x=y", "EMPTY": ""}


@pytest.mark.parametrize("item", ["NOEQUALS", "=1", "1A=2", "A-B=1", "A B=1"])
def test_bad_env_assignments(item: str) -> None:
    with pytest.raises(LaunchError, match="KEY=VALUE"):
        parse_env_assignments([item])


def test_seed_cannot_be_set_through_env() -> None:
    with pytest.raises(LaunchError, match="--seeds"):
        parse_env_assignments(["SEED=1"])


def test_presets() -> None:
    assert set(PRESETS) == {"cpu-tiny", "cpu", "challenge"}
    cpu = get_preset("cpu")
    assert cpu.env["NUM_LAYERS"] == "4" and cpu.env["MODEL_DIM"] == "128"
    assert cpu.env["MAX_VAL_TOKENS"] == "65536"
    assert builtin_vocab_size(cpu.dataset) == 1024
    challenge = get_preset("challenge")
    assert challenge.env == {"MAX_WALLCLOCK_SECONDS": "600"}
    assert builtin_vocab_size(challenge.dataset) is None
    for preset in PRESETS.values():
        # Seeds and data locations are pgolf's to set per run, never a preset's.
        assert not {"SEED", "RUN_ID", "DATA_PATH", "TOKENIZER_PATH"} & preset.env.keys()
    with pytest.raises(ValueError, match="cpu-tiny, cpu, challenge"):
        get_preset("gpu")


@pytest.mark.parametrize("name", ["cpu-tiny", "cpu"])
def test_cpu_presets_are_step_based(name: str) -> None:
    """No wallclock cap (the template's lr schedule then counts steps only), so machine load
    cannot change how far a run gets; the warmdown fits inside the run."""
    env = get_preset(name).env
    assert env["MAX_WALLCLOCK_SECONDS"] == "0"
    assert 0 < int(env["WARMDOWN_ITERS"]) <= int(env["ITERATIONS"])
