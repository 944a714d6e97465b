"""Reference-free verification on real models: problems without a reference, answers scored by a
rubric judge (the embedded SmolLM2) or a reward model (the embedded weights with a Yes/No reward
head, on vLLM's pooling runner). Neither is a good judge; this checks the plumbing: every
answered row gets a score or a null one, the verdict follows the score and the threshold, and
the rule columns stay null."""

import os
import subprocess

import pyarrow.parquet as pq
import pytest

from helpers import DISTILL, TEACHER, write_jsonl, write_recipe

pytestmark = pytest.mark.slow


def _judged(tmp_path, rows: list[dict], judge: dict, run: str = "run") -> list[dict]:
    """Run verify with ``judge`` over trace rows {q, out} (no reference); the verified rows."""
    traces = write_jsonl(tmp_path / "t.jsonl", rows)
    recipe = {
        "name": "free",
        "ingest": {
            "sources": [{"path": str(traces), "kind": "traces", "columns": {"problem": "q", "response": "out"}}]
        },
        "verify": {"policy": "judge", "judge": judge},
    }
    path = write_recipe(tmp_path / "r.yaml", recipe)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [DISTILL, "run", str(path), "--run-dir", str(tmp_path / run)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    parts = sorted((tmp_path / run / "verify").glob("part-*.parquet"))
    return [r for p in parts for r in pq.read_table(p).to_pylist()]


def test_rubric_judge_verifies_rows_without_reference(tmp_path):
    rows = _judged(
        tmp_path,
        [
            {"q": "Name a prime number greater than 10.", "out": "<think>\n11 is prime.\n</think>\n\n11"},
            {"q": "Name a prime number greater than 10.", "out": "<think>\n12 is prime.\n</think>\n\n12"},
            {"q": "Give an even number between 3 and 7.", "out": "<think>\nFour.\n</think>\n\n$\\boxed{4}$"},
            {"q": "Give an even number between 3 and 7.", "out": "<think>\nstill counting"},
        ],
        {"teacher": TEACHER, "mode": "rubric", "threshold": 0.7, "sampling": {"max_tokens": 128}},
    )
    assert len(rows) == 4
    for row in rows:
        assert row["reference_answer"] is None and row["verdict_rule"] is None
        if not row["think_closed"]:
            assert row["judge_output"] is None and row["verdict"] is False
            continue
        assert row["judge_output"]
        score = row["judge_score"]
        assert score is None or 0 <= score <= 1
        assert row["verdict"] == (score is not None and score >= 0.7)
        assert row["verdict_reason"] == ("judge_accepted" if row["verdict"] else "no_reference")


def test_reward_model_scores_rows_without_reference(tmp_path):
    """Every answered row gets a score in (0, 1), the verdict follows the threshold, and a second
    run gives the same scores (the engine is deterministic)."""
    traces = [
        {"q": "What is 2 + 2?", "out": "<think>\n2 + 2 = 4.\n</think>\n\n4"},
        {"q": "What is 2 + 2?", "out": "<think>\n2 + 2 = 5.\n</think>\n\n5"},
        {"q": "Name a prime number greater than 10.", "out": "<think>\nmaybe 11\n</think>\n\n11"},
        {"q": "Name a prime number greater than 10.", "out": "<think>\nnever closed"},
    ]
    judge = {"teacher": "embedded:smollm2-135m-yesno-reward", "mode": "reward", "threshold": 0.76}
    scores = []
    for run in ("run1", "run2"):
        rows = _judged(tmp_path, traces, judge, run)
        assert len(rows) == 4
        for row in rows:
            assert row["reference_answer"] is None and row["verdict_rule"] is None
            if not row["think_closed"]:
                assert row["judge_score"] is None and row["verdict"] is False
                continue
            assert 0 < row["judge_score"] < 1, row
            assert row["judge_output"].startswith("reward model score")
            assert row["verdict"] == (row["judge_score"] >= 0.76)
        scores.append(sorted((r["answer_text"], r["judge_score"] or -1.0) for r in rows))
    assert scores[0] == scores[1]
    assert len({s for _, s in scores[0] if s >= 0}) == 3  # the answers are scored, not a constant
