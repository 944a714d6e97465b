"""Run checker calls in worker processes with a hard wall-clock limit per item.

math-verify's own timeouts use ``SIGALRM``, which only works in the main thread and can be
defeated by C code that never returns to the interpreter. Here a worker that overruns its item
is killed and replaced, the item is reported as a timeout, and the batch goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterable, Literal

Status = Literal["ok", "error", "timeout"]


@dataclass(frozen=True)
class Outcome:
    status: Status
    value: Any  # the function's return value, or an error message
    elapsed_ms: float


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

    def submit(self, index: int, args: tuple) -> None:
        self.index, self.started = index, time.monotonic()
        self.conn.send((index, args))

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
) -> list[Outcome]:
    """Call ``fn(*args)`` for every args tuple in worker processes; one Outcome per item, in order.

    ``fn`` must be a module-level function (it is pickled to the workers). ``preload`` names
    modules the fork server imports once, so a worker restarted after a kill starts warm;
    ``on_done`` is called here as each item finishes.
    """
    todo = deque(enumerate(items))
    results: dict[int, Outcome] = {}
    if not todo:
        return []
    # forkserver: cheap restarts after a kill, and safe when the parent holds threads (vLLM).
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([fn.__module__, *(preload or [])])
    idle = [_Worker(ctx, fn) for _ in range(max(1, min(workers, len(todo))))]
    busy: dict[Connection, _Worker] = {}
    try:
        while todo or busy:
            while idle and todo:
                worker = idle.pop()
                index, args = todo.popleft()
                worker.submit(index, args)
                busy[worker.conn] = worker
            next_deadline = min(w.started + timeout_s for w in busy.values())
            for conn in wait(list(busy), timeout=max(0.0, next_deadline - time.monotonic())):
                worker = busy.pop(conn)
                index, elapsed = worker.index, (time.monotonic() - worker.started) * 1000
                try:
                    _, (status, value) = conn.recv()
                except (EOFError, OSError):  # the worker died (segfault, OOM kill)
                    status, value = "error", f"worker died (exit code {worker.proc.exitcode})"
                    worker.kill()
                    worker = _Worker(ctx, fn)
                results[index] = Outcome(status, value, elapsed)
                idle.append(worker)
                if on_done is not None:
                    on_done()
            now = time.monotonic()
            for conn, worker in list(busy.items()):
                if now - worker.started >= timeout_s:
                    del busy[conn]
                    results[worker.index] = Outcome("timeout", None, (now - worker.started) * 1000)
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
