"""Compare a program's stdout with the expected output, judge style.

Every line is compared (a missing last line fails; no zip over unequal lengths), tokens in order.
Trailing whitespace per line and trailing empty lines are ignored. Two integer tokens compare
exactly as digit strings (no float rounding, no int() on 10k-digit numbers); otherwise tokens
that both parse as finite floats match within ``tol`` absolute or relative.
"""

from __future__ import annotations

import math
import re

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


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


def compare_output(got: str, want: str, tol: float = 1e-6) -> tuple[bool, str]:
    """(match, why-not) for a whole output; ``why`` names the first differing line."""
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
