"""Output checker for NWERC 2023 "Brickwork" (Kattis output-validator convention).

Usage: python brickwork.py <input_file> <answer_file> <feedback_dir>/ < contestant_output
Exit 42 = accepted, 43 = wrong answer.

Rule (whitespace-insensitive tokens, words case-insensitive):
* "impossible" (and nothing else) is accepted iff the jury answer is "impossible".
* "possible" must be followed by exactly two rows, each given as a count k >= 1 and
  k brick widths. Every width must be one of the input brick types, each row must
  sum to exactly w, and the interior gap positions (prefix sums strictly between
  0 and w) of the two rows must be disjoint, so alternating the rows gives a
  stable wall. The construction is verified independently from the input; no
  extra tokens are allowed.
Validated against the jury answers and the bundled Python reference solution.
"""

import re
import sys

_INT = re.compile(r"[+-]?[0-9]+\Z")


def _finish(ok, msg=""):
    try:
        if len(sys.argv) > 3 and msg:
            with open(sys.argv[3].rstrip("/") + "/judgemessage.txt", "a") as f:
                f.write(msg + "\n")
    except Exception:
        pass
    sys.exit(42 if ok else 43)


def _int(tok):
    if not _INT.match(tok):
        raise ValueError("not an integer: %r" % tok[:20])
    return int(tok)


def check():
    with open(sys.argv[1]) as f:
        inp = f.read().split()
    n, w = int(inp[0]), int(inp[1])
    types = set(int(x) for x in inp[2 : 2 + n])
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
            return False, "answered impossible, but a wall exists"
        return True, ""
    if word != "possible":
        return False, "first token must be possible/impossible"

    pos = 1
    rows = []
    for _ in range(2):
        if pos >= len(out):
            return False, "missing row"
        k = _int(out[pos])
        pos += 1
        if k < 1 or k > w:
            return False, "invalid brick count %d" % k
        if pos + k > len(out):
            return False, "row truncated"
        row = [_int(t) for t in out[pos : pos + k]]
        pos += k
        rows.append(row)
    if pos != len(out):
        return False, "extra tokens at end of output"

    gaps = []
    for row in rows:
        g = set()
        total = 0
        for b in row:
            if b not in types:
                return False, "brick width %d not available" % b
            total += b
            if total > w:
                return False, "row wider than w"
            if total < w:
                g.add(total)
        if total != w:
            return False, "row width %d != w" % total
        gaps.append(g)
    if not gaps[0].isdisjoint(gaps[1]):
        return False, "gaps of the two rows line up"
    return True, ""


def main():
    try:
        ok, msg = check()
    except Exception as e:
        ok, msg = False, "checker exception: %r" % (e,)
    _finish(ok, msg)


if __name__ == "__main__":
    main()
