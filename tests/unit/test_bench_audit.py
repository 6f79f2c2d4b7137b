"""`bench/bench_audit.py --breakdown FILE`: every stage of an audit, and every rule, timed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pgolf_cli.audit.registry import all_rules

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench_audit() -> ModuleType:
    # bench/ is not a package: put it on the path for its own `import gen_scripts`.
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_audit", BENCH / "bench_audit.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_the_breakdown_times_every_stage_and_rule(
    bench_audit: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "train_gpt.py"
    script.write_text("import torch\n\ndef main():\n    return torch.zeros(3).sum()\n")
    assert bench_audit.main(["--breakdown", str(script), "--repeat", "1"]) == 0
    rows = {line.split(" | ")[0].lstrip("| ") for line in capsys.readouterr().out.splitlines()}
    stages = {"guard: CPython's parse (ast)", "guard: nesting depth", "libcst.parse_module"}
    stages |= {"statement positions", "facts pre-pass"}
    stages |= {f"rule {r.id}" for r in all_rules() if not r.id.startswith("PG9")}
    assert stages <= rows
