"""Run a job on a Ray cluster: each stage's shards as Ray tasks, engine stages on GPU actors.

``address=None`` starts a Ray instance on this machine (or joins ``$RAY_ADDRESS``, Ray's own
convention) and shuts it down at the end; an address (``auto``, ``HOST:PORT``) joins a running
cluster and only disconnects. A Ray already initialised in this process is used and left alone.
Each shard calls ``pipeline.runner.run_stages`` with ``shard=i, num_shards=N``: the same stage
code, markers and resume as every executor (``ray_plan`` says what runs where).

On a cluster, the run dir, the recipe and its sources must be at the same paths on every node
(shared storage), and every node needs this package installed: workers load the recipe by path
and write parts into the run dir themselves. A failed shard stops the others and raises
``RunFailed`` naming it; finished parts stay, and a rerun resumes.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, Iterator

from pipeline.errors import RunFailed, UserError
from pipeline.executors.base import Job, Outcome, log_dir
from pipeline.executors.processes import ProgressRelay, log_tail
from pipeline.executors.ray_plan import Cluster, Phase, plan_phases
from pipeline.executors.ray_worker import EngineWorker, ShardSpec, run_shard
from pipeline.lock import ENV as LOCK_ENV
from pipeline.lock import run_lock
from pipeline.progress import PlainProgress, Progress

POLL_S = 0.5
WORKER_DEATH_RETRIES = 2


class RayExecutor:
    def __init__(self, address: str | None = None, num_cpus: int | None = None, num_gpus: int | None = None):
        """``num_cpus``/``num_gpus`` size a Ray instance started here (default: all of this machine's)."""
        try:
            import ray  # noqa: F401
        except ImportError:
            raise UserError("--executor ray needs Ray: pip install 'cotdistill[ray]'") from None
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        if self.address is not None and (num_cpus is not None or num_gpus is not None):
            raise UserError("num_cpus/num_gpus size a Ray instance started here; a running cluster has its own")
        self.num_cpus, self.num_gpus = num_cpus, num_gpus

    def run(self, job: Job) -> Outcome:
        if job.num_shards > 1:
            raise UserError(
                "--executor ray shards the job itself: drop --shard/--num-shards (they launch shards by hand)"
            )
        run_dir, recipe_path = Path(job.run_dir).resolve(), Path(job.recipe_path).resolve()
        interval = job.progress.interval if isinstance(job.progress, PlainProgress) else 5.0
        # The whole job holds the run dir's lock; every shard works under it (ShardSpec.lock).
        with run_lock(run_dir, job.shard, job.num_shards):
            parts = _plan_parts(job, run_dir)  # bad input fails here, before Ray starts
            with self._connected() as ray:
                phases = plan_phases(job.recipe, job.stages, parts, _cluster(ray), job.overrides)
                for phase in phases:
                    specs = [_spec(job, run_dir, recipe_path, phase, i, interval) for i in range(phase.shards)]
                    _run_phase(ray, phase, specs, job.progress)
        return Outcome()

    @contextlib.contextmanager
    def _connected(self) -> Iterator[Any]:
        import ray

        if ray.is_initialized():  # the caller's Ray (a notebook, a test): use it, leave it running
            yield ray
            return
        options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
        if self.address is None:
            options.update(include_dashboard=False, num_cpus=self.num_cpus, num_gpus=self.num_gpus)
        try:
            ray.init(address=self.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise UserError(f"could not start or join {where}: {exc}") from None
        try:
            yield ray
        finally:
            ray.shutdown()  # stops the instance we started; for a cluster, only disconnects


def _plan_parts(job: Job, run_dir: Path) -> int | None:
    """Parts in the run, planning them first when this job ingests (what ``run_stages`` does
    first, done once here rather than by every ingest shard at once)."""
    from pipeline.runner import pin_recipe, with_overrides
    from pipeline.stages import build_stage
    from pipeline.store import StageStore

    plan = StageStore(run_dir, "ingest").read_plan()
    if plan is None and "ingest" in job.stages:
        pin_recipe(job.recipe, run_dir, job.force)
        build_stage("ingest", with_overrides(job.recipe, job.overrides)).input_parts(run_dir)
        plan = StageStore(run_dir, "ingest").read_plan()
    return plan["num_parts"] if plan else None


def _cluster(ray: Any) -> Cluster:
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    return Cluster(tuple(int(r.get("CPU", 0)) for r in nodes), tuple(int(r.get("GPU", 0)) for r in nodes))


def _spec(job: Job, run_dir: Path, recipe_path: Path, phase: Phase, i: int, interval: float) -> ShardSpec:
    name, file = f"{phase.stage} shard {i} of {phase.shards}", f"ray-{phase.stage}-{i}-of-{phase.shards}"
    if phase.engine:
        name, file = f"{phase.stage} worker {i} ({name})", f"ray-{phase.stage}-worker-{i}-of-{phase.shards}"
    logs = log_dir(run_dir)
    return ShardSpec(
        name=name,
        recipe_path=str(recipe_path),
        run_dir=str(run_dir),
        stage=phase.stage,
        shard=i,
        num_shards=phase.shards,
        log=str(logs / f"{file}.log"),
        progress_file=str(logs / f"{file}.progress") if phase.engine else None,
        progress_interval=interval,
        force=job.force,
        overrides=phase.overrides,
        lock=os.environ.get(LOCK_ENV),
    )


def _run_phase(ray: Any, phase: Phase, specs: list[ShardSpec], progress: Progress) -> None:
    """Launch every shard of ``phase`` and wait for all; the first failure stops the rest."""
    files = {s.name: Path(s.progress_file) for s in specs if s.progress_file}
    for path in files.values():
        path.unlink(missing_ok=True)  # a previous run's lines are not this run's progress
    relay = ProgressRelay(files, progress)
    actors = []
    if phase.engine:
        actor_class = ray.remote(EngineWorker).options(num_cpus=phase.cpus, num_gpus=phase.gpus, max_restarts=0)
        actors = [actor_class.remote() for _ in specs]
        refs = [actor.run.remote(spec) for actor, spec in zip(actors, specs, strict=True)]
    else:
        # Ray retries a task whose worker process died (it resumes from the markers); an
        # exception raised by the stage is final.
        task = ray.remote(run_shard).options(num_cpus=phase.cpus, max_retries=WORKER_DEATH_RETRIES)
        refs = [task.remote(spec) for spec in specs]
    pending = dict(zip(refs, specs, strict=True))
    bar = progress.task(f"{phase.stage} on Ray", len(specs), "actors" if phase.engine else "tasks")
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
            relay.pump()
            for ref in done:
                spec = pending.pop(ref)
                try:
                    ray.get(ref)
                except Exception as exc:
                    raise _failure(spec, exc, [s.name for s in pending.values()]) from None
                bar.advance()
        bar.finish()
    finally:
        for ref in pending:  # a failure or Ctrl-C: the stage raises KeyboardInterrupt, its writes are atomic
            ray.cancel(ref)
        for actor in actors:  # their GPUs go to the next phase once they are gone
            if pending:
                ray.kill(actor, no_restart=True)
            else:  # a clean exit runs atexit handlers, which stop the engine's own processes
                actor.__ray_terminate__.remote()


def _failure(spec: ShardSpec, exc: Exception, stopped: list[str]) -> Exception:
    """The task's own exception (Ray wraps it) as UserError (bad input) or RunFailed."""
    from ray.exceptions import RayTaskError

    cause = exc.cause if isinstance(exc, RayTaskError) else exc
    if isinstance(cause, UserError):
        return UserError(f"{spec.name}: {cause}")
    what = f"{type(cause).__name__}: {cause}" if cause is not exc else " ".join(str(exc).split())
    others = f"; stopped {', '.join(stopped)}" if stopped else ""
    return RunFailed(
        f"{spec.name} failed: {what}{others}. "
        f"Finished parts are kept: rerun to resume.\nLast lines of {spec.log}:\n{log_tail(Path(spec.log))}"
    )
