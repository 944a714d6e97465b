"""Output checker for GCPC 2023 "Mischievous Math" (Kattis output-validator convention).

Usage: python mischievousmath.py <input_file> <answer_file> <feedback_dir>/ < contestant_output
Exit 42 = accepted, 43 = wrong answer.

Rule: the output must be exactly three integer tokens a, b, c with 1 <= a, b, c <= 100
such that a, b, c, d are pairwise distinct and d cannot be obtained by any
arithmetic expression using +, -, *, / (exact rational arithmetic, any
parenthesisation, intermediate results may be negative or fractional, division by
zero not allowed, no unary minus) that uses each of a, b, c at most once.
Every binary expression tree over every non-empty subset is enumerated, so any
valid triple (in any order) is accepted; the jury answer is not needed.
Validated against the jury answers and the bundled Python reference solutions.
"""

import re
import sys
from fractions import Fraction

_INT = re.compile(r"[+-]?[0-9]+\Z")


def _finish(ok, msg=""):
    try:
        if len(sys.argv) > 3 and msg:
            with open(sys.argv[3].rstrip("/") + "/judgemessage.txt", "a") as f:
                f.write(msg + "\n")
    except Exception:
        pass
    sys.exit(42 if ok else 43)


def _reachable(nums):
    """All values of expressions using each element of nums (a tuple) at most once."""
    memo = {}
    k = len(nums)

    def vals(mask):
        if mask in memo:
            return memo[mask]
        idx = [i for i in range(k) if mask >> i & 1]
        res = set()
        if len(idx) == 1:
            res.add(Fraction(nums[idx[0]]))
        else:
            # split mask into two non-empty disjoint parts (ordered)
            sub = (mask - 1) & mask
            while sub:
                rest = mask ^ sub
                if rest:
                    for x in vals(sub):
                        for y in vals(rest):
                            res.add(x + y)
                            res.add(x - y)
                            res.add(x * y)
                            if y != 0:
                                res.add(x / y)
                sub = (sub - 1) & mask
        memo[mask] = res
        return res

    allv = set()
    for mask in range(1, 1 << k):
        allv |= vals(mask)
    return allv


def check():
    with open(sys.argv[1]) as f:
        d = int(f.read().split()[0])
    out = sys.stdin.buffer.read().decode("utf-8", errors="replace").split()
    if len(out) != 3:
        return False, "expected exactly three tokens, got %d" % len(out)
    if not all(_INT.match(t) for t in out):
        return False, "non-integer token"
    a, b, c = (int(t) for t in out)
    if not all(1 <= x <= 100 for x in (a, b, c)):
        return False, "number out of range [1,100]"
    if len({a, b, c, d}) != 4:
        return False, "numbers not pairwise distinct (including d)"
    if Fraction(d) in _reachable((a, b, c)):
        return False, "d can be reached"
    return True, ""


def main():
    try:
        ok, msg = check()
    except Exception as e:
        ok, msg = False, "checker exception: %r" % (e,)
    _finish(ok, msg)


if __name__ == "__main__":
    main()
