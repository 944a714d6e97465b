"""What both in-box launchers (``boot.py``, ``serve.py``) share; the host imports it too.

Stdlib only: copied into the box as ``_common.py`` and imported there under ``python -I -S``
(no ``verifiers`` package inside). The host imports ``MEMORY_EXIT`` and ``exited_within`` from
this same file as ``verifiers.sandbox.guest.common``, so each exists once.

Time limits (``supervise``): a launcher forks the program and watches its whole process tree.
- CPU: user + system seconds of every process the program started (``/proc/<pid>/stat``, reaped
  children included; at the end ``wait4`` rusage, exact). The verdict's clock: the same program
  uses the same CPU seconds on a quiet and on a busy machine.
- Idle: seconds in which no task of the tree was on a CPU or waiting for one
  (``/proc/<pid>/task/<tid>/schedstat``: run time + run-queue wait). A sleeper or a blocked read
  accrues it at wall speed; a program starved by load does not, because it waits *on the run
  queue*; nor does one waiting for a busy disk (a task in state D when we look: page faults
  and reads while other jobs hammer the disk). This catches sleepers fast without charging load
  to anyone.
- Wall: an absolute backstop, generous, for whatever the two above miss.
The launcher is the tree's child subreaper, so a double-forked daemon is reaped (and its CPU
counted) by it instead of escaping to init. Not counted: children whose parent set SIGCHLD to
SIG_IGN (the kernel drops their times); each process still has RLIMIT_CPU as a safety net.
"""

import io
import math
import os
import resource
import select
import signal
import sys
import time
import types

MEMORY_EXIT = 117  # a launcher exits with this on MemoryError; the host maps it to `memory_limit`
_TICK = os.sysconf("SC_CLK_TCK")


def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    _, cur_hard = resource.getrlimit(kind)
    if cur_hard != resource.RLIM_INFINITY:  # never ask for more than we were given
        soft, hard = min(soft, cur_hard), min(hard, cur_hard)
    resource.setrlimit(kind, (soft, hard))


def apply_limits(limits: dict) -> None:
    """Set this process's rlimits from a ``Limits`` as a dict (its ``__dict__``)."""
    mb = 1 << 20
    # A safety net per process, above the tree limit that ``supervise`` enforces to the tick:
    # soft -> SIGXCPU, hard -> SIGKILL if SIGXCPU is caught.
    cpu = math.ceil(limits["time_s"]) + 1
    _limit(resource.RLIMIT_CPU, cpu, cpu + 1)
    _limit(resource.RLIMIT_AS, limits["memory_mb"] * mb)
    _limit(resource.RLIMIT_FSIZE, limits["output_mb"] * mb)  # also caps stdout/stderr: they are files
    _limit(resource.RLIMIT_NOFILE, limits["nofile"])
    _limit(resource.RLIMIT_NPROC, limits["nproc"])  # counted per uid: each sandbox gets its own uid
    _limit(resource.RLIMIT_STACK, limits["stack_mb"] * mb)  # judges run Python with a big stack
    _limit(resource.RLIMIT_CORE, 0)


def drop_privileges(uid: int) -> None:
    """Become ``uid`` (as its own group, no supplementary groups), for good.

    Root only until here (bwrap gave us CAP_SETUID/SETGID); afterwards no capability is left,
    so hard limits set before can no longer be raised.
    """
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def exited_within(pid: int, timeout_s: float) -> bool:
    """True if ``pid`` (a child not yet reaped) exits within ``timeout_s``; it is not reaped.

    A pidfd wakes us at once (``Popen.wait`` polls, up to 50 ms late).
    Raises OSError or AttributeError where pidfds are missing (Linux < 5.3, Python < 3.9).
    """
    fd = os.pidfd_open(pid)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(timeout_s * 1000))
    finally:
        os.close(fd)


def set_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux prctl); False if unavailable."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:  # noqa: BLE001 - then orphans' CPU is counted only while they live
        return False


def _descendants(root: int) -> dict:
    """{pid: cpu seconds (self + reaped children)} of every live descendant of ``root``."""
    parent, cpu = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        pid = int(name)
        parent[pid] = int(fields[1])
        cpu[pid] = sum(map(int, fields[11:15])) / _TICK  # utime stime cutime cstime
    tree, frontier = {}, [root]
    children: dict = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    while frontier:
        for pid in children.get(frontier.pop(), ()):
            if pid not in tree:
                tree[pid] = cpu[pid]
                frontier.append(pid)
    return tree


def _busy(pids) -> tuple:
    """(seconds the tasks (threads) of ``pids`` spent on a CPU or waiting on a run queue, whether
    one of them is waiting for the disk now (state D: a page fault or read on a machine whose
    disk is busy, which is load, not the program sleeping))."""
    ns, disk = 0, False
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                    run, wait = f.read().split()[:2]
                ns += int(run) + int(wait)
                if not disk:
                    with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                        disk = f.read().rsplit(b")", 1)[1].split()[0] == b"D"
            except (OSError, ValueError, IndexError):
                pass
    return ns / 1e9, disk


def _rusage_s(ru) -> float:
    return ru.ru_utime + ru.ru_stime


def kill_tree(root: int) -> None:
    """SIGKILL every live descendant of ``root``."""
    for pid in _descendants(root):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def reap_orphans(root: int, wait_s: float = 1.0) -> float:
    """Kill what is left of the tree, reap every child of ours; their CPU seconds (rusage)."""
    total, deadline = 0.0, time.monotonic() + wait_s
    while True:
        try:
            pid, _, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return total
        if pid:
            total += _rusage_s(ru)
            continue
        if time.monotonic() > deadline:
            return total
        kill_tree(root)
        time.sleep(0.002)


def supervise(pid: int, limits: dict) -> dict:
    """Wait for the child ``pid`` (not reaped yet) under the tree's CPU, idle and wall limits.

    Returns ``{"status": wait status, "cpu_s", "idle_s", "ms", "by": None | "cpu" | "idle" |
    "wall"}``; ``by`` names the limit that fired, also when the program ended on its own after
    using more CPU than allowed. When the child ends (or a limit fires) the rest of the tree is
    killed and reaped here, and its CPU counted.
    """
    me, start = os.getpid(), time.monotonic()
    cpu_limit, idle_limit, wall_limit = limits["time_s"], limits["idle_s"], limits["wall_s"]
    reaped = idle = cpu = busy = 0.0
    last, by, status, ru_main = start, None, None, None
    while status is None:
        dt = 0.02 if last - start < 0.5 else 0.05
        exited = exited_within(pid, min(dt, max(0.001, wall_limit - (last - start))))
        while True:  # reap orphans (our subreaper children) as they end; maybe the child itself
            try:
                got, st, ru = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                got = 0
            if not got:
                break
            if got == pid:
                status, ru_main = st, ru
            else:
                reaped += _rusage_s(ru)
        if exited or status is not None:
            break
        now = time.monotonic()
        tree = _descendants(me)
        new_cpu = reaped + sum(tree.values())
        ran, on_disk = _busy(tree)
        new_busy = reaped + ran
        if not on_disk:  # an interval ending in a wait for the disk is not counted as idle
            idle += max(0.0, (now - last) - max(new_busy - busy, new_cpu - cpu, 0.0))
        cpu, busy, last = max(cpu, new_cpu), new_busy, now
        if cpu > cpu_limit:
            by = "cpu"
        elif idle > idle_limit:
            by = "idle"
        elif now - start > wall_limit:
            by = "wall"
        if by:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            kill_tree(me)
            break
    if status is None:
        _, status, ru_main = os.wait4(pid, 0)
    ms = (time.monotonic() - start) * 1000
    kill_tree(me)  # what the program left running ends with it (and is counted)
    reaped += reap_orphans(me)
    cpu = max(cpu, reaped + _rusage_s(ru_main))
    if by is None and cpu > cpu_limit:
        by = "cpu"  # ended on its own, between two looks, after its CPU time ran out
    return {"status": status, "cpu_s": round(cpu, 3), "idle_s": round(idle, 3), "ms": ms, "by": by}


def run_as_main(code, main: str, argv: list, path: list) -> None:
    """Run ``code`` (compiled from ``main``; None: compile it here, so a SyntaxError is the
    program's own) as ``__main__`` in this forked child and exit the way ``python main`` would.
    Never returns. The std streams are opened afresh on fds 0-2."""
    exit_code = 1
    try:
        import builtins  # -S skips `site`, which defines exit()/quit()

        builtins.exit = builtins.quit = sys.exit
        sys.set_int_max_str_digits(0)  # judges' Pythons print big integers freely
        sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.BufferedReader(_fd(0, "r")), encoding="utf-8")
        sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.BufferedWriter(_fd(1, "w")), encoding="utf-8")
        err = io.BufferedWriter(_fd(2, "w"))
        sys.stderr = sys.__stderr__ = io.TextIOWrapper(
            err, encoding="utf-8", errors="backslashreplace", line_buffering=True
        )
        sys.argv = [main, *argv]
        sys.path[:0] = path
        module = types.ModuleType("__main__")
        module.__file__ = main
        sys.modules["__main__"] = module
        try:
            if code is None:
                with open(main, "rb") as f:
                    code = compile(f.read(), main, "exec")
            exec(code, module.__dict__)
            exit_code = 0
        except SystemExit as exc:
            exit_code = _exit_status(exc)
        except MemoryError:
            os.write(2, b"\nMemoryError\n")
            os._exit(MEMORY_EXIT)
        except BaseException:  # noqa: BLE001 - the program's crash, reported like python does
            sys.excepthook(*sys.exc_info())
            exit_code = 1
        _shutdown()
    except MemoryError:
        os._exit(MEMORY_EXIT)
    except BaseException:  # noqa: BLE001
        exit_code = exit_code or 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - python exits 120 when flushing stdout fails
        os._exit(120)
    os._exit(exit_code)


def _fd(fd: int, mode: str) -> io.FileIO:
    return io.FileIO(fd, mode, closefd=False)


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _shutdown() -> None:
    """What interpreter shutdown does before exiting: join non-daemon threads, run atexit."""
    if "threading" in sys.modules:
        sys.modules["threading"]._shutdown()
    import atexit

    atexit._run_exitfuncs()
