"""Answer checkers: pure functions ``check(reference, completion, **context) -> Verdict``.

Nothing here imports ``pipeline``, so a trainer's reward function can use these alone::

    from verifiers import check
    check("math", "\\frac{1}{2}", "<think>...</think> The answer is $\\boxed{0.5}$.").ok  # True

One registry maps a domain to its checker (``get_checker``); every checker takes the reference
(math: the gold answer; choice: the gold letter; code: the test spec as a dict or JSON text),
the full model output (think block, then the answer) and optional context keywords. Context a
checker does not use is ignored, so one call shape fits every domain: ``problem`` (the problem
text; math rejects answers that only restate an expression from it). ``verifiers.batch.check_all``
runs many checks in worker processes with a hard time limit each. See ``Verdict`` for what a
verdict promises.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from verifiers.verdict import Verdict

Checker = Callable[..., Verdict]

# Domain -> "module:function", imported on first use (math-verify and sympy are slow to import).
CHECKERS: dict[str, str] = {
    "math": "verifiers.math:check",
    "choice": "verifiers.choice:check",
    "code": "verifiers.code:check",
}


def get_checker(domain: str) -> Checker:
    """The checker of ``domain``; ``ValueError`` naming the available ones otherwise."""
    if domain not in CHECKERS:
        raise ValueError(f"no checker for domain {domain!r} (available: {', '.join(CHECKERS)})")
    module, name = CHECKERS[domain].split(":")
    return getattr(importlib.import_module(module), name)


def limit_clock(domain: str) -> str:
    """The clock a row's time limit is counted on (``verifiers.pool``): CPU seconds of the
    checker, except for code, whose work runs in sandboxes that enforce CPU limits per test (the
    row's limit is then a wall-clock backstop)."""
    return "wall" if domain == "code" else "cpu"


def check(domain: str, reference: Any, completion: str, **context: Any) -> Verdict:
    """Check one full model output against its reference, in this process (no time limit)."""
    return get_checker(domain)(reference, completion, **context)


__all__ = ["CHECKERS", "Checker", "Verdict", "check", "get_checker", "limit_clock"]
