"""A seed's training-loss curve as one line of text, for the summary after ``pgolf train``.

The points come from the seed's train.log (its ``train_loss`` lines, read by the one log parser),
so the curve shows what the log says, for any script that prints the standard lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pgolf_cli.records.logs import LogReader, TrainStep

BLOCKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class LossCurve:
    steps: tuple[int, ...]
    losses: tuple[float, ...]

    def text(self, width: int = 40) -> str:
        """``6.9312 ▇▆▅▄▃▃▂▂▁▁ 3.1204 (steps 5-150)``; empty without points."""
        if not self.losses:
            return ""
        line = sparkline(self.losses, width)
        span = (
            f"step {self.steps[0]}"
            if len(self.steps) == 1
            else (f"steps {self.steps[0]}-{self.steps[-1]}")
        )
        return f"{self.losses[0]:.4f} {line} {self.losses[-1]:.4f} ({span})"


def read_curve(log_path: Path) -> LossCurve:
    """The ``train_loss`` points of the last run in ``log_path``; none when it cannot be read."""
    reader = LogReader()
    points: dict[int, float] = {}
    try:
        with log_path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                event = reader.feed(line)
                if isinstance(event, TrainStep):
                    if event.step < max(points, default=-1):
                        points = {}  # a second run in the same log starts over
                    points[event.step] = event.train_loss
    except OSError:
        return LossCurve((), ())
    steps = tuple(sorted(points))
    return LossCurve(steps, tuple(points[step] for step in steps))


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """One block character per point, the lowest value ``▁`` and the highest ``█``. More points
    than ``width`` are averaged in ``width`` consecutive groups; non-finite values show as ``·``."""
    if width < 1 or not values:
        return ""
    if len(values) > width:
        groups = [
            values[i * len(values) // width : (i + 1) * len(values) // width] for i in range(width)
        ]
        values = [sum(group) / len(group) for group in groups]
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "·" * len(values)
    low, high = min(finite), max(finite)
    top = len(BLOCKS) - 1
    chars = []
    for value in values:
        if not math.isfinite(value):
            chars.append("·")
        elif high == low:
            chars.append(BLOCKS[top // 2])
        else:
            chars.append(BLOCKS[round((value - low) / (high - low) * top)])
    return "".join(chars)
