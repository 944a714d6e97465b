"""Keep engine noise in the run's log file and show the user the pipeline's own output.

vLLM and torch write warnings through Python logging, ``warnings`` and straight to file
descriptors 1 and 2 from C++. While a command runs stages, fds 1 and 2 point at
``<run_dir>/logs/<command>-<time>.log``; the user's terminal keeps a duplicate of each, and our
consoles (summary on stdout, progress and errors on stderr) write there. Child processes
(verifier workers, sandboxes) inherit the log file, not the terminal.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

from rich.console import Console

from pipeline.cli.common import plain_console
from pipeline.fds import std_fds_to
from pipeline.progress import PlainProgress, Progress, RichProgress

PROGRESS_INTERVAL_ENV = "COTDISTILL_PROGRESS_INTERVAL"  # seconds between plain progress lines


@dataclass
class RunOutput:
    out: Console  # results: the funnel, the dataset path
    err: Console  # errors
    progress: Progress
    log_path: Path


def _user_stream(stream: IO[str], fd: int, stack: contextlib.ExitStack) -> IO[str]:
    """What the user sees: a duplicate of ``fd`` when ``stream`` is that fd, else ``stream`` itself
    (in-process test runners hand us a buffer)."""
    try:
        real = stream.fileno() == fd
    except (AttributeError, OSError, io.UnsupportedOperation):
        real = False
    if not real:
        return stream
    dup = os.fdopen(
        os.dup(fd), "w", buffering=1, encoding=getattr(stream, "encoding", None) or "utf-8", errors="replace"
    )
    stack.callback(dup.close)
    return dup


def _log_handler(path: Path, stack: contextlib.ExitStack) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def remove() -> None:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()

    stack.callback(remove)


def make_progress(stream: IO[str], quiet: bool) -> Progress:
    """Live bars on a terminal; plain periodic lines otherwise (CI, Slurm logs) and with --quiet."""
    tty = getattr(stream, "isatty", lambda: False)()
    if tty and not quiet:
        return RichProgress(Console(file=stream, markup=False, emoji=False, highlight=False))
    return PlainProgress(stream, interval=float(os.environ.get(PROGRESS_INTERVAL_ENV, 30)))


@contextlib.contextmanager
def run_output(run_dir: Path, command: str, quiet: bool) -> Iterator[RunOutput]:
    """Consoles and progress for a command that runs stages, with engine output in a log file."""
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "INFO")
    logs = Path(run_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{command}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    with contextlib.ExitStack() as stack:
        out_stream = _user_stream(sys.stdout, 1, stack)
        err_stream = _user_stream(sys.stderr, 2, stack)
        log_file = stack.enter_context(open(log_path, "ab", buffering=0))
        stack.enter_context(std_fds_to(log_file.fileno()))
        _log_handler(log_path, stack)
        progress = make_progress(err_stream, quiet)
        stack.callback(progress.close)
        yield RunOutput(
            out=plain_console(file=out_stream), err=plain_console(file=err_stream), progress=progress, log_path=log_path
        )
