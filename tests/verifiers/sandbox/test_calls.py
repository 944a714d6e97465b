"""Call-based tests (HumanEval check(candidate), MBPP asserts) against solutions that attack the
harness: objects that equal everything, patched builtins and modules, forged result lines."""

import json
import re
from pathlib import Path

import pytest

from helpers import SHARED as _SHARED
from verifiers.code import check_code

SHARED = _SHARED / "benchmarks"
HOSTILE = Path(__file__).resolve().parent / "hostile" / "calls"


def _problems() -> dict:
    rows = {}
    for name in ("humaneval.jsonl", "mbpp.jsonl"):
        if not (SHARED / name).exists():
            pytest.skip(f"{SHARED / name} absent")
        rows.update((r["id"], r) for r in map(json.loads, (SHARED / name).open()))
    return rows


def _header(path: Path, key: str) -> str:
    return re.search(rf"^# {key}: (.*)$", path.read_text(), re.M).group(1)


@pytest.mark.parametrize("path", sorted(HOSTILE.glob("*.py")), ids=lambda p: p.stem)
def test_hostile_solution_does_not_pass(path):
    problem = _problems()[_header(path, "problem")]
    verdict = check_code(problem, path.read_text())
    assert not verdict.ok
    assert verdict.reason in _header(path, "expect").split(), verdict


def test_corpus_covers_the_loopholes():
    assert len(list(HOSTILE.glob("*.py"))) >= 10


@pytest.mark.parametrize(
    "body,reason,message",
    [
        (
            "class E:\n    def __eq__(s, o): return True\ndef min_cost(c, m, n): return E()",
            "wrong_answer",
            "min_cost() returned solution.E, not plain data",
        ),
        ("def min_cost(c, m, n): return 8 if c[0][0] == 1 else 12", "wrong_answer", "AssertionError"),
        (
            "import gc\ngc.get_objects()\ndef min_cost(c, m, n): return 8",
            "runtime_error",
            "gc.get_objects is not allowed",
        ),
    ],
)
def test_verdict_messages(body, reason, message):
    v = check_code(_problems()["mbpp/1"], body)
    assert (v.reason, v.ok) == (reason, False)
    assert message in v.detail["error"], v.detail


def test_plain_data_that_mbpp_needs_still_passes():
    rows = _problems()
    assert check_code(rows["mbpp/1"], "def min_cost(c, m, n):\n    return {1: 8, 2: 12, 3: 16}[c[0][0]]").ok
    for pid in ("mbpp/40", "mbpp/653"):  # references returning a Counter, a defaultdict
        assert check_code(rows[pid], rows[pid]["code"]).ok, pid


NUMPY = "import numpy as np\n\ndef min_cost(c, m, n):\n    return {1: 8, 2: 12, 3: 16}[int(np.asarray(c)[0, 0])]\n"


def test_installed_c_extensions_load_but_ctypes_stays_closed():
    pytest.importorskip("numpy")
    p = _problems()["mbpp/1"]
    v = check_code(p, NUMPY)
    assert v.ok, v
    v = check_code(p, "import ctypes\nctypes.CDLL('libc.so.6').getpid()\n" + NUMPY)
    assert (v.reason, "ctypes.dlsym is not allowed" in v.detail["error"]) == ("runtime_error", True), v
    stdin = {"tests": [{"input": "3\n", "output": "6\n"}]}
    assert check_code(stdin, "import numpy as np\nprint(int(np.arange(int(input()) + 1).sum()))").ok
