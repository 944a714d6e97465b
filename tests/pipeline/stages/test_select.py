import pytest

from pipeline.recipe import SelectConfig
from pipeline.stages.select import Selection


def _rows(spec):
    """spec: list of (problem_id, teacher, sample_idx, verdict, pass_rate, tokens, answer, extra) -> {where: row}."""
    rows = {}
    for i, (pid, teacher, idx, ok, rate, tokens, answer, *extra) in enumerate(spec):
        rows[(i // 4, i % 4)] = {
            "problem_id": pid,
            "teacher": teacher,
            "sample_idx": idx,
            "domain": "math",
            "source": extra[0] if extra else "s.jsonl",
            "verdict": ok,
            "pass_rate": rate,
            "difficulty": "easy" if rate >= 0.8 else ("medium" if rate >= 0.3 else ("hard" if rate else "unsolved")),
            "n_output_tokens": tokens,
            "answer_text": answer,
        }
    return rows


def _ids(rows, dropped):
    return sorted(f"{r['problem_id']}#{r['sample_idx']}" for w, r in rows.items() if w not in dropped)


# p_easy: 4/4 verified; p_mid: 2/4; p_hard: 1/4; p_none: 0/2.
RUN = [
    ("p_easy", "A", 0, True, 1.0, 100, "4"),
    ("p_easy", "A", 1, True, 1.0, 300, "4"),
    ("p_easy", "A", 2, True, 1.0, 105, "4"),
    ("p_easy", "A", 3, True, 1.0, 500, "four"),
    ("p_mid", "A", 0, True, 0.5, 200, "7"),
    ("p_mid", "A", 1, False, 0.5, 900, "8"),
    ("p_mid", "A", 2, True, 0.5, 250, "7"),
    ("p_mid", "A", 3, False, 0.5, 900, "9"),
    ("p_hard", "A", 0, False, 0.25, 900, "1"),
    ("p_hard", "A", 1, True, 0.25, 700, "2"),
    ("p_hard", "A", 2, False, 0.25, 900, "3"),
    ("p_hard", "A", 3, False, 0.25, 900, "3"),
    ("p_none", "A", 0, False, 0.0, 900, "5"),
    ("p_none", "A", 1, False, 0.0, 900, "6"),
]


def test_default_keeps_every_solved_problem_and_drops_unsolved():
    rows = _rows(RUN)
    dropped = Selection(SelectConfig(), 0).decide(rows)
    assert set(dropped.values()) == {"unsolved: no verified trace"}
    assert sorted(rows[w]["problem_id"] for w in dropped) == ["p_none", "p_none"]


def test_pass_rate_band_drops_trivial_problems_with_all_their_traces():
    rows = _rows(RUN)
    dropped = Selection(SelectConfig(max_pass_rate=0.9), 0).decide(rows)
    assert [dropped[w] for w, r in rows.items() if r["problem_id"] == "p_easy"] == [
        "pass_rate_band: 1 outside [0.0, 0.9]"
    ] * 4
    assert "p_mid#1" in _ids(rows, dropped)  # failed traces of kept problems pass through (pair negatives)


def test_tiers_and_length_caps():
    rows = _rows(RUN)
    dropped = Selection(SelectConfig(tiers=["easy", "medium"], max_output_tokens=400), 0).decide(rows)
    assert dropped[(2, 1)] == "tier: hard not in ['easy', 'medium']"
    assert dropped[(0, 3)] == "too_long: 500 > 400 output tokens"
    assert _ids(rows, dropped) == ["p_easy#0", "p_easy#1", "p_easy#2", "p_mid#0", "p_mid#1", "p_mid#2", "p_mid#3"]


def test_max_per_problem_prefers_distinct_answers_then_lengths_then_short():
    rows = _rows(RUN)
    dropped = Selection(SelectConfig(max_per_problem=2), 0).decide(rows)
    easy = [f"{r['sample_idx']}" for w, r in rows.items() if r["problem_id"] == "p_easy" and w not in dropped]
    # shortest first (100), then the distinct answer 'four' (500) before 105 (same length class) or 300.
    assert easy == ["0", "3"]
    assert dropped[(0, 1)] == "max_per_problem: kept 2 of 4 traces"
    dropped3 = Selection(SelectConfig(max_per_problem=3), 0).decide(rows)
    kept3 = sorted(r["sample_idx"] for w, r in rows.items() if r["problem_id"] == "p_easy" and w not in dropped3)
    assert kept3 == [0, 1, 3]  # 300 is a distinct length; 105 is within 10% of 100


@pytest.mark.parametrize(
    "order, kept",
    [
        ("hard_first", ["p_hard#1", "p_mid#0", "p_mid#2"]),
        ("easy_first", ["p_easy#0", "p_easy#1", "p_easy#3"]),  # distinct answer and length first
    ],
)
def test_target_size_takes_the_hardest_problems_first(order, kept):
    rows = _rows(RUN)
    dropped = Selection(SelectConfig(target_size=3, order=order), 0).decide(rows)
    verified_kept = [i for i in _ids(rows, dropped) if rows_by_id(rows)[i]["verdict"]]
    assert verified_kept == kept
    assert "target_size: 3 traces reached" in dropped.values()


def rows_by_id(rows):
    return {f"{r['problem_id']}#{r['sample_idx']}": r for r in rows.values()}


def test_quotas_per_source_with_a_default():
    spec = [(*r, "a.jsonl" if r[0] in ("p_easy", "p_hard") else "b.jsonl") for r in RUN]
    rows = _rows(spec)
    cfg = SelectConfig(quotas={"source": {"a.jsonl": 2, "*": 1}})
    dropped = Selection(cfg, 0).decide(rows)
    verified_kept = [i for i in _ids(rows, dropped) if rows_by_id(rows)[i]["verdict"]]
    assert verified_kept == ["p_easy#0", "p_hard#1", "p_mid#0"]
    assert dropped[(0, 2)] == "quota_source: a.jsonl reached 2"
    assert dropped[(1, 2)] == "quota_source: b.jsonl reached 1"


def test_paired_long_and_short_rows_stay_together():
    rows = _rows(
        [
            ("p", "A", 0, True, 1.0, 800, "4"),
            ("p", "A", 0, True, 1.0, 200, "4"),
            ("p", "A", 1, True, 1.0, 300, "4"),
        ]
    )
    dropped = Selection(SelectConfig(max_per_problem=1), 0).decide(rows)
    assert sorted(dropped) == [(0, 2)]
    dropped = Selection(SelectConfig(target_size=1), 0).decide(rows)
    assert sorted(dropped) == [(0, 0), (0, 1)]  # the pair does not fit in 1; the single trace does


def test_same_decisions_every_time_and_seed_matters_only_for_ties():
    spec = [(f"p{i}", "A", 0, True, 0.5, 100, "1") for i in range(20)]
    rows = _rows(spec)
    first = Selection(SelectConfig(target_size=5), 0).decide(rows)
    assert Selection(SelectConfig(target_size=5), 0).decide(rows) == first
    other = Selection(SelectConfig(target_size=5), 1).decide(rows)
    assert len(other) == len(first) == 15 and other != first
