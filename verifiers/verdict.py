"""The one result type every checker returns: the contract a trainer's reward function can rely on.

- ``ok`` is True only when the answer was verified correct against the reference. A reward is
  ``float(verdict.ok)``; nothing else is needed to score an output.
- ``reason`` is one short machine-readable word. Shared by every domain: ``truncated`` (the
  think block never closed: no answer to read), ``no_answer``, ``wrong_answer``,
  ``bad_reference`` (the reference itself cannot be read), ``timeout`` and ``error`` (from
  ``verifiers.batch.check_all``: the check overran its hard limit or its worker died).
  math adds ``correct`` and ``restates_problem``; choice adds ``correct``; code adds ``passed``,
  ``runtime_error``, ``time_limit``, ``memory_limit``, ``compile_error``, ``no_code``,
  ``no_tests``, ``sandbox_error``, ``no_checker`` (a custom-validation problem without a checker
  program whose output differs from the bundled answer: not verified, not wrong) and
  ``checker_error`` (the checker program itself failed).
- ``detail`` holds what a human needs to audit the verdict (the extracted answer, the first
  failing test ...). ``detail["time_ms"]`` is the one timing key: milliseconds spent checking
  (wall clock around the whole check when it ran through ``check_all``).

Checkers never raise on model output, whatever it contains; they return a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """Outcome of checking one model output (see the module docstring for the contract)."""

    ok: bool
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)
