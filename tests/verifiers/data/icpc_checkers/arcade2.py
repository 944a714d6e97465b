"""Output checker for GCPC 2021 "Amusement Arcade" (kattis gcpc2021/arcade2).

Rule: n is odd; Julia sits at seat a and every later guest sits at a seat
maximally far from all others.  All (n+1)/2 players end up on the odd seats
(whatever the random tie-breaks) iff a is odd and both gaps a-1 and n-a are
0 or a power of two (>= 2).  (Derived by hand; cross-checked against an
exhaustive simulation of all tie-breaks for every odd n < 40.)

* If the contestant prints a single integer a, it is accepted iff
  1 <= a <= n and a satisfies the rule above (any valid seat is accepted).
* If the contestant prints the word "impossible" (case-insensitive), it is
  accepted iff the jury answer is also "impossible".
* Exactly one token is required.  Exit 42 = accepted, 43 = wrong answer.
Validated with the jury answers and the python reference solution.
"""

import sys

AC, WA = 42, 43


def gap_ok(d):
    return d == 0 or (d >= 2 and d & (d - 1) == 0)


def valid_seat(n, a):
    return 1 <= a <= n and a % 2 == 1 and gap_ok(a - 1) and gap_ok(n - a)


def main():
    try:
        with open(sys.argv[1]) as f:
            n = int(f.read().split()[0])
        with open(sys.argv[2]) as f:
            jury = f.read().split()
        jury_impossible = bool(jury) and jury[0].lower() == "impossible"
    except Exception:
        sys.exit(WA)
    try:
        data = sys.stdin.buffer.read().decode("ascii")
    except Exception:
        sys.exit(WA)
    toks = data.split()
    if len(toks) != 1:
        sys.exit(WA)
    tok = toks[0]
    if tok.lower() == "impossible":
        sys.exit(AC if jury_impossible else WA)
    if not (tok.isdigit() or (tok[0] in "+-" and tok[1:].isdigit())):
        sys.exit(WA)
    try:
        a = int(tok)
    except Exception:
        sys.exit(WA)
    sys.exit(AC if valid_seat(n, a) else WA)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:
        sys.exit(WA)
