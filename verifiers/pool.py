"""Run checker calls in worker processes with a hard time limit per item.

math-verify's own timeouts use ``SIGALRM``, which only works in the main thread and can be
defeated by C code that never returns to the interpreter. Here a worker that overruns its item
is killed and replaced, the item is reported as a timeout, and the batch goes on.

The limit's clock (``clock``):
- ``"cpu"`` (default): CPU seconds the worker spent on the item (``/proc/<pid>/stat``), so an
  item gets the same verdict on a quiet and on a busy machine (a verifier pool on a loaded node
  is the normal case). A wall backstop (``WALL_BACKSTOP``) still ends an item stuck asleep.
- ``"wall"``: seconds since the item started. For checkers whose work happens in other
  processes (code runs in sandboxes, which enforce their own CPU limits per test).
Where ``/proc`` is missing the CPU clock falls back to wall time.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterable, Literal

Status = Literal["ok", "error", "timeout"]
Clock = Literal["cpu", "wall"]
WALL_BACKSTOP = (10.0, 60.0)  # cpu clock: an item also ends after max(10 x limit, 60 s) of wall time
MIN_WAIT_S = 0.02
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Outcome:
    status: Status
    value: Any  # the function's return value, or an error message
    elapsed_ms: float
    cpu_ms: float | None = None  # CPU time the worker spent on the item (None: not measured)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` and its reaped children; None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return sum(map(int, fields[11:15])) / _TICK


def _worker_loop(conn: Connection, fn: Callable[..., Any]) -> None:
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        index, args = msg
        try:
            reply = ("ok", fn(*args))
        except Exception as exc:  # a checker bug must not take the worker down silently
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send((index, reply))


class _Worker:
    def __init__(self, ctx: Any, fn: Callable[..., Any]):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_loop, args=(child, fn), daemon=True)
        self.proc.start()
        child.close()
        self.index: int | None = None
        self.started = 0.0
        self.cpu_start: float | None = None
        self.check_at = 0.0  # before this moment the item cannot have reached its limit

    def submit(self, index: int, args: tuple, timeout_s: float) -> None:
        self.index, self.started = index, time.monotonic()
        self.cpu_start = _cpu_seconds(self.proc.pid)
        self.check_at = self.started + timeout_s
        self.conn.send((index, args))

    def used(self, clock: Clock, now: float) -> tuple[float, float | None]:
        """(seconds counted against the limit, CPU seconds or None) of the current item."""
        cpu = _cpu_seconds(self.proc.pid) if self.cpu_start is not None else None
        cpu = None if cpu is None else max(0.0, cpu - self.cpu_start)
        return (now - self.started if clock == "wall" or cpu is None else cpu), cpu

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.kill()


def run_with_timeout(
    fn: Callable[..., Any],
    items: Iterable[tuple],
    timeout_s: float,
    workers: int = 2,
    preload: list[str] | None = None,
    on_done: Callable[[], None] | None = None,
    clock: Clock = "cpu",
) -> list[Outcome]:
    """Call ``fn(*args)`` for every args tuple in worker processes; one Outcome per item, in order.

    ``fn`` must be a module-level function (it is pickled to the workers). ``preload`` names
    modules the fork server imports once, so a worker restarted after a kill starts warm;
    ``on_done`` is called here as each item finishes. ``timeout_s`` is counted on ``clock``.
    """
    todo = deque(enumerate(items))
    results: dict[int, Outcome] = {}
    if not todo:
        return []
    # forkserver: cheap restarts after a kill, and safe when the parent holds threads (vLLM).
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([fn.__module__, *(preload or [])])
    idle = [_Worker(ctx, fn) for _ in range(max(1, min(workers, len(todo))))]
    backstop = max(WALL_BACKSTOP[0] * timeout_s, WALL_BACKSTOP[1]) if clock == "cpu" else timeout_s
    busy: dict[Connection, _Worker] = {}
    try:
        while todo or busy:
            while idle and todo:
                worker = idle.pop()
                index, args = todo.popleft()
                worker.submit(index, args, timeout_s)
                busy[worker.conn] = worker
            now = time.monotonic()
            wait_s = min(min(w.check_at, w.started + backstop) - now for w in busy.values())
            for conn in wait(list(busy), timeout=max(MIN_WAIT_S, wait_s)):
                worker = busy.pop(conn)
                now = time.monotonic()
                index, elapsed_ms, (_, cpu) = worker.index, (now - worker.started) * 1000, worker.used("cpu", now)
                try:
                    _, (status, value) = conn.recv()
                except (EOFError, OSError):  # the worker died (segfault, OOM kill)
                    status, value = "error", f"worker died (exit code {worker.proc.exitcode})"
                    worker.kill()
                    worker = _Worker(ctx, fn)
                results[index] = Outcome(status, value, elapsed_ms, _ms(cpu))
                idle.append(worker)
                if on_done is not None:
                    on_done()
            now = time.monotonic()
            for conn, worker in list(busy.items()):
                if now < worker.check_at and now < worker.started + backstop:
                    continue
                used, cpu = worker.used(clock, now)
                # CPU time grows no faster than wall time: no need to look again before then.
                worker.check_at = now + (timeout_s - used)
                if used >= timeout_s or now >= worker.started + backstop:
                    del busy[conn]
                    results[worker.index] = Outcome("timeout", None, (now - worker.started) * 1000, _ms(cpu))
                    worker.kill()
                    idle.append(_Worker(ctx, fn))
                    if on_done is not None:
                        on_done()
    finally:
        for worker in idle:
            worker.stop()
        for worker in busy.values():
            worker.kill()
    return [results[i] for i in range(len(results))]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
