"""Answer checkers: pure functions from model output to a ``Verdict``.

Nothing here imports ``pipeline``, so a trainer's reward function can use these alone.
Checkers never raise on model output; they return ``Verdict(ok=False, reason=...)``.
"""

from verifiers.verdict import Verdict

__all__ = ["Verdict"]
