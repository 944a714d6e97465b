"""Output checker for GCPC 2022 "Lots of Land" (kattis gcpc2022/lotsofland).

Rule:
* "impossible" (case-insensitive, as the only token) is accepted iff the jury
  answer is "impossible" (which happens exactly when n does not divide l*w, l the number of rows).
* Otherwise the output must be exactly l whitespace-separated tokens, each of
  exactly w characters from the first n uppercase letters A, B, ...; every one
  of the n letters must occur exactly l*w/n times and the cells of each letter
  must form one solid rectangle (bounding-box area == count).  Any valid
  division is accepted.
Exit 42 = accepted, 43 = wrong answer.
Validated with the jury answers and both python reference solutions.
"""

import sys

AC, WA = 42, 43


def main():
    with open(sys.argv[1]) as f:
        rows, w, n = map(int, f.read().split()[:3])
    with open(sys.argv[2]) as f:
        jt = f.read().split()
    jury_impossible = len(jt) == 1 and jt[0].lower() == "impossible"

    try:
        data = sys.stdin.buffer.read().decode("ascii")
    except Exception:
        sys.exit(WA)
    toks = data.split()
    if len(toks) == 1 and toks[0].lower() == "impossible":
        sys.exit(AC if jury_impossible else WA)
    if len(toks) != rows or any(len(t) != w for t in toks):
        sys.exit(WA)
    if (rows * w) % n:
        sys.exit(WA)
    allowed = [chr(ord("A") + i) for i in range(n)]
    cnt = {c: 0 for c in allowed}
    box = {}
    for i, row in enumerate(toks):
        for j, ch in enumerate(row):
            if ch not in cnt:
                sys.exit(WA)
            cnt[ch] += 1
            b = box.get(ch)
            if b is None:
                box[ch] = [i, i, j, j]
            else:
                if i < b[0]:
                    b[0] = i
                if i > b[1]:
                    b[1] = i
                if j < b[2]:
                    b[2] = j
                if j > b[3]:
                    b[3] = j
    need = rows * w // n
    for c in allowed:
        if cnt[c] != need:
            sys.exit(WA)
        b = box[c]
        if (b[1] - b[0] + 1) * (b[3] - b[2] + 1) != need:
            sys.exit(WA)
    sys.exit(AC)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:
        sys.exit(WA)
