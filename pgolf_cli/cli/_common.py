"""Helpers shared by the commands: failing with a message, rule-id selectors, atomic output."""

from __future__ import annotations

import functools
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import NoReturn, ParamSpec

import typer
from rich.markup import escape

from pgolf_cli.audit.policy import EXIT_ERROR
from pgolf_cli.console import stderr_console

_SELECTOR = re.compile(r"PG\d{0,3}")


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``message`` to stderr as an error and exit with ``code``."""
    error(message)
    raise typer.Exit(code)


def error(message: str) -> None:
    stderr_console().print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


_P = ParamSpec("_P")


def crash_exits_2(command: Callable[_P, None]) -> Callable[_P, None]:
    """Turn an unexpected exception in ``command`` into exit code 2 with the traceback.

    Python's own exit code for a crash is 1, which a CI job would read as "findings".
    """

    @functools.wraps(command)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except Exception:
            error("internal error in pgolf; please report it with the traceback below")
            sys.stderr.write(traceback.format_exc())
            raise typer.Exit(EXIT_ERROR) from None

    return guarded


def parse_selectors(
    values: Iterable[str], known_ids: Iterable[str], *, source: str
) -> tuple[str, ...]:
    """Split comma-separated rule ids or prefixes and check each names at least one rule.

    ``source`` says where the values came from (a flag or a config key) for the message. A
    selector is a full id (``PG101``) or a prefix of one (``PG1``, ``PG10``); case does not matter.
    """
    ids = sorted(known_ids)
    selectors: list[str] = []
    for value in values:
        for part in value.split(","):
            selector = part.strip().upper()
            if not selector:
                continue
            if not _SELECTOR.fullmatch(selector) or not any(i.startswith(selector) for i in ids):
                fail(
                    f"unknown rule id {part.strip()!r} in {source}; valid ids: {', '.join(ids)} "
                    "(or a prefix of them, such as PG1)"
                )
            if selector not in selectors:
                selectors.append(selector)
    return tuple(selectors)
