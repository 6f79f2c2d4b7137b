"""What became of a run's seeds: the outcome ``run_training`` returns and the live view shows.

Its own module so that the runner and the view both read it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pgolf_cli.records.logs import ParsedLog
from pgolf_cli.run_folder import StoppedBy


@dataclass(frozen=True, slots=True)
class SeedOutcome:
    seed: int
    seed_dir: Path
    exit_status: int | None
    """The launcher's exit status; negative for a signal; None when it never started."""
    stopped_by: StoppedBy | None
    log: ParsedLog
    flags: tuple[str, ...]
    artifact: Path | None
    tail: tuple[str, ...]
    """The last lines of train.log, for showing why a seed failed."""
    first_error: str | None = None
    """The first ``SomeError: message`` line of the output: under torchrun the real cause comes
    first and the launcher's summary of the failure last."""

    @property
    def ok(self) -> bool:
        return self.stopped_by is None


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run_dir: Path
    seeds: tuple[SeedOutcome, ...]
    interrupted: bool

    @property
    def failed(self) -> tuple[SeedOutcome, ...]:
        return tuple(outcome for outcome in self.seeds if outcome.stopped_by == "failure")
