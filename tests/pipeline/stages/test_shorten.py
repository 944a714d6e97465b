from collections import Counter

import pytest

from helpers import TEACHER
from pipeline.recipe import parse_recipe
from pipeline.stages.shorten import ShortenStage
from pipeline.tokens import count_tokens
from verifiers import check
from verifiers.trace import join_think

EARLY = "We need 2+3. Adding gives 5. So the answer is 5."
REST = (
    "\n\nWait, let me double-check this carefully. Two plus three: counting up from two, three, four, five."
    " Yes, so the answer is 5 again.\n\nLet me also check by subtraction: 5 - 3 = 2, which matches."
    " I am confident in the result now, after checking it twice in two different ways."
)


def _recipe(**shorten) -> dict:
    return parse_recipe(
        {
            "name": "s",
            "ingest": {"sources": [{"path": "x.jsonl", "kind": "traces"}]},
            "verify": {"workers": 1},
            "grade": {},
            "shorten": {"workers": 1, **shorten},
        }
    )


def _row(pid="p", idx=0, reasoning=EARLY + REST, answer="The answer is $\\boxed{5}$.", ok=True, tokens=None, **extra):
    row = {
        "problem_id": pid,
        "domain": "math",
        "problem": "What is $2+3$?",
        "reference_answer": "5",
        "teacher": "T",
        "sample_idx": idx,
        "reasoning": reasoning,
        "answer_text": answer,
        "think_closed": True,
        "verdict": ok,
        "n_output_tokens": tokens
        if tokens is not None
        else count_tokens(TEACHER, [join_think(reasoning, answer, True)])[0],
        "difficulty": "medium",
    }
    return {**row, **extra}


def _run(rows, **shorten):
    stats = Counter()
    out, rejected = ShortenStage(_recipe(**shorten)).process(rows, stats)
    return out, rejected, stats


def test_first_correct_keeps_a_prefix_up_to_the_first_correct_answer_and_the_final_answer():
    row = _row()
    (out,), rejected, stats = _run([row], strategy="first_correct")
    assert rejected == []
    assert out["reasoning"] == EARLY
    assert out["answer_text"] == row["answer_text"]
    assert out["shorten_status"] == "shortened" and out["shorten_strategy"] == "first_correct"
    assert out["n_output_tokens_before"] == row["n_output_tokens"]
    assert out["n_output_tokens"] == count_tokens(TEACHER, [join_think(EARLY, row["answer_text"], True)])[0]
    assert out["n_output_tokens"] < row["n_output_tokens"]
    assert check("math", "5", join_think(out["reasoning"], out["answer_text"], True)).ok
    assert stats["first_correct_shortened"] == 1


def test_first_correct_with_reflection_keeps_the_next_check():
    (out,), _, _ = _run([_row()], strategy="first_correct", keep_reflection=True)
    assert out["shorten_status"] == "shortened"
    assert out["reasoning"].endswith("Yes, so the answer is 5 again.") and out["reasoning"].startswith(EARLY)
    assert (EARLY + REST).startswith(out["reasoning"])  # still a prefix, never edited text


def test_unverified_and_unchanged_traces_pass_with_a_status():
    wrong = _row(idx=1, answer="The answer is $\\boxed{6}$.", ok=False)
    late = _row(idx=2, reasoning="Adding two and three step by step, carefully.\n\nSo the answer is 5.")
    out, rejected, _ = _run([wrong, late], strategy="first_correct")
    assert rejected == []
    assert [r["shorten_status"] for r in out] == ["kept: not verified", "kept: no_earlier_answer"]
    assert [r["reasoning"] for r in out] == [wrong["reasoning"], late["reasoning"]]
    assert [r["n_output_tokens"] for r in out] == [r["n_output_tokens_before"] for r in out]


def test_a_short_version_that_fails_reverification_keeps_the_original():
    # Accepted by a judge, but the final answer part does not verify: the cut trace is checked
    # again with the rule verifier and fails, so the original stays, with the reason.
    row = _row(answer="The answer is $\\boxed{6}$.", ok=True)
    (out,), _, _ = _run([row], strategy="first_correct")
    assert out["reasoning"] == row["reasoning"]
    assert out["shorten_status"] == "kept: re-verification failed: wrong_answer"


def test_shortest_correct_keeps_the_m_shortest_verified_traces():
    rows = [_row(idx=i, tokens=t) for i, t in enumerate([500, 100, 300, 200])] + [_row(idx=4, ok=False, tokens=50)]
    out, rejected, stats = _run(rows, strategy="shortest_correct", keep=2)
    assert sorted(r["sample_idx"] for r in out) == [1, 3, 4]
    assert sorted((r["sample_idx"], r["drop_reason"]) for r in rejected) == [
        (0, "not_shortest_correct: 500 tokens > kept 200"),
        (2, "not_shortest_correct: 300 tokens > kept 200"),
    ]
    assert stats["shortest_correct_rejected"] == 2


def test_strategy_per_tier():
    rows = [_row(idx=0, difficulty="easy"), _row(idx=1, difficulty="hard")]
    out, _, _ = _run(rows, strategy="first_correct", by_tier={"easy": "none"})
    assert [(r["shorten_strategy"], r["shorten_status"]) for r in out] == [
        ("none", "kept: strategy none"),
        ("first_correct", "shortened"),
    ]


def test_paired_keeps_long_and_short_versions_tagged():
    out, _, _ = _run([_row()], strategy="paired")
    assert [(r["length_condition"], r["reasoning"] == EARLY) for r in out] == [("long", False), ("short", True)]
    assert out[0]["reasoning"] == EARLY + REST and out[0]["shorten_status"] == "kept: long version of a pair"


class FakeRewriter:
    """Stands in for the rewrite model in pure-logic tests: replies from a list (None = too long)."""

    def __init__(self, replies):
        self.replies = replies
        self.asked = []

    def setup(self):
        pass

    def ask(self, fields):
        self.asked.extend(fields)
        return self.replies[: len(fields)]


REWRITE = {"strategy": "rewrite", "rewrite": {"teacher": TEACHER, "budgets": {"hard": 64}, "default_budget": 128}}


@pytest.mark.parametrize(
    "reply, status",
    [
        ("2 + 3 = 5.", "shortened"),
        (None, "kept: rewrite prompt too long for the rewriter's context"),
        ("   ", "kept: empty rewrite"),
        (EARLY + REST + " And more words to make it longer than before.", "kept: rewrite not shorter"),
    ],
)
def test_rewrite_outcomes(reply, status):
    rewriter = FakeRewriter([reply])
    stage = ShortenStage(_recipe(**REWRITE), rewriter=rewriter)
    (out,), _ = stage.process([_row(difficulty="hard")], Counter())
    assert out["shorten_status"].startswith(status)
    assert rewriter.asked[0]["budget"] == "64"  # the tier's budget
    if status == "shortened":
        assert out["reasoning"] == "2 + 3 = 5." and out["shorten_strategy"] == "rewrite"


def test_rewrite_that_changes_the_answer_fails_reverification_and_keeps_the_original():
    # The rewritten reasoning is fine but the trace's final answer part is what is re-verified;
    # here the judge-accepted answer part is wrong, so every changed version is refused.
    stage = ShortenStage(_recipe(**REWRITE), rewriter=FakeRewriter(["So 2+3=5."]))
    (out,), _ = stage.process([_row(answer="\\boxed{7}")], Counter())
    assert out["shorten_status"] == "kept: re-verification failed: wrong_answer"
