"""Output checker for NWERC 2023 "Higher Arithmetic" (Kattis output-validator convention).

Usage: python higherarithmetic.py <input_file> <answer_file> <feedback_dir>/ < contestant_output
Exit 42 = accepted, 43 = wrong answer.

Rule: after stripping leading/trailing whitespace, the output must be a single
expression of at most 10^6 characters without any inner whitespace, following the
grammar  E ::= '(' E ')' | E '*' E | E '+' E | integer  (no empty parentheses, no
unary operators). The integer literals, compared as strings (so no leading zeros
or signs), must be exactly the multiset of input integers. The value (usual
precedence: '*' before '+') must equal the value of the jury expression.
Since no valid expression can exceed the optimum, equality is the whole test; it is
decided modulo the product of the Mersenne primes 2^521-1 and 2^607-1 (values have
up to ~600000 digits; the jury's own validator also compares residues). A wrong
value is accepted only if it agrees with the optimum modulo that 1128-bit number.
Validated against the jury answers and the bundled Python reference solutions.
"""

import re
import sys
from collections import Counter

MOD = ((1 << 521) - 1) * ((1 << 607) - 1)
MAX_LEN = 10**6
_TOKEN = re.compile(r"[0-9]+|[()*+]")


def _finish(ok, msg=""):
    try:
        if len(sys.argv) > 3 and msg:
            with open(sys.argv[3].rstrip("/") + "/judgemessage.txt", "a") as f:
                f.write(msg + "\n")
    except Exception:
        pass
    sys.exit(42 if ok else 43)


def evaluate(expr):
    """Return (value mod MOD, list of integer literal strings) or raise ValueError."""
    toks = _TOKEN.findall(expr)
    if sum(map(len, toks)) != len(expr):
        raise ValueError("invalid character in expression")
    M = MOD
    stack = []  # saved (sum, prod) of enclosing parenthesis levels
    s, p = 0, 1
    expect_operand = True
    nums = []
    for t in toks:
        c = t[0]
        if expect_operand:
            if c == "(":
                stack.append((s, p))
                s, p = 0, 1
            elif "0" <= c <= "9":
                nums.append(t)
                p = p * int(t) % M
                expect_operand = False
            else:
                raise ValueError("operand expected, got %r" % t)
        else:
            if c == "*":
                expect_operand = True
            elif c == "+":
                s = (s + p) % M
                p = 1
                expect_operand = True
            elif c == ")":
                if not stack:
                    raise ValueError("unbalanced ')'")
                v = (s + p) % M
                s, p = stack.pop()
                p = p * v % M
            else:
                raise ValueError("operator expected, got %r" % t)
    if expect_operand or stack:
        raise ValueError("incomplete expression")
    return (s + p) % M, nums


def check():
    with open(sys.argv[1]) as f:
        inp = f.read().split()
    n = int(inp[0])
    want = Counter(inp[1 : 1 + n])
    with open(sys.argv[2]) as f:
        jury_expr = f.read().strip()
    jury_val, _ = evaluate(jury_expr)

    raw = sys.stdin.buffer.read()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return False, "non-ASCII output"
    expr = text.strip()
    if not expr:
        return False, "empty output"
    if len(expr) > MAX_LEN:
        return False, "expression longer than 10^6 characters"
    if len(expr.split()) != 1:
        return False, "expression contains whitespace"
    try:
        val, nums = evaluate(expr)
    except ValueError as e:
        return False, "invalid expression: %s" % e
    if len(nums) != n or Counter(nums) != want:
        return False, "integers used differ from the input multiset"
    if val != jury_val:
        return False, "value is not maximal"
    return True, ""


def main():
    try:
        ok, msg = check()
    except Exception as e:
        ok, msg = False, "checker exception: %r" % (e,)
    _finish(ok, msg)


if __name__ == "__main__":
    main()
