"""Multiple-choice answers: find the one letter the model committed to in its answer part.

Priority (first rule that finds letters wins, the last occurrence within it):
``\\boxed{B}`` > "answer is (B)" / "Answer: B" > a bare letter line like "(B)" or "**B**" >
the last "(B)" anywhere in the answer part. No letter at all is ``no_answer``, never a guess.
An answer that offers alternatives ("the answer is A or B", ``\\boxed{A \\text{ or } B}``) names
no single letter: it is ``wrong_answer`` whatever the gold (rule ``hedged``).
"""

from __future__ import annotations

import re
import time

from verifiers.trace import split_think
from verifiers.verdict import Verdict

LETTERS = "ABCDEFGHIJ"  # MMLU-Pro has ten options
_L = f"[{LETTERS}]"

_BOXED = re.compile(rf"\\boxed\{{\s*(?:\\text\{{)?\s*\(?({_L})\)?\s*\}}?\s*\}}")
_STATED = re.compile(
    rf"(?:answer|option|choice)\s*(?:is|:|=)?\s*(?:option|choice)?\s*[:\s]*\**\s*[\(\[]?\s*({_L})\s*[\)\]]?\**(?![A-Za-z])",
    re.IGNORECASE,
)
_BARE_LINE = re.compile(rf"^\W*\(?\s*({_L})\s*\)?[\.\):]?\W*$", re.MULTILINE)
_PAREN = re.compile(rf"\(({_L})\)")
# What turns a stated letter into a hedge: "A or B", "(A) or (B)", "C/D".
_OR = r"(?:\s*/\s*|\s+or\s+|\s*\\text\{\s*or\s*\}\s*)"
_ALTERNATIVE = re.compile(rf"{_OR}(?:option\s+|choice\s+)?[\(\[]?\s*({_L})\s*[\)\]]?(?![A-Za-z])")
_BOXED_HEDGE = re.compile(
    rf"\\boxed\{{\s*(?:\\text\{{)?\s*\(?{_L}\)?\s*\}}?(?:{_OR}|\s*,\s*)(?:\\text\{{)?\s*\(?({_L})\)?\s*\}}?\s*\}}"
)


def _gold_letter(gold: str) -> str | None:
    match = re.fullmatch(rf"\W*({_L})\W*", gold.strip().upper())
    return match.group(1) if match else None


def extract_letter(answer: str) -> tuple[str | None, str]:
    """The committed letter and the rule that found it; (None, reason) when there is none."""
    for name, pattern in (("boxed", _BOXED), ("stated", _STATED), ("bare", _BARE_LINE), ("paren", _PAREN)):
        found = [m for m in pattern.finditer(answer) if m.group(1).upper() in LETTERS]
        if name == "boxed":
            hedges = list(_BOXED_HEDGE.finditer(answer))
            if hedges and (not found or hedges[-1].start() > found[-1].start()):
                return None, "hedged"
        if name == "stated":
            # "answer is A" must not catch the article "a": stated letters must be upper case.
            found = [m for m in found if m.group(1).isupper()]
            alternative = found and _ALTERNATIVE.match(answer, found[-1].end())
            after_other = len(found) > 1 and re.fullmatch(_OR, answer[found[-2].end() : found[-1].start()])
            if (alternative and alternative.group(1) != found[-1].group(1)) or (
                after_other and found[-2].group(1) != found[-1].group(1)
            ):
                return None, "hedged"
        if found:
            return found[-1].group(1).upper(), name
    return None, "no_answer"


def check_answer(gold: str, answer: str) -> Verdict:
    """Compare the answer part of a trace with the gold letter."""
    start = time.perf_counter()
    gold_letter = _gold_letter(gold)
    if gold_letter is None:
        return Verdict(False, "bad_reference", {"gold": gold})
    if not answer.strip():
        return Verdict(False, "no_answer", {"time_ms": 0.0})
    letter, rule = extract_letter(answer)
    detail = {"extracted": letter, "rule": rule, "time_ms": round((time.perf_counter() - start) * 1000, 3)}
    if letter is None:
        return Verdict(False, "wrong_answer" if rule == "hedged" else "no_answer", detail)
    return Verdict(letter == gold_letter, "correct" if letter == gold_letter else "wrong_answer", detail)


def check(reference: str, completion: str, **_context: object) -> Verdict:
    """Check a full model output (think block, then answer) against the gold letter."""
    if not str(reference or "").strip():
        return Verdict(False, "bad_reference", {"time_ms": 0.0, "error": "the reference letter is empty"})
    if not (completion or "").strip():
        return Verdict(False, "no_answer", {"time_ms": 0.0, "error": "the output is empty"})
    split = split_think(completion)
    if not split.think_closed:
        return Verdict(False, "truncated", {"time_ms": 0.0})
    return check_answer(reference, split.answer)
