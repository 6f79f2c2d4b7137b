"""How ``--help`` reads: one command and group class for every pgolf command.

typer (0.2x) renders help in ways that read badly for pgolf:

* a single line break inside a paragraph of a docstring stays a line break, so a docstring
  wrapped at 100 columns prints as ragged lines at any other terminal width;
* each parameter gets a column with its Python type (``<bool>``, ``<list[str]>``,
  ``<list[Path]>``) next to the metavar that already says what to type;
* the usage line writes a required argument as ``{PATH}...`` and adds ``...`` to an argument
  that takes one value from the user but a list in pgolf's own parsing (``pgolf train
  SCRIPT``, which takes a list only to name every extra script in its message).

:class:`PgolfCommand` and :class:`PgolfGroup` reflow the help text into paragraphs and show
each parameter by its metavar alone: a flag shows nothing, an argument its metavar as written
(``PATH...`` when it takes several), optional ones in brackets, as click writes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from pgolf_cli.cli._common import multi_value_options, spread_values

_F = TypeVar("_F", bound=Callable[..., Any])

# A paragraph of examples: one command per line, each starting with a bold `pgolf`.
_EXAMPLE = re.compile(r"^\s*\[bold\]pgolf ")
_LIST_ITEM = re.compile(r"^\s*(?:[-*] |\d+\. )")


def reflow(text: str | None) -> str | None:
    """Join the lines of each paragraph of ``text`` with spaces; paragraphs stay apart.

    In a paragraph of examples (its first line starts with ``[bold]pgolf``) each example
    starts a line of its own, and a list item always does.
    """
    if not text:
        return text
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        examples = bool(_EXAMPLE.match(paragraph))
        lines: list[str] = []
        for line in paragraph.splitlines():
            starts = _LIST_ITEM.match(line) or (examples and _EXAMPLE.match(line))
            if lines and not starts:
                lines[-1] += " " + line.strip()
            else:
                lines.append(line.strip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the name column already shows the metavar

    def _usage_display_name(self) -> str:
        name = self.metavar or (self.name or "").upper()
        if self.metavar is None and self.nargs != 1:
            name += "..."
        return name if self.required else f"[{name}]"


class _Option(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag and self.metavar is None:
            return None  # a flag takes no value
        return super().display_type_rich(ctx)


def _plain_parameters(params: list[Any]) -> None:
    for param in params:
        # Only typer's own classes: a parameter class someone chose stays as it is.
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option


class PgolfCommand(TyperCommand):
    """A pgolf command: help reflowed, parameters shown by their metavar, and an option whose
    metavar says it takes several values (``--seeds SEED...``) takes them after one flag."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflow(self.help)

    # The context is typed loosely: recent typer vendors its own copy of click's Context.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        spread = spread_values(args, multi_value_options(self.params))
        rest: list[str] = super().parse_args(ctx, spread)
        return rest

    # typer adds some parameters (--help, shell completion) after construction: convert late.
    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        _plain_parameters(params)
        return params


class PgolfGroup(TyperGroup):
    """A pgolf command group, shown like :class:`PgolfCommand`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflow(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        _plain_parameters(params)
        return params


class PgolfTyper(typer.Typer):
    """A typer app whose commands are :class:`PgolfCommand` unless a subclass is named, and
    whose groups are :class:`PgolfGroup`: a command added later reads like the others."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("cls", PgolfGroup)
        super().__init__(*args, **kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[_F], _F]:
        kwargs["cls"] = kwargs.get("cls") or PgolfCommand
        decorator: Callable[[_F], _F] = super().command(name, **kwargs)
        return decorator
