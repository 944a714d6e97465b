"""Run a job on this machine: in this process, or with ``--dp N`` supervised worker processes.

Sharded steps run stage by stage for the job's shard. A stage that is ``data_parallel``
(generate) runs in ``dp`` worker processes, each with its own accelerators
(``CUDA_VISIBLE_DEVICES``): worker i of shard s does ``--shard s + S*i --num-shards S*dp``, so
together they do exactly shard s's parts. Barrier steps (dedup) run once in this process.

When the job is one of several externally launched shards (``--num-shards n`` by hand), a
barrier is reached by every shard: the ones that arrive while other shards still work stop
there (nothing to do yet, exit 0); the last one runs the barrier and every step after it over
all parts, under a lock in the run dir so a tie cannot run it twice.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pipeline.errors import UserError
from pipeline.executors.base import Job, Outcome, Step, log_dir, plan_steps
from pipeline.executors.processes import WorkerSpec, supervise
from pipeline.lock import run_lock
from pipeline.runner import barrier_waits_for, run_stages
from pipeline.stages import input_stage_of, stage_class

BARRIER_LOCK = ".barrier.lock"


class LocalExecutor:
    def __init__(self, dp: int = 1):
        if dp < 1:
            raise UserError(f"--dp must be >= 1 (got {dp})")
        self.dp = dp

    def run(self, job: Job) -> Outcome:
        with run_lock(job.run_dir, job.shard, job.num_shards):  # the whole job, barriers included
            return self._run(job)

    def _run(self, job: Job) -> Outcome:
        steps = plan_steps(job.stages)
        for position, step in enumerate(steps):
            if step.barrier and job.num_shards > 1:
                return self._finish_after_barrier(job, steps[position:])
            shard, num_shards = (0, 1) if step.barrier else (job.shard, job.num_shards)
            self._run_step(job, step, shard, num_shards)
        return Outcome()

    def _run_step(self, job: Job, step: Step, shard: int, num_shards: int) -> None:
        for name in step.stages:
            if self.dp > 1 and stage_class(name).data_parallel:
                supervise(self._workers(job, name, shard, num_shards), job.progress)
            else:
                run_stages(
                    job.recipe,
                    job.run_dir,
                    [name],
                    shard=shard,
                    num_shards=num_shards,
                    force=job.force,
                    progress=job.progress,
                    overrides=job.overrides,
                )

    def _finish_after_barrier(self, job: Job, steps: list[Step]) -> Outcome:
        barrier = steps[0].stages[0]
        upstream = input_stage_of(job.recipe, barrier)
        waiting = barrier_waits_for(job.run_dir, upstream)
        if waiting:
            return Outcome(
                waiting=f"{barrier} runs once every shard has finished {upstream} ({waiting}): "
                f"the last shard to finish runs it and the steps after it"
            )
        with open(Path(job.run_dir) / BARRIER_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a shard finishing at the same moment waits, then finds it done
            for step in steps:
                self._run_step(job, step, 0, 1)
        return Outcome()

    def _workers(self, job: Job, stage: str, shard: int, num_shards: int) -> list[WorkerSpec]:
        per_worker = stage_class(stage).devices_per_worker(job.recipe)
        gpus = _visible_gpus()
        if gpus and len(gpus) < self.dp * per_worker:
            raise UserError(
                f"--dp {self.dp} with {per_worker} accelerators per {stage} worker needs "
                f"{self.dp * per_worker}; {len(gpus)} visible"
            )
        logs = log_dir(job.run_dir)
        specs = []
        for i in range(self.dp):
            env = dict(os.environ)
            if gpus:
                env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus[i * per_worker : (i + 1) * per_worker])
            specs.append(
                WorkerSpec(
                    name=f"{stage} worker {i}",
                    recipe_path=Path(job.recipe_path),
                    run_dir=Path(job.run_dir),
                    stages=(stage,),
                    shard=shard + num_shards * i,
                    num_shards=num_shards * self.dp,
                    force=job.force,
                    overrides=job.overrides,
                    env=env,
                    log=logs / f"{stage}-worker-{i}.log",
                )
            )
        return specs


def _visible_gpus() -> list[str]:
    if os.environ.get("CUDA_VISIBLE_DEVICES"):
        return [g for g in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if g.strip()]
    try:
        import torch
    except ImportError:
        return []
    return [str(i) for i in range(torch.cuda.device_count())]
