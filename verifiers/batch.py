"""Check many outputs at once with a hard time limit per item (worker processes).

``check_all(check_fn, items, timeout_s, workers, clock)`` returns one ``Verdict`` per item, in
order: the checker's own verdict, or ``timeout`` / ``error`` when the worker overran or died.
The limit counts CPU seconds by default (``verifiers.pool``: the verdict does not depend on
machine load); ``clock="wall"`` for checkers that work in other processes (code). Every
verdict's ``detail["time_ms"]`` is the wall time of its check, measured the same way for all.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable

from verifiers.pool import Clock, run_with_timeout
from verifiers.verdict import Verdict


def _apply(check_fn: Callable[..., Verdict], args: tuple, context: dict[str, Any]) -> Verdict:
    return check_fn(*args, **context)


def check_all(
    check_fn: Callable[..., Verdict],
    items: Iterable[tuple],
    timeout_s: float = 10.0,
    workers: int | None = None,
    on_done: Callable[[], None] | None = None,
    clock: Clock = "cpu",
) -> list[Verdict]:
    """Run ``check_fn`` on every item; ``check_fn`` must be a module-level function.

    An item is ``(reference, completion)`` or ``(reference, completion, context)`` with
    ``context`` a dict of keywords (e.g. ``{"problem": ...}``). ``on_done`` is called in this
    process as each item finishes (progress bars).
    """
    calls = [(check_fn, tuple(item[:2]), item[2] if len(item) > 2 else {}) for item in items]
    outcomes = run_with_timeout(
        _apply,
        calls,
        timeout_s=timeout_s,
        workers=workers or os.cpu_count() or 1,
        preload=[check_fn.__module__],
        on_done=on_done,
        clock=clock,
    )
    verdicts = []
    for out in outcomes:
        elapsed = round(out.elapsed_ms, 3)
        if out.status == "ok":
            verdicts.append(Verdict(out.value.ok, out.value.reason, {**out.value.detail, "time_ms": elapsed}))
        elif out.status == "timeout":
            limit = {"limit_s": timeout_s, "clock": clock, "cpu_ms": out.cpu_ms}
            verdicts.append(Verdict(False, "timeout", {"time_ms": elapsed, **limit}))
        else:
            verdicts.append(Verdict(False, "error", {"error": out.value, "time_ms": elapsed}))
    return verdicts
