"""Pictures of training runs: train loss against step and time, and val_bpb per seed.

Every input is a train log in the end: a ``pgolf train`` run folder gives its seeds' logs, a
records folder its logs, a log file itself. The one log parser reads them
(:mod:`pgolf_cli.records.logs`); the curves are the training-progress lines of each log's last
run, and each seed's val_bpb is its score, all seeds of one input scored by the same
evaluation (:func:`~pgolf_cli.records.logs.common_scores`).

:func:`read_inputs` needs nothing beyond pgolf; :func:`draw` needs matplotlib (the ``plot``
extra) and says so when it is missing.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.logs import (
    LogReader,
    ParsedLog,
    TrainStep,
    common_scores,
    log_files,
    read_log,
)
from pgolf_cli.run_folder import seed_logs

PlotFormat = Literal["png", "svg"]
PLOT_FORMATS: tuple[PlotFormat, ...] = ("png", "svg")
_LABEL_MAX = 40


class PlotError(PgolfInputError):
    """An input cannot be drawn, or matplotlib is missing."""


@dataclass(frozen=True, slots=True)
class Curve:
    """One seed: its training-progress points and its score."""

    log: Path
    seed: int | None
    steps: tuple[int, ...]
    train_loss: tuple[float, ...]
    train_time_s: tuple[float | None, ...]
    val_bpb: float | None
    score_label: str | None

    @property
    def name(self) -> str:
        return f"seed {self.seed}" if self.seed is not None else self.log.name


@dataclass(frozen=True, slots=True)
class Group:
    """One input (a run, a records folder or a log) and its seeds."""

    label: str
    source: Path
    curves: tuple[Curve, ...]

    @property
    def scores(self) -> list[float]:
        return [c.val_bpb for c in self.curves if c.val_bpb is not None]


def input_logs(path: Path) -> list[Path]:
    """The train logs an input names: a log file, a records folder or a run folder."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise PlotError(
            str(path), "no such file or folder", "Pass run folders, records folders or train logs"
        )
    found = log_files(path) or (log_files(path / "logs") if (path / "logs").is_dir() else [])
    found = found or seed_logs(path)
    if not found:
        raise PlotError(
            str(path),
            "holds no train log (no *.log / *.txt, no seed<S>/train.log of a pgolf train run)",
            "Pass a run folder (runs/<name>), a records folder or a train log",
        )
    return found


def read_curve(path: Path, log: ParsedLog) -> list[TrainStep]:
    """The training-progress lines of the log's last run (the one ``log`` describes)."""
    reader = LogReader(file_name=path.name)
    points: list[tuple[int, TrainStep]] = []
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.split("\n"), start=1):
        event = reader.feed(line)
        if isinstance(event, TrainStep) and event.train_loss == event.train_loss:  # not NaN
            points.append((number, event))
    start = log.run_start_line or 0
    return [step for number, step in points if number >= start]


def logs_group(label: str, source: Path, paths: Sequence[Path]) -> Group:
    """The seeds of these logs, as one group; copies of one log count once."""
    logs: list[tuple[Path, ParsedLog]] = []
    for log_path in paths:
        parsed = read_log(log_path)  # raises a clear error for binary or non-UTF-8 files
        if parsed.sha256 in {other.sha256 for _, other in logs}:
            continue  # the same log shipped twice (train.log and train_seed<S>.log)
        logs.append((log_path, parsed))
    scored = [(p, log) for p, log in logs if log.score is not None]
    one_kind = dict(
        zip([p for p, _ in scored], common_scores([log for _, log in scored]), strict=True)
    )
    curves = []
    for log_path, parsed in logs:
        steps = read_curve(log_path, parsed)
        score = one_kind.get(log_path)
        curves.append(
            Curve(
                log=log_path,
                seed=parsed.seed,
                steps=tuple(step.step for step in steps),
                train_loss=tuple(step.train_loss for step in steps),
                train_time_s=tuple(
                    None if step.train_time_ms is None else step.train_time_ms / 1000
                    for step in steps
                ),
                val_bpb=None if score is None else score.val_bpb,
                score_label=None if score is None else score.label,
            )
        )
    if not any(curve.steps or curve.val_bpb is not None for curve in curves):
        raise PlotError(
            str(source),
            "has no training-progress line and no score line to draw",
            "Pass the logs of runs that trained (pgolf train writes them)",
        )
    curves.sort(key=lambda curve: (curve.seed is None, curve.seed or 0, curve.log.name))
    return Group(label=label, source=source, curves=tuple(curves))


def _label(path: Path) -> str:
    resolved = path.resolve()
    name = resolved.stem if path.is_file() else resolved.name
    if path.is_file() and resolved.parent.name.startswith("seed"):
        name = resolved.parent.parent.name  # runs/<name>/seed<S>/train.log: the run's name
    return name


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_MAX else label[: _LABEL_MAX - 1] + "…"


def read_inputs(paths: Sequence[Path]) -> list[Group]:
    """One group per input; logs of one run given one by one form the run's group (and are
    scored together, by one evaluation)."""
    entries: dict[str, tuple[Path, list[Path], bool]] = {}
    for path in paths:
        label, logs, is_file = _label(path), input_logs(path), path.is_file()
        if label in entries and is_file and entries[label][2]:
            entries[label][1].extend(logs)
            continue
        if label in entries:
            label = f"{label} ({path})"
        entries[label] = (path, list(logs), is_file)
    return [logs_group(label, source, logs) for label, (source, logs, _) in entries.items()]


def plot_format(path: Path) -> PlotFormat:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in PLOT_FORMATS:
        raise PlotError(
            str(path),
            f"has the suffix {path.suffix or '(none)'}; pgolf draws PNG or SVG",
            "Name the output *.png or *.svg",
        )
    return "png" if suffix == "png" else "svg"


def draw(groups: Sequence[Group], fmt: PlotFormat, *, title: str | None = None) -> bytes:
    """The picture as PNG or SVG bytes (the same bytes for the same input)."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError(
            "matplotlib",
            "is not installed, and pgolf draws with it",
            "Install the plot extra: pip install 'pgolf[plot]'",
        ) from None

    colours = [matplotlib.colormaps["tab10"](index) for index in range(10)]
    styles = ("-", "--", ":", "-.")
    # A fixed salt and no date make the SVG the same bytes on every run.
    with matplotlib.rc_context({"svg.hashsalt": "pgolf", "svg.fonttype": "none"}):
        figure = Figure(figsize=(15, 4.6), layout="constrained")
        by_step, by_time, scores = figure.subplots(1, 3)
        timed = False
        losses: list[float] = []
        for index, group in enumerate(groups):
            colour = colours[index % len(colours)]
            for number, curve in enumerate(group.curves):
                if not curve.steps:
                    continue
                # One legend entry per input (its colour); line styles tell the seeds apart.
                label = _short(group.label) if number == 0 else None
                style = styles[number % len(styles)]
                losses.extend(curve.train_loss)
                by_step.plot(
                    curve.steps, curve.train_loss, style, color=colour, label=label, lw=1.2
                )
                points = [
                    (t, loss)
                    for t, loss in zip(curve.train_time_s, curve.train_loss, strict=True)
                    if t is not None
                ]
                if points:
                    timed = True
                    by_time.plot(*zip(*points, strict=True), style, color=colour, lw=1.2)
            values = group.scores
            if values:
                gap = min(0.15, 0.6 / len(values))
                xs = [index + gap * (k - (len(values) - 1) / 2) for k in range(len(values))]
                scores.scatter(xs, values, color=colour, zorder=3)
                mean = statistics.fmean(values)
                scores.hlines(mean, index - 0.3, index + 0.3, color=colour, lw=2)
                scored = [c for c in group.curves if c.val_bpb is not None]
                for x, curve in zip(xs, scored, strict=True):
                    if curve.seed is not None:
                        scores.annotate(
                            str(curve.seed),
                            (x, curve.val_bpb or 0.0),
                            textcoords="offset points",
                            xytext=(5, 0),
                            fontsize=7,
                            va="center",
                        )
        if losses:
            # The first steps' loss (ln vocab, ~7-13) would flatten the rest of the curves.
            ordered = sorted(losses)
            top = ordered[int(0.9 * (len(ordered) - 1))] * 1.15
            for axes in (by_step, by_time):
                axes.set_ylim(min(ordered) * 0.95, max(top, min(ordered) * 1.05))
        by_step.set(xlabel="step", ylabel="train loss", title="Train loss by step")
        by_time.set(xlabel="training time (s)", ylabel="train loss", title="Train loss by time")
        if not timed:
            by_time.text(
                0.5, 0.5, "no train_time in the logs", ha="center", transform=by_time.transAxes
            )
        scores.set(
            ylabel="val_bpb (lower is better)",
            title="val_bpb per seed (bar: mean)",
            xticks=range(len(groups)),
            xlim=(-0.6, len(groups) - 0.4),
        )
        scores.set_xticklabels(
            [_short(g.label) for g in groups], rotation=15, ha="right", fontsize=8
        )
        for axes in (by_step, by_time, scores):
            axes.grid(True, alpha=0.3)
        if by_step.get_legend_handles_labels()[0]:
            by_step.legend(fontsize=7)
        if title:
            figure.suptitle(title)
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        figure.savefig(buffer, format=fmt, dpi=110, metadata=metadata)
    return buffer.getvalue()
