"""The executor seam: a ``Job`` says what to run, an executor decides where its shards run.

A job's stages form steps (``plan_steps``): runs of sharded stages, each part independent, and
barrier stages (dedup) that need every part of the step before them and run once. Executors
differ only in how they launch ``pipeline.runner.run_stages`` for each shard and how they wait
between steps: in this process or supervised worker processes (``local``), array tasks chained
with dependencies (Slurm), remote tasks (Ray). Stages never know which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pipeline.progress import Progress
from pipeline.recipe import Recipe
from pipeline.shards import check_shard
from pipeline.stages import stage_class


@dataclass(frozen=True)
class Job:
    recipe: Recipe
    recipe_path: Path  # workers in other processes load the recipe from here
    run_dir: Path
    stages: tuple[str, ...]
    shard: int = 0  # a job may itself be one shard of a bigger, externally launched run
    num_shards: int = 1
    force: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)  # flags such as --validate-tests
    progress: Progress = field(default_factory=Progress)

    def __post_init__(self) -> None:
        check_shard(self.shard, self.num_shards)  # before any worker is launched with it


@dataclass(frozen=True)
class Step:
    stages: tuple[str, ...]
    barrier: bool  # runs once, after every shard of the previous step has finished


@dataclass
class Outcome:
    """What a job ended with. ``waiting`` explains work left for other shards (not a failure)."""

    waiting: str | None = None


def plan_steps(stages: tuple[str, ...] | list[str]) -> list[Step]:
    """Consecutive sharded stages share a step; each barrier stage is a step of its own.

    >>> plan_steps(["ingest", "generate", "verify", "dedup", "export"])  # doctest: +NORMALIZE_WHITESPACE
    [Step(stages=('ingest', 'generate', 'verify'), barrier=False), Step(stages=('dedup',), barrier=True),
     Step(stages=('export',), barrier=False)]
    """
    steps: list[Step] = []
    for name in stages:
        if stage_class(name).barrier:
            steps.append(Step((name,), True))
        elif steps and not steps[-1].barrier:
            steps[-1] = Step((*steps[-1].stages, name), False)
        else:
            steps.append(Step((name,), False))
    return steps


class Executor(Protocol):
    def run(self, job: Job) -> Outcome:
        """Run every step of ``job``; raise ``RunFailed`` when a shard fails, ``UserError`` on bad input."""
        ...


def log_dir(run_dir: Path) -> Path:
    """Where engine output and worker logs of a run go."""
    return Path(run_dir) / "logs"
