"""A real single-node Slurm (munge + slurmctld + slurmd under a temp dir, see
/work/shared/notes/slurm.md): `distill run --executor slurm --array 2` on bundled R1 traces (no
model) gives the same export parts and dataset rows as a local run, and a failed array task
shows in `distill status` with a command that resubmits only what is left and completes the run.
"""

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import DISTILL, REPO, load_benchmark
from pipeline.executors.slurm_jobs import ACTIVE, query_tasks, read_jobs
from slurm_cluster import Cluster, gone, unavailable

pytestmark = pytest.mark.slow

RECIPE = REPO / "recipes" / "byo_traces.yaml"  # 24 traces, 3 parts: task 0 does parts 0 and 2, task 1 part 1


@pytest.fixture(scope="module")
def slurm():
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    cluster = Cluster()
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)  # for distill's own squeue calls in this process
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous
    leftovers = [pid for pid in cluster.pids if not gone(pid)]
    assert not leftovers, f"daemons still running: {leftovers}"


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("local") / "run"
    _distill("run", str(RECIPE), "--run-dir", str(run_dir), "--quiet")
    return run_dir


def _distill(*args: str) -> str:
    proc = subprocess.run([DISTILL, *args], capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, f"distill {shlex.join(args)}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


def _wait(run_dir: Path, timeout: float = 300) -> None:
    """Until no task of the run's latest submission is queued or running."""
    ids = [job["job_id"] for job in read_jobs(run_dir)["submissions"][-1]["jobs"]]
    deadline = time.monotonic() + timeout
    while True:
        tasks = query_tasks(ids)
        if tasks and not any(t["state"] in ACTIVE for states in tasks.values() for t in states.values()):
            return
        assert time.monotonic() < deadline, f"jobs {ids} still running: {tasks}"
        time.sleep(1)


def _rows(folder: Path) -> dict[str, list[dict]]:
    """Every Parquet file under ``folder``, by relative path, its rows in file order."""
    return {str(p.relative_to(folder)): pq.read_table(p).to_pylist() for p in sorted(folder.rglob("*.parquet"))}


def _assert_same_output(run_dir: Path, local: Path) -> None:
    status = json.loads(_distill("status", str(run_dir), "--json"))
    assert status["complete"] and status["dataset"] == str(run_dir / "dataset")
    export = _rows(run_dir / "export")
    assert export == _rows(local / "export") and sum(map(len, export.values())) > 0
    assert sorted(export) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
        *(f"rejected/part-0000{i}.parquet" for i in range(3)),
    ]
    dataset = _rows(run_dir / "dataset")
    assert dataset == _rows(local / "dataset") and any(k.startswith("pairs/") for k in dataset)
    assert status["dataset_rows"] == json.loads(_distill("status", str(local), "--json"))["dataset_rows"]


def test_an_array_run_equals_a_local_run(slurm, local_run, tmp_path):
    run_dir = tmp_path / "run"
    out = _distill("run", str(RECIPE), "--run-dir", str(run_dir), "--executor", "slurm", "--array", "2")
    ids = [job["job_id"] for job in read_jobs(run_dir)["submissions"][0]["jobs"]]
    assert f"follow: squeue -j {','.join(ids)}" in out and len(ids) == 3
    _wait(run_dir)
    _assert_same_output(run_dir, local_run)
    logs = sorted(p.name for p in (run_dir / "logs").glob("slurm-*.log"))
    assert logs == sorted(f"slurm-{j}_{i}.log" for j, n in zip(ids, (2, 1, 2), strict=True) for i in range(n))
    status = _distill("status", str(run_dir))
    assert "COMPLETED 2" in status and "resubmit" not in status and "not complete" not in status
    again = _distill("run", str(RECIPE), "--run-dir", str(run_dir), "--executor", "slurm", "--array", "2")
    assert again.startswith("nothing to submit")


def test_a_failed_task_is_shown_and_its_resubmission_completes_the_run(slurm, local_run, tmp_path):
    run_dir = tmp_path / "run"
    blocker = run_dir / "verify" / "part-00001.parquet"
    blocker.mkdir(parents=True)  # task 1 cannot write verify part 1: it fails after ingest
    _distill("run", str(RECIPE), "--run-dir", str(run_dir), "--executor", "slurm", "--array", "2")
    _wait(run_dir)
    first = [job["job_id"] for job in read_jobs(run_dir)["submissions"][0]["jobs"]]
    status = json.loads(_distill("status", str(run_dir), "--json"))
    slurm_info = status["slurm"]
    assert [(f["job_id"], f["task"], f["state"]) for f in slurm_info["failed"]] == [(first[0], 1, "FAILED")]
    assert "IsADirectoryError" in Path(slurm_info["failed"][0]["log"]).read_text()
    assert [job["tasks"] for job in slurm_info["jobs"][1:]] == [
        {"0": {"state": "CANCELLED", "reason": "DependencyNeverSatisfied"}},
        {str(i): {"state": "CANCELLED", "reason": "DependencyNeverSatisfied"} for i in range(2)},
    ]
    assert slurm_info["left"] == "step 1 (ingest, verify, grade, shorten) tasks 1, then steps 2, 3"
    command = slurm_info["resubmit"]
    text = _distill("status", str(run_dir))
    assert f"failed: job {first[0]} task 1 (ingest, verify, grade, shorten): FAILED" in text
    assert f"  {command}\n" in text

    blocker.rmdir()
    assert command.startswith("distill run ")
    out = _distill(*shlex.split(command)[1:])  # the printed command, with this venv's distill
    assert ", ingest, verify, grade, shorten (tasks 1)" in out
    _wait(run_dir)
    resubmitted = read_jobs(run_dir)["submissions"][1]["jobs"]
    assert [job["array"] for job in resubmitted] == ["1", "0", "0-1"]
    _assert_same_output(run_dir, local_run)
    assert "resubmit" not in _distill("status", str(run_dir))


def test_killed_and_requeued_array_tasks_resume_to_the_same_dataset(slurm, tmp_path):
    """Crash torture under Slurm (benchmarks/torture.py has the checks): running array tasks get
    SIGKILL (the step fails, `distill status` gives the resubmission) or are requeued by Slurm, at
    seeded random moments; after each settled submission every file opens, counts match the stats
    and each (problem_id, teacher, sample_idx) is there once; the final dataset equals a local run's."""
    torture = load_benchmark("torture")
    result = torture.torture_slurm(tmp_path, kills=4, seed=0)
    tally = result["tally"]
    assert tally.failures == []
    assert result["unmade"] == 0 and sum(tally.kills.values()) == 4
    assert tally.final_equal and all(tally.final_equal)
    assert tally.rows_lost == tally.rows_duplicated == tally.stats_mismatches == tally.parts_differing == 0
    assert result["actions"] == {"kill": 2, "requeue": 2}
    assert result["submissions"] > result["rounds"] and tally.checks >= 2 and tally.rows_read > 0  # resubmitted
    assert len({label.split(" (")[0] for label in tally.kills}) >= 2  # aimed at each step in turn
