"""``run_python``: one program run in a sandbox. Where warm sandboxes work (bwrap, root) it runs
on a pooled server (``warm``); otherwise, here, in a fresh sandbox per run (isolation:
``isolation``; limits: ``guest/boot.py``).

- Inside, ``guest/boot.py`` forks the program with rlimits set (CPU as a safety net, AS, FSIZE,
  NOFILE, NPROC, STACK) and, when we are root, the uid of this run's slot (``slots``); it
  enforces the CPU time of the program's process tree and reports it on a report fd. Here only
  the wall-clock backstop (``Limits.wall_s`` + startup) guards against the launcher itself.
- stdin/stdout/stderr are regular files: no pipe deadlocks, and RLIMIT_FSIZE caps the output.
- Fallback (rlimits) leftovers are killed by uid (``kill -9 -1`` as that uid) or by an
  environment marker.
- The channel (fd in argv[1]) is handed over write-only: a program can report on it but not
  read back what the harness wrote there. Many stdin tests at once: ``verifiers.sandbox.warm``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from verifiers.sandbox.guest import box_files
from verifiers.sandbox.guest.common import exited_within
from verifiers.sandbox.isolation import (
    Mode,
    bwrap_args,
    bwrap_path,
    clean_env,
    others_can_run_python,
    resolve_mode,
    site_dirs,
)
from verifiers.sandbox.limits import STDERR_TAIL, Limits, RunResult
from verifiers.sandbox.slots import claimed_slot, kill_group, slot_dir, slot_uid
from verifiers.sandbox.warm import run_served, warm_available

STARTUP_S = 10.0  # bwrap + interpreter start on a loaded machine, before the launcher's clock runs


def run_python(
    files: dict[str, str],
    main: str,
    stdin: bytes = b"",
    limits: Limits = Limits(),
    mode: Mode = "auto",
    argv: list[str] | None = None,
) -> RunResult:
    """Run ``files[main]`` as ``__main__`` in a fresh sandbox; the other files sit beside it (read-only)."""
    if warm_available(mode):
        return run_served(files, main, stdin, limits, argv or [])
    isolation = resolve_mode(mode)
    with claimed_slot() as slot:
        try:
            return _run(files, main, stdin, limits, isolation, argv or [], slot, slot_dir(slot))
        except Exception as exc:  # the sandbox failing must not crash the caller's batch
            return RunResult(None, b"", "", b"", 0.0, False, False, isolation, f"{type(exc).__name__}: {exc}")


def _run(
    files: dict[str, str],
    main: str,
    stdin: bytes,
    limits: Limits,
    isolation: str,
    argv: list[str],
    slot: int,
    tmp: Path,
) -> RunResult:
    box, work = tmp / "box", tmp / "work"
    box.mkdir(parents=True, exist_ok=True)
    work.mkdir()
    for name, text in {**files, **box_files("boot.py", "common.py")}.items():
        (box / name).write_text(text)
    root = os.geteuid() == 0
    drop = root and (isolation == "bwrap" or others_can_run_python())
    uid = slot_uid(slot) if drop else None
    inside = "/box" if isolation == "bwrap" else str(box)
    os.chmod(tmp, 0o755)
    if uid is not None:
        os.chown(work, uid, uid)
    marker = uuid.uuid4().hex
    env = clean_env(marker)
    if isolation != "bwrap":
        env.update(HOME=str(work), TMPDIR=str(work))
    with (
        tempfile.TemporaryFile() as fin,
        tempfile.TemporaryFile() as fout,
        tempfile.TemporaryFile() as ferr,
        tempfile.TemporaryFile() as fchan,
        tempfile.TemporaryFile() as freport,
    ):
        fin.write(stdin)
        fin.seek(0)
        # The program gets the channel write-only (a fresh open file description), as argv[1]:
        # the call-based harness writes its nonce there, and the solution must not read it back.
        wchan = os.open(f"/proc/self/fd/{fchan.fileno()}", os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        wreport = os.open(f"/proc/self/fd/{freport.fileno()}", os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        cfg = {
            "limits": limits.__dict__,
            "report": wreport,
            "uid": uid,
            "main": f"{inside}/{main}",
            "argv": [str(wchan), *argv],
            "path": [inside, *site_dirs()],
            "cwd": "/tmp" if isolation == "bwrap" else str(work),
        }
        cmd = [sys.executable, "-I", "-S", f"{inside}/_boot.py", json.dumps(cfg)]
        if isolation == "bwrap":
            cmd = [bwrap_path() or "bwrap", *bwrap_args(box, limits.tmp_mb), "--", *cmd]
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=fin,
                stdout=fout,
                stderr=ferr,
                env=env,
                cwd=str(work),
                start_new_session=True,
                pass_fds=(wchan, wreport),
            )
        finally:
            os.close(wchan)
            os.close(wreport)
        timed_out = not _wait(proc, limits.wall_s + STARTUP_S)
        kill_group(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = (time.monotonic() - start) * 1000
        if isolation != "bwrap":
            _sweep(uid, marker)
        cap = limits.output_mb << 20
        stdout = _read(fout, cap)
        ferr.seek(max(0, ferr.seek(0, 2) - STDERR_TAIL))
        stderr_tail = ferr.read().decode("utf-8", "replace")
        channel = _read(fchan, 1 << 20)
        report = _report(_read(freport, 4096))
    code = proc.returncode
    if isolation == "bwrap" and code is not None and code > 128:
        code = -(code - 128)  # bwrap reports a child killed by signal N as 128+N
    if isolation == "bwrap" and code == 1 and not stdout and stderr_tail.startswith("bwrap: "):
        return RunResult(code, b"", stderr_tail, b"", elapsed, False, False, isolation, stderr_tail.strip())
    by, cpu = ("wall", usage.ru_utime + usage.ru_stime) if timed_out else (None, 0.0)
    if report and not timed_out:  # the launcher's word: the program's own exit, its tree's CPU
        code, elapsed, cpu, by = report["rc"], report["ms"], report["cpu_s"], report["by"]
    elif not timed_out:  # the launcher died (a same-uid program killed it): count what we saw
        cpu = usage.ru_utime + usage.ru_stime
        by = "cpu" if cpu > limits.time_s else None
    out_cap = len(stdout) >= cap
    return RunResult(code, stdout, stderr_tail, channel, elapsed, by is not None, out_cap, isolation, None, cpu, by)


def _report(data: bytes) -> dict | None:
    """The launcher's one JSON line, if it wrote one."""
    try:
        msg = json.loads(data.decode().splitlines()[0])
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    keys = ("rc", "ms", "cpu_s", "by")
    return msg if isinstance(msg, dict) and all(k in msg for k in keys) else None


def _wait(proc: subprocess.Popen, timeout: float) -> bool:
    """True if the process exited in time; ``Popen.wait`` where there are no pidfds."""
    try:
        return exited_within(proc.pid, timeout)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False


def _read(f, cap: int) -> bytes:
    f.seek(0)
    return f.read(cap)


def _sweep(uid: int | None, marker: str) -> None:
    """Kill what escaped the process group (setsid daemons): by uid, else by environment marker."""
    if uid is not None:
        subprocess.run(
            ["kill", "-9", "-1"],
            user=uid,
            group=uid,
            extra_groups=[],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return
    needle = f"COTDISTILL_SANDBOX_RUN={marker}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
