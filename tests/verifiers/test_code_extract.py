"""verifiers.code extraction over several blocks, and dataset formats (APPS/TACO, LiveCodeBench) -> native spec."""

import base64
import json
import pickle
import zlib

import pytest

from verifiers.code import check, native_spec
from verifiers.code.extract import extract_for, needed_names

F = "```"
PYTEST = "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
DEF_ADD = f"{F}python\ndef add(a, b):\n    return a + b\n{F}"
USAGE = f"{F}python\nprint(add(1, 2))\n{F}"
HELPER_THEN_MAIN = f"{F}python\ndef _twice(x):\n    return 2 * x\n{F}\n{F}python\ndef add(a, b):\n    return a + b\n{F}"


@pytest.mark.parametrize(
    "tests,expected",
    [
        (PYTEST, {"add"}),
        ("import solution as s\n\ndef test_x():\n    assert s.add(1, 2) == 3\n", {"add"}),
        ("from solution import *\n\ndef test_x():\n    assert add(1, 2) == len('abc')\n", {"add"}),
        ("from solution import A, b as c\n", {"A", "b"}),
    ],
)
def test_needed_names_of_pytest_files(tests, expected):
    assert needed_names({"tests": tests}) == expected


def test_needed_names_of_other_styles():
    assert needed_names({"entry_point": "f", "test": "def check(c): pass"}) == {"f"}
    assert needed_names({"test_list": ["assert f(g(1)) == sorted([1])"]}) == {"f", "g"}
    assert needed_names({"tests": [{"input": "", "output": ""}]}) == set()


@pytest.mark.parametrize(
    "answer,code,blocks",
    [
        # The last block defines what the tests import: it alone, as before.
        (f"<think>x</think>{USAGE}\n{DEF_ADD}", "def add(a, b):\n    return a + b\n", [1]),
        # A trailing usage example: the block that defines ``add``, not the example.
        (f"<think>x</think>{DEF_ADD}\nExample:\n{USAGE}", "def add(a, b):\n    return a + b\n", [0]),
        # A second, partial block (does not parse) after the definition: skipped.
        (f"{DEF_ADD}\n{F}python\ndef add(a, b:\n{F}", "def add(a, b):\n    return a + b\n", [0]),
        # The same block twice, then an example: deduplicated.
        (f"{DEF_ADD}\n{DEF_ADD}\n{USAGE}", "def add(a, b):\n    return a + b\n", [0]),
    ],
)
def test_extract_for_picks_the_blocks_that_define_the_tests_names(answer, code, blocks):
    got, reason, detail = extract_for({"tests": PYTEST}, answer)
    assert (got, reason, detail["blocks"]) == (code, "", blocks)


def test_extract_for_joins_blocks_in_order():
    answer = f"{HELPER_THEN_MAIN}\n{F}python\nfrom other import thing\nthing(add)\n{F}"
    code, _, detail = extract_for({"tests": PYTEST}, answer)
    assert code == "def _twice(x):\n    return 2 * x\ndef add(a, b):\n    return a + b\n"
    assert detail == {"blocks": [0, 1], "blocks_total": 3, "needed": ["add"]}


def test_extract_for_keeps_the_last_block_when_nothing_defines_the_names():
    answer = f"{F}python\nx = 1\n{F}\n{F}python\nprint(2)\n{F}"
    assert extract_for({"tests": PYTEST}, answer) == ("print(2)\n", "", {"blocks": [1], "blocks_total": 2})
    assert extract_for({"tests": PYTEST}, "<think>never closed")[:2] == (None, "truncated")
    assert extract_for({"tests": PYTEST}, "no code")[:2] == (None, "no_code")


def test_check_passes_an_answer_ending_with_a_usage_example():
    answer = f"<think>ok</think>{DEF_ADD}\nUsage:\n{F}python\nfrom solution import add\nprint(add(2, 2))\n{F}"
    v = check({"tests": PYTEST}, answer)
    assert (v.ok, v.reason, v.detail["blocks"], v.detail["tests_passed"]) == (True, "passed", [0], 1)
    wrong = answer.replace("a + b", "a - b")
    assert check({"tests": PYTEST}, wrong).reason == "wrong_answer"
    mbpp = {"test_list": ["assert add(2, 3) == 5"]}
    assert check(mbpp, f"{DEF_ADD}\n{USAGE}").ok


# --- dataset formats ---------------------------------------------------------------------------

APPS_STDIN = {"input_output": json.dumps({"inputs": ["1 2\n", ["3", "4"]], "outputs": ["3\n", ["7"]]})}
APPS_CALL = {
    "input_output": json.dumps({"fn_name": "pair", "inputs": [[1, 2], [3, 4]], "outputs": [[[1, 2]], [3, 4]]}),
    "solutions": json.dumps(["def pair(a, b):\n    return (a, b)\n"]),
}
SUM = "a = [int(x) for x in open(0).read().split()]\nprint(sum(a))\n"


def _lcb_private(cases: list) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(cases)))).decode()


def test_apps_stdin_rows_become_stdin_tests():
    spec = native_spec(APPS_STDIN)
    assert spec == {"tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "3\n4", "output": "7"}]}
    assert check(APPS_STDIN, f"{F}python\n{SUM}{F}").ok
    assert check(APPS_STDIN, f"{F}python\nprint(3)\n{F}").reason == "wrong_answer"


def test_apps_call_based_rows_become_asserts():
    spec = native_spec(APPS_CALL)
    assert len(spec["test_list"]) == 2
    assert spec["solutions"] == [{"language": "python", "code": "def pair(a, b):\n    return (a, b)\n"}]
    # a tuple result equals the JSON list; APPS also accepts the expected value wrapped in a list
    assert check(APPS_CALL, f"{F}python\ndef pair(a, b):\n    return (a, b)\n{F}").ok
    assert check(APPS_CALL, f"{F}python\ndef pair(a, b):\n    return [b, a]\n{F}").reason == "wrong_answer"
    leetcode = f"{F}python\nclass Solution:\n    def pair(self, a, b):\n        return [a, b]\n{F}"
    assert check(APPS_CALL, leetcode).ok


def test_livecodebench_rows():
    stdin_row = {
        "public_test_cases": json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]),
        "private_test_cases": _lcb_private([{"input": "5 5\n", "output": "10\n", "testtype": "stdin"}]),
    }
    assert native_spec(stdin_row)["tests"] == [
        {"input": "1 2\n", "output": "3\n"},
        {"input": "5 5\n", "output": "10\n"},
    ]
    assert check(stdin_row, f"{F}python\n{SUM}{F}").ok
    functional = {
        "public_test_cases": json.dumps([{"input": "[1, 2, 3]\n2", "output": "[4, 6]", "testtype": "functional"}]),
        "private_test_cases": _lcb_private([{"input": "[]\n5", "output": "[]", "testtype": "functional"}]),
        "metadata": json.dumps({"func_name": "scale"}),
    }
    good = f"{F}python\nclass Solution:\n    def scale(self, nums, k):\n        return [x * k for x in nums[1:]]\n{F}"
    assert len(native_spec(functional)["test_list"]) == 2
    assert check(functional, good).ok
    assert check(functional, good.replace("nums[1:]", "nums")).reason == "wrong_answer"


def test_livecodebench_private_tests_refuse_pickled_objects():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = base64.b64encode(zlib.compress(pickle.dumps(Evil()))).decode()
    spec = native_spec({"public_test_cases": "[]", "private_test_cases": evil})
    assert "tests" not in spec and "test_list" not in spec


def test_native_specs_pass_through():
    kattis = {"tests": [{"input": "", "output": "1"}], "validation": "default"}
    assert native_spec(kattis) is kattis
    assert native_spec({"tests": [{"input": "", "output": "1"}], "metadata": "{}"}) == {
        "tests": [{"input": "", "output": "1"}]
    }
