"""Helpers shared by the commands: failing with a message, writing reports, rule-id selectors,
and the one mechanism for options that take several values after one flag."""

from __future__ import annotations

import functools
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.markup import escape

from pgolf_cli.audit.policy import EXIT_ERROR
from pgolf_cli.console import (
    DEFAULT_WIDTH,
    color_enabled,
    report_width,
    stderr_console,
    write_result,
)
from pgolf_cli.files import write_atomically

if TYPE_CHECKING:
    from pgolf_cli.report import ReportFormats

#: ``--output -``: the report goes to stdout.
STDOUT = "-"
_F = TypeVar("_F")
_R = TypeVar("_R")

_SELECTOR = re.compile(r"PG\d{0,3}")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:,.*)?$")


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``message`` to stderr as an error and exit with ``code``."""
    error(message)
    raise typer.Exit(code)


def error(message: str) -> None:
    stderr_console().print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def emit_report(
    formats: ReportFormats[_R],
    report: _R,
    fmt: str,
    output: Path | str | None,
    *,
    show_suppressed: bool = False,
    details: bool = False,
) -> None:
    """Render ``report`` in ``fmt`` and write it to ``output``: a text report on a colour
    terminal is coloured and as wide as the terminal; a file gets the plain default width."""
    to_stdout = output is None or str(output) == STDOUT
    text = formats.render(
        report,
        fmt,
        color=to_stdout and fmt == "text" and color_enabled(sys.stdout),
        width=report_width() if to_stdout else DEFAULT_WIDTH,
        show_suppressed=show_suppressed,
        details=details,
    )
    write_report(text, output)


def write_report(text: str, output: Path | str | None) -> None:
    """A rendered report to stdout (no ``--output``, or ``-``), else to the file, replaced
    atomically so that a reader never sees half a report."""
    if output is None or str(output) == STDOUT:
        write_result(text)
        return
    try:
        write_atomically(Path(output), text)
    except OSError as problem:
        fail(f"cannot write the report to {output}: {problem.strerror or problem}")


def pair_outputs(formats: list[_F], outputs: list[str]) -> list[tuple[_F, str | None]]:
    """Pair each ``--format`` with its ``--output`` (None: stdout), for the commands that write
    several reports from one run."""
    if len(formats) == 1 and len(outputs) <= 1:
        return [(formats[0], outputs[0] if outputs else None)]
    if len(outputs) != len(formats):
        fail(
            f"{len(formats)} --format option(s) need as many --output options, in the same "
            f"order ('-' for stdout); got {len(outputs)}"
        )
    if sum(1 for output in outputs if output == STDOUT) > 1:
        fail("only one report can go to stdout ('-')")
    written = [output for output in outputs if output != STDOUT]
    if len(set(written)) != len(written):
        fail("two reports would be written to the same --output file")
    return list(zip(formats, outputs, strict=True))


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


def is_value(text: str) -> bool:
    """Not an option: a word that does not start with ``-``, or a number (``-2`` too).

    A negative number stays a value so that it gets a clear message from the command later.
    """
    return not text.startswith("-") or bool(_NUMBER.match(text))


#: The multi-value options, by the metavar their help shows: what may follow the first value
#: and still belong to the option. The help says what to type; the parser follows it, so a
#: command declares a multi-value option by its metavar alone. ``SEED...`` takes only seed
#: lists, so that ``pgolf train --seeds 42 1337 script.py`` still finds its script.
MULTI_VALUE_METAVARS: dict[str, Callable[[str], bool]] = {
    "SEED...": is_seed_list,
    "VALUE...": is_value,
}


def multi_value_options(params: Iterable[Any]) -> dict[str, Callable[[str], bool]]:
    """Each flag (``--seeds``, ``-s``) of the multi-value options among a command's ``params``."""
    options: dict[str, Callable[[str], bool]] = {}
    for param in params:
        continues = MULTI_VALUE_METAVARS.get(getattr(param, "metavar", None) or "")
        if continues is not None and getattr(param, "multiple", False):
            for flag in (*param.opts, *param.secondary_opts):
                options[flag] = continues
    return options


def spread_values(args: Sequence[str], options: Mapping[str, Callable[[str], bool]]) -> list[str]:
    """``--seeds 42 1337 --name X`` -> ``--seeds 42 --seeds 1337 --name X``.

    click gives an option one value per flag; the values after the first are rewritten into
    repeated flags before click parses the line. A group ends at the first argument its option
    does not take (``options`` says which, by flag), or at ``--``; ``--seeds=42`` starts one too.
    """
    out: list[str] = []
    current: str | None = None
    expects_first = False
    for index, arg in enumerate(args):
        if arg == "--":
            return [*out, *args[index:]]
        option = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if option in options:
            current, expects_first = option, "=" not in arg
            out.append(arg)
        elif expects_first:
            out.append(arg)
            expects_first = False
        elif current is not None and options[current](arg):
            out.extend((current, arg))
        else:
            current = None
            out.append(arg)
    return out


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
