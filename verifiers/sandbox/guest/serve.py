"""Sandbox server that runs *inside* one long-lived bwrap sandbox: job after job, a fork per test.

Started as ``python -I -S _serve.py '<json config>'`` (stdlib only, ``_common.py`` beside it), as
root inside the sandbox with only CAP_SETUID/CAP_SETGID. Jobs arrive as JSON lines on fd 0:
``{"job", "main", "n", "limits", "argv", "channel"}``; a job's files are in ``/box/jobs/<job>``
(written by the host), its inputs in ``in/<i>`` there (root only). Per test the server forks a
child that sets fresh rlimits, drops to the sandbox's uid, takes its own stdin/stdout/stderr
files (and the job's channel as fd 3, write-only) and runs the program as ``__main__``;
``supervise`` enforces the CPU time of the test's process tree. After each test a sweeper running
as that uid kills whatever the test left running and empties /tmp and /dev/shm, and SysV IPC
objects are removed, so the next test, of this or a later job, starts from the same state.
One JSON line per test, then ``{"job", "done"}``, go to the results fd. ``{"stop": job}`` on
fd 0 skips a job's remaining tests.

Why tests cannot see each other: inputs and outputs (``/out/<job>``, 0700) belong to root; a
child holds only its own files as inherited fds. The server's uid differs from the children's,
so they can neither signal nor ptrace it, and a job's files are removed before the next job.
"""

import json
import os
import select
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves our own dir off sys.path
from _common import apply_limits, drop_privileges, run_as_main, set_subreaper, supervise  # noqa: E402

del sys.path[0]  # the program gets exactly the job's path

CHANNEL_FD = 3
# Imported once here, before any job, so a forked test finds them loaded (copy-on-write): the
# call-based harness and its guard need these on every submission. Pure stdlib, no state a test
# could leave behind: each test's changes die with its process.
PRELOAD = ("_guard", "json", "traceback", "types", "functools", "itertools", "fractions", "typing", "heapq", "bisect")
_CODE: dict = {}  # source -> code object: the harness is the same file in every call-based job


class Commands:
    """JSON lines from the host on fd 0; ``stopped`` looks without blocking."""

    def __init__(self) -> None:
        self.buf, self.stops, self.jobs = b"", set(), []

    def _read(self, block: bool) -> bool:
        if not block and not select.select([0], [], [], 0)[0]:
            return True
        chunk = os.read(0, 65536)
        if not chunk:
            return False
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if "stop" in msg:
                self.stops.add(msg["stop"])
            else:
                self.jobs.append(msg)
        return True

    def next_job(self) -> dict | None:
        while not self.jobs:
            if not self._read(block=True):
                return None
        self.stops.clear()  # stops of finished jobs
        return self.jobs.pop(0)

    def stopped(self, job: str) -> bool:
        self._read(block=False)
        return job in self.stops


def _child(code, job: dict, fds: tuple, uid: int) -> None:
    """One test's process: never returns."""
    try:
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(len(fds), 1 << 16)
        apply_limits(job["limits"])  # per child, so RLIMIT_CPU counts this test only
        drop_privileges(uid)
        os.chdir("/tmp")
    except BaseException:  # noqa: BLE001 - never run the program half-confined
        os._exit(1)
    argv = ([str(CHANNEL_FD)] if job.get("channel") else []) + job.get("argv", [])
    run_as_main(code, job["main_path"], argv, [job["dir"], *job["path"]])


def _remove(path: str) -> None:
    """rm -rf as the owner: directories a test made unreadable (chmod 0) are opened up first."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
            for name in os.listdir(path):
                _remove(os.path.join(path, name))
            os.rmdir(path)
        else:
            os.unlink(path)
    except OSError:
        pass  # not ours (another uid's) or gone already


def _sweep(uid: int) -> None:
    """As the test uid: kill its leftovers (kill -1 spares only the caller), empty /tmp."""
    pid = os.fork()
    if pid == 0:
        try:
            drop_privileges(uid)
            os.kill(-1, signal.SIGKILL)
            for root in ("/tmp", "/dev/shm"):
                for name in os.listdir(root) if os.access(root, os.W_OK) else []:
                    _remove(os.path.join(root, name))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    _clear_ipc()


def _clear_ipc() -> None:
    """Remove the SysV shared memory, queues and semaphores a test made (this IPC namespace's)."""
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                ids = [int(line.split()[1]) for line in f.readlines()[1:] if line.strip()]
        except (OSError, ValueError, IndexError):
            continue
        if ids:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            for ipc_id in ids:  # IPC_RMID is 0 for all three
                if kind == "sem":
                    libc.semctl(ipc_id, 0, 0)
                else:
                    getattr(libc, f"{kind}ctl")(ipc_id, 0, None)


def _compiled(path: str):
    """The program's code object, once per job (None: the child compiles and reports the error)."""
    try:
        with open(path, "rb") as f:
            source = f.read()
        key = (path.rsplit("/", 1)[-1], source)
        if key not in _CODE:
            if len(_CODE) > 16:
                _CODE.clear()
            _CODE[key] = compile(source, path, "exec")
        code = _CODE[key]
        return code.replace(co_filename=path) if code.co_filename != path else code
    except BaseException:  # noqa: BLE001
        return None


def _preload() -> None:
    import builtins

    builtins.exit = builtins.quit = sys.exit  # as the child sets them, before the guard copies builtins
    sys.path.insert(0, "/box")
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    del sys.path[0]


def _input(job: dict, i: int) -> int:
    path = f"{job['dir']}/in/{i}"
    return os.open(path if os.path.exists(path) else "/dev/null", os.O_RDONLY)


def run_job(job: dict, cfg: dict, commands: Commands) -> int:
    """Run a job's tests in order; how many ran."""
    out = f"/out/{job['job']}"
    os.mkdir(out, 0o700)
    job.update(dir=f"/box/jobs/{job['job']}", path=cfg["path"])
    job["main_path"] = f"{job['dir']}/{job['main']}"
    code = _compiled(job["main_path"])
    chan = os.open(f"{out}/chan", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if job.get("channel") else None
    ran = 0
    try:
        for i in range(job["n"]):
            if commands.stopped(job["job"]):
                break
            fds = (
                _input(job, i),
                os.open(f"{out}/{i}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                os.open(f"{out}/{i}.err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            ) + ((chan,) if chan is not None else ())
            pid = os.fork()
            if pid == 0:
                _child(code, job, fds, cfg["uid"])
            for fd in fds[:3]:
                os.close(fd)
            run = supervise(pid, job["limits"])
            _sweep(cfg["uid"])
            msg = {"job": job["job"], "i": i, "rc": os.waitstatus_to_exitcode(run["status"])}
            msg.update(ms=run["ms"], cpu_s=run["cpu_s"], by=run["by"])
            os.write(cfg["results"], (json.dumps(msg) + "\n").encode())
            ran += 1
    finally:
        if chan is not None:
            os.close(chan)
    return ran


def main() -> None:
    cfg = json.loads(sys.argv[1])
    set_subreaper()  # double-forked leftovers come back to us: reaped, counted, never to init
    _preload()
    commands = Commands()
    while (job := commands.next_job()) is not None:
        ran = run_job(job, cfg, commands)
        os.write(cfg["results"], (json.dumps({"job": job["job"], "done": ran}) + "\n").encode())


if __name__ == "__main__":
    main()
