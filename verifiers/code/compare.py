"""Compare a program's stdout with the expected output: a line judge, or Kattis's default validator.

``lines`` (specs without ``validation``/``validator_flags``, e.g. APPS, our own sets): every line
is compared (a missing last line fails; no zip over unequal lengths), tokens in order, case
sensitive. Trailing whitespace per line and trailing empty lines are ignored. Two integer tokens
compare exactly as digit strings (no float rounding, no int() on 10k-digit numbers); otherwise
tokens that both parse as finite floats match within ``tol`` absolute or relative.

``kattis`` (a spec with ``validation``/``validator_flags``, Kattis problem-package format): the
default output validator of problemtools. Tokens are compared over the whole output, line breaks
being whitespace like any other; case-insensitive unless ``case_sensitive``; any whitespace
change fails under ``space_change_sensitive``; with ``float_tolerance e`` (or
``float_absolute_tolerance``/``float_relative_tolerance``) a judge token that reads as a number
matches a team number within the absolute or the relative tolerance, and without them tokens
compare as text (``1.0`` is not ``1``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_WS = re.compile(r"(\s+)")


@dataclass(frozen=True)
class Comparison:
    """How an output is compared with the expected one (``describe()`` goes into verdict details)."""

    style: Literal["lines", "kattis"] = "lines"
    abs_tol: float | None = 1e-6  # kattis: None = numbers compare as text
    rel_tol: float | None = 1e-6
    case_sensitive: bool = True
    space_sensitive: bool = False

    def describe(self) -> str:
        if self.style == "lines":
            return f"lines, float tolerance {self.abs_tol:g}"
        parts = ["kattis default validator", "case-sensitive" if self.case_sensitive else "case-insensitive"]
        parts.append("space-change-sensitive" if self.space_sensitive else "whitespace-insensitive")
        if self.abs_tol is not None or self.rel_tol is not None:
            parts.append(f"float abs {self.abs_tol if self.abs_tol is not None else 0:g} rel {self.rel_tol or 0:g}")
        return ", ".join(parts)


def kattis_comparison(flags: str | list | None) -> Comparison:
    """The default validator's comparison for ``validator_flags`` (a string or a list of words).

    >>> kattis_comparison("float_tolerance 1e-4 case_sensitive").describe()
    'kattis default validator, case-sensitive, whitespace-insensitive, float abs 0.0001 rel 0.0001'
    """
    words = flags.split() if isinstance(flags, str) else [str(w) for w in flags or []]
    abs_tol = rel_tol = None
    for i, word in enumerate(words):
        value = _number(words[i + 1]) if i + 1 < len(words) else None
        if word == "float_tolerance" and value is not None:
            abs_tol = rel_tol = value
        elif word == "float_absolute_tolerance" and value is not None:
            abs_tol = value
        elif word == "float_relative_tolerance" and value is not None:
            rel_tol = value
    return Comparison(
        "kattis",
        abs_tol,
        rel_tol,
        case_sensitive="case_sensitive" in words,
        space_sensitive="space_change_sensitive" in words,
    )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _int_key(tok: str) -> str:
    sign = "-" if tok[0] == "-" else ""
    digits = tok.lstrip("+-").lstrip("0") or "0"
    return "0" if digits == "0" else sign + digits


def tokens_match(got: str, want: str, tol: float = 1e-6) -> bool:
    """One token: exact, or equal integers, or floats within ``tol`` (abs or rel)."""
    if got == want:
        return True
    if _INT.fullmatch(got) and _INT.fullmatch(want):
        return _int_key(got) == _int_key(want)
    if not (_FLOAT.fullmatch(got) and _FLOAT.fullmatch(want)):
        return False  # 'nan', 'inf', words: only exact equality
    a, b = float(got), float(want)
    if not (math.isfinite(a) and math.isfinite(b)):
        return False  # 1e999 == 1e999 as floats, but the digits differ
    return abs(a - b) <= tol or abs(a - b) <= tol * abs(b)


def _kattis_token(got: str, want: str, cmp: Comparison) -> bool:
    if (cmp.abs_tol is not None or cmp.rel_tol is not None) and _FLOAT.fullmatch(want):
        if not _FLOAT.fullmatch(got):
            return False
        a, b = float(got), float(want)
        if not (math.isfinite(a) and math.isfinite(b)):  # past long double's range: digits must agree
            return (
                _INT.fullmatch(got) is not None and _INT.fullmatch(want) is not None and _int_key(got) == _int_key(want)
            )
        diff = abs(a - b)
        return diff <= (cmp.abs_tol if cmp.abs_tol is not None else -1) or diff <= (cmp.rel_tol or 0) * abs(b)
    return got == want if cmp.case_sensitive else got.lower() == want.lower()


def _compare_kattis(got: str, want: str, cmp: Comparison) -> tuple[bool, str]:
    if cmp.space_sensitive:  # whitespace runs must be identical too
        g, w = _WS.split(got), _WS.split(want)
    else:
        g, w = got.split(), want.split()
    for i in range(max(len(g), len(w))):
        if i >= len(g):
            return False, f"token {i + 1}: output ended, expected {w[i][:80]!r}"
        if i >= len(w):
            return False, f"token {i + 1}: extra output {g[i][:80]!r}"
        same = g[i] == w[i] if g[i].isspace() or w[i].isspace() else _kattis_token(g[i], w[i], cmp)
        if not same:
            return False, f"token {i + 1}: got {g[i][:80]!r}, expected {w[i][:80]!r}"
    return True, ""


def compare_output(got: str, want: str, tol: float = 1e-6, comparison: Comparison | None = None) -> tuple[bool, str]:
    """(match, why-not) for a whole output; ``why`` names the first differing line (or token)."""
    if comparison is not None and comparison.style == "kattis":
        return _compare_kattis(got, want, comparison)
    if comparison is not None and comparison.abs_tol is not None:
        tol = comparison.abs_tol
    g, w = _lines(got), _lines(want)
    for i in range(max(len(g), len(w))):
        if i >= len(g):
            return False, f"line {i + 1}: output ended, expected {w[i][:80]!r}"
        if i >= len(w):
            return False, f"line {i + 1}: extra output {g[i][:80]!r}"
        gt, wt = g[i].split(), w[i].split()
        if len(gt) != len(wt) or not all(tokens_match(a, b, tol) for a, b in zip(gt, wt, strict=True)):
            return False, f"line {i + 1}: got {g[i][:80]!r}, expected {w[i][:80]!r}"
    return True, ""
