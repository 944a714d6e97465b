"""Output checker for GCPC 2023 "DnD Dice" (kattis gcpc2023/dnddice).

Rule: the exact number of ways to roll each sum is computed by convolution
(big integers, no rounding).  The output must contain every possible sum
exactly once (a permutation of the sums with non-zero probability, no
missing, extra or repeated tokens, integers only) and the sequence of their
probabilities must be non-increasing.  Sums of equal probability may appear
in any relative order.
Exit 42 = accepted, 43 = wrong answer.
Validated with the jury answers and both python reference solutions.
"""

import re
import sys

AC, WA = 42, 43
INT = re.compile(r"^[+-]?[0-9]+$")


def main():
    with open(sys.argv[1]) as f:
        counts = list(map(int, f.read().split()[:5]))
    ways = [1]
    for k, s in zip(counts, (4, 6, 8, 12, 20), strict=False):
        for _ in range(k):
            nw = [0] * (len(ways) + s)
            for i, x in enumerate(ways):
                if x:
                    for j in range(1, s + 1):
                        nw[i + j] += x
            ways = nw
    possible = {i for i, x in enumerate(ways) if x > 0}

    try:
        data = sys.stdin.buffer.read().decode("ascii")
    except Exception:
        sys.exit(WA)
    toks = data.split()
    if len(toks) != len(possible):
        sys.exit(WA)
    seen = set()
    prev = None
    for t in toks:
        if not INT.match(t):
            sys.exit(WA)
        v = int(t)
        if v not in possible or v in seen:
            sys.exit(WA)
        seen.add(v)
        if prev is not None and ways[v] > prev:
            sys.exit(WA)
        prev = ways[v]
    sys.exit(AC)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:
        sys.exit(WA)
