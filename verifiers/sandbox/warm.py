"""Warm sandboxes: long-lived sandbox servers (``guest/serve.py``), a forked process per test.

One bwrap start and one interpreter start per *server*, not per submission or test: a server
runs job after job (a job: one program and its inputs), and each test still gets a freshly
forked process with its own rlimits, the server's dropped uid, its own stdin/stdout files, and
afterwards a sweep of its leftovers (processes, /tmp, /dev/shm, SysV IPC). Servers are pooled
per process (at most ``max_sandboxes()`` idle); each holds one slot (uid, dir) for its life and a
machine-wide CPU token only while it runs a job, so idle servers never block other workers.

Used when bwrap works and we are root (the children need a uid other than the server's);
elsewhere, or with ``COTDISTILL_SANDBOX_RUNNER=cold``, ``cold.run_python`` starts a sandbox per
run. A server that stops answering within a test's wall backstop (+ ``STARTUP_S``) is killed and
the test gets a ``RunResult`` with ``error`` set; so is one that does not skip a stopped job's
tests within ``STOP_GRACE_S`` (a slow test is cheaper to kill than to wait for).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from verifiers.sandbox.guest import box_files
from verifiers.sandbox.isolation import bwrap_args, bwrap_path, clean_env, resolve_mode, site_dirs
from verifiers.sandbox.limits import STDERR_TAIL, Limits, RunResult
from verifiers.sandbox.slots import cpu_token, kill_group, max_sandboxes, return_slot, slot_dir, slot_uid, take_slot

STARTUP_S = 10.0  # bwrap + interpreter start, and the sweep after a test, on a loaded machine
STOP_GRACE_S = 0.2
CHANNEL_CAP = 1 << 20

OnResult = Callable[[int, RunResult], bool]


def warm_available(mode: str = "auto") -> bool:
    """True where warm sandboxes run: bwrap mode, as root, not switched off by the environment."""
    return (
        os.environ.get("COTDISTILL_SANDBOX_RUNNER", "warm") != "cold"
        and os.geteuid() == 0
        and resolve_mode(mode) == "bwrap"
    )  # type: ignore[arg-type]


def run_warm(code: str, inputs: list[bytes], limits: Limits, on_result: OnResult) -> None:
    """Run ``code`` on each stdin input in order; ``on_result(i, result)`` returns False to stop.

    Tests that never ran (stopped, or the sandbox failed) get no call, except that a sandbox
    failure reports one ``RunResult`` with ``error`` set for the first test without a result.
    """
    _run_job({"main.py": code}, "main.py", inputs, limits, [], False, on_result)


def run_served(files: dict[str, str], main: str, stdin: bytes, limits: Limits, argv: list[str]) -> RunResult:
    """``cold.run_python`` on a warm server: ``files[main]`` as ``__main__``, channel fd as argv[1]."""
    results: list[RunResult] = []
    _run_job(files, main, [stdin], limits, argv, True, lambda _i, res: results.append(res) or True)
    return results[0] if results else _failed("the sandbox server returned no result")


def _run_job(files, main, inputs, limits, argv, channel, on_result: OnResult) -> None:
    with cpu_token():
        try:
            with _server(limits.tmp_mb) as server:
                server.run(files, main, inputs, limits, argv, channel, on_result)
        except Exception as exc:  # the sandbox failing must not crash the caller's batch
            on_result(0, _failed(f"{type(exc).__name__}: {exc}"))


def _failed(why: str) -> RunResult:
    return RunResult(None, b"", why, b"", 0.0, False, False, "bwrap", why)


class _Server:
    """One bwrap sandbox running ``_serve.py``; used by one thread at a time."""

    def __init__(self, tmp_mb: int) -> None:
        self.slot = take_slot()
        self.root = slot_dir(self.slot) / "server"
        self.box, self.out = self.root / "box", self.root / "out"
        self.proc: subprocess.Popen | None = None
        try:
            self._start(tmp_mb)
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            return_slot(self.slot)
            raise

    def _start(self, tmp_mb: int) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        (self.box / "jobs").mkdir(parents=True)
        self.out.mkdir(mode=0o700)
        for d in (self.root.parent, self.root, self.box, self.box / "jobs"):
            os.chmod(d, 0o755)
        for name, text in box_files("serve.py", "common.py", "guard.py").items():
            (self.box / name).write_text(text)
        self.err = tempfile.TemporaryFile()
        rfd, wfd = os.pipe()
        cfg = {"uid": slot_uid(self.slot), "results": wfd, "path": site_dirs()}
        cmd = [bwrap_path() or "bwrap", *bwrap_args(self.box, tmp_mb), "--bind", str(self.out), "/out", "--"]
        cmd += [sys.executable, "-I", "-S", "/box/_serve.py", json.dumps(cfg)]
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=self.err,
                stderr=self.err,
                env=clean_env(""),
                start_new_session=True,
                pass_fds=(wfd,),
            )
        finally:
            os.close(wfd)
        self.results, self.buf, self.started = rfd, b"", False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.proc is not None:
            kill_group(self.proc.pid)
            self.proc.wait()
            self.proc.stdin.close()
            self.proc = None
            os.close(self.results)
            self.err.close()
            shutil.rmtree(self.root, ignore_errors=True)
            return_slot(self.slot)

    def run(self, files, main, inputs, limits: Limits, argv, channel: bool, on_result: OnResult) -> None:
        job = uuid.uuid4().hex[:16]
        jobdir = self.box / "jobs" / job
        try:
            self._stage(jobdir, files, inputs)
            spec = {"job": job, "main": main, "n": len(inputs), "limits": limits.__dict__, "argv": argv}
            self._send({**spec, "channel": channel})
            self._collect(job, len(inputs), limits, channel, on_result)
        finally:
            shutil.rmtree(jobdir, ignore_errors=True)
            shutil.rmtree(self.out / job, ignore_errors=True)

    def _stage(self, jobdir: Path, files: dict[str, str], inputs: list[bytes]) -> None:
        """The job's files, readable by the test uid; its inputs, root's only (passed as fds)."""
        (jobdir / "in").mkdir(parents=True)
        os.chmod(jobdir, 0o755)
        os.chmod(jobdir / "in", 0o700)
        for name, text in files.items():
            (jobdir / name).write_text(text)
        for i, data in enumerate(inputs):
            if data:  # the server gives an empty input as /dev/null
                (jobdir / "in" / str(i)).write_bytes(data)

    def _send(self, msg: dict) -> None:
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def _collect(self, job: str, n: int, limits: Limits, channel: bool, on_result: OnResult) -> None:
        per_test = limits.wall_s + STARTUP_S
        deadline = time.monotonic() + per_test + (0 if self.started else STARTUP_S)
        got, stopped = 0, False
        while True:
            msg = self._next(deadline)
            if msg is None:  # silent past the backstop, or gone: not reusable
                why = self._why()
                self.close()
                if not stopped and got < n:
                    on_result(got, _failed(why))
                return
            self.started = True
            if msg.get("done") is not None:
                return
            got += 1
            if stopped:
                continue
            if on_result(msg["i"], self._result(msg, job, limits, channel)):
                deadline = time.monotonic() + per_test
            else:
                stopped, deadline = True, time.monotonic() + STOP_GRACE_S
                self._send({"stop": job})

    def _next(self, deadline: float) -> dict | None:
        while b"\n" not in self.buf:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([self.results], [], [], wait)[0]:
                return None
            chunk = os.read(self.results, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def _why(self) -> str:
        self.err.seek(max(0, self.err.seek(0, 2) - STDERR_TAIL))
        tail = self.err.read().decode("utf-8", "replace").strip()
        return tail or "the sandbox server stopped answering"

    def _result(self, msg: dict, job: str, limits: Limits, channel: bool) -> RunResult:
        i, cap, out = msg["i"], limits.output_mb << 20, self.out / job
        with open(out / f"{i}.out", "rb") as f:
            stdout = f.read(cap)
        with open(out / f"{i}.err", "rb") as f:
            f.seek(max(0, f.seek(0, 2) - STDERR_TAIL))
            stderr_tail = f.read().decode("utf-8", "replace")
        for suffix in (".out", ".err"):  # free the space as we go (big outputs, many tests)
            (out / f"{i}{suffix}").unlink(missing_ok=True)
        chan = b""
        if channel:
            with open(out / "chan", "rb") as f:
                chan = f.read(CHANNEL_CAP)
        by, output_limit = msg["by"], len(stdout) >= cap
        return RunResult(
            msg["rc"],
            stdout,
            stderr_tail,
            chan,
            msg["ms"],
            by is not None,
            output_limit,
            "bwrap",
            None,
            msg["cpu_s"],
            by,
        )


_IDLE: dict[tuple[int, int], list[_Server]] = {}
_LOCK = threading.Lock()


@contextmanager
def _server(tmp_mb: int) -> Iterator[_Server]:
    """An idle server of this process (or a new one); back to the pool afterwards if still sound."""
    key = (os.getpid(), tmp_mb)  # a forked child must not talk to its parent's servers
    with _LOCK:
        idle = _IDLE.setdefault(key, [])
        server = idle.pop() if idle else None
    if server is not None and not server.alive():
        server.close()
        server = None
    server = server or _Server(tmp_mb)
    try:
        yield server
    except BaseException:
        server.close()  # mid-job: its state is unknown
        raise
    finally:
        with _LOCK:
            keep = server.alive() and len(_IDLE[key]) < max_sandboxes()
            if keep:
                _IDLE[key].append(server)
        if not keep:
            server.close()


@atexit.register
def _close_idle() -> None:
    with _LOCK:
        mine = [s for (pid, _), servers in _IDLE.items() if pid == os.getpid() for s in servers]
        for key in [k for k in _IDLE if k[0] == os.getpid()]:
            del _IDLE[key]
    for server in mine:
        server.close()
