"""The torchrun command line and the environment of one seed's run."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pgolf_cli.runner.dataset import DataSelection

#: How long torchrun waits for all nodes to join, in seconds. pgolf sets it (torchrun's own
#: default is the same) so the countdown it shows is the one torchrun keeps.
RDZV_JOIN_TIMEOUT_S = 600

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENDPOINT = re.compile(r"\S+:\d{1,5}")


class LaunchError(ValueError):
    """Settings that cannot make a valid launch; the message says which and how to fix them."""


@dataclass(frozen=True, slots=True)
class Topology:
    """How many processes run where: one node (standalone) or several joined by rendezvous."""

    nproc_per_node: int = 1
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None

    @property
    def world_size(self) -> int:
        return self.nproc_per_node * self.nnodes

    def check(self) -> None:
        """Raise :class:`LaunchError` for a combination torchrun would reject or hang on."""
        if self.nproc_per_node < 1:
            raise LaunchError("--nproc-per-node must be at least 1")
        if self.nnodes < 1:
            raise LaunchError("--nnodes must be at least 1")
        if self.nnodes == 1:
            if self.rdzv_endpoint is not None or self.node_rank != 0:
                raise LaunchError(
                    "--rdzv-endpoint and --node-rank are for multi-node runs; "
                    "add --nnodes N (N > 1) or drop them"
                )
            return
        if self.rdzv_endpoint is None:
            raise LaunchError(
                f"--nnodes {self.nnodes} needs --rdzv-endpoint HOST:PORT, the address of the "
                "first node that every node can reach (the same on every node)"
            )
        if not _ENDPOINT.fullmatch(self.rdzv_endpoint):
            raise LaunchError(
                f"--rdzv-endpoint {self.rdzv_endpoint!r} is not HOST:PORT, e.g. 10.0.0.1:29500"
            )
        if not 0 <= self.node_rank < self.nnodes:
            raise LaunchError(
                f"--node-rank {self.node_rank} is outside 0..{self.nnodes - 1} for "
                f"--nnodes {self.nnodes}"
            )


def torchrun_command(
    script: Path, topology: Topology, *, rdzv_id: str = "pgolf", python: str | None = None
) -> list[str]:
    """The command that starts ``script`` under torchrun.

    torchrun is run as ``python -m torch.distributed.run`` with pgolf's own interpreter, so the
    training uses the same environment as pgolf even when the ``torchrun`` script is not on
    PATH. ``rdzv_id`` must be the same on every node of a multi-node run.
    """
    command = [python or sys.executable, "-m", "torch.distributed.run"]
    if topology.nnodes == 1:
        command.append("--standalone")
    else:
        assert topology.rdzv_endpoint is not None, "Topology.check() rejects this"
        command += [
            "--nnodes",
            str(topology.nnodes),
            "--node-rank",
            str(topology.node_rank),
            "--rdzv-endpoint",
            topology.rdzv_endpoint,
            "--rdzv-backend",
            "c10d",
            "--rdzv-id",
            rdzv_id,
            "--rdzv-conf",
            f"join_timeout={RDZV_JOIN_TIMEOUT_S}",
        ]
    command += ["--nproc-per-node", str(topology.nproc_per_node), str(script)]
    return command


def seed_env(
    *,
    seed: int,
    run_id: str,
    data: DataSelection | None,
    preset_env: Mapping[str, str],
    overrides: Mapping[str, str],
) -> dict[str, str]:
    """The variables pgolf sets for one seed, in the order later ones win.

    The dataset's vocabulary size comes before the preset so a preset never contradicts the
    data it runs on; the user's overrides come last and win over everything.
    """
    env: dict[str, str] = {
        # Output through a pipe is block-buffered otherwise, and the live view would stall.
        "PYTHONUNBUFFERED": "1",
        "SEED": str(seed),
        "RUN_ID": run_id,
    }
    if data is not None:
        env["DATA_PATH"] = str(data.dataset_dir)
        env["TOKENIZER_PATH"] = str(data.tokenizer_path)
        if data.vocab_size is not None:
            env["VOCAB_SIZE"] = str(data.vocab_size)
    env.update(preset_env)
    env.update(overrides)
    return env


def parse_env_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` as a mapping; a later assignment to the same key wins."""
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not _ENV_NAME.fullmatch(key):
            raise LaunchError(
                f"--env {item!r} is not KEY=VALUE with KEY a variable name "
                "(letters, digits, underscores), e.g. --env ITERATIONS=500"
            )
        if key == "SEED":
            raise LaunchError("--env SEED=... is set per seed by pgolf; use --seeds instead")
        result[key] = value
    return result
