"""What a sandboxed run may use (``Limits``) and what it reports back (``RunResult``)."""

from __future__ import annotations

from dataclasses import dataclass

from verifiers.sandbox.guest.common import MEMORY_EXIT

STDERR_TAIL = 2000  # characters of stderr kept: the end is where the traceback is


@dataclass(frozen=True)
class Limits:
    """What one run may use. Time is CPU time of the program's whole process tree (see
    ``guest/common.py: supervise``), so a verdict does not depend on how busy the machine is.

    ``idle_s``: seconds the tree may spend neither on a CPU nor waiting for one (sleeping,
    blocked); default ``1 + time_s / 4``. ``wall_s``: the absolute wall-clock backstop, default
    ``max(3 * time_s, time_s + 5)``: it only fires for a program starved beyond that by load.
    """

    time_s: float = 2.0  # CPU seconds of the process tree
    memory_mb: int = 2048
    output_mb: int = 64
    tmp_mb: int = 64
    nproc: int = 64
    nofile: int = 256
    stack_mb: int = 512
    idle_s: float | None = None
    wall_s: float | None = None

    def __post_init__(self) -> None:
        if self.idle_s is None:
            object.__setattr__(self, "idle_s", 1.0 + self.time_s / 4)
        if self.wall_s is None:
            object.__setattr__(self, "wall_s", max(3 * self.time_s, self.time_s + 5))


@dataclass(frozen=True)
class RunResult:
    returncode: int | None  # exit code, or -signal when killed by a signal
    stdout: bytes
    stderr_tail: str
    channel: bytes  # what the program wrote on fd 3 (the call-based harness reports there)
    time_ms: float
    timed_out: bool  # a time limit fired: ``limit`` says which
    output_limit: bool
    isolation: str
    error: str | None = None  # the sandbox itself failed to start
    cpu_s: float = 0.0  # CPU seconds of the whole process tree
    limit: str | None = None  # the time limit that fired: "cpu", "idle" (asleep, blocked) or "wall"

    @property
    def memory_error(self) -> bool:
        return self.returncode == MEMORY_EXIT or (
            self.returncode not in (0, None) and self.stderr_tail.rstrip().endswith("MemoryError")
        )
