"""Launcher that runs *inside* the sandbox: set limits, drop privileges, then run the program.

Started as ``python -I sandbox_boot.py '<json config>'``; stdlib only. Doing this here instead of
in ``preexec_fn`` keeps the parent free of fork-unsafe code (the parent runs tests from threads).
"""

import json
import math
import os
import resource
import runpy
import sys

MEMORY_EXIT = 117  # the parent maps this exit code to `memory_limit`


def _limit(name: str, soft: int, hard: int | None = None) -> None:
    kind = getattr(resource, name)
    _, cur_hard = resource.getrlimit(kind)
    hard = soft if hard is None else hard
    if cur_hard != resource.RLIM_INFINITY:  # never ask for more than we were given
        soft, hard = min(soft, cur_hard), min(hard, cur_hard)
    resource.setrlimit(kind, (soft, hard))


def main() -> None:
    cfg = json.loads(sys.argv[1])
    lim = cfg["limits"]
    mb = 1 << 20
    cpu = max(1, math.ceil(lim["time_s"]))
    _limit("RLIMIT_CPU", cpu, cpu + 1)  # soft -> SIGXCPU, hard -> SIGKILL if SIGXCPU is caught
    _limit("RLIMIT_AS", lim["memory_mb"] * mb)
    _limit("RLIMIT_FSIZE", lim["output_mb"] * mb)  # also caps stdout/stderr: they are files
    _limit("RLIMIT_NOFILE", lim["nofile"])
    _limit("RLIMIT_NPROC", lim["nproc"])  # counted per uid: each sandbox gets its own uid
    _limit("RLIMIT_STACK", lim["stack_mb"] * mb)  # judges run Python with a big stack
    _limit("RLIMIT_CORE", 0)
    if cfg.get("uid") is not None:
        # Root only until here (bwrap gave us CAP_SETUID/SETGID); afterwards no capability is left,
        # so the hard limits above can no longer be raised.
        os.setgroups([])
        os.setgid(cfg["uid"])
        os.setuid(cfg["uid"])
    os.chdir(cfg["cwd"])
    import builtins  # -S skips `site`, which is what defines exit()/quit()
    builtins.exit = builtins.quit = sys.exit
    sys.set_int_max_str_digits(0)  # judges' Pythons print big integers freely
    sys.argv = [cfg["main"], *cfg.get("argv", [])]
    sys.path[:0] = cfg.get("path", [])
    del cfg, lim
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except MemoryError:
        os.write(2, b"\nMemoryError\n")
        os._exit(MEMORY_EXIT)


if __name__ == "__main__":
    main()
