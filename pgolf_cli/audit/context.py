"""Where in a function an event happened: the one record every walker's event carries.

Its own module so that the facts walker and the helpers it hands expressions to
(:mod:`pgolf_cli.audit.choices`) share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from pgolf_cli.audit.flow import Guard


# Not `frozen`: a frozen dataclass's __init__ sets each field through `object.__setattr__`
# (about 4 times slower), and the facts pass builds thousands of these records per file. They
# are never changed once built; `unsafe_hash` hashes them by value, as frozen ones are.
@dataclass(slots=True, unsafe_hash=True)
class Context:
    """Where in a function an event happened (never changed once built)."""

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
