"""What every `distill` command shares: option types, consoles and how errors become exit codes.

Exit codes: 0 done, 2 bad input (``UserError``: a recipe, file or flag), 1 the run failed
(``RunFailed``, or any unexpected exception: the traceback goes to the run's log file).
Messages are printed as plain text: a ``[bold]`` in a path or a ``:smile:`` in a reason stays
exactly as written.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Callable, Optional, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from pipeline.errors import RunFailed, UserError

F = TypeVar("F", bound=Callable)


def plain_console(**kwargs) -> Console:
    """A console that never reads markup or emoji codes in what it prints."""
    return Console(markup=False, emoji=False, highlight=False, **kwargs)


def print_error(message: str, console: Console | None = None) -> None:
    line = Text("Error: ", style="bold red")
    line.append(message)
    (console or plain_console(stderr=True)).print(line, soft_wrap=True)


def fail(exc: UserError, console: Console | None = None) -> None:
    """Print ``Error: ...`` to stderr and exit with code 2 (bad input)."""
    print_error(str(exc), console)
    raise typer.Exit(2)


def handle_errors(fn: F) -> F:
    """Run a command, mapping ``UserError`` to exit 2 and a failed run to exit 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            fail(exc)
        except RunFailed as exc:
            print_error(str(exc))
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


RecipeArg = Annotated[Path, typer.Argument(help="Recipe YAML (see recipes/).", show_default=False)]
RunDirOpt = Annotated[Optional[Path], typer.Option("--run-dir", help="Run directory [default: runs/<recipe name>].")]
ShardOpt = Annotated[int, typer.Option("--shard", help="This worker's index, e.g. $SLURM_ARRAY_TASK_ID.")]
NumShardsOpt = Annotated[
    int, typer.Option("--num-shards", min=1, help="Workers sharing the run; worker i does parts p with p % n == i.")
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Redo this worker's parts even if marked done.")]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No tables: progress as plain lines on stderr, the dataset path on stdout."),
]
DpOpt = Annotated[
    int,
    typer.Option(
        "--dp",
        min=1,
        help="Data parallel: N generate worker processes on this node, each with its own GPU set "
        "(CUDA_VISIBLE_DEVICES); one failing stops the others.",
    ),
]
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where shards run: local (this machine), slurm (one sbatch array per step, chained; needs --array) "
        "or ray (each stage's shards as Ray tasks, one generate actor per GPU group).",
    ),
]
AddressOpt = Annotated[
    Optional[str],
    typer.Option(
        "--address",
        help="ray: the cluster to join (auto, HOST:PORT); default: start Ray on this machine (or join "
        "$RAY_ADDRESS) and stop it at the end. The run dir must be on storage every node sees.",
    ),
]
StagesOpt = Annotated[
    Optional[str],
    typer.Option(
        "--stages",
        help="Only these stages, comma-separated (e.g. ingest,verify): what one Slurm step runs. Default: all.",
    ),
]
# Options of --executor slurm. Tokens and keys are never written into the scripts: the tasks get
# the submitting shell's environment (sbatch --export=ALL).
ArrayOpt = Annotated[
    Optional[int],
    typer.Option("--array", min=1, help="slurm: array tasks per sharded step; task i does parts p with p % N == i."),
]
PartitionOpt = Annotated[Optional[str], typer.Option("--partition", help="slurm: the partition to submit to.")]
GpusPerTaskOpt = Annotated[
    Optional[int],
    typer.Option("--gpus-per-task", min=1, help="slurm: GPUs of each task of a sharded step (not of dedup/select)."),
]
TimeOpt = Annotated[Optional[str], typer.Option("--time", help="slurm: time limit of each task, e.g. 04:00:00.")]
SbatchArgOpt = Annotated[
    Optional[list[str]],
    typer.Option("--sbatch-arg", help="slurm: one more #SBATCH option for every step, e.g. --sbatch-arg=--mem=32G."),
]
SubmitOpt = Annotated[
    bool,
    typer.Option(
        "--submit/--dry-run",
        help="slurm: submit the chained jobs and return (default), or only write the scripts to <run dir>/slurm/ "
        "and print the sbatch commands.",
    ),
]
