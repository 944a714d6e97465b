"""Point the process's stdout and stderr file descriptors somewhere else for a while.

Used where whole libraries (vLLM, torch, C extensions, child processes) must write into a log
file rather than the terminal: redirecting ``sys.stdout`` would miss everything written to the
descriptors directly.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


@contextlib.contextmanager
def std_fds_to(fd: int) -> Iterator[None]:
    """Make fds 1 and 2 copies of ``fd`` until the block ends, then put the originals back
    (Python's buffered streams flushed on both sides, so no line lands in the wrong place)."""
    _flush_python_streams()
    saved = {target: os.dup(target) for target in (1, 2)}
    try:
        for target in saved:
            os.dup2(fd, target)
        yield
    finally:
        _flush_python_streams()
        for target, copy in saved.items():
            os.dup2(copy, target)
            os.close(copy)
