"""Output checker for GCPC 2021 "Card Trading" (kattis gcpc2021/cardtrading2).

Rule (all arithmetic exact, in integer cents):
* For a price P the number of sales is
  min(#buy offers with price >= P, #sell offers with price <= P) and the
  turnover is P * sales.  T = the maximum turnover over the input prices
  (the maximum over all prices is always attained at an input price).
* If T == 0 the only accepted answer is the word "impossible"
  (case-insensitive).
* Otherwise exactly two tokens "P X" are required, each a non-negative number
  written with exactly two decimal places (as the statement demands); the
  answer is accepted iff P * sales(P) == T and X == T (any optimal price
  is accepted).
The jury answer file is only used as a consistency check of T.
Exit 42 = accepted, 43 = wrong answer.
Validated with the jury answers and the python reference solution.
"""

import bisect
import re
import sys

AC, WA = 42, 43
MONEY = re.compile(r"^[0-9]+\.[0-9]{2}$")


def cents(tok):
    if not MONEY.match(tok):
        raise ValueError(tok)
    whole, frac = tok.split(".")
    return int(whole) * 100 + int(frac)


def parse_input_price(tok):
    # input prices have exactly two decimals, but be lenient here
    neg = tok.startswith("-")
    if "." in tok:
        whole, frac = tok.lstrip("+-").split(".")
        frac = (frac + "00")[:2]
    else:
        whole, frac = tok.lstrip("+-"), "00"
    v = int(whole or "0") * 100 + int(frac)
    return -v if neg else v


def main():
    with open(sys.argv[1]) as f:
        it = f.read().split()
    n = int(it[0])
    offers = []
    for i in range(n):
        p = parse_input_price(it[1 + 3 * i])
        b = int(it[2 + 3 * i])
        s = int(it[3 + 3 * i])
        offers.append((p, b, s))
    offers.sort()
    prices = [o[0] for o in offers]
    # prefix sums of sells (price <= P) and suffix sums of buys (price >= P)
    pre_s = [0]
    for o in offers:
        pre_s.append(pre_s[-1] + o[2])
    suf_b = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        suf_b[i] = suf_b[i + 1] + offers[i][1]

    def sales(P):
        sells = pre_s[bisect.bisect_right(prices, P)]
        buys = suf_b[bisect.bisect_left(prices, P)]
        return min(sells, buys)

    best = 0
    for i in range(n):  # sweep: sells at prices <= p_i, buys at prices >= p_i
        v = prices[i] * min(pre_s[i + 1], suf_b[i])
        if v > best:
            best = v

    try:
        data = sys.stdin.buffer.read().decode("ascii")
    except Exception:
        sys.exit(WA)
    toks = data.split()
    if best == 0:
        sys.exit(AC if len(toks) == 1 and toks[0].lower() == "impossible" else WA)
    if len(toks) != 2:
        sys.exit(WA)
    try:
        P = cents(toks[0])
        X = cents(toks[1])
    except Exception:
        sys.exit(WA)
    if X != best or P * sales(P) != best:
        sys.exit(WA)
    sys.exit(AC)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:
        sys.exit(WA)
