"""``pgolf stats``: inputs (values, logs, folders), output formats and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from pgolf_cli.cli import app
from pgolf_cli.cli._common import multi_value_options, spread_values

NEW = ["1.11508120", "1.11437394", "1.11475014"]
OLD = ["1.11922988", "1.12002032", "1.11888882"]
# val_loss / val_bpb of the sp1024 records (records.md §7: 1.68845).
SP1024 = 1.6884536


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["stats", *(str(a) for a in args)])


def as_json(result: Result) -> dict[str, Any]:
    assert result.exit_code in (0, 1), result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def assert_error(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors, result.stderr
    for word in words:
        assert any(word in line for line in errors), (word, errors)


def write_log(path: Path, bpb: float, *, seed: int | None, exact: bool = True) -> Path:
    """A short train log in the baseline script's style, scored at ``bpb``."""
    loss = bpb * SP1024
    lines = [
        "Hyperparameters:",
        f"  seed: {seed}" if seed is not None else "  iterations: 100",
        "step:1/100 train_loss:6.9412 train_time:120ms step_avg:120.00ms",
        "step:100/100 val_loss:2.0571 val_bpb:1.2183 train_time:600010ms step_avg:60.00ms",
        "stopping_early: wallclock_cap train_time:600010ms step:100/100",
        f"final_int8_zlib_roundtrip val_loss:{loss:.4f} val_bpb:{bpb:.4f} eval_time:2100ms",
    ]
    if exact:
        lines.append(f"final_int8_zlib_roundtrip_exact val_loss:{loss:.8f} val_bpb:{bpb:.8f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_logs(folder: Path, prefix: str, values: list[str], seeds: list[int]) -> list[Path]:
    return [
        write_log(folder / f"{prefix}{seed}.log", float(value), seed=seed)
        for value, seed in zip(values, seeds, strict=True)
    ]


def write_record(folder: Path, values: list[str], seeds: list[int]) -> Path:
    folder.mkdir(parents=True)
    for value, seed in zip(values, seeds, strict=True):
        write_log(folder / f"train_seed{seed}.log", float(value), seed=seed)
    (folder / "README.md").write_text("# a record\n", encoding="utf-8")
    (folder / "requirements.txt").write_text("zstandard\n", encoding="utf-8")
    return folder


# --------------------------------------------------------------------------------------------
# Multi-value options
# --------------------------------------------------------------------------------------------


def test_spread_values() -> None:
    stats = typer.main.get_command(app).commands["stats"]  # type: ignore[attr-defined]
    options = multi_value_options(stats.params)
    assert set(options) == {"--candidate", "-c", "--baseline", "-b"}
    assert spread_values(["-c", "1", "2", "--baseline", "3", "4", "-f", "json"], options) == [
        "-c",
        "1",
        "-c",
        "2",
        "--baseline",
        "3",
        "--baseline",
        "4",
        "-f",
        "json",
    ]
    # A negative number stays a value (and is rejected later with a clear message); "--" ends
    # the rewriting; "--candidate=x" starts a group too.
    assert spread_values(["--candidate=1", "-2", "3", "--", "4"], options) == [
        "--candidate=1",
        "--candidate",
        "-2",
        "--candidate",
        "3",
        "--",
        "4",
    ]
    assert spread_values(["a", "b", "-b", "x"], options) == ["a", "b", "-b", "x"]


# --------------------------------------------------------------------------------------------
# Per-seed values
# --------------------------------------------------------------------------------------------


def test_values_reproduce_the_published_welch_figures() -> None:
    result = run("--candidate", *NEW, "--baseline", *OLD, "--tokenizer", "sp1024", "-f", "json")
    assert result.exit_code == 0, result.output
    document = as_json(result)
    unshifted = document["tests"]["unshifted"]
    assert round(unshifted["t"], 4) == -11.8339
    assert round(unshifted["df"], 4) == 3.3063
    shifted = document["tests"]["shifted"]
    assert round(shifted["t"], 2) == -4.29
    assert shifted["passed"] is True
    assert document["tests"]["progression"]["alpha"] == 0.25
    assert document["factor"]["source"] == "tokenizer"
    assert document["factor"]["nats_per_bpb"] == 1.68845
    assert document["significant"] is True
    assert document["delta"]["bpb"] == pytest.approx(-0.00464458, abs=5e-9)
    assert [s["val_bpb"] for s in document["seeds"]["candidate"]] == [float(v) for v in NEW]


def test_comma_separated_and_positional_forms_agree() -> None:
    spaced = as_json(run("-c", *NEW, "-b", *OLD, "--nats-per-bpb", "1.68845", "-f", "json"))
    commas = as_json(
        run(",".join(NEW), "-b", ",".join(OLD), "--nats-per-bpb=1.68845", "--format=json")
    )
    assert spaced["tests"] == commas["tests"]
    assert spaced["factor"]["source"] == "override"
    assert spaced["factor"]["tokenizer"] == "sp1024"


def test_text_report() -> None:
    result = run("-c", *NEW, "-b", *OLD, "--tokenizer", "sp1024")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in (
        "-11.8339",
        "3.3063",
        "-4.2888",
        "1.68845 nats per bpb",
        "2.43592 bytes per token",
        "--tokenizer sp1024",
        "0.00296130 bpb",
        "-0.00784214 nats per token",
        "verdict: significant at p < 0.01 and ≥ 0.005 nats",
    ):
        assert expected in out, expected


def test_not_significant_exits_1() -> None:
    # Better by ~0.0014 bpb = 0.0024 nats: under the bar.
    candidate = ["1.1180", "1.1181", "1.1179"]
    result = run("-c", *candidate, "-b", *OLD, "--tokenizer", "sp1024", "-f", "json")
    assert result.exit_code == 1, result.output
    document = as_json(result)
    assert document["significant"] is False
    assert document["verdict"] == "not significant at p < 0.01 and ≥ 0.005 nats"
    assert document["tests"]["progression"]["passed"] is True


def test_a_worse_candidate_exits_1() -> None:
    result = run("-c", *OLD, "-b", *NEW, "--tokenizer", "sp1024")
    assert result.exit_code == 1
    assert "not significant" in result.stdout


def test_delta_and_alpha_flags() -> None:
    document = as_json(
        run("-c", *NEW, "-b", *OLD, "--tokenizer", "sp1024", "--delta-nats", "0", "-f", "json")
    )
    assert document["tests"]["shifted"]["t"] == document["tests"]["unshifted"]["t"]
    strict = run("-c", *NEW, "-b", *OLD, "--tokenizer", "sp1024", "--alpha", "0.005")
    assert strict.exit_code == 1


def test_baseline_mean_uses_the_one_sample_form() -> None:
    result = run(
        "-c", *NEW, "--baseline-mean", "1.1194", "--baseline-n", "3", "--tokenizer", "sp1024"
    )
    assert result.exit_code == 0, result.output
    assert "one-sample, df = n − 1" in result.stdout
    document = as_json(
        run("-c", *NEW, "--baseline-mean", "1.1194", "--tokenizer", "sp1024", "-f", "json")
    )
    assert document["test"] == "one_sample"
    assert document["tests"]["shifted"]["df"] == 2
    assert document["baseline"]["n"] is None
    assert any("mean alone" in note for note in document["warnings"])


# --------------------------------------------------------------------------------------------
# Logs and folders
# --------------------------------------------------------------------------------------------


def test_logs_give_scores_seeds_and_the_factor(tmp_path: Path) -> None:
    cand = write_logs(tmp_path, "c", NEW, [1, 2, 3])
    base = write_logs(tmp_path, "b", OLD, [4, 5, 6])
    document = as_json(run("-c", *cand, "-b", *base, "-f", "json"))
    assert [s["seed"] for s in document["seeds"]["candidate"]] == [1, 2, 3]
    assert document["seeds"]["baseline"][0]["source"] == str(base[0])
    assert document["factor"]["source"] == "candidate"
    assert document["factor"]["tokenizer"] == "sp1024"
    assert document["factor"]["nats_per_bpb"] == pytest.approx(SP1024, rel=1e-7)
    assert round(document["tests"]["unshifted"]["t"], 4) == -11.8339
    assert document["warnings"] == []


def test_records_folders(tmp_path: Path) -> None:
    cand = write_record(tmp_path / "new", NEW, [42, 1337, 2025])
    base = write_record(tmp_path / "old", OLD, [7, 8, 9])
    # The same run shipped twice under two names counts once.
    (cand / "train.log").write_text((cand / "train_seed42.log").read_text(), encoding="utf-8")
    # A log without a score (a crashed run) is not a seed.
    (cand / "train_crashed.txt").write_text("step:1/100 train_loss:6.9\n", encoding="utf-8")
    result = run(cand, "--baseline", base, "-f", "json")
    assert result.exit_code == 0, result.output
    document = as_json(result)
    assert sorted(s["seed"] for s in document["seeds"]["candidate"]) == [42, 1337, 2025]
    assert round(document["tests"]["unshifted"]["df"], 4) == 3.3063


def test_a_pgolf_train_run_folder(tmp_path: Path) -> None:
    # runs/<name>/seed<S>/{run.json, train.log}, as `pgolf train` writes them; a seed that
    # crashed before scoring is not a seed, and run.json may name the log.
    run_dir = tmp_path / "runs" / "new"
    for seed, bpb in zip([1, 2, 3], NEW, strict=True):
        (run_dir / f"seed{seed}").mkdir(parents=True)
        write_log(run_dir / f"seed{seed}" / "train.log", float(bpb), seed=seed)
        (run_dir / f"seed{seed}" / "run.json").write_text('{"log": "train.log"}', "utf-8")
    (run_dir / "seed4").mkdir()
    (run_dir / "seed4" / "train.log").write_text("step:1/100 train_loss:6.9\n", "utf-8")
    (run_dir / "seed3" / "run.json").write_text('{"log": "other.log"}', "utf-8")
    (run_dir / "seed3" / "train.log").rename(run_dir / "seed3" / "other.log")
    base = write_record(tmp_path / "old", OLD, [7, 8, 9])
    document = as_json(run(run_dir, "--baseline", base, "-f", "json"))
    assert [s["seed"] for s in document["seeds"]["candidate"]] == [1, 2, 3]
    assert round(document["tests"]["unshifted"]["df"], 4) == 3.3063


def test_logs_in_a_logs_subfolder(tmp_path: Path) -> None:
    record = tmp_path / "new"
    write_record(record / "logs", NEW, [0, 1, 2])
    (record / "submission.json").write_text('{"val_bpb": 1.1147}', encoding="utf-8")
    document = as_json(run(record, "-b", *OLD, "-f", "json"))
    assert [s["seed"] for s in document["seeds"]["candidate"]] == [0, 1, 2]
    assert document["factor"]["source"] == "candidate"


def test_folder_with_two_different_logs_for_one_seed(tmp_path: Path) -> None:
    cand = write_record(tmp_path / "new", NEW, [42, 1337, 2025])
    write_log(cand / "train_rerun.log", 1.116, seed=42)
    assert_error(run(cand, "-b", *OLD), "seed 42", "train_rerun.log")


def test_folder_without_logs_uses_submission_json(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    seeds = {
        str(seed): {"val_bpb": float(v), "val_loss": float(v) * SP1024}
        for v, seed in zip(NEW, [1, 2, 3], strict=True)
    }
    submission = {"author": "a", "val_bpb": 1.1147, "seeds": [1, 2, 3], "seed_results": seeds}
    (folder / "submission.json").write_text(json.dumps(submission), encoding="utf-8")
    document = as_json(run(folder, "-b", *OLD, "-f", "json"))
    assert [s["seed"] for s in document["seeds"]["candidate"]] == [1, 2, 3]
    assert document["factor"]["source"] == "candidate"
    assert round(document["tests"]["unshifted"]["t"], 4) == -11.8339


def test_folder_with_a_mean_only_json_points_to_baseline_mean(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "submission.json").write_text('{"val_bpb": 1.1194, "val_loss": 1.89}', "utf-8")
    assert_error(run("-c", *NEW, "-b", folder, "--tokenizer", "sp1024"), "--baseline-mean 1.1194")


def test_rounded_log_scores_are_noted(tmp_path: Path) -> None:
    cand = [
        write_log(tmp_path / f"c{s}.log", float(v), seed=s, exact=False)
        for v, s in zip(NEW, [1, 2, 3], strict=True)
    ]
    document = as_json(run("-c", *cand, "-b", *OLD, "-f", "json"))
    assert any("fewer than 8 decimals" in note for note in document["warnings"])


def test_repeated_seed_is_noted(tmp_path: Path) -> None:
    logs = [write_log(tmp_path / f"c{i}.log", float(v), seed=42) for i, v in enumerate(NEW)]
    document = as_json(run("-c", *logs, "-b", *OLD, "-f", "json"))
    assert any("seed 42 appears twice" in note for note in document["warnings"])


def test_seeds_scored_with_different_tokenizers_are_noted(tmp_path: Path) -> None:
    cand = write_logs(tmp_path, "c", NEW[:2], [1, 2])
    odd = tmp_path / "c3.log"
    odd.write_text(
        f"seed:3\nfinal_int8_zlib_roundtrip_exact val_loss:{1.11475014 * 2.58311:.8f} "
        "val_bpb:1.11475014\n",
        encoding="utf-8",
    )
    document = as_json(run("-c", *cand, odd, "-b", *OLD, "-f", "json"))
    assert any("ratios differ" in note for note in document["warnings"])


def test_cross_tokenizer_baseline_is_noted(tmp_path: Path) -> None:
    cand = write_logs(tmp_path, "c", NEW, [1, 2, 3])
    base = []
    for value, seed in zip(OLD, [4, 5, 6], strict=True):
        path = tmp_path / f"b{seed}.log"
        loss = float(value) * 2.58311  # an sp8192 baseline
        path.write_text(
            f"seed:{seed}\nfinal_int8_zlib_roundtrip_exact val_loss:{loss:.8f} "
            f"val_bpb:{float(value):.8f}\n",
            encoding="utf-8",
        )
        base.append(path)
    document = as_json(run("-c", *cand, "-b", *base, "-f", "json"))
    assert any("different tokenizers" in note for note in document["warnings"])


# --------------------------------------------------------------------------------------------
# Bad input: exit 2 with one clear message
# --------------------------------------------------------------------------------------------


def test_plain_values_need_a_factor() -> None:
    assert_error(run("-c", *NEW, "-b", *OLD), "--tokenizer", "--nats-per-bpb")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-c", "1.1", "-b", *OLD, "--tokenizer", "sp1024"], ["candidate has 1 seed"]),
        (["-c", *NEW, "-b", "1.12", "--tokenizer", "sp1024"], ["--baseline-mean"]),
        (["-c", "1.1", "1.1", "-b", "1.2", "1.2", "--tokenizer", "sp1024"], ["zero variance"]),
        (["-c", "1.1", "1.1", "--baseline-mean", "1.2", "--tokenizer", "sp1024"], ["zero"]),
        (["-c", "1.1", "abc", "-b", *OLD, "--tokenizer", "sp1024"], ["abc", "neither a number"]),
        (["-c", "1.1", "-0.2", "-b", *OLD, "--tokenizer", "sp1024"], ["-0.2"]),
        (["-c", "1.1,nan", "-b", *OLD, "--tokenizer", "sp1024"], ["nan"]),
        (["-c", *NEW, "--tokenizer", "sp1024"], ["give the baseline"]),
        (["-b", *OLD, "--tokenizer", "sp1024"], ["candidate"]),
        (["-c", *NEW, "-b", *OLD, "--baseline-mean", "1.1", "--tokenizer", "sp1024"], ["both"]),
        (["-c", *NEW, "-b", *OLD, "--baseline-n", "3", "--tokenizer", "sp1024"], ["--baseline-n"]),
        (["-c", *NEW, "-b", *OLD, "--tokenizer", "sp1024", "--nats-per-bpb", "1.7"], ["both"]),
        (["-c", *NEW, "-b", *OLD, "--nats-per-bpb", "0"], ["factor"]),
        (["-c", *NEW, "-b", *OLD, "--tokenizer", "sp1024", "--alpha", "0"], ["alpha"]),
    ],
)
def test_bad_input(args: list[str], words: list[str]) -> None:
    assert_error(run(*args), *words)


def test_unknown_tokenizer_is_a_usage_error() -> None:
    result = run("-c", *NEW, "-b", *OLD, "--tokenizer", "gpt2")
    assert result.exit_code == 2


def test_log_without_a_score(tmp_path: Path) -> None:
    path = tmp_path / "crashed.log"
    path.write_text("step:1/100 train_loss:6.9412\n", encoding="utf-8")
    assert_error(run("-c", path, *NEW, "-b", *OLD), "crashed.log", "no final score")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "model.log"
    path.write_bytes(b"\x00\x01binary")
    assert_error(run("-c", path, *NEW, "-b", *OLD), "model.log")


def test_empty_folder(tmp_path: Path) -> None:
    assert_error(run("-c", tmp_path, "-b", *OLD), str(tmp_path), "no train log", "run folder")


def test_tokenizer_choices_are_the_factor_table() -> None:
    from pgolf_cli.cli.stats import Tokenizer
    from pgolf_cli.records.stats import TOKENIZER_NATS_PER_BPB

    assert [choice.value for choice in Tokenizer] == list(TOKENIZER_NATS_PER_BPB)
