"""verify stage: domain dispatch, truncation, judge policies (judge on FakeJudgeBackend)."""

from collections import Counter

import pytest

from fakes import FakeJudgeBackend, FakeRubricJudgeBackend
from helpers import base_recipe
from pipeline.recipe import parse_recipe
from pipeline.stages.judge import Judge, parse_judgement, parse_score
from pipeline.stages.verify import VerifyStage


def _row(pid, domain, answer, reference, closed=True):
    return {
        "problem_id": pid,
        "domain": domain,
        "problem": f"problem {pid}",
        "reference_answer": reference,
        "reasoning": "Let me think.",
        "answer_text": answer,
        "think_closed": closed,
        "test_spec": None,
    }


ROWS = [
    _row("m-right", "math", "So the answer is $\\boxed{\\frac{1}{2}}$.", "\\frac12"),
    _row("m-wrong", "math", "So the answer is $\\boxed{3}$.", "4"),
    # the rule finds no mathematical answer; the (fake) judge sees the reference in the prose
    _row("m-prose", "math", "It happens on a Tuesday.", "Tuesday"),
    _row("m-cut", "math", "", "4", closed=False),
    {**_row("m-copy", "math", "So the answer is $\\boxed{2^{5}}$.", "32"), "problem": "Evaluate $2^{5}$."},
    _row("c-right", "choice", "Therefore, the best answer is: (B).", "B"),
    _row("c-wrong", "choice", "Therefore, the best answer is: (A).", "B"),
]


def _verify(tmp_path, **verify):
    recipe = parse_recipe({**base_recipe(tmp_path / "x.jsonl"), "verify": verify})
    judge = Judge(recipe.verify.judge, 0, backend=FakeJudgeBackend({})) if recipe.verify.judge else None
    stage = VerifyStage(recipe, judge=judge)
    stats = Counter()
    kept, rejected = stage.process([dict(r) for r in ROWS], stats)
    assert rejected == []
    return {r["problem_id"]: r for r in kept}, stats


def test_rule_policy_dispatches_by_domain(tmp_path):
    rows, stats = _verify(tmp_path)
    assert {k: (r["verdict"], r["verdict_reason"]) for k, r in rows.items()} == {
        "m-right": (True, "correct"),
        "m-wrong": (False, "wrong_answer"),
        "m-prose": (False, "no_answer"),
        "m-cut": (False, "truncated"),
        "m-copy": (False, "restates_problem"),
        "c-right": (True, "correct"),
        "c-wrong": (False, "wrong_answer"),
    }
    assert all(r["verdict_judge"] is None for r in rows.values())
    assert stats["verdict_correct"] == 2


JUDGE = {"teacher": "embedded:smollm2-135m"}


def test_judge_on_rule_failure_flips_only_failures_it_accepts(tmp_path):
    rows, stats = _verify(tmp_path, policy="judge_on_rule_failure", judge=JUDGE)
    assert rows["m-prose"]["verdict"] is True and rows["m-prose"]["verdict_reason"] == "judge_accepted"
    assert rows["m-prose"]["verdict_rule"] is False and rows["m-prose"]["verdict_judge"] is True
    assert rows["m-wrong"]["verdict"] is False and rows["m-wrong"]["verdict_judge"] is False
    assert rows["m-right"]["verdict_judge"] is None  # not asked: the rule already accepted it
    assert rows["m-cut"]["verdict_judge"] is None and rows["m-cut"]["verdict"] is False  # nothing to judge
    assert stats["judge_asked"] == 3 and stats["judge_disagreed"] == 1


def test_both_policy_needs_rule_and_judge(tmp_path):
    rows, stats = _verify(tmp_path, policy="both", judge=JUDGE)
    # FakeJudgeBackend compares text: '\\frac12' is not in '\\boxed{\\frac{1}{2}}', so it says NO
    assert rows["m-right"]["verdict_rule"] is True and rows["m-right"]["verdict_judge"] is False
    assert rows["m-right"]["verdict"] is False and rows["m-right"]["verdict_reason"] == "judge_rejected"
    assert rows["c-right"]["verdict"] is True
    assert rows["m-prose"]["verdict"] is False
    assert stats["judge_asked"] == 6


def test_rule_policy_with_judge_all_rows_records_disagreements_without_changing_verdicts(tmp_path):
    rows, stats = _verify(tmp_path, policy="rule", judge=JUDGE, judge_all_rows=True)
    assert [r["verdict"] for r in rows.values()] == [r["verdict_rule"] for r in rows.values()]
    assert stats["judge_asked"] == 6 and stats["judge_disagreed"] == 2


def test_policy_without_judge_is_a_recipe_error(tmp_path):
    from pipeline.errors import UserError

    with pytest.raises(UserError, match="verify: policy 'both' needs a 'judge' section"):
        parse_recipe({**base_recipe(tmp_path / "x.jsonl"), "verify": {"policy": "both"}})


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("YES", True),
        ("no", False),
        ("The answers match.\nYES.", True),
        ("**NO**", False),
        ("Yes, but actually NO", False),
        ("maybe", None),
        ("", None),
        ("NO... wait, YES", True),
    ],
)
def test_parse_judgement_uses_the_last_word(reply, expected):
    assert parse_judgement(reply) is expected


SUM_SPEC = {
    "tests": [
        {"input": "2 3\n", "output": "5\n"},
        {"input": "1 1\n", "output": "2\n"},
        {"input": "0 0\n", "output": "1\n"},
    ],  # the last test is wrong: the reference fails it
    "solutions": [{"language": "python", "code": "a, b = map(int, input().split())\nprint(a + b)\n"}],
}
BROKEN_SPEC = {
    "tests": [{"input": "1\n", "output": "7\n"}],
    "solutions": [{"language": "python", "code": "print(int(input()))\n"}],
}
SUM_ANSWER = "Read both numbers and add them.\n\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"


def _code_rows():
    import json

    return [
        {**_row("sum-right", "code", SUM_ANSWER, None), "test_spec": json.dumps(SUM_SPEC)},
        {**_row("sum-nocode", "code", "I would add them.", None), "test_spec": json.dumps(SUM_SPEC)},
        {**_row("broken", "code", SUM_ANSWER, None), "test_spec": json.dumps(BROKEN_SPEC)},
    ]


def test_code_rows_run_their_tests_in_the_sandbox(tmp_path):
    stage = VerifyStage(parse_recipe(base_recipe(tmp_path / "x.jsonl")))
    kept, rejected = stage.process(_code_rows(), Counter())
    reasons = {r["problem_id"]: (r["verdict"], r["verdict_reason"]) for r in kept}
    assert reasons == {
        "sum-right": (False, "wrong_answer"),  # fails the broken third test
        "sum-nocode": (False, "no_code"),
        "broken": (False, "runtime_error"),
    }  # reads two numbers, gets one
    assert rejected == []


def test_validate_tests_drops_tests_and_problems_the_reference_fails(tmp_path):
    recipe = parse_recipe({**base_recipe(tmp_path / "x.jsonl"), "verify": {"validate_tests": True}})
    stats = Counter()
    kept, rejected = VerifyStage(recipe).process(_code_rows(), stats)
    reasons = {r["problem_id"]: (r["verdict"], r["verdict_reason"]) for r in kept}
    assert reasons == {"sum-right": (True, "passed"), "sum-nocode": (False, "no_code")}
    assert [r["problem_id"] for r in rejected] == ["broken"]
    assert rejected[0]["drop_reason"].startswith("invalid_tests: reference solution fails 1 tests")
    # the wrong sum test (for each of the two problems carrying it) and the broken problem's test
    assert stats["tests_dropped"] == 3


@pytest.mark.parametrize(
    "reply, score",
    [("Good.\nScore: 9", 0.9), ("Score: 10/10", 1.0), ("**Score:** 0", 0.0), ("Score: 7.5", None), ("nine", None)],
)
def test_parse_rubric_score(reply, score):
    assert parse_score(reply) == score


NO_REF = [
    _row("free-good", "math", "So it is $\\boxed{5}$.", None),
    _row("free-bad", "math", "So it is $\\boxed{6}$.", None),
    _row("free-cut", "math", "", None, closed=False),
    _row("ref-right", "math", "So the answer is $\\boxed{4}$.", "4"),
]


@pytest.mark.parametrize(
    "policy, verified",
    [
        ("rule", {"ref-right"}),
        ("judge_on_rule_failure", {"free-good", "ref-right"}),
        ("judge", {"free-good"}),  # the rubric judge scores ref-right 2/10
    ],
)
def test_rubric_judge_decides_rows_without_a_reference(tmp_path, policy, verified):
    judge_cfg = {"teacher": "embedded:smollm2-135m", "mode": "rubric", "threshold": 0.7}
    recipe = parse_recipe({**base_recipe(tmp_path / "x.jsonl"), "verify": {"policy": policy, "judge": judge_cfg}})
    stage = VerifyStage(recipe, judge=Judge(recipe.verify.judge, 0, backend=FakeRubricJudgeBackend({})))
    kept, _ = stage.process([dict(r) for r in NO_REF], Counter())
    rows = {r["problem_id"]: r for r in kept}
    assert {k for k, r in rows.items() if r["verdict"]} == verified
    assert rows["free-good"]["verdict_rule"] is None and rows["free-good"]["judge_score"] == 0.9
    assert rows["free-bad"]["judge_score"] == 0.2 and rows["free-bad"]["verdict_reason"] == "no_reference"
    assert rows["free-cut"]["judge_output"] is None  # a truncated trace has no answer to judge
    if policy == "rule":
        assert rows["free-good"]["verdict_reason"] == "no_reference"
    else:
        assert rows["free-good"]["verdict_reason"] == "judge_accepted"


def test_rubric_mode_keeps_problems_without_a_reference_at_ingest(tmp_path):
    from pipeline.runner import run_stages
    from pipeline.store import StageStore

    path = tmp_path / "p.jsonl"
    path.write_text('{"problem": "Name a prime above 10."}\n{"problem": "2+2?", "answer": "4"}\n')
    data = {**base_recipe(path), "verify": {"policy": "judge", "judge": {"teacher": "x", "mode": "rubric"}}}
    run_stages(parse_recipe(data), tmp_path / "run", ["ingest"])
    store = StageStore(tmp_path / "run", "ingest")
    rows = [r for i in store.done_parts() for r in store.read_part(i).to_pylist()]
    assert [r["reference_answer"] for r in rows] == [None, "4"]
    data["verify"] = {}
    run_stages(parse_recipe(data), tmp_path / "run2", ["ingest"])
    store = StageStore(tmp_path / "run2", "ingest")
    assert [r["drop_reason"].split(":")[0] for i in store.done_parts() for r in store.read_rejected(i).to_pylist()] == [
        "missing_reference_answer"
    ]
