"""Launcher that runs *inside* the sandbox: set limits, drop privileges, then run the program.

Started as ``python -I -S _boot.py '<json config>'``; stdlib only, with ``_common.py`` beside
it. Doing this here instead of in ``preexec_fn`` keeps the parent free of fork-unsafe code (the
parent runs tests from threads).
"""

import json
import os
import runpy
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves our own dir off sys.path
from _common import MEMORY_EXIT, apply_limits, drop_privileges  # noqa: E402

del sys.path[0]  # the program gets exactly the config's path (the box dir is on it)


def main() -> None:
    cfg = json.loads(sys.argv[1])
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
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except MemoryError:
        os.write(2, b"\nMemoryError\n")
        os._exit(MEMORY_EXIT)


if __name__ == "__main__":
    main()
