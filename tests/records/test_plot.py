"""``pgolf plot``: curves and scores read from logs, run folders and records folders, drawn
as PNG or SVG."""

from __future__ import annotations

import builtins
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pgolf_cli.cli import app
from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.plot import draw, input_logs, read_inputs

pytest.importorskip("matplotlib")

LOGS = Path(__file__).resolve().parent / "fixtures" / "logs"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RECORD_24 = "2026-03-25_ValCalib_GPTQ_XSA_BigramHash3072"
PR_549 = "2026-03-23_LeakyReLU_LegalTTT_ParallelMuon"
VARLEN = "2026-04-10_VarLenAttn"  # logs in logs/train<k>.txt, era B (no step: prefix)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["plot", *(str(a) for a in args)])


def template_log(seed: int, losses: list[float], roundtrip: float, sliding: float) -> str:
    """A log in the template's format (written for these tests)."""
    lines = ["pgolf_template: 0.1.0", "Hyperparameters:", f"  seed: {seed}"]
    for index, loss in enumerate(losses, start=1):
        step = index * 5
        lines.append(
            f"step:{step}/{5 * len(losses)} train_loss:{loss:.4f} train_time:{step * 300}ms "
            "step_avg:300.00ms tok_s:9000"
        )
    lines += [
        f"final_int6_roundtrip val_loss:4.4 val_bpb:{roundtrip:.4f} eval_time:300ms",
        f"final_int6_roundtrip_exact val_loss:4.4 val_bpb:{roundtrip:.8f}",
        f"final_sliding_window val_loss:4.4 val_bpb:{sliding:.4f} stride:64 eval_time:500ms",
        f"final_sliding_window_exact val_loss:4.4 val_bpb:{sliding:.8f}",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """runs/tiny/seed<S>/{run.json, train.log}; seed 3's lowest line is the roundtrip."""
    folder = tmp_path / "runs" / "tiny"
    specs = {
        1: ([5.3, 4.9, 4.0, 4.8], 3.72246682, 3.72004792),
        2: ([5.2, 4.8, 3.9, 4.8], 3.67565840, 3.67545570),
        3: ([5.3, 4.8, 4.0, 4.8], 3.68988056, 3.69096255),
    }
    for seed, (losses, roundtrip, sliding) in specs.items():
        (folder / f"seed{seed}").mkdir(parents=True)
        (folder / f"seed{seed}" / "train.log").write_text(
            template_log(seed, losses, roundtrip, sliding), encoding="utf-8"
        )
        (folder / f"seed{seed}" / "run.json").write_text(json.dumps({"log": "train.log"}), "utf-8")
    return folder


def test_a_run_folder_gives_curves_and_one_kind_of_score(run_dir: Path) -> None:
    [group] = read_inputs([run_dir])
    assert group.label == "tiny"
    assert [c.seed for c in group.curves] == [1, 2, 3]
    first = group.curves[0]
    assert first.steps == (5, 10, 15, 20)
    assert first.train_loss == (5.3, 4.9, 4.0, 4.8)
    assert first.train_time_s == (1.5, 3.0, 4.5, 6.0)
    # Every seed from the sliding window, seed 3 too (its own lowest is the roundtrip).
    assert {c.score_label for c in group.curves} == {"final_sliding_window_exact"}
    assert group.scores == [3.72004792, 3.67545570, 3.69096255]


def test_logs_of_one_run_given_one_by_one_form_one_group(run_dir: Path) -> None:
    groups = read_inputs(sorted(run_dir.glob("seed*/train.log")))
    assert [g.label for g in groups] == ["tiny"]
    assert {c.score_label for c in groups[0].curves} == {"final_sliding_window_exact"}
    # Two folders of one name stay apart.
    other = run_dir.parent.parent / "elsewhere" / "tiny"
    shutil.copytree(run_dir, other)
    labels = [g.label for g in read_inputs([run_dir, other])]
    assert labels == ["tiny", f"tiny ({other})"]


def test_a_fixture_log_of_the_baseline_era(tmp_path: Path) -> None:
    [group] = read_inputs([LOGS / "era_a" / "train_seed1337.log"])
    [curve] = group.curves
    assert curve.steps == (1, 200, 13600)  # indented source lines in the log are not read
    assert curve.train_loss == (6.937, 2.8101, 2.0612)
    assert curve.val_bpb == 1.2243657


def test_only_the_last_run_of_a_log_is_drawn(tmp_path: Path) -> None:
    log = tmp_path / "two_runs.log"
    first = template_log(1, [9.0, 8.0], 5.0, 5.0)
    log.write_text(first + template_log(1, [5.0, 4.0, 3.0], 3.0, 2.9), encoding="utf-8")
    [group] = read_inputs([log])
    assert group.curves[0].train_loss == (5.0, 4.0, 3.0)


def test_png_and_svg(run_dir: Path, tmp_path: Path) -> None:
    groups = read_inputs([run_dir, LOGS / "era_a" / "train_seed1337.log"])
    png = draw(groups, "png", title="runs")
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    svg = draw(groups, "svg")
    assert svg.startswith(b"<?xml") and b"Train loss by step" in svg
    # The same input gives the same bytes: the SVG can live in a records folder's git history.
    assert draw(groups, "svg") == svg


def test_cli_writes_the_picture(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.svg"
    result = run(run_dir, LOGS / "era_a" / "train_seed1337.log", "-o", out, "--title", "two")
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"<?xml")
    assert f"wrote {out}: 2 input(s), 4 log(s)" in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["missing_folder"], ["missing_folder", "no such file or folder"]),
        (["{empty}"], ["holds no train log", "run folder"]),
        (["{run}", "-o", "{tmp}/x.jpg"], ["x.jpg", "pgolf draws PNG or SVG"]),
        (["{binary}"], ["binary"]),
    ],
)
def test_bad_input_exits_2(
    run_dir: Path, tmp_path: Path, args: list[str], words: list[str]
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "weights.log").write_bytes(b"\0\1\2" * 100)
    values = {
        "{empty}": str(tmp_path / "empty"),
        "{run}": str(run_dir),
        "{binary}": str(tmp_path / "weights.log"),
    }
    resolved = [values.get(a, a).replace("{tmp}", str(tmp_path)) for a in args]
    if "-o" not in resolved:
        resolved += ["-o", str(tmp_path / "out.png")]
    result = run(*resolved)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    stderr = " ".join(result.stderr.split())
    for word in words:
        assert word in stderr, (word, stderr)
    assert not (tmp_path / "out.png").exists()


def test_without_matplotlib_it_says_how_to_get_it(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = run(run_dir, "-o", tmp_path / "out.png")
    assert result.exit_code == 2
    assert "pip install 'pgolf[plot]'" in " ".join(result.stderr.split())


def test_input_logs_of_a_records_folder_prefer_its_own_logs(tmp_path: Path) -> None:
    record = tmp_path / "record"
    (record / "logs").mkdir(parents=True)
    (record / "logs" / "train0.txt").write_text("x\n", encoding="utf-8")
    assert input_logs(record) == [record / "logs" / "train0.txt"]
    (record / "train_seed1.log").write_text("x\n", encoding="utf-8")
    assert input_logs(record) == [record / "train_seed1.log"]
    with pytest.raises(PgolfInputError, match="no such file"):
        input_logs(tmp_path / "nothing")


@pytest.mark.shared
def test_real_record_folders(records_data: Path, tmp_path: Path) -> None:
    track = records_data / "track_10min_16mb"
    groups = read_inputs([track / RECORD_24, track / PR_549, track / VARLEN])
    by_label = {g.label: g for g in groups}
    # records.md §7: PR #549's published per-seed scores, and record #24's.
    assert sorted(by_label[RECORD_24].scores) == [1.11437394, 1.11475014, 1.1150812]
    assert sorted(by_label[PR_549].scores) == [1.11888882, 1.11922988, 1.12002032]
    for group in groups:
        assert len(group.curves) == 3
        for curve in group.curves:
            assert len(curve.steps) >= 5 and curve.steps == tuple(sorted(curve.steps))
            assert all(t is not None for t in curve.train_time_s)
            assert 1.5 < curve.train_loss[-1] < 3.5
    out = tmp_path / "records.png"
    result = run(track / RECORD_24, track / PR_549, track / VARLEN, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG_MAGIC)
