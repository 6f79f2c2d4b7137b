"""The whole loop on CPU, through the command line as a user runs it.

pgolf data build -> pgolf train (tiny preset, three seeds) -> run.json results -> artifact under
the cap -> pgolf audit clean on the template that was trained -> pgolf package -> verify.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from pgolf_cli.records.logs import common_scores, read_log
from pgolf_cli.records.submission import validate_strict
from pgolf_cli.records.verify import verify_folder

ROOT = Path(__file__).resolve().parents[2]
CAP = 16_000_000
Pgolf = Callable[..., "subprocess.CompletedProcess[str]"]


def test_data_layout(trained: Path) -> None:
    dataset = trained / "data" / "datasets" / "builtin_sp512"
    assert sorted(p.name for p in dataset.glob("fineweb_*.bin")) == [
        "fineweb_train_000000.bin",
        "fineweb_val_000000.bin",
    ]


def test_each_seed_scored_under_the_cap(trained: Path) -> None:
    scores = []
    for seed in (1, 2):
        folder = trained / "runs" / "tiny" / f"seed{seed}"
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        results = run["results"]
        assert run["seed"] == seed and run["exit_status"] == 0 and run["flags"] == []
        assert run["env"]["VOCAB_SIZE"] == "512"
        artifact = folder / "final_model.int6.ptz"
        code_bytes = (ROOT / "templates" / "train_gpt.py").stat().st_size
        assert results["bytes_model"] == artifact.stat().st_size
        assert results["bytes_code"] == code_bytes
        assert results["bytes_total"] == code_bytes + artifact.stat().st_size <= CAP
        assert 0 < results["val_bpb"] < 8
        assert results["score_line"].startswith("final_sliding_window")
        log = (folder / "train.log").read_text(encoding="utf-8")
        assert f"  seed: {seed}" in log and f"val_bpb:{results['val_bpb']:.8f}" in log
        scores.append(results["val_bpb"])
    assert scores[0] != scores[1]  # the seed reached the script


def test_the_trained_template_audits_clean(trained: Path, pgolf: Pgolf) -> None:
    audited = pgolf("audit", str(ROOT / "templates" / "train_gpt.py"), cwd=trained)
    assert audited.returncode == 0, audited.stdout


def test_package_the_run_and_verify_it(trained: Path, pgolf: Pgolf) -> None:
    packaged = pgolf(
        "package", "--name", "CPU_Tiny", "--author", "Ada Lovelace", "--github-id", "ada",
        "--blurb", "The reference pipeline's smoke preset.", "--date", "2026-05-01",
        cwd=trained,
    )  # fmt: skip
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    assert "packaging the most recent run: runs/tiny" in packaged.stderr

    folder = trained / "records" / "track_10min_16mb" / "2026-05-01_CPU_Tiny"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "requirements.txt", "submission.json", "train_curves.svg", "train_gpt.py",
        "train_seed1.log", "train_seed2.log", "train_seed3.log",
    ]  # fmt: skip
    assert (folder / "train_gpt.py").read_bytes() == (ROOT / "templates/train_gpt.py").read_bytes()

    data = json.loads((folder / "submission.json").read_text(encoding="utf-8"))
    validate_strict(data, source="submission.json")
    # Every seed is scored by one evaluation; on this run the lowest lines alone would mix
    # kinds (seed 3's roundtrip is below its sliding window).
    logs = [read_log(trained / "runs" / "tiny" / f"seed{seed}" / "train.log") for seed in (1, 2, 3)]
    scores = common_scores(logs)
    assert len({score.label for score in scores if score}) == 1
    for seed, score in zip((1, 2, 3), scores, strict=True):
        run = json.loads(
            (trained / "runs" / "tiny" / f"seed{seed}" / "run.json").read_text(encoding="utf-8")
        )
        result = data["seed_results"][str(seed)]
        assert score is not None and result["val_bpb"] == score.val_bpb
        assert result["artifact_bytes"] == run["results"]["bytes_total"]
    assert data["bytes_code"] == (ROOT / "templates/train_gpt.py").stat().st_size

    report = verify_folder(folder)
    failed = [check for check in report.checks if check.status == "fail"]
    assert not failed, failed
    assert report.verdict == "consistent" and report.match == "full"

    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "pgolf data build --vocab-size 512" in readme
    assert "pgolf train train_gpt.py --preset cpu-tiny --seeds 1 2 3" in readme
