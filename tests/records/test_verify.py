"""``pgolf verify`` on records folders the tests write: one good record and one broken copy of it
per check. The logs use the template's log format (docs/pipeline.md)."""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pgolf_cli.cli import app
from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.logs import read_log
from pgolf_cli.records.package.submission_json import trained_in_time
from pgolf_cli.records.verify import (
    CHECK_IDS,
    FolderReport,
    verify_folder,
    verify_folders,
)
from pgolf_cli.report.verify import render_json, render_markdown
from pgolf_cli.run_folder import FLAG_TRAIN_TIME
from pgolf_cli.runner.manifest import flags

# val_loss / val_bpb of the sp1024 export: ln 2 x 151,080,363 bytes / 62,021,632 tokens.
SP1024_FACTOR = math.log(2) * 151_080_363 / 62_021_632

CLEAN_SCRIPT = """\
import os

import torch

ITERATIONS = int(os.environ.get("ITERATIONS", "20000"))


def main() -> None:
    model = torch.nn.Linear(4, 4)
    for _ in range(ITERATIONS):
        model.zero_grad()
    print("done")


if __name__ == "__main__":
    main()
"""

# Fine-tunes on the validation tokens before they are scored: PG101 ("pre-quant TTT").
ILLEGAL_TTT_SCRIPT = """\
import glob
import os

import numpy as np
import torch

EPOCHS = int(os.environ.get("TTT_EPOCHS", "2"))


def load_validation_tokens(pattern):
    files = sorted(glob.glob(pattern))
    return torch.cat([torch.from_numpy(np.fromfile(f, dtype="<u2").astype(np.int64)) for f in files])


def adapt(model, val_tokens):
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(EPOCHS):
        for i in range(0, val_tokens.numel() - 65, 64):
            chunk = val_tokens[i : i + 65]
            loss = model(chunk[:-1], chunk[1:])
            loss.backward()
            opt.step()
            opt.zero_grad()


def score(model, val_tokens):
    with torch.no_grad():
        return model(val_tokens[:-1], val_tokens[1:]).item()


def main():
    model = torch.nn.Linear(8, 8)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    if TTT_ENABLED:
        adapt(model, val_tokens)
    print(f"final_int6_roundtrip val_loss:{score(model, val_tokens):.4f}")


if __name__ == "__main__":
    main()
"""


@dataclass
class Run:
    """One seed's log, in the template's format."""

    seed: int
    val_bpb: float
    seed_printed: int | None = None
    train_time_ms: int = 599_950
    stop_line: bool = True
    model_bytes: int = 15_800_000
    code_sha256: str | None = None
    eval_ms: int = 71_234
    extra_hyperparameters: dict[str, str] = field(default_factory=dict)
    truncated: bool = False
    nan_loss: bool = False
    val_tokens: int = 62_021_632

    @property
    def val_loss(self) -> float:
        return self.val_bpb * SP1024_FACTOR


def template_log(run: Run, code: bytes) -> str:
    sha = run.code_sha256 or hashlib.sha256(code).hexdigest()
    steps = 10_000
    lines = [
        "pgolf_template: 0.1.0",
        "python: 3.11.7 torch: 2.13.0+cu128 cuda: 12.8 device: NVIDIA H100 80GB HBM3 world_size: 8",
        "command: train_gpt.py",
        f"code_sha256: {sha}",
        "Hyperparameters:",
        "  data_path: ./data/datasets/fineweb10B_sp1024",
        f"  seed: {run.seed if run.seed_printed is None else run.seed_printed}",
        "  iterations: 20000",
        "  max_wallclock_seconds: 600",
        *(f"  {key}: {value}" for key, value in run.extra_hyperparameters.items()),
        f"data: train_shards:80 val_shards:1 train_tokens:8000000000 val_tokens:{run.val_tokens} "
        "val_bytes:151080363",
        "step:0/20000 val_loss:6.9357 val_bpb:4.1077 train_time:0ms step_avg:0.01ms",
        "step:200/20000 train_loss:3.2101 train_time:12000ms step_avg:60.00ms tok_s:8738133",
        f"step:{steps}/20000 train_loss:{'nan' if run.nan_loss else '2.0100'} "
        f"train_time:{run.train_time_ms}ms step_avg:60.00ms tok_s:8800000",
    ]
    if run.truncated:
        return "\n".join(lines) + "\n"
    lines.append(
        f"step:{steps}/20000 val_loss:2.0400 val_bpb:1.2082 train_time:{run.train_time_ms}ms "
        "step_avg:60.00ms"
    )
    if run.stop_line:
        lines.append(
            f"stopping_early: wallclock_cap train_time:{run.train_time_ms}ms step:{steps}/20000"
        )
    roundtrip = run.val_bpb + 0.02
    lines += [
        "peak memory allocated: 10184 MiB reserved: 10588 MiB",
        f"Code size: {len(code)} bytes",
        f"Serialized model int6+zstd-22: {run.model_bytes} bytes",
        f"Total submission size int6+zstd-22: {run.model_bytes + len(code)} bytes",
        f"final_int6_roundtrip val_loss:{roundtrip * SP1024_FACTOR:.4f} val_bpb:{roundtrip:.4f} "
        "eval_time:1412ms",
        f"final_int6_roundtrip_exact val_loss:{roundtrip * SP1024_FACTOR:.8f} "
        f"val_bpb:{roundtrip:.8f}",
        f"final_sliding_window val_loss:{run.val_loss:.4f} val_bpb:{run.val_bpb:.4f} stride:64 "
        f"eval_seq_len:1024 eval_time:{run.eval_ms}ms",
        f"final_sliding_window_exact val_loss:{run.val_loss:.8f} val_bpb:{run.val_bpb:.8f}",
        f"total_eval_time:{(run.eval_ms + 1412) / 1000:.1f}s",
    ]
    return "\n".join(lines) + "\n"


GOOD_RUNS = (Run(1337, 1.20123456), Run(42, 1.20234567), Run(2025, 1.20198765))


def write_record(
    parent: Path,
    *,
    name: str = "2026-05-01_GoodRecord",
    runs: tuple[Run, ...] = GOOD_RUNS,
    script: str = CLEAN_SCRIPT,
    readme: str = "# Good record\n\nRun: `torchrun --nproc_per_node=8 train_gpt.py`\n",
    edit_json: Callable[[dict[str, object]], None] | None = None,
    declared_seeds: tuple[int, ...] | None = None,
) -> Path:
    """A 10-minute-track record folder: README, submission.json, one log per run, the script."""
    folder = parent / "track_10min_16mb" / name
    folder.mkdir(parents=True)
    code = script.encode()
    (folder / "train_gpt.py").write_bytes(code)
    (folder / "README.md").write_text(readme, encoding="utf-8")
    for run in runs:
        (folder / f"train_seed{run.seed}.log").write_text(template_log(run, code), encoding="utf-8")
    seeds = declared_seeds if declared_seeds is not None else tuple(run.seed for run in runs)
    by_seed = {run.seed: run for run in runs}
    results = {
        str(seed): {
            "val_bpb": round(by_seed[seed].val_bpb, 8),
            "val_loss": round(by_seed[seed].val_loss, 8),
            "artifact_bytes": by_seed[seed].model_bytes + len(code),
        }
        for seed in seeds
        if seed in by_seed
    }
    scored = [run for run in runs if not run.truncated]
    document: dict[str, object] = {
        "track": "10min_16mb",
        "name": "Good record",
        "author": "A. Tester",
        "github_id": "atester",
        "date": "2026-05-01",
        "blurb": "A record folder written by a test.",
        "val_bpb": round(statistics.fmean(run.val_bpb for run in scored), 8),
        "val_loss": round(statistics.fmean(run.val_loss for run in scored), 8),
        "seeds": list(seeds),
        "seed_results": results,
        "bytes_total": max(run.model_bytes for run in runs) + len(code),
        "bytes_code": len(code),
    }
    if edit_json is not None:
        edit_json(document)
    (folder / "submission.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    return folder


def statuses(report: FolderReport) -> dict[str, str]:
    return {check.id: check.status for check in report.checks}


# --------------------------------------------------------------------------------------------
# The good record
# --------------------------------------------------------------------------------------------


def test_a_good_three_seed_record_passes_every_check(tmp_path: Path) -> None:
    report = verify_folder(write_record(tmp_path))
    assert [check.id for check in report.checks] == list(CHECK_IDS)
    assert statuses(report) == {
        **dict.fromkeys(CHECK_IDS, "pass"),
        "significance": "skip",  # no baseline given
    }, [(c.id, c.message) for c in report.checks if c.status != "pass"]
    assert (report.verdict, report.aggregation, report.match) == (
        "consistent",
        "mean-per-seed",
        "full",
    )
    assert report.track == "10min_16mb"
    assert not report.failed
    fingerprint = report.check("data-fingerprint")
    assert any("val_tokens: 62021632 (sp1024)" in line for line in fingerprint.evidence)


def test_significance_against_a_worse_baseline(tmp_path: Path) -> None:
    good = write_record(tmp_path / "new")
    worse = tuple(
        Run(run.seed, run.val_bpb + 0.006 + 0.0001 * i) for i, run in enumerate(GOOD_RUNS)
    )
    baseline = write_record(tmp_path / "old", name="2026-04-01_Old", runs=worse)
    check = verify_folder(good, baseline=baseline).check("significance")
    assert check.status == "pass", check.message
    evidence = "\n".join(check.evidence)
    for key in ("delta_bpb: ", "delta_nats: ", "factor 1.688", "t: ", "df: ", "p: "):
        assert key in evidence
    # Too small an improvement fails a record claim.
    close = tuple(Run(run.seed, run.val_bpb + 0.0005) for run in GOOD_RUNS)
    near = write_record(tmp_path / "near", name="2026-04-02_Near", runs=close)
    assert verify_folder(good, baseline=near).check("significance").status == "warn"


# --------------------------------------------------------------------------------------------
# One broken thing each
# --------------------------------------------------------------------------------------------


def test_json_disagreeing_with_the_logs(tmp_path: Path) -> None:
    def wrong(document: dict[str, object]) -> None:
        document["val_bpb"] = 1.19
        document["seed_results"]["42"]["val_bpb"] = 1.19  # type: ignore[index]

    report = verify_folder(write_record(tmp_path, edit_json=wrong))
    check = report.check("json-matches-logs")
    assert (check.status, report.verdict, report.aggregation) == ("warn", "inconsistent", None)
    log_text = (tmp_path / "track_10min_16mb/2026-05-01_GoodRecord/train_seed42.log").read_text()
    line = next(
        n
        for n, text in enumerate(log_text.split("\n"), 1)
        if text.startswith("final_sliding_window_exact")
    )
    assert f"train_seed42.log:{line}: final_sliding_window_exact" in "\n".join(check.evidence)
    assert "submission.json: val_bpb: 1.19" in check.evidence
    seeds = report.check("seed-logs")
    assert seeds.status == "warn" and "seed 42" in seeds.message
    # Numbers that do not reproduce are for a maintainer to weigh, not a rule break.
    assert (report.failed, report.outcome) == (False, "needs-review")


def test_artifact_over_the_cap(tmp_path: Path) -> None:
    runs = (*GOOD_RUNS[:2], Run(2025, 1.20198765, model_bytes=15_999_900))
    check = verify_folder(write_record(tmp_path, runs=runs)).check("size")
    assert check.status == "fail"
    assert "train_seed2025.log" in check.message and "over the cap" in check.message


def test_artifact_just_under_the_cap_passes_with_the_margin_pointed_out(tmp_path: Path) -> None:
    # Not a rule break: the thin margin is said in the message, nobody has to act on it.
    runs = (*GOOD_RUNS[:2], Run(2025, 1.20198765, model_bytes=15_995_000))
    check = verify_folder(write_record(tmp_path, runs=runs)).check("size")
    assert check.status == "pass" and "reruns moved artifacts" in check.message


def test_shipped_code_counts_even_when_the_log_counted_less(tmp_path: Path) -> None:
    # The logs claim a total under the cap, but the model plus the script as shipped is over.
    folder = write_record(
        tmp_path, runs=tuple(Run(r.seed, r.val_bpb, model_bytes=15_999_000) for r in GOOD_RUNS)
    )
    (folder / "train_gpt.py").write_text(CLEAN_SCRIPT + "#" * 5_000 + "\n", encoding="utf-8")
    report = verify_folder(folder)
    assert report.check("size").status == "fail"
    assert report.check("code-size").status == "warn"


def test_training_over_600_seconds_without_a_stop_line(tmp_path: Path) -> None:
    runs = (*GOOD_RUNS[:2], Run(2025, 1.20198765, train_time_ms=700_000, stop_line=False))
    check = verify_folder(write_record(tmp_path, runs=runs)).check("time-train")
    assert check.status == "fail"
    assert "train_seed2025.log: trained 700.0 s and no wallclock stop line" in check.message


def test_the_step_that_crosses_the_cap_is_allowed(tmp_path: Path) -> None:
    runs = tuple(Run(r.seed, r.val_bpb, train_time_ms=600_070) for r in GOOD_RUNS)
    assert verify_folder(write_record(tmp_path, runs=runs)).check("time-train").status == "pass"


def test_evaluation_over_600_seconds(tmp_path: Path) -> None:
    runs = (*GOOD_RUNS[:2], Run(2025, 1.20198765, eval_ms=650_000))
    check = verify_folder(write_record(tmp_path, runs=runs)).check("time-eval")
    assert check.status == "fail" and "train_seed2025.log" in check.message


def test_two_seeds_with_different_code_hashes(tmp_path: Path) -> None:
    runs = (*GOOD_RUNS[:2], Run(2025, 1.20198765, code_sha256="ab" * 32))
    check = verify_folder(write_record(tmp_path, runs=runs)).check("one-configuration")
    assert check.status == "warn" and "code hashes" in check.message
    assert f"train_seed2025.log: code_sha256: {'ab' * 32}" in check.evidence


def test_different_hyperparameters_apart_from_the_seed(tmp_path: Path) -> None:
    runs = (*GOOD_RUNS[:2], Run(2025, 1.20198765, extra_hyperparameters={"matrix_lr": "0.05"}))
    check = verify_folder(write_record(tmp_path, runs=runs)).check("one-configuration")
    assert check.status == "warn" and "matrix_lr" in check.message


def test_seed_in_the_log_differs_from_the_file_name(tmp_path: Path) -> None:
    runs = (*GOOD_RUNS[:2], Run(2025, 1.20198765, seed_printed=7))
    report = verify_folder(write_record(tmp_path, runs=runs))
    names = report.check("seed-names")
    assert names.status == "warn"
    assert names.evidence == ("train_seed2025.log: prints seed 7, named for seed 2025",)
    # The json's seed 2025 has no log that ran seed 2025.
    assert report.check("seed-logs").status == "warn"


def test_a_truncated_log(tmp_path: Path) -> None:
    runs = (*GOOD_RUNS[:2], Run(2025, 1.20198765, truncated=True))
    report = verify_folder(write_record(tmp_path, runs=runs))
    check = report.check("seed-logs")
    assert check.status == "warn"
    assert "train_seed2025.log has no post-quantization score line" in check.message
    assert report.check("seeds-count").status == "warn"


def test_a_log_with_a_nan_loss(tmp_path: Path) -> None:
    runs = (*GOOD_RUNS[:2], Run(2025, 1.20198765, nan_loss=True))
    check = verify_folder(write_record(tmp_path, runs=runs)).check("seed-logs")
    assert check.status == "warn" and "non-finite" in check.message
    assert any(line.startswith("train_seed2025.log:") and "nan" in line for line in check.evidence)


def test_a_seed_missing_its_log(tmp_path: Path) -> None:
    report = verify_folder(
        write_record(tmp_path, runs=GOOD_RUNS[:2], declared_seeds=(1337, 42, 2025))
    )
    check = report.check("seed-logs")
    assert check.status == "warn" and "seed 2025 has no scored log" in check.message
    assert report.check("seeds-count").status == "warn"


def test_a_string_where_a_number_belongs(tmp_path: Path) -> None:
    def stringly(document: dict[str, object]) -> None:
        document["bytes_total"] = "about sixteen megabytes"

    check = verify_folder(write_record(tmp_path, edit_json=stringly)).check("json-valid")
    assert check.status == "warn"
    assert any(
        line.startswith("submission.json: bytes_total: expected a number")
        for line in check.evidence
    )


def test_a_number_written_as_a_string_is_read_with_a_warning(tmp_path: Path) -> None:
    def quoted(document: dict[str, object]) -> None:
        document["bytes_code"] = str(document["bytes_code"])

    report = verify_folder(write_record(tmp_path, edit_json=quoted))
    assert report.check("json-valid").status == "warn"
    assert report.check("code-size").status == "pass"


def test_missing_required_keys(tmp_path: Path) -> None:
    def strip(document: dict[str, object]) -> None:
        del document["github_id"]
        del document["track"]

    check = verify_folder(write_record(tmp_path, edit_json=strip)).check("json-valid")
    assert check.status == "warn"
    assert "github_id" in check.message and "track" in check.message


def test_a_folder_name_with_spaces(tmp_path: Path) -> None:
    report = verify_folder(write_record(tmp_path, name="2026-05-01_Good Record"))
    check = report.check("structure")
    assert check.status == "warn" and "spaces in names" in check.message
    assert not report.failed


def test_missing_files_and_extra_scripts(tmp_path: Path) -> None:
    folder = write_record(tmp_path)
    (folder / "README.md").unlink()
    (folder / "helper.py").write_text("X = 1\n", encoding="utf-8")
    check = verify_folder(folder).check("structure")
    assert check.status == "fail"
    assert "no README.md" in check.message and "helper.py" in check.message
    (folder / "train_gpt.py").write_bytes(b"")
    assert "train_gpt.py is empty" in verify_folder(folder).check("structure").message


def test_a_training_script_under_another_name_needs_review(tmp_path: Path) -> None:
    folder = write_record(tmp_path)
    (folder / "train_gpt.py").rename(folder / "train_mdlm.py")
    check = verify_folder(folder, audit=False).check("structure")
    assert check.status == "warn"
    assert "no train_gpt.py: the training code is train_mdlm.py" in check.message
    # With no script at all, the required file is missing.
    (folder / "train_mdlm.py").unlink()
    check = verify_folder(folder, audit=False).check("structure")
    assert check.status == "fail" and "no train_gpt.py" in check.message


def test_imports_beyond_the_base_image_want_a_requirements_file(tmp_path: Path) -> None:
    folder = write_record(tmp_path, script="import zstandard\n" + CLEAN_SCRIPT)
    check = verify_folder(folder).check("structure")
    assert check.status == "warn" and "zstandard" in check.message
    (folder / "requirements.txt").write_text("zstandard\n", encoding="utf-8")
    assert verify_folder(folder).check("structure").status == "pass"


def test_an_unreadable_json_is_an_input_error(tmp_path: Path) -> None:
    folder = write_record(tmp_path)
    (folder / "submission.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(PgolfInputError) as caught:
        verify_folder(folder)
    assert caught.value.path.endswith("submission.json")


def test_an_illegal_ttt_script_fails_the_audit(tmp_path: Path) -> None:
    script = ILLEGAL_TTT_SCRIPT.replace(
        "EPOCHS = int(",
        'TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "1")))\nEPOCHS = int(',
    )
    report = verify_folder(write_record(tmp_path, script=script))
    check = report.check("audit")
    assert check.status == "fail" and "PG101" in check.message
    assert any(line.startswith("train_gpt.py:") and "PG101" in line for line in check.evidence)
    skipped = verify_folder(write_record(tmp_path / "b", script=script), audit=False)
    assert skipped.check("audit").status == "skip"


def test_a_dormant_illegal_path_warns_unless_the_readme_turns_it_on(tmp_path: Path) -> None:
    script = ILLEGAL_TTT_SCRIPT.replace(
        "EPOCHS = int(",
        'TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "0")))\nEPOCHS = int(',
    )
    dormant = verify_folder(write_record(tmp_path / "a", script=script)).check("audit")
    assert dormant.status == "warn", dormant.message
    readme = "# Record\n\n```\nTTT_ENABLED=1 torchrun --nproc_per_node=8 train_gpt.py\n```\n"
    enabled = verify_folder(write_record(tmp_path / "b", script=script, readme=readme))
    check = enabled.check("audit")
    assert check.status == "fail"
    assert any("README.md:4: TTT_ENABLED=1" in line for line in check.evidence)


def test_a_changed_validation_set_needs_a_byte_accounting_proof(tmp_path: Path) -> None:
    runs = tuple(Run(r.seed, r.val_bpb, val_tokens=63_779_840) for r in GOOD_RUNS)
    check = verify_folder(write_record(tmp_path, runs=runs)).check("data-fingerprint")
    assert check.status == "warn" and "byte-accounting proof" in check.message


def test_non_record_track_has_no_time_cap_or_seed_count(tmp_path: Path) -> None:
    runs = (Run(1337, 1.20123456, train_time_ms=14_400_000),)

    def non_record(document: dict[str, object]) -> None:
        document["track"] = "non_record_16mb"

    folder = write_record(tmp_path, runs=runs, edit_json=non_record)
    target = tmp_path / "track_non_record_16mb" / folder.name
    target.parent.mkdir()
    folder.rename(target)
    report = verify_folder(target)
    assert report.track == "non_record_16mb"
    assert statuses(report)["time-train"] == "skip"
    assert statuses(report)["seeds-count"] == "skip"
    assert not report.failed
    assert verify_folder(target, record_claim=True).check("seeds-count").status == "warn"


# --------------------------------------------------------------------------------------------
# Which aggregation the json used
# --------------------------------------------------------------------------------------------


def _with_value(value: float | str, *, seeds: bool = True) -> Callable[[dict[str, object]], None]:
    def edit(document: dict[str, object]) -> None:
        document["val_bpb"] = value
        if not seeds:
            del document["seeds"]
            del document["seed_results"]

    return edit


def test_json_of_the_best_seed_is_a_single_log(tmp_path: Path) -> None:
    report = verify_folder(write_record(tmp_path, edit_json=_with_value(1.20123456)))
    assert (report.verdict, report.aggregation, report.match) == ("consistent", "single", "full")


def test_json_without_seeds_as_the_mean_of_all_logs(tmp_path: Path) -> None:
    mean = round(statistics.fmean(run.val_bpb for run in GOOD_RUNS), 8)
    report = verify_folder(write_record(tmp_path, edit_json=_with_value(mean, seeds=False)))
    assert report.aggregation == "mean-all-logs"
    assert report.check("seed-logs").status == "warn"  # a record claim must declare its seeds


def test_json_as_the_mean_of_a_subset(tmp_path: Path) -> None:
    mean = round(statistics.fmean(run.val_bpb for run in GOOD_RUNS[:2]), 8)
    report = verify_folder(write_record(tmp_path, edit_json=_with_value(mean, seeds=False)))
    assert (report.aggregation, report.check("json-matches-logs").status) == ("subset", "warn")


def test_json_quoting_another_line(tmp_path: Path) -> None:
    roundtrip = round(GOOD_RUNS[0].val_bpb + 0.02, 8)
    report = verify_folder(write_record(tmp_path, edit_json=_with_value(roundtrip)))
    assert report.aggregation == "other-line"
    assert "final_int6_roundtrip_exact" in "\n".join(report.check("json-matches-logs").evidence)


def test_json_matching_only_at_four_decimals(tmp_path: Path) -> None:
    mean = statistics.fmean(run.val_bpb for run in GOOD_RUNS)
    off = f"{round(mean, 4) + 0.00004:.5f}"  # same 4 decimals, wrong fifth
    assert round(float(off), 4) == round(mean, 4)
    report = verify_folder(write_record(tmp_path, edit_json=_with_value(float(off))))
    assert (report.verdict, report.match) == ("consistent", "4dp")
    assert report.check("json-matches-logs").status == "warn"


# --------------------------------------------------------------------------------------------
# Rendering and the command line
# --------------------------------------------------------------------------------------------


def test_renderers(tmp_path: Path) -> None:
    reports = verify_folders([write_record(tmp_path)])
    document = json.loads(render_json(reports))
    assert document["summary"] == {"folders": 1, "failed": 0, "needs_review": 0, "passed": 1}
    assert document["folders"][0]["outcome"] == "pass"
    folder = document["folders"][0]
    assert (folder["verdict"], folder["aggregation"], folder["match"]) == (
        "consistent",
        "mean-per-seed",
        "full",
    )
    assert [check["id"] for check in folder["checks"]] == list(CHECK_IDS)
    assert all(
        set(check) == {"id", "status", "title", "message", "evidence"} for check in folder["checks"]
    )
    markdown = render_markdown(reports)
    assert "| `json-matches-logs` | ✅ pass |" in markdown


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["verify", *(str(a) for a in args)])
    return result.exit_code, result.stdout, result.stderr


def test_cli_exit_codes_and_formats(tmp_path: Path) -> None:
    good = write_record(tmp_path / "a")
    code, out, _ = invoke(good)
    assert code == 0
    assert "json-matches-logs" in out and "mean-per-seed" in out
    bad = write_record(
        tmp_path / "b", runs=(*GOOD_RUNS[:2], Run(2025, 1.20198765, model_bytes=16_100_000))
    )
    code, out, err = invoke(good, bad, "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert [f["failed"] for f in document["folders"]] == [False, True]
    assert "2 folder(s) verified: 1 fail, 0 need review, 1 pass; fail (exit 1)" in err
    report = tmp_path / "report.md"
    code, out, _ = invoke(bad, "--format", "markdown", "--output", report, "--quiet")
    assert code == 1 and out == ""
    assert "❌ fail" in report.read_text(encoding="utf-8")


def test_cli_needs_review_exits_3_as_the_gate_does(tmp_path: Path) -> None:
    # Two seeds: short of the README's three, which a maintainer weighs; nothing is broken.
    folder = write_record(tmp_path, runs=GOOD_RUNS[:2])
    code, out, _ = invoke(folder)
    assert code == 3, out
    assert "needs-review" in out and "seeds-count" in out


def test_cli_many_folders_print_one_line_each_and_details_on_request(tmp_path: Path) -> None:
    folders = [write_record(tmp_path / str(i), name=f"2026-05-0{i}_Record{i}") for i in range(1, 4)]
    code, out, _ = invoke(*folders)
    assert code == 0
    lines = [line for line in out.splitlines() if "_Record" in line]
    assert [line.split()[1] for line in lines] == [f"2026-05-0{i}_Record{i}" for i in (1, 2, 3)]
    assert all(" pass " in line for line in lines)
    assert "evidence" not in out and "json-matches-logs" not in out
    assert "3 folder(s) verified: 0 fail, 0 need review, 3 pass; pass (exit 0)" in out
    code, detailed, _ = invoke(*folders, "--details")
    assert code == 0
    assert detailed.count("json-matches-logs") == 3 and len(detailed) > 3 * len(out)


def test_cli_empty_folder_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "2026-05-01_Empty"
    empty.mkdir()
    code, _, err = invoke(empty)
    assert code == 2
    assert "is empty" in err and "submission.json" in err


def test_cli_unreadable_input_exits_2(tmp_path: Path) -> None:
    code, _, err = invoke(tmp_path / "nowhere")
    assert code == 2 and "no such folder" in err
    file = tmp_path / "file.txt"
    file.write_text("x", encoding="utf-8")
    code, _, err = invoke(file)
    assert code == 2 and "is not a directory" in err
    folder = write_record(tmp_path)
    (folder / "submission.json").write_text('{"val_bpb": 1.2,', encoding="utf-8")
    code, _, err = invoke(folder)
    assert code == 2 and "submission.json" in err and "not valid JSON" in err


def test_cli_no_audit(tmp_path: Path) -> None:
    folder = write_record(
        tmp_path, script=ILLEGAL_TTT_SCRIPT.replace("if TTT_ENABLED:", "if True:")
    )
    assert invoke(folder)[0] == 1
    code, out, _ = invoke(folder, "--no-audit", "--format", "json")
    assert code == 0
    checks = {c["id"]: c["status"] for c in json.loads(out)["folders"][0]["checks"]}
    assert checks["audit"] == "skip"


@pytest.mark.parametrize(
    ("train_time_ms", "stop_line"),
    [(599_950, True), (600_070, True), (600_119, True), (600_200, True), (600_010, False)],
)
def test_verify_package_and_run_json_judge_training_time_alike(
    tmp_path: Path, train_time_ms: int, stop_line: bool
) -> None:
    # Step average 60 ms: a wallclock stop may end up to 120 ms past the cap.
    runs = tuple(
        Run(r.seed, r.val_bpb, train_time_ms=train_time_ms, stop_line=stop_line) for r in GOOD_RUNS
    )
    folder = write_record(tmp_path, runs=runs)
    log = read_log(folder / "train_seed1337.log")
    in_time = trained_in_time(log)
    flagged = FLAG_TRAIN_TIME in flags(log, seed=1337, code_sha256="0" * 64)
    failed = verify_folder(folder, audit=False).check("time-train").status == "fail"
    assert flagged == (not in_time)
    assert failed == (not in_time)
    assert in_time is (train_time_ms <= 600_000 or (stop_line and train_time_ms <= 600_120))


def test_legacy_and_non_schema_keys_are_named_with_what_package_writes(tmp_path: Path) -> None:
    def legacy(document: dict[str, object]) -> None:
        document["mean_val_bpb"] = document.pop("val_bpb")
        document["technique_summary"] = "int6 + sliding window"

    report = verify_folder(write_record(tmp_path, edit_json=legacy), audit=False)
    check = report.check("json-valid")
    assert check.status == "warn"
    assert "mean_val_bpb -> val_bpb" in check.message
    assert "keys outside pgolf's schema: technique_summary" in check.message
    assert "`pgolf package` writes the current schema" in check.message
    assert report.outcome == "needs-review"


def test_a_non_record_folder_without_logs_or_json_needs_review_a_record_folder_fails(
    tmp_path: Path,
) -> None:
    def strip(folder: Path) -> None:
        for log in folder.glob("*.log"):
            log.unlink()
        (folder / "submission.json").unlink()

    record = write_record(tmp_path / "a")
    strip(record)
    check = verify_folder(record).check("structure")
    assert check.status == "fail"
    assert "no train log" in check.message and "no submission.json" in check.message

    folder = write_record(tmp_path / "b")
    target = tmp_path / "b" / "track_non_record_16mb" / folder.name
    target.parent.mkdir()
    folder.rename(target)
    strip(target)
    check = verify_folder(target).check("structure")
    assert check.status == "warn", check.message
    assert "no train log" in check.message and "no submission.json" in check.message
    # The code itself is still required on every track.
    (target / "train_gpt.py").write_text("", encoding="utf-8")
    assert verify_folder(target).check("structure").status == "fail"
