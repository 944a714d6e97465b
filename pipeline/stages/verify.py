"""verify: a verdict on every row (``verdict``, ``verdict_reason``, ``verify_ms``).

Math answers go through math-verify in worker processes with a hard per-row wall-clock limit,
so a pathological answer costs ``verify.timeout_s`` and a ``timeout`` verdict, never the batch.
Every row is kept here; export decides what enters the dataset.
"""

from __future__ import annotations

from collections import Counter

from pipeline.recipe import Recipe
from pipeline.rows import STAGE_COLUMNS
from pipeline.stage import Row, Stage
from verifiers.batch import check_all
from verifiers.math import check_answer


class VerifyStage(Stage):
    name = "verify"
    input_stage = "generate"
    adds_columns = STAGE_COLUMNS["verify"]

    def __init__(self, recipe: Recipe):
        self.cfg = recipe.verify

    def process(self, rows: list[Row], stats: Counter) -> tuple[list[Row], list[Row]]:
        out = [dict(r) for r in rows]
        to_check = []
        for row in out:
            if row["domain"] != "math":
                # Code and multiple-choice checkers are not built yet; say so on the row.
                row.update(verdict=False, verdict_reason="unsupported_domain", verify_ms=0.0)
            elif not row["think_closed"]:
                row.update(verdict=False, verdict_reason="truncated", verify_ms=0.0)
            else:
                to_check.append(row)
        verdicts = check_all(check_answer, [(r["reference_answer"], r["answer_text"]) for r in to_check],
                             timeout_s=self.cfg.timeout_s, workers=self.cfg.workers)
        for row, verdict in zip(to_check, verdicts):
            row.update(verdict=verdict.ok, verdict_reason=verdict.reason,
                       verify_ms=verdict.detail.get("wall_ms", verdict.detail.get("time_ms", 0.0)))
        stats.update(f"verdict_{r['verdict_reason']}" for r in out)
        return out, []
