"""Run a job on a Slurm cluster: one sbatch array per step, chained with ``afterok``.

A sharded step is an array of ``--array N`` tasks; task i runs ``distill run --stages <the
step's stages> --shard i --num-shards N``. A barrier step (dedup, select) is a one-task array
that runs after every task of the step before it. The dataset folder is built by whichever
export task finishes last (``pipeline.runner``). Each step waits with
``--dependency=afterok:<previous>`` and ``--kill-on-invalid-dep=yes``, so a failed task cancels
the steps after it instead of leaving them pending forever.

Submitting returns at once. Submitting again submits only what the ``.done`` markers say is
left: the unfinished tasks of the first unfinished step and every step after it, which is how a
failed task is resubmitted (``distill status`` prints the command). It refuses while a job it
recorded is still queued or running, since two tasks on one part would race.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import RunFailed, UserError
from pipeline.executors.base import Job, Outcome, Step, log_dir, plan_steps
from pipeline.executors.slurm_jobs import SlurmUnavailable, active_jobs, read_jobs, record_submission, remaining
from pipeline.executors.slurm_script import (
    LOG_PATTERN,
    SlurmSettings,
    array_spec,
    run_command,
    sbatch_argv,
    script_path,
    script_text,
    shell_lines,
)
from pipeline.runner import pin_recipe
from pipeline.stages.pairs import PAIRS_DIR
from pipeline.store import StageStore, write_bytes_atomic


@dataclass
class Submitted(Outcome):
    """What was handed to Slurm (nothing runs here): the text to print and the job ids."""

    text: str = ""
    job_ids: list[str] = field(default_factory=list)


class SlurmExecutor:
    def __init__(
        self,
        array: int | None = None,
        partition: str | None = None,
        gpus_per_task: int | None = None,
        time: str | None = None,
        sbatch_args: tuple[str, ...] | list[str] = (),
        submit: bool = True,
        dp: int = 1,
    ):
        if array is None or array < 1:
            raise UserError("--executor slurm needs --array N (N >= 1: array tasks per sharded step)")
        if gpus_per_task is not None and gpus_per_task < 1:
            raise UserError(f"--gpus-per-task must be >= 1 (got {gpus_per_task})")
        if submit and shutil.which("sbatch") is None:
            raise UserError(
                "--executor slurm: sbatch not found on PATH; install Slurm's client (Debian: slurm-client) "
                "with SLURM_CONF naming the cluster's slurm.conf, or pass --dry-run to only write the scripts"
            )
        self.settings = SlurmSettings(array, partition, gpus_per_task, time, tuple(sbatch_args), dp)
        self.submit = submit

    def run(self, job: Job) -> Submitted:
        if job.num_shards != 1:
            raise UserError("--shard/--num-shards do not apply to --executor slurm: --array N shards the run")
        if job.overrides:
            raise UserError(f"--executor slurm cannot pass {', '.join(job.overrides)} to its tasks")
        run_dir, recipe_path = Path(job.run_dir).absolute(), Path(job.recipe_path).absolute()
        steps = plan_steps(job.stages)
        if self.submit:
            self._check_idle(run_dir)
            pin_recipe(job.recipe, run_dir, job.force)  # a mismatched run dir fails here, not in every task
            if job.force:
                _clear_markers(run_dir, job.stages)
        every = [(k, [0] if s.barrier else list(range(self.settings.array))) for k, s in enumerate(steps)]
        todo = every if job.force else remaining(run_dir, steps, self.settings.array)
        if not todo:
            return Submitted(text=f"nothing to submit: every part of {run_dir} is done")
        scripts = self._write_scripts(job.recipe.name, recipe_path, run_dir, steps)
        chain = [(scripts[k], indices) for k, indices in todo]
        if not self.submit:
            return Submitted(text=self._dry_run_text(run_dir, chain))
        ids = _submit(chain)
        record_submission(
            run_dir,
            {
                "command": run_command(recipe_path, run_dir, self.settings),
                "array": self.settings.array,
                "steps": [{"stages": list(s.stages), "barrier": s.barrier} for s in steps],
            },
            [
                {"job_id": i, "step": k + 1, "stages": list(steps[k].stages), "array": array_spec(ix), "script": str(p)}
                for i, (k, ix), (p, _) in zip(ids, todo, chain, strict=True)
            ],
        )
        return Submitted(text=self._submitted_text(run_dir, steps, todo, ids), job_ids=ids)

    def _check_idle(self, run_dir: Path) -> None:
        record = read_jobs(run_dir)
        if record is None:
            return
        try:
            busy = active_jobs(record)
        except SlurmUnavailable as exc:
            raise RunFailed(f"cannot tell whether this run's Slurm jobs still run: {exc}") from None
        if busy:
            raise UserError(
                f"{run_dir}: jobs {', '.join(busy)} of this run are still queued or running "
                f"(squeue -j {','.join(busy)}); wait for them or scancel them, then submit again"
            )

    def _write_scripts(self, name: str, recipe_path: Path, run_dir: Path, steps: list[Step]) -> list[Path]:
        log_dir(run_dir).mkdir(parents=True, exist_ok=True)  # Slurm does not create the --output folder
        paths = []
        for number, step in enumerate(steps, start=1):
            path = script_path(run_dir, number, step)
            text = script_text(recipe_path, run_dir, name, number, steps, self.settings)
            write_bytes_atomic(path, text.encode())
            path.chmod(0o755)
            paths.append(path)
        return paths

    def _dry_run_text(self, run_dir: Path, chain: list[tuple[Path, list[int]]]) -> str:
        return "\n".join(
            [f"# not submitted (--dry-run); scripts in {chain[0][0].parent}, submit with:", *shell_lines(chain)]
        )

    def _submitted_text(self, run_dir: Path, steps: list[Step], todo: list, ids: list[str]) -> str:
        lines = [f"submitted {len(ids)} Slurm jobs for {run_dir}:"]
        for job_id, (k, indices) in zip(ids, todo, strict=True):
            what = "once" if steps[k].barrier else f"tasks {array_spec(indices)}"
            lines.append(f"  job {job_id}: step {k + 1}, {', '.join(steps[k].stages)} ({what})")
        lines += [
            f"follow: squeue -j {','.join(ids)}   or   distill status {run_dir}",
            f"logs:   {log_dir(run_dir) / LOG_PATTERN.replace('%A', '<job>').replace('%a', '<task>')}",
        ]
        return "\n".join(lines)


def _submit(chain: list[tuple[Path, list[int]]]) -> list[str]:
    """sbatch each step, each waiting for the one before; on an error cancel what was submitted."""
    ids: list[str] = []
    for script, indices in chain:
        argv = sbatch_argv(script, indices, ids[-1] if ids else None)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0 or not proc.stdout.strip():
            if ids:
                subprocess.run(["scancel", *ids], capture_output=True, timeout=60)
            cancelled = f"; cancelled jobs {', '.join(ids)} submitted before it" if ids else ""
            raise RunFailed(f"`{' '.join(argv)}` failed: {proc.stderr.strip() or proc.returncode}{cancelled}")
        ids.append(proc.stdout.strip().split(";")[0])  # --parsable prints "id" or "id;cluster"
    return ids


def _clear_markers(run_dir: Path, stages: tuple[str, ...]) -> None:
    """--force done once, before submitting: a task passed --force would redo its parts again
    every time Slurm requeues it."""
    names = [*stages, PAIRS_DIR] if "export" in stages else list(stages)
    for name in names:
        store = StageStore(run_dir, name)
        for index in store.done_parts():
            store.clear_part(index)
