"""Output checker for GCPC 2023 "Highway Combinatorics"
(kattis gcpc2023/highwaycombinatorics).

Rule:
* Exactly two whitespace-separated tokens (the two lanes), of equal length L
  with 1 <= L <= 200, made only of '#' and '.'.
* The occupied cells ('#') must be exactly coverable by 1x2 cars (dominoes,
  horizontal within a lane or vertical across both lanes).
* The number of domino tilings of the empty cells ('.') of the 2 x L strip,
  counted exactly, must be congruent to n modulo 10^9+7.
Any such construction is accepted; the jury answer is not used.
Exit 42 = accepted, 43 = wrong answer.
Validated with the jury answers and both python reference solutions.
"""

import sys

AC, WA = 42, 43
MOD = 10**9 + 7


def tilings(free):
    """free: list of 2-bit masks per column (bit r set = cell in row r must be
    covered).  Returns the exact number of domino tilings of those cells."""
    L = len(free)
    dp = {0: 1}
    for c in range(L):
        nxt_free = free[c + 1] if c + 1 < L else 0
        ndp = {}
        for mask, ways in dp.items():
            if mask & ~free[c]:
                continue
            rest = free[c] & ~mask
            for right in range(4):
                if right & ~rest or right & ~nxt_free:
                    continue
                left_over = rest & ~right
                if left_over not in (0, 3):
                    continue
                ndp[right] = ndp.get(right, 0) + ways
        dp = ndp
    return dp.get(0, 0)


def main():
    with open(sys.argv[1]) as f:
        n = int(f.read().split()[0])
    try:
        data = sys.stdin.buffer.read().decode("ascii")
    except Exception:
        sys.exit(WA)
    toks = data.split()
    if len(toks) != 2:
        sys.exit(WA)
    a, b = toks
    L = len(a)
    if L != len(b) or L < 1 or L > 200:
        sys.exit(WA)
    if any(ch not in "#." for ch in a + b):
        sys.exit(WA)
    empty = [(a[c] == ".") | ((b[c] == ".") << 1) for c in range(L)]
    occ = [3 & ~e for e in empty]
    if tilings(occ) == 0:
        sys.exit(WA)
    if tilings(empty) % MOD != n % MOD:
        sys.exit(WA)
    sys.exit(AC)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:
        sys.exit(WA)
