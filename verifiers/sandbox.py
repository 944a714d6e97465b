"""Run untrusted Python in isolation: bubblewrap when it works, rlimits + another uid otherwise.

Design (model-written code is hostile):
- bwrap: no network, IPC, UTS or PID sharing; read-only /usr and the interpreter's prefixes only
  (no /root, /home, /work); a size-capped tmpfs /tmp; ``--die-with-parent`` and a PID namespace,
  so killing bwrap kills every process the program started (double forks included).
- Inside, ``sandbox_boot.py`` sets rlimits (CPU, AS, FSIZE, NOFILE, NPROC, STACK) and, when we
  are root, drops to a uid unique to this (process, slot): RLIMIT_NPROC is counted per uid, so a
  fork bomb hits its own wall without starving other sandboxes.
- stdin/stdout/stderr are regular files: no pipe deadlocks, and RLIMIT_FSIZE caps the output.
- A clean environment: nothing of the parent's (tokens, keys) is passed on.
- Fallback (no bwrap, or ``COTDISTILL_SANDBOX=rlimits``): same launcher and limits without
  namespaces; leftovers are killed by uid (``kill -9 -1`` as that uid) or by an environment
  marker. No network isolation there; ``RunResult.isolation`` says which mode ran.
- The channel (fd in argv[1]) is handed over write-only: a program can report on it but not
  read back what the harness wrote there. Many stdin tests at once: ``sandbox_warm``.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

Mode = Literal["auto", "bwrap", "rlimits"]
HERE = Path(__file__).resolve().parent
MEMORY_EXIT = 117  # keep in sync with sandbox_boot.MEMORY_EXIT
STDERR_TAIL = 2000


@dataclass(frozen=True)
class Limits:
    time_s: float = 2.0  # CPU seconds; the wall-clock kill comes `wall_slack_s` later
    memory_mb: int = 2048
    output_mb: int = 64
    tmp_mb: int = 64
    nproc: int = 64
    nofile: int = 256
    stack_mb: int = 512
    wall_slack_s: float = 1.0


@dataclass(frozen=True)
class RunResult:
    returncode: int | None  # exit code, or -signal when killed by a signal
    stdout: bytes
    stderr_tail: str
    channel: bytes  # what the program wrote on fd 3 (the call-based harness reports there)
    time_ms: float
    timed_out: bool
    output_limit: bool
    isolation: str
    error: str | None = None  # the sandbox itself failed to start

    @property
    def memory_error(self) -> bool:
        return self.returncode == MEMORY_EXIT or (self.returncode not in (0, None)
                                                    and self.stderr_tail.rstrip().endswith("MemoryError"))


# Each concurrent run gets its own uid so NPROC and the kill-by-uid sweep are per sandbox.
_SLOTS: queue.Queue[int] = queue.Queue()
for _i in range(64):
    _SLOTS.put(_i)


def _slot_uid(slot: int) -> int:
    return 200_000 + (os.getpid() % 4_000_000) * 64 + slot


@lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """The bwrap binary, if it exists and can start a sandbox here (user namespaces, caps)."""
    exe = shutil.which("bwrap")
    if not exe:
        return None
    probe = subprocess.run([exe, *_bwrap_args(Path("/nonexistent")), "--", "/bin/true"],
                           capture_output=True, env=_clean_env(""), timeout=20)
    return exe if probe.returncode == 0 else None


def _prefixes() -> list[Path]:
    """Directories the interpreter needs: its prefix, base prefix (stdlib) and real executable."""
    dirs = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
            Path(os.path.realpath(sys.executable)).parent.parent}
    return sorted(d for d in dirs if not str(d).startswith("/usr/"))


def _site_dirs() -> list[str]:
    """site-packages on the path without running ``site`` (.pth hooks cost ~40 ms per start)."""
    return [p for p in sys.path if p.endswith("-packages") and os.path.isdir(p)]


def _bwrap_args(box: Path, tmp_mb: int = Limits.tmp_mb) -> list[str]:
    args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{name}"):
            args += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif os.path.isdir(f"/{name}"):
            args += ["--ro-bind", f"/{name}", f"/{name}"]
    # /tmp first: an interpreter that lives under /tmp (a venv in a CI checkout there) is bound
    # over the fresh tmpfs afterwards instead of being hidden by it.
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_mb << 20), "--perms", "1777", "--tmpfs", "/tmp"]
    made: set[str] = set()
    for prefix in _prefixes():
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


def _clean_env(marker: str) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "TMPDIR": "/tmp",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "COTDISTILL_SANDBOX_RUN": marker}


@lru_cache(maxsize=1)
def _others_can_run_python() -> bool:
    """Without bwrap, a dropped uid must reach the interpreter (pyenv under /root cannot)."""
    for prefix in _prefixes() + [Path(os.path.realpath(sys.executable))]:
        for p in [prefix, *prefix.parents]:
            if not os.stat(p).st_mode & 0o001:
                return False
    return True


def resolve_mode(mode: Mode = "auto") -> str:
    """'bwrap' or 'rlimits'; env COTDISTILL_SANDBOX=rlimits forces the fallback (tests, debugging)."""
    if mode == "auto":
        mode = os.environ.get("COTDISTILL_SANDBOX", "auto")  # type: ignore[assignment]
    if mode == "rlimits":
        return "rlimits"
    return "bwrap" if bwrap_path() else "rlimits"


def run_python(files: dict[str, str], main: str, stdin: bytes = b"", limits: Limits = Limits(),
               mode: Mode = "auto", argv: list[str] | None = None) -> RunResult:
    """Run ``files[main]`` as ``__main__`` in a fresh sandbox; the other files sit beside it (read-only)."""
    isolation = resolve_mode(mode)
    slot = _SLOTS.get()
    try:
        return _run(files, main, stdin, limits, isolation, argv or [], slot, _slot_dir(slot))
    except Exception as exc:  # the sandbox failing must not crash the caller's batch
        return RunResult(None, b"", "", b"", 0.0, False, False, isolation, f"{type(exc).__name__}: {exc}")
    finally:
        _SLOTS.put(slot)


_ROOTS: dict[int, Path] = {}  # per process id: a forked child must not share its parent's dirs


def _slot_dir(slot: int) -> Path:
    """A directory per slot, reused across runs (creating and removing one costs milliseconds)."""
    root = _ROOTS.get(os.getpid())
    if root is None:
        root = _ROOTS[os.getpid()] = Path(tempfile.mkdtemp(prefix="cotdistill-sbx-"))
        os.chmod(root, 0o755)
        atexit.register(shutil.rmtree, root, True)
    tmp = root / str(slot)
    shutil.rmtree(tmp / "work", ignore_errors=True)  # the fallback's cwd: nothing from the last run
    return tmp


def _run(files: dict[str, str], main: str, stdin: bytes, limits: Limits, isolation: str,
         argv: list[str], slot: int, tmp: Path) -> RunResult:
    box, work = tmp / "box", tmp / "work"
    box.mkdir(parents=True, exist_ok=True)
    work.mkdir()
    for name, text in {**files, "_boot.py": (HERE / "sandbox_boot.py").read_text()}.items():
        (box / name).write_text(text)
    root = os.geteuid() == 0
    drop = root and (isolation == "bwrap" or _others_can_run_python())
    uid = _slot_uid(slot) if drop else None
    inside = "/box" if isolation == "bwrap" else str(box)
    os.chmod(tmp, 0o755)
    if uid is not None:
        os.chown(work, uid, uid)
    marker = uuid.uuid4().hex
    env = _clean_env(marker)
    if isolation != "bwrap":
        env.update(HOME=str(work), TMPDIR=str(work))
    with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, \
            tempfile.TemporaryFile() as ferr, tempfile.TemporaryFile() as fchan:
        fin.write(stdin)
        fin.seek(0)
        # The program gets the channel write-only (a fresh open file description), as argv[1]:
        # the call-based harness writes its nonce there, and the solution must not read it back.
        wchan = os.open(f"/proc/self/fd/{fchan.fileno()}", os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        cfg = {"limits": limits.__dict__, "uid": uid, "main": f"{inside}/{main}",
               "argv": [str(wchan), *argv], "path": [inside, *_site_dirs()],
               "cwd": "/tmp" if isolation == "bwrap" else str(work)}
        cmd = [sys.executable, "-I", "-S", f"{inside}/_boot.py", json.dumps(cfg)]
        if isolation == "bwrap":
            cmd = [bwrap_path() or "bwrap", *_bwrap_args(box, limits.tmp_mb), "--", *cmd]
        start = time.monotonic()
        try:
            proc = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=ferr, env=env, cwd=str(work),
                                    start_new_session=True, pass_fds=(wchan,))
        finally:
            os.close(wchan)
        timed_out = not _wait(proc, limits.time_s + limits.wall_slack_s)
        _kill_group(proc.pid)
        proc.wait()
        elapsed = (time.monotonic() - start) * 1000
        if isolation != "bwrap":
            _sweep(uid, marker)
        cap = limits.output_mb << 20
        stdout = _read(fout, cap)
        ferr.seek(max(0, ferr.seek(0, 2) - STDERR_TAIL))
        stderr_tail = ferr.read().decode("utf-8", "replace")
        channel = _read(fchan, 1 << 20)
    code = proc.returncode
    if isolation == "bwrap" and code is not None and code > 128:
        code = -(code - 128)  # bwrap reports a child killed by signal N as 128+N
    if isolation == "bwrap" and code == 1 and not stdout and stderr_tail.startswith("bwrap: "):
        return RunResult(code, b"", stderr_tail, b"", elapsed, False, False, isolation, stderr_tail.strip())
    return RunResult(code, stdout, stderr_tail, channel, elapsed, timed_out,
                     len(stdout) >= cap, isolation)


def _wait(proc: subprocess.Popen, timeout: float) -> bool:
    """True if the process exited in time. A pidfd wakes us at once (Popen.wait polls up to 50 ms)."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    finally:
        os.close(fd)


def _read(f, cap: int) -> bytes:
    f.seek(0)
    return f.read(cap)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _sweep(uid: int | None, marker: str) -> None:
    """Kill what escaped the process group (setsid daemons): by uid, else by environment marker."""
    if uid is not None:
        subprocess.run(["kill", "-9", "-1"], user=uid, group=uid, extra_groups=[],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return
    needle = f"COTDISTILL_SANDBOX_RUN={marker}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
