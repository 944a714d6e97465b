"""Math answers checked with math-verify, on the final answer only, with its known traps closed.

``check(gold, completion)`` takes a full model output; ``check_answer(gold, answer)`` the text
after the think block. What is compared, in order:

1. the last ``\\boxed{}`` / ``\\fbox{}`` of the answer part (with boxes right before it joined by
   ``,``/``and``/``or`` taken as a list). An unbalanced last box is not guessed at (no_answer).
   When the math goes on right after the box (``\\boxed{2}\\sqrt{3}``) the whole expression is
   the answer, not the box alone.
2. with no box: a plain-text answer after "answer is"/"answer:" written with pi/sqrt/π, else
   math-verify's own extraction on the last ``MAX_TAIL_CHARS`` of the answer part.

Semantics on top of math-verify's ``verify`` (each closes a wrong-True seen in practice):

- numbers: math-verify compares with an absolute tolerance (``evalf(chop=True)``, 6 decimals
  for floats), so ``1/2004!`` equals ``1/2006!``. A True is kept only if the two values also
  agree relatively (exact: 1e-12, float involved: 1e-3).
- ratios ``a:b:c`` are compared part by part up to a common factor (math-verify reads them as
  chained divisions, so ``1:2:3`` equals ``2:1:12``); a 2-part ratio also matches ``a/b``.
- a gold assignment of a constant (``x = 3``) needs that value, alone or assigned to the same
  variable: ``x + 1 = 4`` (implies it, does not state it) and ``y = 3`` are wrong. A gold value
  against an equation takes the equation's last right-hand side (``a+b=7`` gives 7), as
  math-verify does; equations of curves (``y = 2x + 3``) are compared as equations.
- a percentage matches its number of percent (``6.17`` and ``6.17\\%``), as math-verify
  already does for integers only.
- upright constants and numbers (``\\mathrm{e}``, ``\\text{13}``) are unwrapped, and plain-text
  math (``pi/2``, ``-2*pi``, ``sqrt(3)``, ``π``) is turned into LaTeX before parsing.

math-verify's own timeouts (``signal.alarm``) are switched off: callers that need a hard time
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

from verifiers.trace import split_think
from verifiers.verdict import Verdict

# math-verify warns on every call that its own timeouts are off; that is deliberate here.
logging.getLogger("math_verify").setLevel(logging.ERROR)

MAX_TAIL_CHARS = 3000  # answer text handed to math-verify's regex extraction when nothing is boxed
MAX_EXPR_CHARS = 1000  # a boxed expression longer than this is not parsed (real answers are short)
EXACT_REL_TOL = 1e-12
FLOAT_REL_TOL = 1e-3

_BOXED_CONFIG = (LatexExtractionConfig(boxed_match_priority=0),)
_TAIL_CONFIG = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())
_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
# Between two boxes that together form one list answer: "$\boxed{2}$ and $\boxed{3}$".
_LIST_GAP_RE = re.compile(r"\s*\$*\s*(?:,|;|and|or|\\text\{\s*(?:and|or)\s*\}|\\quad|\\qquad)?\s*\$*\s*")
# Math that goes on after a box: "\boxed{2}\sqrt{3}", "\boxed{90}^\circ", "\boxed{2}(1+x)".
_CONTINUES_RE = re.compile(r"\s*(?:[0-9^_(]|\\(?:sqrt|frac|dfrac|tfrac|pi|cdot|times|circ)(?![a-zA-Z]))")
_CONTINUATION_RE = re.compile(r"(.*?)(?=\$|\\\]|\\\)|\n|\s[A-Za-z]{2}|[.,;](?:\s|$)|$)")
_UPRIGHT_RE = re.compile(
    r"\\(?:text|textrm|textbf|textnormal|mathrm|mathbf|mathit|mbox|operatorname)\s*"
    r"\{\s*(-?\d[\d,]*(?:\.\d+)?|[A-Za-z])\s*\}")
_PLAIN_PI_RE = re.compile(r"(?<![\\A-Za-z])pi(?![A-Za-z])")
_PLAIN_SQRT_RE = re.compile(r"\\?sqrt\s*\(([^()]*)\)")
_UNICODE = {"π": r"\pi ", "√": r"\sqrt", "∞": r"\infty ", "°": r"^\circ", "−": "-", "×": r"\times ",
            "·": r"\cdot ", "≤": r"\le ", "≥": r"\ge "}
_PLAIN_ANSWER_RE = re.compile(
    r"(?i)answer\s*(?:is|:)?\s*[:=]?\s*\**\s*(?P<x>[^\n$\\]*?)\s*\**\s*\.?\s*(?:\n|$)")
_PLAIN_MATH_RE = re.compile(r"pi|π|sqrt|√|∞")
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
    # A decimal may still be a rounding of the gold (1/3 vs 0.333333): math-verify decides.
    return None if (g[1] or p[1]) else False


def _normalize(latex: str) -> str:
    """Make model-written math parseable: unicode, plain-text pi/sqrt, upright numbers and e."""
    for char, repl in _UNICODE.items():
        latex = latex.replace(char, repl)
    latex = _PLAIN_PI_RE.sub(r"\\pi ", latex)
    latex = _PLAIN_SQRT_RE.sub(r"\\sqrt{\1}", latex)
    # \mathrm{e} is Euler's number and \text{13} is 13; math-verify reads them as opaque symbols.
    return _UPRIGHT_RE.sub(lambda m: m.group(1), latex)


def _brace_end(text: str, start: int) -> int | None:
    """Index of the '}' closing the group that opens just before ``start``; None if unbalanced."""
    depth, i = 1, start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2  # \{ and \} are literal braces, not groups
            continue
        depth += (char == "{") - (char == "}")
        if depth == 0:
            return i
        i += 1
    return None


def _boxed(text: str) -> tuple[list[str], bool]:
    """Contents of the final box (and of boxes listed right before it); (contents, balanced)."""
    spans = []
    for match in _BOX_RE.finditer(text):
        end = _brace_end(text, match.end())
        spans.append((match.start(), match.end(), end))
    if not spans:
        return [], True
    start, open_end, close = spans[-1]
    if close is None:
        return [text[start:start + 200]], False
    last = text[open_end:close]
    rest = text[close + 1:]
    if _CONTINUES_RE.match(rest):
        last += _CONTINUATION_RE.match(rest).group(1).rstrip()
    contents = [last]
    for prev_start, prev_open, prev_close in reversed(spans[:-1]):
        if prev_close is None or not _LIST_GAP_RE.fullmatch(text[prev_close + 1:start]):
            break
        contents.insert(0, text[prev_open:prev_close])
        start = prev_start
    return contents, True


@lru_cache(maxsize=4096)
def _parse_latex(latex: str) -> tuple:
    """math-verify's parse of one LaTeX expression: (sympy value, normalized string) or (string,)."""
    return tuple(parse("\\boxed{" + _normalize(latex) + "}", extraction_config=_BOXED_CONFIG,
                       parsing_timeout=None))


def _top_level_split(latex: str, sep: str) -> list[str]:
    parts, depth, last = [], 0, 0
    for i, char in enumerate(latex):
        depth += (char in "{([") - (char in "})]")
        if char == sep and depth == 0:
            parts.append(latex[last:i].strip())
            last = i + 1
    return parts + [latex[last:].strip()]


def _ratio(latex: str) -> list | None:
    """Parsed parts of ``a:b[:c...]``; None if it is not a ratio of values."""
    latex = latex.replace("\\colon", ":")
    if ":" not in latex or "\\text" in latex:
        return None
    parts = _top_level_split(latex, ":")
    values = [next((v for v in _parse_latex(p) if isinstance(v, sympy.Expr)), None) if p else None
              for p in parts]
    return values if len(values) > 1 and all(v is not None and not v.free_symbols for v in values) else None


def _same(a: sympy.Expr, b: sympy.Expr) -> bool:
    return bool(verify(a, b, timeout_seconds=None)) and _close(a, b)


def _compare_ratios(gold: str, pred: str) -> bool | None:
    """Ratio semantics, or None when neither side is a ratio."""
    g, p = _ratio(gold), _ratio(pred)
    if g is None and p is None:
        return None
    if g is not None and p is not None:
        return len(g) == len(p) and all(_same(gi * p[0], pi * g[0]) for gi, pi in zip(g, p))
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


def _gold_text(gold: str) -> str:
    text = gold.strip().strip("$").strip()
    contents, balanced = _boxed(text)
    return ", ".join(contents) if contents and balanced else text


@lru_cache(maxsize=1024)
def _parse_gold(text: str) -> tuple:
    parsed = _parse_latex(text)
    if not any(not isinstance(v, str) for v in parsed):
        parsed = tuple(parse(text, parsing_timeout=None)) or parsed
    return parsed


def _extract(answer: str) -> tuple[str | None, str]:
    """(expression string, how it was found) from the answer part; parsing is left to the caller."""
    contents, balanced = _boxed(answer)
    if not balanced:
        return contents[0], "unbalanced_box"
    if contents:
        text = ", ".join(contents)
        return (text[:200], "too_long") if len(text) > MAX_EXPR_CHARS else (text, "boxed")
    tail = answer[-MAX_TAIL_CHARS:]
    tail = tail[tail.find("\n") + 1:] if len(answer) > MAX_TAIL_CHARS else tail  # start on a line
    plain = list(_PLAIN_ANSWER_RE.finditer(tail))
    if plain and _PLAIN_MATH_RE.search(plain[-1].group("x")):
        return plain[-1].group("x"), "plain_text"
    return tail, "text"


def _judge(gold: str, answer: str) -> tuple[str, str | None, str]:
    """(reason, extracted, how) for one answer part."""
    gold_text = _gold_text(gold)
    extracted, how = _extract(answer)
    if how in ("unbalanced_box", "too_long") or not (extracted or "").strip():
        return "no_answer", extracted, how
    if how in ("boxed", "plain_text"):
        fast = _fast_equal(gold_text, extracted)
        if fast is not None:
            return ("correct" if fast else "wrong_answer"), extracted, how
    gold_parsed = _parse_gold(gold_text)
    if not any(not isinstance(v, str) for v in gold_parsed):  # the reference itself is not math
        return "bad_reference", None, how
    if how == "text":  # math-verify's own extraction over the tail of the answer
        pred = tuple(parse(_normalize(extracted), extraction_config=_TAIL_CONFIG, parsing_timeout=None))
        extracted = next((v for v in reversed(pred) if isinstance(v, str)), str(pred[0]) if pred else None)
        ok = None
    else:
        pred = _parse_latex(extracted)
        ok = _compare_ratios(gold_text, extracted)
    if not pred:
        return "no_answer", extracted, how
    if ok is None:
        ok = _equal(gold_parsed, pred)
    return ("correct" if ok else "wrong_answer"), extracted, how


def check_answer(gold: str, answer: str) -> Verdict:
    """Compare the final-answer text of a trace with the reference answer.

    >>> check_answer("\\\\frac{1}{2004!}", "So $\\\\boxed{\\\\frac{1}{2006!}}$.").reason
    'wrong_answer'
    """
    start = time.perf_counter()
    detail: dict = {}
    try:
        reason, detail["extracted"], detail["how"] = _judge(gold, answer)
    except Exception as exc:  # a checker bug must be a verdict, never a crashed batch
        reason, detail["error"] = "error", f"{type(exc).__name__}: {exc}"
    detail["time_ms"] = round((time.perf_counter() - start) * 1000, 3)
    return Verdict(reason == "correct", reason, detail)


def check(gold: str, completion: str) -> Verdict:
    """Check a full model output (think block, then answer) against the reference answer.

    Only the text after the first ``</think>`` (or ``<|end_of_thought|>``) is read; without a
    closed think block the verdict is ``truncated``, never a guess from the reasoning.
    """
    split = split_think(completion)
    answer = split.answer
    if not split.think_closed:
        head, sep, tail = completion.partition("<|end_of_thought|>")  # Sky-T1 / QwQ format
        if not sep:
            return Verdict(False, "truncated", {"time_ms": 0.0})
        answer = tail.replace("<|begin_of_solution|>", "").replace("<|end_of_solution|>", "").strip()
    return check_answer(gold, answer)
