"""Output checker for GCPC 2021 "Flappy Bird" (kattis gcpc2021/flappy).

Rule (exact integer arithmetic throughout):
* The output is k points (2 <= k <= n+2), each two integers; the token count
  must be even and every token an integer.
* p_1 = s and p_k = t.
* After merging consecutive identical points (zero-length segments), the
  x coordinates must be strictly increasing, and at every interval's x the
  polyline's y must lie inside [y_{i,1}, y_{i,2}].
* Length minimal: the shortest path is unique (length is strictly convex in
  the crossing heights), so the contestant polyline must be geometrically
  identical to the jury's.  Both polylines are reduced to their turning
  points (collinear intermediate points dropped) and compared exactly, so
  extra collinear points, such as (2, 1) in sample 2, are accepted.
Exit 42 = accepted, 43 = wrong answer.
No python reference solution exists: validated with the jury answers plus
hand-made variants (collinear integer points inserted, duplicate points) and
an independent funnel-algorithm solver.
"""

import re
import sys

AC, WA = 42, 43
INT = re.compile(r"^[+-]?[0-9]+$")


def parse_points(text, strict):
    toks = text.split()
    if strict:
        for t in toks:
            if not INT.match(t):
                return None
    if len(toks) % 2:
        return None
    vals = [int(t) for t in toks]
    return [(vals[i], vals[i + 1]) for i in range(0, len(vals), 2)]


def dedup(pts):
    out = []
    for p in pts:
        if not out or out[-1] != p:
            out.append(p)
    return out


def reduce_path(pts):
    kept = []
    for q in pts:
        while len(kept) >= 2:
            (ax, ay), (bx, by) = kept[-2], kept[-1]
            if (bx - ax) * (q[1] - by) - (by - ay) * (q[0] - bx) == 0:
                kept.pop()
            else:
                break
        kept.append(q)
    return kept


def main():
    with open(sys.argv[1]) as f:
        it = list(map(int, f.read().split()))
    xs, ys, xt, yt = it[0:4]
    n = it[4]
    iv = [(it[5 + 3 * i], it[6 + 3 * i], it[7 + 3 * i]) for i in range(n)]
    with open(sys.argv[2]) as f:
        jury = parse_points(f.read(), False)

    try:
        data = sys.stdin.buffer.read().decode("ascii")
    except Exception:
        sys.exit(WA)
    pts = parse_points(data, True)
    if pts is None:
        sys.exit(WA)
    k = len(pts)
    if k < 2 or k > n + 2:
        sys.exit(WA)
    if pts[0] != (xs, ys) or pts[-1] != (xt, yt):
        sys.exit(WA)
    path = dedup(pts)
    for i in range(1, len(path)):
        if path[i][0] <= path[i - 1][0]:
            sys.exit(WA)
    # passes through every interval (in order, as x is strictly increasing)
    j = 0
    for x, y1, y2 in iv:
        while path[j + 1][0] < x:
            j += 1
        (ax, ay), (bx, by) = path[j], path[j + 1]
        dx = bx - ax
        num = ay * dx + (by - ay) * (x - ax)  # y * dx
        if num < y1 * dx or num > y2 * dx:
            sys.exit(WA)
    # minimal length: identical geometry to the (unique) jury shortest path
    if reduce_path(path) != reduce_path(dedup(jury)):
        sys.exit(WA)
    sys.exit(AC)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:
        sys.exit(WA)
