"""What a rule is: the class every entry of the ``checks`` catalogue derives from."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pgolf_cli.audit.findings import Confidence, Evidence, RuleInfo, Severity

if TYPE_CHECKING:
    from pgolf_cli.audit.facts import Facts, Gate
    from pgolf_cli.audit.native import GatedMixture
    from pgolf_cli.audit.program import Program


@dataclass(frozen=True, slots=True)
class Example:
    """A hand-written snippet the rule must get right (one parametrized test runs them all).

    For an INVALID example, ``line`` is the line the finding must point at (a line of the
    decoded text when the snippet is a packed wrapper) and ``severity`` the expected severity
    when it differs from the rule's own (a dormant path is a warning).
    """

    title: str
    code: str
    line: int | None = None
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule reports; the engine turns it into a complete :class:`Finding`."""

    line: int
    message: str
    gate: Gate
    evidence: tuple[Evidence, ...] = ()
    confidence: Confidence | None = None
    """Overrides the rule's confidence for this hit."""
    severity: Severity | None = None
    """Overrides the rule's severity for this hit (a pending shape reported as a note); a dormant
    path still turns an error into a warning."""


class Rule:
    """Base class of the catalogue.

    Subclasses set the class attributes, write a docstring with the headings *What it does*,
    *Why is this bad?*, *Example*, *Use instead*, *Known problems* and *Ruling*, and implement
    :meth:`check`, which only reports: the engine decides severity from reachability, applies
    suppressions and builds findings.
    """

    id: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    confidence: ClassVar[Confidence]
    summary: ClassVar[str]
    VALID: ClassVar[tuple[Example, ...]] = ()
    INVALID: ClassVar[tuple[Example, ...]] = ()
    scans_native: ClassVar[bool] = False
    """Whether this rule reports the target-gated mixtures the text scan finds in C, C++ and
    CUDA sources beside a script (:mod:`pgolf_cli.audit.native`), with :meth:`native_message`."""

    @classmethod
    def native_message(cls, mix: GatedMixture) -> str:
        raise NotImplementedError(f"{cls.__name__} does not scan native sources")

    run_only: ClassVar[bool] = False
    """Judges what the official run does (its evaluation, its training budget, its counted code):
    not applied to the other scripts of a records folder (data preparation, tokenizer building,
    plotting), which never run at evaluation."""

    def check(self, facts: Facts) -> Iterator[Hit]:
        raise NotImplementedError(f"{type(self).__name__} must implement check()")

    def run(self, facts: Facts, program: Program | None) -> Iterator[Hit]:
        """What the engine calls: :meth:`check`, or :meth:`ProgramRule.check_program`."""
        return self.check(facts)

    @classmethod
    @functools.cache  # every finding carries it: clean the text once
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def info(cls) -> RuleInfo:
        return RuleInfo(
            id=cls.id,
            name=cls.name,
            severity=cls.severity,
            confidence=cls.confidence,
            summary=cls.summary,
            help=cls.documentation(),
        )


class ProgramRule(Rule):
    """A rule that also judges a script's records folder: the :class:`Program` the script runs
    (the files it imports or executes), passed explicitly; None when a file is audited alone."""

    def check(self, facts: Facts) -> Iterator[Hit]:
        return self.check_program(facts, None)

    def run(self, facts: Facts, program: Program | None) -> Iterator[Hit]:
        return self.check_program(facts, program)

    def check_program(self, facts: Facts, program: Program | None) -> Iterator[Hit]:
        raise NotImplementedError(f"{type(self).__name__} must implement check_program()")
