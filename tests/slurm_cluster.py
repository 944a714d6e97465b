"""A private single-node Slurm cluster for tests and benchmarks: munged, slurmctld and slurmd as
root daemons under a temp dir, nothing written to /etc (facts: ../shared/notes/slurm.md)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as s:  # the default 6817/6818 may be taken by another cluster
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hardware() -> str:
    """`slurmd -C` without the node name, with 90% of the memory: a node claiming more than it
    has is drained."""
    line = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
    fields.pop("NodeName")
    fields["RealMemory"] = str(int(int(fields["RealMemory"]) * 0.9))
    return " ".join(f"{k}={v}" for k, v in fields.items())


def gone(pid: int) -> bool:
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
        ports = {"ctld_port": free_port(), "slurmd_port": free_port()}
        self.conf.write_text(CONF.format(base=b, hardware=hardware(), **ports))
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
            while not all(gone(pid) for pid in group) and time.monotonic() < deadline:
                time.sleep(0.05)
            for pid in group:
                if not gone(pid):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


def unavailable() -> str | None:
    """Why no private cluster can start here, or None."""
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        return f"Slurm is not installed ({', '.join(missing)} missing): `make slurm` installs the Debian packages"
    if os.geteuid() != 0:
        return "a private Slurm cluster needs root here (munged, slurmctld and slurmd run as root)"
    return None
