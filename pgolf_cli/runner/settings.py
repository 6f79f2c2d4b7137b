"""What ``pgolf train`` runs with: its flags, pgolf.toml and the machine, resolved into one plan.

Every setting follows :func:`pgolf_cli.config.resolve`'s order (flag > environment > pgolf.toml >
preset > default); the machine is asked (``accelerator``) only when a default depends on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pgolf_cli.config import TrainConfig, data_dir, resolve, runs_dir
from pgolf_cli.runner.launch import LaunchError, Topology, parse_env_assignments
from pgolf_cli.runner.presets import Preset, UnknownPresetError, get_preset

DEFAULT_SEED = 1337

#: ``() -> (CUDA usable, GPU count)``; importing torch to answer takes a second or two.
Accelerator = Callable[[], tuple[bool, int]]


@dataclass(frozen=True, slots=True)
class TrainFlags:
    """The command line of ``pgolf train``; ``None`` means "not given"."""

    seeds: tuple[int, ...] | None = None
    nproc_per_node: int | None = None
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None
    preset: str | None = None
    env: list[str] = field(default_factory=list)
    data: Path | None = None
    dataset: str | None = None
    name: str | None = None
    out: Path | None = None


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """Everything a run is launched with, each value decided."""

    script: Path
    seeds: tuple[int, ...]
    preset: Preset
    topology: Topology
    overrides: dict[str, str]
    data_dir: Path
    #: The data folder was named for this run (flag or $PGOLF_DATA): it must exist already.
    data_explicit: bool
    dataset: str
    name: str
    out: Path


def resolve_train(
    script: Path, flags: TrainFlags, config: TrainConfig, accelerator: Accelerator
) -> TrainSettings:
    """The run's settings; :class:`LaunchError` names the flag or key that cannot be used."""
    chosen_preset = flags.preset or config.preset
    has_cuda, gpus = False, 0
    if chosen_preset is None or (flags.nproc_per_node or config.nproc_per_node) is None:
        has_cuda, gpus = accelerator()
    try:
        preset = get_preset(chosen_preset or ("challenge" if has_cuda else "cpu"))
    except UnknownPresetError as problem:
        raise LaunchError(f"--preset: {problem}") from None
    config_env = [f"{key}={value}" for key, value in (config.env or {}).items()]
    overrides = parse_env_assignments([*config_env, *flags.env])
    # --data and $PGOLF_DATA point at data that should already be there, so a typo fails instead
    # of building elsewhere. pgolf.toml's `data` is the project's own folder (like `out`): the
    # built-in dataset is built there on first use, as in ./data.
    data = data_dir(flags.data, config)
    topology = Topology(
        nproc_per_node=resolve(
            gpus if has_cuda else 1, flag=flags.nproc_per_node, config=config.nproc_per_node
        ).value,
        nnodes=flags.nnodes,
        node_rank=flags.node_rank,
        rdzv_endpoint=flags.rdzv_endpoint,
    )
    topology.check()
    return TrainSettings(
        script=script,
        seeds=resolve((DEFAULT_SEED,), flag=flags.seeds, config=config.seeds).value,
        preset=preset,
        topology=topology,
        overrides=overrides,
        data_dir=data.value,
        data_explicit=data.explicit,
        dataset=resolve(preset.dataset, flag=flags.dataset).value,
        name=run_name(flags.name, script, preset),
        out=runs_dir(flags.out, config).value,
    )


def run_name(name: str | None, script: Path, preset: Preset) -> str:
    """``--name``, else ``<script>-<preset>-<date>-<time>``; always a plain folder name."""
    chosen = name or f"{script.stem}-{preset.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    if not chosen or "/" in chosen or os.sep in chosen or chosen in (".", ".."):
        raise LaunchError(f"--name {chosen!r} must be a plain folder name, without path separators")
    return chosen
