import json
from collections import Counter

import pytest

from pipeline.recipe import GradeConfig, parse_recipe
from pipeline.stages.grade import GradeStage, coefficient_of_variation, grade_problem, parse_level, tier_of


def _row(pid, teacher, idx, ok, tokens=100):
    return {"problem_id": pid, "teacher": teacher, "sample_idx": idx, "verdict": ok, "n_output_tokens": tokens}


@pytest.mark.parametrize(
    "rate, tier",
    [
        (1.0, "easy"),
        (0.8, "easy"),
        (0.79, "medium"),
        (0.3, "medium"),
        (0.29, "hard"),
        (0.01, "hard"),
        (0.0, "unsolved"),
    ],
)
def test_tiers_from_pass_rate_cut_points(rate, tier):
    assert tier_of(rate, GradeConfig()) == tier


def test_custom_tiers():
    cfg = GradeConfig(tiers={"trivial": 1.0, "learnable": 0.0})
    assert [tier_of(r, cfg) for r in (1.0, 0.99, 0.1, 0.0)] == ["trivial", "learnable", "learnable", "unsolved"]


def test_problem_figures_over_teachers():
    traces = [
        _row("p", "A", 0, True, 300),
        _row("p", "A", 1, True, 100),
        _row("p", "A", 2, False, 900),
        _row("p", "A", 3, True, 200),
        _row("p", "B", 0, False, 50),
        _row("p", "B", 1, True, 400),
    ]
    graded = grade_problem(traces, GradeConfig())
    assert graded["n_samples"] == 6 and graded["n_correct"] == 4
    assert graded["pass_rate"] == pytest.approx(4 / 6)
    assert json.loads(graded["pass_rate_by_teacher"]) == {"A": 0.75, "B": 0.5}
    # per-teacher rates 0.75 and 0.5: mean 0.625, population std 0.125
    assert graded["pass_rate_cv"] == pytest.approx(0.2)
    assert graded["shortest_correct_tokens"] == 100
    assert graded["mean_correct_tokens"] == pytest.approx(250)
    assert graded["difficulty"] == "medium"


def test_unsolved_problem_and_single_teacher():
    graded = grade_problem([_row("p", "A", 0, False), _row("p", "A", 1, False)], GradeConfig())
    assert graded["pass_rate"] == 0 and graded["difficulty"] == "unsolved"
    assert graded["pass_rate_cv"] is None and graded["shortest_correct_tokens"] is None
    assert coefficient_of_variation([0.0, 0.0]) is None


@pytest.mark.parametrize(
    "reply, level",
    [
        ("This needs a clever substitution.\nLevel: 7", 7),
        ("Level: 10", 10),
        ("**Difficulty:** 3/10", 3),
        ("I would rate it 4.", 4),
        ("The difficulty level is 6. Level: 8", 8),
        ("Steps 1 and 2 are easy, step 3 hard.", None),
        ("Level: 7.5", None),
        ("", None),
        ("Level: 11", None),
    ],
)
def test_parse_level(reply, level):
    assert parse_level(reply) == level


def test_grade_stage_adds_problem_columns_to_every_trace():
    recipe = parse_recipe(
        {
            "name": "g",
            "ingest": {"sources": [{"path": "x.jsonl", "kind": "traces"}]},
            "grade": {"tiers": {"easy": 0.75, "hard": 0.0}},
        }
    )
    rows = [_row("p1", "A", i, ok) for i, ok in enumerate([True, True, True, False])] + [
        _row("p2", "A", 0, False),
        _row("p3", "A", 0, True),
        _row("p3", "A", 1, False),
    ]
    stats = Counter()
    out, rejected = GradeStage(recipe).process(rows, stats)
    assert rejected == [] and len(out) == 7
    assert [r["difficulty"] for r in out] == ["easy"] * 4 + ["unsolved", "hard", "hard"]
    assert [r["difficulty_judged"] for r in out] == [None] * 7
    assert stats["problems_easy"] == 1 and stats["problems_hard"] == 1 and stats["problems_unsolved"] == 1
    assert stats["traces_easy"] == 4
