import json

import pytest

from conftest import SHARED
from verifiers.math import check, check_answer

CASES = [
    # (gold, answer part of a model output, expected)
    ("5", "The answer is $\\boxed{5}$.", True),
    ("5", "So the final answer is $5$.", True),
    ("5", "Final Answer: 5", True),
    ("5", "The answer is $\\boxed{6}$.", False),
    ("\\frac{3}{4}", "Therefore the sum is $\\boxed{\\dfrac{3}{4}}$.", True),
    ("\\frac{3}{4}", "The sum is $\\boxed{0.75}$.", True),
    ("\\frac{3}{4}", "The sum is $\\boxed{\\frac{4}{3}}$.", False),
    ("42", "First we try $6\\cdot 6 = 36$, which is wrong. Finally $\\boxed{42}$.", True),
    ("3\\sqrt{13}", "Thus the distance is $\\boxed{3\\sqrt{13}}$.", True),
    ("3\\sqrt{13}", "Thus the distance is $\\boxed{\\sqrt{117}}$.", True),
    ("3\\sqrt{13}", "Thus the distance is $\\boxed{13\\sqrt{3}}$.", False),
    ("\\pi", "The area is $\\boxed{\\pi}$.", True),
    ("1000", "The total is $\\boxed{1{,}000}$.", True),
    ("-2", "So $x = \\boxed{-2}$.", True),
    ("-2", "So $x = \\boxed{2}$.", False),
    ("(1,2)", "The point is $\\boxed{(1, 2)}$.", True),
    ("(1,2)", "The point is $\\boxed{(2, 1)}$.", False),
    ("26", "She has $\\boxed{26}$ dollars left.", True),
    ("26", "", False),
    ("26", "I cannot solve this.", False),
]


@pytest.mark.parametrize("gold, answer, expected", CASES)
def test_check_answer_table(gold, answer, expected):
    verdict = check_answer(gold, answer)
    assert verdict.ok is expected, verdict
    assert verdict.reason in ({"correct"} if expected else {"wrong_answer", "no_answer"})


def test_reasons_and_detail():
    assert check_answer("5", "").reason == "no_answer"
    assert check_answer("5", "no numbers here").reason == "no_answer"
    v = check_answer("5", "$\\boxed{5}$")
    assert v.detail["extracted"] == "5" and v.detail["time_ms"] >= 0


def test_full_completion_truncated_think_is_not_guessed():
    assert check("5", "<think>\nthe answer is 5 surely").reason == "truncated"
    assert check("5", "<think>\nmaybe 4\n</think>\n\n$\\boxed{5}$").ok


def test_bad_reference_is_reported_not_raised():
    v = check_answer("", "$\\boxed{5}$")
    assert not v.ok and v.reason == "bad_reference"


def _labelled_traces():
    path = SHARED / "traces" / "thought_anchors_r1distill_math.jsonl"
    if not path.exists():
        pytest.skip("../shared/traces not present")
    return [json.loads(line) for line in path.open()]


def test_agrees_with_labels_on_real_r1_distill_traces():
    """Real R1-distill traces (10 MATH level-5 problems, one correct + one incorrect each)."""
    rows = _labelled_traces()
    disagreements = [(r["id"], r["gold"]) for r in rows if check(r["gold"], r["completion"]).ok != r["label"]]
    assert disagreements == []
