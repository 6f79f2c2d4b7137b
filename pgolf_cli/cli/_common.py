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


def is_seed_list(text: str) -> bool:
    """``42`` or ``42,1337,7``: an argument that continues a ``--seeds`` list."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return bool(parts) and all(part.isdigit() for part in parts)


def parse_seeds(values: Iterable[str]) -> tuple[int, ...]:
    """The seeds of ``--seeds 42 1337 7`` / ``--seeds 42,1337,7``, each once, in order."""
    seeds: list[int] = []
    for value in values:
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            if not part.isdigit():
                fail(
                    f"--seeds: {part!r} is not a seed (a whole number >= 0), e.g. --seeds 42 1337 7"
                )
            if int(part) in seeds:
                fail(f"--seeds: seed {part} is given twice; give each seed once")
            seeds.append(int(part))
    if not seeds:
        fail("--seeds needs at least one seed, e.g. --seeds 1337")
    return tuple(seeds)
