"""Running the seeds of a training run, one after another.

For each seed: a folder ``<out>/<name>/seed<S>/``, the script under torchrun with that folder as
the working directory, every output line copied to ``train.log`` and parsed as it arrives, and
``run.json`` at the start and at the end.

A seed that fails (non-zero exit status, or no score line) does not stop the run: seeds are
independent and each costs minutes to hours, so the others still run and the failure shows in
its run.json and in the outcome. Ctrl-C (or SIGTERM) stops the current seed's processes (SIGINT
to their process group, SIGTERM after a grace period, SIGKILL as a last resort), records the
seed as interrupted and runs no further seeds.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from pgolf_cli.records.logs import LogReader
from pgolf_cli.run_folder import (
    RUN_JSON,
    TRAIN_LOG,
    StoppedBy,
    node_folder,
    seed_folder,
    write_run_json,
)
from pgolf_cli.runner.dataset import DataSelection
from pgolf_cli.runner.launch import RDZV_JOIN_TIMEOUT_S, Topology, seed_env, torchrun_command
from pgolf_cli.runner.manifest import SeedRun, now, run_manifest
from pgolf_cli.runner.outcome import RunOutcome, SeedOutcome
from pgolf_cli.runner.presets import Preset
from pgolf_cli.runner.progress import Rendezvous, RunObserver, SeedProgress

TAIL_LINES = 30
_ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception)(?::|$)")


class RunExistsError(FileExistsError):
    """The run folder is already there; pgolf never mixes two runs in one folder."""


@dataclass(frozen=True, slots=True)
class RunPlan:
    """Everything a run needs, decided before anything starts."""

    name: str
    script: Path
    seeds: tuple[int, ...]
    out_dir: Path
    preset: Preset
    topology: Topology = field(default_factory=Topology)
    data: DataSelection | None = None
    overrides: Mapping[str, str] = field(default_factory=dict)
    launcher: tuple[str, ...] | None = None
    """Run the script as ``launcher + (script,)`` instead of under torchrun (one process; for
    tests and debugging)."""
    grace_s: float = 10.0
    """How long stopping processes get after each signal before the next, harder one."""

    @property
    def run_dir(self) -> Path:
        rank = self.topology.node_rank if self.topology.nnodes > 1 else 0
        return self.out_dir / node_folder(self.name, rank)

    def command(self, seed: int) -> list[str]:
        script = self.script.resolve()
        if self.launcher is not None:
            return [*self.launcher, str(script)]
        return torchrun_command(script, self.topology, rdzv_id=f"pgolf-seed{seed}")

    def env(self, seed: int) -> dict[str, str]:
        return seed_env(
            seed=seed,
            run_id=f"{self.name}-seed{seed}",
            data=self.data,
            preset_env=self.preset.env,
            overrides=self.overrides,
        )


def run_training(plan: RunPlan, observer: RunObserver | None = None) -> RunOutcome:
    """Run every seed of ``plan`` and return what happened.

    Raises :class:`RunExistsError` when the run folder exists and :class:`OSError` when a
    folder or file cannot be written; a training script that fails is an outcome, not an error.
    """
    watcher = observer or RunObserver()
    run_dir = plan.run_dir
    try:
        run_dir.mkdir(parents=True)
    except FileExistsError:
        raise RunExistsError(
            f"{run_dir} already exists; pick another --name or move the old run away"
        ) from None

    outcomes: list[SeedOutcome] = []
    interrupted = False
    try:
        with _sigterm_as_interrupt():
            for index, seed in enumerate(plan.seeds, start=1):
                outcome = _run_seed(plan, index, seed, watcher)
                outcomes.append(outcome)
                watcher.seed_finished(outcome)
                if outcome.stopped_by == "interrupt":
                    interrupted = True
                    break
    except KeyboardInterrupt:
        # Between two seeds, with no process running: nothing to stop, nothing half written.
        interrupted = True
    finally:
        watcher.close()
    return RunOutcome(run_dir=run_dir, seeds=tuple(outcomes), interrupted=interrupted)


def _run_seed(plan: RunPlan, index: int, seed: int, watcher: RunObserver) -> SeedOutcome:
    seed_dir = plan.run_dir / seed_folder(seed)
    seed_dir.mkdir()
    env = plan.env(seed)
    command = plan.command(seed)
    run = SeedRun(
        name=plan.name,
        seed=seed,
        script=plan.script.resolve(),
        code_sha256=hashlib.sha256(plan.script.read_bytes()).hexdigest(),
        command=command,
        env=env,
        cwd=seed_dir.resolve(),
        preset=plan.preset.name,
        topology=plan.topology,
        data=plan.data,
        started_at=now(),
    )
    manifest_path = seed_dir / RUN_JSON
    reader = LogReader()
    write_run_json(manifest_path, run_manifest(run, reader.result()))

    progress = SeedProgress(
        index=index,
        count=len(plan.seeds),
        seed=seed,
        wallclock_cap_s=_cap(env),
        rendezvous=_rendezvous(plan),
    )
    watcher.seed_started(progress, seed_dir, env)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    first_error: list[str] = []
    interrupted = False
    exit_status: int | None = None

    with (seed_dir / TRAIN_LOG).open("w", encoding="utf-8") as log_file:

        def take(line: str) -> None:
            log_file.write(line)
            log_file.flush()
            text = line.rstrip("\n")
            tail.append(text)
            if not first_error and _ERROR_LINE.match(text):
                first_error.append(text)
            event = reader.feed(line)
            watcher.line(progress, progress.update(event, reader.result(), text))

        try:
            process = subprocess.Popen(
                command,
                cwd=seed_dir,
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
                # Its own process group: the terminal's Ctrl-C reaches pgolf only, and pgolf
                # stops torchrun and its workers together, in order.
                start_new_session=True,
            )
        except OSError as problem:
            take(f"pgolf: could not start {command[0]}: {problem}\n")
        else:
            assert process.stdout is not None
            lines = _Lines(process.stdout)
            try:
                _pump(lines, take, deadline=None)
                exit_status = process.wait()
            except KeyboardInterrupt:
                interrupted = True
                watcher.stopping()
                exit_status = _stop(process, lines, take, plan.grace_s)

    log = reader.result()
    artifact = _artifact(seed_dir)
    stopped_by: StoppedBy | None = None
    if interrupted:
        stopped_by = "interrupt"
    elif exit_status != 0 or log.score is None:
        stopped_by = "failure"
    record = run_manifest(
        run,
        log,
        finished_at=now(),
        exit_status=exit_status,
        stopped_by=stopped_by,
        artifact=artifact,
    )
    write_run_json(manifest_path, record)
    return SeedOutcome(
        seed=seed,
        seed_dir=seed_dir,
        exit_status=exit_status,
        stopped_by=stopped_by,
        log=log,
        flags=tuple(record.flags),
        artifact=artifact,
        tail=tuple(tail),
        first_error=first_error[0] if first_error else None,
    )


_EOF = object()
_Take = Callable[[str], None]


class _Lines:
    """The process's output, read by a thread so the main thread can wait with a timeout (and
    take Ctrl-C) instead of blocking in a read."""

    def __init__(self, stream: IO[str]) -> None:
        self.queue: queue.Queue[object] = queue.Queue()
        self.done = False
        thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        thread.start()

    def _read(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                self.queue.put(line)
        except (OSError, ValueError):
            pass
        finally:
            self.queue.put(_EOF)


def _pump(lines: _Lines, take: _Take, *, deadline: float | None) -> bool:
    """Hand lines to ``take`` until the output ends (True) or ``deadline`` passes (False)."""
    while not lines.done:
        timeout = 0.1 if deadline is None else min(0.1, max(deadline - time.monotonic(), 0.0))
        try:
            item = lines.queue.get(timeout=timeout)
        except queue.Empty:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            continue
        if item is _EOF:
            lines.done = True
        else:
            assert isinstance(item, str)
            take(item)
    return True


def _stop(process: subprocess.Popen[str], lines: _Lines, take: _Take, grace_s: float) -> int:
    """Stop the process group: SIGINT, then SIGTERM, then SIGKILL, each after ``grace_s``
    without an exit. Output keeps flowing to the log meanwhile; another Ctrl-C skips ahead."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        _signal_group(process, sig)
        try:
            deadline = time.monotonic() + (grace_s if sig != signal.SIGKILL else 5.0)
            _pump(lines, take, deadline=deadline)
            remaining = max(deadline - time.monotonic(), 0.0)
            return process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:
            continue
    return process.wait()


def _signal_group(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _artifact(seed_dir: Path) -> Path | None:
    candidates = sorted(seed_dir.glob("final_model.*.ptz"), key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None


def _rendezvous(plan: RunPlan) -> Rendezvous | None:
    topology = plan.topology
    if plan.launcher is not None or topology.nnodes == 1 or topology.rdzv_endpoint is None:
        return None
    return Rendezvous(topology.rdzv_endpoint, topology.nnodes, RDZV_JOIN_TIMEOUT_S)


def _cap(env: Mapping[str, str]) -> float | None:
    try:
        return float(env["MAX_WALLCLOCK_SECONDS"])
    except (KeyError, ValueError):
        return None


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (a scheduler ending the job) like Ctrl-C, so the children are stopped and
    the run is recorded; outside the main thread signals cannot be handled, so leave them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["RunExistsError", "RunPlan", "run_training"]
