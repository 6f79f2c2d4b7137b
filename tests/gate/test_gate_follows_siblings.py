"""`pgolf gate` audits the new folder as one program, as `pgolf audit DIR` does.

Each pull request is real commits on a clone: a record whose ``train_gpt.py`` imports or execs
a sibling file. The gate reads git objects only and audits a private copy of the folder, yet
every path it reports (reasons, evidence, messages, SARIF) is the repository path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gate_helpers import GOOD_RUNS, LEGAL_SCRIPT, TEN_MIN, Repo, record_files
from typer.testing import CliRunner

from pgolf_cli.cli import app

NEW = f"{TEN_MIN}/2026-05-02_WithHelpers"

# Trains on the validation tokens it is given, before anything scores them: pre-quant TTT.
HELPERS = """\
import glob

import numpy as np
import torch


def read_val(pattern):
    names = sorted(glob.glob(pattern))
    return torch.cat([torch.from_numpy(np.fromfile(n, dtype="<u2").astype(np.int64)) for n in names])


def polish(model, val_tokens, sweeps=2):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    for _ in range(sweeps):
        for at in range(0, val_tokens.numel() - 513, 512):
            piece = val_tokens[at : at + 513]
            loss = model(piece[:-1], piece[1:])
            loss.backward()
            opt.step()
            opt.zero_grad()
"""

TRAIN = """\
import torch

from helpers import polish, read_val


def final_eval(model, val_tokens):
    with torch.no_grad():
        return model(val_tokens[:-1], val_tokens[1:]).item()


def main():
    model = torch.nn.Linear(32, 32)
    val_tokens = read_val("./data/fineweb_val_*.bin")
    polish(model, val_tokens)
    print(f"final_int6_roundtrip val_loss:{final_eval(model, val_tokens):.4f}")


if __name__ == "__main__":
    main()
"""

EXTRAS = """\
import torch


def final_eval(model, val_tokens):
    with torch.no_grad():
        return model(val_tokens[:-1], val_tokens[1:]).item()
"""

EXEC_TRAIN = LEGAL_SCRIPT.replace(
    "import torch\n", 'import torch\n\nexec(open("eval_extras.py").read())\n', 1
)


def line_of(text: str, code: str) -> int:
    (number,) = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == code]
    return number


def submit(clone: Repo, files: dict[str, bytes]) -> None:
    clone.write_folder(NEW, files)
    clone.commit("a record with a helper file")


def gate(repo: Repo, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["gate", "--repo", str(repo.path), "--head", "pr", *args])
    assert result.exit_code in (0, 1, 3), (result.exit_code, result.output)
    return result.exit_code, result.stdout


def reasons_of(stdout: str, reason_id: str) -> list[dict[str, Any]]:
    return [r for r in json.loads(stdout)["reasons"] if r["id"] == reason_id]


def test_an_illegal_helper_fails_the_pull_request_at_the_helpers_line(clone: Repo) -> None:
    files = record_files(GOOD_RUNS, script=TRAIN)
    files["helpers.py"] = HELPERS.encode()
    submit(clone, files)
    code, stdout = gate(clone, "-f", "json")
    assert code == 1 and json.loads(stdout)["verdict"] == "fail"
    (finding,) = reasons_of(stdout, "audit.PG101")
    update = line_of(HELPERS, "loss.backward()")
    assert finding["severity"] == "error"
    assert (finding["path"], finding["line"]) == (f"{NEW}/helpers.py", update)
    assert finding["evidence"][0] == f"{NEW}/helpers.py:{update}: loss.backward()"
    # The chain that makes it reachable runs through the caller, named by its own file.
    enters = line_of(TRAIN, 'val_tokens = read_val("./data/fineweb_val_*.bin")')
    passes = line_of(TRAIN, "polish(model, val_tokens)")
    assert any(
        e.startswith(f"{NEW}/train_gpt.py:{enters}: validation data enters here")
        for e in finding["evidence"]
    ), finding["evidence"]
    assert any(e.startswith(f"{NEW}/train_gpt.py:{passes}: ") for e in finding["evidence"])
    # PG301 measures the imported file.
    (outside,) = reasons_of(stdout, "audit.PG301")
    size = len(HELPERS.encode())
    assert (outside["path"], outside["line"]) == (f"{NEW}/train_gpt.py", 3)
    assert f"{NEW}/helpers.py ({size:,} bytes)" in outside["message"]
    assert "pgolf-gate-" not in stdout
    # SARIF places the finding in the helper file, under its repository path.
    _, sarif = gate(clone, "-f", "sarif")
    (pg101,) = [r for r in json.loads(sarif)["runs"][0]["results"] if r["ruleId"] == "PG101"]
    location = pg101["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == f"{NEW}/helpers.py"
    assert "pgolf-gate-" not in sarif


def test_an_execd_sibling_needs_review_with_its_uncounted_bytes(clone: Repo) -> None:
    files = record_files(GOOD_RUNS, script=EXEC_TRAIN)
    files["eval_extras.py"] = EXTRAS.encode()
    submit(clone, files)
    code, stdout = gate(clone, "-f", "json")
    assert code == 3 and json.loads(stdout)["verdict"] == "needs-review"
    (outside,) = reasons_of(stdout, "audit.PG301")
    size = len(EXTRAS.encode())
    exec_line = line_of(EXEC_TRAIN, 'exec(open("eval_extras.py").read())')
    assert outside["severity"] == "warning"
    assert (outside["path"], outside["line"]) == (f"{NEW}/train_gpt.py", exec_line)
    assert f"{NEW}/eval_extras.py ({size:,} bytes)" in outside["message"]
    assert f"these {size:,} bytes are not counted" in outside["message"]
    # The exec'd file is part of train_gpt.py's program, not an entry point of its own.
    assert [r["path"] for r in json.loads(stdout)["reasons"] if r["id"].startswith("audit.")] == [
        f"{NEW}/train_gpt.py"
    ]
    assert "pgolf-gate-" not in stdout


def test_a_file_outside_the_folder_is_named_without_the_private_copy(
    clone: Repo, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.py"
    outside.write_text("print('not in the folder')\n")
    script = LEGAL_SCRIPT.replace(
        "import torch\n", f"import torch\n\nexec(open({str(outside)!r}).read())\n", 1
    )
    submit(clone, record_files(GOOD_RUNS, script=script))
    _, stdout = gate(clone, "-f", "json")
    (finding,) = reasons_of(stdout, "audit.PG301")
    assert (
        f"names {outside}, a path outside the audited folder {NEW}; not followed"
        in (finding["message"])
    )
    assert "pgolf-gate-" not in stdout


def test_a_script_in_a_directory_the_folder_walk_skips_is_still_audited(clone: Repo) -> None:
    files = record_files(GOOD_RUNS)
    files[".tools/ttt.py"] = TRAIN.encode()
    files[".tools/helpers.py"] = HELPERS.encode()
    submit(clone, files)
    code, stdout = gate(clone, "-f", "json")
    assert code == 1
    (finding,) = reasons_of(stdout, "audit.PG101")
    assert finding["path"] == f"{NEW}/.tools/helpers.py"
