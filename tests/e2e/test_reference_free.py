"""Reference-free verification on the real embedded model: a rubric judge scores answers to
problems that have no reference. SmolLM2-135M is a poor judge; this checks the plumbing: every
answered row gets the judge's reply, its score is parsed or null, the verdict follows the score
and the threshold, and the rule columns stay null."""

import os
import subprocess

import pyarrow.parquet as pq
import pytest

from helpers import DISTILL, TEACHER, write_jsonl, write_recipe

pytestmark = pytest.mark.slow


def test_rubric_judge_verifies_rows_without_reference(tmp_path):
    traces = write_jsonl(
        tmp_path / "t.jsonl",
        [
            {"q": "Name a prime number greater than 10.", "out": "<think>\n11 is prime.\n</think>\n\n11"},
            {"q": "Name a prime number greater than 10.", "out": "<think>\n12 is prime.\n</think>\n\n12"},
            {"q": "Give an even number between 3 and 7.", "out": "<think>\nFour.\n</think>\n\n$\\boxed{4}$"},
            {"q": "Give an even number between 3 and 7.", "out": "<think>\nstill counting"},
        ],
    )
    recipe = {
        "name": "free",
        "ingest": {
            "sources": [{"path": str(traces), "kind": "traces", "columns": {"problem": "q", "response": "out"}}]
        },
        "verify": {
            "policy": "judge",
            "judge": {"teacher": TEACHER, "mode": "rubric", "threshold": 0.7, "sampling": {"max_tokens": 128}},
        },
    }
    path = write_recipe(tmp_path / "r.yaml", recipe)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [DISTILL, "run", str(path), "--run-dir", str(tmp_path / "run")], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [r for p in sorted((tmp_path / "run/verify").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
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
