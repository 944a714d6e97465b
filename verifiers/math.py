"""Math answers checked with math-verify, on the answer part only.

``check(gold, completion)`` takes a full model output; ``check_answer(gold, answer)`` the text
after the think block. math-verify's own timeouts (``signal.alarm``) are switched off: callers
that need a time limit run these through ``verifiers.pool.run_with_timeout``.
"""

from __future__ import annotations

import logging
import time

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

from verifiers.trace import split_think
from verifiers.verdict import Verdict

# math-verify warns on every call that its own timeouts are off; that is deliberate here.
logging.getLogger("math_verify").setLevel(logging.ERROR)

_GOLD_CONFIG = (LatexExtractionConfig(), ExprExtractionConfig())
# boxed_match_priority=0 makes a \boxed{} answer win over other LaTeX in the answer part.
_ANSWER_CONFIG = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())


def _parse_gold(gold: str) -> list:
    text = gold.strip()
    if "\\boxed" not in text and "$" not in text:
        text = f"${text}$"
    return parse(text, extraction_config=_GOLD_CONFIG, parsing_timeout=None)


def check_answer(gold: str, answer: str) -> Verdict:
    """Compare the final-answer text of a trace with the reference answer."""
    start = time.perf_counter()

    def done(ok: bool, reason: str, **detail: object) -> Verdict:
        detail["time_ms"] = round((time.perf_counter() - start) * 1000, 3)
        return Verdict(ok, reason, detail)

    try:
        gold_parsed = _parse_gold(gold)
    except Exception as exc:
        return done(False, "bad_reference", error=f"{type(exc).__name__}: {exc}")
    if not gold_parsed:
        return done(False, "bad_reference", gold=gold)
    if not answer.strip():
        return done(False, "no_answer")
    try:
        pred = parse(answer, extraction_config=_ANSWER_CONFIG, parsing_timeout=None)
    except Exception as exc:
        return done(False, "error", error=f"{type(exc).__name__}: {exc}")
    if not pred:
        return done(False, "no_answer")
    extracted = str(pred[-1])
    try:
        ok = bool(verify(gold_parsed, pred, timeout_seconds=None))
    except Exception as exc:
        return done(False, "error", extracted=extracted, error=f"{type(exc).__name__}: {exc}")
    return done(ok, "correct" if ok else "wrong_answer", extracted=extracted)


def check(gold: str, completion: str) -> Verdict:
    """Check a full model output (think block, then answer) against the reference answer."""
    split = split_think(completion)
    if not split.think_closed:
        return Verdict(False, "truncated", {"time_ms": 0.0})
    return check_answer(gold, split.answer)
