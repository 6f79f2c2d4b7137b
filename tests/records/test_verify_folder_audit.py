"""``pgolf verify`` audits a records folder as one program, as ``pgolf audit DIR`` does.

Each folder is written by the test: a ``train_gpt.py`` that imports or execs a sibling file.
The sibling is judged from the entry's main() (a call behind a switch is dormant; a function
nobody calls is no finding), its findings are reported at its own file and line, and PG301
counts the bytes it brings in.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pgolf_cli.audit.engine import audit_file
from pgolf_cli.cli import app
from pgolf_cli.records.verify import Check, verify_folder

# Trains on the validation tokens it is given, before anything scores them: pre-quant TTT.
HELPERS = """\
\"\"\"Data loading and a warm-up pass for the record.\"\"\"

import glob

import numpy as np
import torch


def load_val(pattern):
    names = sorted(glob.glob(pattern))
    return torch.cat([torch.from_numpy(np.fromfile(n, dtype="<u2").astype(np.int64)) for n in names])


def warm_start(model, val_tokens, passes=2):
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4)
    for _ in range(passes):
        for begin in range(0, val_tokens.numel() - 257, 256):
            block = val_tokens[begin : begin + 257]
            loss = model(block[:-1], block[1:])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
"""

# Hands the validation tokens to helpers.warm_start() before the final evaluation.
TRAIN = """\
import torch

from helpers import load_val, warm_start


def evaluate(model, val_tokens):
    with torch.no_grad():
        return model(val_tokens[:-1], val_tokens[1:]).item()


def main():
    model = torch.nn.Linear(64, 64)
    val_tokens = load_val("./data/fineweb_val_*.bin")
    warm_start(model, val_tokens)
    print(f"final_int6_roundtrip val_loss:{evaluate(model, val_tokens):.4f}")


if __name__ == "__main__":
    main()
"""

# The same call, only when WARM_START=1 (off by default).
DORMANT_TRAIN = (
    TRAIN.replace("import torch\n", "import os\n\nimport torch\n", 1)
    .replace(
        "\n\ndef evaluate",
        '\nWARM_START = bool(int(os.environ.get("WARM_START", "0")))\n\n\ndef evaluate',
    )
    .replace(
        "    warm_start(model, val_tokens)\n",
        "    if WARM_START:\n        warm_start(model, val_tokens)\n",
    )
)

# Imports the helpers but never calls warm_start().
UNCALLED_TRAIN = TRAIN.replace("    warm_start(model, val_tokens)\n", "")

EXTRAS = """\
import torch


def evaluate(model, val_tokens):
    with torch.no_grad():
        return model(val_tokens[:-1], val_tokens[1:]).item()
"""

EXEC_TRAIN = """\
import torch

exec(open("eval_extras.py").read())


def main():
    model = torch.nn.Linear(64, 64)
    print(f"final_int6_roundtrip val_loss:{evaluate(model, torch.zeros(65)):.4f}")


if __name__ == "__main__":
    main()
"""

README = "# Record\n\nRun: `torchrun --standalone --nproc_per_node=8 train_gpt.py`\n"


def write_folder(parent: Path, files: dict[str, str]) -> Path:
    folder = parent / "track_10min_16mb" / "2026-05-02_Helpers"
    folder.mkdir(parents=True)
    for name, text in {"README.md": README, **files}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def line_of(text: str, code: str) -> int:
    """The 1-based line of ``text`` whose code is ``code``."""
    (number,) = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == code]
    return number


UPDATE_LINE = line_of(HELPERS, "loss.backward()")


def audit_check(folder: Path) -> Check:
    return verify_folder(folder).check("audit")


def test_an_illegal_helper_called_by_the_script_fails_at_its_own_line(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"train_gpt.py": TRAIN, "helpers.py": HELPERS})
    check = audit_check(folder)
    assert check.status == "fail", check
    assert f"PG101 at helpers.py:{UPDATE_LINE}" in check.message
    assert any(line.startswith(f"helpers.py:{UPDATE_LINE}: PG101 ") for line in check.evidence)
    # Reported once, at the helper: not again at the caller in train_gpt.py.
    assert [line for line in check.evidence if " PG101 " in line] == [
        next(line for line in check.evidence if line.startswith("helpers.py:"))
    ]
    # The import is followed into the folder, so PG301 knows the helper's size.
    size = (folder / "helpers.py").stat().st_size
    (imported,) = [line for line in check.evidence if " PG301 " in line]
    assert imported.startswith("train_gpt.py:3: PG301 ")
    assert f"these {size:,} bytes are not counted" in imported


def test_the_callers_switch_decides_whether_the_helper_blocks(tmp_path: Path) -> None:
    # The switch lives in train_gpt.py and the training in helpers.py: audited file by file,
    # the helper would have no caller and no switch.
    dormant = audit_check(
        write_folder(tmp_path / "a", {"train_gpt.py": DORMANT_TRAIN, "helpers.py": HELPERS})
    )
    assert dormant.status == "warn", dormant
    assert f"PG101 at helpers.py:{UPDATE_LINE}" in dormant.message
    enabled = write_folder(tmp_path / "b", {"train_gpt.py": DORMANT_TRAIN, "helpers.py": HELPERS})
    (enabled / "README.md").write_text(
        "# Record\n\n```\nWARM_START=1 torchrun --nproc_per_node=8 train_gpt.py\n```\n",
        encoding="utf-8",
    )
    check = audit_check(enabled)
    assert check.status == "fail", check
    (line,) = [line for line in check.evidence if line.startswith(f"helpers.py:{UPDATE_LINE}:")]
    assert "turned on by README.md:4: WARM_START=1" in line


def test_a_helper_the_script_never_calls_is_no_finding(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"train_gpt.py": UNCALLED_TRAIN, "helpers.py": HELPERS})
    # On its own, the helper file holds an illegal function...
    assert [f.rule_id for f in audit_file(folder / "helpers.py").findings] == ["PG101"]
    # ...that the official run never reaches.
    check = audit_check(folder)
    assert "PG101" not in check.message and not any("PG101" in e for e in check.evidence)
    assert check.status == "warn" and check.message == "warnings: PG301 at train_gpt.py:3"


def test_an_execd_sibling_is_counted_in_bytes(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"train_gpt.py": EXEC_TRAIN, "eval_extras.py": EXTRAS})
    size = (folder / "eval_extras.py").stat().st_size
    check = audit_check(folder)
    exec_line = line_of(EXEC_TRAIN, 'exec(open("eval_extras.py").read())')
    assert check.status == "warn", check
    assert check.message == f"warnings: PG301 at train_gpt.py:{exec_line}"
    (line,) = check.evidence
    assert line.startswith(f"train_gpt.py:{exec_line}: PG301 ")
    assert f"eval_extras.py ({size:,} bytes)" in line
    assert f"these {size:,} bytes are not counted" in line


def test_the_command_reports_the_helper(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"train_gpt.py": TRAIN, "helpers.py": HELPERS})
    result = CliRunner().invoke(app, ["verify", str(folder), "--format", "json", "-q"])
    assert result.exit_code == 1, result.output
    (report,) = json.loads(result.stdout)["folders"]
    (audit,) = [check for check in report["checks"] if check["id"] == "audit"]
    assert audit["status"] == "fail"
    assert f"PG101 at helpers.py:{UPDATE_LINE}" in audit["message"]


# A sibling module imported only when a switch is on: PG301, a warning rule.
SWITCHED_IMPORT = """\
import os

import torch

USE_EXTRA = bool(int(os.environ.get("USE_EXTRA", "0")))


def main():
    model = torch.nn.Linear(8, 8)
    if USE_EXTRA:
        from extra import tweak

        tweak(model)


if __name__ == "__main__":
    main()
"""


def test_a_warning_rule_turned_on_by_the_readme_stays_a_warning(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path, {"train_gpt.py": SWITCHED_IMPORT, "extra.py": "def tweak(model):\n    pass\n"}
    )
    (folder / "README.md").write_text(
        "# Record\n\n```\nUSE_EXTRA=1 torchrun --nproc_per_node=8 train_gpt.py\n```\n",
        encoding="utf-8",
    )
    check = audit_check(folder)
    assert check.status == "warn", check
    (line,) = [line for line in check.evidence if " PG301 " in line]
    assert "turned on by README.md:4: USE_EXTRA=1" in line
