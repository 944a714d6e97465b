"""The one result type every checker returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """Outcome of checking one model output.

    ``reason`` is a short machine-readable word ('correct', 'wrong_answer', 'no_answer',
    'truncated', 'timeout', 'error', ...); ``detail`` holds what a human needs to audit it.
    """

    ok: bool
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)
