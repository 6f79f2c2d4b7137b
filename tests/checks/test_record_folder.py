"""`pgolf audit RECORD_DIR`: a records folder is audited as programs, with real files on disk.

The entry script and the files it imports or execs are analysed together and each finding is
reported at the file it is in; PG301 reports the code outside the script with its size; files
outside the folder are never followed; C++/CUDA sources are scanned for PG203's shape; nothing
is executed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pgolf_cli.audit.engine import AuditOptions, audit_file, audit_paths, audit_program
from pgolf_cli.audit.findings import (
    AuditReport,
    Confidence,
    FileResult,
    Finding,
    Reachability,
    Severity,
)
from pgolf_cli.audit.native import scan
from pgolf_cli.audit.program import Folder, entry_points
from pgolf_cli.audit.registry import get_rule
from pgolf_cli.cli import app

# Pre-quant TTT on validation tokens (PG101's shape); `loss.backward()` is on line 11.
HELPERS = """\
import torch


def prequant_ttt(model, val_tokens, epochs=3, seq_len=1024):
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4)
    for _ in range(epochs):
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda()
            loss = model(local[None, :-1], local[None, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()
"""
BACKWARD_LINE = 11

# IMPORT is replaced by how the script brings the helper in, CALL by how it names the function.
TRAIN = """\
import os

import torch
IMPORT

TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "DEFAULT")))


def eval_val(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda()
            loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
            token_count += seq_len
    return loss_sum / token_count


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    model = train_model(os.path.join(data_path, "fineweb_train_*.bin"))
    val_tokens = load_validation_tokens(os.path.join(data_path, "fineweb_val_*.bin"), 1024)
    if TTT_ENABLED:
        CALL(model, val_tokens)
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("val_loss", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
"""
IMPORT_LINE = 4
SWITCH_LINE = 6


def _train(import_line: str, call: str, default: str = "1") -> str:
    return TRAIN.replace("IMPORT", import_line).replace("CALL", call).replace("DEFAULT", default)


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "record"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _by_file(report: AuditReport) -> dict[str, FileResult]:
    names = [Path(result.path).name for result in report.files]
    assert len(names) == len(set(names)), f"a file is reported twice: {names}"
    return {Path(result.path).name: result for result in report.files}


def _rule(result: FileResult, rule_id: str) -> list[Finding]:
    return [f for f in result.findings if f.rule_id == rule_id]


@pytest.mark.parametrize(
    ("import_line", "call"),
    [
        ("from helpers import prequant_ttt", "prequant_ttt"),
        ("import helpers", "helpers.prequant_ttt"),
        ("import helpers as H", "H.prequant_ttt"),
    ],
)
def test_illegal_ttt_in_an_imported_helper_is_reported_at_the_helper(
    tmp_path: Path, import_line: str, call: str
) -> None:
    root = _folder(tmp_path, {"train_gpt.py": _train(import_line, call), "helpers.py": HELPERS})
    files = _by_file(audit_paths([root], jobs=1))
    assert set(files) == {"train_gpt.py", "helpers.py"}
    ttt = _rule(files["helpers.py"], "PG101")
    assert [f.line for f in ttt] == [BACKWARD_LINE]
    assert ttt[0].path == str(root / "helpers.py")
    assert ttt[0].severity is Severity.ERROR
    assert ttt[0].reachability is Reachability.DEFAULT_ON
    assert ttt[0].snippet == "loss.backward()"
    # Evidence lines in the entry script name it; the ones in helpers.py do not.
    assert any(e.path == str(root / "train_gpt.py") for e in ttt[0].evidence) or all(
        e.path is None for e in ttt[0].evidence
    )
    for evidence in ttt[0].evidence:
        lines = (root / Path(evidence.path or ttt[0].path).name).read_text().splitlines()
        assert lines[evidence.line - 1].strip() == evidence.code
    assert _rule(files["train_gpt.py"], "PG101") == []
    outside = _rule(files["train_gpt.py"], "PG301")
    assert [f.line for f in outside] == [IMPORT_LINE]
    size = len(HELPERS.encode())
    assert f"helpers.py ({size:,} bytes)" in outside[0].message
    assert outside[0].severity is Severity.WARNING
    assert outside[0].confidence is Confidence.HIGH


def test_the_helper_alone_is_not_the_program(tmp_path: Path) -> None:
    """The same two files audited one by one: nothing follows, sizes are unknown."""
    root = _folder(
        tmp_path,
        {
            "train_gpt.py": _train("from helpers import prequant_ttt", "prequant_ttt"),
            "helpers.py": HELPERS,
        },
    )
    alone = audit_file(root / "train_gpt.py")
    assert [f.rule_id for f in alone.findings] == []  # an absolute import is not judged alone


def test_a_dormant_switch_in_the_script_gates_the_helper(tmp_path: Path) -> None:
    root = _folder(
        tmp_path,
        {
            "train_gpt.py": _train("from helpers import prequant_ttt", "prequant_ttt", "0"),
            "helpers.py": HELPERS,
        },
    )
    files = _by_file(audit_paths([root], jobs=1))
    ttt = _rule(files["helpers.py"], "PG101")
    assert [(f.line, f.severity) for f in ttt] == [(BACKWARD_LINE, Severity.WARNING)]
    assert ttt[0].reachability is Reachability.OFF_BY_DEFAULT
    [switch] = ttt[0].switches
    assert (switch.env, switch.line) == ("TTT_ENABLED", SWITCH_LINE)
    assert switch.path == str(root / "train_gpt.py")


def test_exec_of_a_sibling_file_is_followed(tmp_path: Path) -> None:
    train = _train('exec(open("helpers.py").read())', "prequant_ttt")
    root = _folder(tmp_path, {"train_gpt.py": train, "helpers.py": HELPERS})
    files = _by_file(audit_paths([root], jobs=1))
    assert [f.line for f in _rule(files["helpers.py"], "PG101")] == [BACKWARD_LINE]
    [outside] = _rule(files["train_gpt.py"], "PG301")
    assert outside.line == IMPORT_LINE
    assert f"({len(HELPERS.encode()):,} bytes)" in outside.message
    assert "not counted toward the 16,000,000-byte limit" in outside.message


def test_exec_of_a_sibling_in_a_single_file_audit_has_no_size(tmp_path: Path) -> None:
    train = _train('exec(open("helpers.py").read())', "prequant_ttt")
    root = _folder(tmp_path, {"train_gpt.py": train, "helpers.py": HELPERS})
    result = audit_file(root / "train_gpt.py")
    [outside] = _rule(result, "PG301")
    assert "size unknown" in outside.message and outside.confidence is Confidence.MEDIUM
    assert _rule(result, "PG101") == []


def test_a_followed_helpers_main_block_is_not_an_entry_point(tmp_path: Path) -> None:
    helper = HELPERS + '\n\nif __name__ == "__main__":\n    prequant_ttt(None, val_tokens)\n'
    # The script imports the helper but never calls the illegal function.
    train = _train("import helpers", "print")
    root = _folder(tmp_path, {"train_gpt.py": train, "helpers.py": helper})
    files = _by_file(audit_paths([root], jobs=1))
    assert _rule(files["helpers.py"], "PG101") == []
    # exec shares the script's __name__, so an exec'd file's main block does run.
    train = _train('exec(open("helpers.py").read())', "print")
    (root / "train_gpt.py").write_text(train, encoding="utf-8")
    files = _by_file(audit_paths([root], jobs=1))
    assert [f.line for f in _rule(files["helpers.py"], "PG101")] == [BACKWARD_LINE]


def test_a_helper_followed_by_two_scripts_is_reported_once(tmp_path: Path) -> None:
    train = _train("from helpers import prequant_ttt", "prequant_ttt")
    root = _folder(tmp_path, {"train_gpt.py": train, "eval_only.py": train, "helpers.py": HELPERS})
    folder = Folder(root)
    entries = entry_points(folder, sorted(root.glob("*.py")))
    assert [p.name for p in entries] == ["train_gpt.py", "eval_only.py"]
    for jobs in (1, 2):
        files = _by_file(audit_paths([root], jobs=jobs))
        assert [f.line for f in _rule(files["helpers.py"], "PG101")] == [BACKWARD_LINE]
        assert [r for r in files] == ["eval_only.py", "helpers.py", "train_gpt.py"]


def test_train_gpt_stays_an_entry_point_when_another_script_imports_it(tmp_path: Path) -> None:
    train = _train('exec(open("helpers.py").read())', "prequant_ttt")
    root = _folder(
        tmp_path,
        {"train_gpt.py": train, "helpers.py": HELPERS, "report.py": "import train_gpt\n"},
    )
    entries = entry_points(Folder(root), sorted(root.glob("*.py")))
    assert sorted(p.name for p in entries) == ["report.py", "train_gpt.py"]
    files = _by_file(audit_paths([root], jobs=1))
    [ttt] = _rule(files["helpers.py"], "PG101")
    assert ttt.reachability is Reachability.DEFAULT_ON  # from train_gpt.py's own main()
    # report.py is not what the folder runs: the code it pulls in is not the run's counted code.
    assert [f.rule_id for f in files["report.py"].findings] == []


def test_import_cycles_still_get_an_entry_point(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"a.py": "import b\n", "b.py": "import a\n"})
    entries = entry_points(Folder(root), sorted(root.glob("*.py")))
    assert [p.name for p in entries] == ["a.py"]
    files = _by_file(audit_paths([root], jobs=1))
    assert set(files) == {"a.py", "b.py"}
    assert [f.line for f in _rule(files["a.py"], "PG301")] == [1]
    assert _rule(files["b.py"], "PG301") == []  # importing the entry runs code it counts


def test_a_symlink_escaping_the_folder_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "helpers.py"
    outside.parent.mkdir()
    # Were it followed, its syntax error would be reported and its TTT found.
    outside.write_text(HELPERS + "def broken(:\n", encoding="utf-8")
    root = _folder(
        tmp_path, {"train_gpt.py": _train("from helpers import prequant_ttt", "prequant_ttt")}
    )
    os.symlink(outside, root / "helpers.py")
    report = audit_paths([root], jobs=1)
    files = _by_file(report)
    [refused] = _rule(files["train_gpt.py"], "PG301")
    assert refused.line == IMPORT_LINE
    assert "outside the audited folder" in refused.message and "symlink" in refused.message
    assert all(f.rule_id not in ("PG101", "PG901") for f in report.findings)
    assert files["helpers.py"].error is not None
    assert "outside the audited folder" in files["helpers.py"].error


def test_a_path_escaping_the_folder_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "shared.py").write_text("def broken(:\n", encoding="utf-8")
    train = _train('exec(open("../shared.py").read())', "print")
    root = _folder(tmp_path, {"train_gpt.py": train})
    report = audit_paths([root], jobs=1)
    [refused] = [f for f in report.findings if f.rule_id == "PG301"]
    assert "../shared.py" in refused.message and "outside the audited folder" in refused.message
    assert [r.path for r in report.files] == [str(root / "train_gpt.py")]


def test_a_missing_file_is_reported_as_not_shipped(tmp_path: Path) -> None:
    train = _train('exec(open("gone.py").read())', "print")
    root = _folder(tmp_path, {"train_gpt.py": train})
    [missing] = [f for f in audit_paths([root], jobs=1).findings if f.rule_id == "PG301"]
    assert "not in the records folder" in missing.message
    assert missing.confidence is Confidence.MEDIUM


def test_a_syntax_error_in_a_followed_file_is_pg901_there(tmp_path: Path) -> None:
    # Nothing in the file is checked, so its suppression comment is not "unused" either.
    helper = HELPERS.replace("opt.step()", "opt.step()  # pgolf: ignore[PG101] fixture")
    helper += "\n\ndef broken(:\n    pass\n"
    train = _train("from helpers import prequant_ttt", "prequant_ttt")
    root = _folder(tmp_path, {"train_gpt.py": train, "helpers.py": helper})
    files = _by_file(audit_paths([root], jobs=1))
    assert [f.rule_id for f in files["helpers.py"].findings] == ["PG901"]
    assert files["helpers.py"].findings[0].line == 15
    assert _rule(files["train_gpt.py"], "PG901") == []
    # The script is still audited: its reference to the broken file is reported.
    assert [f.line for f in _rule(files["train_gpt.py"], "PG301")] == [IMPORT_LINE]


def test_a_packed_helper_is_decoded_and_followed(tmp_path: Path) -> None:
    from checks.examples import _pack

    root = _folder(
        tmp_path,
        {
            "train_gpt.py": _train("from helpers import prequant_ttt", "prequant_ttt"),
            "helpers.py": _pack(HELPERS, "lzma-b85"),
        },
    )
    files = _by_file(audit_paths([root], jobs=1))
    [ttt] = _rule(files["helpers.py"], "PG101")
    assert ttt.line == BACKWARD_LINE and ttt.decoded_from is not None
    assert [f.rule_id for f in files["helpers.py"].findings] == ["PG902", "PG101"]


def test_a_package_of_helpers_and_a_suppression_in_it(tmp_path: Path) -> None:
    silenced = HELPERS.replace(
        "loss.backward()", "loss.backward()  # pgolf: ignore[PG101] reviewed: a fixture"
    )
    train = _train("from ttt.core import prequant_ttt", "prequant_ttt")
    root = _folder(
        tmp_path,
        {"train_gpt.py": train, "ttt/__init__.py": "", "ttt/core.py": silenced},
    )
    files = _by_file(audit_paths([root], jobs=1))
    [ttt] = _rule(files["core.py"], "PG101")
    assert ttt.suppressed and ttt.path == str(root / "ttt" / "core.py")
    assert _rule(files["core.py"], "PG904") == []
    [outside] = _rule(files["train_gpt.py"], "PG301")
    assert "ttt/__init__.py (0 bytes)" in outside.message
    assert f"ttt/core.py ({len(silenced.encode()):,} bytes)" in outside.message


def test_a_submodule_imported_from_a_package_resolves_attribute_calls(tmp_path: Path) -> None:
    train = _train("from ttt import core", "core.prequant_ttt")
    root = _folder(tmp_path, {"train_gpt.py": train, "ttt/__init__.py": "", "ttt/core.py": HELPERS})
    files = _by_file(audit_paths([root], jobs=1))
    assert [f.line for f in _rule(files["core.py"], "PG101")] == [BACKWARD_LINE]


def test_a_sibling_run_as_a_process_is_a_note_with_its_size(tmp_path: Path) -> None:
    prep = "print('tokenize shards')\n"
    train = _train(
        "import subprocess, sys\nsubprocess.run([sys.executable, 'prep.py'], check=True)", "print"
    )
    root = _folder(tmp_path, {"train_gpt.py": train, "prep.py": prep})
    files = _by_file(audit_paths([root], jobs=1))
    [note] = _rule(files["train_gpt.py"], "PG301")
    assert note.severity is Severity.NOTE
    assert f"prep.py ({len(prep)} bytes) as a separate process" in note.message
    assert set(files) == {"train_gpt.py", "prep.py"}  # the script is its own entry point


def test_nothing_is_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    helper = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n" + HELPERS
    train = _train('exec(open("helpers.py").read())\nimport helpers', "prequant_ttt")
    root = _folder(tmp_path, {"train_gpt.py": train, "helpers.py": helper})
    report = audit_paths([root], jobs=1)
    assert not marker.exists()
    assert any(f.rule_id == "PG101" for f in report.findings)


def test_audit_program_directly_returns_one_result_per_file(tmp_path: Path) -> None:
    root = _folder(
        tmp_path,
        {
            "train_gpt.py": _train("from helpers import prequant_ttt", "prequant_ttt"),
            "helpers.py": HELPERS,
        },
    )
    results = audit_program(root / "train_gpt.py", root, AuditOptions(select=("PG301",)))
    assert sorted(Path(r.path).name for r in results) == ["helpers.py", "train_gpt.py"]
    assert [f.rule_id for r in results for f in r.findings] == ["PG301"]


# --------------------------------------------------------------------------- native sources

GATED_KERNEL = """\
#include <math.h>
// Scores each position with a mixture of two models.
__global__ void score(const int* tokens, const float* pa, const float* pb,
                      const float* boundary_lut, float* nll, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int tgt = tokens[i + 1];
  float w = boundary_lut[tgt];
  float p = w * pa[i] + (1.0f - w) * pb[i];
  atomicAdd(nll, -logf(p));
}
"""

BYTE_COUNT_KERNEL = """\
// Standard BPB accounting: bytes of the scored token, a leading space after a boundary.
void count(const int* tokens, const float* lp, const int* base_bytes_lut,
           const bool* has_space_lut, const bool* is_boundary_lut, int n,
           double* bytes, double* nll) {
  for (int i = 0; i + 1 < n; ++i) {
    int prev = tokens[i], tgt = tokens[i + 1];
    *bytes += base_bytes_lut[tgt];
    if (has_space_lut[tgt] && !is_boundary_lut[prev]) *bytes += 1;
    float p = expf(lp[i]);
    *nll -= logf(p);
  }
}
"""


def test_scan_finds_the_gated_mixture_and_not_the_byte_count() -> None:
    [mix] = scan(GATED_KERNEL)
    assert (mix.table, mix.key, mix.read_line, mix.mix_line, mix.score_line, mix.how) == (
        "boundary_lut",
        "tgt",
        8,
        9,
        10,
        "weights",
    )
    assert scan(BYTE_COUNT_KERNEL) == []


@pytest.mark.parametrize(
    ("code", "line"),
    [
        # The table value selects the probability inline, in the scored log.
        ("for (int i=0;i<n;++i){int y=t[i+1];\n nll -= log(word_lut[y] ? pw[i] : pm[i]);}\n", 2),
        # An if on the table value picks the probability scored two lines later.
        (
            "double p;\nif (is_boundary[target]) {\n  p = p_ngram;\n} else {\n  p = p_model;\n}\n"
            "loss_sum += -std::log(p);\n",
            2,
        ),
        # The table indexed through the next-token position, hidden in a comment once.
        (
            "/* lut[y] ? a : b */\nfloat g = lut[tok[i + 1]] ? 0.9f : 0.1f;\n"
            "float q = g * a + (1.f - g) * b;\nfloat lq = logf(q);\nsum += lq;\n",
            3,
        ),
    ],
)
def test_scan_shapes(code: str, line: int) -> None:
    assert [m.mix_line for m in scan(code)] == [line]


@pytest.mark.parametrize(
    "code",
    [
        # Indexed by the previous token: the legal shape.
        "int prev=t[i];float w=boundary_lut[prev];float p=w*pa+(1.f-w)*pb;nll-=logf(p);\n",
        # A probability vector read at the target is the scored probability, not a gate.
        "float pa = probs[tgt];\nfloat p = 0.5f * pa + (1.0f - 0.5f) * pb;\nnll -= logf(p);\n",
        # The gate weights a mixture that is never scored.
        "float w = lut[tgt];\nfloat mixed = w * a + (1.0f - w) * b;\nout[i] = mixed;\n",
    ],
)
def test_scan_keeps_look_alikes_clean(code: str) -> None:
    assert scan(code) == []


def test_native_sources_in_the_folder_are_scanned_for_pg203(tmp_path: Path) -> None:
    if get_rule("PG203") is None:
        pytest.fail("PG203 (target-gated-mixture) is not in the catalogue yet")
    root = _folder(
        tmp_path,
        {
            "train_gpt.py": _train("import torch.utils.cpp_extension as ext", "print"),
            "csrc/score.cu": GATED_KERNEL,
            "csrc/bytes.cpp": BYTE_COUNT_KERNEL,
        },
    )
    files = _by_file(audit_paths([root], jobs=1))
    [gated] = files["score.cu"].findings
    assert (gated.rule_id, gated.line, gated.confidence) == ("PG203", 9, Confidence.LOW)
    assert gated.path == str(root / "csrc" / "score.cu")
    assert "scanned as text, not parsed" in gated.message
    assert [e.line for e in gated.evidence] == [8, 10]
    assert files["bytes.cpp"].findings == ()
    # A low-confidence finding does not fail the default gate; --select keeps it out too.
    options = AuditOptions(ignore=("PG203",))
    assert all(r.findings == () for r in audit_paths([root], options, jobs=1).files)


# --------------------------------------------------------------------------- reports


def test_cli_json_and_sarif_name_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _folder(
        tmp_path,
        {
            "train_gpt.py": _train("from helpers import prequant_ttt", "prequant_ttt"),
            "helpers.py": HELPERS,
        },
    )
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["audit", "record", "--format", "json", "--quiet"])
    assert done.exit_code == 1, done.output
    document = json.loads(done.stdout)
    paths = {f["path"]: [x["rule_id"] for x in f["findings"]] for f in document["files"]}
    assert paths == {"record/train_gpt.py": ["PG301"], "record/helpers.py": ["PG101"]}
    done = runner.invoke(app, ["audit", "record", "--format", "sarif", "--quiet"])
    sarif = json.loads(done.stdout)
    [ttt] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "PG101"]
    location = ttt["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("record/helpers.py")
    assert location["region"]["startLine"] == BACKWARD_LINE
    related = {
        (
            loc["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[-1],
            loc["physicalLocation"]["region"]["startLine"],
        )
        for loc in ttt["relatedLocations"]
    }
    # Where validation data enters (main() of the script) and the update (the helper).
    assert ("train_gpt.py", 23) in related and ("helpers.py", BACKWARD_LINE) in related
    done = runner.invoke(app, ["audit", "record", "--quiet"])
    assert "record/helpers.py:11: PG101" in done.stdout
    assert "record/train_gpt.py:23: " in done.stdout  # evidence from the other file, named
    assert "record/train_gpt.py:4: PG301" in done.stdout


# A data-preparation script shipped beside the run: it downloads and reads training shards,
# which is what such a script is for. `hf_hub_download` is on line 6.
PREPARE = """\
import os
from huggingface_hub import hf_hub_download


def main():
    path = hf_hub_download("org/fineweb-export", "fineweb_train_000000.bin", repo_type="dataset")
    os.makedirs("./data", exist_ok=True)
    os.replace(path, "./data/fineweb_train_000000.bin")


if __name__ == "__main__":
    main()
"""
DOWNLOAD_LINE = 6


@pytest.mark.parametrize(
    ("run", "readme"),
    [
        ("train_gpt.py", "Run `torchrun --nproc_per_node=8 train_gpt.py`."),
        # No train_gpt.py: the README names the script the run starts.
        ("train_gpt_v2.py", "Setup: `python prepare.py`, then `torchrun train_gpt_v2.py`."),
    ],
)
def test_a_setup_script_is_not_judged_as_the_evaluation(
    tmp_path: Path, run: str, readme: str
) -> None:
    root = _folder(
        tmp_path,
        {
            run: _train("from helpers import prequant_ttt", "prequant_ttt"),
            "helpers.py": HELPERS,
            "prepare.py": PREPARE,
            "README.md": readme,
        },
    )
    files = _by_file(audit_paths([root], jobs=1))
    assert set(files) == {run, "helpers.py", "prepare.py"}
    assert files["prepare.py"].findings == ()
    # The run is still judged in full, helper included.
    assert [f.line for f in _rule(files["helpers.py"], "PG101")] == [BACKWARD_LINE]
    assert [f.line for f in _rule(files[run], "PG301")] == [IMPORT_LINE]


def test_with_no_script_named_every_script_is_judged_as_a_run(tmp_path: Path) -> None:
    """Nothing says which script the folder runs: none is spared the run's rules."""
    root = _folder(tmp_path, {"train_a.py": PREPARE, "train_b.py": PREPARE})
    files = _by_file(audit_paths([root], jobs=1))
    for name in ("train_a.py", "train_b.py"):
        assert [f.line for f in _rule(files[name], "PG401")] == [DOWNLOAD_LINE]
