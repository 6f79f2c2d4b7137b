"""The benchmark generator makes valid, deterministic scripts of about the requested size."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    # bench/ is not a package and not on sys.path; load the module from its file.
    spec = importlib.util.spec_from_file_location("gen_scripts", BENCH / "gen_scripts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size_kb", [64, 96])
def test_size_is_close_to_target(gen: ModuleType, size_kb: int) -> None:
    source = gen.generate_script(seed=3, index=1, size_kb=size_kb)
    size = len(source.encode("utf-8")) / 1024
    assert size_kb * 0.97 <= size <= size_kb * 1.05


def test_scripts_parse_and_have_the_realistic_shape(gen: ModuleType) -> None:
    source = gen.generate_script(seed=0, index=0, size_kb=64)
    tree = ast.parse(source)
    top = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert {"Hyperparameters", "GPT", "Muon", "BigramHashEmbedding", "main"} <= top
    assert "load_validation_tokens" in top
    env_reads = source.count("os.environ.get(")
    assert env_reads >= 40
    assert 'if __name__ == "__main__":' in source
    assert "fineweb_val_*.bin" in source and "fineweb_train_*.bin" in source


def test_same_seed_same_script_other_seed_differs(gen: ModuleType) -> None:
    a = gen.generate_script(seed=5, index=2, size_kb=64)
    assert a == gen.generate_script(seed=5, index=2, size_kb=64)
    assert a != gen.generate_script(seed=5, index=3, size_kb=64)
    assert a != gen.generate_script(seed=6, index=2, size_kb=64)


def test_write_scripts_names_and_count(gen: ModuleType, tmp_path: Path) -> None:
    paths = gen.write_scripts(tmp_path, count=2, seed=1, size_kb=60)
    assert [p.name for p in paths] == ["train_gpt_000.py", "train_gpt_001.py"]
    for p in paths:
        ast.parse(p.read_text(encoding="utf-8"))
