"""The audit engine's contracts: findings, reachability, suppressions, decoding, failures."""

from __future__ import annotations

import base64
import gc
import lzma
import random
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

import checks
from pgolf_cli.audit import engine, positions
from pgolf_cli.audit.engine import AuditOptions, audit_file, audit_paths, audit_source
from pgolf_cli.audit.findings import Reachability, Severity
from pgolf_cli.audit.policy import exit_code
from pgolf_cli.audit.rule import Rule
from pgolf_cli.audit.source import source_from_bytes

PRE_QUANT_TTT = """\
import os
import torch

TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "{default}")))


def adapt(model, toks):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    for i in range(0, toks.numel() - 1, 1024):
        chunk = toks[i : i + 1025]
        loss = model(chunk[:-1], chunk[1:])
        loss.backward(){comment}
        opt.step()


def main():
    model = build()
    val_tokens = load_validation_tokens("data/fineweb_val_*.bin")
    if TTT_ENABLED:
        adapt(model, val_tokens)
    evaluate(model, val_tokens)


if __name__ == "__main__":
    main()
"""


def _audit(code: str, options: AuditOptions | None = None) -> list[tuple[str, int, str]]:
    result = audit_source(source_from_bytes("t.py", code.encode()), options)
    assert result.error is None
    return [(f.rule_id, f.line, f.severity.value) for f in result.findings]


def _script(default: str = "1", comment: str = "") -> str:
    return PRE_QUANT_TTT.format(default=default, comment=comment)


def test_checks_package_is_this_projects() -> None:
    root = Path(__file__).resolve().parents[2]
    assert Path(checks.__file__).resolve().parent == root / "checks"


def test_default_on_path_is_an_error_with_evidence() -> None:
    result = audit_source(source_from_bytes("t.py", _script().encode()))
    (finding,) = result.findings
    assert (finding.rule_id, finding.line, finding.severity) == ("PG101", 12, Severity.ERROR)
    assert finding.reachability is Reachability.DEFAULT_ON
    lines = {e.line for e in finding.evidence}
    assert {18, 20, 12} <= lines  # val enters, the call passes it on, the backward
    assert finding.snippet == "loss.backward()"
    assert finding.fingerprint and finding.help.startswith("## What it does")


def test_dormant_path_is_a_warning_naming_the_switch() -> None:
    result = audit_source(source_from_bytes("t.py", _script(default="0").encode()))
    (finding,) = result.findings
    assert finding.severity is Severity.WARNING
    assert finding.reachability is Reachability.OFF_BY_DEFAULT
    assert [(s.env, s.default, s.line) for s in finding.switches] == [("TTT_ENABLED", "'0'", 4)]


def test_world_size_dependent_default_counts_as_on() -> None:
    code = _script().replace(
        '"{default}"', '"1" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "0"'
    )
    code = code.replace(
        'os.environ.get("TTT_ENABLED", "1")',
        'os.environ.get("TTT_ENABLED", "1" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "0")',
    )
    result = audit_source(source_from_bytes("t.py", code.encode()))
    (finding,) = result.findings
    assert finding.severity is Severity.ERROR
    assert finding.reachability is Reachability.WORLD_SIZE


def test_unreachable_code_is_not_reported() -> None:
    code = _script().replace("        adapt(model, val_tokens)\n", "        pass\n")
    assert _audit(code) == []


def test_suppression_on_the_line_is_kept_and_counted() -> None:
    code = _script(comment="  # pgolf: ignore[PG101] only ever run on a training slice")
    result = audit_source(source_from_bytes("t.py", code.encode()))
    (finding,) = result.findings
    assert finding.suppressed and finding.suppression_reason == "only ever run on a training slice"
    assert [s.used for s in result.suppressions] == [True]
    report = audit_paths([], AuditOptions())
    assert exit_code(report) == 0


def test_suppression_on_the_line_above() -> None:
    code = _script().replace(
        "        loss.backward()\n",
        "        # pgolf: ignore[PG101] reviewed: training data only\n        loss.backward()\n",
    )
    result = audit_source(source_from_bytes("t.py", code.encode()))
    assert [(f.rule_id, f.suppressed) for f in result.findings] == [("PG101", True)]


def test_suppression_without_reason_does_not_suppress() -> None:
    code = _script(comment="  # pgolf: ignore[PG101]")
    assert _audit(code) == [("PG101", 12, "error"), ("PG905", 12, "warning")]


def test_unused_suppression_is_reported() -> None:
    code = "x = 1  # pgolf: ignore[PG201] nothing here\n"
    assert _audit(code) == [("PG904", 1, "note")]


@pytest.mark.parametrize("code", ["", "\n\n", "# a comment\n", "#!/usr/bin/env python3\n\n# x\n"])
def test_a_file_without_statements_has_no_findings(code: str) -> None:
    assert _audit(code) == []


def test_a_file_of_comments_still_reports_its_suppressions() -> None:
    assert _audit("# pgolf: ignore[PG201] nothing here\n") == [("PG904", 1, "note")]
    assert _audit("# pgolf: ignore[PG201]\n") == [("PG905", 1, "warning")]


def test_select_and_ignore() -> None:
    assert _audit(_script(), AuditOptions(select=("PG2",))) == []
    assert _audit(_script(), AuditOptions(ignore=("PG101",))) == []
    assert _audit(_script(), AuditOptions(select=("PG1",))) == [("PG101", 12, "error")]


def test_syntax_error_fails_closed_even_when_not_selected() -> None:
    findings = _audit("def main(:\n    pass\n", AuditOptions(select=("PG101",)))
    assert findings == [("PG901", 1, "error")]


def test_packed_script_reports_decoded_lines() -> None:
    payload = base64.b85encode(lzma.compress(_script().encode())).decode()
    wrapper = f'import lzma as L,base64 as B\nexec(L.decompress(B.b85decode("{payload}")))\n'
    result = audit_source(source_from_bytes("packed.py", wrapper.encode()))
    by_rule = {f.rule_id: f for f in result.findings}
    assert set(by_rule) == {"PG101", "PG902"}
    assert by_rule["PG101"].line == 12
    assert by_rule["PG101"].decoded_from and "lzma" in by_rule["PG101"].decoded_from
    assert by_rule["PG902"].line == 2 and by_rule["PG902"].decoded_from is None
    assert result.layers == ("lzma+base85",)


def test_a_shim_that_decodes_into_a_name_is_audited_inside() -> None:
    # The linecache shim: the text is decoded into a name, registered for tracebacks, compiled.
    payload = base64.b85encode(lzma.compress(_script().encode())).decode()
    wrapper = (
        "import lzma as L,base64 as B,linecache as C\n"
        f'S=L.decompress(B.b85decode("{payload}")).decode()\n'
        "F=__file__+'.py'\n"
        "C.cache[F]=(len(S),None,S.splitlines(True),F)\n"
        "exec(compile(S,F,'exec'))\n"
    )
    findings = _audit(wrapper)
    assert ("PG902", 5, "note") in findings
    assert ("PG101", 12, "error") in findings


def test_code_run_from_a_long_literal_pgolf_cannot_decode_is_an_error() -> None:
    payload = base64.b85encode(random.Random(3).randbytes(1500)).decode()  # long, as real ones are
    wrapper = (
        "import lzma,base64\n"
        "def unpack(s):\n"
        "    return lzma.decompress(base64.b85decode(s))\n"
        f'exec(unpack("{payload}"))\n'
    )
    assert ("PG903", 4, "error") in _audit(wrapper)


def test_undecodable_wrapper_is_an_error() -> None:
    wrapper = "import zlib\nexec(zlib.decompress(open(__file__, 'rb').read()[-64:]))\n"
    findings = _audit(wrapper)
    assert ("PG903", 2, "error") in findings


def test_rule_crash_is_a_tool_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from checks.evaluation import ValFinetuneBeforeScoring

    def boom(self: Rule, facts: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(ValFinetuneBeforeScoring, "check", boom)
    path = tmp_path / "train_gpt.py"
    path.write_text(_script())
    result = audit_file(path)
    assert result.error is not None and "PG101" in result.error and "boom" in result.error
    report = audit_paths([path], jobs=1)
    assert exit_code(report) == 2


def test_fingerprints_survive_moved_lines() -> None:
    first = audit_source(source_from_bytes("t.py", _script().encode())).findings[0]
    moved = audit_source(source_from_bytes("t.py", ("\n\n" + _script()).encode())).findings[0]
    assert first.line + 2 == moved.line
    assert first.fingerprint == moved.fingerprint


def test_many_files_in_parallel_keep_input_order(tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"f{i}.py").write_text(_script() if i % 2 else "print('clean')\n")
    seen: list[str] = []
    report = audit_paths([tmp_path], jobs=2, progress=seen.append)
    assert [Path(r.path).name for r in report.files] == [f"f{i}.py" for i in range(6)]
    assert sorted(seen) == sorted(str(tmp_path / f"f{i}.py") for i in range(6))
    assert [len(r.findings) for r in report.files] == [0, 1, 0, 1, 0, 1]
    assert exit_code(report) == 1


def test_missing_path_and_empty_directory_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    report = audit_paths([tmp_path / "nope.py", tmp_path / "empty"])
    assert len(report.errors) == 2
    assert "no such file" in report.errors[0] and "no Python files" in report.errors[1]
    assert exit_code(report) == 2


def test_positions_pairing_matches_libcst_provider() -> None:
    code = (
        "import os\n@dec\ndef f(a,\n      b):\n    if a: x = 1; y = 2\n    elif b:\n        pass\n"
        "    else:\n        try:\n            z = 3\n        except E:\n            w = 4\n"
        "        finally:\n            v = 5\n    for i in a:\n        continue\n    else:\n"
        "        u = 1\n    with a as q, b:\n        return q\nclass C:\n    k = 1\n"
        "match x:\n    case 1:\n        m = 2\n"
    )
    module = cst.parse_module(code)
    fast = positions.statement_lines(module, code)
    slow = positions.statement_lines(module, "this is not python (")  # forces the fallback
    assert fast.keys() == slow.keys()
    for key, (line, _end) in fast.items():
        assert slow[key][0] in (line, line - 1)  # libcst starts a decorated def at the decorator
    assert sorted(line for line, _ in fast.values())[:4] == [1, 3, 5, 5]


def _provider_lines(module: cst.Module) -> positions.LineMap:
    ranges = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return {
        id(node): (r.start.line, r.end.line)
        for node, r in ranges.items()
        if isinstance(node, cst.BaseSmallStatement | cst.BaseCompoundStatement)
    }


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_statement_lines_without_cpython_match_libcst_provider(newline: str) -> None:
    # Code CPython cannot parse (a newer grammar) gets its lines from a lean codegen pass; they
    # must be libcst's PositionProvider's, for every kind of statement and span end.
    code = (
        "# c\nfrom a import (b,\n    c,\n)\nfrom d import *\nimport e; x = '''1\n2'''\n\n"
        "@dec(\n  1)\nasync def f(a,\n      b):\n    # lead\n    if a: x = 1; y = 2\n"
        "    elif b:\n        pass\n    else:\n        try:\n            z = (3 +\n 4)\n"
        "        except* E:\n            w = 4\n        else:\n            w = 5\n"
        "        finally:\n            v = 5\n    async for i in a:\n        continue\n"
        "    else:\n        u = 1\n    while a: break\n    async with a as q, b:\n"
        "        return f'{q!r}'\n    del q; global g; raise X from y\n"
        "class C(B):\n    k: int = 1\n    k += 1\n    assert k, \\\n  'm'\n"
        "match x:\n    case [1, *r]:\n        m = 2\n    case _:\n        pass\n"
        "try:\n    pass\nexcept E as e:\n    pass\n"
    ).replace("\n", newline)
    module = cst.parse_module(code)
    lines = positions._codegen_lines(module)
    assert lines == _provider_lines(module)
    assert len(lines) == 35  # every statement ast.parse finds in it


def test_fail_closed_rules_cannot_be_ignored() -> None:
    assert engine.FAIL_CLOSED == ("PG901", "PG903", "PG906")
    assert _audit("(\n", AuditOptions(ignore=("PG9",))) == [("PG901", 1, "error")]


def test_code_too_deep_to_analyse_fails_closed() -> None:
    code = (
        "def main():\n    y = "
        + "+".join(["val_tokens[i]"] * 1000)
        + "\n    y.backward()\n\nmain()\n"
    )
    # 1,000 terms deep: CPython compiles it, pgolf refuses it (more than 200 levels) on its line.
    assert _audit(code) == [("PG906", 2, "error")]


_TREE_OR_FACTS = ("libcst", "pgolf_cli", "checks")


@pytest.mark.parametrize(
    "fixture", ["fx04_phased_ttt.py", "fx08_update_before_score.py", "fx05_bigramhash_smear.py"]
)
def test_an_audit_leaves_no_cycle_holding_the_tree(fixture: str) -> None:
    # Reference counting frees what an audit built as soon as it ends; a cycle through the
    # facts would leave the whole libcst tree to the cyclic collector (a walk of ~10^5 nodes).
    path = Path(__file__).parent.parent / "checks" / "fixtures" / fixture
    audit_file(path)  # rules and analyses imported, first-call caches filled
    gc.collect()
    gc.disable()
    try:
        assert audit_file(path).error is None
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [type(x) for x in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    held = {kind.__qualname__ for kind in left if kind.__module__.split(".")[0] in _TREE_OR_FACTS}
    assert not held


def test_an_audit_leaves_the_garbage_collector_as_it_found_it() -> None:
    source = source_from_bytes("x.py", b"def main():\n    pass\n\nmain()\n")
    assert gc.isenabled()
    audit_source(source)
    assert gc.isenabled()
    gc.disable()
    try:
        audit_source(source)
        assert not gc.isenabled()
    finally:
        gc.enable()
