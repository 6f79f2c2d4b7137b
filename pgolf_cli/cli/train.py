"""``pgolf train``: run a training script under torchrun, one seed after another."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pgolf_cli.cli._common import crash_exits_2, error, fail, is_seed_list, parse_seeds
from pgolf_cli.config import ConfigError, TrainConfig, load_train_config
from pgolf_cli.console import is_terminal, stderr_console, stdout_console

if TYPE_CHECKING:
    from pgolf_cli.runner.dataset import DataSelection
    from pgolf_cli.runner.outcome import RunOutcome, SeedOutcome
    from pgolf_cli.runner.presets import Preset
    from pgolf_cli.runner.progress import RunObserver

EXIT_OK = 0
EXIT_SEED_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEFAULT_SEED = 1337
DEFAULT_DATA = Path("data")
DEFAULT_OUT = Path("runs")
DATA_ENV = "PGOLF_DATA"
TORCH_MISSING = (
    "pgolf train needs PyTorch, which is not installed in this environment; install PyTorch "
    "for your platform and then the train extra (pip install 'pgolf[train]'), as the README's "
    '"The train extra" section shows'
)


@crash_exits_2
def train(
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            help="The training script. [dim]\\[default: [bold]script[/] from pgolf.toml, else "
            "the bundled train_gpt.py][/]",
            metavar="SCRIPT",
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[
        list[str] | None,
        typer.Option(
            "--seeds",
            "-s",
            help="Seeds to run, one after another: [bold]--seeds 42 1337 7[/] or "
            "[bold]--seeds 42,1337,7[/]. [dim]\\[default: 1337][/]",
            metavar="SEED...",
            show_default=False,
        ),
    ] = None,
    nproc_per_node: Annotated[
        int | None,
        typer.Option(
            "--nproc-per-node",
            min=1,
            metavar="N",
            help="Processes per node. [dim]\\[default: the number of GPUs, 1 without one][/]",
            show_default=False,
        ),
    ] = None,
    nnodes: Annotated[
        int, typer.Option("--nnodes", min=1, metavar="N", help="Nodes in a multi-node run.")
    ] = 1,
    node_rank: Annotated[
        int,
        typer.Option("--node-rank", min=0, metavar="R", help="This node's rank (0 .. N-1)."),
    ] = 0,
    rdzv_endpoint: Annotated[
        str | None,
        typer.Option(
            "--rdzv-endpoint",
            metavar="HOST:PORT",
            help="Rendezvous address of a multi-node run, the same on every node.",
            show_default=False,
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            "-p",
            metavar="NAME",
            help="Settings bundle: [bold]cpu-tiny[/], [bold]cpu[/] or [bold]challenge[/]. "
            "[dim]\\[default: cpu without a GPU, challenge with one][/]",
            show_default=False,
        ),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            "-e",
            metavar="KEY=VALUE",
            help="Set a variable for the script, over the preset; may repeat.",
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            metavar="DIR",
            help="The data folder (datasets/ and tokenizers/). [dim]\\[default: $PGOLF_DATA, "
            "else ./data][/]",
            show_default=False,
            file_okay=False,
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            metavar="NAME",
            help="The dataset under DIR/datasets. [dim]\\[default: the preset's][/]",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="The run's folder name. [dim]\\[default: <script>-<preset>-<date>-<time>][/]",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Where run folders go. [dim]\\[default: runs][/]",
            show_default=False,
            file_okay=False,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No live progress and no hints; the table still prints."
        ),
    ] = False,
) -> None:
    """Train: run the script under torchrun for each seed and record what it scored.

    Each seed gets [bold]<out>/<name>/seed<S>/[/] with the full [bold]train.log[/], the
    artifact and [bold]run.json[/]. A failed seed does not stop the seeds after it. The table
    of results goes to stdout; progress goes to stderr.

    Exit codes: [bold]0[/] every seed scored; [bold]1[/] a seed failed or printed no score; [bold]2[/] usage error or missing input; [bold]130[/] interrupted (Ctrl-C).
    """
    try:
        config = load_train_config(Path.cwd())
    except ConfigError as problem:
        fail(str(problem))

    try:
        settings = _settings(
            arguments or [],
            seeds,
            nproc_per_node,
            nnodes,
            node_rank,
            rdzv_endpoint,
            preset,
            env or [],
            data,
            dataset,
            name,
            out,
            config,
        )
        outcome = _run(settings, quiet=quiet)
    except KeyboardInterrupt:
        error("interrupted before training started")
        raise typer.Exit(EXIT_INTERRUPTED) from None

    _report(outcome, settings, quiet=quiet)
    if outcome.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if outcome.failed:
        raise typer.Exit(EXIT_SEED_FAILED)
    raise typer.Exit(EXIT_OK)


@dataclass(frozen=True, slots=True)
class _Settings:
    script: Path
    seeds: tuple[int, ...]
    preset: Preset
    nproc_per_node: int
    nnodes: int
    node_rank: int
    rdzv_endpoint: str | None
    overrides: dict[str, str]
    data_dir: Path
    data_explicit: bool
    dataset: str
    name: str
    out: Path


def _settings(
    arguments: list[str],
    seed_flags: list[str] | None,
    nproc_per_node: int | None,
    nnodes: int,
    node_rank: int,
    rdzv_endpoint: str | None,
    preset_name: str | None,
    env_flags: list[str],
    data: Path | None,
    dataset: str | None,
    name: str | None,
    out: Path | None,
    config: TrainConfig,
) -> _Settings:
    from pgolf_cli.runner.launch import LaunchError, parse_env_assignments
    from pgolf_cli.runner.presets import UnknownPresetError, get_preset

    script_argument, extra_seeds = _split_arguments(arguments, seed_flags is not None)
    seeds = parse_seeds([*(seed_flags or []), *extra_seeds]) if seed_flags is not None else None
    script = _script(script_argument, config)

    if not torch_installed():
        fail(TORCH_MISSING)
    chosen_preset = preset_name or config.preset
    has_cuda, gpus = False, 0
    if chosen_preset is None or (nproc_per_node or config.nproc_per_node) is None:
        has_cuda, gpus = detect_accelerator()
    try:
        resolved_preset = get_preset(chosen_preset or ("challenge" if has_cuda else "cpu"))
    except UnknownPresetError as problem:
        fail(f"--preset: {problem}")

    config_env = [f"{key}={value}" for key, value in (config.env or {}).items()]
    try:
        overrides = parse_env_assignments([*config_env, *env_flags])
    except LaunchError as problem:
        fail(str(problem))

    # --data and $PGOLF_DATA point at data that should already be there, so a typo fails instead
    # of building elsewhere. pgolf.toml's `data` is the project's own folder (like `out`): the
    # built-in dataset is built there on first use, as in ./data.
    if data is not None:
        data_dir, explicit = data, True
    elif os.environ.get(DATA_ENV):
        data_dir, explicit = Path(os.environ[DATA_ENV]), True
    elif config.data is not None:
        data_dir, explicit = config.data, False
    else:
        data_dir, explicit = DEFAULT_DATA, False

    run_name = name or (
        f"{script.stem}-{resolved_preset.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    )
    if not run_name or "/" in run_name or os.sep in run_name or run_name in (".", ".."):
        fail(f"--name {run_name!r} must be a plain folder name, without path separators")

    return _Settings(
        script=script,
        seeds=seeds or config.seeds or (DEFAULT_SEED,),
        preset=resolved_preset,
        nproc_per_node=nproc_per_node or config.nproc_per_node or (gpus if has_cuda else 1),
        nnodes=nnodes,
        node_rank=node_rank,
        rdzv_endpoint=rdzv_endpoint,
        overrides=overrides,
        data_dir=data_dir,
        data_explicit=explicit,
        dataset=dataset or resolved_preset.dataset,
        name=run_name,
        out=out or config.out or DEFAULT_OUT,
    )


def torch_installed() -> bool:
    # find_spec looks for the package without importing it (the import takes seconds).
    return importlib.util.find_spec("torch") is not None


def detect_accelerator() -> tuple[bool, int]:
    """Whether CUDA is usable, and how many GPUs there are.

    The only place ``pgolf train`` imports torch, and only when a default depends on the
    answer; the import takes a second or two.
    """
    try:
        import torch
    except ImportError:
        fail(TORCH_MISSING)
    if not torch.cuda.is_available():
        return False, 0
    return True, torch.cuda.device_count()


def _split_arguments(arguments: list[str], seeds_given: bool) -> tuple[str | None, list[str]]:
    # `--seeds 42 1337 7` leaves 1337 and 7 as positional arguments (an option takes one value
    # per flag); they are seeds when --seeds was given, and the one other argument is the script.
    scripts = [item for item in arguments if not (seeds_given and is_seed_list(item))]
    extra_seeds = [item for item in arguments if seeds_given and is_seed_list(item)]
    if len(scripts) > 1:
        fail(
            f"expected one training script, got {len(scripts)}: {', '.join(scripts)}; "
            "give the seeds as --seeds 42 1337 7"
        )
    if scripts and is_seed_list(scripts[0]) and not Path(scripts[0]).exists():
        fail(
            f"{scripts[0]!r} is not a script; to run seed {scripts[0]}, write --seeds {scripts[0]}"
        )
    return (scripts[0] if scripts else None), extra_seeds


def _script(argument: str | None, config: TrainConfig) -> Path:
    from pgolf_cli.runner.init import TemplateMissingError, template_path

    if argument is not None:
        script, source = Path(argument), "the script"
    elif config.script is not None:
        script, source = config.script, f"{config.source} [train] script"
    else:
        try:
            return template_path()
        except TemplateMissingError as problem:
            fail(str(problem))
    if not script.exists():
        fail(f"{script}: {source} does not exist; check the path, or run `pgolf init NAME`")
    if not script.is_file():
        fail(f"{script}: {source} is not a file; name a train_gpt.py-style Python script")
    return script


def _run(settings: _Settings, *, quiet: bool) -> RunOutcome:
    from pgolf_cli.runner.dataset import DataError, prepare
    from pgolf_cli.runner.launch import LaunchError, Topology
    from pgolf_cli.runner.run import RunExistsError, RunPlan, run_training

    topology = Topology(
        nproc_per_node=settings.nproc_per_node,
        nnodes=settings.nnodes,
        node_rank=settings.node_rank,
        rdzv_endpoint=settings.rdzv_endpoint,
    )
    try:
        topology.check()
    except LaunchError as problem:
        fail(str(problem))

    selection: DataSelection | None = None
    # With both paths set by --env the user has chosen the data; pgolf neither checks nor builds.
    if not {"DATA_PATH", "TOKENIZER_PATH"} <= settings.overrides.keys():

        def announce(selection: DataSelection) -> None:
            if not quiet:
                stderr_console().print(
                    f"building the built-in dataset {selection.name} in "
                    f"{escape(str(settings.data_dir))} (once; later runs reuse it)",
                    soft_wrap=True,
                )

        # The build's stages (corpus, tokenizer, shards) as `pgolf data build` shows them.
        from pgolf_cli.cli.data import _StageProgress

        stages = _StageProgress(enabled=not quiet and is_terminal(sys.stderr))
        try:
            with stages.progress:
                selection = prepare(
                    settings.data_dir,
                    settings.dataset,
                    explicit=settings.data_explicit,
                    before_build=announce,
                    progress=stages,
                )
        except DataError as problem:
            fail(str(problem))

    plan = RunPlan(
        name=settings.name,
        script=settings.script,
        seeds=settings.seeds,
        out_dir=settings.out,
        preset=settings.preset,
        topology=topology,
        data=selection,
        overrides=settings.overrides,
    )
    try:
        return run_training(plan, _observer(quiet))
    except RunExistsError as problem:
        fail(str(problem))
    except OSError as problem:
        fail(f"cannot write the run folder under {settings.out}: {problem.strerror or problem}")


def _observer(quiet: bool) -> RunObserver:
    from pgolf_cli.runner.progress import LiveView, PlainView, RunObserver

    if quiet:
        return RunObserver()
    if is_terminal(sys.stderr):
        return LiveView(stderr_console())
    return PlainView(stderr_console())


def _report(outcome: RunOutcome, settings: _Settings, *, quiet: bool) -> None:
    for seed in outcome.failed:
        _explain_failure(seed)
    if outcome.seeds:
        stdout_console().print(_table(outcome))
        if not quiet:
            _curves(outcome)
    if outcome.interrupted:
        error(
            f"interrupted; what ran so far is kept in {outcome.run_dir} "
            "(run.json says stopped_by: interrupt)"
        )
    if quiet or outcome.interrupted or not outcome.seeds:
        return
    console = stderr_console()
    console.print(f"runs in [bold]{escape(str(outcome.run_dir))}[/]", soft_wrap=True)
    console.print("next:", soft_wrap=True)
    console.print(
        f"  pgolf audit {escape(str(settings.script))}    [dim]# check the script against the "
        "rules[/]",
        soft_wrap=True,
    )
    console.print(
        f"  pgolf package --run {escape(str(outcome.run_dir))} --name NAME --author NAME "
        "--github-id LOGIN --blurb TEXT    [dim]# make the record folder[/]",
        soft_wrap=True,
    )


def _explain_failure(seed: SeedOutcome) -> None:
    if seed.exit_status is None:
        reason = "it could not start"
    elif seed.exit_status != 0:
        reason = f"exit status {seed.exit_status}"
    else:
        reason = "it printed no score line"
    log_path = seed.seed_dir / "train.log"
    if seed.first_error is not None:
        error(f"seed {seed.seed} failed ({reason}): {seed.first_error}; the full log is {log_path}")
        return
    error(f"seed {seed.seed} failed ({reason}); the full log is {log_path}, ending:")
    if seed.tail:
        stderr_console().print(
            "\n".join(f"  [dim]|[/] {escape(line)}" for line in seed.tail[-12:]), soft_wrap=True
        )


#: The summary's columns. "eval time (all passes)" is the whole evaluation phase of the run
#: (``total_eval_time``: roundtrip, sliding window and TTT together), not the scored pass alone.
COLUMNS = (
    "seed",
    "val_bpb",
    "val_loss",
    "bytes total",
    "steps",
    "train time",
    "eval time (all passes)",
)


def _table(outcome: RunOutcome) -> Table:
    table = Table(title=f"{outcome.run_dir}", title_justify="left")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column != "seed" else "left")
    table.add_column("status")
    for seed in outcome.seeds:
        log = seed.log
        score = log.score
        # A run that broke a limit or its own cap, or did not run as launched, is never "ok".
        status = (
            "interrupted"
            if seed.stopped_by == "interrupt"
            else "failed"
            if seed.stopped_by == "failure"
            else "flagged"
            if seed.flags
            else "ok"
        )
        if seed.flags:
            status += ": " + ", ".join(seed.flags)
        table.add_row(
            str(seed.seed),
            f"{score.val_bpb:.8f}" if score else "-",
            f"{score.val_loss:.8f}" if score else "-",
            f"{log.total_bytes:,}" if log.total_bytes is not None else "-",
            f"{log.steps}/{log.total_steps}" if log.steps is not None else "-",
            _seconds(log.train_time_ms),
            _seconds(log.eval_time_ms),
            escape(status),
        )
    return table


def _curves(outcome: RunOutcome) -> None:
    """Each seed's training loss from its train.log, as a one-line sparkline."""
    from pgolf_cli.run_folder import TRAIN_LOG
    from pgolf_cli.runner.curve import read_curve

    console = stdout_console()
    for seed in outcome.seeds:
        text = read_curve(seed.seed_dir / TRAIN_LOG).text()
        if text:
            console.print(f"train_loss seed {seed.seed}: {text}", soft_wrap=True, highlight=False)


def _seconds(milliseconds: float | None) -> str:
    from pgolf_cli.runner.progress import format_duration

    if milliseconds is None:
        return "-"
    return format_duration(milliseconds / 1000, tenths_below_minute=True)
