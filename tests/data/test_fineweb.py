"""`pgolf data fineweb` against a fake repository in a local folder; never the network."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import Result

from pgolf_cli.data.build import dataset_paths
from pgolf_cli.data.fineweb import REPO_ID, Fetch, download_fineweb, hub_fetch, parse_manifest
from pgolf_cli.data.shards import read_header, write_shard
from pgolf_cli.errors import PgolfInputError

Invoke = Callable[..., Result]
DATASET = "fineweb10B_sp1024"
SHARD_DIR = f"datasets/{DATASET}"


@pytest.fixture
def fake_repo(tmp_path: Path, trained_model: Path) -> Path:
    """A folder laid out like the dataset repository: manifest, tokenizer, 1 val + 3 train shards."""
    repo = tmp_path / "repo"
    (repo / SHARD_DIR).mkdir(parents=True)
    (repo / "tokenizers").mkdir()
    shutil.copy(trained_model, repo / "tokenizers" / "fineweb_1024_bpe.model")
    (repo / "tokenizers" / "fineweb_1024_bpe.vocab").write_text("<pad>\t0\n", encoding="utf-8")
    val = [f"{SHARD_DIR}/fineweb_val_000000.bin"]
    train = [f"{SHARD_DIR}/fineweb_train_{i:06d}.bin" for i in range(3)]
    for index, path in enumerate(val + train):
        write_shard(repo / path, np.arange(1, 20 + index, dtype=np.uint16))
    manifest = {
        "variants": {
            "sp1024": {
                "dataset": DATASET,
                "tokenizer": [
                    "tokenizers/fineweb_1024_bpe.model",
                    "tokenizers/fineweb_1024_bpe.vocab",
                ],
                "train": train,
                "val": val,
            },
            "sp4096": {
                "dataset": "fineweb10B_sp4096",
                "tokenizer": ["tokenizers/fineweb_4096_bpe.model"],
                "train": [],
                "val": ["datasets/fineweb10B_sp4096/fineweb_val_000000.bin"],
            },
        }
    }
    (repo / "datasets" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return repo


class FakeHub:
    """A ``fetch`` that copies from the fake repository, as hf_hub_download(local_dir=...) would."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.calls: list[str] = []

    def __call__(self, repo_path: str, folder: Path) -> Path:
        self.calls.append(repo_path)
        source = self.repo / repo_path
        if not source.is_file():
            raise FileNotFoundError(f"{repo_path} is not in the repository")
        target = folder / repo_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        return target


def _download(out: Path, fetch: Fetch, shards: int = 2, variant: str = "sp1024") -> object:
    return download_fineweb(out, variant, shards, fetch=fetch)


def test_download_into_the_official_layout(fake_repo: Path, tmp_path: Path) -> None:
    hub = FakeHub(fake_repo)
    out = tmp_path / "data"
    seen: list[tuple[str, int, int, bool]] = []
    result = download_fineweb(out, "sp1024", 2, fetch=hub, progress=lambda *a: seen.append(a))

    dataset = out / "datasets" / DATASET
    assert result.dataset_dir == dataset
    assert sorted(p.name for p in dataset.iterdir()) == [
        "fineweb_train_000000.bin",
        "fineweb_train_000001.bin",
        "fineweb_val_000000.bin",
        "manifest.json",
    ]
    assert sorted(p.name for p in (out / "tokenizers").iterdir()) == [
        "fineweb_1024_bpe.model",
        "fineweb_1024_bpe.vocab",
    ]
    for name in ("fineweb_val_000000.bin", "fineweb_train_000001.bin"):
        assert (dataset / name).read_bytes() == (fake_repo / SHARD_DIR / name).read_bytes()
    # Only the manifest, the tokenizer, val and the first two train shards were fetched.
    assert hub.calls[0] == "datasets/manifest.json"
    assert "fineweb_train_000002.bin" not in " ".join(hub.calls)
    assert len(result.downloaded) == 5 and result.kept == ()
    assert [entry[1:3] for entry in seen] == [(i, 5) for i in range(1, 6)]
    manifest = json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source"] == {
        "kind": "fineweb",
        "repo": REPO_ID,
        "revision": None,
        "variant": "sp1024",
    }
    assert manifest["tokenizer"]["model"] == "tokenizers/fineweb_1024_bpe.model"
    assert manifest["splits"]["val"] == {"shards": ["fineweb_val_000000.bin"], "tokens": 19}
    assert manifest["splits"]["train"]["tokens"] == 20 + 21
    # The runner finds the official tokenizer through the same function as a built one.
    assert dataset_paths(out, DATASET) == (dataset, out / "tokenizers" / "fineweb_1024_bpe.model")
    # The staging folder goes once everything is in place.
    assert not (out / ".download").exists()


def test_resume_keeps_good_files_and_refetches_damaged_ones(
    fake_repo: Path, tmp_path: Path, shard_ids: Callable[[Path], list[int]]
) -> None:
    out = tmp_path / "data"
    _download(out, FakeHub(fake_repo))
    dataset = out / "datasets" / DATASET

    hub = FakeHub(fake_repo)
    result = download_fineweb(out, "sp1024", 2, fetch=hub)
    assert hub.calls == ["datasets/manifest.json"]
    assert len(result.kept) == 5 and result.downloaded == ()

    (dataset / "fineweb_train_000001.bin").unlink()
    val = dataset / "fineweb_val_000000.bin"
    val.write_bytes(val.read_bytes()[:-3])
    (out / "tokenizers" / "fineweb_1024_bpe.model").write_bytes(b"not a model")
    hub = FakeHub(fake_repo)
    result = download_fineweb(out, "sp1024", 3, fetch=hub)
    assert sorted(result.downloaded) == sorted(
        [
            "tokenizers/fineweb_1024_bpe.model",
            f"{SHARD_DIR}/fineweb_val_000000.bin",
            f"{SHARD_DIR}/fineweb_train_000001.bin",
            f"{SHARD_DIR}/fineweb_train_000002.bin",
        ]
    )
    assert shard_ids(val) == list(range(1, 20))


def test_damaged_shard_in_the_repository(fake_repo: Path, tmp_path: Path) -> None:
    broken = fake_repo / SHARD_DIR / "fineweb_train_000001.bin"
    broken.write_bytes(broken.read_bytes()[:-2])
    out = tmp_path / "data"
    with pytest.raises(PgolfInputError) as caught:
        _download(out, FakeHub(fake_repo))
    assert caught.value.path == f"{REPO_ID}:{SHARD_DIR}/fineweb_train_000001.bin"
    assert "the downloaded file is damaged" in caught.value.problem
    assert "is truncated" in caught.value.problem
    # The damaged file never reaches the dataset; what came before it is kept for a retry.
    dataset = out / "datasets" / DATASET
    assert not (dataset / "fineweb_train_000001.bin").exists()
    assert read_header(dataset / "fineweb_train_000000.bin") == 20


@pytest.mark.parametrize(
    ("variant", "shards", "problem"),
    [
        ("sp2048", 1, "has no variant 'sp2048'"),
        ("sp1024", 4, "variant sp1024 has only 3 train shards"),
        ("sp1024", -1, "cannot be negative"),
    ],
)
def test_bad_requests(
    fake_repo: Path, tmp_path: Path, variant: str, shards: int, problem: str
) -> None:
    with pytest.raises(PgolfInputError) as caught:
        _download(tmp_path / "data", FakeHub(fake_repo), shards, variant)
    assert problem in caught.value.problem
    if variant == "sp2048":
        assert "sp1024, sp4096" in caught.value.fix


def test_file_missing_from_the_repository(fake_repo: Path, tmp_path: Path) -> None:
    (fake_repo / "tokenizers" / "fineweb_1024_bpe.vocab").unlink()
    with pytest.raises(PgolfInputError) as caught:
        _download(tmp_path / "data", FakeHub(fake_repo))
    assert caught.value.path == f"{REPO_ID}:tokenizers/fineweb_1024_bpe.vocab"
    assert "cannot download it" in caught.value.problem


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        ([], 'has no "variants" object'),
        ({"variants": {"v": {"dataset": "../up", "tokenizer": [], "train": [], "val": []}}}, "dataset name"),
        ({"variants": {"v": {"dataset": "d", "tokenizer": ["t.model"], "train": "x", "val": []}}}, "'train' is not a list"),
        ({"variants": {"v": {"dataset": "d", "tokenizer": ["t.model"], "train": ["a/fineweb_val_000000.bin"], "val": ["x"]}}}, "is not a train shard name"),
        ({"variants": {"v": {"dataset": "d", "tokenizer": ["t.model"], "train": [], "val": []}}}, "no tokenizer or no val shards"),
    ],
)  # fmt: skip
def test_manifest_validation(manifest: object, problem: str) -> None:
    with pytest.raises(PgolfInputError) as caught:
        parse_manifest(manifest, "repo:manifest.json")
    assert caught.value.path == "repo:manifest.json"
    assert problem in caught.value.problem


def test_manifest_that_is_not_json(fake_repo: Path, tmp_path: Path) -> None:
    (fake_repo / "datasets" / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(PgolfInputError, match="is not valid JSON"):
        _download(tmp_path / "data", FakeHub(fake_repo))


def test_offline_hub_error_names_the_repo_and_the_retry(tmp_path: Path) -> None:
    # The real fetch, with HF_HUB_OFFLINE=1 (conftest) and sockets refused.
    with pytest.raises(PgolfInputError) as caught:
        download_fineweb(tmp_path / "data", "sp1024", 1, fetch=hub_fetch(REPO_ID))
    assert caught.value.path == f"{REPO_ID}:datasets/manifest.json"
    assert "cannot download it from the Hugging Face hub" in caught.value.problem
    assert "run the same command again" in caught.value.fix


def test_without_a_connection_it_fails_at_once_without_retries(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not in offline mode: the hub client would retry five times (24 s of warnings). One
    # connection attempt (refused here, as by a machine without network) ends it first.
    import huggingface_hub
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    calls: list[object] = []
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: calls.append(a))
    start = time.monotonic()
    result = invoke("data", "fineweb", "--variant", "sp1024", "--out", tmp_path / "data")
    assert time.monotonic() - start < 5
    assert result.exit_code == 2, result.output
    stderr = " ".join(result.stderr.split())
    assert stderr.count("error:") == 1 and "Retry" not in stderr
    assert "cannot reach the Hugging Face hub at huggingface.co:443" in stderr
    assert "no network connection" in stderr
    assert calls == []


def test_the_default_is_every_train_shard(fake_repo: Path, tmp_path: Path) -> None:
    # `pgolf data fineweb --variant sp1024`, as the README and train's hint write it.
    result = download_fineweb(tmp_path / "data", "sp1024", fetch=FakeHub(fake_repo))
    assert [p.name for p in result.train_shards] == [f"fineweb_train_{i:06d}.bin" for i in range(3)]


def test_cli_without_train_shards_downloads_them_all(
    invoke: Invoke, fake_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pgolf_cli.data.fineweb as fineweb

    monkeypatch.setattr(fineweb, "hub_fetch", lambda *a, **k: FakeHub(fake_repo))
    monkeypatch.setattr(fineweb, "check_hub_reachable", lambda *a, **k: None)
    result = invoke("data", "fineweb", "--variant", "sp1024", "--out", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert "6 downloaded, 0 already present" in result.stderr  # 2 tokenizer, 1 val, 3 train


def test_help_states_the_exit_codes(invoke: Invoke) -> None:
    result = invoke("data", "fineweb", "--help")
    text = " ".join(result.stdout.split())
    assert "Exit codes: 0 every file downloaded or already present; 2 bad input" in text
    assert "default: every train shard" in text


def test_cli_offline_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke(
        "data",
        "fineweb",
        "--train-shards",
        "1",
        "--out",
        tmp_path / "data",
        "--repo",
        "someone/golf",
    )
    assert result.exit_code == 2
    assert "someone/golf:datasets/manifest.json" in result.stderr
    assert "HF_HUB_OFFLINE" in result.stderr


def test_cli_download_with_fake_hub(
    invoke: Invoke, fake_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pgolf_cli.data.fineweb as fineweb

    used: list[tuple[str, str | None]] = []

    def fake_hub_fetch(repo_id: str = REPO_ID, revision: str | None = None) -> Fetch:
        used.append((repo_id, revision))
        return FakeHub(fake_repo)

    monkeypatch.setattr(fineweb, "hub_fetch", fake_hub_fetch)
    out = tmp_path / "data"
    args = ("data", "fineweb", "--train-shards", "1", "--out", out, "--revision", "v1")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert used == [(REPO_ID, "v1")]
    assert "downloaded tokenizers/fineweb_1024_bpe.model" in result.stderr
    assert "4 downloaded, 0 already present" in result.stderr
    again = invoke(*args)
    assert again.exit_code == 0
    assert "0 downloaded, 4 already present" in again.stderr
