"""Launcher that runs *inside* the sandbox: fork the program with limits set and privileges
dropped, supervise its process tree's time (``_common.supervise``), report how it ended.

Started as ``python -I -S _boot.py '<json config>'``; stdlib only, with ``_common.py`` beside
it. Doing this here instead of in ``preexec_fn`` keeps the parent free of fork-unsafe code (the
parent runs tests from threads). The report (exit code, CPU seconds, the limit that fired) is
one JSON line on the fd ``cfg["report"]``, which the program does not inherit.
"""

import json
import os
import runpy
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves our own dir off sys.path
from _common import MEMORY_EXIT, apply_limits, drop_privileges, set_subreaper, supervise  # noqa: E402

del sys.path[0]  # the program gets exactly the config's path (the box dir is on it)


def _program(cfg: dict) -> None:
    """The child: never returns."""
    os.close(cfg["report"])
    os.setsid()  # its own group: killing it on a limit spares the supervisor
    apply_limits(cfg["limits"])
    if cfg.get("uid") is not None:
        drop_privileges(cfg["uid"])
    os.chdir(cfg["cwd"])
    import builtins  # -S skips `site`, which is what defines exit()/quit()

    builtins.exit = builtins.quit = sys.exit
    sys.set_int_max_str_digits(0)  # judges' Pythons print big integers freely
    sys.argv = [cfg["main"], *cfg.get("argv", [])]
    sys.path[:0] = cfg.get("path", [])
    del cfg
    code = 0
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as exc:
        code = exc.code
    except MemoryError:
        os.write(2, b"\nMemoryError\n")
        os._exit(MEMORY_EXIT)
    except BaseException:  # noqa: BLE001 - the program's crash, reported like python does
        sys.excepthook(*sys.exc_info())
        code = 1
    sys.exit(code)  # interpreter shutdown as usual: atexit, flushing, thread joins


def main() -> None:
    cfg = json.loads(sys.argv[1])
    set_subreaper()
    pid = os.fork()
    if pid == 0:
        try:
            _program(cfg)
        except SystemExit:
            raise
        except MemoryError:
            os._exit(MEMORY_EXIT)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    run = supervise(pid, cfg["limits"])
    rc = os.waitstatus_to_exitcode(run["status"])
    msg = {"rc": rc, "ms": run["ms"], "cpu_s": run["cpu_s"], "by": run["by"]}
    os.write(cfg["report"], (json.dumps(msg) + "\n").encode())


if __name__ == "__main__":
    main()
