"""Which dataset and tokenizer a run reads, and building the built-in one when it is missing.

The folder layout belongs to ``pgolf data`` (docs/pipeline.md); this module only asks it where a
named dataset lives, so the two never disagree about names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgolf_cli.data.names import builtin_vocab_size, vocab_size_in_name
from pgolf_cli.errors import PgolfInputError

#: ``progress(stage, done, total)``, as ``pgolf_cli.data.build`` calls it.
ProgressCallback = Callable[[str, int, int | None], None]

MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class DataSelection:
    data_dir: Path
    name: str
    dataset_dir: Path
    tokenizer_path: Path
    manifest: dict[str, Any] | None

    @property
    def vocab_size(self) -> int | None:
        """From the dataset's manifest, else from an ``_sp<V>`` name, else unknown."""
        if self.manifest is not None:
            value = self.manifest.get("vocab_size")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return vocab_size_in_name(self.name)

    def is_ready(self) -> bool:
        """Whether the shards of both splits and the tokenizer are there."""
        return (
            self.tokenizer_path.is_file()
            and any(self.dataset_dir.glob("fineweb_train_*.bin"))
            and any(self.dataset_dir.glob("fineweb_val_*.bin"))
        )


class DataError(Exception):
    """The data a run needs is not there and pgolf cannot make it; the message says how to."""


def prepare(
    data_dir: Path,
    name: str,
    *,
    explicit: bool,
    before_build: Callable[[DataSelection], None] | None = None,
    progress: ProgressCallback | None = None,
) -> DataSelection:
    """The dataset ``name`` under ``data_dir``, built first when it is the built-in corpus.

    ``explicit`` says the user named ``data_dir``: a folder they named must exist (a typo should
    not silently start a build elsewhere), while the default ``./data`` is created on demand.
    ``before_build`` is called before a build starts, to tell the user why they wait.
    """
    if explicit and not data_dir.is_dir():
        raise DataError(
            f"the data folder {data_dir} does not exist; create it with "
            f"`pgolf data build --data {data_dir}`, or point --data (or PGOLF_DATA) at the folder "
            "that holds datasets/ and tokenizers/"
        )
    selection = locate(data_dir, name)
    if selection.is_ready():
        return selection
    vocab_size = builtin_vocab_size(name)
    if vocab_size is None:
        variant = f"sp{vocab_size_in_name(name) or 1024}"
        raise DataError(
            f"dataset {name} is not in {data_dir} (looked for shards in {selection.dataset_dir} "
            f"and the tokenizer {selection.tokenizer_path}); download it with "
            f"`pgolf data fineweb --variant {variant} --data {data_dir}`, or train on the "
            "built-in corpus with --preset cpu"
        )
    if before_build is not None:
        before_build(selection)
    build_builtin(data_dir, vocab_size, progress=progress)
    selection = locate(data_dir, name)
    if not selection.is_ready():
        raise DataError(
            f"building the built-in dataset did not produce {selection.dataset_dir} and "
            f"{selection.tokenizer_path}; run `pgolf data build --data {data_dir}` to see why"
        )
    return selection


def locate(data_dir: Path, name: str) -> DataSelection:
    """Where dataset ``name`` lives under ``data_dir`` (whether or not it exists yet)."""
    from pgolf_cli.data.build import dataset_paths

    # Absolute: the script runs in the seed's folder, not where pgolf was started.
    data_dir = data_dir.resolve()
    dataset_dir, tokenizer_path = dataset_paths(data_dir, name)
    return DataSelection(
        data_dir=data_dir,
        name=name,
        dataset_dir=dataset_dir,
        tokenizer_path=tokenizer_path,
        manifest=read_manifest(dataset_dir),
    )


def build_builtin(
    data_dir: Path, vocab_size: int, progress: ProgressCallback | None = None
) -> None:
    """Build the built-in corpus's dataset and tokenizer under ``data_dir``."""
    from pgolf_cli.data.build import build_builtin as build

    try:
        build(data_dir, vocab_size, progress=progress)
    except PgolfInputError as problem:
        raise DataError(str(problem)) from problem


def read_manifest(dataset_dir: Path) -> dict[str, Any] | None:
    """The dataset's manifest.json, or None when it has none or it cannot be read as an object.

    The manifest only adds facts to run.json; a dataset without one (the official download)
    trains all the same.
    """
    try:
        data = json.loads((dataset_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
