"""The README's commands, run: each ``pgolf`` line of its bash blocks in a workspace made from
the shared CPU run, and each output the README shows compared with what the command prints.

The workspace is what the README's examples assume: the run as ``runs/my-run`` (seeds 1 2 3),
the built-in dataset, ``train_gpt.py``, the example scripts, a baseline record and a record of
one's own (both packaged from the run), and, when ``../shared`` is there, a merged record of
the challenge. Every command gets a fresh copy, so no example depends on another's files.

A command runs unless :data:`NOT_RUN` says why not (minutes of training, the network, a git
clone of the challenge repository); tests/cli/test_docs.py still parses those. A command must
exit 0, 1 (findings, a failed check) or 3 (needs review), never 2 (usage or input error) or a
crash. An output block (``<!-- output of: COMMAND (exit N) -->`` before it) is an excerpt: its
lines, with every number masked and runs of spaces collapsed, appear in that order in the output.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_RECORD = (
    ROOT.parent
    / "shared/data/parameter-golf-records-full/track_10min_16mb"
    / "2026-03-25_ValCalib_GPTQ_XSA_BigramHash3072"
)

#: Commands not run here, by pattern, and why.
NOT_RUN: dict[str, str] = {
    r"^python3 -m venv": "the set-up; test_readme.py checks it is the command CI runs",
    r"pytest": "the test suite itself",
    r"\bpgolf train\b": "trains for minutes; the shared CPU run of this module stands for it",
    r"\bpgolf sweep\b": "trains several configurations, minutes each",
    r"\bpgolf gate\b": "needs a clone of the challenge repository with a pull request",
    r"\bpgolf data fineweb\b": "downloads the published dataset",
    r"\bpgolf data build\b": "a minute of tokenizer training; the shared run built the corpus",
    r"\bNEW_DIR\b": "a placeholder for a folder of one's own",
    r"bench/": "benchmarks of minutes; test_docs.py checks their scripts and flags",
    r"^git ": "works on a clone of the challenge repository (fetching its pull requests)",
}
#: The README's examples name seeds 42 1337 7; the shared run has seeds 1 2 3.
SUBSTITUTE = {"--seeds 42 1337 7": "--seeds 1 2 3"}

_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
_BOX_ONLY = re.compile(r"^[\s━─┏┓┗┛┡┩└┘┃│┳┻╇╈┼├┤┬┴═║╭╮╰╯]*$")


def _run_pgolf(workspace: Path, line: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{workspace / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
        "COLUMNS": "100",
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.run(
        ["bash", "-c", line],
        cwd=workspace,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def workspace(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("readme") / "ws"
    (base / "bin").mkdir(parents=True)
    shim = base / "bin" / "pgolf"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pgolf_cli "$@"\n', encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    shutil.copytree(trained / "data", base / "data")
    shutil.copytree(trained / "runs" / "tiny", base / "runs" / "my-run")
    shutil.copytree(ROOT / "templates" / "examples", base / "templates" / "examples")
    shutil.copy(ROOT / "templates" / "train_gpt.py", base / "train_gpt.py")
    mine = base / "records" / "track_10min_16mb" / "2026-04-01_X"
    mine.mkdir(parents=True)
    shutil.copy(ROOT / "templates" / "train_gpt.py", mine / "train_gpt.py")
    for seed, name in ((1, 42), (2, 1337), (3, 7)):
        shutil.copy(
            base / "runs/my-run" / f"seed{seed}" / "train.log", base / f"train_seed{name}.log"
        )
    tokenizers = base / "data" / "tokenizers"
    # The README checks the vocab-1024 tokenizer; the shared run built vocab 512.
    shutil.copy(tokenizers / "builtin_sp512.model", tokenizers / "builtin_sp1024.model")
    shutil.copy(tokenizers / "builtin_sp512.model", base / "tokenizer.model")
    (base / "docs.txt").write_text("A first document.\n\nA second one, café.\n", encoding="utf-8")
    for name, day in (("Best", "2026-04-27"), ("MyRecord", "2026-05-01")):
        made = _run_pgolf(
            base,
            f"pgolf package --run runs/my-run --name {name} --date {day} --author Ada "
            "--github-id ada --blurb 'A record for the README examples.'",
        )
        assert made.returncode == 0, made.stdout
    if SHARED_RECORD.is_dir():
        (base / "records/track_10min_16mb" / SHARED_RECORD.name).symlink_to(SHARED_RECORD)
    return base


def _readme_commands(doc_commands: list[Any]) -> list[Any]:
    return [c for c in doc_commands if c.block.path.name == "README.md"]


def _masked(line: str) -> str:
    return " ".join(_NUMBER.sub("#", line).split())


def _expected_lines(block_text: str) -> list[str]:
    lines = []
    for line in block_text.split("\n"):
        stripped = line.strip()
        if not stripped or _BOX_ONLY.match(stripped) or stripped in ("...", "…"):
            continue
        if "..." in stripped and stripped.startswith(("│", "...")):
            continue  # an elided table row
        lines.append(_masked(line))
    return lines


def _missing(expected: list[str], output: str) -> str | None:
    """The first expected line not found (in order) in the output, or None."""
    actual = [_masked(line) for line in output.split("\n")]
    position = 0
    for line in expected:
        while position < len(actual) and line not in actual[position]:
            position += 1
        if position == len(actual):
            return line
        position += 1
    return None


def test_every_readme_command_runs(
    doc_commands: list[Any], workspace: Path, tmp_path: Path
) -> None:
    problems = []
    ran = 0
    for command in _readme_commands(doc_commands):
        if any(re.search(pattern, command.text) for pattern in NOT_RUN):
            continue
        line = command.text
        for old, new in SUBSTITUTE.items():
            line = line.replace(old, new)
        copy = tmp_path / f"ws{ran}"
        shutil.copytree(workspace, copy, symlinks=True)
        result = _run_pgolf(copy, line)
        ran += 1
        # 0 pass, 1 findings or a failed check, 3 needs review (verify, gate): never 2.
        if result.returncode not in (0, 1, 3) or "Traceback" in result.stdout:
            tail = "\n    ".join(result.stdout.strip().splitlines()[-8:])
            problems.append(f"{command.where}: `{line}` exited {result.returncode}:\n    {tail}")
        shutil.rmtree(copy, ignore_errors=True)
    assert ran >= 20
    assert not problems, "\n".join(problems)


def test_every_output_the_readme_shows(
    doc_blocks: list[Any], workspace: Path, tmp_path: Path
) -> None:
    problems = []
    shown = [b for b in doc_blocks if b.output_of and b.path.name == "README.md"]
    assert len(shown) >= 4
    for index, block in enumerate(shown):
        if "challenge data" in block.note and not SHARED_RECORD.is_dir():
            continue  # the merged record is not here (tests that need ../shared skip)
        copy = tmp_path / f"ws{index}"
        shutil.copytree(workspace, copy, symlinks=True)
        result = _run_pgolf(copy, block.output_of)
        if result.returncode != block.exit_code:
            problems.append(
                f"{block.where}: `{block.output_of}` exited {result.returncode}, the README says "
                f"{block.exit_code}:\n{result.stdout}"
            )
            continue
        missing = _missing(_expected_lines(block.text), result.stdout)
        if missing is not None:
            problems.append(
                f"{block.where}: the output of `{block.output_of}` no longer shows (numbers "
                f"masked as #):\n    {missing}\nit printed:\n{result.stdout}"
            )
    assert not problems, "\n\n".join(problems)


def test_the_excerpt_comparison_catches_a_stale_line() -> None:
    output = "table\nval_bpb 3.1 ± 0.2 over 3 seed(s)\nverify: 12 pass, 1 warn, 1 skip\n"
    assert (
        _missing(["val_bpb # ± # over # seed(s)", "verify: # pass, # warn, # skip"], output) is None
    )
    assert _missing(["verify: # pass, # warn, # skip", "val_bpb # ± # over # seed(s)"], output)
    assert _missing(["verify: # passed"], output) == "verify: # passed"
    assert _expected_lines("│ ...   │   │\n┏━━┓\nfoo 12,345 bytes") == ["foo # bytes"]
