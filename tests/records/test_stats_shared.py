"""``pgolf stats`` on the merged record folders (``../shared``; skipped without it).

The figures are the ones records.md §7 reports for records that compared themselves with the
record before them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pgolf_cli.records.stats import collect, significance

pytestmark = pytest.mark.shared

TEN_MIN = "track_10min_16mb"
# records.md §7, #24: its seeds against PR #549's (the LeakyReLU record), Welch, unshifted.
RECORD_24 = "2026-03-25_ValCalib_GPTQ_XSA_BigramHash3072"
PR_549 = "2026-03-23_LeakyReLU_LegalTTT_ParallelMuon"
# #44 against the 1.0810 record it names, converted with its own CaseOps factor.
RECORD_44 = "2026-04-27_SP8192_LQER_SparseGate_BOSSmearFix_9HpStack_1.0611"
BASE_44 = "2026-04-09_SP8192_3LayerRecur_ParResid_QK525_LegalTTT"


def folder(records_data: Path, name: str) -> str:
    return str(records_data / TEN_MIN / name)


def test_record_24_from_its_logs(records_data: Path) -> None:
    candidate = collect([folder(records_data, RECORD_24)], "candidate")
    baseline = collect([folder(records_data, PR_549)], "baseline")
    assert sorted(s.seed for s in candidate.scores if s.seed is not None) == [42, 314, 999]
    factor = candidate.factor()
    assert factor is not None
    assert factor.tokenizer == "sp1024"
    result = significance(candidate.sample, baseline.sample, nats_per_bpb=factor)
    assert round(result.unshifted.test.t, 4) == -11.8339
    assert round(result.unshifted.test.df, 4) == 3.3063
    assert round(result.shifted.test.t, 2) == -4.29
    # records.md: -0.00464458 bpb x 1.68845 = -0.00784215 nats.
    assert round(result.delta_bpb, 8) == -0.00464458
    assert result.delta_nats_per_token == pytest.approx(-0.00784215, abs=2e-8)


def test_record_44_uses_its_own_caseops_factor(records_data: Path) -> None:
    candidate = collect([folder(records_data, RECORD_44)], "candidate")
    baseline = collect([folder(records_data, BASE_44)], "baseline")
    factor = candidate.factor()
    assert factor is not None
    assert round(factor.nats_per_bpb, 5) == 2.18837
    assert factor.tokenizer == "sp8192-caseops"
    own_baseline = baseline.factor()
    assert own_baseline is not None
    assert own_baseline.tokenizer == "sp8192"
    result = significance(candidate.sample, baseline.sample, nats_per_bpb=factor)
    # #44 reports -0.01992 bpb and -0.04359 nats against 1.0810.
    assert round(result.delta_bpb, 5) == -0.01993
    assert round(result.candidate.mean, 8) == 1.06107587
    assert result.significant
