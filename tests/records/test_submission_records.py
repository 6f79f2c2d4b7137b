"""The normalizer on every submission json of the challenge's merged records (records.md §3)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.submission import TRACKS, Normalized, find_submission, load_submission

pytestmark = pytest.mark.shared

RECORDS = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "parameter-golf-records-full"
)

# Folders whose json uses only the names and formats of the strict schema (read by hand from
# the files): every other json has at least one legacy key or format to translate.
CANONICAL = {
    "2026-03-18_FP16Embed_WD3600",
    "2026-03-19_Seq2048_FP16Emb_TunedLR",
    "2026-03-19_WarmdownQuantization",
    "2026-03-23_LeakyReLU_LegalTTT_ParallelMuon",
    "2026-03-29_Loader_FullGPTQ_XSA11_BigramHash2816",
    "2026-04-01_Vocab4096_MLPMult4_WD085",
    "2026-04-05_SP8192_GPTQ-Embeddings_SDClip_Loop45x2",
    "2026-04-08_SP8192_ParallelResid_ScoreFirstTTT",
    "2026-04-09_SP8192_3LayerRecur_ParResid_QK525_LegalTTT",
    "2026-04-10_VarLenAttn",
    "2026-04-14_MultiPhaseGlobalSGD_PhasedTTT",
    "2026-04-18_PR1626_CaseOps_Taper",
    "2026-04-19_SP8192_CaseOps_GatedAttn_QuantGate_Loop45_PhasedTTT",
    "2026-04-27_SmearGateBOSFix_PR1787Base_LQERAsym_PhasedTTT",
    "2026-03-21_DepthRecurrence_MixedPrecisionQuant",
    "2026-04-04_GDN_Hybrid_LongContext",
    "2026-04-15_Mamba3Hybrid_SP8192_GPTQ_TTT",
    "2026-04-30_Random_Linear_Adapter",
}


@pytest.fixture(scope="module")
def shared_records() -> Path:
    if not RECORDS.is_dir():
        pytest.skip(f"the shared record data is not at {RECORDS}")
    return RECORDS


@pytest.fixture(scope="module")
def normalized(shared_records: Path) -> dict[str, Normalized]:
    """Every record folder's normalized json, by folder name."""
    records: dict[str, Normalized] = {}
    for track in sorted(shared_records.iterdir()):
        for folder in sorted(path for path in track.iterdir() if path.is_dir()):
            try:
                path = find_submission(folder)
            except PgolfInputError:
                continue
            records[folder.name] = load_submission(path)
    return records


def mapped(record: Normalized) -> set[tuple[str, str]]:
    return {(entry.key, entry.to) for entry in record.mapped}


def test_every_json_becomes_one_record(
    shared_records: Path, normalized: dict[str, Normalized]
) -> None:
    files = [
        p
        for p in shared_records.rglob("submission*.json")
        if p.parent.parent.parent == shared_records
    ]
    assert len(files) == 58
    assert len(normalized) == 58
    folders = [f for track in shared_records.iterdir() for f in track.iterdir() if f.is_dir()]
    assert len(folders) == 60
    assert {f.name for f in folders} - set(normalized) == {
        "2026-03-19_int6_STE QAT_ MLP_bigram _U_Net",
        "2026-04-05_118M_XNOR-Net_FP8_1024D_10L",
    }


def test_only_the_empty_identity_strings_are_uninterpretable(
    normalized: dict[str, Normalized],
) -> None:
    problems = {(name, issue.key) for name, record in normalized.items() for issue in record.issues}
    assert problems == {
        ("2026-03-19_SwiGLU_WarmdownFix_QuarterBatch_1x5090", "author"),
        ("2026-03-19_SwiGLU_WarmdownFix_QuarterBatch_1x5090", "github_id"),
    }


def test_translations_are_reported_exactly_where_a_legacy_key_is(
    normalized: dict[str, Normalized],
) -> None:
    untranslated = {name for name, record in normalized.items() if not record.mapped}
    assert untranslated == CANONICAL


def test_every_record_has_a_score_and_a_date(normalized: dict[str, Normalized]) -> None:
    for name, record in normalized.items():
        assert record.val_bpb is not None, name
        assert record.val_bpb_text is not None
        assert 4 <= (record.val_bpb_decimals or 0) <= 8, name
        assert record.date is not None or name == "2026-03-19_smeargate_orthoinit_muonwd"


def test_tracks_agree_with_the_folder(
    shared_records: Path, normalized: dict[str, Normalized]
) -> None:
    seen = 0
    for track in shared_records.iterdir():
        folder_track = track.name.removeprefix("track_")
        assert folder_track in TRACKS
        for folder in track.iterdir():
            record = normalized.get(folder.name)
            if record is not None and record.track is not None:
                seen += 1
                assert record.track == folder_track, folder.name
    assert seen == 27


def test_mean_val_bpb(normalized: dict[str, Normalized]) -> None:
    record = normalized["2026-03-19_SlidingWindow_FP16Emb_10L_MuonWD_OvertoneInit"]
    assert record.val_bpb == 1.17475315
    assert {("mean_val_bpb", "val_bpb"), ("code_bytes", "bytes_code")} <= mapped(record)
    assert ("artifact_bytes", "bytes_total") in mapped(record)
    assert record.bytes_total == 15374243
    assert [seed.val_bpb for seed in record.seeds] == [1.17558517, 1.17423973, 1.17443456]


@pytest.mark.parametrize(
    ("folder", "first"),
    [
        ("2026-04-06_SP8192_QK5_LegalTTT_1.0828", (0, 1.08209788, 15991018, 588.004, 293.43)),
        ("2026-04-09_A2_Muon097_3Seed", (0, 1.07928348, 15993346, 588.052, 341.841)),
    ],
)
def test_seeds_given_as_an_object(
    normalized: dict[str, Normalized],
    folder: str,
    first: tuple[int, float, int, float, float],
) -> None:
    record = normalized[folder]
    assert ("seeds", "seed_results") in mapped(record)
    assert ("mean_bpb", "val_bpb") in mapped(record)
    assert record.seed_numbers == (0, 42, 1234)
    seed = record.seeds[0]
    assert (
        seed.seed,
        seed.val_bpb,
        seed.artifact_bytes,
        seed.train_time_s,
        seed.eval_time_s,
    ) == pytest.approx(first)
    assert record.compliance["train_under_600s"] is True


def test_the_mislabelled_val_loss_is_the_bpb(normalized: dict[str, Normalized]) -> None:
    record = normalized["2026-03-20_10L_Int5MLP_MuonWD04_SWA50"]
    assert (record.val_bpb, record.val_loss, record.val_bpb_text) == (1.14276, None, "1.14276")
    assert ("val_loss", "val_bpb") in mapped(record)
    # No other record trips the rule: each has a bpb key.
    relabelled = [name for name, r in normalized.items() if ("val_loss", "val_bpb") in mapped(r)]
    assert relabelled == ["2026-03-20_10L_Int5MLP_MuonWD04_SWA50"]


def test_sliding_val_bpb_is_kept_beside_val_bpb(normalized: dict[str, Normalized]) -> None:
    record = normalized["2026-04-30_Random_Linear_Adapter"]
    assert record.val_bpb == 1.2184
    assert record.extras["sliding_val_bpb"] == 1.1971


def test_dates_with_a_time_keep_their_day(normalized: dict[str, Normalized]) -> None:
    assert normalized["2026-03-17_NaiveBaseline"].date == dt.date(2026, 3, 18)
    assert ("date", "date") in mapped(normalized["2026-03-17_NaiveBaseline"])
    timestamps = [name for name, r in normalized.items() if ("date", "date") in mapped(r)]
    assert len(timestamps) == 21


def test_track_spellings(normalized: dict[str, Normalized]) -> None:
    spelled = {name for name, r in normalized.items() if ("track", "track") in mapped(r)}
    assert spelled == {
        "2026-03-18_Quasi10Bfrom50B_SP1024_9x512_KV4_4h_pgut3",
        "2026-03-19_SwiGLU_WarmdownFix_QuarterBatch_1x5090",
        "2026-03-23_DGAttention_DavidGao",
        "2026-03-29_HNet_ByteVsSubword_Study",
        "2026-03-30_ByteJEPA",
    }


def test_json_precision_is_kept(normalized: dict[str, Normalized]) -> None:
    record = normalized["2026-03-19_10L_MixedPrecision"]
    assert (record.val_bpb_text, record.val_bpb_decimals) == ("1.21474500", 8)
    record = normalized["2026-04-09_SP8192_3LayerRecur_ParResid_QK525_LegalTTT"]
    assert (record.val_bpb_text, record.val_bpb_decimals) == ("1.08100", 5)
    assert [seed.val_bpb_text for seed in record.seeds] == ["1.08079", "1.08103", "1.08118"]


def test_per_seed_lists(normalized: dict[str, Normalized]) -> None:
    record = normalized["2026-04-03_MuonEqR_DepthRecurrence_WD090_AllInt6"]
    assert [(s.seed, s.val_bpb, s.eval_time_s) for s in record.seeds] == [
        (42, 1.09057, 83.0),
        (0, 1.09084, 83.0),
        (1337, 1.0923, 83.0),
    ]


def test_comparison_fields(normalized: dict[str, Normalized]) -> None:
    comparison = normalized["2026-03-25_ValCalib_GPTQ_XSA_BigramHash3072"].comparison
    assert comparison is not None
    assert (comparison.baseline, comparison.delta_bpb, comparison.delta_nats) == (
        "PR #549",
        -0.00464458,
        -0.00784215,
    )
    assert (comparison.test, comparison.t, comparison.df) == ("welch", -11.8339, 3.3063)
    comparison = normalized["2026-03-19_MLP3x_QAT_Int6_SlidingWindow"].comparison
    assert comparison is not None
    assert (comparison.p, comparison.p_is_upper_bound) == (0.001, True)


def test_other_file_names(normalized: dict[str, Normalized]) -> None:
    renamed = {
        key
        for record in normalized.values()
        for key, to in mapped(record)
        if to == "submission.json"
    }
    assert renamed == {"submission_ternary.json", "submission_binary.json", "submission_jepa.json"}


def test_multi_seed_form(normalized: dict[str, Normalized]) -> None:
    multi = {name for name, record in normalized.items() if record.form == "multi_seed"}
    # records.md §3: 26 files have `seeds`, 23 `seed_results`; #11 has only the latter.
    assert len(multi) == 27
    assert "2026-03-19_SlidingWindow_FP16Emb_10L_MuonWD_OvertoneInit" in multi
