"""`distill`: one command per stage, plus `run` (all stages) and `status`. Parsing only."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli_common import fail as _fail
from pipeline.errors import UserError

app = typer.Typer(
    help="Build long chain-of-thought SFT datasets by distillation: ingest -> generate -> verify -> export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help text: paragraphs rewrapped, brackets shown as written
)

RecipeArg = Annotated[Path, typer.Argument(help="Recipe YAML (see recipes/).", show_default=False)]
RunDirOpt = Annotated[Optional[Path], typer.Option("--run-dir", help="Run directory [default: runs/<recipe name>].")]
ShardOpt = Annotated[int, typer.Option("--shard", help="This worker's index, e.g. $SLURM_ARRAY_TASK_ID.")]
NumShardsOpt = Annotated[int, typer.Option("--num-shards", min=1, help="Workers sharing the run; worker i does parts p with p % n == i.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Redo this worker's parts even if marked done.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the final path.")]


def _setup_logging(quiet: bool) -> None:
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def _run(stages: list[str], recipe_path: Path, run_dir: Optional[Path], shard: int, num_shards: int,
         force: bool, quiet: bool, validate_tests: bool = False, dp: int = 1) -> None:
    from pipeline.recipe import load_recipe
    from pipeline.run import default_run_dir, run_stages
    from pipeline.status import run_status
    from pipeline.summary import print_progress_line, print_summary

    _setup_logging(quiet)
    try:
        recipe = load_recipe(recipe_path)
        if not stages:  # `run`: every stage the recipe turns on
            from pipeline.stages import active_stages

            stages = active_stages(recipe)
        if validate_tests:
            recipe.verify.validate_tests = True
        run_dir = run_dir or default_run_dir(recipe)
        progress = None if quiet else print_progress_line
        if dp > 1 and "generate" in stages:
            from pipeline.data_parallel import run_workers, worker_commands

            before = stages[:stages.index("generate")]
            run_stages(recipe, run_dir, before, shard=shard, num_shards=num_shards, force=force, on_part_done=progress)
            run_workers(worker_commands(recipe, recipe_path, run_dir, shard, num_shards, dp, force))
            stages = stages[stages.index("generate") + 1:]
        run_stages(recipe, run_dir, stages, shard=shard, num_shards=num_shards, force=force, on_part_done=progress)
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
DpOpt = Annotated[int, typer.Option("--dp", min=1, help="Data parallel: N generate worker processes on this "
                                     "node, each with its own GPU set (CUDA_VISIBLE_DEVICES).")]


@app.command("generate")
def generate_command(recipe: RecipeArg, run_dir: RunDirOpt = None, shard: ShardOpt = 0, num_shards: NumShardsOpt = 1,
                     force: ForceOpt = False, quiet: QuietOpt = False, dp: DpOpt = 1) -> None:
    """Sample n long-CoT traces per problem from each teacher (vLLM engine or an OpenAI-compatible server).

    Teacher by teacher, all pending prompts of this worker go to the engine at once; finished
    requests are checkpointed every generate.checkpoint_every, so a killed run resumes with
    only the missing requests. Prompts over the context budget become rejected rows.
    """
    _run(["generate"], recipe, run_dir, shard, num_shards, force, quiet, dp=dp)



@app.command("verify")
def verify_command(recipe: RecipeArg, run_dir: RunDirOpt = None, shard: ShardOpt = 0, num_shards: NumShardsOpt = 1,
                   force: ForceOpt = False, quiet: QuietOpt = False,
                   validate_tests: Annotated[bool, typer.Option(
                       "--validate-tests", help="Run each code problem's reference solution on its tests first; "
                       "drop tests it fails, and problems whose tests it fails entirely (invalid_tests).")] = False,
                   ) -> None:
    """Check every trace against its reference: math-verify, choice letters, code tests in the sandbox.

    Each check runs in a worker process with a hard time limit. Adds verdict, verdict_reason,
    verify_ms, and with a judge (verify.judge) verdict_rule / verdict_judge per verify.policy.
    """
    _run(["verify"], recipe, run_dir, shard, num_shards, force, quiet, validate_tests)

_stage_command("export", "Write the SFT dataset: Parquet parts with a chat `messages` column plus metadata.\n\n"
               "Only verified rows by default (export.include: all keeps every row).")


@app.command("run")
def run_command(recipe: RecipeArg, run_dir: RunDirOpt = None, shard: ShardOpt = 0, num_shards: NumShardsOpt = 1,
                force: ForceOpt = False, quiet: QuietOpt = False, dp: DpOpt = 1) -> None:
    """Run every stage of a recipe in order (ingest, generate, verify, export), resuming finished parts.

    Rerunning does no work for parts already marked done; delete a part's .done marker (or pass
    --force) to redo it. The same command runs as a Slurm array task with --shard/--num-shards.
    """
    _run([], recipe, run_dir, shard, num_shards, force, quiet, dp=dp)


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


@app.command("serve-embedded")
def serve_embedded_command(
    teacher: Annotated[str, typer.Option("--teacher", help="Embedded teacher to serve.")] = "embedded:smollm2-135m",
    host: Annotated[str, typer.Option("--host", help="Address to bind; loopback keeps it private.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8011,
    max_model_len: Annotated[Optional[int], typer.Option("--max-model-len", help="Context length.")] = None,
) -> None:
    """Serve an embedded teacher with vLLM's OpenAI-compatible server (for backend: openai).

    The model is served under its teacher name, so a recipe teacher entry reads
    {model: embedded:smollm2-135m, backend: openai, base_url: http://127.0.0.1:8011/v1}.
    """
    from pipeline.serve import exec_server

    try:
        exec_server(teacher, host, port, max_model_len)
    except UserError as exc:
        _fail(exc)


def _user_errors(fn):
    """Run a command, turning UserError into the one-line exit-2 error."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            _fail(exc)

    return wrapper


from pipeline import cli_clean  # noqa: E402  (kept apart: flags only, no logic)

app.command("dedup")(_user_errors(cli_clean.dedup))
app.command("decontaminate")(_user_errors(cli_clean.decontaminate))

from pipeline.cli_check import check_app  # noqa: E402

app.add_typer(check_app, name="check")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
