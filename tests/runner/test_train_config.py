"""The ``[train]`` table of pgolf.toml and ``[tool.pgolf.train]`` of pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgolf_cli.config import ConfigError, TrainConfig, load_audit_config, load_train_config


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_no_settings(tmp_path: Path) -> None:
    assert load_train_config(tmp_path) == TrainConfig()


def test_pgolf_toml_train_table(tmp_path: Path) -> None:
    source = write(
        tmp_path / "pgolf.toml",
        '[audit]\nformat = "json"\n\n[train]\nscript = "src/train_gpt.py"\nseeds = [42, 1337, 7]\n'
        'preset = "cpu"\ndata = "../shared-data"\nout = "runs"\nnproc-per-node = 2\n'
        'env = { ITERATIONS = 500, COMPRESSOR = "zstd", TTT_ENABLED = true, EMA_DECAY = 0.99 }\n',
    )
    config = load_train_config(tmp_path / "deeper")
    assert config == TrainConfig(
        source=source,
        script=tmp_path / "src" / "train_gpt.py",
        preset="cpu",
        seeds=(42, 1337, 7),
        data=tmp_path / "../shared-data",
        out=tmp_path / "runs",
        nproc_per_node=2,
        env={"ITERATIONS": "500", "COMPRESSOR": "zstd", "TTT_ENABLED": "1", "EMA_DECAY": "0.99"},
    )
    # The audit table beside it still reads as before.
    assert load_audit_config(tmp_path).format == "json"


def test_pyproject_tool_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.pgolf.train]\nseeds = 3\n")
    assert load_train_config(tmp_path).seeds == (3,)


def test_file_without_train_table(tmp_path: Path) -> None:
    source = write(tmp_path / "pgolf.toml", '[audit]\nformat = "json"\n')
    assert load_train_config(tmp_path) == TrainConfig(source=source)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('seeds = ["a"]', "seeds must be a non-empty list"),
        ("seeds = []", "seeds must be a non-empty list"),
        ("seeds = [-1]", "seeds must be a non-empty list"),
        ('preset = "gpu"', "preset = 'gpu' is not a preset"),
        ("script = 3", "script must be a path"),
        ("nproc-per-node = 0", "nproc-per-node must be a positive integer"),
        ('env = "A=1"', "env must be a table"),
        ('env = { "A-B" = 1 }', "is not a variable name"),
        ("env = { A = [1] }", "env.A must be a string or a number"),
        ("iterations = 5", "unknown key 'iterations' in [train]"),
    ],
)
def test_bad_values_name_the_file_and_key(tmp_path: Path, table: str, message: str) -> None:
    write(tmp_path / "pgolf.toml", f"[train]\n{table}\n")
    with pytest.raises(ConfigError, match=r"pgolf\.toml") as caught:
        load_train_config(tmp_path)
    assert message in str(caught.value)


def test_train_must_be_a_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.pgolf]\ntrain = 1\n")
    with pytest.raises(ConfigError, match=r"\[tool.pgolf.train\] must be a table"):
        load_train_config(tmp_path)
