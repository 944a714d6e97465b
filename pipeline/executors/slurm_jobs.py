"""What a Slurm run submitted and where it stands: ``<run_dir>/slurm/jobs.json``, the queue's
view of each array task (``squeue``; there is no ``sacct`` without slurmdbd), and what is left
to submit, read from the run's ``.done`` markers.

The markers, not Slurm, decide what a (re)submission runs: Slurm forgets finished jobs after
``MinJobAge`` and a task killed between two parts has no other trace, while a part without its
marker is exactly the work left.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from pipeline.dataset.layout import read_manifest
from pipeline.executors.base import Step
from pipeline.executors.slurm_script import script_dir
from pipeline.shards import owns
from pipeline.store import StageStore, write_json_atomic

JOBS_FILE = "jobs.json"
# Job states of a task that may still run (anything else has ended: COMPLETED or a failure).
ACTIVE = frozenset(
    "PENDING RUNNING CONFIGURING COMPLETING REQUEUED REQUEUE_HOLD REQUEUE_FED RESIZING SUSPENDED "
    "STOPPED SIGNALING STAGE_OUT RESV_DEL_HOLD".split()
)
SQUEUE_TRIES = 3


class SlurmUnavailable(Exception):
    """squeue could not answer (not installed, controller down): the state is unknown, not 'done'."""


def jobs_path(run_dir: Path) -> Path:
    return script_dir(run_dir) / JOBS_FILE


def read_jobs(run_dir: Path) -> dict | None:
    """The run's submissions, or None when it was never submitted to Slurm."""
    path = jobs_path(run_dir)
    return json.loads(path.read_text()) if path.is_file() else None


def record_submission(run_dir: Path, run: dict, jobs: list[dict]) -> None:
    """Append one submission (its jobs, in chain order) to jobs.json; ``run`` describes the run
    (command, array size, steps) and replaces the previous description."""
    record = read_jobs(run_dir) or {"submissions": []}
    record.update(run)
    record["submissions"].append({"submitted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "jobs": jobs})
    write_json_atomic(jobs_path(run_dir), record)


def job_ids(record: dict, latest_only: bool = False) -> list[str]:
    submissions = record["submissions"][-1:] if latest_only else record["submissions"]
    return [job["job_id"] for sub in submissions for job in sub["jobs"]]


def parse_array(text: str) -> list[int]:
    """Task indices from Slurm's array syntax ('0-2,5', '0-7%2' throttled).

    >>> parse_array("0-2,5%1")
    [0, 1, 2, 5]
    """
    out: list[int] = []
    for piece in text.split("%")[0].strip("[]").split(","):
        first, _, last = piece.partition("-")
        out.extend(range(int(first), int(last or first) + 1))
    return out


def query_tasks(ids: list[str], tries: int = SQUEUE_TRIES) -> dict[str, dict[int, dict]]:
    """{job id: {task index: {"state", "reason"}}} from squeue; a job Slurm has forgotten (ended
    more than MinJobAge ago) is absent. Raises ``SlurmUnavailable`` when squeue keeps failing."""
    if not ids:
        return {}
    argv = ["squeue", "-h", "-t", "all", "-r", "-j", ",".join(ids), "-o", "%F|%K|%T|%r"]
    error = ""
    for attempt in range(tries):
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            error = str(exc)
        else:
            if proc.returncode == 0:
                return _parse_squeue(proc.stdout)
            if "Invalid job id" in proc.stderr:  # every id forgotten; any known one would be listed
                return {}
            error = proc.stderr.strip() or f"exit code {proc.returncode}"
        if attempt + 1 < tries:
            time.sleep(1.0 + attempt)  # a loaded controller drops a call now and then: retry, never guess
    raise SlurmUnavailable(f"squeue failed ({tries}x): {error}")


def _parse_squeue(text: str) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = {}
    for line in text.splitlines():
        fields = line.strip().split("|")
        if len(fields) != 4 or fields[1] == "N/A":
            continue
        job, tasks, state, reason = fields
        for task in parse_array(tasks):
            out.setdefault(job, {})[task] = {"state": state, "reason": reason}
    return out


def active_jobs(record: dict) -> list[str]:
    """Recorded job ids with a task that is still pending or running."""
    tasks = query_tasks(job_ids(record))
    busy = [job for job, states in tasks.items() if any(t["state"] in ACTIVE for t in states.values())]
    return sorted(busy, key=lambda job: (len(job), job))  # numeric order for numeric ids


def remaining(run_dir: Path, steps: list[Step], array: int) -> list[tuple[int, list[int]]]:
    """What a submission must run: (step position, task indices) for the first step with work
    left (only its unfinished tasks) and every step after it (all their tasks). [] when done.

    A sharded task is unfinished when one of its parts lacks the marker of one of the step's
    stages; a barrier when any part lacks it; the last export step too when the dataset folder
    was never built (its tasks build it once every export part is done).
    """
    plan = StageStore(run_dir, "ingest").read_plan()
    every = list(range(array))
    for position, step in enumerate(steps):
        left = _unfinished(run_dir, step, plan["num_parts"] if plan else None, array)
        last = position == len(steps) - 1
        if not left and last and step.stages[-1] == "export" and read_manifest(run_dir) is None:
            left = [0]
        if left:
            later = [(k, [0] if s.barrier else every) for k, s in enumerate(steps) if k > position]
            return [(position, left), *later]
    return []


def _unfinished(run_dir: Path, step: Step, total: int | None, array: int) -> list[int]:
    """Task indices of ``step`` with a part left to do (all of them before ingest made a plan)."""
    if total is None:
        return [0] if step.barrier else list(range(array))
    missing = {p for p in range(total) for s in step.stages if not StageStore(run_dir, s).is_done(p)}
    if step.barrier:
        return [0] if missing else []
    return [i for i in range(array) if any(owns(p, i, array) for p in missing)]
