"""verifiers.code: extraction, comparator, verdicts on real benchmark problems and R1 traces."""

import ast
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import SHARED
from verifiers.code import check, check_code, validate_tests
from verifiers.code.compare import compare_output
from verifiers.code.extract import extract_code


def _jsonl(rel: str) -> list[dict]:
    path = SHARED / rel
    if not path.exists():
        pytest.skip(f"{path} absent")
    return [json.loads(line) for line in path.open()]


FENCE = "```"


@pytest.mark.parametrize(
    "completion,expected",
    [
        (f"<think>{FENCE}python\nx=1\n{FENCE}</think>\nA:\n{FENCE}python\nprint(2)\n{FENCE}", ("print(2)\n", "")),
        (f"<think>plan\n{FENCE}python\nx=1\n{FENCE}", (None, "truncated")),  # think never closed
        ("<think>ok</think>\nThe answer is 4.", (None, "no_code")),
        (f"{FENCE}\nprint(1)\n{FENCE}\n{FENCE}cpp\nint main(){{}}\n{FENCE}", ("print(1)\n", "")),  # cpp skipped
        (f"{FENCE}python\na()\n{FENCE}\ntext\n{FENCE}py\nb()\n{FENCE}", ("b()\n", "")),  # the LAST block
        (f"no think tags\n{FENCE}Python3\nprint(3)\n{FENCE}", ("print(3)\n", "")),
    ],
)
def test_extract_code(completion, expected):
    assert extract_code(completion) == expected


BIG = "9" * 5000


@pytest.mark.parametrize(
    "got,want,ok",
    [
        ("1 2\n3\n", "1 2\n3", True),
        ("1 2  \n3\n\n\n", "1 2\n3\n", True),
        ("1 2\n", "1 2\n3\n", False),  # missing last line
        ("1 2\n3\n4\n", "1 2\n3\n", False),  # extra line
        ("2 1\n", "1 2\n", False),  # order matters
        ("1\n", "1 2\n", False),  # zip over unequal lengths would pass this
        ("0.3333333\n", "0.333333333\n", True),
        ("1000.5\n", "1000.0\n", False),
        ("1000000.5\n", "1000000.0\n", True),  # relative 5e-7
        ("1e-9\n", "0\n", True),  # absolute tolerance
        ("100000000000000000001\n", "100000000000000000000\n", False),  # ints: exact
        (BIG + "\n", BIG + "\n", True),
        (BIG[:-1] + "8\n", BIG + "\n", False),  # would both be inf as floats
        ("-0\n", "0\n", True),
        ("nan\n", "nan\n", True),
        ("nan\n", "1\n", False),
        ("YES\n", "yes\n", False),
    ],
)
def test_compare_output(got, want, ok):
    assert compare_output(got, want)[0] is ok


def test_humaneval_canonical_solutions_all_pass():
    rows = _jsonl("benchmarks/humaneval.jsonl")
    with ThreadPoolExecutor(2) as pool:
        verdicts = list(pool.map(lambda p: check_code(p, p["prompt"] + p["canonical_solution"]), rows))
    failed = [(p["id"], v) for p, v in zip(rows, verdicts, strict=True) if not v.ok]
    assert len(rows) == 164 and failed == []
    assert {v.detail["tests_total"] for v in verdicts} == {1}


def test_humaneval_model_style_answers():
    p = _jsonl("benchmarks/humaneval.jsonl")[0]  # has_close_elements
    good = p["canonical_solution"]
    full = f"<think>easy</think>\n{FENCE}python\ndef has_close_elements(numbers, threshold):\n{good}{FENCE}"
    assert check(p, full).reason == "passed"
    assert check(p, f"{FENCE}python\n{good}{FENCE}").reason == "passed"  # body only: continues the prompt
    assert check(p, f"{FENCE}python\ndef has_close_elements(n, t):\n    return True\n{FENCE}").reason == "wrong_answer"
    assert check(p, f"{FENCE}python\ndef has_close_elements(n, t):\n    return 1/0\n{FENCE}").reason == "runtime_error"
    assert check(p, f"{FENCE}python\ndef has_close_elements(n, t)\n    return 1\n{FENCE}").reason == "compile_error"


def test_mbpp_sample_and_verdicts():
    rows = _jsonl("benchmarks/mbpp.jsonl")
    sample = rows[::10]
    with ThreadPoolExecutor(2) as pool:
        verdicts = list(pool.map(lambda p: check_code(p, p["code"]), sample))
    assert [p["id"] for p, v in zip(sample, verdicts, strict=True) if not v.ok] == []
    p = rows[0]  # min_cost
    assert check_code(p, "def min_cost(c, m, n):\n    return 8").detail["first_failed_test"] == 1
    loop = check_code({**p, "time_limit_s": 1}, "def min_cost(c, m, n):\n    while True: pass")
    assert (loop.reason, loop.detail["first_failed_test"]) == ("time_limit", 0)
    assert check_code(p, "def min_cost(c, m, n):\n    return bytearray(10**10)").reason == "memory_limit"


@pytest.mark.parametrize(
    "hack",
    [
        "import sys\nsys.exit(0)",  # a harness trusting the exit code would say 'passed'
        "import os\nos._exit(0)",
        "import os, sys, json\nfor i in range(3):\n"
        "    os.write(int(sys.argv[1]), (json.dumps({'i': i, 'status': 'pass'}) + '\\n').encode())\nos._exit(0)",
    ],
)
def test_call_based_exit_and_forging_hacks_fail(hack):
    p = _jsonl("benchmarks/mbpp.jsonl")[0]
    v = check_code(p, "def min_cost(c, m, n):\n    return 0\n" + hack)
    assert not v.ok and v.reason == "runtime_error"


def _stdio(ids: list[str]) -> list[dict]:
    rows = {r["id"]: r for r in _jsonl("benchmarks/stdio_problems.jsonl")}
    return [rows[i] for i in ids]


SMALL_STDIO = [
    "kattis-export/gcpc2021/excursion",
    "kattis-export/gcpc2021/montyshall",
    "kattis-export/gcpc2023/japaneselottery",
    "icpc-problems/darkalley",
    "icpc-problems/euroexpress",
    "kattis-export/nwerc2023/galaxyquest",
]


def test_stdin_reference_solutions_pass():
    for p in _stdio(SMALL_STDIO):
        for sol in (s for s in p["solutions"] if s["language"].startswith("python")):
            v = check_code(p, sol["code"])
            assert v.ok, (p["id"], v)
            assert v.detail["tests_passed"] == v.detail["tests_total"] == len(p["tests"])


def test_stdin_wrong_and_failing_programs():
    p = _stdio(["kattis-export/gcpc2021/montyshall"])[0]
    assert check(p, f"{FENCE}python\nprint(42)\n{FENCE}").reason == "wrong_answer"
    assert check(p, f"{FENCE}python\ninput()\nraise ValueError\n{FENCE}").reason == "runtime_error"
    v = check(p, f"{FENCE}\nimport sys\nprint(sys.stdin.read())\n{FENCE}")
    assert (v.reason, v.detail["first_failed_test"], v.detail["tests_passed"]) == ("wrong_answer", 0, 0)


def test_validate_tests():
    p = _stdio(["kattis-export/gcpc2021/excursion"])[0]
    kept, report = validate_tests(p)
    assert kept["tests"] == p["tests"] and report == {"kept": len(p["tests"]), "dropped": []}
    broken = {**p, "tests": [*p["tests"][:2], {"input": p["tests"][0]["input"], "output": "wrong\n"}]}
    kept, report = validate_tests(broken)
    assert kept["tests"] == p["tests"][:2] and report["dropped"] == [{"index": 2, "reason": "wrong_answer"}]
    assert validate_tests({**p, "tests": [{"input": "", "output": "x"}]})[0] is None
    mbpp = _jsonl("benchmarks/mbpp.jsonl")[1]
    bad = {**mbpp, "test_list": [mbpp["test_list"][0], "assert False"]}
    kept, report = validate_tests(bad)
    assert kept["test_list"] == [mbpp["test_list"][0]] and report["dropped"] == [{"index": 1, "reason": "wrong_answer"}]
    he = _jsonl("benchmarks/humaneval.jsonl")[2]
    assert validate_tests(he) == (he, {"kept": 1, "dropped": []})


def test_kodcode_r1_traces_match_their_pytest_labels():
    """R1 answers checked against KodCode's pytest files (run by our harness, no pytest process)."""
    rows = _jsonl("traces/kodcode_r1_code.jsonl")

    def r1_solution(r: dict) -> str:
        extra = ast.literal_eval(r["extra"]) if isinstance(r["extra"], str) else r["extra"]
        return extra["r1_solution"].strip()

    # Only rows where KodCode extracted the same block we do (it sometimes skips a trailing
    # usage example; we take the last block, as the API says) and no third-party import.
    usable = [
        r
        for r in rows
        if (extract_code(r["completion"])[0] or "").strip() == r1_solution(r)
        and "scipy" not in r["completion"]
        and "numpy" not in r["completion"]
    ]
    sample = usable[::20]
    with ThreadPoolExecutor(2) as pool:
        verdicts = list(pool.map(lambda r: check({"tests": r["tests"], "time_limit_s": 20}, r["completion"]), sample))
    labels = [str(r["label"]) == "True" for r in sample]
    assert len(sample) >= 20 and True in labels and False in labels
    assert [v.ok for v in verdicts] == labels
