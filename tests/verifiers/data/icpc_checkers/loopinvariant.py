"""Output checker for GCPC 2023 "Loop Invariant" (Kattis output-validator convention).

Usage: python loopinvariant.py <input_file> <answer_file> <feedback_dir>/ < contestant_output
Exit 42 = accepted, 43 = wrong answer.

Rule: the output must be exactly one whitespace-separated token.
* If the token is "no" (case-insensitive), it is accepted iff no cyclic rotation
  of the input s is a balanced sequence different from s (decided from the input
  itself: rotation by k is balanced iff the prefix balance of s at k is 0, and it
  differs from s iff k is not a multiple of the smallest rotation period of s).
* Otherwise the token must consist only of '(' and ')', be balanced, be a cyclic
  rotation of s (a substring of s+s of length |s|) and differ from s.
Validated against the jury answers and the bundled Python reference solutions.
"""

import sys
from itertools import accumulate


def _finish(ok, msg=""):
    try:
        if len(sys.argv) > 3 and msg:
            with open(sys.argv[3].rstrip("/") + "/judgemessage.txt", "a") as f:
                f.write(msg + "\n")
    except Exception:
        pass
    sys.exit(42 if ok else 43)


def _balanced(t):
    vals = accumulate(1 if ch == "(" else -1 for ch in t)
    last = 0
    for v in vals:
        if v < 0:
            return False
        last = v
    return last == 0


def check():
    with open(sys.argv[1]) as f:
        s = f.read().split()[0]
    n = len(s)
    out = sys.stdin.buffer.read().decode("utf-8", errors="replace").split()
    if len(out) != 1:
        return False, "expected exactly one token, got %d" % len(out)
    tok = out[0]

    # Does a different balanced rotation exist?
    period = (s + s).find(s, 1)  # smallest k>0 with rotation by k == s; divides n
    exists = False
    bal = 0
    for k, ch in enumerate(s[:-1], 1):
        bal += 1 if ch == "(" else -1
        if bal == 0 and k % period != 0:
            exists = True
            break

    if tok.lower() == "no":
        if exists:
            return False, "answered no, but a different balanced rotation exists"
        return True, ""
    if len(tok) != n:
        return False, "wrong length"
    if not set(tok) <= {"(", ")"}:
        return False, "invalid characters"
    if tok == s:
        return False, "sequence equals the input"
    if (s + s).find(tok) == -1:
        return False, "not a rotation of the input"
    if not _balanced(tok):
        return False, "not balanced"
    return True, ""


def main():
    try:
        ok, msg = check()
    except Exception as e:  # malformed output must never crash the checker
        ok, msg = False, "checker exception: %r" % (e,)
    _finish(ok, msg)


if __name__ == "__main__":
    main()
