"""Shared pieces of the benchmarks: loading the template by path, the built-in data, machine
facts, markdown tables and JSON output (the pipeline benchmarks), and timing fresh interpreters
of two checkouts, interleaved (compare_tree, bench_startup).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "templates" / "train_gpt.py"
DEFAULT_DATA_DIR = REPO_ROOT / "bench" / "out" / "data"


def use_this_checkout() -> None:
    # Measure the code of this checkout, not whatever pgolf the interpreter has installed.
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def load_template() -> ModuleType:
    """The reference pipeline, imported by path (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("pgolf_bench_train_gpt", TEMPLATE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {TEMPLATE}")
    module = importlib.util.module_from_spec(spec)
    # dataclasses look annotations up through sys.modules, so register before executing.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def load_avg() -> float:
    # Other work on the machine inflates every number; the load average says how much there was.
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def machine() -> dict[str, str]:
    import torch

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus": str(cpus),
        "torch_threads": str(torch.get_num_threads()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_avg_1m_at_start": f"{load_avg():.2f}",
    }


def machine_line(info: Mapping[str, str]) -> str:
    return (
        f"Machine: {info['cpus']} CPUs ({info['torch_threads']} torch threads), "
        f"Python {info['python']}, torch {info['torch']}, {info['platform']}, {info['date']}"
    )


def builtin_data(data_dir: Path, vocab_size: int = 1024) -> tuple[Path, Path, float]:
    """The built-in dataset's folder and tokenizer under ``data_dir``, built when missing.

    Returns (dataset folder, tokenizer model, seconds spent building; 0 when it was there)."""
    use_this_checkout()
    from pgolf_cli.data.names import builtin_name, builtin_vocab_size
    from pgolf_cli.runner.dataset import prepare

    name = builtin_name(vocab_size)
    assert builtin_vocab_size(name) == vocab_size
    start = time.perf_counter()
    built: list[bool] = []
    selection = prepare(
        data_dir, name, explicit=False, before_build=lambda _sel: built.append(True)
    )
    seconds = time.perf_counter() - start if built else 0.0
    return selection.dataset_dir, selection.tokenizer_path, seconds


def preset_env(name: str) -> dict[str, str]:
    use_this_checkout()
    from pgolf_cli.runner.presets import get_preset

    return dict(get_preset(name).env)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


CHECKOUTS = ("before", "after")


def checkouts_parser(description: str, repeat: int) -> argparse.ArgumentParser:
    """Arguments of a before/after comparison: the two checkouts and how many runs of each."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--before", type=Path, required=True, help="the baseline checkout")
    parser.add_argument("--after", type=Path, required=True, help="the checkout measured")
    parser.add_argument("--repeat", type=int, default=repeat, help="interleaved runs of each")
    return parser


def run_in_checkout(
    checkout: Path, arguments: Sequence[str], *, check: bool = True, quiet: bool = False
) -> float:
    """Seconds of a fresh interpreter running ``arguments`` with ``checkout`` first on its path;
    ``check=False`` for a command whose exit status is a verdict (an audit with findings)."""
    env = dict(os.environ, PYTHONPATH=str(checkout.resolve()))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *arguments],
        env=env,
        cwd=checkout,
        stdout=subprocess.DEVNULL if quiet else None,
        check=check,
    )
    return time.perf_counter() - start


def interleaved(repeat: int, once: Callable[[str], float]) -> dict[str, list[float]]:
    """``once(checkout)`` run ``repeat`` times for each checkout, alternating, so that machine
    noise hits both alike."""
    times: dict[str, list[float]] = {name: [] for name in CHECKOUTS}
    for _ in range(repeat):
        for name in CHECKOUTS:
            times[name].append(once(name))
    return times
