"""Named bundles of training settings: how big a run is and which dataset it reads.

A preset is only environment variables for the training script (the challenge's names, see
docs/pipeline.md) plus the dataset it expects. ``--env KEY=VALUE`` on the command line goes on
top, so a preset is a starting point, never a limit.

The CPU presets are step-based: a fixed number of steps, a warmdown counted in steps and no
wallclock cap (``MAX_WALLCLOCK_SECONDS=0``). A cap, or a schedule read off the clock, would let
the machine's load decide how far a run gets; without them the same seed gives the same val_bpb
on an idle or a busy machine. The 600 s cap is the challenge's rule and belongs to its preset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pgolf_cli.data.names import builtin_name, official_name


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    summary: str
    env: Mapping[str, str]
    dataset: str
    """The folder under ``DATA_DIR/datasets`` the preset trains on."""


_BUILTIN_1024 = builtin_name(1024)
_OFFICIAL_1024 = official_name(1024)

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="cpu-tiny",
            summary="a smoke test: a two-layer model for 20 steps, seconds on one CPU core",
            env={
                "ITERATIONS": "20",
                "MAX_WALLCLOCK_SECONDS": "0",
                "TRAIN_SEQ_LEN": "128",
                "TRAIN_BATCH_TOKENS": "2048",
                "VAL_BATCH_SIZE": "8192",
                "VAL_LOSS_EVERY": "0",
                "TRAIN_LOG_EVERY": "5",
                "WARMUP_STEPS": "0",
                "WARMDOWN_ITERS": "5",
                "NUM_LAYERS": "2",
                "MODEL_DIM": "64",
                "NUM_HEADS": "2",
                "NUM_KV_HEADS": "1",
                "MLP_MULT": "2",
                "MAX_VAL_TOKENS": "8192",
                "EVAL_STRIDE": "64",
                "EVAL_SEQ_LEN": "128",
            },
            dataset=_BUILTIN_1024,
        ),
        Preset(
            name="cpu",
            summary="the no-GPU default: a small model on the built-in corpus for 150 steps, "
            "a few minutes on two cores",
            env={
                "ITERATIONS": "150",
                "MAX_WALLCLOCK_SECONDS": "0",
                "TRAIN_SEQ_LEN": "256",
                "TRAIN_BATCH_TOKENS": "16384",
                "VAL_BATCH_SIZE": "16384",
                "VAL_LOSS_EVERY": "50",
                "TRAIN_LOG_EVERY": "5",
                "WARMUP_STEPS": "0",
                "WARMDOWN_ITERS": "50",
                "NUM_LAYERS": "4",
                "MODEL_DIM": "128",
                "NUM_HEADS": "4",
                "NUM_KV_HEADS": "2",
                "MLP_MULT": "2",
                "MAX_VAL_TOKENS": "65536",
                "EVAL_STRIDE": "64",
                "EVAL_SEQ_LEN": "256",
            },
            dataset=_BUILTIN_1024,
        ),
        Preset(
            name="challenge",
            summary="the GPU default: the script's own settings and the official data, with "
            "the challenge's 10-minute training cap",
            env={"MAX_WALLCLOCK_SECONDS": "600"},
            dataset=_OFFICIAL_1024,
        ),
    )
}

CPU_DEFAULT = "cpu"
GPU_DEFAULT = "challenge"


class UnknownPresetError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPresetError(name) from None
