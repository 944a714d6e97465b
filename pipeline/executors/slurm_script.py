"""The text Slurm sees: one sbatch array script per step, the sbatch command lines that chain
them, and the `distill run` command that submits (or resubmits) a run.

Everything a task needs is in its script (#SBATCH lines, the `distill run --stages ...` line);
what changes between submissions (which array indices, which job to wait for) is on the sbatch
command line, so a resubmission reuses the same scripts. No environment value is written into a
script: tasks get the submitting shell's environment (``--export=ALL``), tokens included.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import UserError
from pipeline.executors.base import Step

SCRIPT_DIR = "slurm"
LOG_PATTERN = "slurm-%A_%a.log"  # %A: the array's job id, %a: the task index


@dataclass(frozen=True)
class SlurmSettings:
    """What `distill run --executor slurm` was asked for; everything else comes from the job."""

    array: int  # tasks per sharded step; task i does parts p with p % array == i
    partition: str | None = None
    gpus_per_task: int | None = None
    time: str | None = None
    sbatch_args: tuple[str, ...] = ()
    dp: int = 1


def script_dir(run_dir: Path) -> Path:
    return Path(run_dir) / SCRIPT_DIR


def script_path(run_dir: Path, number: int, step: Step) -> Path:
    """``<run_dir>/slurm/step-2-select.sbatch``: numbered from 1, named by its stages."""
    return script_dir(run_dir) / f"step-{number}-{'-'.join(step.stages)}.sbatch"


def array_spec(indices: list[int]) -> str:
    """Slurm's ``--array`` syntax for a set of task indices.

    >>> array_spec([0, 1, 2, 5, 7, 8])
    '0-2,5,7-8'
    """
    ranges: list[list[int]] = []
    for i in sorted(set(indices)):
        if ranges and i == ranges[-1][1] + 1:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def task_command(recipe_path: Path, run_dir: Path, step: Step, settings: SlurmSettings) -> list[str]:
    """What one array task runs: this interpreter's `distill run` on the step's stages, for its
    shard; a barrier step is one task over every part."""
    # sys.executable as is, not resolved: a venv's python is a symlink that must stay one.
    argv = [sys.executable, "-m", "pipeline.cli", "run", str(recipe_path), "--run-dir", str(run_dir)]
    argv += ["--stages", ",".join(step.stages)]
    if step.barrier:
        argv += ["--shard", "0", "--num-shards", "1"]
    else:
        argv += ["--shard", "$SLURM_ARRAY_TASK_ID", "--num-shards", str(settings.array)]
        if settings.dp > 1:
            argv += ["--dp", str(settings.dp)]
    return argv


def script_text(
    recipe_path: Path, run_dir: Path, name: str, number: int, steps: list[Step], settings: SlurmSettings
) -> str:
    """The sbatch script of step ``number`` (1-based) of ``steps``."""
    step = steps[number - 1]
    what = (
        "one task over every part: it compares the whole run"
        if step.barrier
        else f"task i does parts p with p % {settings.array} == i"
    )
    directives = [
        f"--job-name=distill-{name}-{step.stages[0]}",
        f"--output={Path(run_dir) / 'logs' / LOG_PATTERN}",
        "--open-mode=append",  # a requeued task adds to its log instead of replacing it
        "--requeue",  # safe: a rerun task skips the parts it marked done
        "--export=ALL",
        "--ntasks=1",
    ]
    if settings.partition:
        directives.append(f"--partition={settings.partition}")
    if settings.gpus_per_task and not step.barrier:  # dedup and select compare rows: no model
        directives.append(f"--gpus-per-task={settings.gpus_per_task}")
    if settings.time:
        directives.append(f"--time={settings.time}")
    directives += settings.sbatch_args
    command = " ".join(
        '"$SLURM_ARRAY_TASK_ID"' if a == "$SLURM_ARRAY_TASK_ID" else shlex.quote(a)
        for a in task_command(recipe_path, run_dir, step, settings)
    )
    lines = [
        "#!/bin/bash",
        *(f"#SBATCH {_directive(d)}" for d in directives),
        f"# cotdistill run {run_dir}, step {number} of {len(steps)}: {', '.join(step.stages)} ({what}).",
        "# Written by `distill run --executor slurm`; --array and --dependency are given on the sbatch",
        "# command line. The environment is the submitting shell's (--export=ALL): no secret is stored here.",
        "set -euo pipefail",
        f"exec {command}",
    ]
    return "\n".join(lines) + "\n"


def _directive(text: str) -> str:
    if any(c.isspace() for c in text):  # sbatch splits #SBATCH lines at blanks; it has no quoting we can rely on
        raise UserError(f"{text!r}: an #SBATCH option cannot hold spaces (a run dir or --sbatch-arg with a blank)")
    return text


def sbatch_argv(script: Path, indices: list[int], after: str | None) -> list[str]:
    """Submit ``script`` as an array over ``indices``; it starts once job ``after`` succeeded,
    and is cancelled (not left pending forever) if that job fails."""
    argv = ["sbatch", "--parsable", f"--array={array_spec(indices)}"]
    if after is not None:
        argv += [f"--dependency=afterok:{after}", "--kill-on-invalid-dep=yes"]
    return [*argv, str(script)]


def shell_lines(plan: list[tuple[Path, list[int]]]) -> list[str]:
    """The chain of sbatch commands as shell lines that can be pasted: ``j2=$(sbatch ... afterok:$j1 ...)``."""
    lines = []
    for number, (script, indices) in enumerate(plan, start=1):
        argv = sbatch_argv(script, indices, f"$j{number - 1}" if number > 1 else None)
        text = " ".join(a if a.startswith("--dependency=") else shlex.quote(a) for a in argv)
        lines.append(f"j{number}=$({text})")
    return lines


def run_command(recipe_path: Path, run_dir: Path, settings: SlurmSettings) -> str:
    """The `distill run` command that submits what is left of the run (also after a failure)."""
    argv = ["distill", "run", str(recipe_path), "--run-dir", str(run_dir), "--executor", "slurm"]
    argv += ["--array", str(settings.array)]
    if settings.partition:
        argv += ["--partition", settings.partition]
    if settings.gpus_per_task:
        argv += ["--gpus-per-task", str(settings.gpus_per_task)]
    if settings.time:
        argv += ["--time", settings.time]
    if settings.dp > 1:
        argv += ["--dp", str(settings.dp)]
    argv += [f"--sbatch-arg={a}" for a in settings.sbatch_args]
    return shlex.join(argv)
