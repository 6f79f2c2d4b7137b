"""The log parser against every train log of the merged records (``../shared``; skipped without).

The expected values are the ones the records notes report (records.md §2, §5): which logs have
a score, the chosen labels and families, the per-seed scores, seeds, sizes and time ranges.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest

from pgolf_cli.records.logs import ParsedLog, read_log

pytestmark = pytest.mark.shared

TEN_MIN = "track_10min_16mb/"
NON_RECORD = "track_non_record_16mb/"
CAP_BYTES = 16_000_000


@pytest.fixture(scope="module")
def logs(records_data: Path) -> dict[str, ParsedLog]:
    """Every train log, parsed, by path relative to the records folder."""
    return {
        path.relative_to(records_data).as_posix(): read_log(path)
        for path in sorted(records_data.rglob("*"))
        if path.is_file() and path.suffix in {".log", ".txt"} and path.name != "requirements.txt"
    }


def _folder(logs: Mapping[str, ParsedLog], folder: str) -> dict[str, ParsedLog]:
    prefix = folder if folder.endswith("/") else folder + "/"
    found = {path[len(prefix) :]: log for path, log in logs.items() if path.startswith(prefix)}
    assert found, f"no logs under {folder}"
    return found


def _bpb(log: ParsedLog) -> float:
    assert log.score is not None
    return log.score.val_bpb


def test_every_log_with_a_score_line_is_scored(logs: dict[str, ParsedLog]) -> None:
    assert len(logs) == 165
    unscored = sorted(path for path, log in logs.items() if log.score is None)
    assert unscored == [
        TEN_MIN + "2026-04-23_SP8192_CaseOps_SparseGate_QuantGate_Loop45_PhasedTTT_PolarNS_MinLR"
        "_FusedCE/ttt_pr1767/summary.log",
        NON_RECORD + "2026-03-23_DGAttention_DavidGao/train.log",
        NON_RECORD + "2026-04-05_118M_XNOR-Net_FP8_1024D_10L/log_eggroll_3-last-layers.txt",
        NON_RECORD + "2026-04-05_118M_XNOR-Net_FP8_1024D_10L/log_eggroll_all-layers-perturbed.txt",
    ]


def test_chosen_families_and_labels(logs: dict[str, ParsedLog]) -> None:
    scores = [log.score for log in logs.values() if log.score is not None]
    assert len(scores) == 161
    assert Counter(score.family for score in scores) == {"sliding": 63, "ttt": 58, "roundtrip": 40}
    labels = Counter(score.label for score in scores)
    named = {
        "final_int8_zlib_roundtrip_exact": 37,
        "quantized_ttt_phased": 33,
        "final_int6_sliding_window_exact": 22,
        "legal_ttt_exact": 12,
        "final_sliding": 12,
        "final_int6_sliding_window": 9,
        "quantized_sliding_window": 9,
        "quantized_ttt_lora": 6,
    }
    assert {label: labels[label] for label in named} == named
    assert sum(labels.values()) - sum(named.values()) == 21
    assert all(score.family != "prequant" for score in scores)


def test_the_score_line_is_the_one_quoted_by_its_line_number(
    records_data: Path, logs: dict[str, ParsedLog]
) -> None:
    for path, log in logs.items():
        score = log.score
        if score is None:
            continue
        lines = (records_data / path).read_text(encoding="utf-8").split("\n")
        assert lines[score.line - 1].endswith(score.text), path


def test_a_worse_ttt_pass_does_not_replace_the_sliding_score(logs: dict[str, ParsedLog]) -> None:
    log = logs[TEN_MIN + "2026-04-04_SP4096_DepthRecurrence_ParallelResid_MuonEqR/train_seed42.log"]
    score = log.score
    assert score is not None
    assert (score.family, score.label, score.val_bpb, score.val_loss) == (
        "sliding",
        "final_int6_sliding_window",
        1.08938974,
        2.50671564,
    )
    assert score.eval_time_ms == 76_195
    ttt = [line.val_bpb for line in log.scores if line.family == "ttt"]
    assert ttt == [1.336032, 1.336032]


def test_single_log_scores(logs: dict[str, ParsedLog]) -> None:
    no_json = logs[TEN_MIN + "2026-03-19_int6_STE QAT_ MLP_bigram _U_Net/train.log"]
    assert _bpb(no_json) == 1.15977898
    assert no_json.total_bytes == 16_186_500
    baseline = logs[TEN_MIN + "2026-03-17_NaiveBaseline/train.log"]
    assert (_bpb(baseline), baseline.total_bytes, baseline.steps) == (1.2243657, 15_863_489, 13780)
    other_run = logs[TEN_MIN + "2026-03-19_MLP3x_QAT_Int6_SlidingWindow/train.log"]
    assert (_bpb(other_run), other_run.steps) == (1.16660881, 12_329)
    legendre = logs[NON_RECORD + "2026-03-31_LegendreGPT/train.log"]
    assert _bpb(legendre) == 1.2353
    xnor = logs[
        NON_RECORD + "2026-04-05_118M_XNOR-Net_FP8_1024D_10L/log_100k_steps_u-net-skips.txt"
    ]
    assert (_bpb(xnor), xnor.score and xnor.score.label) == (1.5392, "final_sliding")


def test_per_seed_scores_used_in_a_welch_test(logs: dict[str, ParsedLog]) -> None:
    legal_ttt = _folder(logs, TEN_MIN + "2026-03-23_LeakyReLU_LegalTTT_ParallelMuon")
    assert {log.seed: _bpb(log) for log in legal_ttt.values()} == {
        1337: 1.11922988,
        42: 1.12002032,
        2025: 1.11888882,
    }
    calibrated = _folder(logs, TEN_MIN + "2026-03-25_ValCalib_GPTQ_XSA_BigramHash3072")
    assert {log.seed: _bpb(log) for log in calibrated.values()} == {
        314: 1.11508120,
        42: 1.11437394,
        999: 1.11475014,
    }


def test_seed_means_the_notes_recompute(logs: dict[str, ParsedLog]) -> None:
    sdclip = _folder(logs, TEN_MIN + "2026-04-05_SP8192_GPTQ-Embeddings_SDClip_Loop45x2")
    assert round(statistics.fmean(_bpb(log) for log in sdclip.values()), 7) == 1.0856248
    lqer = _folder(logs, TEN_MIN + "2026-04-27_SP8192_LQER_SparseGate_BOSSmearFix_9HpStack_1.0611")
    assert round(statistics.fmean(_bpb(log) for log in lqer.values()), 8) == 1.06107587
    polar = _folder(
        logs,
        TEN_MIN
        + "2026-04-23_SP8192_CaseOps_SparseGate_QuantGate_Loop45_PhasedTTT_PolarNS_MinLR_FusedCE",
    )
    training = [log for name, log in polar.items() if name.startswith("train_seed")]
    assert len(training) == 3
    assert round(statistics.fmean(_bpb(log) for log in training), 5) == 1.06378


def test_seed_disagreements(logs: dict[str, ParsedLog]) -> None:
    flagged = {
        path: (log.seed_in_log, log.seed_in_file_name)
        for path, log in logs.items()
        if log.seed_disagrees
    }
    assert flagged == {
        TEN_MIN + "2026-04-18_PR1626_CaseOps_Taper/train_seed0.log": (1337, 0),
        NON_RECORD + "2026-04-30_Random_Linear_Adapter/train_seed_2026.txt": (1337, 2026),
        NON_RECORD + "2026-04-30_Random_Linear_Adapter/train_seed_42.txt": (1337, 42),
    }
    adapter = _folder(logs, NON_RECORD + "2026-04-30_Random_Linear_Adapter")
    assert {log.seed for log in adapter.values()} == {1337}
    gdn = _folder(logs, NON_RECORD + "2026-04-04_GDN_Hybrid_LongContext/logs_experiment")
    # The json's seed 1341 is not the seed the log it reports printed.
    assert (
        gdn["hybrid_gdn_1xh100_600s_seq32768.txt"].seed,
        _bpb(gdn["hybrid_gdn_1xh100_600s_seq32768.txt"]),
    ) == (1342, 1.47025754)
    assert gdn["hybrid_gdn_1xh100_600s_seq16384_seed1341.txt"].seed_in_file_name == 1341


def test_seeds_come_from_the_log_or_else_the_file_name(logs: dict[str, ParsedLog]) -> None:
    stamped = _folder(logs, TEN_MIN + "2026-04-13_VarLenAttn_PhasingTTT2000/logs")
    assert {name: log.seed for name, log in stamped.items()} == {
        "train0.txt": 0,
        "train1.txt": 1,
        "train2.txt": 2,
    }
    unseeded = [path for path, log in logs.items() if log.seed is None]
    assert unseeded == [
        TEN_MIN + "2026-04-23_SP8192_CaseOps_SparseGate_QuantGate_Loop45_PhasedTTT_PolarNS_MinLR"
        "_FusedCE/ttt_pr1767/summary.log",
        NON_RECORD + "2026-03-31_LegendreGPT/train.log",
    ]


def test_timestamped_logs(logs: dict[str, ParsedLog]) -> None:
    log = logs[TEN_MIN + "2026-04-13_VarLenAttn_PhasingTTT2000/logs/train0.txt"]
    assert len(log.hyperparameters) == 113
    assert (log.steps, log.train_time_ms, log.step_avg_derived) == (4832, 587_091, True)
    assert (log.code_bytes, log.code_bytes_uncompressed) == (28_599, 139_831)
    assert (log.total_bytes, log.eval_time_ms) == (15_996_697, 500_100)
    score = log.score
    assert score is not None
    assert (score.label, score.val_bpb, score.eval_time_ms, score.line) == (
        "quantized_ttt_phased",
        1.07216564,
        500_104,
        493,
    )


def test_multi_run_logs_are_read_from_the_last_run(logs: dict[str, ParsedLog]) -> None:
    mixed = logs[TEN_MIN + "2026-03-19_MixedQuant_Int6Int8_SlidingWindow/train.log"]
    assert mixed.run_start_line == 4345
    assert (_bpb(mixed), mixed.total_bytes, mixed.steps) == (1.16301431, 15_353_490, 12_395)
    gdn = logs[
        NON_RECORD
        + "2026-04-04_GDN_Hybrid_LongContext/logs_experiment/baseline_1xh100_600s_seq8192.txt"
    ]
    assert (gdn.run_start_line, _bpb(gdn), gdn.total_bytes) == (2473, 1.3507326, 14_868_442)


def test_artifact_sizes(logs: dict[str, ParsedLog]) -> None:
    ten_min = {path: log for path, log in logs.items() if path.startswith(TEN_MIN)}
    totals = [log.total_bytes for log in ten_min.values() if log.total_bytes is not None]
    within = [total for total in totals if total <= CAP_BYTES]
    assert (min(within), max(within)) == (15_350_371, 15_999_533)
    over = {
        path.split("/")[1]: log.total_bytes
        for path, log in ten_min.items()
        if log.total_bytes is not None and log.total_bytes > CAP_BYTES
    }
    assert set(over) == {
        "2026-03-19_int6_STE QAT_ MLP_bigram _U_Net",
        "2026-04-06_SP8192_HessianSDClip_ProgressiveRecurrence",
    }
    hessian = _folder(logs, TEN_MIN + "2026-04-06_SP8192_HessianSDClip_ProgressiveRecurrence")
    sizes = [log.total_bytes for log in hessian.values() if log.total_bytes is not None]
    assert (min(sizes), max(sizes), len(sizes)) == (16_054_963, 16_059_704, 4)
    dg = logs[NON_RECORD + "2026-03-23_DGAttention_DavidGao/train.log"]
    # The last total in the run is the unlabelled one after the rdquant+zstd model.
    assert (dg.total_bytes, dg.total_tag, dg.model_tag) == (16_638_468, None, "rdquant+zstd")
    assert dg.last_val_bpb == 1.1898


def test_code_sizes_that_differ_between_seeds(logs: dict[str, ParsedLog]) -> None:
    varlen = _folder(logs, TEN_MIN + "2026-04-10_VarLenAttn/logs")
    assert sorted(log.code_bytes_uncompressed or 0 for log in varlen.values()) == [
        116_636,
        116_694,
        121_884,
    ]
    caseops = _folder(logs, TEN_MIN + "2026-04-18_PR1626_CaseOps_Taper")
    assert {log.code_bytes for log in caseops.values()} == {28_320, 30_985}


def test_train_and_eval_time_ranges(logs: dict[str, ParsedLog]) -> None:
    ten_min = {path: log for path, log in logs.items() if path.startswith(TEN_MIN)}
    long_cap = TEN_MIN + "2026-03-17_LoRA_TTT/train_v1.txt"
    assert ten_min[long_cap].train_time_ms == 2_400_107
    times = [
        log.train_time_ms
        for path, log in ten_min.items()
        if log.train_time_ms is not None and path != long_cap
    ]
    assert (min(times), max(times)) == (586_065, 600_137)
    stopped = [log for log in ten_min.values() if log.steps is not None]
    assert all(log.stop_reason == "wallclock_cap" for log in stopped)
    evals = [
        log.score.eval_time_ms
        for log in ten_min.values()
        if log.score is not None and log.score.eval_time_ms is not None
    ]
    assert (min(evals), max(evals)) == (1284, 525_719)


def test_copies_share_a_hash(logs: dict[str, ParsedLog]) -> None:
    by_hash: dict[str, list[str]] = {}
    for path, log in logs.items():
        assert log.sha256 is not None
        by_hash.setdefault(log.sha256, []).append(path)
    copies = sorted(paths for paths in by_hash.values() if len(paths) > 1)
    assert [[path.split("/", 1)[1] for path in paths] for paths in copies] == [
        [
            "2026-03-20_11L_XSA4_EMA_Int6_MLP3x_WD04_1.1271/train.log",
            "2026-03-20_11L_XSA4_EMA_Int6_MLP3x_WD04_1.1271/train_seed1337.log",
        ],
        [
            "2026-03-21_11L_XSA4_EMA_PartialRoPE_LateQAT_1.1248/train.log",
            "2026-03-21_11L_XSA4_EMA_PartialRoPE_LateQAT_1.1248/train_seed2025.log",
        ],
        [
            "2026-03-22_11L_EMA_GPTQ-lite_warmdown3500_QAT015_1.1233/train.log",
            "2026-03-22_11L_EMA_GPTQ-lite_warmdown3500_QAT015_1.1233/train_seed1337.log",
        ],
        [
            "2026-04-06_SP8192_HessianSDClip_ProgressiveRecurrence/train.log",
            "2026-04-06_SP8192_HessianSDClip_ProgressiveRecurrence/train_seed1337.log",
        ],
        [
            "2026-04-27_SmearGateBOSFix_PR1787Base_LQERAsym_PhasedTTT/train_seed42.log",
            "2026-04-29_SmearGateBOSFix_3Seed_1.06141/train_seed42_pr1851_original.log",
        ],
    ]


def test_no_log_has_a_nonfinite_loss(logs: dict[str, ParsedLog]) -> None:
    assert [path for path, log in logs.items() if log.has_nonfinite_loss] == []
