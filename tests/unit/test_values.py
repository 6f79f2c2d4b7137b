"""Static evaluation of env switches: the defaults decide whether a path is on."""

from __future__ import annotations

import libcst as cst
import pytest

from pgolf_cli.audit.values import UNKNOWN, WORLD, Evaluator


def _evaluate(setup: str, expr: str) -> object:
    module = cst.parse_module(setup)
    names: dict[str, cst.BaseExpression | None] = {}
    attrs: dict[str, cst.BaseExpression | None] = {}
    for line in module.body:
        assert isinstance(line, cst.SimpleStatementLine)
        assign = line.body[0]
        assert isinstance(assign, cst.Assign)
        target = assign.targets[0].target
        if isinstance(target, cst.Name):
            names[target.value] = assign.value
        elif isinstance(target, cst.Attribute):
            attrs[target.attr.value] = assign.value
    value, _reads = Evaluator(names, attrs, lambda _: 7).evaluate(cst.parse_expression(expr))
    return value


@pytest.mark.parametrize(
    ("setup", "expr", "expected"),
    [
        ('T = bool(int(os.environ.get("T", "1")))\n', "T", True),
        ('T = bool(int(os.environ.get("T", "0")))\n', "T", False),
        ('T = os.environ.get("T", "0") == "1"\n', "T", False),
        ('T = os.getenv("T", "True").lower() in ("1", "true")\n', "T", True),
        ('E = int(os.environ.get("TTT_EPOCHS", "0"))\n', "E > 0", False),
        ('E = int(os.environ.get("TTT_EPOCHS", "3"))\n', "E > 0 and not False", True),
        ('self.ttt = float(os.environ.get("TTT_LR", "0.0"))\n', "args.ttt", 0.0),
        ('T = os.environ.get("T")\n', "T", None),
        ('T = os.environ["T"]\n', "T", UNKNOWN),
        ('T = int(os.environ.get("T", "1" if world_size > 1 else "0"))\n', "T", WORLD),
        ('T = int(os.environ.get("WORLD_SIZE", "1")) > 1\n', "T", WORLD),
        ('T = int(os.environ.get("T", "1" if world_size > 1 else "1"))\n', "T", 1),
        ("T = step % 100 == 0\n", "T", UNKNOWN),
        ('A = int(os.environ.get("A", "0"))\n', "A or B", UNKNOWN),
        ('A = int(os.environ.get("A", "0"))\n', "A and B", 0),
    ],
)
def test_switch_defaults(setup: str, expr: str, expected: object) -> None:
    result = _evaluate(setup, expr)
    if expected is UNKNOWN or expected is WORLD:
        assert result is expected
    else:
        assert result == expected


def test_reads_name_the_switch_and_its_line() -> None:
    module = cst.parse_module('T = bool(int(os.environ.get("TTT_ENABLED", "0")))\n')
    assign = module.body[0].body[0]  # type: ignore[attr-defined]
    evaluator = Evaluator({"T": assign.value}, {}, lambda _: 4)
    value, reads = evaluator.evaluate(cst.parse_expression("not T"), 9)
    assert value is True
    assert [(r.env, r.default, r.line) for r in reads] == [("TTT_ENABLED", "'0'", 4)]


def test_self_reference_does_not_loop() -> None:
    assert _evaluate("T = T + 1\n", "T") is UNKNOWN


def _facts_value(code: str, expr: str) -> tuple[object, list[str]]:
    """``expr`` evaluated against a whole script's assignments, with the switches it read."""
    from pgolf_cli.audit.facts import Facts
    from pgolf_cli.audit.positions import statement_lines

    module = cst.parse_module(code)
    facts = Facts(module, statement_lines(module, code), code)
    value, reads = facts.evaluator.evaluate(cst.parse_expression(expr))
    return value, [r.env for r in reads]


_PRESET = """import os
from dataclasses import dataclass, field


def _env_bool(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true"}


def _env_str(name, default):
    raw = os.environ.get(name)
    return default if raw is None else raw.strip()


@dataclass
class EvalConfig:
    ngram_enabled: bool = _env_bool("NGRAM_ENABLED", False)


@dataclass
class Config:
    preset: str = field(default_factory=lambda: _env_str("PRESET", "DEFAULT").lower())
    eval: EvalConfig = field(default_factory=EvalConfig)

    @classmethod
    def from_env(cls, preset=None):
        config = cls()
        if preset is not None:
            config.preset = preset
        apply_preset(config)
        return config


def apply_preset(config):
    if config.preset == "baseline":
        return
    if "NGRAM_ENABLED" not in os.environ:
        config.eval.ngram_enabled = True


def load():
    return Config.from_env()
"""


def test_a_field_set_only_under_a_non_default_preset_keeps_its_declared_default() -> None:
    value, reads = _facts_value(_PRESET.replace("DEFAULT", "baseline"), "config.eval.ngram_enabled")
    assert value is False
    assert reads == ["NGRAM_ENABLED"]


def test_a_field_set_under_the_default_preset_has_two_values() -> None:
    value, _ = _facts_value(_PRESET.replace("DEFAULT", "leader"), "config.eval.ngram_enabled")
    assert value is UNKNOWN


def test_a_dataclass_field_factory_and_an_env_helper_give_their_defaults() -> None:
    value, reads = _facts_value(_PRESET.replace("DEFAULT", "Leader"), "config.preset")
    assert value == "leader"
    assert reads == ["PRESET"]


def test_an_unconditional_reassignment_leaves_the_value_unknown() -> None:
    code = _PRESET.replace("DEFAULT", "baseline") + (
        "\n\ndef main():\n    config = Config.from_env()\n    config.eval.ngram_enabled = True\n"
    )
    assert _facts_value(code, "config.eval.ngram_enabled")[0] is UNKNOWN


def test_a_condition_on_the_value_itself_sees_the_default() -> None:
    code = (
        "class Args:\n    ttt = False\n\n\n"
        "def fix(args):\n    if not args.ttt:\n        args.ttt = True\n"
    )
    assert _facts_value(code, "args.ttt")[0] is UNKNOWN
    off = code.replace("if not args.ttt", "if args.ttt")
    assert _facts_value(off, "args.ttt")[0] is False


def test_a_switch_tested_for_presence_is_unset_by_default() -> None:
    value, reads = _facts_value("import os\n", '"TTT_ENABLED" in os.environ')
    assert value is False
    assert reads == ["TTT_ENABLED"]


def test_a_preset_passed_by_a_caller_is_not_known() -> None:
    code = _PRESET.replace("DEFAULT", "baseline").replace(
        "return Config.from_env()", 'return Config.from_env(preset="leader")'
    )
    assert _facts_value(code, "config.preset")[0] is UNKNOWN
    assert _facts_value(code, "config.eval.ngram_enabled")[0] is UNKNOWN


def test_a_caller_argument_of_a_function_nobody_calls_is_not_known() -> None:
    code = _PRESET.replace("DEFAULT", "baseline").replace(
        "def load():\n    return Config.from_env()\n", ""
    )
    assert "def load" not in code
    assert _facts_value(code, "config.preset")[0] is UNKNOWN


_DATA_TEST = """import os
USE_TTT = bool(int(os.environ.get("USE_TTT", "1")))


def evaluate(model, tokens):
    inner = None
    if USE_TTT:
        if isinstance(model, Wrapper):
            inner = model.module
    return inner
"""


def test_a_value_set_under_a_test_on_data_is_not_known() -> None:
    # `isinstance(model, Wrapper)` cannot be decided from the defaults: it may hold, so `inner`
    # may be the module, not only its declared None.
    assert _facts_value(_DATA_TEST, "inner is not None")[0] is UNKNOWN
    off = _DATA_TEST.replace('"USE_TTT", "1"', '"USE_TTT", "0"')
    assert _facts_value(off, "inner is not None") == (False, [])


def test_a_name_assigned_in_several_functions_is_read_from_its_own() -> None:
    # python-minifier gives every function the same short names: each function's `A` is its own.
    from pgolf_cli.audit.facts import Facts
    from pgolf_cli.audit.positions import statement_lines

    code = (
        "import os\n\n\n"
        "def prepare():\n"
        "    A = int(os.environ.get('PREFETCH', '1'))\n"
        "    return A\n\n\n"
        "def main():\n"
        "    if len(os.sys.argv) > 5:\n"
        "        raise SystemExit(2)\n"
        "    A = int(os.environ.get('SKIP_CALIB', '1'))\n"
        "    if A:\n"
        "        return 0\n"
        "    return 1\n"
    )
    module = cst.parse_module(code)
    facts = Facts(module, statement_lines(module, code), code)
    test = cst.parse_expression("A")
    assert facts.evaluator.evaluate(test, 14)[0] == 1  # read in main, after main's assignment
    value, reads = facts.evaluator.evaluate(test, 6)
    assert (value, [r.env for r in reads]) == (1, ["PREFETCH"])
    # At module level, neither function's assignment decides.
    assert facts.evaluator.evaluate(test, 1)[0] is UNKNOWN
