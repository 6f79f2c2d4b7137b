"""How to run the seeds again: the environment pgolf set (per-seed values as ``$SEED``), the
commands with pgolf and with torchrun alone, and requirements.txt."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from pgolf_cli.records.package.code import Code
from pgolf_cli.records.package.request import SCRIPT_NAME, PackageError
from pgolf_cli.records.package.seeds import PackagedSeed
from pgolf_cli.run_folder import RunManifest

# Variables pgolf sets for every seed that say nothing about the configuration.
_PER_SEED_ENV = frozenset({"SEED", "RUN_ID"})
_LAUNCH_ENV = frozenset({"PYTHONUNBUFFERED"})
# Variables pgolf derives from --dataset; the pgolf command names the dataset instead.
_DATA_ENV = frozenset({"DATA_PATH", "TOKENIZER_PATH", "VOCAB_SIZE"})


def _third_party_modules(code: Code) -> list[str]:
    """Top-level modules the script (and its wrapper) imports that are not the stdlib's."""
    import ast

    from pgolf_cli.audit.source import unpack

    texts = [code.shipped.decode("utf-8", errors="replace")]
    texts.append(unpack(texts[0])[0])
    found: set[str] = set()
    for text in texts:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the audit reports it (PG901, PG906)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return sorted(m for m in found if m not in sys.stdlib_module_names and m != "__future__")


def requirements_text(code: Code, manifest: RunManifest, run_dir: Path) -> str:
    """requirements.txt: the script's third-party imports, torch pinned to the run's version."""
    distributions = metadata.packages_distributions()
    torch = manifest.versions.torch
    lines = [
        "# Packages train_gpt.py imports, written by `pgolf package` from "
        f"{run_dir.name}/seed*/run.json.",
        f"# The seeds ran Python {manifest.versions.python or 'of an unknown version'}"
        + (f" and PyTorch {torch}." if torch else "."),
    ]
    if torch and "+" in torch:
        lines.append(
            f"# PyTorch {torch} is a platform build: install it for your platform first "
            "(https://pytorch.org/get-started/locally/)."
        )
    names: list[str] = []
    for module in _third_party_modules(code):
        name = (distributions.get(module) or [module])[0].lower()
        if module == "torch" and torch:
            name = f"torch=={torch.split('+')[0]}"
        if name not in names:
            names.append(name)
    return "\n".join([*lines, *names]) + "\n"


def _shell_word(value: str) -> str:
    import shlex

    return shlex.quote(value)


def _shell_value(value: str) -> str:
    """A value for ``KEY=value`` in bash, quoted where needed, with ``$SEED`` left to expand
    (a seed is digits, so it needs no quotes)."""
    return "$SEED".join(_shell_word(part) if part else "" for part in value.split("$SEED"))


def _portable_path(key: str, value: str, manifest: RunManifest) -> str:
    """Data paths relative to the data folder; a machine's absolute paths mean nothing to
    others (and should not be published)."""
    dataset = manifest.data.dataset if manifest.data else None
    path = Path(value)
    if key == "DATA_PATH" and dataset and path.name == dataset and path.parent.name == "datasets":
        return f"./data/datasets/{dataset}"
    if key == "TOKENIZER_PATH" and path.parent.name == "tokenizers":
        return f"./data/tokenizers/{path.name}"
    return value


def _per_seed_value(key: str, value: str, seed: int) -> str:
    """``SEED=42`` -> ``$SEED``; ``RUN_ID=tiny-seed42`` -> ``tiny-seed$SEED``."""
    if key == "SEED" and value == str(seed):
        return "$SEED"
    return re.sub(rf"(?<!\d){seed}$", "$SEED", value)


def seed_env(seeds: Sequence[PackagedSeed]) -> list[tuple[str, str]]:
    """The environment pgolf set, per-seed values written with ``$SEED``; seeds must agree."""
    first = seeds[0]
    merged: list[tuple[str, str]] = []
    keys = list(first.manifest.env)
    for other in seeds[1:]:
        keys += [key for key in other.manifest.env if key not in keys]
    for key in keys:
        if key in _LAUNCH_ENV:
            continue
        found = [run.manifest.env.get(key) for run in seeds]
        if key in _PER_SEED_ENV:
            found = [
                None if value is None else _per_seed_value(key, value, run.seed)
                for value, run in zip(found, seeds, strict=True)
            ]
            if len(set(found)) > 1 or found[0] is None:
                continue  # a name that follows no pattern: it only labels the run's outputs
        value = found[0]
        if len(set(found)) > 1 or value is None:
            shown = "; ".join(
                f"seed {run.seed}: {run.manifest.env.get(key, '(unset)')}" for run in seeds
            )
            raise PackageError(
                str(first.folder.parent),
                f"the seeds ran different settings: {key} ({shown})",
                "A record is one configuration: package seeds that ran the same settings",
            )
        merged.append((key, _portable_path(key, value, first.manifest)))
    return merged


def reproduction(seeds: Sequence[PackagedSeed], env: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The commands that reproduce the seeds: data preparation, with pgolf, and plain torchrun."""
    from pgolf_cli.data.names import builtin_vocab_size, official_vocab_size
    from pgolf_cli.runner.presets import PRESETS

    manifest = seeds[0].manifest
    seed_list = " ".join(str(run.seed) for run in seeds)
    dataset = manifest.data.dataset if manifest.data else None

    builtin = builtin_vocab_size(dataset or "")
    official = official_vocab_size(dataset or "")
    if builtin is not None:
        data = f"pgolf data build --vocab-size {builtin}"
    elif official is not None:
        data = f"pgolf data fineweb --variant sp{official}"
    else:
        data = ""

    preset = PRESETS.get(manifest.preset or "")
    words = ["pgolf", "train", SCRIPT_NAME]
    if preset is not None:
        words += ["--preset", preset.name]
    words += ["--seeds", *seed_list.split()]
    if dataset:
        words += ["--dataset", dataset]
    hw = manifest.hardware
    if hw.nproc_per_node:
        words += ["--nproc-per-node", str(hw.nproc_per_node)]
    if hw.nnodes and hw.nnodes > 1:
        words += ["--nnodes", str(hw.nnodes), "--node-rank", "R", "--rdzv-endpoint", "HOST:PORT"]
    for key, value in env:
        if key in _PER_SEED_ENV or (dataset and key in _DATA_ENV):
            continue
        if preset is not None and preset.env.get(key) == value:
            continue
        words += ["--env", f"{key}={value}"]
    pgolf = " ".join(_shell_word(word) for word in words)

    launcher = list(manifest.command)
    if len(launcher) >= 3 and launcher[1:3] == ["-m", "torch.distributed.run"]:
        launcher = ["torchrun", *launcher[3:]]
    elif launcher and Path(launcher[0]).name.startswith("python"):
        launcher[0] = "python"
    if launcher:
        launcher[-1] = SCRIPT_NAME
    assignments = " ".join(f"{key}={_shell_value(value)}" for key, value in env)
    plain = (
        f"for SEED in {seed_list}; do\n"
        f"  {assignments} \\\n"
        f"    {' '.join(_shell_word(word) for word in launcher)}\n"
        "done"
    )
    return {"data": data, "pgolf": pgolf, "plain": plain}
