"""Output checker for NWERC 2023 "Fixing Fractions" (Kattis output-validator convention).

Usage: python fixingfractions.py <input_file> <answer_file> <feedback_dir>/ < contestant_output
Exit 42 = accepted, 43 = wrong answer.

Rule (whitespace-insensitive tokens, words case-insensitive):
* "impossible" (and nothing else) is accepted iff the jury answer is "impossible".
* "possible" must be followed by exactly two tokens a', b': non-empty digit strings
  without leading zeros (so a', b' >= 1), a' a subsequence of the digits of a,
  b' a subsequence of the digits of b, the multiset of digits removed from a equal
  to the multiset removed from b (possibly empty), and a' * d == b' * c exactly.
  Any such pair is accepted, verified independently from the input.
Validated against the jury answers and the bundled Python reference solutions.
"""

import sys
from collections import Counter


def _finish(ok, msg=""):
    try:
        if len(sys.argv) > 3 and msg:
            with open(sys.argv[3].rstrip("/") + "/judgemessage.txt", "a") as f:
                f.write(msg + "\n")
    except Exception:
        pass
    sys.exit(42 if ok else 43)


def _is_subsequence(sub, full):
    it = iter(full)
    return all(ch in it for ch in sub)


def _canonical_positive(tok):
    return tok.isascii() and tok.isdigit() and tok[0] != "0"


def check():
    with open(sys.argv[1]) as f:
        a, b, c, d = f.read().split()[:4]
    c, d = int(c), int(d)
    with open(sys.argv[2]) as f:
        jury = f.read().split()
    jury_possible = jury[0].lower() == "possible"

    out = sys.stdin.buffer.read().decode("utf-8", errors="replace").split()
    if not out:
        return False, "empty output"
    word = out[0].lower()
    if word == "impossible":
        if len(out) != 1:
            return False, "extra tokens after impossible"
        if jury_possible:
            return False, "answered impossible, but a solution exists"
        return True, ""
    if word != "possible":
        return False, "first token must be possible/impossible"
    if len(out) != 3:
        return False, "expected possible followed by exactly two numbers"
    x, y = out[1], out[2]
    if not (_canonical_positive(x) and _canonical_positive(y)):
        return False, "a' and b' must be positive integers without leading zeros"
    if len(x) > len(a) or len(y) > len(b):
        return False, "too many digits"
    if not _is_subsequence(x, a):
        return False, "a' is not obtained from a by removing digits"
    if not _is_subsequence(y, b):
        return False, "b' is not obtained from b by removing digits"
    if Counter(a) - Counter(x) != Counter(b) - Counter(y):
        return False, "different digits cancelled from a and b"
    if int(x) * d != int(y) * c:
        return False, "a'/b' != c/d"
    return True, ""


def main():
    try:
        ok, msg = check()
    except Exception as e:
        ok, msg = False, "checker exception: %r" % (e,)
    _finish(ok, msg)


if __name__ == "__main__":
    main()
