"""pgolf train's settings: flags over pgolf.toml over the preset over defaults, and the machine
asked only when a default depends on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgolf_cli.config import TrainConfig
from pgolf_cli.runner.launch import LaunchError
from pgolf_cli.runner.presets import get_preset
from pgolf_cli.runner.settings import DEFAULT_SEED, TrainFlags, resolve_train

SCRIPT = Path("train_gpt.py")


def no_machine() -> tuple[bool, int]:
    raise AssertionError("the accelerator was asked although no default depends on it")


def test_flags_win_over_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGOLF_DATA", raising=False)
    config = TrainConfig(
        preset="cpu", seeds=(5, 6), nproc_per_node=2, data=Path("/cfg/data"), out=Path("/cfg/runs")
    )
    flags = TrainFlags(
        seeds=(7,), preset="cpu-tiny", nproc_per_node=1, data=Path("d"), out=Path("o"), name="n"
    )
    settings = resolve_train(SCRIPT, flags, config, no_machine)
    assert settings.seeds == (7,)
    assert settings.preset.name == "cpu-tiny"
    assert settings.topology.nproc_per_node == 1
    assert (settings.data_dir, settings.data_explicit) == (Path("d"), True)
    assert settings.out == Path("o")
    assert settings.dataset == get_preset("cpu-tiny").dataset


def test_the_config_wins_over_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGOLF_DATA", raising=False)
    config = TrainConfig(preset="cpu", seeds=(5, 6), nproc_per_node=2, data=Path("/cfg/data"))
    settings = resolve_train(SCRIPT, TrainFlags(), config, no_machine)
    assert settings.seeds == (5, 6)
    assert settings.topology.nproc_per_node == 2
    # The project's own folder: the built-in dataset may be built there on first use.
    assert (settings.data_dir, settings.data_explicit) == (Path("/cfg/data"), False)
    assert settings.name.startswith("train_gpt-cpu-")


def test_defaults_ask_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGOLF_DATA", "/env/data")
    settings = resolve_train(SCRIPT, TrainFlags(), TrainConfig(), lambda: (True, 8))
    assert settings.preset.name == "challenge"
    assert settings.topology.nproc_per_node == 8
    assert settings.seeds == (DEFAULT_SEED,)
    assert (settings.data_dir, settings.data_explicit) == (Path("/env/data"), True)
    assert settings.out == Path("runs")
    cpu = resolve_train(SCRIPT, TrainFlags(), TrainConfig(), lambda: (False, 0))
    assert (cpu.preset.name, cpu.topology.nproc_per_node) == ("cpu", 1)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (TrainFlags(preset="gpu"), "--preset: unknown preset 'gpu'"),
        (TrainFlags(preset="cpu", name="a/b"), "plain folder name"),
        (TrainFlags(preset="cpu", nnodes=2), "--rdzv-endpoint HOST:PORT"),
        (TrainFlags(preset="cpu", env=["SEED=3"]), "--seeds"),
    ],
)
def test_unusable_settings_name_the_flag(flags: TrainFlags, message: str) -> None:
    with pytest.raises(LaunchError) as raised:
        resolve_train(SCRIPT, flags, TrainConfig(nproc_per_node=1), no_machine)
    assert message in str(raised.value)
