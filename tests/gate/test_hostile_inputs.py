"""Hostile scripts end in a report, through `pgolf audit` and through `pgolf gate`.

Each shape once crashed or stalled the audit: 3,000 nested brackets overflowed libcst's native
parser (SIGSEGV, exit 139, no report), an expression of 100,000 terms kept it parsing for
minutes. Every shape must now give a PG901 (CPython rejects the code) or a PG906 (the code is
beyond the audit's bounds) at the right line, within a bounded time, packed or not, alone or in
a records folder. `pgolf audit` runs as a separate process, as CI runs it, so a regression shows
as a crash of that process rather than of the test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from gate_helpers import GOOD_RUNS, TEN_MIN, Repo, record_files
from typer.testing import CliRunner

from checks.examples import _pack
from pgolf_cli.cli import app

REPO_ROOT = Path(__file__).resolve().parents[2]
NEW = f"{TEN_MIN}/2026-05-01_Hostile"
#: Far above what any shape needs (each takes well under a second of audit), far below a hang.
SECONDS = 60


@dataclass(frozen=True)
class Shape:
    text: str
    findings: tuple[tuple[str, int], ...]
    """(rule id, line) of every finding the audit must give."""


_BRACKETS = "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n"
_DEEP = "import torch\n\nx = torch.ones(1)" + "[0]" * 300 + "\n"

SHAPES = {
    # CPython: "too many nested parentheses"; libcst overflowed its stack.
    "3000-nested-brackets": Shape(_BRACKETS, (("PG901", 1),)),
    # CPython: RecursionError while building its tree; libcst parsed for minutes.
    "100000-term-sum": Shape("x = " + " + ".join(["1"] * 100_000) + "\n", (("PG901", 1),)),
    # CPython: "too many levels of indentation" at the 101st block.
    "120-nested-blocks": Shape(
        "".join(" " * i + "if x:\n" for i in range(120)) + " " * 120 + "pass\n",
        (("PG901", 101),),
    ),
    # Valid Python, 300 levels deep: refused before libcst sees it.
    "300-deep-subscripts": Shape(_DEEP, (("PG906", 3),)),
    # A boolean chain is flat for CPython but 500 levels deep for libcst.
    "500-operand-or-chain": Shape(
        "import os\n\nflag = " + " or ".join(["os.sep"] * 500) + "\n", (("PG906", 3),)
    ),
    # The decoded payload goes through the same guard; PG902 notes the wrapper on line 2.
    "packed-nested-brackets": Shape(_pack(_BRACKETS, "lzma-b85"), (("PG901", 1), ("PG902", 2))),
    "packed-deep-subscripts": Shape(_pack(_DEEP, "zlib-b64"), (("PG902", 2), ("PG906", 3))),
    # One 4 MB line is long but shallow: audited, clean.
    "4mb-line": Shape('BLOB = "' + "ab" * 2_000_000 + '"\nprint(len(BLOB))\n', ()),
}


def _rows(findings: list[dict[str, object]]) -> list[tuple[object, object]]:
    return sorted((f["rule_id"], f["line"]) for f in findings)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_pgolf_audit_reports_a_hostile_script(name: str, tmp_path: Path) -> None:
    shape = SHAPES[name]
    path = tmp_path / "train_gpt.py"
    path.write_text(shape.text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pgolf_cli", "audit", str(path), "-f", "json", "-j", "1"],
        capture_output=True,
        text=True,
        timeout=SECONDS,
        env=env,
        cwd=tmp_path,
    )
    assert time.monotonic() - started < SECONDS
    assert done.returncode == (1 if shape.findings else 0), done.stderr[-2000:]
    (result,) = json.loads(done.stdout)["files"]
    assert result["error"] is None
    assert _rows(result["findings"]) == sorted(shape.findings)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_pgolf_gate_reports_a_hostile_script(name: str, clone: Repo) -> None:
    shape = SHAPES[name]
    clone.write_folder(NEW, record_files(GOOD_RUNS, script=shape.text))
    clone.commit("a record with a hostile script")
    started = time.monotonic()
    result = CliRunner().invoke(
        app, ["gate", "--repo", str(clone.path), "--head", "pr", "-f", "json"]
    )
    assert time.monotonic() - started < SECONDS
    report = json.loads(result.stdout)
    audited = {r["id"]: r for r in report["reasons"] if r["id"].startswith("audit.")}
    expected = {f"audit.{rule}" for rule, _ in shape.findings}
    assert set(audited) == expected, report["reasons"]
    if any(rule in ("PG901", "PG906") for rule, _ in shape.findings):
        assert result.exit_code == 1 and report["verdict"] == "fail"
        blocking = [r for r in audited.values() if r["severity"] == "error"]
        assert {r["id"] for r in blocking} & {"audit.PG901", "audit.PG906"}
    else:  # (the 4 MB script makes the artifact too large: verify says so, not the audit)
        assert {c["id"]: c["status"] for c in report["checked"]}["audit"] == "pass"


def test_a_script_that_crashes_the_folder_plan_is_reported_and_its_siblings_audited(
    clone: Repo, tmp_path: Path
) -> None:
    # Working out which files train_gpt.py imports parses it; 3,000 brackets crash that parse
    # in its worker. The folder is then audited file by file, and the crash is reported.
    files = record_files(GOOD_RUNS, script="import helpers\n" + _BRACKETS)
    files["helpers.py"] = b"def helper():\n    return 1\n"
    clone.write_folder(NEW, files)
    clone.commit("a record whose script crashes the plan")
    result = CliRunner().invoke(
        app, ["gate", "--repo", str(clone.path), "--head", "pr", "-f", "json"]
    )
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["verdict"] == "fail"
    pg901 = next(r for r in report["reasons"] if r["id"] == "audit.PG901")
    assert pg901["path"] == f"{NEW}/train_gpt.py" and pg901["line"] == 2
    assert "audit.unreadable" not in {r["id"] for r in report["reasons"]}
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    folder = clone.path / NEW
    done = subprocess.run(
        [sys.executable, "-m", "pgolf_cli", "audit", str(folder), "-f", "json", "-j", "1"],
        capture_output=True,
        text=True,
        timeout=SECONDS,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    by_name = {Path(f["path"]).name: f for f in json.loads(done.stdout)["files"]}
    assert _rows(by_name["train_gpt.py"]["findings"]) == [("PG901", 2)]
    assert by_name["helpers.py"]["error"] is None
