"""Where in a function an event happened: the one record every walker's event carries.

Its own module so that the facts walker and the helpers it hands expressions to
(:mod:`pgolf_cli.audit.choices`) share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from pgolf_cli.audit.flow import Guard


@dataclass(frozen=True, slots=True)
class Context:
    """Where in a function an event happened."""

    seq: int
    """Program order of the event within the file."""
    line: int
    loops: tuple[int, ...]
    """The loops around it, innermost last (ids of the loop statements)."""
    guards: tuple[Guard, ...]
    no_grad: bool
    """Under ``torch.no_grad()`` / ``inference_mode()`` (or in a gradient-free function)."""
    eval_mode: bool
    """After ``model.eval()`` in the same function."""
    statement: cst.CSTNode | None = None
    """The statement it is in (see :attr:`Flow.statement`): of the statements a minified line
    holds, the one the event belongs to."""
