"""Special judges: Kattis validator flags, checker programs, custom problems without a checker, on the ICPC set."""

import json
import re

import pytest

from helpers import REPO, SHARED
from verifiers.code import check, check_code, judge_for, run_checker
from verifiers.code.compare import compare_output, kattis_comparison

CHECKERS = REPO / "tests" / "verifiers" / "data" / "icpc_checkers"  # ours, Kattis convention


def _stdio() -> list[dict]:
    path = SHARED / "benchmarks/stdio_problems.jsonl"
    if not path.exists():
        pytest.skip(f"{path} absent")
    return [json.loads(line) for line in path.open()]


def _python(p: dict) -> list[dict]:
    return [s for s in p["solutions"] if s["language"].startswith("python")]


@pytest.mark.parametrize(
    "got,want,flags,ok",
    [
        ("YES\n", "yes\n", "", True),  # the default validator ignores case ...
        ("YES\n", "yes\n", "case_sensitive", False),  # ... unless told
        ("1 2\n3\n", "1\n2 3", "", True),  # line breaks are whitespace like any other
        ("1 2\n3\n4\n", "1 2\n3\n", "", False),  # an extra token
        ("1 2\n", "1 2 3\n", "", False),
        ("1  2\n", "1 2\n", "space_change_sensitive", False),
        ("1 2\n", "1 2\n", "space_change_sensitive", True),
        ("1.0\n", "1\n", "", False),  # no float flags: tokens compare as text
        ("0.50004\n", "0.5\n", "float_tolerance 1e-4", True),  # the ICPC set's 1e-4 problem
        ("0.50004\n", "0.5\n", "float_tolerance 1e-6", False),
        ("1000.05\n", "1000\n", "float_relative_tolerance 1e-4", True),
        ("1000.05\n", "1000\n", "float_absolute_tolerance 1e-4", False),
        ("1e-9\n", "0\n", "float_tolerance 1e-6", True),
        ("abc\n", "0.5\n", "float_tolerance 1e-6", False),  # a number expected, a word given
        ("impossible\n", "IMPOSSIBLE\n", "float_tolerance 1e-6", True),  # words next to float flags
        ("9" * 400 + "8\n", "9" * 401 + "\n", "float_tolerance 1e-6", False),  # past float range: digits
    ],
)
def test_kattis_default_validator(got, want, flags, ok):
    assert compare_output(got, want, comparison=kattis_comparison(flags))[0] is ok


def test_judge_for_reads_the_spec():
    assert judge_for({}).comparison.style == "lines"  # APPS and our sets: the line judge, case-sensitive
    assert judge_for({"validation": "default"}).describe() == (
        "kattis default validator, case-insensitive, whitespace-insensitive"
    )
    j = judge_for({"validation": "default", "validator_flags": "float_tolerance 1e-4"})
    assert (j.comparison.abs_tol, j.comparison.rel_tol, j.custom) == (1e-4, 1e-4, False)
    assert judge_for({"validation": "custom"}).custom
    assert judge_for({"checker": "print(1)"}).checker == {"code": "print(1)"}


# --- checker programs --------------------------------------------------------------------------

# "print a proper divisor of n", testlib convention (input, output, answer).
DIVISOR_CHECKER = """\
import sys
n = int(open(sys.argv[1]).read())
try:
    d = int(open(sys.argv[2]).read().split()[0])
except (ValueError, IndexError):
    sys.exit(2)
sys.exit(0 if 1 < d < n and n % d == 0 else 1)
"""


def test_run_checker_conventions():
    kattis = {"code": (CHECKERS / "eszett.py").read_text(), "convention": "kattis"}
    assert run_checker(kattis, "", "a\nb\n", "b a\n")[0] == "passed"
    assert run_checker(kattis, "", "a\nb\n", "a\na\nb\n")[0] == "wrong_answer"
    testlib = {"code": DIVISOR_CHECKER, "convention": "testlib"}
    assert run_checker(testlib, "12\n", "2\n", "6\n")[0] == "passed"
    assert run_checker(testlib, "12\n", "2\n", "5\n")[0] == "wrong_answer"
    assert run_checker(testlib, "12\n", "2\n", "six\n")[0] == "wrong_answer"  # presentation error


def test_broken_or_unsupported_checkers_are_checker_errors():
    assert run_checker({"code": "raise SystemExit(3)"}, "", "", "")[0] == "checker_error"
    assert run_checker({"code": "1/0"}, "", "", "")[0] == "checker_error"
    assert run_checker({"code": "int main(){}", "language": "cpp"}, "", "", "")[0] == "checker_error"
    assert run_checker({"code": "while True: pass", "time_limit_s": 0.5}, "", "", "")[0] == "checker_error"


def test_checker_program_decides_a_stdin_problem():
    spec = {"tests": [{"input": "12\n", "output": "2\n"}, {"input": "35\n", "output": "5\n"}]}
    spec["checker"] = {"code": DIVISOR_CHECKER, "convention": "testlib"}
    largest = "n = int(input())\nprint(max(d for d in range(2, n) if n % d == 0))\n"
    v = check_code(spec, largest)
    assert (v.ok, v.detail["judge"]) == (True, "checker program (testlib convention)")
    assert check_code(spec, "print(1)").reason == "wrong_answer"
    assert check_code(spec, "input()\nraise SystemExit(1)").reason == "runtime_error"  # no checker asked


# --- the ICPC set ------------------------------------------------------------------------------


def _few(p: dict, k: int = 4) -> dict:
    """The first ``k`` tests (samples first, then the first secret ones): a deterministic subset
    that keeps the run short."""
    return {**p, "tests": p["tests"][:k]}


def test_icpc_default_validation_references_all_pass():
    """Every Python reference of every default-validation problem passes (case-insensitive tokens,
    float tolerances from the flags)."""
    failures = []
    for p in _stdio():
        if p["validation"] != "default":
            continue
        for sol in _python(p):
            v = check_code(_few(p), sol["code"], stop_on_fail=False)
            if not v.ok:
                failures.append((p["id"], sol["file"], v.reason, v.detail.get("error", "")[:200]))
    # Within the jury's limits times the Python multiplier (run.py), in CPU seconds. The one known
    # exception: a brute-force jury solution of a problem with no recorded limit (2 s by default,
    # 10 CPU seconds for Python) that needs 17-20 CPU seconds on one test.
    assert [f[:3] for f in failures] == [("kattis-export/nwerc2023/joggingtour", "jeroen.py", "time_limit")]


def test_icpc_custom_problems_never_reject_a_reference_as_wrong():
    """Custom-checker problems ship no checker: a reference is ``passed`` where it reproduces the
    bundled answer and ``no_checker`` (not verified, not wrong) where it does not."""
    reasons = {}
    for p in _stdio():
        if p["validation"] != "custom":
            continue
        for sol in _python(p):
            v = check_code(_few(p, 8), sol["code"], stop_on_fail=False)
            reasons[(p["id"], sol["file"])] = v.reason
            assert v.detail["judge"].startswith("custom validation, no checker")
    assert set(reasons.values()) <= {"passed", "no_checker"}, reasons
    assert "no_checker" in reasons.values() and "passed" in reasons.values()


def test_icpc_custom_problem_with_a_checker_passes_all_references():
    p = next(p for p in _stdio() if p["id"] == "kattis-export/gcpc2023/eszett")
    spec = {**p, "checker": {"code": (CHECKERS / "eszett.py").read_text()}}
    for sol in _python(p):
        assert check_code(p, sol["code"], stop_on_fail=False).reason == "no_checker"  # order, case differ
        v = check_code(spec, sol["code"], stop_on_fail=False)
        assert (v.ok, v.detail["tests_passed"]) == (True, len(p["tests"])), (sol["file"], v)
    dup = "import sys\nprint('x')\n" + _python(p)[0]["code"]  # a spelling that is not one
    assert check_code(spec, dup).reason == "wrong_answer"


def _custom_with_checkers() -> list[dict]:
    """Every custom-validation problem of the ICPC set, with our checker program for it."""
    out = []
    for p in _stdio():
        if p["validation"] == "custom":
            code = (CHECKERS / f"{p['id'].rsplit('/', 1)[-1]}.py").read_text()
            out.append({**p, "checker": {"code": code, "convention": "kattis"}})
    return out


def test_every_custom_problem_has_a_checker_and_mutants():
    problems = _custom_with_checkers()
    assert len(problems) == 14
    for p in problems:
        mutants = json.loads((CHECKERS / f"{p['id'].rsplit('/', 1)[-1]}.mutants.json").read_text())
        assert len(mutants) >= 4, p["id"]


def test_icpc_checker_problems_pass_all_references_and_bundled_answers():
    """With a checker, every Python reference of every custom problem passes (first 8 tests),
    and so does the bundled jury answer of each of the first 12 tests."""
    failures = []
    for p in _custom_with_checkers():
        for sol in _python(p):
            v = check_code(_few(p, 8), sol["code"], stop_on_fail=False)
            if not v.ok:
                failures.append((p["id"], sol["file"], v.reason, v.detail.get("error", "")[:200]))
            else:
                assert v.detail["judge"] == "checker program (kattis convention)"
        for t in p["tests"][:12]:
            reason, why = run_checker(p["checker"], t["input"], t["output"], t["output"])
            if reason != "passed":
                failures.append((p["id"], "jury answer", reason, why[:200]))
    assert failures == []


def test_icpc_checkers_reject_wrong_outputs():
    """The mutants (plausible wrong outputs: off by one, invalid constructions, a token missing or
    extra) are wrong answers, never passed and never a checker crash."""
    verdicts = []
    for p in _custom_with_checkers():
        for m in json.loads((CHECKERS / f"{p['id'].rsplit('/', 1)[-1]}.mutants.json").read_text()):
            t = p["tests"][m["test"]]
            verdicts.append((p["id"], m["why"], run_checker(p["checker"], t["input"], t["output"], m["output"])[0]))
    assert len(verdicts) >= 56
    assert [v for v in verdicts if v[2] != "wrong_answer"] == []


OFF_BY_ONE = """\
import io, re, sys
_out, _real = io.StringIO(), sys.stdout
sys.stdout = _out
try:
    exec(compile({code!r}, "ref", "exec"), {{"__name__": "__main__"}})
except SystemExit:
    pass
sys.stdout = _real
text = _out.getvalue()
m = re.search(r"-?\\d+", text)
print(text[: m.start()] + str(int(m.group()) + 1) + text[m.end() :] if m else text + "1", end="")
"""


def _default_problems_with_python() -> list[dict]:
    return [p for p in _stdio() if p["validation"] == "default" and _python(p)]


def test_icpc_mutants_fail():
    """Each default-validation problem's first Python reference, mutated: an extra output line,
    the first number off by one, each is a wrong answer."""
    problems = _default_problems_with_python()
    assert len(problems) >= 30
    for p in problems:
        code, few = _python(p)[0]["code"], _few(p)
        extra = code + "\nprint(12345)\n"
        v = check_code(few, extra)
        assert v.reason == "wrong_answer", (p["id"], "extra line", v)
        if not any(re.search(r"\d", t["output"]) for t in few["tests"]):
            continue  # no number to move
        v = check_code(few, OFF_BY_ONE.format(code=code))
        assert v.reason == "wrong_answer", (p["id"], "off by one", v)


def test_icpc_sleeping_mutants_fail():
    for p in _default_problems_with_python()[:4]:
        few = {**_few(p, 2), "time_limit_s": 1}
        v = check_code(few, "import time\ntime.sleep(30)\n" + _python(p)[0]["code"])
        assert v.reason == "time_limit", (p["id"], v)


def test_icpc_model_style_answers():
    p = next(p for p in _stdio() if p["validator_flags"] == "float_tolerance 1e-4")
    assert judge_for(p).comparison.abs_tol == 1e-4
    yes = {"tests": [{"input": "", "output": "yes\n"}], "validation": "default"}
    assert check(yes, "```python\nprint('YES')\n```").ok
    assert check({**yes, "validator_flags": "case_sensitive"}, "```python\nprint('YES')\n```").reason == "wrong_answer"
