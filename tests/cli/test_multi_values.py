"""One mechanism for options that take several values after one flag (``--seeds 42 1337 7``)."""

from __future__ import annotations

from typing import Any

import typer

from pgolf_cli.cli import app
from pgolf_cli.cli._common import (
    MULTI_VALUE_METAVARS,
    is_seed_list,
    multi_value_options,
    spread_values,
)


def _commands() -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        for sub_name, sub in getattr(command, "commands", {name: command}).items():
            found[sub_name if sub is not command else name] = sub
    return found


def test_seed_lists_continue_only_with_seeds() -> None:
    options = {"--seeds": is_seed_list, "-s": is_seed_list}
    args = ["--seeds", "42", "1337", "7,8", "script.py", "-s", "9", "--name", "x"]
    assert spread_values(args, options) == [
        "--seeds",
        "42",
        "--seeds",
        "1337",
        "--seeds",
        "7,8",
        "script.py",
        "-s",
        "9",
        "--name",
        "x",
    ]
    # The first value is the option's whatever it is, so a bad seed gets the command's message.
    assert spread_values(["--seeds", "x1", "2"], options) == ["--seeds", "x1", "--seeds", "2"]
    assert spread_values(["--seeds", "1", "--", "2"], options) == ["--seeds", "1", "--", "2"]
    assert spread_values(["--seeds=1", "2"], options) == ["--seeds=1", "--seeds", "2"]


def test_every_command_declares_its_multi_value_options_by_metavar() -> None:
    commands = _commands()
    spreading = {
        name: sorted(multi_value_options(command.params)) for name, command in commands.items()
    }
    assert spreading["train"] == ["--seeds", "-s"]
    assert spreading["package"] == ["--seeds", "-s"]
    assert spreading["stats"] == ["--baseline", "--candidate", "-b", "-c"]
    # An option whose help promises several values after one flag gets them from the one table.
    for name, command in commands.items():
        for param in command.params:
            metavar = getattr(param, "metavar", None) or ""
            if param.param_type_name == "option" and metavar.endswith("..."):
                assert metavar in MULTI_VALUE_METAVARS, (name, param.name, metavar)
                assert param.multiple, (name, param.name)
