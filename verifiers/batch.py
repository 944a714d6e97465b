"""Check many outputs at once with a hard wall-clock limit per item (worker processes).

``check_all(check_fn, items, timeout_s, workers)`` returns one ``Verdict`` per item, in order:
the checker's own verdict, or ``timeout`` / ``error`` when the worker overran or died.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable

from verifiers.pool import run_with_timeout
from verifiers.verdict import Verdict


def check_all(check_fn: Callable[..., Verdict], items: Iterable[tuple], timeout_s: float = 10.0,
              workers: int | None = None) -> list[Verdict]:
    """Run ``check_fn(*item)`` for every item; ``check_fn`` must be a module-level function."""
    outcomes = run_with_timeout(check_fn, items, timeout_s=timeout_s, workers=workers or os.cpu_count() or 1)
    verdicts = []
    for out in outcomes:
        if out.status == "ok":
            verdict = out.value
            detail = {**verdict.detail, "wall_ms": round(out.elapsed_ms, 3)}
            verdicts.append(Verdict(verdict.ok, verdict.reason, detail))
        elif out.status == "timeout":
            verdicts.append(Verdict(False, "timeout", {"time_ms": round(out.elapsed_ms, 3), "limit_s": timeout_s}))
        else:
            verdicts.append(Verdict(False, "error", {"error": out.value, "time_ms": round(out.elapsed_ms, 3)}))
    return verdicts
