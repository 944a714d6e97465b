"""Launcher that runs *inside* a one-off sandbox: fork the program with limits set and privileges
dropped, supervise its process tree's time (``_common.supervise``), report how it ended.

Started as ``python -I -S _boot.py '<json config>'``; stdlib only, with ``_common.py`` beside
it. Doing this here instead of in ``preexec_fn`` keeps the parent free of fork-unsafe code (the
parent runs tests from threads). The report (exit code, CPU seconds, the limit that fired) is
one JSON line on the fd ``cfg["report"]``, which the program does not inherit.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves our own dir off sys.path
from _common import apply_limits, drop_privileges, run_as_main, set_subreaper, supervise  # noqa: E402

del sys.path[0]  # the program gets exactly the config's path (the box dir is on it)


def _program(cfg: dict) -> None:
    """The child: never returns."""
    try:
        os.close(cfg["report"])
        os.setsid()  # its own group: killing it on a limit spares the supervisor
        apply_limits(cfg["limits"])
        if cfg.get("uid") is not None:
            drop_privileges(cfg["uid"])
        os.chdir(cfg["cwd"])
    except BaseException:  # noqa: BLE001 - never run the program half-confined
        os._exit(1)
    run_as_main(None, cfg["main"], cfg.get("argv", []), cfg.get("path", []))


def main() -> None:
    cfg = json.loads(sys.argv[1])
    set_subreaper()
    pid = os.fork()
    if pid == 0:
        _program(cfg)
    run = supervise(pid, cfg["limits"])
    rc = os.waitstatus_to_exitcode(run["status"])
    msg = {"rc": rc, "ms": run["ms"], "cpu_s": run["cpu_s"], "by": run["by"]}
    os.write(cfg["report"], (json.dumps(msg) + "\n").encode())


if __name__ == "__main__":
    main()
