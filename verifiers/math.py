"""Math answers checked with math-verify, on the final answer only, with its known traps closed.

``check(reference, completion, problem=...)`` takes a full model output; ``check_answer(gold, answer)`` the text
after the think block. What is compared, in order (see ``verifiers.math_extract``):

1. the final answer block of the answer part: the last ``\\boxed{}`` / ``\\fbox{}``, with the
   boxes before it that only connective text separates from it (``,``, ``and``, ``or``,
   ``\\quad \\text{and} \\quad``, ``\\) and \\(``, labels like ``y_2 =``) taken as a list; boxes
   of intermediate values with prose between them are not the answer. An explicit "The final
   answer is $10,455$" after the last box wins over the boxes. An unbalanced last box is not
   guessed at (no_answer). When the math goes on right after the box (``\\boxed{2}\\sqrt{3}``)
   the whole expression is the answer, not the box alone.
2. with no box: a plain-text answer after "answer is"/"answer:" that offers alternatives or is
   written with pi/sqrt/π, else math-verify's own extraction on the last ``MAX_TAIL_CHARS`` of
   the answer part.

A reference with several boxes is a list answer, all of whose values must be given: a set
(``n=\\boxed{1}`` and ``n=\\boxed{-2}``, any order), or an ordered tuple when the boxes carry
distinct labels or units (``x=\\boxed{3}, y=\\boxed{4}``). An answer that offers alternatives
("2 or 3", "10 (or possibly 12)") is the list of them, so it matches no single gold.

Semantics on top of math-verify's ``verify`` (each closes a wrong-True seen in practice):

- numbers: math-verify compares with an absolute tolerance (``evalf(chop=True)``, 6 decimals
  for floats), so ``1/2004!`` equals ``1/2006!``. A True is kept only if the two values also
  agree relatively (exact: 1e-12, float involved: 1e-3).
- ratios ``a:b:c`` are compared part by part up to a common factor (math-verify reads them as
  chained divisions, so ``1:2:3`` equals ``2:1:12``); a 2-part ratio also matches ``a/b``; a
  labelled ratio (``V_1:V_2 = 11:21``) is its right-hand side.
- ``h:mm`` (two-digit minutes, optional am/pm) against ``h:mm`` is a time of day, not a ratio,
  unless either is labelled or the problem says "ratio": ``2:30`` is not ``1:15``. A time
  matches only a time with the same clock reading; ``12:00`` (no am/pm) matches ``12:00 pm``
  and ``12:00 am``, ``14:30`` matches ``2:30 pm``. A gold with am/pm needs a time.
- thousands written ``1\\,000``, ``1\\ 000``, ``1 000``, ``1{,}000`` (groups of exactly three
  digits) are one number, never a product; ``10,455`` too when it is the whole answer.
- a gold assignment of a constant (``x = 3``) needs that value, alone or assigned to the same
  variable: ``x + 1 = 4`` (implies it, does not state it) and ``y = 3`` are wrong. A gold value
  against an equation takes the equation's last right-hand side (``a+b=7`` gives 7), as
  math-verify does; equations of curves (``y = 2x + 3``) are compared as equations.
- a percentage matches its number of percent (``6.17`` and ``6.17\\%``), as math-verify
  already does for integers only.
- upright constants and numbers (``\\mathrm{e}``, ``\\text{13}``) are unwrapped, and plain-text
  math (``pi/2``, ``-2*pi``, ``sqrt(3)``, ``π``) is turned into LaTeX before parsing.

Each gold is read (extracted and parsed) once for all its samples (``_gold``, an LRU cache), and
an answer written as the gold itself, up to layout, reuses the gold's parse.

math-verify's own timeouts (``SIGALRM``) are switched off: callers that need a hard time
limit run these through ``verifiers.batch.check_all``. Long answers are capped instead.
"""

from __future__ import annotations

import logging
import re
import time
from fractions import Fraction
from functools import lru_cache

import sympy
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from math_verify.grader import get_pct_val, is_assignment_relation, is_relation, take_first_relation

from verifiers.math_extract import extract_answer, gold_text, normalize, top_level_split
from verifiers.trace import split_think
from verifiers.verdict import Verdict

# math-verify warns on every call that its own timeouts are off; that is deliberate here.
logging.getLogger("math_verify").setLevel(logging.ERROR)

EXACT_REL_TOL = 1e-12
FLOAT_REL_TOL = 1e-3

_BOXED_CONFIG = (LatexExtractionConfig(boxed_match_priority=0),)
_TAIL_CONFIG = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())
_RATIONAL_RE = re.compile(r"(-?)(?:(\d+(?:\.\d{1,6})?)|\\[dt]?frac\{(\d+)\}\{([1-9]\d*)\})")


def _rational(latex: str) -> tuple[Fraction, bool] | None:
    """(value, is_decimal) of a plain integer, decimal or integer fraction; None otherwise."""
    match = _RATIONAL_RE.fullmatch(latex.strip())
    if not match:
        return None
    sign, number, num, den = match.groups()
    value = Fraction(number) if number else Fraction(int(num), int(den))
    return (-value if sign else value), "." in (number or "")


def _fast_equal(gold: str, pred: str) -> bool | None:
    """Most answers are integers or simple fractions: decide those without sympy (None: can't)."""
    g, p = _rational(gold), _rational(pred)
    if g is None or p is None:
        return None
    if g[0] == p[0]:
        return True
    if not (g[1] or p[1]):
        return False
    # A decimal may still be a rounding of the gold (1/3 vs 0.333333): math-verify decides, unless
    # the two are too far apart for _close to ever accept them.
    return False if abs(g[0] - p[0]) > FLOAT_REL_TOL * max(abs(g[0]), abs(p[0])) else None


@lru_cache(maxsize=4096)
def _parse_latex(latex: str) -> tuple:
    """math-verify's parse of one LaTeX expression: (sympy value, normalized string) or (string,)."""
    return tuple(parse("\\boxed{" + normalize(latex) + "}", extraction_config=_BOXED_CONFIG, parsing_timeout=None))


def _ratio(latex: str) -> list | None:
    """Parsed parts of ``a:b[:c...]`` (or of a labelled ``V_1:V_2 = a:b``); None if not a ratio of values."""
    latex = latex.replace("\\colon", ":")
    if ":" not in latex or "\\text" in latex:
        return None
    parts = top_level_split(_final_side(latex), ":")
    values = [next((v for v in _parse_latex(p) if isinstance(v, sympy.Expr)), None) if p else None for p in parts]
    return values if len(values) > 1 and all(v is not None and not v.free_symbols for v in values) else None


_TIME_RE = re.compile(r"(\d{1,2}):([0-5]\d)(?::([0-5]\d))?([ap]\.?m\.?)?")
_TIME_LAYOUT_RE = re.compile(r"\s+|\\[,;! ]|~|\\(?:text|mathrm|textrm|mbox)\{|\}")


def _time(latex: str) -> tuple[int, int, int, str | None] | None:
    """(hour, minute, second, am/pm) of a time of day ``h:mm[:ss] [am|pm]``; None otherwise."""
    match = _TIME_RE.fullmatch(_TIME_LAYOUT_RE.sub("", latex).lower())
    if not match:
        return None
    hour, minute, second, half = match.groups()
    half = half and half[0]
    if int(hour) > (12 if half else 24):
        return None
    return int(hour), int(minute), int(second or 0), half


def _same_time(a: tuple, b: tuple) -> bool:
    """Same clock reading; without am/pm a 12-hour ``h:mm`` stands for either half of the day."""
    if a[1:3] != b[1:3]:
        return False
    if (a[3] is None) == (b[3] is None):
        return a[0] % 24 == b[0] % 24 if a[3] is None else (a[0] % 12, a[3]) == (b[0] % 12, b[3])
    plain, marked = (a, b) if a[3] is None else (b, a)
    clock = marked[0] % 12 + (12 if marked[3] == "p" else 0)
    return plain[0] % 24 == clock or (1 <= plain[0] <= 12 and plain[0] % 12 == clock % 12)


def _same(a: sympy.Expr, b: sympy.Expr) -> bool:
    return bool(verify(a, b, timeout_seconds=None)) and _close(a, b)


def _compare_ratios(gold: str, pred: str, ratio_problem: bool = False) -> bool | None:
    """Time and ratio semantics, or None when neither side is a time or a ratio.

    Two unlabelled ``h:mm`` (minutes of two digits, optional am/pm) are times of day unless the
    problem asks for a ratio: ``2:30`` is not ``1:15``. A time matches only the same time
    (``12:00`` matches ``12:00 pm``, ``14:30`` matches ``2:30 pm``); a gold with am/pm only a
    time. A gold ``1:10`` against ``\\frac{1}{10}`` is a ratio: no one answers a time so.
    """
    g_time = None if ratio_problem or "=" in gold else _time(gold)
    p_time = None if ratio_problem or "=" in pred else _time(pred)
    if g_time is not None and (p_time is not None or g_time[3] is not None):
        return p_time is not None and _same_time(g_time, p_time)
    g, p = _ratio(gold), _ratio(pred)
    if g is None and p is None:
        return None
    if g is not None and p is not None:
        return len(g) == len(p) and all(_same(gi * p[0], pi * g[0]) for gi, pi in zip(g, p, strict=True))
    ratio, other = (g, pred) if g is not None else (p, gold)
    value = next((v for v in _parse_latex(other) if isinstance(v, sympy.Expr)), None)
    return len(ratio) == 2 and value is not None and _same(ratio[0] / ratio[1], value)


def _number(expr: object) -> sympy.Expr | None:
    """A closed-form numeric expression (no symbols, no percent marker), else None."""
    if not isinstance(expr, sympy.Expr) or expr.free_symbols or expr.has(sympy.UnevaluatedExpr):
        return None
    return expr


def _close(gold: object, pred: object) -> bool:
    """Relative agreement of two numbers; True when they are not both plain numbers."""
    a, b = _number(gold), _number(pred)
    if a is None or b is None:
        return True
    try:  # sympy floats at 30 digits: python floats would flush 1/2004! to zero
        va, vb = a.evalf(30), b.evalf(30)
        diff, scale = abs((va - vb).evalf(30)), max(abs(va), abs(vb))
        if not (diff.is_number and scale.is_number) or diff.has(sympy.nan, sympy.zoo, sympy.oo):
            return True  # cannot evaluate: leave the decision to math-verify
    except Exception:
        return True
    tol = FLOAT_REL_TOL if (a.has(sympy.Float) or b.has(sympy.Float)) else EXACT_REL_TOL
    return bool(diff <= tol * scale)


def _states_gold_variable(gold: object, pred: object) -> bool:
    """A gold ``x = <constant>`` is answered by the value, or by ``x = <value>``, not another equation."""
    if not (is_assignment_relation(gold) and is_relation(pred)):
        return True
    first = take_first_relation(gold)
    if first.rhs.free_symbols:  # an equation of a curve, compared as an equation
        return True
    return is_assignment_relation(pred) and take_first_relation(pred).lhs == first.lhs


def _equal(gold: tuple, pred: tuple) -> bool:
    g = next((v for v in gold if not isinstance(v, str)), None)
    p = next((v for v in pred if not isinstance(v, str)), None)
    if g is not None and p is not None and not _states_gold_variable(g, p):
        return False
    if bool(verify(list(gold), list(pred), timeout_seconds=None)) and _close(g, p):
        return True
    # "r percent" golds are the number of percent: 6.17 matches 6.17% (math-verify does this
    # for integers only, so 50 == 50% but 6.17 != 6.17%).
    g_pct, p_pct = get_pct_val(g), get_pct_val(p)
    if (g_pct is None) == (p_pct is None):
        return False
    g, p = (g if g_pct is None else g_pct), (p if p_pct is None else p_pct)
    return bool(verify(g, p, timeout_seconds=None)) and _close(g, p)


@lru_cache(maxsize=1024)
def _parse_gold(text: str) -> tuple:
    parsed = _parse_latex(text)
    if not any(not isinstance(v, str) for v in parsed):
        parsed = tuple(parse(text, parsing_timeout=None)) or parsed
    return parsed


_MATH_SPAN_RE = re.compile(r"\$\$?(.+?)\$\$?|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_LAYOUT_RE = re.compile(r"\s+|\\left|\\right|\\[,;:! ]|\$")


def restates_problem(extracted: str, problem: str) -> bool:
    """True when the "answer" is an expression copied from the problem, unevaluated.

    "Evaluate $16^{7/4}$." answered with $\\boxed{16^{7/4}}$ has the right value and says
    nothing: math-verify compares values, so it would count it correct. A plain number is
    always an answer, even if the problem mentions it.
    """
    if _rational(extracted) is not None:
        return False
    target = _LAYOUT_RE.sub("", extracted)
    spans = (next(g for g in m.groups() if g is not None) for m in _MATH_SPAN_RE.finditer(problem))
    return bool(target) and any(_LAYOUT_RE.sub("", span) == target for span in spans)


def _final_side(expression: str) -> str:
    """What an answer finally states: the last side of ``a = b = c``."""
    return top_level_split(expression, "=")[-1]


_KEY_RE = re.compile(r"\s+|\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\\[,;! ]")


def _layout_key(latex: str) -> str:
    """The expression without layout: an answer with the gold's key is the gold, parsed or not."""
    return _KEY_RE.sub("", latex).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")


@lru_cache(maxsize=1024)
def _gold(gold: str) -> tuple[str, tuple, str]:
    """(reference expression, its parse, its layout key): each gold is read once for its k samples."""
    reference = gold_text(gold)
    return reference, _parse_gold(reference), _layout_key(reference)


def _judge(gold: str, answer: str, problem: str | None = None) -> tuple[str, str | None, str]:
    """(reason, extracted, how) for one answer part."""
    reference, gold_parsed, gold_key = _gold(gold)
    extracted, how = extract_answer(answer)
    if how in ("unbalanced_box", "too_long") or not (extracted or "").strip():
        return "no_answer", extracted, how
    if how != "text":
        fast = _fast_equal(reference, extracted)
        if fast is not None:
            return ("correct" if fast else "wrong_answer"), extracted, how
    if not any(not isinstance(v, str) for v in gold_parsed):  # the reference itself is not math
        return "bad_reference", None, how
    ok = None
    if how == "text":  # math-verify's own extraction over the tail of the answer
        pred = tuple(parse(normalize(extracted), extraction_config=_TAIL_CONFIG, parsing_timeout=None))
        extracted = next((v for v in reversed(pred) if isinstance(v, str)), str(pred[0]) if pred else None)
    elif _layout_key(extracted) == gold_key:
        pred, ok = gold_parsed, True  # the gold's own text: no second parse
    else:
        pred = _parse_latex(extracted)
        ratio_problem = bool(problem) and re.search(r"(?i)\bratio", problem) is not None
        ok = _compare_ratios(reference, extracted, ratio_problem)
    if not pred:
        return "no_answer", extracted, how
    if problem and extracted and restates_problem(_final_side(extracted), problem):
        return "restates_problem", extracted, how
    if ok is None:
        ok = _equal(gold_parsed, pred)
    return ("correct" if ok else "wrong_answer"), extracted, how


def check_answer(gold: str, answer: str, problem: str | None = None) -> Verdict:
    """Compare the final-answer text of a trace with the reference answer.

    >>> check_answer("\\\\frac{1}{2004!}", "So $\\\\boxed{\\\\frac{1}{2006!}}$.").reason
    'wrong_answer'
    """
    start = time.perf_counter()
    detail: dict = {}
    try:
        reason, detail["extracted"], detail["how"] = _judge(gold, answer, problem)
    except Exception as exc:  # a checker bug must be a verdict, never a crashed batch
        reason, detail["error"] = "error", f"{type(exc).__name__}: {exc}"
    detail["time_ms"] = round((time.perf_counter() - start) * 1000, 3)
    return Verdict(reason == "correct", reason, detail)


def check(reference: str, completion: str, *, problem: str | None = None, **_context: object) -> Verdict:
    """Check a full model output (think block, then answer) against the reference answer.

    Only the text after the first ``</think>`` (or ``<|end_of_thought|>``) is read; without a
    closed think block the verdict is ``truncated``, never a guess from the reasoning. With
    ``problem``, an answer that only restates an expression of it is ``restates_problem``. An
    empty output is ``no_answer``; an empty reference ``bad_reference``.
    """
    if not str(reference or "").strip():
        return Verdict(False, "bad_reference", {"time_ms": 0.0, "error": "the reference answer is empty"})
    if not (completion or "").strip():
        return Verdict(False, "no_answer", {"time_ms": 0.0, "error": "the output is empty"})
    split = split_think(completion)
    if not split.think_closed:
        return Verdict(False, "truncated", {"time_ms": 0.0})
    return check_answer(reference, split.answer, problem)
