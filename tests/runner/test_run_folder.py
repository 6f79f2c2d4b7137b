"""The run folder's layout: seed folders, node folders and which log each seed has."""

from __future__ import annotations

import json
from pathlib import Path

from pgolf_cli.run_folder import (
    RUN_JSON,
    TRAIN_LOG,
    is_node_folder,
    node_folder,
    run_json_paths,
    run_seeds,
    seed_folder,
    seed_folders,
    seed_logs,
)


def _seed(
    run_dir: Path, seed: int, *, log: str | None = TRAIN_LOG, run_json: object = None
) -> Path:
    folder = run_dir / seed_folder(seed)
    folder.mkdir(parents=True)
    if log is not None:
        (folder / log).write_text("step:1/2 train_loss:6.9\n", encoding="utf-8")
    if run_json is not None:
        text = run_json if isinstance(run_json, str) else json.dumps(run_json)
        (folder / RUN_JSON).write_text(text, encoding="utf-8")
    return folder


def test_seed_folders_and_seeds(tmp_path: Path) -> None:
    for seed in (1337, 42, 7):
        _seed(tmp_path, seed)
    (tmp_path / "seedling").mkdir()  # not a seed folder
    (tmp_path / "seed9").write_text("a file, not a folder", encoding="utf-8")
    assert [p.name for p in seed_folders(tmp_path)] == ["seed1337", "seed42", "seed7"]
    assert run_seeds(tmp_path) == (7, 42, 1337)


def test_node_folders() -> None:
    assert node_folder("exp", 0) == "exp"
    assert node_folder("exp", 2) == "exp-node2"
    assert is_node_folder(node_folder("exp", 2))
    assert not is_node_folder(node_folder("exp", 0))


def test_each_seed_has_the_log_its_run_json_names(tmp_path: Path) -> None:
    plain = _seed(tmp_path, 1)  # no run.json: train.log
    renamed = _seed(tmp_path, 2, log="other.log", run_json={"log": "other.log"})
    broken = _seed(tmp_path, 3, run_json="{not json")  # unreadable: train.log
    _seed(tmp_path, 4, log=None, run_json={"log": "train.log"})  # crashed before a log
    assert seed_logs(tmp_path) == [
        plain / TRAIN_LOG,
        renamed / "other.log",
        broken / TRAIN_LOG,
    ]
    assert [p.parent.name for p in run_json_paths(tmp_path)] == ["seed2", "seed3", "seed4"]
