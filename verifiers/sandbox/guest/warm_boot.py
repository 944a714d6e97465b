"""Warm supervisor that runs *inside* one bwrap sandbox: many stdin tests, one Python start.

Started as ``python -I -S _warm.py '<json config>'`` (stdlib only, ``_common.py`` beside it),
as root inside the sandbox with only CAP_SETUID/CAP_SETGID. It compiles the program once, then
per test forks a child that sets fresh rlimits, drops to the test uid, takes its own
stdin/stdout/stderr files and runs the code object as ``__main__``; ``supervise`` enforces the
CPU time of the test's process tree (``_common.py``). After each child, a sweeper running as
that uid kills whatever the test left running and empties /tmp, so the next test starts from
the same state. One JSON line per test goes to the parent's pipe.

Why the tests cannot see each other: inputs (``/box/in``, 0600) and outputs (``/out``, 0700)
belong to root; a child only holds its own files as inherited fds. The supervisor's uid differs
from the children's, so they can neither signal nor ptrace it.
"""

import io
import json
import os
import signal
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves our own dir off sys.path
from _common import MEMORY_EXIT, apply_limits, drop_privileges, set_subreaper, supervise  # noqa: E402

del sys.path[0]  # the program gets exactly the config's path (the box dir is on it)


def _child(code, cfg: dict, fds: tuple) -> None:
    """The test process: never returns."""
    exit_code = 1
    try:
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 1 << 16)
        apply_limits(cfg["limits"])  # per child, so RLIMIT_CPU counts this test only
        drop_privileges(cfg["uid"])
        os.chdir("/tmp")
        # Fresh std streams, as the interpreter would open them on these fds.
        sys.stdin = sys.__stdin__ = io.TextIOWrapper(
            io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8"
        )
        sys.stdout = sys.__stdout__ = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8"
        )
        sys.stderr = sys.__stderr__ = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
        sys.argv = [cfg["main"]]
        module = types.ModuleType("__main__")
        module.__file__ = cfg["main"]
        sys.modules["__main__"] = module
        del cfg, fds
        try:
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
        _finish()
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


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _finish() -> None:
    """What interpreter shutdown does before exiting: join non-daemon threads, run atexit."""
    if "threading" in sys.modules:
        sys.modules["threading"]._shutdown()
    import atexit

    atexit._run_exitfuncs()


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


def main() -> None:
    cfg = json.loads(sys.argv[1])
    chan, lim = cfg["chan"], cfg["limits"]
    sys.set_int_max_str_digits(0)
    import builtins  # -S skips `site`, which defines exit()/quit()

    builtins.exit = builtins.quit = sys.exit
    sys.path[:0] = cfg["path"]
    with open(cfg["main"]) as f:
        code = compile(f.read(), cfg["main"], "exec")
    set_subreaper()  # double-forked leftovers come back to us: reaped, counted, never to init
    for i in range(cfg["n"]):
        fds = (
            os.open(f"/box/in/{i}", os.O_RDONLY),
            os.open(f"/out/{i}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            os.open(f"/out/{i}.err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        )
        pid = os.fork()
        if pid == 0:
            _child(code, cfg, fds)
        for fd in fds:
            os.close(fd)
        run = supervise(pid, lim)
        _sweep(cfg["uid"])
        msg = {
            "i": i,
            "rc": os.waitstatus_to_exitcode(run["status"]),
            "ms": run["ms"],
            "cpu_s": run["cpu_s"],
            "by": run["by"],
        }
        os.write(chan, (json.dumps(msg) + "\n").encode())


if __name__ == "__main__":
    main()
