"""The live view of a training run on stderr.

:class:`SeedProgress` is the state: it folds the parsed log lines of one seed into step, loss,
throughput, elapsed time and an estimate of the time left. The views draw it: :class:`LiveView`
as a rich display that redraws in place on a terminal, :class:`PlainView` as a status line every
so often for logs and CI (no cursor movement). The full output of the script goes to train.log,
never to the view.

Nothing that takes more than a moment goes unexplained: a multi-node run shows the rendezvous it
waits for and when torchrun will give up; the template's ``phase:`` lines (docs/pipeline.md) name
the work between log lines (loading data, warm-up, each validation, export, each evaluation
pass) and the view shows how long it has been at it; a script without them shows its last line.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from pgolf_cli.records.logs import (
    Event,
    ParsedLog,
    ScoreLine,
    SizeLine,
    StopEarly,
    TrainStep,
    ValStep,
)
from pgolf_cli.runner.outcome import SeedOutcome

Phase = Literal["starting", "training", "evaluating", "finished"]

_PHASE_LINE = re.compile(r"^phase:(?P<name>\w+)(?: (?P<detail>.*))?$")
#: What each of the template's phases is, in words; an unknown name is shown as it is.
_PHASE_WORDS = {
    "data": "loading the tokenizer and data",
    "warmup": "warm-up steps (compiling)",
    "validation": "validating",
    "export": "quantizing and compressing the artifact",
    "eval": "scoring",
}


@dataclass(frozen=True, slots=True)
class Rendezvous:
    """Where a multi-node run's nodes meet, and how long torchrun waits for them."""

    endpoint: str
    nnodes: int
    timeout_s: float


@dataclass(slots=True)
class SeedProgress:
    """Where one seed's run stands, as far as its log lines tell."""

    index: int
    count: int
    seed: int
    started: float = field(default_factory=time.monotonic)
    wallclock_cap_s: float | None = None
    """Training's time cap (``MAX_WALLCLOCK_SECONDS``); None or 0 means no cap."""
    phase: Phase = "starting"
    step: int | None = None
    total: int | None = None
    train_loss: float | None = None
    train_time_ms: float | None = None
    step_avg_ms: float | None = None
    tokens_per_s: float | None = None
    val_bpb: float | None = None
    val_bpb_at: str | None = None
    """Which weights ``val_bpb`` scored: ``step N`` or the final evaluation's label."""
    batch_tokens: int | None = None
    activity: str | None = None
    """What the script said it is doing (a ``phase:`` line), until a log line says more."""
    activity_started: float | None = None
    last_line: str | None = None
    """The script's latest line of output, for scripts that print no ``phase:`` lines."""
    rendezvous: Rendezvous | None = None
    """Set while a multi-node run waits for its nodes; cleared by the script's first line."""

    def update(
        self,
        event: Event | None,
        log: ParsedLog | None = None,
        text: str | None = None,
        now: float | None = None,
    ) -> bool:
        """Fold one line's event in; return whether the view should show the change.

        ``log`` (what the reader has gathered so far) supplies the hyperparameters: the batch
        size for the throughput and the script's own time cap, which wins over the preset's.
        ``text`` is the line itself, for ``phase:`` lines and the last-line fallback.
        """
        if log is not None:
            self._read_hyperparameters(log)
        if text is not None and text.strip():
            self.last_line = text.strip()
            match = _PHASE_LINE.match(self.last_line)
            if match is not None:
                self.rendezvous = None
                self._enter(match["name"], match["detail"], now)
                return True
        if event is not None:
            self.rendezvous = None
        if isinstance(event, TrainStep | ValStep):
            self.activity = None
        if isinstance(event, TrainStep):
            self.phase = "training"
            self.step, self.total, self.train_loss = event.step, event.total, event.train_loss
            self._timing(event.train_time_ms, event.step_avg_ms)
            if event.tokens_per_s is not None:
                self.tokens_per_s = event.tokens_per_s
            elif self.batch_tokens and self.step_avg_ms:
                self.tokens_per_s = self.batch_tokens / (self.step_avg_ms / 1000.0)
            if self.total is not None and self.step >= self.total:
                self.phase = "evaluating"
            return True
        if isinstance(event, ValStep):
            self.phase = "training"
            self.step, self.total, self.val_bpb = event.step, event.total, event.val_bpb
            self.val_bpb_at = f"step {event.step}"
            self._timing(event.train_time_ms, event.step_avg_ms)
            if self.total is not None and self.step >= self.total:
                self.phase = "evaluating"
            return True
        if isinstance(event, StopEarly | SizeLine | ScoreLine):
            changed = self.phase != "evaluating"
            self.phase = "evaluating"
            if isinstance(event, StopEarly):
                self.train_time_ms = event.train_time_ms
                return True
            if isinstance(event, ScoreLine) and not event.exact:
                # The score so far replaces the last validation's, which is no longer news.
                self.val_bpb, self.val_bpb_at = event.val_bpb, event.label
                return True
            return changed
        return False

    def _enter(self, name: str, detail: str | None, now: float | None) -> None:
        if name == "training":
            self.phase, self.activity = "training", None
            return
        if name in ("export", "eval"):
            self.phase = "evaluating"
        words = _PHASE_WORDS.get(name, name)
        self.activity = f"{words} {detail}" if detail else words
        self.activity_started = now if now is not None else time.monotonic()

    def activity_text(self, now: float | None = None) -> str | None:
        """``validating step:50/150 (3s)``; the script's last line when it says no phase; the
        rendezvous countdown while the nodes have not met."""
        moment = now if now is not None else time.monotonic()
        if self.rendezvous is not None:
            left = max(self.rendezvous.timeout_s - self.elapsed_s(moment), 0.0)
            waiting = (
                f"waiting for {self.rendezvous.nnodes} nodes at {self.rendezvous.endpoint} "
                f"(torchrun gives up in {format_duration(left)})"
            )
            # torchrun's complaints meanwhile (a refused connection, a retry) say why it waits.
            return f"{waiting}; last output: {self.last_line[:80]}" if self.last_line else waiting
        if self.activity is not None:
            since = self.activity_started if self.activity_started is not None else moment
            # The time in the phase once there is one to show (a plain log line comes at 0s).
            if moment - since < 1.0:
                return self.activity
            return f"{self.activity} ({format_duration(moment - since)})"
        if self.phase == "starting":
            if self.last_line:
                return f"last output: {self.last_line[:100]}"
            # Before its first line the script is still starting up: torchrun, Python, torch.
            return "launching the script"
        return None

    def elapsed_s(self, now: float | None = None) -> float:
        return (now if now is not None else time.monotonic()) - self.started

    def training_eta_s(self) -> float | None:
        """Seconds of training left: the remaining steps at the current pace, or the time cap
        when it comes first. None before the first timed step and once training is over."""
        if self.phase != "training" or not self.step or self.total is None:
            return None
        if not self.step_avg_ms:
            return None
        left = (self.total - self.step) * self.step_avg_ms / 1000.0
        if self.wallclock_cap_s and self.train_time_ms is not None:
            left = min(left, max(self.wallclock_cap_s - self.train_time_ms / 1000.0, 0.0))
        return max(left, 0.0)

    def _timing(self, train_time_ms: float | None, step_avg_ms: float | None) -> None:
        if train_time_ms is not None:
            self.train_time_ms = train_time_ms
        if step_avg_ms is not None:
            self.step_avg_ms = step_avg_ms

    def _read_hyperparameters(self, log: ParsedLog) -> None:
        params = log.hyperparameters
        batch = params.get("train_batch_tokens")
        if batch is not None and batch.isdigit():
            self.batch_tokens = int(batch)
        cap = params.get("max_wallclock_seconds")
        if cap is not None:
            with contextlib.suppress(ValueError):
                self.wallclock_cap_s = float(cap)


def status_text(progress: SeedProgress, now: float | None = None) -> str:
    """The one-line status of a seed, shared by both views."""
    head, tail = _status_parts(progress, now)
    return " · ".join(head + tail)


def _status_parts(progress: SeedProgress, now: float | None) -> tuple[list[str], list[str]]:
    # Where the seed is, then the numbers; the live view puts the bar between the two.
    head = [f"seed {progress.index}/{progress.count} ({progress.seed})", progress.phase]
    activity = progress.activity_text(now)
    if activity is not None:
        head[-1] += f": {activity}"
    if progress.step is not None and progress.total is not None:
        head.append(f"step {progress.step}/{progress.total}")
    tail = []
    if progress.train_loss is not None:
        tail.append(f"loss {progress.train_loss:.4f}")
    if progress.tokens_per_s is not None:
        tail.append(f"{_si(progress.tokens_per_s)} tok/s")
    elapsed = format_duration(progress.elapsed_s(now))
    if progress.wallclock_cap_s:
        train = format_duration((progress.train_time_ms or 0.0) / 1000.0)
        cap = format_duration(progress.wallclock_cap_s)
        tail.append(f"elapsed {elapsed} (training {train} of {cap} cap)")
    else:
        tail.append(f"elapsed {elapsed}")
    eta = progress.training_eta_s()
    if eta is not None:
        tail.append(f"ETA {format_duration(eta)}")
    if progress.val_bpb is not None:
        at = f" ({progress.val_bpb_at})" if progress.val_bpb_at else ""
        tail.append(f"val_bpb {progress.val_bpb:.4f}{at}")
    return head, tail


def finished_text(outcome: SeedOutcome) -> str:
    score = outcome.log.score
    head = f"seed {outcome.seed}: "
    if outcome.stopped_by == "interrupt":
        return head + "interrupted"
    text = f"val_bpb {score.val_bpb:.4f} ({score.label})" if score is not None else "no score"
    if outcome.stopped_by == "failure":
        text += f", failed (exit status {outcome.exit_status})"
    if outcome.flags:
        text += f", flags: {', '.join(outcome.flags)}"
    return head + text


class RunObserver:
    """What the runner reports while it works; this base class ignores everything."""

    def seed_started(self, progress: SeedProgress, seed_dir: Path, env: Mapping[str, str]) -> None:
        """A seed's process is about to start."""

    def line(self, progress: SeedProgress, changed: bool) -> None:
        """A line came in; ``changed`` says whether it moved the progress on."""

    def seed_finished(self, outcome: SeedOutcome) -> None:
        """A seed ended (run.json is written)."""

    def stopping(self) -> None:
        """Ctrl-C: the runner is stopping the training processes."""

    def close(self) -> None:
        """The run is over; release the display."""


class PlainView(RunObserver):
    """Status lines for a log file or CI: one when something notable happens, and otherwise at
    most one every ``every_s`` seconds."""

    def __init__(
        self, console: Console, every_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._console = console
        self._every_s = every_s
        self._clock = clock
        self._last = float("-inf")
        self._last_phase: tuple[Phase, str | None] | None = None

    def seed_started(self, progress: SeedProgress, seed_dir: Path, env: Mapping[str, str]) -> None:
        self._print(
            f"seed {progress.index}/{progress.count} ({progress.seed}): running in {seed_dir}"
        )
        if progress.rendezvous is not None:
            self._print(status_text(progress))
        self._last = self._clock()
        self._last_phase = (progress.phase, progress.activity)

    def line(self, progress: SeedProgress, changed: bool) -> None:
        if not changed:
            return
        now = self._clock()
        where = (progress.phase, progress.activity)
        if where != self._last_phase or now - self._last >= self._every_s:
            self._print(status_text(progress))
            self._last = now
            self._last_phase = where

    def seed_finished(self, outcome: SeedOutcome) -> None:
        self._print(finished_text(outcome))

    def stopping(self) -> None:
        self._print("interrupted: stopping the training processes (Ctrl-C again to force)")

    def _print(self, text: str) -> None:
        self._console.print(escape(text), soft_wrap=True, highlight=False)


class LiveView(RunObserver):
    """A display that redraws in place: the seed, a step bar and the status line."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress: SeedProgress | None = None
        self._live = Live(
            get_renderable=self._render,
            console=console,
            refresh_per_second=4,
            transient=True,
        )
        self._started = False

    def seed_started(self, progress: SeedProgress, seed_dir: Path, env: Mapping[str, str]) -> None:
        self._progress = progress
        if not self._started:
            self._live.start()
            self._started = True
        self._live.console.print(
            f"[bold]seed {progress.index}/{progress.count}[/] ({progress.seed}): "
            f"log in {escape(str(seed_dir / 'train.log'))}",
            soft_wrap=True,
            highlight=False,
        )

    def line(self, progress: SeedProgress, changed: bool) -> None:
        if changed:
            self._live.refresh()

    def seed_finished(self, outcome: SeedOutcome) -> None:
        self._live.console.print(escape(finished_text(outcome)), soft_wrap=True, highlight=False)
        self._progress = None

    def stopping(self) -> None:
        self._live.console.print(
            "[yellow]interrupted:[/] stopping the training processes (Ctrl-C again to force)"
        )

    def close(self) -> None:
        if self._started:
            self._live.stop()
            self._started = False

    def _render(self) -> RenderableType:
        progress = self._progress
        if progress is None:
            return Text("")
        head, tail = _status_parts(progress, None)
        bar = ProgressBar(
            total=float(progress.total or 1),
            completed=float(progress.step or 0),
            width=min(40, max(10, self._console.width // 3)),
            pulse=progress.total is None,
        )
        top = Table.grid(padding=(0, 1))
        top.add_row(Text(" · ".join(head), no_wrap=True), bar)
        return Group(top, Text("  " + " · ".join(tail), overflow="ellipsis", no_wrap=True))


def format_duration(seconds: float, *, tenths_below_minute: bool = False) -> str:
    """``1h02m03s``, ``2m03s`` or ``3s`` (``3.2s`` with ``tenths_below_minute``)."""
    if tenths_below_minute and seconds < 59.95:
        return f"{max(seconds, 0.0):.1f}s"
    seconds = max(round(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _si(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"
