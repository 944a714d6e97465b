"""Output checker for "Infinity Issues" (Winter Contest 2023; Kattis output-validator convention).

Usage: python infinityissues.py <input_file> <answer_file> <feedback_dir>/ < contestant_output
Exit 42 = accepted, 43 = wrong answer.

Rule: let T be the input words joined by single spaces. The output is split into
lines at '\\n'. Trailing whitespace of each line (spaces, tabs, '\\r') is ignored,
the remaining line must have at most w characters and is padded with spaces to
width exactly w; the concatenation of all padded lines must equal T followed only
by spaces (so trailing blank lines / a missing final newline are fine). Everything
else is whitespace sensitive (leading spaces, inner spaces, tabs inside a line).
Validated against the jury answers and the bundled Python reference solutions.
"""

import sys


def _finish(ok, msg=""):
    try:
        if len(sys.argv) > 3 and msg:
            with open(sys.argv[3].rstrip("/") + "/judgemessage.txt", "a") as f:
                f.write(msg + "\n")
    except Exception:
        pass
    sys.exit(42 if ok else 43)


def check():
    with open(sys.argv[1]) as f:
        inp = f.read().split()
    n, w = int(inp[0]), int(inp[1])
    text = " ".join(inp[2 : 2 + n])
    L = len(text)

    raw = sys.stdin.buffer.read().decode("latin-1")
    pos = 0
    for lineno, line in enumerate(raw.split("\n"), 1):
        line = line.rstrip(" \t\r\f\v")
        if pos >= L:
            if line:
                return False, "line %d: text continues after the end" % lineno
            continue
        if len(line) > w:
            return False, "line %d longer than w" % lineno
        seg = text[pos : pos + w]
        if line != seg[: len(line)] or seg[len(line) :].strip(" "):
            return False, "line %d does not match the text" % lineno
        pos += w
    if pos < L:
        return False, "text incomplete"
    return True, ""


def main():
    try:
        ok, msg = check()
    except Exception as e:
        ok, msg = False, "checker exception: %r" % (e,)
    _finish(ok, msg)


if __name__ == "__main__":
    main()
