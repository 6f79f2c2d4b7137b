"""PG203 / PG206 details the example harness does not check: confidence, evidence, the bench corpus."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from checks.examples import pg203, pg206
from pgolf_cli.audit.engine import audit_source
from pgolf_cli.audit.findings import Confidence, Finding
from pgolf_cli.audit.rule import Example
from pgolf_cli.audit.source import source_from_bytes, unpack

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _example(examples: tuple[Example, ...], title_start: str) -> Example:
    (found,) = [e for e in examples if e.title.startswith(title_start)]
    return found


def _findings(code: str, rule_id: str) -> list[Finding]:
    result = audit_source(source_from_bytes("example.py", code.encode()))
    return [f for f in result.findings if f.rule_id == rule_id]


def test_gated_mixture_added_to_a_loss_accumulator_is_high_confidence_with_the_chain() -> None:
    example = _example(pg203.INVALID, "word-model mixture")
    (finding,) = _findings(example.code, "PG203")
    assert finding.confidence == Confidence.HIGH
    lines = [e.line for e in finding.evidence]
    # validation data enters, the LUT read, the weighting, the score
    assert lines == [10, 17, 18, 19]
    assert "starts_new_word_lut" in finding.message


def test_gated_mixture_only_returned_is_medium_confidence() -> None:
    # The minified example adds `-log` of the mixture to `s`: a score by what flows into it,
    # though no name says so. Summed without the log, it is only a returned figure.
    example = _example(pg203.INVALID, "minified")
    scored = unpack(example.code)[0]
    (finding,) = _findings(scored, "PG203")
    assert finding.confidence == Confidence.HIGH
    returned = scored.replace("s+=-math.log(a*r[i,g]+(1-a)*q[i,g])", "s+=a*r[i,g]+(1-a)*q[i,g]")
    assert returned != scored
    (finding,) = _findings(returned, "PG203")
    assert finding.confidence == Confidence.MEDIUM


def test_gate_computed_by_a_helper_points_at_the_read_and_the_helper() -> None:
    example = _example(pg203.INVALID, "Hyperparameters.space_mix")
    (finding,) = _findings(example.code, "PG203")
    assert finding.line == 25
    assert 12 in [e.line for e in finding.evidence]  # the blend inside `blend()`


def test_smear_in_a_module_is_medium_confidence_and_names_the_tensor() -> None:
    example = _example(pg206.INVALID, "SmearGate")
    (finding,) = _findings(example.code, "PG206")
    assert finding.confidence == Confidence.MEDIUM
    assert finding.message.startswith("`x` is mixed with its own previous position")


def test_shift_scaled_by_a_tensor_from_the_caller_is_low_confidence() -> None:
    example = _example(pg206.INVALID, "innocent helper")
    (finding,) = _findings(example.code, "PG206")
    assert finding.confidence == Confidence.LOW
    assert "`lam`" in finding.message


def test_dormant_smear_names_its_switch() -> None:
    example = _example(pg206.INVALID, "dormant")
    (finding,) = _findings(example.code, "PG206")
    assert [s.env for s in finding.switches] == ["SMEAR_ENABLED"]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_scripts", BENCH / "gen_scripts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_scripts_byte_accounting_and_bigram_hash_are_not_reported(gen: ModuleType) -> None:
    # Realistic scripts: LUTs read at the targets for the BPB byte count, `loss * (tokens /
    # bytes)`, BigramHash over `t[..., :-1]`, input/target splits.
    source = gen.generate_script(seed=0, index=0, size_kb=96)
    result = audit_source(source_from_bytes("gen.py", source.encode()))
    assert [f for f in result.findings if f.rule_id in ("PG203", "PG206")] == []
