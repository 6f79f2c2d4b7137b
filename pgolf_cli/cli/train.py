"""``pgolf train``: run a training script under torchrun, one seed after another."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pgolf_cli.cli._common import crash_exits_2, error, fail, is_seed_list, parse_seeds
from pgolf_cli.config import ConfigError, TrainConfig, load_train_config
from pgolf_cli.console import StageProgress, is_terminal, stderr_console, stdout_console

if TYPE_CHECKING:
    from pgolf_cli.runner.dataset import DataSelection
    from pgolf_cli.runner.outcome import RunOutcome, SeedOutcome
    from pgolf_cli.runner.progress import RunObserver
    from pgolf_cli.runner.settings import TrainFlags, TrainSettings

EXIT_OK = 0
EXIT_SEED_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

TORCH_MISSING = (
    "pgolf train needs PyTorch, which is not installed in this environment; install PyTorch "
    "for your platform and then the train extra (pip install 'pgolf[train]'), as the README's "
    '"The train extra" section shows'
)

Script = Annotated[
    list[str] | None,
    typer.Argument(
        help="The training script. [dim]\\[default: [bold]script[/] from pgolf.toml, else "
        "the bundled train_gpt.py][/]",
        metavar="SCRIPT",
        show_default=False,
    ),
]
Seeds = Annotated[
    list[str] | None,
    typer.Option(
        "--seeds",
        "-s",
        help="Seeds to run, one after another: [bold]--seeds 42 1337 7[/] or "
        "[bold]--seeds 42,1337,7[/]. [dim]\\[default: 1337][/]",
        metavar="SEED...",
        show_default=False,
    ),
]
NprocPerNode = Annotated[
    int | None,
    typer.Option(
        "--nproc-per-node",
        min=1,
        metavar="N",
        help="Processes per node. [dim]\\[default: the number of GPUs, 1 without one][/]",
        show_default=False,
    ),
]
Nnodes = Annotated[
    int, typer.Option("--nnodes", min=1, metavar="N", help="Nodes in a multi-node run.")
]
NodeRank = Annotated[
    int, typer.Option("--node-rank", min=0, metavar="R", help="This node's rank (0 .. N-1).")
]
RdzvEndpoint = Annotated[
    str | None,
    typer.Option(
        "--rdzv-endpoint",
        metavar="HOST:PORT",
        help="Rendezvous address of a multi-node run, the same on every node.",
        show_default=False,
    ),
]
PresetName = Annotated[
    str | None,
    typer.Option(
        "--preset",
        "-p",
        metavar="NAME",
        help="Settings bundle: [bold]cpu-tiny[/], [bold]cpu[/] or [bold]challenge[/]. "
        "[dim]\\[default: cpu without a GPU, challenge with one][/]",
        show_default=False,
    ),
]
Env = Annotated[
    list[str] | None,
    typer.Option(
        "--env",
        "-e",
        metavar="KEY=VALUE",
        help="Set a variable for the script, over the preset; may repeat.",
        show_default=False,
    ),
]
Data = Annotated[
    Path | None,
    typer.Option(
        "--data",
        metavar="DIR",
        help="The data folder (datasets/ and tokenizers/). [dim]\\[default: $PGOLF_DATA, "
        "else [bold]data[/] from pgolf.toml, else ./data][/]",
        show_default=False,
        file_okay=False,
    ),
]
Dataset = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        metavar="NAME",
        help="The dataset under DIR/datasets. [dim]\\[default: the preset's][/]",
        show_default=False,
    ),
]
RunName = Annotated[
    str | None,
    typer.Option(
        "--name",
        metavar="NAME",
        help="The run's folder name. [dim]\\[default: <script>-<preset>-<date>-<time>][/]",
        show_default=False,
    ),
]
Out = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        metavar="DIR",
        help="Where run folders go. [dim]\\[default: [bold]out[/] from pgolf.toml, else runs][/]",
        show_default=False,
        file_okay=False,
    ),
]
TrainQuiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No live progress and no hints; the table still prints."),
]


@crash_exits_2
def train(
    arguments: Script = None,
    seeds: Seeds = None,
    nproc_per_node: NprocPerNode = None,
    nnodes: Nnodes = 1,
    node_rank: NodeRank = 0,
    rdzv_endpoint: RdzvEndpoint = None,
    preset: PresetName = None,
    env: Env = None,
    data: Data = None,
    dataset: Dataset = None,
    name: RunName = None,
    out: Out = None,
    quiet: TrainQuiet = False,
) -> None:
    """Train: run the script under torchrun for each seed and record what it scored.

    Each seed gets [bold]<out>/<name>/seed<S>/[/] with the full [bold]train.log[/], the
    artifact and [bold]run.json[/]. A failed seed does not stop the seeds after it. The table
    of results goes to stdout; progress goes to stderr.

    Exit codes: [bold]0[/] every seed scored; [bold]1[/] a seed failed or printed no score; [bold]2[/] usage error or missing input; [bold]130[/] interrupted (Ctrl-C).
    """
    from pgolf_cli.runner.settings import TrainFlags

    flags = TrainFlags(
        seeds=parse_seeds(seeds) if seeds is not None else None,
        nproc_per_node=nproc_per_node,
        nnodes=nnodes,
        node_rank=node_rank,
        rdzv_endpoint=rdzv_endpoint,
        preset=preset,
        env=env or [],
        data=data,
        dataset=dataset,
        name=name,
        out=out,
    )
    try:
        settings = _settings(arguments or [], flags)
        outcome = _run(settings, quiet=quiet)
    except KeyboardInterrupt:
        error("interrupted before training started")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _report(outcome, settings, quiet=quiet)
    if outcome.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_SEED_FAILED if outcome.failed else EXIT_OK)


def _settings(arguments: list[str], flags: TrainFlags) -> TrainSettings:
    from pgolf_cli.runner.launch import LaunchError
    from pgolf_cli.runner.settings import resolve_train

    try:
        config = load_train_config(Path.cwd())
    except ConfigError as problem:
        fail(str(problem))
    script = _script(_script_argument(arguments), config)
    if not torch_installed():
        fail(TORCH_MISSING)
    try:
        return resolve_train(script, flags, config, detect_accelerator)
    except LaunchError as problem:
        fail(str(problem))


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


def _script_argument(arguments: list[str]) -> str | None:
    # The seeds after `--seeds 42` are its own (see _common.spread_values); what is left is
    # the script, at most one.
    if len(arguments) > 1:
        fail(
            f"expected one training script, got {len(arguments)}: {', '.join(arguments)}; "
            "give the seeds as --seeds 42 1337 7"
        )
    if arguments and is_seed_list(arguments[0]) and not Path(arguments[0]).exists():
        fail(
            f"{arguments[0]!r} is not a script; to run seed {arguments[0]}, "
            f"write --seeds {arguments[0]}"
        )
    return arguments[0] if arguments else None


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


def _run(settings: TrainSettings, *, quiet: bool) -> RunOutcome:
    from pgolf_cli.runner.run import RunExistsError, RunPlan, run_training

    plan = RunPlan(
        name=settings.name,
        script=settings.script,
        seeds=settings.seeds,
        out_dir=settings.out,
        preset=settings.preset,
        topology=settings.topology,
        data=_data(settings, quiet=quiet),
        overrides=settings.overrides,
    )
    try:
        return run_training(plan, _observer(quiet))
    except RunExistsError as problem:
        fail(str(problem))
    except OSError as problem:
        fail(f"cannot write the run folder under {settings.out}: {problem.strerror or problem}")


def _data(settings: TrainSettings, *, quiet: bool) -> DataSelection | None:
    """The run's dataset, built first when it is missing and built in."""
    from pgolf_cli.runner.dataset import DataError, prepare

    # With both paths set by --env the user has chosen the data; pgolf neither checks nor builds.
    if {"DATA_PATH", "TOKENIZER_PATH"} <= settings.overrides.keys():
        return None

    def announce(selection: DataSelection) -> None:
        if not quiet:
            stderr_console().print(
                f"building the built-in dataset {selection.name} in "
                f"{escape(str(settings.data_dir))} (once; later runs reuse it)",
                soft_wrap=True,
            )

    # The build's stages (corpus, tokenizer, shards) as `pgolf data build` shows them.
    stages = StageProgress(enabled=not quiet and is_terminal(sys.stderr))
    try:
        with stages.progress:
            return prepare(
                settings.data_dir,
                settings.dataset,
                explicit=settings.data_explicit,
                before_build=announce,
                progress=stages,
            )
    except DataError as problem:
        fail(str(problem))


def _observer(quiet: bool) -> RunObserver:
    from pgolf_cli.runner.progress import LiveView, PlainView, RunObserver

    if quiet:
        return RunObserver()
    if is_terminal(sys.stderr):
        return LiveView(stderr_console())
    return PlainView(stderr_console())


def _report(outcome: RunOutcome, settings: TrainSettings, *, quiet: bool) -> None:
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
    from pgolf_cli.run_folder import TRAIN_LOG

    if seed.exit_status is None:
        reason = "it could not start"
    elif seed.exit_status != 0:
        reason = f"exit status {seed.exit_status}"
    else:
        reason = "it printed no score line"
    log_path = seed.seed_dir / TRAIN_LOG
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
