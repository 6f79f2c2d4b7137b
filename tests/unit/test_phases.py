"""The run-order analysis behind PG402/PG403/PG303, and what their example tests do not pin
down: the facts it reads (clock labels, loop-exit tests, training-data uses), where the
reference template's training ends, confidence when the analysis cannot decide, and one
finding per reachability."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from checks.examples import pg303
from pgolf_cli.audit.analyses.embedded import _ID_DTYPE
from pgolf_cli.audit.analyses.phases import Phases
from pgolf_cli.audit.engine import audit_source
from pgolf_cli.audit.facts import CLOCK, Facts
from pgolf_cli.audit.findings import Confidence, Finding, Reachability
from pgolf_cli.audit.positions import statement_lines
from pgolf_cli.audit.source import source_from_bytes

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "train_gpt.py"


def _facts(code: str) -> Facts:
    module = cst.parse_module(code)
    return Facts(module, statement_lines(module, code), code)


def _findings(code: str, rule_id: str) -> list[Finding]:
    result = audit_source(source_from_bytes("example.py", code.encode()))
    assert result.error is None, result.error
    return [f for f in result.findings if f.rule_id == rule_id]


def _line(code: str, marker: str) -> int:
    return next(i for i, text in enumerate(code.splitlines(), 1) if marker in text)


_TRAINER = """\
import os
import time

import numpy as np
import torch

SWITCH = bool(int(os.environ.get("SWITCH", "0")))


def load(path):
    return torch.from_numpy(np.fromfile(path, dtype="<u2", offset=1024).astype(np.int64))


def evaluate(model, val_tokens):
    loss_sum = 0.0
    with torch.no_grad():
        for i in range(0, val_tokens.numel() - 9, 8):
            loss_sum += model(val_tokens[i : i + 8], val_tokens[i + 1 : i + 9]).item()
    return loss_sum


def build(tokens):
    return torch.bincount(tokens, minlength=1024).float()


def main():
    train_tokens = load("./data/fineweb_train_000000.bin")
    val_tokens = load("./data/fineweb_val_000000.bin")
    model = torch.nn.Bilinear(8, 8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    t0 = time.perf_counter()
    for step in range(1000):
        elapsed = time.perf_counter() - t0
        if elapsed > 600:
            break
        if step % 100 == 0:
            print(f"step {step} of {train_tokens.numel()} tokens")
        batch = train_tokens[step * 8 : step * 8 + 9]
        model(batch[:-1], batch[1:]).backward()
        opt.step()
{after}
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""


def _trainer(after: str) -> str:
    return _TRAINER.replace("{after}", "\n".join("    " + line for line in after.splitlines()))


def test_clock_readings_label_the_loop_exit_test() -> None:
    code = _trainer('torch.save(model.state_dict(), "m.pt")')
    facts = _facts(code)
    tests = {c.where.line: c for c in facts.functions["main"].conditions}
    stop = tests[_line(code, "if elapsed > 600:")]
    assert CLOCK in stop.labels and stop.stops
    logging = tests.get(_line(code, "if step % 100 == 0:"))
    assert logging is None or CLOCK not in logging.labels  # a step count is not a clock reading


def test_training_data_uses_skip_sizes_paths_and_messages() -> None:
    code = _trainer('torch.save(model.state_dict(), "m.pt")')
    facts = _facts(code)
    lines = {u.where.line for u in facts.functions["main"].train_uses}
    assert _line(code, 'print(f"step {step} of') not in lines
    assert _line(code, "batch = train_tokens[") in lines
    assert _line(code, "train_tokens = load(") in lines  # the shard path reaches a loader


def test_binary_open_writes_are_external_calls_with_labels() -> None:
    code = _trainer('with open("m.ptz", "wb") as f:\n    f.write(bytes(val_tokens[:4]))')
    facts = _facts(code)
    names = {e.name: e for e in facts.functions["main"].externals}
    assert "builtins.open" in names
    assert "VAL" in names["builtins.open().write"].labels


def test_template_training_ends_at_the_capped_loop_and_the_artifact_write() -> None:
    text = TEMPLATE.read_text()
    ph = _facts(text).analysis(Phases)
    assert ph.main is not None and ph.artifact is not None
    assert ph.main.frame.fn.name == "train"
    assert ph.main.line == _line(text, "    while True:")
    assert [r.frame.fn.name for r in ph.final_regions()] == ["train"]  # warm-up is followed
    assert ph.artifact.line == _line(text, "artifact.write_bytes(blob)")
    assert ph.eval_start == ph.artifact.index
    effective, dormant = ph.clock_stops(ph.main)
    assert effective and not dormant
    _, zero = ph.reserve(effective)
    assert zero  # RESERVE_SECONDS defaults to 0 in the template


def test_a_read_of_data_that_also_feeds_the_artifact_is_low_confidence() -> None:
    code = _trainer(
        'torch.save({"m": model.state_dict(), "t": build(train_tokens)}, "m.pt")\n'
        "model.bias.data += train_tokens[:64].float().mean()"
    )
    (finding,) = _findings(code, "PG402")
    assert finding.line == _line(code, "model.bias.data += train_tokens[:64]")
    assert finding.confidence == Confidence.LOW


def test_a_read_of_data_the_artifact_does_not_use_is_high_confidence() -> None:
    code = _trainer(
        'torch.save(model.state_dict(), "m.pt")\n'
        "model.bias.data += train_tokens[:64].float().mean()"
    )
    (finding,) = _findings(code, "PG402")
    assert finding.confidence == Confidence.HIGH


def test_one_pg402_finding_per_reachability() -> None:
    code = _trainer(
        'torch.save(model.state_dict(), "m.pt")\n'
        "model.bias.data += train_tokens[:64].float().mean()\n"
        "model.bias.data -= train_tokens[64:128].float().mean()\n"
        "if SWITCH:\n"
        "    model.bias.data *= train_tokens[:8].float().std()"
    )
    found = _findings(code, "PG402")
    assert [(f.line, f.reachability) for f in found] == [
        (_line(code, "model.bias.data += train_tokens"), Reachability.DEFAULT_ON),
        (_line(code, "model.bias.data *= train_tokens"), Reachability.OFF_BY_DEFAULT),
    ]


def test_training_data_before_the_artifact_write_is_pg403_not_pg402() -> None:
    code = _trainer(
        "table = build(train_tokens[-4096:])\n"
        'torch.save({"m": model.state_dict(), "t": table}, "m.pt")'
    )
    assert _findings(code, "PG402") == []
    (finding,) = _findings(code, "PG403")
    assert finding.line == _line(code, "table = build(train_tokens[-4096:])")
    assert "no reserve" in finding.message


def test_a_dormant_clock_test_is_named_in_the_pg403_message() -> None:
    code = _trainer('torch.save(model.state_dict(), "m.pt")').replace(
        "if elapsed > 600:", "if SWITCH and elapsed > 600:"
    )
    (finding,) = _findings(code, "PG403")
    assert finding.line == _line(code, "for step in range(1000):")
    assert "off with the default settings" in finding.message


def test_embedded_constants_are_medium_confidence_and_val_writes_high() -> None:
    confidences = {}
    for example in pg303.INVALID:
        (finding,) = _findings(example.code, "PG303")
        confidences[example.title] = finding.confidence
    constant = {t: c for t, c in confidences.items() if "constant" in t}
    assert constant and set(constant.values()) == {Confidence.MEDIUM}
    assert {c for t, c in confidences.items() if t not in constant} == {Confidence.HIGH}


@pytest.mark.parametrize(
    ("dtype", "ids"),
    [
        ("np.uint16", True),
        ("torch.int32", True),
        ('"<u2"', True),
        ("int", True),
        ("torch.long", True),
        ("np.uint8", False),
        ("torch.int8", False),
        ("np.bool_", False),
        ("torch.float16", False),
        ("np.bfloat16", False),
    ],
)
def test_integer_id_dtypes(dtype: str, ids: bool) -> None:
    assert bool(_ID_DTYPE.search(dtype)) is ids


def test_a_read_inside_an_eval_function_before_the_artifact_write_counts() -> None:
    # A diagnostic evaluation before quantization that quietly reads a training shard: its
    # read precedes the artifact write, but it runs inside a scoring function after training.
    code = _trainer(
        'print("pre-quant val_bpb", evaluate_cached(model, val_tokens))\n'
        'torch.save(model.state_dict(), "m.pt")'
    ).replace(
        "def build(tokens):",
        "def evaluate_cached(model, val_tokens):\n"
        '    prior = load("./data/fineweb_train_000007.bin").float().mean()\n'
        "    loss_sum = 0.0\n"
        "    with torch.no_grad():\n"
        "        loss_sum += model(val_tokens[:8], val_tokens[1:9]).item() - prior.item()\n"
        "    return loss_sum\n\n\n"
        "def build(tokens):",
    )
    (finding,) = _findings(code, "PG402")
    assert finding.line == _line(code, "prior = load(")
    assert "inside an evaluation function" in finding.message
    assert _findings(code, "PG403") == []  # not post-training work: it is evaluation


_BUFFERED = """\
import io
import lzma

import torch


def write(path, blob):
    with open(path, "wb") as f:
        f.write(blob)


def serialize(model):
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
{after}


serialize(torch.nn.Linear(2, 2))
"""


@pytest.mark.parametrize(
    ("after", "is_write"),
    [
        ('    print("size", len(buf.getvalue()), buf.tell())', False),
        (
            '    size = len(lzma.compress(buf.getvalue()))\n    print("over", size > 16_000_000)',
            False,
        ),
        ('    blob = lzma.compress(buf.getvalue())\n    open("m.ptz", "wb").write(blob)', True),
        (
            '    raw = buf.getvalue()\n    with open("m.ptz", "wb") as f:\n        f.write(raw)',
            True,
        ),
        ('    write("m.ptz", lzma.compress(buf.getvalue()))', True),
        ("    return buf.getvalue()", True),
    ],
    ids=[
        "measured",
        "compressed-and-measured",
        "compressed-and-written",
        "with-open",
        "own",
        "return",
    ],
)
def test_a_save_into_a_buffer_is_a_write_only_when_its_bytes_reach_a_file(
    after: str, is_write: bool
) -> None:
    code = _BUFFERED.format(after=after)
    saves = [i for i in _facts(code).analysis(Phases).items if i.kind == "save"]
    assert any(i.line == _line(code, "torch.save(") for i in saves) is is_write


def test_a_save_to_a_path_or_an_unknown_buffer_is_a_write() -> None:
    code = _BUFFERED.format(after="    torch.save(model, PATH)\n    torch.save(model, self_buf)")
    saves = {i.line for i in _facts(code).analysis(Phases).items if i.kind == "save"}
    assert {_line(code, "torch.save(model, PATH)"), _line(code, "self_buf)")} <= saves


@pytest.mark.parametrize(
    ("write", "is_write"),
    [
        ('f.write((0).to_bytes(4, "little"))', False),
        ('f.write((0).to_bytes(8, "little", signed=True))', False),
        ('f.write(b"\\x00" * 8)', False),
        ('f.write(count.to_bytes(4, "little"))', True),
        ("f.write(bytes(model.weight.shape))", True),
    ],
    ids=["counter", "signed-counter", "zeros", "value", "from-model"],
)
def test_a_write_of_literal_bytes_is_no_artifact(write: str, is_write: bool) -> None:
    code = _trainer(
        'torch.save(model.state_dict(), "m.pt")\n'
        "count = 0\n"
        'with open("counter.bin", "wb") as f:\n'
        f"    {write}"
    )
    saves = {i.line for i in _facts(code).analysis(Phases).items if i.kind == "save"}
    assert (_line(code, "f.write(") in saves) is is_write


_TIMED = (
    _trainer(
        'torch.save(model.state_dict(), "m.pt")\n'
        'print("pre-quantization", evaluate(model, val_tokens))\n'
        "calib = train_tokens[:65536]\n"
        'with open("m.ptz", "wb") as f:\n'
        "    f.write(bytes(quantize(model, calib)))\n"
        'timed("final", evaluate, model, val_tokens)'
    )
    .replace(
        '    print("val_bpb", evaluate(model, val_tokens))\n',
        "",  # the final score is timed
    )
    .replace(
        "def main():",
        "def timed(label, fn, *args):\n"
        "    t0 = time.perf_counter()\n"
        "    print(label, fn(*args), time.perf_counter() - t0)\n"
        "\n"
        "\n"
        "def main():",
    )
)


def test_an_evaluation_run_through_a_wrapper_is_a_score_after_the_artifact() -> None:
    ph = _facts(_TIMED).analysis(Phases)
    assert ph.artifact is not None and ph.artifact.line == _line(_TIMED, "f.write(bytes(quantize")
    scores = [i for i in ph.items if i.kind == "score" and i.index > ph.artifact.index]
    assert any(i.frame.fn.name == "evaluate" for i in scores)
    assert not _findings(_TIMED, "PG402")  # the calibration read precedes the real write
