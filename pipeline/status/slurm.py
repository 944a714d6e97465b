"""The Slurm side of ``distill status``: the jobs a run submitted (``<run_dir>/slurm/jobs.json``),
each array task's state from ``squeue``, the logs of failed tasks, and the command that submits
what is left (only the unfinished tasks of the first unfinished step, then the steps after it).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.executors.base import Step, log_dir
from pipeline.executors.slurm_jobs import ACTIVE, SlurmUnavailable, jobs_path, query_tasks, read_jobs, remaining
from pipeline.executors.slurm_script import array_spec

# Tasks cancelled because a task they waited for failed: a consequence, not a cause.
DEPENDENCY_REASONS = ("DependencyNeverSatisfied", "Dependency")


def slurm_status(run_dir: Path) -> dict | None:
    """The latest submission's jobs with per-task states; None when the run never used Slurm.

    ``jobs[i]["tasks"]`` is {index: {state, reason}}, or None once Slurm has forgotten the job
    (it ended more than MinJobAge ago) or could not be asked (``error``). ``resubmit`` is the
    command for what is left, once no task of the run is queued or running.
    """
    run_dir = Path(run_dir)
    record = read_jobs(run_dir)
    if record is None:
        return None
    latest = record["submissions"][-1]["jobs"]
    error = None
    try:
        tasks = query_tasks([job["job_id"] for job in latest], tries=1)
    except SlurmUnavailable as exc:
        tasks, error = {}, str(exc)
    jobs, failed, active = [], [], False
    for job in latest:
        states = tasks.get(job["job_id"])
        jobs.append({**job, "tasks": {str(i): s for i, s in sorted(states.items())} if states else None})
        for index, s in sorted((states or {}).items()):
            active |= s["state"] in ACTIVE
            if s["state"] not in ACTIVE and s["state"] != "COMPLETED" and s["reason"] not in DEPENDENCY_REASONS:
                log = log_dir(run_dir) / f"slurm-{job['job_id']}_{index}.log"
                entry = {"job_id": job["job_id"], "task": index, **s, "stages": job["stages"], "log": str(log)}
                failed.append({**entry, "log_tail": _tail(log)})
    steps = [Step(tuple(s["stages"]), s["barrier"]) for s in record["steps"]]
    left = remaining(run_dir, steps, record["array"])
    return {
        "jobs_file": str(jobs_path(run_dir)),
        "submissions": len(record["submissions"]),
        "jobs": jobs,
        "failed": failed,
        "active": active,
        "error": error,
        "left": _describe(left, steps),
        "resubmit": record["command"] if left and not active and error is None else None,
    }


def _tail(path: Path, lines: int = 2) -> list[str]:
    """The last lines of a task's log: where `distill run` printed its one-line error."""
    try:
        return path.read_text(errors="replace").rstrip().splitlines()[-lines:]
    except OSError:
        return []


def _describe(left: list[tuple[int, list[int]]], steps: list[Step]) -> str | None:
    if not left:
        return None
    first, indices = left[0]
    text = f"step {first + 1} ({', '.join(steps[first].stages)})"
    if not steps[first].barrier:
        text += f" tasks {array_spec(indices)}"
    if len(left) > 1:
        text += f", then step{'s' if len(left) > 2 else ''} {', '.join(str(k + 1) for k, _ in left[1:])}"
    return text


def _tasks(states: dict[str, dict] | None) -> str:
    """'COMPLETED 1 · FAILED 1 (task 1: NonZeroExitCode)'."""
    if states is None:
        return "not in squeue (ended a while ago, or Slurm unreachable)"
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, s in states.items():
        groups[s["state"], s["reason"]].append(int(index))
    parts = []
    for (state, reason), indices in sorted(groups.items()):
        text = f"{state} {len(indices)}"
        if state in ACTIVE and reason not in ("None", ""):
            text += f" ({reason})"
        elif state not in ACTIVE and state != "COMPLETED":
            text += f" (task{'s' if len(indices) > 1 else ''} {array_spec(indices)}: {reason})"
        parts.append(text)
    return " · ".join(parts)


def print_slurm(console: Console, info: dict) -> None:
    """The jobs table, the logs of failed tasks and what to run next."""
    title = f"slurm jobs ({info['jobs_file']}, submission {info['submissions']})"
    table = Table(title=Text(title), title_justify="left")
    for col in ("step", "stages", "job", "tasks"):
        table.add_column(col, justify="right" if col == "step" else "left")
    for job in info["jobs"]:
        table.add_row(str(job["step"]), Text(", ".join(job["stages"])), job["job_id"], Text(_tasks(job["tasks"])))
    console.print(table)
    if info["error"]:
        console.print(Text(f"slurm: task states unknown: {info['error']}", style="yellow"))
    for f in info["failed"]:
        line = Text(
            f"failed: job {f['job_id']} task {f['task']} ({', '.join(f['stages'])}): {f['state']} ", style="red"
        )
        line.append(f"{f['reason']}; log: {f['log']}")
        console.print(line, soft_wrap=True)  # paths and commands stay whole, to be copied
        for text in f["log_tail"]:
            console.print(Text(f"  | {text}"), soft_wrap=True)
    if info["resubmit"]:
        console.print(Text(f"resubmit what is left ({info['left']}):"), soft_wrap=True)
        console.print(Text(f"  {info['resubmit']}"), soft_wrap=True)
    elif info["active"] and info["failed"]:
        console.print(
            Text("once the running tasks end, `distill status` prints the command that resubmits what is left")
        )
