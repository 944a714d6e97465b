import json

import pytest

from helpers import SHARED
from verifiers.choice import check, check_answer

CASES = [
    ("B", "Therefore, the best answer is: (B).", True),
    ("B", "Therefore, the best answer is: (C).", False),
    ("B", "The answer is $\\boxed{B}$.", True),
    ("B", "The answer is $\\boxed{\\text{B}}$.", True),
    ("(B)", "**Answer: B**", True),
    ("b", "Answer: B", True),
    ("C", "Option A is tempting, but the correct answer is C.", True),
    ("C", "Option A is tempting, but the correct answer is D.", False),
    ("A", "The answer is a subtle one: (A)", True),
    ("D", "(D)", True),
    ("D", "**D**", True),
    ("D", "I considered A and B.\n\nD.", True),
    ("J", "The answer is (J).", True),
    ("A", "I am not sure.", False),
    ("A", "", False),
    ("B", "First I thought the answer is A. On reflection the answer is B.", True),
    ("A", "First I thought the answer is A. On reflection the answer is B.", False),
    ("B", "\\boxed{B} although the answer is A per the professor", True),
    # An answer offering alternatives names no single letter.
    ("A", "After weighing both, the answer is A or B.", False),
    ("B", "After weighing both, the answer is A or B.", False),
    ("B", "The answer is (A) or (B).", False),
    ("C", "**Answer: C/D**", False),
    ("B", "Answer: A or option B", False),
    ("A", "The answer is $\\boxed{A \\text{ or } B}$.", False),
    ("A", "$\\boxed{A, B}$", False),
    ("A", "The answer is A, since B is wrong.", True),
    ("A", "The answer is A; B or C would need x > 2.", True),
    ("D", "The answer is D or, equivalently, (D).", True),
]


@pytest.mark.parametrize("gold, answer, expected", CASES)
def test_choice_table(gold, answer, expected):
    assert check_answer(gold, answer).ok is expected


def test_reasons():
    assert check_answer("A", "").reason == "no_answer"
    assert check_answer("A", "nothing here").reason == "no_answer"
    assert check_answer("A", "The answer is (B)").reason == "wrong_answer"
    assert check_answer("maybe", "(A)").reason == "bad_reference"
    v = check_answer("A", "The answer is A or B.")
    assert (v.reason, v.detail["extracted"], v.detail["rule"]) == ("wrong_answer", None, "hedged")
    assert check("A", "<think>\nit is (A)").reason == "truncated"
    assert check("A", "<think>\nhmm\n</think>\nThe answer is (A).").ok


def test_agrees_with_labels_on_real_r1_distill_mmlu_traces():
    path = SHARED / "traces" / "thought_branches_r1_mmlu.jsonl"
    if not path.exists():
        pytest.skip("../shared/traces not present")
    rows = [json.loads(line) for line in path.open()]
    wrong = [r["id"] for r in rows if check_answer(r["gold"], r["answer_text"]).ok != r["label"]]
    assert len(rows) == 226 and wrong == []
