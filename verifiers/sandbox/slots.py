"""Slots let many sandboxes run at once: each concurrent run holds one, with its own uid and dir.

The uid is unique to (this process, slot), so RLIMIT_NPROC and the kill-by-uid sweep are per
sandbox: a fork bomb hits its own wall without starving the others.
"""

from __future__ import annotations

import atexit
import os
import queue
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SLOT_COUNT = 64
_FREE: queue.Queue[int] = queue.Queue()
for _slot in range(SLOT_COUNT):
    _FREE.put(_slot)
_ROOTS: dict[int, Path] = {}  # per process id: a forked child must not share its parent's dirs


@contextmanager
def claimed_slot() -> Iterator[int]:
    """Hold a free slot for the ``with`` block; waits while all ``SLOT_COUNT`` are taken."""
    slot = _FREE.get()
    try:
        yield slot
    finally:
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
