"""Every ``pgolf`` command starts by importing the whole command tree: libraries that only one
command needs are imported inside it, so `pgolf audit` does not pay for `pgolf stats`' models
or `pgolf rules`' Markdown renderer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# What a command imports when it runs, each costing 40-200 ms at the start of every command.
ONE_COMMAND_LIBRARIES = ("torch", "pydantic", "markdown_it", "libcst", "numpy")


def test_the_command_tree_imports_no_library_a_single_command_needs() -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, pgolf_cli.cli; "
            f"print(json.dumps([m for m in {ONE_COMMAND_LIBRARIES!r} if m in sys.modules]))",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    assert json.loads(probe.stdout) == []
