"""What a sandboxed run may use (``Limits``) and what it reports back (``RunResult``)."""

from __future__ import annotations

from dataclasses import dataclass

from verifiers.sandbox.guest.common import MEMORY_EXIT

STDERR_TAIL = 2000  # characters of stderr kept: the end is where the traceback is


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
        return self.returncode == MEMORY_EXIT or (
            self.returncode not in (0, None) and self.stderr_tail.rstrip().endswith("MemoryError")
        )
