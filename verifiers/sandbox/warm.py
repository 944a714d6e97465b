"""Many stdin tests of one program in one warm sandbox (see ``guest/warm_boot.py``).

One bwrap start and one Python start per submission instead of per test; each test still gets
a fresh forked process with its own rlimits, uid-swept leftovers and an emptied /tmp. Results
stream back one line per test, so the caller can stop the sandbox at the first failure.

Used when bwrap works and we are root (the children need a uid other than the supervisor's);
elsewhere, or with ``COTDISTILL_SANDBOX_RUNNER=cold``, callers use ``run_python`` per test.
Not wiped between tests: SysV IPC objects in the sandbox's own IPC namespace (a test would have
to plant state on purpose; the next test of the same submission is the only one who could see it).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from verifiers.sandbox.guest import box_files
from verifiers.sandbox.isolation import bwrap_args, bwrap_path, clean_env, resolve_mode, site_dirs
from verifiers.sandbox.limits import STDERR_TAIL, Limits, RunResult
from verifiers.sandbox.slots import claimed_slot, kill_group, slot_dir, slot_uid

STARTUP_S = 10.0  # bwrap + interpreter start, and the sweep after a test, on a loaded machine


def warm_available(mode: str = "auto") -> bool:
    """True where ``run_warm`` can run: bwrap mode, as root, not switched off by the environment."""
    return (
        os.environ.get("COTDISTILL_SANDBOX_RUNNER", "warm") != "cold"
        and os.geteuid() == 0
        and resolve_mode(mode) == "bwrap"
    )  # type: ignore[arg-type]


def run_warm(code: str, inputs: list[bytes], limits: Limits, on_result: Callable[[int, RunResult], bool]) -> None:
    """Run ``code`` on each input in order; ``on_result(i, result)`` returns False to stop early.

    Tests that never ran (stopped, or the sandbox failed) get no call, except that a sandbox
    failure reports one ``RunResult`` with ``error`` set for the first test without a result.
    """
    with claimed_slot() as slot:
        _run_in_slot(slot, code, inputs, limits, on_result)


def _run_in_slot(
    slot: int, code: str, inputs: list[bytes], limits: Limits, on_result: Callable[[int, RunResult], bool]
) -> None:
    proc = None
    tmp = slot_dir(slot)
    box, out = tmp / "warm-box", tmp / "warm-out"
    try:
        for d in (box, out):
            shutil.rmtree(d, ignore_errors=True)
        (box / "in").mkdir(parents=True)
        out.mkdir(mode=0o700)
        os.chmod(tmp, 0o755)
        os.chmod(box, 0o755)
        os.chmod(box / "in", 0o700)  # inputs: the supervisor's only, children get theirs as fd 0
        (box / "main.py").write_text(code)
        for name, text in box_files("warm_boot.py", "common.py").items():
            (box / name).write_text(text)
        for i, data in enumerate(inputs):
            (box / "in" / str(i)).write_bytes(data)
        rfd, wfd = os.pipe()
        cfg = {
            "limits": limits.__dict__,
            "uid": slot_uid(slot),
            "main": "/box/main.py",
            "n": len(inputs),
            "chan": wfd,
            "path": ["/box", *site_dirs()],
        }
        cmd = [
            bwrap_path() or "bwrap",
            *bwrap_args(box, limits.tmp_mb),
            "--bind",
            str(out),
            "/out",
            "--",
            sys.executable,
            "-I",
            "-S",
            "/box/_warm.py",
            json.dumps(cfg),
        ]
        with tempfile.TemporaryFile() as ferr:
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=ferr,
                    stderr=ferr,
                    env=clean_env(""),
                    start_new_session=True,
                    pass_fds=(wfd,),
                )
            finally:
                os.close(wfd)
            with os.fdopen(rfd, "rb", buffering=0) as chan:
                done = _collect(chan, len(inputs), limits, out, on_result)
            if done is not None and done < len(inputs):  # the supervisor ended early: say why
                kill_group(proc.pid)
                proc.wait()
                ferr.seek(0)
                why = ferr.read()[-STDERR_TAIL:].decode("utf-8", "replace").strip() or "warm sandbox ended"
                on_result(done, RunResult(None, b"", why, b"", 0.0, False, False, "bwrap", why))
    finally:
        if proc is not None:
            kill_group(proc.pid)
            proc.wait()
        shutil.rmtree(out, ignore_errors=True)


def _collect(chan, n: int, limits: Limits, out: Path, on_result) -> int | None:
    """Read result lines; None when the caller stopped, else how many tests reported."""
    buf, got = b"", 0
    per_test = limits.wall_s + STARTUP_S
    poller = select.poll()
    poller.register(chan.fileno(), select.POLLIN)
    deadline = time.monotonic() + per_test
    while got < n:
        if not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
            return got  # nothing within a test's worth of time: the supervisor is stuck
        chunk = chan.read(65536)
        if not chunk:
            return got
        buf += chunk
        while b"\n" in buf and got < n:
            line, buf = buf.split(b"\n", 1)
            msg = json.loads(line)
            deadline = time.monotonic() + per_test
            got += 1
            if not on_result(msg["i"], _result(msg, out, limits)):
                return None
    return got


def _result(msg: dict, out: Path, limits: Limits) -> RunResult:
    i, cap = msg["i"], limits.output_mb << 20
    with open(out / f"{i}.out", "rb") as f:
        stdout = f.read(cap)
    with open(out / f"{i}.err", "rb") as f:
        f.seek(max(0, f.seek(0, 2) - STDERR_TAIL))
        stderr_tail = f.read().decode("utf-8", "replace")
    for suffix in (".out", ".err"):  # free the space as we go (big outputs, many tests)
        (out / f"{i}{suffix}").unlink(missing_ok=True)
    by = msg["by"]
    return RunResult(
        msg["rc"],
        stdout,
        stderr_tail,
        b"",
        msg["ms"],
        by is not None,
        len(stdout) >= cap,
        "bwrap",
        None,
        msg["cpu_s"],
        by,
    )
