"""The sweep's audit cache: what its key holds, and that a reused audit equals a fresh one."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_helpers import LEGAL_SCRIPT, PREQUANT_TTT_SCRIPT, TEN_MIN

from checks.examples import _pack
from pgolf_cli.gate.folder import Snapshot, materialize
from pgolf_cli.gate.run import audit_folder
from pgolf_cli.sweep.audits import PLACEHOLDER, CachedAudit, audit_inputs, audit_key
from pgolf_cli.sweep.cache import Cache

# The illegal fine-tuning lives in helpers.py; train_gpt.py imports it and calls it from main(),
# so PG101 is reported in helpers.py with evidence in train_gpt.py.
HELPERS = PREQUANT_TTT_SCRIPT.split("def main():")[0]
ENTRY = """\
import torch

from helpers import final_score, read_val, sharpen_on_val


def main():
    model = torch.nn.Linear(32, 32)
    val_tokens = read_val("./data/fineweb_val_*.bin")
    sharpen_on_val(model, val_tokens)
    print(f"final_int6_roundtrip val_loss:{final_score(model, val_tokens):.4f}")


if __name__ == "__main__":
    main()
"""
FILES = {
    "train_gpt.py": ENTRY.encode(),
    "helpers.py": HELPERS.encode(),
    "train_seed1.log": b"step:1/2 train_loss:3.0\n",
    "README.md": b"# a record\n",
}


def place(tmp_path: Path, name: str, files: dict[str, bytes]) -> tuple[Path, str]:
    """The folder's files written as the gate writes them; (private copy, repository path)."""
    folder = f"{TEN_MIN}/{name}"
    root = materialize(Snapshot(folder, dict(files)), tmp_path / name / "head")
    return root, folder


def test_a_reused_audit_equals_the_audit_of_the_folder_it_is_used_for(tmp_path: Path) -> None:
    cached = CachedAudit(Cache(tmp_path / "cache"))
    first_root, first = place(tmp_path, "2026-05-01_First", FILES)
    other = {**FILES, "train_seed1.log": b"another log\n", "README.md": b"# other\n"}
    second_root, second = place(tmp_path, "2026-06-02_Second", other)

    assert cached(first_root, first, FILES) == audit_folder(first_root, first, FILES)
    assert (cached.misses, cached.hits) == (1, 0)
    reused = cached(second_root, second, other)
    assert (cached.misses, cached.hits) == (1, 1)
    fresh = audit_folder(second_root, second, other)
    # Everything: paths, evidence in the other file, messages and SARIF fingerprints.
    assert reused == fresh
    findings = [f for result in fresh.files for f in result.findings]
    assert any(f.rule_id == "PG101" and f.path == f"{second}/helpers.py" for f in findings)
    assert any(e.path == f"{second}/train_gpt.py" for f in findings for e in f.evidence)
    stored = next((tmp_path / "cache").rglob("*.json")).read_text()
    assert PLACEHOLDER in stored and "2026-05-01_First" not in stored


def test_an_unreadable_script_is_reused_with_its_error(tmp_path: Path) -> None:
    files = {"train_gpt.py": b"print('x')\0binary", "README.md": b"# x\n"}
    cached = CachedAudit(Cache(tmp_path / "cache"))
    root, folder = place(tmp_path, "2026-05-01_A", files)
    cached(root, folder, files)
    root, folder = place(tmp_path, "2026-05-02_B", files)
    reused = cached(root, folder, files)
    assert cached.hits == 1
    assert reused == audit_folder(root, folder, files)
    assert reused.files[0].error is not None and folder in reused.files[0].error


def test_files_the_code_does_not_name_are_not_in_the_key() -> None:
    base = audit_key(FILES)
    assert audit_key({**FILES, "train_seed1.log": b"other"}) == base
    assert audit_key({**FILES, "train_seed2.log": b"new", "submission.json": b"{}"}) == base
    assert audit_key({**FILES, "helpers.py": b"x = 2\n"}) != base
    assert audit_key({**FILES, "kernel.cu": b"__global__ void k() {}\n"}) != base


@pytest.mark.parametrize(
    "script",
    [
        'exec(open("helpers.txt").read())\n',
        'exec(open("help" "ers.txt").read())\n',  # adjacent literals join
        'exec(open(("help"\n    "ers.txt")).read())\n',
        'exec(open("HELPERS.TXT").read())\n',  # a case-insensitive file system finds it
        _pack('exec(open("helpers.txt").read())\n', "lzma-b85"),  # named inside packed code
    ],
)
def test_a_file_the_code_names_is_in_the_key(script: str) -> None:
    files = {"train_gpt.py": script.encode(), "helpers.txt": b"x = 1\n"}
    assert ["file", "helpers.txt"] in [part[:2] for part in audit_inputs(files)]
    assert audit_key(files) != audit_key({**files, "helpers.txt": b"x = 2\n"})


def test_a_directory_the_code_names_is_in_the_key_by_existence() -> None:
    script = b'import os\nos.makedirs("logs", exist_ok=True)\n'
    files = {"train_gpt.py": script, "logs/run.txt": b"a"}
    assert ["dir", "logs"] in audit_inputs(files)
    # What the logs say does not matter; whether the directory is there does.
    assert audit_key(files) == audit_key({**files, "logs/run.txt": b"b"})
    assert audit_key(files) != audit_key({"train_gpt.py": script})


def test_the_key_holds_pgolfs_code(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"train_gpt.py": LEGAL_SCRIPT.encode()}
    before = audit_key(files)
    monkeypatch.setattr("pgolf_cli.sweep.cache.code_digest", lambda: "a changed rule")
    assert audit_key(files) != before


@pytest.mark.parametrize("damage", ['{"files": [{"path": 1}], "errors": []}', "[]", '{"files'])
def test_a_damaged_entry_is_audited_again_and_replaced(tmp_path: Path, damage: str) -> None:
    cached = CachedAudit(Cache(tmp_path / "cache"))
    root, folder = place(tmp_path, "2026-05-01_A", FILES)
    fresh = cached(root, folder, FILES)
    (entry,) = (tmp_path / "cache").rglob("*.json")
    entry.write_text(damage, encoding="utf-8")
    assert cached(root, folder, FILES) == fresh
    assert (cached.misses, cached.hits) == (2, 0)
    assert cached(root, folder, FILES) == fresh and cached.hits == 1
