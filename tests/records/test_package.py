"""``pgolf package``: records folders built from hand-made run folders.

Each test builds ``runs/<name>/seed<S>/{run.json, train.log, final_model.int6.ptz}`` the way
``pgolf train`` writes them (docs/pipeline.md), with logs in the template's format, then
packages them through the library or the command line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import lzma
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner, Result

import pgolf_cli.records.package as package_module
import pgolf_cli.records.package.write as write_module
from pgolf_cli.audit.source import unpack
from pgolf_cli.cli import app
from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.package import (
    PackageError,
    PackageRequest,
    VerifyFailed,
    latest_run,
    package,
    plan_package,
)
from pgolf_cli.records.stats import ratio_factor, significance
from pgolf_cli.records.submission import schema, validate_strict
from pgolf_cli.records.verify import Check, FolderReport, verify_folder

DATE = "2026-05-01"
NAME = "Tiny_Test"
FOLDER = f"{DATE}_{NAME}"

# Written by hand for these tests: it is hashed, packed, audited and (once) run, never trained.
SCRIPT_HEAD = '''"""A stand-in for train_gpt.py: reads its settings and prints them."""

from __future__ import annotations

import os

import numpy as np
import torch

SETTINGS = {
'''
SCRIPT_TAIL = """}


def main() -> None:
    for key, default in SETTINGS.items():
        print(f"{key.lower()}: {os.environ.get(key, default)}")
    print("arrays:", np.zeros(2).shape, "tensors:", torch.__name__)


if __name__ == "__main__":
    main()
"""


def make_script(lines: int = 60) -> str:
    body = "".join(f'    "SETTING_{i:03d}": "{i * 7 % 97}",\n' for i in range(lines))
    return SCRIPT_HEAD + body + SCRIPT_TAIL


@dataclass
class SeedSpec:
    seed: int
    val_bpb: float
    val_loss: float
    model_bytes: int
    train_ms: int = 598_500
    eval_ms: int = 91_000
    steps: int = 4_000


@dataclass
class RunSpec:
    name: str = "tiny"
    seeds: list[SeedSpec] = field(
        default_factory=lambda: [
            SeedSpec(42, 1.12003456, 2.83215487, 15_101_013),
            SeedSpec(1337, 1.11925012, 2.83017112, 15_100_377),
            SeedSpec(7, 1.12051234, 2.83338914, 15_102_455),
        ]
    )


def log_text(spec: SeedSpec, sha: str, code_bytes: int, script: Path) -> str:
    total = code_bytes + spec.model_bytes
    step_avg = spec.train_ms / spec.steps
    lines = [
        "pgolf_template: 0.1.0",
        "python: 3.11.7 torch: 2.13.0+cu128 cuda: 12.8 device: NVIDIA H100 80GB HBM3 world_size: 8",
        f"command: {script}",
        f"code_sha256: {sha}",
        "Hyperparameters:",
        f"  run_id: tiny-seed{spec.seed}",
        f"  seed: {spec.seed}",
        "  iterations: 20000",
        "  train_seq_len: 2048",
        "data: train_shards:80 val_shards:1 train_tokens:8000000000 val_tokens:62021632 "
        "val_bytes:151080363",
        f"step:{spec.steps // 2}/20000 train_loss:2.9012 train_time:{spec.train_ms // 2}ms "
        f"step_avg:{step_avg:.2f}ms tok_s:5000000",
        f"step:{spec.steps}/20000 train_loss:2.8120 train_time:{spec.train_ms}ms "
        f"step_avg:{step_avg:.2f}ms tok_s:5000000",
        f"step:{spec.steps}/20000 val_loss:2.8400 val_bpb:1.1300 train_time:{spec.train_ms}ms "
        f"step_avg:{step_avg:.2f}ms",
        f"stopping_early: wallclock_cap train_time:{spec.train_ms}ms step:{spec.steps}/20000",
        "peak memory allocated: 21000 MiB reserved: 23000 MiB",
        f"Code size: {code_bytes} bytes",
        f"Serialized model int6+brotli-11: {spec.model_bytes} bytes",
        f"Total submission size int6+brotli-11: {total} bytes",
        f"final_int6_roundtrip val_loss:{spec.val_loss + 0.03:.4f} "
        f"val_bpb:{spec.val_bpb + 0.012:.4f} eval_time:20000ms",
        f"final_int6_roundtrip_exact val_loss:{spec.val_loss + 0.03:.8f} "
        f"val_bpb:{spec.val_bpb + 0.012:.8f}",
        f"final_sliding_window val_loss:{spec.val_loss:.4f} val_bpb:{spec.val_bpb:.4f} "
        f"stride:64 eval_seq_len:2048 eval_time:{spec.eval_ms}ms",
        f"final_sliding_window_exact val_loss:{spec.val_loss:.8f} val_bpb:{spec.val_bpb:.8f}",
        f"total_eval_time:{(spec.eval_ms + 20_000) / 1000:.1f}s",
    ]
    return "\n".join(lines) + "\n"


def run_json(
    spec: SeedSpec, run: RunSpec, script: Path, sha: str, folder: Path
) -> dict[str, object]:
    return {
        "schema_version": 1,
        "name": run.name,
        "seed": spec.seed,
        "script": str(script),
        "code_sha256": sha,
        "command": [sys.executable, "-m", "torch.distributed.run", "--standalone",
                    "--nproc-per-node", "8", str(script)],
        "cwd": str(folder),
        "env": {
            "PYTHONUNBUFFERED": "1",
            "SEED": str(spec.seed),
            "RUN_ID": f"{run.name}-seed{spec.seed}",
            "DATA_PATH": "/home/ada/pg/data/datasets/fineweb10B_sp1024",
            "TOKENIZER_PATH": "/home/ada/pg/data/tokenizers/fineweb_1024_bpe.model",
            "VOCAB_SIZE": "1024",
            "MAX_WALLCLOCK_SECONDS": "600",
            "MATRIX_LR": "0.03",
        },
        "preset": "challenge",
        "versions": {"pgolf": "0.1.0", "python": "3.11.7", "torch": "2.13.0+cu128",
                     "cuda": "12.8", "template": "0.1.0"},
        "hardware": {"cpu_count": 208, "machine": "x86_64", "device": "NVIDIA H100 80GB HBM3",
                     "gpus": 8, "world_size": 8, "nnodes": 1, "nproc_per_node": 8},
        "data": {"dataset": "fineweb10B_sp1024",
                 "dataset_dir": "/home/ada/pg/data/datasets/fineweb10B_sp1024",
                 "tokenizer": "/home/ada/pg/data/tokenizers/fineweb_1024_bpe.model",
                 "fingerprint": None, "manifest": None},
        "started_at": "2026-05-01T10:00:00+00:00",
        "finished_at": "2026-05-01T10:12:00+00:00",
        "exit_status": 0,
        "stopped_by": None,
        "log": "train.log",
        "artifact": {"path": "final_model.int6.ptz", "bytes": spec.model_bytes},
        "results": {"val_bpb": spec.val_bpb, "val_loss": spec.val_loss},
        "flags": [],
    }  # fmt: skip


@dataclass
class Built:
    root: Path
    run_dir: Path
    script: Path
    source: bytes
    spec: RunSpec

    def seed_dir(self, seed: int) -> Path:
        return self.run_dir / f"seed{seed}"

    def edit_run_json(self, seed: int, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.seed_dir(seed) / "run.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(json.dumps(data), encoding="utf-8")

    def request(self, **changes: object) -> PackageRequest:
        base = PackageRequest(
            run_dir=self.run_dir,
            name=NAME,
            author="Ada Lovelace",
            github_id="ada-l",
            blurb="Three seeds of a stand-in script.",
            out=self.root / "records",
            date=package_module.parse_date(DATE),
        )
        return replace(base, **changes)  # type: ignore[arg-type]

    @property
    def target(self) -> Path:
        return self.root / "records" / "track_10min_16mb" / FOLDER


def build_run(root: Path, spec: RunSpec | None = None, script_text: str | None = None) -> Built:
    spec = spec or RunSpec()
    script = root / "src" / "train_gpt.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    source = (script_text or make_script()).encode("utf-8")
    script.write_bytes(source)
    sha = hashlib.sha256(source).hexdigest()
    run_dir = root / "runs" / spec.name
    for seed_spec in spec.seeds:
        folder = run_dir / f"seed{seed_spec.seed}"
        folder.mkdir(parents=True)
        (folder / "train.log").write_text(
            log_text(seed_spec, sha, len(source), script), encoding="utf-8"
        )
        (folder / "final_model.int6.ptz").write_bytes(b"\x07" * 64)
        # The artifact's size must match the log; a sparse file keeps 15 MB off the disk.
        with (folder / "final_model.int6.ptz").open("r+b") as handle:
            handle.truncate(seed_spec.model_bytes)
        manifest = run_json(seed_spec, spec, script, sha, folder)
        (folder / "run.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return Built(root, run_dir, script, source, spec)


@pytest.fixture
def built(tmp_path: Path) -> Built:
    return build_run(tmp_path)


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["package", *(str(a) for a in args)])


def cli_args(built: Built, *extra: str | Path) -> list[str | Path]:
    return [
        "--run", built.run_dir, "--out", built.root / "records", "--name", NAME,
        "--author", "Ada Lovelace", "--github-id", "ada-l", "--date", DATE,
        "--blurb", "Three seeds of a stand-in script.", *extra,
    ]  # fmt: skip


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
    }


# --------------------------------------------------------------------------------------------
# The folder
# --------------------------------------------------------------------------------------------


def test_builds_the_folder_from_the_run(built: Built) -> None:
    result = package(built.request())

    assert result.path == built.target
    names = sorted(p.name for p in built.target.iterdir())
    assert names == [
        "README.md", "requirements.txt", "submission.json", "train_curves.svg", "train_gpt.py",
        "train_seed1337.log", "train_seed42.log", "train_seed7.log",
    ]  # fmt: skip
    for seed in (42, 1337, 7):
        shipped = (built.target / f"train_seed{seed}.log").read_bytes()
        assert shipped == (built.seed_dir(seed) / "train.log").read_bytes()
    assert (built.target / "train_gpt.py").read_bytes() == built.source
    # Nothing else appeared in the track folder: no staging directory is left.
    assert [p.name for p in built.target.parent.iterdir()] == [FOLDER]
    assert not result.report.failed
    assert not result.replaced


def test_submission_json_is_computed_from_the_logs(built: Built) -> None:
    package(built.request(seeds=(42, 1337, 7)))
    data = json.loads((built.target / "submission.json").read_text(encoding="utf-8"))
    specs = {s.seed: s for s in built.spec.seeds}
    bpbs = [specs[s].val_bpb for s in (42, 1337, 7)]
    losses = [specs[s].val_loss for s in (42, 1337, 7)]
    code = len(built.source)

    assert data["seeds"] == [42, 1337, 7]
    assert data["val_bpb"] == round(statistics.fmean(bpbs), 8)
    assert data["val_loss"] == round(statistics.fmean(losses), 8)
    assert data["val_bpb_std"] == pytest.approx(statistics.stdev(bpbs), abs=1e-8)
    assert data["val_loss_std"] == pytest.approx(statistics.stdev(losses), abs=1e-8)
    assert data["bytes_code"] == code
    totals = [specs[s].model_bytes + code for s in (42, 1337, 7)]
    assert data["bytes_total"] == data["artifact_bytes_max"] == max(totals)
    assert data["artifact_bytes_mean"] == pytest.approx(statistics.fmean(totals), abs=0.01)
    seed = data["seed_results"]["1337"]
    assert seed == {
        "val_bpb": 1.11925012,
        "val_loss": 2.83017112,
        "artifact_bytes": 15_100_377 + code,
        "bytes_model": 15_100_377,
        "steps": 4000,
        "train_time_s": 598.5,
        "eval_time_s": 91.0,
        "log_file": "train_seed1337.log",
    }
    assert data["hardware"] == "8xNVIDIA H100 80GB HBM3"
    assert (data["python_version"], data["pytorch_version"], data["cuda_version"]) == (
        "3.11.7",
        "2.13.0+cu128",
        "12.8",
    )
    assert data["compliance"] == {
        "artifact_under_16mb": True,
        "train_under_600s": True,
        "eval_under_600s": True,
        "three_seeds": True,
        "score_first_ttt": True,
        "no_pre_quant_ttt": True,
        "no_ngram_cache": True,
        "no_slot": True,
        "no_etlb": True,
        "audit": {
            "files": ["train_gpt.py"],
            "errors": 0,
            "warnings": 0,
            "notes": 0,
            "suppressed": 0,
            "rule_ids": [],
        },
    }
    assert data["comparison"] is None
    assert data["generated_by"]["tool"] == "pgolf"
    assert (data["track"], data["name"], data["date"]) == ("10min_16mb", NAME, DATE)


def test_submission_json_validates_against_the_strict_schema(built: Built) -> None:
    package(built.request(credits={"stand-in script": "@ada-l"}))
    data = json.loads((built.target / "submission.json").read_text(encoding="utf-8"))
    validate_strict(data, source="submission.json")
    jsonschema.Draft202012Validator(schema()).validate(data)
    assert data["attribution"] == {"stand-in script": "@ada-l"}


def test_compliance_follows_the_logs(tmp_path: Path) -> None:
    spec = RunSpec(
        seeds=[
            SeedSpec(1, 1.2, 2.03, 15_999_000, train_ms=650_000),
            SeedSpec(2, 1.21, 2.04, 15_000_000, eval_ms=601_000),
        ]
    )
    run = build_run(tmp_path, spec)
    plan = plan_package(run.request(track="non_record_16mb"))
    claims = plan.submission.compliance
    assert not claims.artifact_under_16mb  # 15,999,000 + the code
    assert not claims.train_under_600s
    assert not claims.eval_under_600s
    assert not claims.three_seeds


def test_audit_findings_turn_claims_false(tmp_path: Path) -> None:
    illegal = (
        Path(__file__).resolve().parents[2] / "templates/examples/pre_quant_ttt.py"
    ).read_text(encoding="utf-8")
    run = build_run(tmp_path, script_text=illegal)
    plan = plan_package(run.request())
    claims = plan.submission.compliance
    assert not claims.no_pre_quant_ttt
    assert claims.audit.errors >= 1 and "PG101" in claims.audit.rule_ids
    # ...and verify, which audits the folder, refuses it: nothing is written.
    with pytest.raises(VerifyFailed) as failed:
        package(run.request())
    assert failed.value.report.check("audit").status == "fail"
    assert not (run.root / "records").exists()


def test_requirements_pin_the_runs_torch(built: Built) -> None:
    package(built.request())
    text = (built.target / "requirements.txt").read_text(encoding="utf-8")
    packages = [line for line in text.splitlines() if not line.startswith("#")]
    assert packages == ["numpy", "torch==2.13.0"]
    assert "PyTorch 2.13.0+cu128" in text
    assert "os" not in packages


# --------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------


def test_readme_reports_results_reproduction_and_credit(built: Built) -> None:
    package(built.request(credits={"Muon": "@kellerjordan"}))
    readme = (built.target / "README.md").read_text(encoding="utf-8")
    data = json.loads((built.target / "submission.json").read_text(encoding="utf-8"))

    assert readme.startswith(f"# {NAME}\n\nThree seeds of a stand-in script.")
    for spec in built.spec.seeds:
        assert f"| {spec.seed} | {spec.val_bpb:.8f} | {spec.val_loss:.8f} |" in readme
        assert f"[train_seed{spec.seed}.log](train_seed{spec.seed}.log)" in readme
        assert f"{spec.model_bytes + len(built.source):,}" in readme
    assert f"**{data['val_bpb']:.8f}** ± {data['val_bpb_std']:.8f}" in readme
    assert "598.5 s" in readme and "91.0 s" in readme
    assert "`final_sliding_window_exact`" in readme
    assert "No baseline was given" in readme
    assert "0 error(s), 0 warning(s)" in readme
    assert "pgolf data fineweb --variant sp1024" in readme
    assert (
        "pgolf train train_gpt.py --preset challenge --seeds 7 42 1337 --dataset "
        "fineweb10B_sp1024 --nproc-per-node 8 --env MATRIX_LR=0.03"
    ) in readme
    assert "for SEED in 7 42 1337; do" in readme
    assert "SEED=$SEED RUN_ID=tiny-seed$SEED DATA_PATH=./data/datasets/fineweb10B_sp1024" in readme
    assert "torchrun --standalone --nproc-per-node 8 train_gpt.py" in readme
    # A machine's own paths are not published.
    assert "/home/ada" not in readme
    assert "- Submitted by Ada Lovelace (@ada-l)." in readme
    assert "- Muon: @kellerjordan" in readme
    assert "$" not in readme.replace("$SEED", "")  # every placeholder was filled


def test_readme_states_which_claims_no_rule_checks(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An older catalogue without PG202 (SLOT): the claim must read unchecked, and null in the
    # json, not pretend it was checked.
    from pgolf_cli.audit import registry

    catalogue = [rule for rule in registry.all_rules() if rule.id != "PG202"]
    monkeypatch.setattr("pgolf_cli.audit.registry.all_rules", lambda: catalogue)
    package(built.request())
    readme = (built.target / "README.md").read_text(encoding="utf-8")
    assert "| `no_slot` | unchecked |" in readme
    assert "| `no_pre_quant_ttt` | yes | audit rule PG101 |" in readme
    data = json.loads((built.target / "submission.json").read_text(encoding="utf-8"))
    assert data["compliance"]["no_slot"] is None
    assert data["compliance"]["no_pre_quant_ttt"] is True


def test_with_the_whole_catalogue_every_compliance_claim_is_checked(built: Built) -> None:
    package(built.request())
    readme = (built.target / "README.md").read_text(encoding="utf-8")
    assert "unchecked" not in readme
    assert "| `no_slot` | yes | audit rule PG202 |" in readme


# --------------------------------------------------------------------------------------------
# Significance
# --------------------------------------------------------------------------------------------


def make_baseline(root: Path, scores: list[tuple[int, float, float]]) -> Path:
    folder = root / "baseline" / "track_10min_16mb" / "2026-04-01_Previous"
    folder.mkdir(parents=True)
    for seed, bpb, loss in scores:
        (folder / f"train_seed{seed}.log").write_text(
            "\n".join(
                [
                    "Hyperparameters:",
                    f"  seed: {seed}",
                    f"final_int8_zlib_roundtrip_exact val_loss:{loss:.8f} val_bpb:{bpb:.8f}",
                ]
            )
            + "\n",
            encoding="utf-8",
        )
    return folder


def test_significance_against_a_baseline(built: Built) -> None:
    factor = 2.83215487 / 1.12003456
    base = [(s, b, b * factor) for s, b in ((1, 1.1252011), (2, 1.1259013), (3, 1.1247112))]
    baseline = make_baseline(built.root, base)
    result = package(built.request(baseline=baseline))

    comparison = result.plan.submission.comparison
    assert comparison is not None
    cand = [s.val_bpb for s in built.spec.seeds]
    expected = significance(
        cand,
        [b for _, b, _ in base],
        nats_per_bpb=ratio_factor([s.val_loss for s in built.spec.seeds], cand),
    )
    assert comparison.test == "welch"
    assert comparison.t == pytest.approx(expected.shifted.test.t)
    assert comparison.df == pytest.approx(expected.shifted.test.df)
    assert comparison.p == pytest.approx(expected.shifted.test.p)
    assert comparison.delta_bpb == pytest.approx(expected.delta_bpb, abs=1e-8)
    assert comparison.baseline == "track_10min_16mb/2026-04-01_Previous"
    assert comparison.baseline_n_seeds == 3
    assert comparison.threshold_nats == 0.005
    readme = (built.target / "README.md").read_text(encoding="utf-8")
    assert f"Verdict: {expected.verdict}" in readme
    assert "Against `track_10min_16mb/2026-04-01_Previous`" in readme
    # The comparison is package's own test; verify judges the folder, not the result.
    assert result.report.check("significance").status == "skip"


def test_a_baseline_it_does_not_beat_is_reported_and_the_folder_written(built: Built) -> None:
    baseline = make_baseline(
        built.root, [(1, 1.1100, 2.81), (2, 1.1101, 2.8102), (3, 1.1099, 2.8098)]
    )
    result = invoke(*cli_args(built, "--baseline", baseline))
    assert result.exit_code == 0, result.output
    assert "significance: not significant" in result.stdout
    assert "does not clear the record bar" in " ".join(result.stderr.split())
    readme = (built.target / "README.md").read_text(encoding="utf-8")
    assert "**Verdict: not significant" in readme
    data = json.loads((built.target / "submission.json").read_text(encoding="utf-8"))
    assert data["comparison"]["p"] > 0.01
    assert verify_folder(built.target).failed is False


# --------------------------------------------------------------------------------------------
# --pack-code
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["lzma", "brotli"])
def test_pack_code_round_trip_and_bytes_saved(built: Built, codec: str) -> None:
    result = package(built.request(pack_code=codec))
    shipped = (built.target / "train_gpt.py").read_bytes()

    inner, layers, undecodable = unpack(shipped.decode("ascii"))
    assert undecodable is None
    assert [layer.kind for layer in layers] == [f"{codec}+base85"]
    assert inner.encode("utf-8") == built.source
    code = result.plan.code
    assert code.shipped_bytes == len(shipped) < len(built.source)
    assert code.saved_bytes == len(built.source) - len(shipped)

    data = json.loads((built.target / "submission.json").read_text(encoding="utf-8"))
    assert data["bytes_code"] == len(shipped)
    for spec in built.spec.seeds:
        assert data["seed_results"][str(spec.seed)]["artifact_bytes"] == spec.model_bytes + len(
            shipped
        )
    readme = (built.target / "README.md").read_text(encoding="utf-8")
    assert f"saves {code.saved_bytes:,} bytes per seed" in readme
    # The audit read the decoded code (and says so with its packed-source note).
    assert data["compliance"]["audit"]["rule_ids"] == ["PG902"]


@pytest.mark.parametrize("codec", ["lzma", "brotli"])
def test_verify_passes_a_packed_folder_without_warnings_about_sizes(
    built: Built, codec: str
) -> None:
    # The logs counted the script as run; the folder ships the smaller wrapper.
    package(built.request(pack_code=codec))
    report = verify_folder(built.target)
    assert report.check("seed-logs").status == "pass", report.check("seed-logs")
    code_size = report.check("code-size")
    assert code_size.status == "pass", code_size
    assert "decodes to" in code_size.message
    assert report.check("size").status == "pass"


def test_packed_script_runs_like_the_original(tmp_path: Path) -> None:
    # The one place the tests run a packed file: this test's own script, in a subprocess.
    script = "import sys\n" + "".join(f"print('line {i}', {i} * 3)\n" for i in range(200))
    run = build_run(tmp_path, script_text=script)
    package(run.request(pack_code="lzma", track="non_record_16mb"))
    packed = run.root / "records/track_non_record_16mb" / FOLDER / "train_gpt.py"
    original = subprocess.run(
        [sys.executable, str(run.script)], capture_output=True, text=True, check=True
    )
    rerun = subprocess.run(
        [sys.executable, str(packed)], capture_output=True, text=True, check=True
    )
    assert rerun.stdout == original.stdout


def test_pack_code_refuses_when_it_does_not_pay(tmp_path: Path) -> None:
    run = build_run(tmp_path, script_text="print('tiny')\n")
    with pytest.raises(PackageError, match="not smaller"):
        plan_package(run.request(pack_code="lzma"))


def test_pack_code_refuses_an_already_packed_script(tmp_path: Path) -> None:
    payload = base64.b85encode(lzma.compress(make_script().encode())).decode()
    wrapper = f'import lzma as L,base64 as B\nexec(L.decompress(B.b85decode("{payload}")))\n'
    run = build_run(tmp_path, script_text=wrapper)
    with pytest.raises(PackageError, match="already a packed wrapper"):
        plan_package(run.request(pack_code="brotli"))


# --------------------------------------------------------------------------------------------
# Bad input: exit 2 with the file and the fix named
# --------------------------------------------------------------------------------------------


def truncate_log(run: Built) -> Path:
    log = run.seed_dir(1337) / "train.log"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    log.write_text("".join(lines[:12]), encoding="utf-8")
    run.edit_run_json(1337, lambda d: d["results"].update(val_bpb=None))
    return log


def nan_loss(run: Built) -> Path:
    log = run.seed_dir(7) / "train.log"
    text = log.read_text(encoding="utf-8").replace("train_loss:2.9012", "train_loss:nan")
    log.write_text(text, encoding="utf-8")
    return log


def other_code(run: Built) -> Path:
    # Seed 7 ran another script: its run.json and its log agree on another hash.
    def change(data: dict[str, Any]) -> None:
        data["code_sha256"] = "ab" * 32

    run.edit_run_json(7, change)
    log = run.seed_dir(7) / "train.log"
    sha = hashlib.sha256(run.source).hexdigest()
    log.write_text(log.read_text(encoding="utf-8").replace(sha, "ab" * 32), encoding="utf-8")
    return run.run_dir


def missing_log(run: Built) -> Path:
    log = run.seed_dir(42) / "train.log"
    log.unlink()
    return log


def missing_run_json(run: Built) -> Path:
    path = run.seed_dir(42) / "run.json"
    path.unlink()
    return path


def string_for_number(run: Built) -> Path:
    run.edit_run_json(1337, lambda d: d.update(seed="1337"))
    return run.seed_dir(1337) / "run.json"


def string_for_gpu_count(run: Built) -> Path:
    run.edit_run_json(1337, lambda d: d["hardware"].update(gpus="8"))
    return run.seed_dir(1337) / "run.json"


def binary_log(run: Built) -> Path:
    log = run.seed_dir(42) / "train.log"
    log.write_bytes(b"step:1/2 train_loss:\x00\x01")
    return log


def not_utf8_log(run: Built) -> Path:
    log = run.seed_dir(42) / "train.log"
    log.write_bytes(log.read_bytes() + b"caf\xe9\n")
    return log


def run_json_is_a_folder(run: Built) -> Path:
    path = run.seed_dir(7) / "run.json"
    path.unlink()
    path.mkdir()
    return path


def broken_json(run: Built) -> Path:
    path = run.seed_dir(7) / "run.json"
    path.write_text('{"seed": 7,', encoding="utf-8")
    return path


def script_changed(run: Built) -> Path:
    run.script.write_bytes(run.source + b"# edited after the run\n")
    return run.script


def script_gone(run: Built) -> Path:
    run.script.unlink()
    return run.script


def log_from_other_code(run: Built) -> Path:
    log = run.seed_dir(42) / "train.log"
    text = log.read_text(encoding="utf-8")
    sha = hashlib.sha256(run.source).hexdigest()
    log.write_text(text.replace(sha, "cd" * 32), encoding="utf-8")
    return log


def log_of_another_seed(run: Built) -> Path:
    log = run.seed_dir(42) / "train.log"
    log.write_text(log.read_text(encoding="utf-8").replace("  seed: 42", "  seed: 43"), "utf-8")
    return log


def edited_score(run: Built) -> Path:
    log = run.seed_dir(42) / "train.log"
    text = log.read_text(encoding="utf-8").replace("val_bpb:1.12003456", "val_bpb:1.10003456")
    log.write_text(text, encoding="utf-8")
    return log


def unfinished(run: Built) -> Path:
    run.edit_run_json(7, lambda d: d.update(stopped_by="failure", exit_status=1))
    return run.seed_dir(7) / "run.json"


def artifact_mismatch(run: Built) -> Path:
    artifact = run.seed_dir(7) / "final_model.int6.ptz"
    with artifact.open("r+b") as handle:
        handle.truncate(1000)
    return artifact


def other_settings(run: Built) -> Path:
    run.edit_run_json(7, lambda d: d["env"].update(MATRIX_LR="0.05"))
    return run.run_dir


BAD_RUNS: dict[str, tuple[Callable[[Built], Path], str]] = {
    "truncated log": (truncate_log, "no final score line"),
    "NaN loss": (nan_loss, "NaN or infinite loss (line 11)"),
    "different code": (other_code, "seeds 42, 1337 ran"),
    "missing log": (missing_log, "seed 42 has no train log"),
    "missing run.json": (missing_run_json, "is missing"),
    "string for a number": (string_for_number, 'seed: input should be a valid integer, got "1337"'),
    "string for the gpu count": (string_for_gpu_count, "hardware.gpus"),
    "binary log": (binary_log, "binary file"),
    "log not utf-8": (not_utf8_log, "is not UTF-8"),
    "run.json is a folder": (run_json_is_a_folder, "cannot be read"),
    "run.json not json": (broken_json, "is not valid JSON"),
    "script changed": (script_changed, "has changed since seeds 7, 42, 1337 ran it"),
    "script gone": (script_gone, "no longer exists"),
    "log of other code": (log_from_other_code, "printed by code with sha256"),
    "log of another seed": (log_of_another_seed, "prints seed 43"),
    "score edited": (edited_score, "the log was changed after the run"),
    "unfinished seed": (unfinished, "did not finish"),
    "artifact mismatch": (artifact_mismatch, "is 1000 bytes"),
    "different settings": (other_settings, "MATRIX_LR"),
}


@pytest.mark.parametrize("case", list(BAD_RUNS))
def test_bad_run_is_refused_with_the_file_named(built: Built, case: str) -> None:
    breaker, message = BAD_RUNS[case]
    where = breaker(built)
    before = tree(built.root)

    with pytest.raises(PgolfInputError) as raised:
        package(built.request())
    assert message in str(raised.value)
    assert str(where) in raised.value.path or raised.value.path in str(where)
    assert raised.value.fix

    result = invoke(*cli_args(built))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert tree(built.root) == before  # nothing was written


def test_different_code_names_every_seed(built: Built) -> None:
    other_code(built)
    with pytest.raises(PackageError) as raised:
        plan_package(built.request())
    text = str(raised.value)
    assert "seeds 42, 1337 ran" in text and "seed 7 ran abababababab" in text


def test_requested_seed_not_in_the_run(built: Built) -> None:
    result = invoke(*cli_args(built, "--seeds", "42", "5"))
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "has no seed 5 (no folder seed5); its seeds are: 7, 42, 1337" in message
    assert not (built.root / "records").exists()


def test_seed_listed_twice(built: Built) -> None:
    with pytest.raises(PackageError, match="lists seed 42 more than once"):
        plan_package(built.request(seeds=(42, 7, 42)))


def test_seeds_flag_takes_several_values(built: Built) -> None:
    result = invoke(*cli_args(built, "--seeds", "1337", "7", "--track", "non_record_16mb"))
    assert result.exit_code == 0, result.output
    data = json.loads(
        (built.root / "records/track_non_record_16mb" / FOLDER / "submission.json").read_text(
            encoding="utf-8"
        )
    )
    assert data["seeds"] == [1337, 7]
    assert "1.11925012" in result.stdout


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--name", "Two words", "contains whitespace"),
        ("--name", "../escape", "path separator or '..'"),
        ("--name", "a/b", "path separator"),
        ("--name", "2026-05-01_Dated", "starts with a date"),
        ("--name", ".hidden", "starting with a letter or digit"),
        ("--date", "2026-02-30", "is not a calendar day"),
        ("--date", "May 1", "is not a calendar day"),
        ("--github-id", "@ada", "is not a GitHub user name"),
        ("--blurb", " ", "--blurb: is empty"),
        ("--credit", "no equals sign", "write it as WHAT=WHO"),
    ],
)
def test_bad_flags(built: Built, flag: str, value: str, message: str) -> None:
    args = cli_args(built)
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert not (built.root / "records").exists()


def test_missing_required_flags(built: Built) -> None:
    result = invoke("--run", built.run_dir, "--name", NAME)
    assert result.exit_code == 2
    assert "missing --author, --github-id, --blurb" in result.stderr


# --------------------------------------------------------------------------------------------
# --force, the records tree, atomicity
# --------------------------------------------------------------------------------------------


def test_existing_folder_needs_force(built: Built) -> None:
    built.target.mkdir(parents=True)
    (built.target / "notes.txt").write_text("mine", encoding="utf-8")
    result = invoke(*cli_args(built))
    assert result.exit_code == 2
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert [p.name for p in built.target.iterdir()] == ["notes.txt"]


def test_force_replaces_the_folder(built: Built) -> None:
    built.target.mkdir(parents=True)
    (built.target / "notes.txt").write_text("old", encoding="utf-8")
    result = invoke(*cli_args(built, "--force"))
    assert result.exit_code == 0, result.output
    assert not (built.target / "notes.txt").exists()
    assert (built.target / "submission.json").is_file()
    assert "replaced the existing folder" in result.stdout
    assert [p.name for p in built.target.parent.iterdir()] == [FOLDER]


def test_force_keeps_the_old_folder_when_verify_fails(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    package(built.request())
    before = tree(built.target)
    monkeypatch.setattr(write_module, "_default_verify", failing_report)
    result = invoke(*cli_args(built, "--force"))
    assert result.exit_code == 1, result.output
    assert "made to fail" in result.stderr
    assert tree(built.target) == before
    assert [p.name for p in built.target.parent.iterdir()] == [FOLDER]


def failing_report(folder: Path) -> FolderReport:
    assert (folder / "submission.json").is_file()  # it checks the complete folder
    assert folder.name == FOLDER and folder.parent.name == "track_10min_16mb"
    check = Check("structure", "fail", "Folder structure", "made to fail", ("evidence line",))
    return FolderReport(str(folder), "10min_16mb", (check,), "consistent", "mean-per-seed")


def test_verify_failure_leaves_nothing_behind(built: Built) -> None:
    with pytest.raises(VerifyFailed) as failed:
        package(built.request(), verify=failing_report)
    assert failed.value.report.failed
    assert not (built.root / "records").exists()  # not even the track folder it created


@pytest.mark.parametrize("existing", [False, True])
def test_a_failure_mid_build_leaves_nothing_behind(
    built: Built, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    if existing:
        package(built.request())
    before = tree(built.root / "records") if existing else None
    written: list[str] = []
    real_write = write_module._write_file

    def write_then_fail(path: Path, content: bytes) -> None:
        if len(written) == 3:
            raise OSError(28, "No space left on device", str(path))
        written.append(path.name)
        real_write(path, content)

    monkeypatch.setattr(write_module, "_write_file", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        package(built.request(force=True))
    assert len(written) == 3
    if existing:
        assert tree(built.root / "records") == before
    else:
        assert not (built.root / "records").exists()


def test_an_interrupted_rename_restores_the_old_folder(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    package(built.request())
    before = tree(built.target)
    real_rename = os.rename
    calls: list[str] = []

    def rename(src: str | Path, dst: str | Path) -> None:
        calls.append(Path(dst).name)
        if len(calls) == 2:  # the old folder is aside; the new one fails to move in
            raise OSError(5, "I/O error")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="I/O error"):
        package(built.request(force=True))
    monkeypatch.undo()
    assert tree(built.target) == before
    assert [p.name for p in built.target.parent.iterdir()] == [FOLDER]


def test_never_writes_outside_the_records_tree(built: Built) -> None:
    outside = built.root / "outside"
    outside.mkdir()
    records = built.root / "records"
    records.mkdir()
    (records / "track_10min_16mb").symlink_to(outside, target_is_directory=True)
    result = invoke(*cli_args(built))
    assert result.exit_code == 2
    assert "is a link or a file" in result.stderr
    assert list(outside.iterdir()) == []

    (records / "track_10min_16mb").unlink()
    before = {p for p in built.root.rglob("*") if records not in p.parents and p != records}
    assert invoke(*cli_args(built)).exit_code == 0
    after = {p for p in built.root.rglob("*") if records not in p.parents and p != records}
    assert after == before  # the run and the script were only read


def test_a_linked_target_folder_is_refused_even_with_force(built: Built) -> None:
    elsewhere = built.root / "elsewhere"
    elsewhere.mkdir()
    built.target.parent.mkdir(parents=True)
    built.target.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(PackageError, match="is a link"):
        package(built.request(force=True))
    assert list(elsewhere.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Choosing the run
# --------------------------------------------------------------------------------------------


def test_every_seed_is_scored_by_the_same_evaluation(built: Built) -> None:
    # Seed 7's roundtrip line is its lowest, the others' sliding line: the folder must not mix.
    log = built.seed_dir(7) / "train.log"
    text = log.read_text(encoding="utf-8")
    text = text.replace("val_bpb:1.1325 eval_time:20000ms", "val_bpb:1.1205 eval_time:20000ms")
    text = text.replace("val_bpb:1.13251234", "val_bpb:1.12041234")
    log.write_text(text, encoding="utf-8")
    built.edit_run_json(7, lambda data: data["results"].update(val_bpb=1.12041234))

    result = package(built.request())
    labels = {run.score.label for run in result.plan.seeds}
    assert labels == {"final_sliding_window_exact"}
    data = json.loads((built.target / "submission.json").read_text(encoding="utf-8"))
    assert data["seed_results"]["7"]["val_bpb"] == 1.12051234
    readme = (built.target / "README.md").read_text(encoding="utf-8")
    assert "the `final_sliding_window_exact` line of its log (the sliding-window evaluation)" in (
        " ".join(readme.split())
    )
    report = verify_folder(built.target)
    assert not report.failed and report.aggregation == "mean-per-seed", report.checks


def test_the_folder_holds_the_plot_of_its_seeds(built: Built) -> None:
    pytest.importorskip("matplotlib")
    result = package(built.request())
    svg = (built.target / "train_curves.svg").read_bytes()
    assert svg.startswith(b"<?xml") and b"Train loss by step" in svg
    assert b"\0" not in svg  # text: the gate reads no binary in the folder
    readme = (built.target / "README.md").read_text(encoding="utf-8")
    assert "![Train loss by step and time, and val_bpb per seed](train_curves.svg)" in readme
    assert not any("matplotlib" in warning for warning in result.plan.warnings)
    assert not verify_folder(built.target).failed


def test_without_matplotlib_the_folder_says_there_is_no_plot(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = invoke(*cli_args(built))
    assert result.exit_code == 0, result.output
    assert not (built.target / "train_curves.svg").exists()
    assert "no train_curves.svg: matplotlib is not installed" in " ".join(result.stderr.split())
    readme = (built.target / "README.md").read_text(encoding="utf-8")
    assert "No plot: matplotlib was not installed" in readme


def test_latest_run_passes_over_a_newer_run_that_failed(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = build_run(built.root / "again", RunSpec(name="crashed")).run_dir
    failed = failed.rename(built.root / "runs" / "crashed")
    for seed_dir in failed.iterdir():
        manifest = json.loads((seed_dir / "run.json").read_text(encoding="utf-8"))
        manifest.update(stopped_by="failure", exit_status=1)
        (seed_dir / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    for path in built.run_dir.rglob("run.json"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    chosen = latest_run(built.root / "runs")
    assert chosen.path == built.run_dir and chosen.skipped == (failed,)

    monkeypatch.chdir(built.root)
    args = cli_args(built)
    index = args.index("--run")
    del args[index : index + 2]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    stderr = " ".join(result.stderr.split())
    assert "skipped runs/crashed: no seed finished with a score" in stderr
    assert "packaging the most recent run: runs/tiny" in stderr


def test_no_run_that_scored_is_an_input_error(built: Built) -> None:
    for seed_dir in built.run_dir.iterdir():
        manifest = json.loads((seed_dir / "run.json").read_text(encoding="utf-8"))
        manifest["finished_at"] = None
        (seed_dir / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(PackageError, match="no run with a seed that finished with a score"):
        latest_run(built.root / "runs")


def test_one_seed_on_the_record_track_suggests_the_non_record_track(built: Built) -> None:
    # Fewer than three seeds needs review (the gate's policy): the folder is written, with a hint.
    result = invoke(*cli_args(built, "--seeds", "42"))
    assert result.exit_code == 0, result.output
    stderr = " ".join(result.stderr.split())
    assert "seeds-count" in stderr and "--track non_record_16mb" in stderr
    result = invoke(*cli_args(built, "--seeds", "42", "--track", "non_record_16mb", "--force"))
    assert result.exit_code == 0, result.output
    assert "--track non_record_16mb" not in " ".join(result.stderr.split())


def test_latest_run_is_the_most_recently_written(tmp_path: Path) -> None:
    old = build_run(tmp_path, RunSpec(name="old"))
    new = build_run(tmp_path / "again", RunSpec(name="new"))
    runs = tmp_path / "runs"
    new.run_dir.rename(runs / "new")
    (runs / "new-node1" / "seed1").mkdir(parents=True)
    (runs / "new-node1" / "seed1" / "run.json").write_text("{}", encoding="utf-8")
    for path in (old.run_dir).rglob("run.json"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    assert latest_run(runs).path == runs / "new"
    with pytest.raises(PackageError, match="no run folder"):
        latest_run(tmp_path / "again")


def test_default_run_is_taken_from_runs(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(built.root)
    args = cli_args(built)
    index = args.index("--run")
    del args[index : index + 2]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "packaging the most recent run: runs/tiny" in result.stderr


def test_real_verify_passes_the_packaged_folder(built: Built) -> None:
    package(built.request())
    report = verify_folder(built.target)
    failed = [c for c in report.checks if c.status == "fail"]
    assert not failed, failed
    assert report.verdict == "consistent" and report.aggregation == "mean-per-seed"
    assert report.match == "full"


def test_per_seed_names_follow_the_seed_only(tmp_path: Path) -> None:
    spec = RunSpec(
        name="run1",
        seeds=[SeedSpec(1, 1.2001, 2.03, 15_000_000), SeedSpec(2, 1.2002, 2.0302, 15_000_100)],
    )
    run = build_run(tmp_path, spec)
    plan = plan_package(run.request(track="non_record_16mb"))
    readme = plan.files["README.md"].decode("utf-8")
    assert "SEED=$SEED RUN_ID=run1-seed$SEED DATA_PATH=" in readme


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads files without permission"
)
def test_a_log_without_read_permission(built: Built) -> None:
    log = built.seed_dir(7) / "train.log"
    log.chmod(0)
    try:
        result = invoke(*cli_args(built))
    finally:
        log.chmod(0o644)
    assert result.exit_code == 2
    assert "cannot be read" in result.stderr and str(log) in " ".join(result.stderr.split())
