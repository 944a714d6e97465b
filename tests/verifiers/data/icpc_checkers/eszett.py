"""Checker for GCPC 2023 "Eszett" (Kattis output-validator convention).

Rule: the output lists every word the uppercase input word can come from, 'B' standing for the
sharp s, each exactly once, in any order, compared case-insensitively as the jury does (an
accepted jury submission prints 'AUFREIbEN'). The set must equal the jury's. Validated on the
jury answers of all tests and both Python references.
"""

import sys


def main() -> int:
    try:
        want = open(sys.argv[2], encoding="utf-8").read().lower().split()
        got = sys.stdin.buffer.read().decode("utf-8", "replace").lower().split()
    except Exception:  # noqa: BLE001 - unreadable output is a wrong answer
        return 43
    if len(got) != len(set(got)):
        return 43  # a spelling listed twice
    return 42 if set(got) == set(want) else 43


if __name__ == "__main__":
    sys.exit(main())
