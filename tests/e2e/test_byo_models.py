"""Bring-your-own traces through the models that grade and shorten them, on the real embedded
teacher: judged difficulty (grade.judge) and rewrite to a budget (shorten.rewrite).

SmolLM2-135M is a poor judge and rewriter; this checks the plumbing: every problem gets a judge
reply, rewrites that do not verify or are not shorter fall back to the original with the reason,
and every shortened trace in the output verifies.
"""

import os
import subprocess

import pyarrow.parquet as pq
import pytest

from helpers import DISTILL, TEACHER, write_jsonl, write_recipe
from verifiers import check
from verifiers.trace import join_think

pytestmark = pytest.mark.slow

STEPS = "First, {a} plus {b}: count up from {a} by {b}. That gives {c}. Let me verify: {c} minus {b} is {a}. Good."


def _traces():
    rows = []
    for a, b in [(2, 3), (4, 5), (6, 7)]:
        problem, gold = f"What is {a} + {b}?", str(a + b)
        body = STEPS.format(a=a, b=b, c=a + b) + " So the answer is {}.".format(a + b)
        rows.append({"q": problem, "gold": gold, "out": f"<think>\n{body}\n</think>\n\n$\\boxed{{{a + b}}}$"})
        rows.append({"q": problem, "gold": gold, "out": f"<think>\n{body}\n</think>\n\n$\\boxed{{{a + b + 1}}}$"})
    # Too long for the rewriter's context (2,048 tokens): kept as it is, with the reason.
    long_body = "Let me add these numbers slowly and carefully, one unit at a time. " * 200 + "So 1 + 1 = 2."
    rows.append({"q": "What is 1 + 1?", "gold": "2", "out": f"<think>\n{long_body}\n</think>\n\n$\\boxed{{2}}$"})
    return rows


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("byo_models")
    traces = write_jsonl(tmp / "traces.jsonl", _traces())
    model = {"teacher": TEACHER, "sampling": {"temperature": 0.0, "max_tokens": 256}}
    recipe = {
        "name": "byo_models",
        "ingest": {
            "sources": [
                {
                    "path": str(traces),
                    "kind": "traces",
                    "columns": {"problem": "q", "reference_answer": "gold", "response": "out"},
                }
            ]
        },
        "verify": {"workers": 2},
        "grade": {"judge": model},
        "shorten": {"strategy": "rewrite", "rewrite": {**model, "budgets": {"medium": 64}}},
        "export": {"include": "verified"},
    }
    path = write_recipe(tmp / "r.yaml", recipe)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [DISTILL, "run", str(path), "--run-dir", str(tmp / "run")], capture_output=True, text=True, env=env, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [r for p in sorted((tmp / "run" / "shorten").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return {"rows": rows, "traces": _traces()}


def test_every_problem_has_a_judged_difficulty_reply(run):
    rows = run["rows"]
    assert len(rows) == 7
    for row in rows:
        assert row["difficulty_judge_output"]  # a real reply (or the recorded reason it was not asked)
        assert row["difficulty_judged"] is None or 1 <= row["difficulty_judged"] <= 10
    per_problem = {r["problem_id"]: (r["difficulty_judged"], r["difficulty_judge_output"]) for r in rows}
    assert len(per_problem) == 4  # asked once per problem, the same on all its traces
    assert all(r["difficulty"] == ("medium" if r["problem"] != "What is 1 + 1?" else "easy") for r in rows)


def test_rewrites_fall_back_or_verify(run):
    originals = {t["q"]: t["out"].split("</think>")[0].removeprefix("<think>").strip() for t in run["traces"]}
    for row in run["rows"]:
        status = row["shorten_status"]
        output = join_think(row["reasoning"], row["answer_text"], row["think_closed"])
        if not row["verdict"]:
            assert status == "kept: not verified"
        elif status == "shortened":
            assert row["shorten_strategy"] == "rewrite"
            assert check("math", row["reference_answer"], output).ok
            assert row["n_output_tokens"] < row["n_output_tokens_before"]
        else:
            assert status.startswith("kept: "), status
            assert row["reasoning"] == originals[row["problem"]]
    long_row = next(r for r in run["rows"] if r["problem"] == "What is 1 + 1?")
    assert long_row["shorten_status"] == "kept: rewrite prompt too long for the rewriter's context"
