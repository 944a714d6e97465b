"""`distill run` and one command per stage: load the recipe, hand a job to an executor, print the funnel."""

from __future__ import annotations

import inspect
import logging
import shutil
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from pipeline.cli.common import (
    AddressOpt,
    ArrayOpt,
    DpOpt,
    ExecutorOpt,
    ForceOpt,
    GpusPerTaskOpt,
    NumShardsOpt,
    PartitionOpt,
    QuietOpt,
    RecipeArg,
    RunDirOpt,
    SbatchArgOpt,
    ShardOpt,
    StagesOpt,
    SubmitOpt,
    TimeOpt,
    fail,
    print_error,
)
from pipeline.errors import RunFailed, UserError

log = logging.getLogger(__name__)

# Options only one executor takes (option -> (executor, flag)): given to another, they are an
# error, not silently ignored. Each is passed to that executor's constructor under its own name.
EXECUTOR_ONLY = {
    "array": ("slurm", "--array"),
    "partition": ("slurm", "--partition"),
    "gpus_per_task": ("slurm", "--gpus-per-task"),
    "time": ("slurm", "--time"),
    "sbatch_args": ("slurm", "--sbatch-arg"),
    "submit": ("slurm", "--dry-run"),
    "address": ("ray", "--address"),
}


def run_job(
    stages: list[str],
    recipe_path: Path,
    run_dir: Optional[Path],
    shard: int,
    num_shards: int,
    force: bool,
    quiet: bool,
    dp: int = 1,
    executor: str = "local",
    overrides: dict[str, Any] | None = None,
    executor_options: dict[str, Any] | None = None,
) -> None:
    """What every stage command does; bad input exits 2 (a run dir this command made is removed
    again when nothing was produced), a failed run exits 1. ``stages``: all of the recipe's when
    empty; ``executor_options``: the ``EXECUTOR_ONLY`` options given."""
    from pipeline.executors import get_executor
    from pipeline.preflight import load_checked_recipe
    from pipeline.runner import default_run_dir, has_outputs
    from pipeline.shards import check_shard

    try:
        recipe = load_checked_recipe(recipe_path)
        stages = _pick_stages(stages, recipe)
        run_dir = Path(run_dir or default_run_dir(recipe))
        for name in executor_options or {}:
            owner, flag = EXECUTOR_ONLY[name]
            if owner != executor:
                raise UserError(f"{flag} applies to --executor {owner} only (got --executor {executor})")
        runner = get_executor(executor, **({"dp": dp} if dp != 1 else {}), **(executor_options or {}))
        check_shard(shard, num_shards)  # before a log file is made in a run dir for nothing
    except UserError as exc:
        fail(exc)
    fresh = not run_dir.exists()
    try:
        _run(recipe, recipe_path, run_dir, stages, runner, shard, num_shards, force, quiet, overrides)
    except typer.Exit as exc:
        if exc.exit_code == 2 and fresh and not has_outputs(run_dir):
            shutil.rmtree(run_dir, ignore_errors=True)  # bad input leaves nothing behind
        raise


def _pick_stages(requested: list[str], recipe) -> list[str]:
    """The recipe's stages when none are named, else the named ones in the recipe's order."""
    from pipeline.stages import active_stages, input_stage_of, stage_class

    for name in requested:
        stage_class(name)  # an unknown name: the error lists the stages
        input_stage_of(recipe, name)  # one the recipe turns off: the error says how to turn it on
    active = active_stages(recipe)
    return [name for name in active if name in requested] if requested else active


def _run(recipe, recipe_path, run_dir, stages, runner, shard, num_shards, force, quiet, overrides) -> None:
    from pipeline.cli.output import run_output
    from pipeline.executors import Job
    from pipeline.status import run_status, unfinished
    from pipeline.status.render import print_summary

    with run_output(run_dir, "-".join(stages) if len(stages) == 1 else "run", quiet) as out:
        try:
            job = Job(
                recipe=recipe,
                recipe_path=recipe_path,
                run_dir=run_dir,
                stages=tuple(stages),
                shard=shard,
                num_shards=num_shards,
                force=force,
                overrides=overrides or {},
                progress=out.progress,
            )
            outcome = runner.run(job)
            if _submitted(outcome, out, quiet):
                return
        except UserError as exc:
            fail(exc, out.err)
        except RunFailed as exc:
            print_error(f"{exc}\nrun log: {out.log_path}", out.err)
            raise typer.Exit(1) from None
        except Exception as exc:  # a bug or a dying engine: the traceback is in the log, not on screen
            log.exception("run failed")
            print_error(f"{type(exc).__name__}: {exc}\nthe traceback and engine output are in {out.log_path}", out.err)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            print_error("interrupted; finished parts are kept: rerun the same command to resume", out.err)
            raise typer.Exit(130) from None
        out.progress.close()
        status = run_status(run_dir, slurm=False)  # this command's stages, not the jobs a run submitted
        left = unfinished(run_dir, list(stages), shard, num_shards)
        if outcome.waiting:
            left = [outcome.waiting]
        if quiet:
            out.out.print(status["dataset"] or str(run_dir))
        else:
            print_summary(out.out, status, list(stages), left)


def _submitted(outcome, out, quiet: bool) -> bool:
    """An executor that only submitted the job (slurm): say what and how to follow it, no funnel."""
    from pipeline.executors.slurm import Submitted

    if not isinstance(outcome, Submitted):
        return False
    out.progress.close()
    out.out.print(" ".join(outcome.job_ids) if quiet and outcome.job_ids else outcome.text, soft_wrap=True)
    return True


ValidateTestsOpt = Annotated[
    bool,
    typer.Option(
        "--validate-tests",
        help="Run each code problem's reference solution on its tests first; drop tests it fails, and problems "
        "whose tests it fails entirely (invalid_tests). Applies to this invocation; the pinned recipe is unchanged.",
    ),
]


def _all_options(
    recipe: RecipeArg,
    run_dir: RunDirOpt = None,
    shard: ShardOpt = 0,
    num_shards: NumShardsOpt = 1,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    dp: DpOpt = 1,
    executor: ExecutorOpt = "local",
    validate_tests: ValidateTestsOpt = False,
    stages: StagesOpt = None,
    array: ArrayOpt = None,
    partition: PartitionOpt = None,
    gpus_per_task: GpusPerTaskOpt = None,
    time: TimeOpt = None,
    sbatch_args: SbatchArgOpt = None,
    submit: SubmitOpt = True,
    address: AddressOpt = None,
) -> None:
    """The options of every stage command; each command shows the subset that applies to it."""


COMMON = ("recipe", "run_dir", "shard", "num_shards", "force", "quiet")
COMMANDS = {  # command -> (its own options, help)
    "ingest": (
        (),
        "Read problems (local JSONL/JSON/Parquet or Hub datasets) into the row schema; `kind: traces` sources "
        "also carry a teacher's response (the run then starts at verify).\n\n"
        "Rows without a problem or reference answer, and unreadable lines, go to ingest/rejected/ with a reason "
        "naming the file and line. A problem's records always land in one part.",
    ),
    "generate": (
        ("dp",),
        "Sample n long-CoT traces per problem from each teacher (vLLM engine or an OpenAI-compatible server).\n\n"
        "Teacher by teacher, all pending prompts of this worker go to the engine at once; finished requests are "
        "checkpointed every generate.checkpoint_every, so a killed run resumes with only the missing requests. "
        "Prompts over the context budget become rejected rows.",
    ),
    "verify": (
        ("validate_tests",),
        "Check every trace against its reference: math-verify, choice letters, code tests in the sandbox.\n\n"
        "Each check runs in a worker process with a hard time limit. Adds verdict, verdict_reason, verify_ms, and "
        "with a judge (verify.judge) verdict_rule / verdict_judge per verify.policy.",
    ),
    "grade": (
        (),
        "Grade each problem from its traces: pass rate (per teacher too), its spread across teachers, shortest and "
        "mean correct length, and a difficulty tier from grade.tiers.\n\n"
        "With grade.judge, a model also rates each problem 1-10 (difficulty_judged).",
    ),
    "shorten": (
        (),
        "Shorten verified traces by shorten.strategy (or per tier, shorten.by_tier): shortest_correct, "
        "first_correct, rewrite or paired.\n\n"
        "Every shortened trace is verified again; when it fails the original is kept and shorten_status says why.",
    ),
    "select": (
        (),
        "Select the traces that enter the dataset: pass-rate band, tiers, length caps, at most k per problem, "
        "quotas and a target size, hardest problems first.\n\n"
        "Compares the whole run, so it runs once after every part of the stage before it; every dropped row gets "
        "a reason in select/rejected/.",
    ),
    "export": (
        (),
        "Write the SFT dataset: Parquet parts with a chat `messages` column plus metadata.\n\n"
        "Only verified rows by default (export.include: all keeps every row).",
    ),
    "run": (
        ("dp", "executor", "stages", *EXECUTOR_ONLY),
        "Run every stage of a recipe in order, resuming finished parts.\n\n"
        "Rerunning does no work for parts already marked done; delete a part's .done marker (or pass --force) to "
        "redo it. Barrier stages (dedup) run once, after every shard of the step before them. Engine output goes "
        "to <run dir>/logs/; the funnel is printed at the end.\n\n"
        "--executor slurm --array N writes one sbatch array script per step to <run dir>/slurm/ and submits them "
        "chained (afterok), then returns; task logs go to <run dir>/logs/slurm-<job>_<task>.log and `distill status` "
        "shows the jobs. Run the same command again to submit what is left (after a failed task: only its unfinished "
        "tasks, then the steps after it).",
    ),
}


def _command(name: str, extra: tuple[str, ...], doc: str):
    """One stage command: ``_all_options``'s signature cut down to the options that apply."""

    def command(**options: Any) -> None:
        overrides = {"verify.validate_tests": True} if options.get("validate_tests") else None
        given = {k: options[k] for k in EXECUTOR_ONLY if k in options and options[k] != full.parameters[k].default}
        requested = [s.strip() for s in (options.get("stages") or "").split(",") if s.strip()]
        run_job(
            requested if name == "run" else [name],
            options["recipe"],
            options["run_dir"],
            options["shard"],
            options["num_shards"],
            options["force"],
            options["quiet"],
            dp=options.get("dp", 1),
            executor=options.get("executor", "local"),
            overrides=overrides,
            executor_options=given,
        )

    # eval_str: typer reads Annotated metadata (help, -q) only from evaluated annotations, and
    # inspect.signature does not evaluate a __signature__ set by hand.
    full = inspect.signature(_all_options, eval_str=True)
    command.__signature__ = full.replace(  # typer reads the options from here
        parameters=[p for n, p in full.parameters.items() if n in COMMON or n in extra]
    )
    command.__annotations__ = {n: a for n, a in _all_options.__annotations__.items() if n in COMMON + extra}
    command.__doc__ = doc
    return command


def register(app: typer.Typer) -> None:
    for name, (extra, doc) in COMMANDS.items():
        app.command(name)(_command(name, extra, doc))
