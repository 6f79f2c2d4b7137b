"""Typed errors for input the user handed pgolf that it cannot work with.

The CLI catches :class:`PgolfInputError`, prints ``str(error)`` and exits with code 2; the
three attributes let other front ends (the PR gate, reporters) place the parts themselves.
"""

from __future__ import annotations


class PgolfInputError(Exception):
    """A user-supplied file or value is unusable: where, what is wrong, and what to do."""

    path: str
    problem: str
    fix: str

    def __init__(self, path: str, problem: str, fix: str) -> None:
        # All three go to Exception so the error pickles (workers send errors back).
        super().__init__(path, problem, fix)
        self.path = path
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}. {self.fix}"
