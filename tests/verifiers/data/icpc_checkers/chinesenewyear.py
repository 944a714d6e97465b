"""Output checker for "Chinese New Year" (Winter Contest 2025; Kattis output-validator convention).

Usage: python chinesenewyear.py <input_file> <answer_file> <feedback_dir>/ < contestant_output
Exit 42 = accepted, 43 = wrong answer.

Rule (whitespace-insensitive integer tokens): first the number of strokes k, then
k strokes, each as a count c >= 2 followed by c coordinate indices (1-based) along
the stroke. Consecutive indices of a stroke must be joined by a segment of the
input, and every segment must be drawn exactly once over all strokes (a stroke may
revisit coordinates and may be closed). k must be minimal: the minimum is computed
from the input as the sum over connected components of max(1, odd-degree vertices
/ 2) (Euler); it agrees with the jury answers. Strokes may come in any order
and direction. No extra tokens allowed.
The package has no Python reference; validated with the jury answers, hand-made
alternative valid outputs (reordered/reversed strokes, rotated closed strokes) and
outputs of the compiled C++/Java jury solutions on random graphs.
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
    n, m = int(inp[0]), int(inp[1])
    base = 2 + 2 * n
    parent = list(range(n + 1))
    deg = [0] * (n + 1)

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    edges = set()
    key_mul = n + 1
    for i in range(m):
        a = int(inp[base + 2 * i])
        b = int(inp[base + 2 * i + 1])
        if a > b:
            a, b = b, a
        edges.add(a * key_mul + b)
        deg[a] += 1
        deg[b] += 1
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    odd = {}
    comps = set()
    for v in range(1, n + 1):
        if deg[v]:
            r = find(v)
            comps.add(r)
            if deg[v] & 1:
                odd[r] = odd.get(r, 0) + 1
    best = sum(max(1, odd.get(r, 0) // 2) for r in comps)

    out = sys.stdin.buffer.read().decode("utf-8", errors="replace").split()
    if not out:
        return False, "empty output"
    k = _int(out[0])
    if k != best:
        return False, "stroke count %d is not the minimum %d" % (k, best)
    pos = 1
    remaining = set(edges)
    for _ in range(k):
        if pos >= len(out):
            return False, "missing stroke"
        c = _int(out[pos])
        pos += 1
        if c < 2:
            return False, "stroke with fewer than two coordinates"
        if c > m + 1 or pos + c > len(out):
            return False, "stroke truncated / too long"
        verts = [_int(t) for t in out[pos : pos + c]]
        pos += c
        for v in verts:
            if v < 1 or v > n:
                return False, "coordinate index %d out of range" % v
        for u, v in zip(verts, verts[1:], strict=False):
            key = u * key_mul + v if u < v else v * key_mul + u
            if key not in remaining:
                if key in edges:
                    return False, "segment %d-%d drawn twice" % (u, v)
                return False, "no segment between %d and %d" % (u, v)
            remaining.discard(key)
    if pos != len(out):
        return False, "extra tokens at end of output"
    if remaining:
        return False, "%d segments not drawn" % len(remaining)
    return True, ""


def main():
    try:
        ok, msg = check()
    except Exception as e:
        ok, msg = False, "checker exception: %r" % (e,)
    _finish(ok, msg)


if __name__ == "__main__":
    main()
