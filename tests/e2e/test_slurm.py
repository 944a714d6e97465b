"""A real single-node Slurm (munge + slurmctld + slurmd under a temp dir, see
/work/shared/notes/slurm.md): `distill run --executor slurm --array 2` on bundled R1 traces (no
model) gives the same export parts and dataset rows as a local run, and a failed array task
shows in `distill status` with a command that resubmits only what is left and completes the run.
"""

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import DISTILL, REPO
from pipeline.executors.slurm_jobs import ACTIVE, query_tasks, read_jobs

pytestmark = pytest.mark.slow

RECIPE = REPO / "recipes" / "byo_traces.yaml"  # 24 traces, 3 parts: task 0 does parts 0 and 2, task 1 part 1
PROGRAMS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")
CONF = """\
ClusterName=ci
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={base}/munge/munge.socket,cred_expire=10
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=2
ReturnToService=2
MinJobAge=600
KillWait=5
MailProg=/bin/true
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/pids/slurmctld.pid
SlurmdPidFile={base}/pids/slurmd.pid
SlurmctldLogFile={base}/log/slurmctld.log
SlurmdLogFile={base}/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 {hardware} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _free_port() -> int:
    with socket.socket() as s:  # the default 6817/6818 may be taken by another cluster
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hardware() -> str:
    """`slurmd -C` without the node name, with 90% of the memory: a node claiming more than it
    has is drained."""
    line = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
    fields.pop("NodeName")
    fields["RealMemory"] = str(int(int(fields["RealMemory"]) * 0.9))
    return " ".join(f"{k}={v}" for k, v in fields.items())


def _gone(pid: int) -> bool:
    """Exited: no process, or a zombie (PID 1 here reaps a stopped daemon seconds later)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class Cluster:
    """munged, slurmctld and slurmd as root daemons; everything under ``base``, nothing in /etc."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="slurm-"))  # short: a unix socket path has a length limit
        self.base.chmod(0o755)  # munged refuses a socket dir others cannot traverse
        self.conf = self.base / "etc" / "slurm.conf"
        self.pids: list[int] = []

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "SLURM_CONF": str(self.conf)}
        return subprocess.run(argv, capture_output=True, text=True, env=env, check=check, timeout=60)

    def _daemon(self, pidfile: str, *argv: str) -> None:
        self._run(*argv)  # each daemonizes itself and writes its pid file
        path = self.base / "pids" / pidfile
        deadline = time.monotonic() + 30
        while not (path.exists() and path.read_text().strip()):
            assert time.monotonic() < deadline, f"{argv[0]} wrote no pid file"
            time.sleep(0.05)
        self.pids.append(int(path.read_text()))

    def up(self) -> None:
        b = self.base
        for d in ("etc", "munge", "state", "spool", "pids", "log"):
            (b / d).mkdir(mode=0o755)
        self._run("mungekey", "--create", f"--keyfile={b}/munge/munge.key")
        (b / "munge/munge.key").chmod(0o600)
        self._daemon(
            "munged.pid",
            "munged",
            f"--key-file={b}/munge/munge.key",
            f"--socket={b}/munge/munge.socket",
            f"--pid-file={b}/pids/munged.pid",
            f"--log-file={b}/log/munged.log",
            f"--seed-file={b}/munge/munged.seed",
        )
        ports = {"ctld_port": _free_port(), "slurmd_port": _free_port()}
        self.conf.write_text(CONF.format(base=b, hardware=_hardware(), **ports))
        self._daemon("slurmctld.pid", "slurmctld", "-f", str(self.conf))
        self._daemon("slurmd.pid", "slurmd", "-f", str(self.conf), "-N", "localhost")
        deadline = time.monotonic() + 60
        while self._run("sinfo", "-h", "-n", "localhost", "-o", "%T", check=False).stdout.strip() != "idle":
            assert time.monotonic() < deadline, (b / "log/slurmctld.log").read_text()[-2000:]
            time.sleep(0.2)

    def down(self) -> None:
        """Cancel every job, wait for the queue to empty, stop slurmd + slurmctld, then munged."""
        jobs = set(self._run("squeue", "-h", "-o", "%F", check=False).stdout.split())
        if jobs:
            self._run("scancel", *jobs, check=False)
        deadline = time.monotonic() + 30
        while jobs and self._run("squeue", "-h", "-o", "%F", check=False).stdout.strip():
            if time.monotonic() > deadline:
                break
            time.sleep(0.3)
        for group in (self.pids[1:], self.pids[:1]):
            for pid in group:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 15
            while not all(_gone(pid) for pid in group) and time.monotonic() < deadline:
                time.sleep(0.05)
            for pid in group:
                if not _gone(pid):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def slurm():
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing): `make slurm` installs the Debian packages")
    if os.geteuid() != 0:
        pytest.skip("a private Slurm cluster needs root here (munged, slurmctld and slurmd run as root)")
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
    leftovers = [pid for pid in cluster.pids if not _gone(pid)]
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
