"""What the Ray executor launches for each stage: how many shards, on what resources. No Ray here.

Every stage is a phase of its own: all of its shards start together, and the next stage starts
when they have all finished. That is what a barrier stage needs (one shard, after every part of
the stage before it), and it keeps shards of one stage from starting long after the others (a
shard starting a stage clears the stage's temp files: see ``ray_executor``).

- A stage that runs an engine (generate, or a judge/rewriter on a vLLM teacher) runs on engine
  actors: one per group of ``tensor_parallel_size`` GPUs on a node, each doing its shard's parts
  in one ``run_stages`` call (one engine load, all prompts in one queue). Without GPUs in the
  cluster (vLLM's CPU build, or server teachers), one actor.
- Other stages run as CPU tasks, at most one per part and all fitting in the cluster at once;
  each task gets ``cpus`` CPUs, and a stage with its own worker pool (verify, shorten:
  ``workers`` unset) gets a pool of that size instead of one worker per core of the node.
- A barrier stage (dedup, select) is one task: shard 0 of 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from pydantic import BaseModel

from pipeline.errors import UserError
from pipeline.executors.base import plan_steps
from pipeline.recipe import Recipe, TeacherConfig
from pipeline.stages import stage_class


@dataclass(frozen=True)
class Cluster:
    """CPUs and GPUs of each alive node."""

    node_cpus: tuple[int, ...]
    node_gpus: tuple[int, ...]


@dataclass(frozen=True)
class Phase:
    stage: str
    shards: int  # shard i of ``shards``; each is one Ray task or one actor call
    engine: bool  # on engine actors (else CPU tasks)
    cpus: int  # per task or actor
    gpus: int  # per actor (0 for tasks)
    barrier: bool
    overrides: dict[str, Any] = field(default_factory=dict)


def engine_devices(recipe: Recipe, stage: str) -> int:
    """GPUs one engine of ``stage`` needs: the largest tensor_parallel_size of the vLLM teachers in
    its recipe section (0 when it loads no vLLM engine)."""
    teachers = [t for t in _teachers(getattr(recipe, stage, None)) if t.backend == "vllm"]
    return max((int(t.engine.get("tensor_parallel_size", 1)) for t in teachers), default=0)


def _teachers(value: object) -> Iterator[TeacherConfig]:
    """Every teacher entry inside a recipe section (generate's teachers, judges, the rewriter)."""
    if isinstance(value, TeacherConfig):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _teachers(getattr(value, name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _teachers(item)


def cpus_per_task(cluster: Cluster, parts: int) -> int:
    """The most CPUs each of ``min(parts, CPUs)`` tasks can get with all of them placed at once.

    >>> cpus_per_task(Cluster((32, 32), (0, 0)), 3)  # 3 tasks of 16 fit on two 32-CPU nodes; of 21 they do not
    16
    """
    wanted = max(1, min(parts, sum(cluster.node_cpus)))
    best = 1
    for cpus in range(1, max(cluster.node_cpus, default=1) + 1):
        if sum(n // cpus for n in cluster.node_cpus) >= wanted:
            best = cpus
    return best


def engine_actors(cluster: Cluster, stage: str, devices: int, parts: int) -> tuple[int, int]:
    """(actors, GPUs per actor) for an engine stage."""
    if devices == 0 or not any(cluster.node_gpus):
        return 1, 0  # server teachers, or vLLM's CPU build: one engine is all a machine holds
    actors = sum(g // devices for g in cluster.node_gpus)
    if actors == 0:
        raise UserError(
            f"{stage} needs {devices} GPUs on one node per engine (tensor_parallel_size); "
            f"the Ray cluster's nodes have {', '.join(map(str, cluster.node_gpus))}"
        )
    return max(1, min(actors, parts)), devices


def plan_phases(
    recipe: Recipe,
    stages: tuple[str, ...] | list[str],
    parts: int | None,
    cluster: Cluster,
    overrides: dict[str, Any] | None = None,
) -> list[Phase]:
    """One phase per stage, in order. ``parts`` is None before ingest planned the run (one shard:
    the stage then fails with the runner's message naming what to run first)."""
    overrides = dict(overrides or {})
    known = parts or 1
    cpus = cpus_per_task(cluster, known)
    tasks = max(1, min(known, sum(n // cpus for n in cluster.node_cpus)))
    phases = []
    for step in plan_steps(stages):
        for stage in step.stages:
            devices = engine_devices(recipe, stage)
            if devices or stage_class(stage).data_parallel:
                actors, gpus = engine_actors(cluster, stage, devices, known)
                shards = 1 if step.barrier else actors
                phases.append(Phase(stage, shards, True, 1, gpus, step.barrier, overrides))
                continue
            shards = 1 if step.barrier else tasks
            phases.append(
                Phase(stage, shards, False, cpus, 0, step.barrier, _pool_size(recipe, stage, cpus, overrides))
            )
    return phases


def _pool_size(recipe: Recipe, stage: str, cpus: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` plus ``<stage>.workers = cpus`` for a stage whose own pool would otherwise
    start one worker per core of the node in every task."""
    section = getattr(recipe, stage, None)
    key = f"{stage}.workers"
    if isinstance(section, BaseModel) and "workers" in type(section).model_fields and section.workers is None:
        return {**overrides, key: overrides.get(key, cpus)}
    return overrides
