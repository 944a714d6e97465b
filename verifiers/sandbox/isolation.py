"""How a sandbox is isolated: bubblewrap when it works, rlimits + another uid otherwise.

Design (model-written code is hostile):
- bwrap: no network, IPC, UTS or PID sharing; read-only /usr and the interpreter's prefixes only
  (no /root, /home, /work); a size-capped tmpfs /tmp; ``--die-with-parent`` and a PID namespace,
  so killing bwrap kills every process the program started (double forks included).
- A clean environment: nothing of the parent's (tokens, keys) is passed on.
- Fallback (no bwrap, or ``COTDISTILL_SANDBOX=rlimits``): the same launcher and limits without
  namespaces (``cold`` kills leftovers by uid or environment marker). No network isolation
  there; ``RunResult.isolation`` says which mode ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from verifiers.sandbox.limits import Limits

Mode = Literal["auto", "bwrap", "rlimits"]


@lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """The bwrap binary, if it exists and can start a sandbox here (user namespaces, caps)."""
    exe = shutil.which("bwrap")
    if not exe:
        return None
    probe = subprocess.run(
        [exe, *bwrap_args(Path("/nonexistent")), "--", "/bin/true"], capture_output=True, env=clean_env(""), timeout=20
    )
    return exe if probe.returncode == 0 else None


def resolve_mode(mode: Mode = "auto") -> str:
    """'bwrap' or 'rlimits'; env COTDISTILL_SANDBOX=rlimits forces the fallback (tests, debugging)."""
    if mode == "auto":
        mode = os.environ.get("COTDISTILL_SANDBOX", "auto")  # type: ignore[assignment]
    if mode == "rlimits":
        return "rlimits"
    return "bwrap" if bwrap_path() else "rlimits"


def _interpreter_prefixes() -> list[Path]:
    """Directories the interpreter needs: its prefix, base prefix (stdlib) and real executable."""
    dirs = {
        Path(sys.prefix).resolve(),
        Path(sys.base_prefix).resolve(),
        Path(os.path.realpath(sys.executable)).parent.parent,
    }
    return sorted(d for d in dirs if not str(d).startswith("/usr/"))


def site_dirs() -> list[str]:
    """site-packages on the path without running ``site`` (.pth hooks cost ~40 ms per start)."""
    return [p for p in sys.path if p.endswith("-packages") and os.path.isdir(p)]


def bwrap_args(box: Path, tmp_mb: int = Limits.tmp_mb) -> list[str]:
    """bwrap options for a sandbox that sees ``box`` read-only as /box (when it exists)."""
    args = [
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for name in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{name}"):
            args += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif os.path.isdir(f"/{name}"):
            args += ["--ro-bind", f"/{name}", f"/{name}"]
    # /tmp first: an interpreter that lives under /tmp (a venv in a CI checkout there) is bound
    # over the fresh tmpfs afterwards instead of being hidden by it.
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_mb << 20), "--perms", "1777", "--tmpfs", "/tmp"]
    made: set[str] = set()
    for prefix in _interpreter_prefixes():
        # bwrap creates missing parents 0700; after the uid drop they must stay traversable.
        for parent in reversed(prefix.parents[:-1]):
            if str(parent) not in made:
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(prefix), str(prefix)]
    args += ["--chdir", "/tmp"]
    if os.geteuid() == 0:
        # Privileged bwrap drops every capability; the launcher needs these two to switch uid.
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    if box.exists():
        args += ["--ro-bind", str(box), "/box"]
    return args


def clean_env(marker: str) -> dict[str, str]:
    """The sandbox's whole environment; ``marker`` lets the fallback find a run's leftovers."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "COTDISTILL_SANDBOX_RUN": marker,
    }


@lru_cache(maxsize=1)
def others_can_run_python() -> bool:
    """Without bwrap, a dropped uid must reach the interpreter (pyenv under /root cannot)."""
    for prefix in _interpreter_prefixes() + [Path(os.path.realpath(sys.executable))]:
        for p in [prefix, *prefix.parents]:
            if not os.stat(p).st_mode & 0o001:
                return False
    return True
