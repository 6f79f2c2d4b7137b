"""``pgolf data fineweb``: the published challenge dataset and tokenizer from the Hugging Face hub.

The dataset repository holds a manifest (:data:`MANIFEST_PATH`) that lists, per variant, the
dataset folder name, the tokenizer files and the train and val shards, as paths in the repo::

    {"variants": {"sp1024": {"dataset": "fineweb10B_sp1024",
                             "tokenizer": ["tokenizers/fineweb_1024_bpe.model", ...],
                             "train": ["datasets/fineweb10B_sp1024/fineweb_train_000000.bin", ...],
                             "val": ["datasets/fineweb10B_sp1024/fineweb_val_000000.bin", ...]}}}

Files land in the layout of docs/pipeline.md: shards in ``DATA_DIR/datasets/<dataset>/``,
tokenizer files in ``DATA_DIR/tokenizers/``, under their file names. Every val shard and the
first N train shards are fetched. A file already in place that checks out (a shard's header
and size, a model that sentencepiece loads) is kept, so an interrupted download resumes; a
damaged one is fetched again. Downloads go to ``DATA_DIR/.download/`` first and move into place
only once they check out; that folder also keeps partial downloads for the hub client to resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from pgolf_cli.data.shards import is_shard_name, read_header
from pgolf_cli.data.tokenizer import load_tokenizer
from pgolf_cli.errors import PgolfInputError

# Where the published data lives; the one place to change if the repository is reorganised.
REPO_ID = "willdepueoai/parameter-golf"
REPO_TYPE = "dataset"
MANIFEST_PATH = "datasets/manifest.json"
STAGING_DIR = ".download"

#: ``fetch(repo_path, folder)`` downloads one file of the repository into ``folder`` and
#: returns where it put it. Tests pass one that copies from a local folder.
Fetch = Callable[[str, Path], Path]
#: ``progress(repo_path, done, total, kept)``, called after each file.
FetchProgress = Callable[[str, int, int, bool], None]

_DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def hub_fetch(repo_id: str = REPO_ID, revision: str | None = None) -> Fetch:
    """The real download: ``huggingface_hub.hf_hub_download`` into the given folder."""

    def fetch(repo_path: str, folder: Path) -> Path:
        from huggingface_hub import hf_hub_download

        return Path(
            hf_hub_download(
                repo_id,
                repo_path,
                repo_type=REPO_TYPE,
                revision=revision,
                local_dir=folder,
            )
        )

    return fetch


@dataclass(frozen=True)
class Variant:
    name: str
    dataset: str
    tokenizer: tuple[str, ...]
    train: tuple[str, ...]
    val: tuple[str, ...]


@dataclass(frozen=True)
class FinewebResult:
    dataset_dir: Path
    tokenizer_paths: tuple[Path, ...]
    train_shards: tuple[Path, ...]
    val_shards: tuple[Path, ...]
    downloaded: tuple[str, ...]
    kept: tuple[str, ...]
    manifest: dict[str, Any]


def parse_manifest(data: Any, where: str) -> dict[str, Variant]:
    """The variants of a repository manifest; ``where`` names it in errors."""
    fix = "The repository's manifest is not in the expected form; report it or pass --revision"
    if not isinstance(data, dict) or not isinstance(data.get("variants"), dict):
        raise PgolfInputError(where, 'has no "variants" object', fix)
    variants: dict[str, Variant] = {}
    for name, entry in data["variants"].items():
        if not isinstance(entry, dict):
            raise PgolfInputError(where, f"variant {name!r} is not an object", fix)
        dataset = entry.get("dataset")
        if not isinstance(dataset, str) or not _DATASET_NAME.fullmatch(dataset):
            raise PgolfInputError(where, f"variant {name!r} has no valid dataset name", fix)
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("tokenizer", "train", "val"):
            value = entry.get(key)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise PgolfInputError(
                    where, f"variant {name!r}: {key!r} is not a list of paths", fix
                )
            for path in value:
                file_name = PurePosixPath(path).name
                if key != "tokenizer" and not is_shard_name(file_name, key):
                    raise PgolfInputError(
                        where, f"variant {name!r}: {path!r} is not a {key} shard name", fix
                    )
                if not file_name or file_name in (".", ".."):
                    raise PgolfInputError(where, f"variant {name!r}: bad path {path!r}", fix)
            lists[key] = tuple(value)
        if not lists["tokenizer"] or not lists["val"]:
            raise PgolfInputError(
                where, f"variant {name!r} lists no tokenizer or no val shards", fix
            )
        variants[name] = Variant(name, dataset, lists["tokenizer"], lists["train"], lists["val"])
    return variants


def download_fineweb(
    data_dir: Path,
    variant: str,
    train_shards: int | None = None,
    *,
    repo_id: str = REPO_ID,
    revision: str | None = None,
    manifest_path: str = MANIFEST_PATH,
    fetch: Fetch | None = None,
    progress: FetchProgress | None = None,
) -> FinewebResult:
    """Download a variant's tokenizer, every val shard and the first ``train_shards`` train
    shards (None: every train shard the manifest lists, the full training set)."""
    if train_shards is not None and train_shards < 0:
        raise PgolfInputError(
            f"--train-shards {train_shards}", "cannot be negative", "Pass 0 or more"
        )
    if fetch is None:
        check_hub_reachable(repo_id)
    fetcher = fetch if fetch is not None else hub_fetch(repo_id, revision)
    staging = data_dir / STAGING_DIR
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as problem:
        raise PgolfInputError(
            str(data_dir),
            f"cannot create the data folder ({problem.strerror or problem})",
            "Check the path and its permissions, or pass another --out folder",
        ) from None

    where = f"{repo_id}:{manifest_path}"
    manifest_file = _fetch(fetcher, manifest_path, staging, repo_id)
    try:
        manifest_data = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise PgolfInputError(
            where, f"is not valid JSON ({problem})", "Report it, or pass another --revision"
        ) from None
    variants = parse_manifest(manifest_data, where)
    if variant not in variants:
        raise PgolfInputError(
            where,
            f"has no variant {variant!r}",
            f"Pick one of: {', '.join(sorted(variants)) or '(none)'}",
        )
    chosen = variants[variant]
    if train_shards is None:
        train_shards = len(chosen.train)
    if train_shards > len(chosen.train):
        raise PgolfInputError(
            f"--train-shards {train_shards}",
            f"variant {variant} has only {len(chosen.train)} train shards",
            f"Pass at most {len(chosen.train)}",
        )

    dataset_dir = data_dir / "datasets" / chosen.dataset
    tokenizer_dir = data_dir / "tokenizers"
    plan: list[tuple[str, Path, str]] = [
        (path, tokenizer_dir / PurePosixPath(path).name, "tokenizer") for path in chosen.tokenizer
    ]
    plan += [(path, dataset_dir / PurePosixPath(path).name, "shard") for path in chosen.val]
    plan += [
        (path, dataset_dir / PurePosixPath(path).name, "shard")
        for path in chosen.train[:train_shards]
    ]
    dataset_dir.mkdir(parents=True, exist_ok=True)
    tokenizer_dir.mkdir(parents=True, exist_ok=True)

    downloaded: list[str] = []
    kept: list[str] = []
    for done, (repo_path, target, kind) in enumerate(plan, start=1):
        if _valid(target, kind):
            kept.append(repo_path)
        else:
            fetched = _fetch(fetcher, repo_path, staging, repo_id)
            try:
                _check(fetched, kind)
            except PgolfInputError as problem:
                fetched.unlink(missing_ok=True)
                raise PgolfInputError(
                    f"{repo_id}:{repo_path}",
                    f"the downloaded file is damaged ({problem.problem})",
                    "Run the same command again; if it fails again, report it or pass another "
                    "--revision",
                ) from None
            os.replace(fetched, target)
            downloaded.append(repo_path)
        if progress is not None:
            progress(repo_path, done, len(plan), repo_path in kept)

    tokenizer_paths = tuple(target for _, target, kind in plan if kind == "tokenizer")
    val_paths = tuple(dataset_dir / PurePosixPath(p).name for p in chosen.val)
    train_paths = tuple(dataset_dir / PurePosixPath(p).name for p in chosen.train[:train_shards])
    local_manifest = _local_manifest(
        chosen, repo_id, revision, data_dir, tokenizer_paths, train_paths, val_paths
    )
    (dataset_dir / "manifest.json").write_text(
        json.dumps(local_manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    shutil.rmtree(staging, ignore_errors=True)
    return FinewebResult(
        dataset_dir=dataset_dir,
        tokenizer_paths=tokenizer_paths,
        train_shards=train_paths,
        val_shards=val_paths,
        downloaded=tuple(downloaded),
        kept=tuple(kept),
        manifest=local_manifest,
    )


def check_hub_reachable(repo_id: str, timeout_s: float = 10.0) -> None:
    """Fail at once, with one clear message, when the hub cannot be reached.

    Without it the hub client retries each request five times with growing waits, printing a
    warning per try, before the error; one connection attempt tells an offline machine apart
    in a moment. In offline mode the client answers from its cache, so nothing is tried.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return
    endpoint = urlsplit(constants.ENDPOINT)
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as problem:
        reason = problem.strerror or str(problem) or type(problem).__name__
        raise PgolfInputError(
            f"{repo_id}:{MANIFEST_PATH}",
            f"cannot reach the Hugging Face hub at {host}:{port} ({reason}): this machine has "
            "no network connection, or no route to the hub",
            "Connect to the network (or set HF_ENDPOINT to a mirror you can reach), then run "
            "the same command again: files already downloaded are kept",
        ) from None


def _fetch(fetch: Fetch, repo_path: str, staging: Path, repo_id: str) -> Path:
    from huggingface_hub import errors

    try:
        return fetch(repo_path, staging)
    except (errors.RepositoryNotFoundError, errors.RevisionNotFoundError) as problem:
        raise PgolfInputError(
            f"{repo_id}:{repo_path}",
            f"the Hugging Face dataset repository or revision was not found ({_short(problem)})",
            "Check --repo and --revision",
        ) from None
    except (OSError, errors.EntryNotFoundError) as problem:
        # Offline mode, no connection, a missing file and HTTP errors all land here; the hub
        # client's exceptions for them derive from OSError or EntryNotFoundError.
        raise PgolfInputError(
            f"{repo_id}:{repo_path}",
            f"cannot download it from the Hugging Face hub ({_short(problem)})",
            "Check the network connection (and that HF_HUB_OFFLINE is not set), then run the "
            "same command again: files already downloaded are kept",
        ) from None


def _short(problem: BaseException) -> str:
    text = str(problem).strip()
    return text.splitlines()[0] if text else type(problem).__name__


def _check(path: Path, kind: str) -> None:
    if kind == "shard":
        read_header(path)
    elif path.suffix == ".model":
        load_tokenizer(path)
    elif not path.is_file():
        raise PgolfInputError(str(path), "is missing", "Download it again")


def _valid(path: Path, kind: str) -> bool:
    if not path.is_file():
        return False
    try:
        _check(path, kind)
    except PgolfInputError:
        return False
    return True


def _local_manifest(
    variant: Variant,
    repo_id: str,
    revision: str | None,
    data_dir: Path,
    tokenizer_paths: tuple[Path, ...],
    train_paths: tuple[Path, ...],
    val_paths: tuple[Path, ...],
) -> dict[str, Any]:
    models = [path for path in tokenizer_paths if path.suffix == ".model"]
    return {
        "schema_version": 1,
        "name": variant.dataset,
        "source": {
            "kind": "fineweb",
            "repo": repo_id,
            "revision": revision,
            "variant": variant.name,
        },
        "tokenizer": {
            "model": models[0].relative_to(data_dir).as_posix() if models else None,
            "sha256": hashlib.sha256(models[0].read_bytes()).hexdigest() if models else None,
        },
        "splits": {
            split: {
                "shards": [path.name for path in paths],
                "tokens": sum(read_header(path) for path in paths),
            }
            for split, paths in (("train", train_paths), ("val", val_paths))
        },
    }
