"""`distill`: one command per stage, plus `run` (all stages) and `status`. Parsing only."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from pipeline.errors import UserError

app = typer.Typer(
    help="Build long chain-of-thought SFT datasets by distillation: ingest -> generate -> verify -> export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)

RecipeArg = Annotated[Path, typer.Argument(help="Recipe YAML (see recipes/).", show_default=False)]
RunDirOpt = Annotated[Optional[Path], typer.Option("--run-dir", help="Run directory [default: runs/<recipe name>].")]
ShardOpt = Annotated[int, typer.Option("--shard", help="This worker's index, e.g. $SLURM_ARRAY_TASK_ID.")]
NumShardsOpt = Annotated[int, typer.Option("--num-shards", min=1, help="Workers sharing the run; worker i does parts p with p % n == i.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Redo this worker's parts even if marked done.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the final path.")]


def _setup_logging(quiet: bool) -> None:
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def _fail(exc: UserError) -> None:
    err_console.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _run(stages: list[str], recipe_path: Path, run_dir: Optional[Path], shard: int, num_shards: int,
         force: bool, quiet: bool) -> None:
    from pipeline.recipe import load_recipe
    from pipeline.run import default_run_dir, run_stages
    from pipeline.status import run_status
    from pipeline.summary import print_progress_line, print_summary

    _setup_logging(quiet)
    try:
        recipe = load_recipe(recipe_path)
        run_dir = run_dir or default_run_dir(recipe)
        run_stages(recipe, run_dir, stages, shard=shard, num_shards=num_shards, force=force,
                   on_part_done=None if quiet else print_progress_line)
    except UserError as exc:
        _fail(exc)
    status = run_status(run_dir)
    if quiet:
        print(status["dataset"] or run_dir)
    else:
        print_summary(status, stages)


def _stage_command(name: str, doc: str) -> None:
    def command(recipe: RecipeArg, run_dir: RunDirOpt = None, shard: ShardOpt = 0, num_shards: NumShardsOpt = 1,
                force: ForceOpt = False, quiet: QuietOpt = False) -> None:
        _run([name], recipe, run_dir, shard, num_shards, force, quiet)

    command.__doc__ = doc
    app.command(name)(command)


_stage_command("ingest", "Read problems (local JSONL/JSON/Parquet or Hub datasets) into the row schema.\n\n"
               "Rows without a problem or reference answer, and unreadable lines, go to ingest/rejected/ "
               "with a reason naming the file and line.")
_stage_command("generate", "Sample n long-CoT traces per problem from the recipe's teacher with vLLM.\n\n"
               "One engine per process, one engine call per part; prompts over the context budget become "
               "rejected rows (prompt_too_long).")
_stage_command("verify", "Check every trace's final answer against the reference (math: math-verify).\n\n"
               "Runs in worker processes with a hard per-row time limit; adds verdict, verdict_reason, verify_ms.")
_stage_command("export", "Write the SFT dataset: Parquet parts with a chat `messages` column plus metadata.\n\n"
               "Only verified rows by default (export.include: all keeps every row).")


@app.command("run")
def run_command(recipe: RecipeArg, run_dir: RunDirOpt = None, shard: ShardOpt = 0, num_shards: NumShardsOpt = 1,
                force: ForceOpt = False, quiet: QuietOpt = False) -> None:
    """Run every stage of a recipe in order (ingest, generate, verify, export), resuming finished parts.

    Rerunning does no work for parts already marked done; delete a part's .done marker (or pass
    --force) to redo it. The same command runs as a Slurm array task with --shard/--num-shards.
    """
    from pipeline.stages import STAGE_ORDER

    _run(list(STAGE_ORDER), recipe, run_dir, shard, num_shards, force, quiet)


@app.command("status")
def status_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output for schedulers.")] = False,
) -> None:
    """Show per-stage progress of a run: parts done/total, rows kept/rejected, drop reasons."""
    from pipeline.status import run_status
    from pipeline.summary import print_summary

    if not run_dir.is_dir():
        _fail(UserError(f"{run_dir}: run directory not found"))
    status = run_status(run_dir)
    if as_json:
        sys.stdout.write(json.dumps(status, indent=2) + "\n")
    else:
        print_summary(status, None)


def main() -> None:
    app()
