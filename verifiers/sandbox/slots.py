"""Slots let many sandboxes run at once: each concurrent run holds one, with its own uid and dir.

The uid is unique to (this process, slot), so RLIMIT_NPROC and the kill-by-uid sweep are per
sandbox: a fork bomb hits its own wall without starving the others.

Machine-wide, at most ``max_sandboxes()`` (the usable cores) run at once, whatever number of
worker processes and threads ask: each run also holds one of that many ``flock``ed files in
``LOCK_DIR``. The verify stage runs a worker per core and each splits tests across cores; without
this bound they would overload the machine by themselves.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOCK_DIR = "/tmp/cotdistill-sandbox-cpus"  # env COTDISTILL_SANDBOX_LOCKS moves it (tests)


def max_sandboxes() -> int:
    """Sandboxes allowed at once on this machine: env ``COTDISTILL_SANDBOX_CONCURRENCY``, else the
    cores this process may use."""
    env = os.environ.get("COTDISTILL_SANDBOX_CONCURRENCY", "")
    return max(1, int(env)) if env.isdigit() else len(os.sched_getaffinity(0))


_HELD = threading.local()  # a thread already holding a token: nested runs (a checker program
# judging a test inside the warm runner's callback) use it instead of waiting for another


@contextmanager
def cpu_token() -> Iterator[int]:
    """Hold one of ``max_sandboxes()`` machine-wide tokens for the ``with`` block (waits for one)."""
    if getattr(_HELD, "token", None) is not None:
        yield _HELD.token
        return
    with _machine_token() as token:
        _HELD.token = token
        try:
            yield token
        finally:
            _HELD.token = None


@contextmanager
def _machine_token() -> Iterator[int]:
    n = max_sandboxes()
    locks = Path(os.environ.get("COTDISTILL_SANDBOX_LOCKS") or LOCK_DIR)
    try:
        locks.mkdir(exist_ok=True)
        if locks.stat().st_uid == os.geteuid():
            os.chmod(locks, 0o1777)  # other users' sandboxes count too
    except OSError:
        yield -1  # no shared lock dir: unbounded, as before
        return
    first, pause = (os.getpid() + time.monotonic_ns()) % n, 0.001
    while True:
        for k in range(n):
            index = (first + k) % n
            fd = os.open(locks / f"{index}.lock", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            try:
                yield index
            finally:
                os.close(fd)  # releases the lock
            return
        time.sleep(pause)
        pause = min(0.02, pause * 2)


SLOT_COUNT = 64
_FREE: queue.Queue[int] = queue.Queue()
for _slot in range(SLOT_COUNT):
    _FREE.put(_slot)
_ROOTS: dict[int, Path] = {}  # per process id: a forked child must not share its parent's dirs


@contextmanager
def claimed_slot() -> Iterator[int]:
    """Hold a machine-wide CPU token and a free slot of this process for the ``with`` block."""
    with cpu_token():
        slot = take_slot()
        try:
            yield slot
        finally:
            return_slot(slot)


def take_slot() -> int:
    """A free slot of this process (its uid and dir are this caller's until ``return_slot``)."""
    return _FREE.get()


def return_slot(slot: int) -> None:
    _FREE.put(slot)


def slot_uid(slot: int) -> int:
    """The uid a sandbox in ``slot`` of this process runs as."""
    return 200_000 + (os.getpid() % 4_000_000) * SLOT_COUNT + slot


def slot_dir(slot: int) -> Path:
    """A directory per slot, reused across runs (creating and removing one costs milliseconds)."""
    root = _ROOTS.get(os.getpid())
    if root is None:
        root = _ROOTS[os.getpid()] = Path(tempfile.mkdtemp(prefix="cotdistill-sbx-"))
        os.chmod(root, 0o755)
        atexit.register(shutil.rmtree, root, True)
    tmp = root / str(slot)
    shutil.rmtree(tmp / "work", ignore_errors=True)  # the fallback's cwd: nothing from the last run
    return tmp


def kill_group(pgid: int) -> None:
    """SIGKILL a process group; one that is already gone is fine."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
