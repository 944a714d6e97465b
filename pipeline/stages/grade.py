"""grade: per-problem difficulty from its traces: pass rates, their spread across teachers, a tier.

Every trace of a problem is in the same part (ingest splits by problem and every later part
``i`` comes from part ``i``), so grading is per part: no barrier, and it shards like verify.
The per-problem figures are repeated on each of the problem's traces. An optional judge model
also rates each problem 1-10 (DAP), stored beside the pass-rate tier.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter

from pipeline.recipe import GradeConfig, Recipe
from pipeline.rows import STAGE_COLUMNS, Row
from pipeline.stage import PartContext, Stage
from pipeline.stages.ask import MAX_STORED_OUTPUT, ModelTask

# "Level: 7", "difficulty 7/10", "**7**" ...: the last number 1-10 the reply gives as its level.
_LEVEL = re.compile(r"(?<![\d.])(10|[1-9])(?:\s*/\s*10)?(?!\d|\.\d)")
_LABELLED_LEVEL = re.compile(r"(?:level|difficulty|rating|score)[^\d\n]{0,15}?(10|[1-9])(?!\d|\.\d)", re.IGNORECASE)


def parse_level(reply: str) -> int | None:
    """The difficulty level 1-10 in a judge's reply: the last labelled one ('Level: 7'), else
    the last number 1-10 when the reply has only one distinct such number; None otherwise."""
    labelled = _LABELLED_LEVEL.findall(reply)
    if labelled:
        return int(labelled[-1])
    numbers = set(_LEVEL.findall(reply))
    return int(numbers.pop()) if len(numbers) == 1 else None


def tier_of(pass_rate: float, cfg: GradeConfig) -> str:
    """First tier whose cut point the pass rate reaches; 0 is 'unsolved'."""
    if pass_rate <= 0:
        return "unsolved"
    for name, cut in cfg.tiers.items():
        if pass_rate >= cut:
            return name
    return "unsolved"  # unreachable: the last cut is 0 (recipe rule)


def coefficient_of_variation(values: list[float]) -> float | None:
    """std/mean (population std) of per-teacher pass rates; None for one teacher or mean 0."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    return None if mean == 0 else statistics.pstdev(values) / mean


def grade_problem(traces: list[Row], cfg: GradeConfig) -> Row:
    """The per-problem columns for one problem's traces."""
    by_teacher: dict[str, list[bool]] = {}
    for row in traces:
        by_teacher.setdefault(row["teacher"], []).append(bool(row["verdict"]))
    correct = [r["n_output_tokens"] for r in traces if r["verdict"]]
    rates = {t: sum(v) / len(v) for t, v in sorted(by_teacher.items())}
    pass_rate = len(correct) / len(traces)
    cv = coefficient_of_variation(list(rates.values()))
    return {
        "n_samples": len(traces),
        "n_correct": len(correct),
        "pass_rate": pass_rate,
        "pass_rate_by_teacher": json.dumps({t: round(r, 6) for t, r in rates.items()}),
        "pass_rate_cv": None if cv is None else round(cv, 6),
        "shortest_correct_tokens": min(correct) if correct else None,
        "mean_correct_tokens": statistics.fmean(correct) if correct else None,
        "difficulty": tier_of(pass_rate, cfg),
    }


def group_by_problem(rows: list[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row["problem_id"], []).append(row)
    return groups


class GradeStage(Stage):
    name = "grade"
    input_stage = "verify"
    adds_columns = STAGE_COLUMNS["grade"]
    unit_in, unit_out = "traces", "traces"

    def __init__(self, recipe: Recipe, judge: ModelTask | None = None):
        self.cfg = recipe.grade
        self.judge = judge
        if self.judge is None and self.cfg.judge is not None:
            self.judge = ModelTask(
                self.cfg.judge, recipe.seed, required=("problem",), field="grade.judge.prompt_template"
            )

    def setup(self) -> None:
        if self.judge is not None:
            self.judge.setup()

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        groups = group_by_problem(rows)
        graded = {pid: grade_problem(traces, self.cfg) for pid, traces in groups.items()}
        judged = self._judge(groups) if self.judge is not None else {}
        out = []
        for row in rows:
            level, reply = judged.get(row["problem_id"], (None, None))
            out.append(
                {**row, **graded[row["problem_id"]], "difficulty_judged": level, "difficulty_judge_output": reply}
            )
        stats.update(f"problems_{g['difficulty']}" for g in graded.values())
        stats.update(f"traces_{graded[r['problem_id']]['difficulty']}" for r in rows)
        if judged:
            stats["judge_asked"] += len(judged)
            stats["judge_unparsed"] += sum(level is None for level, _ in judged.values())
        return out, []

    def _judge(self, groups: dict[str, list[Row]]) -> dict[str, tuple[int | None, str]]:
        """One judge question per problem (not per trace)."""
        ids = list(groups)
        replies = self.judge.ask([{"problem": groups[pid][0]["problem"]} for pid in ids])
        return {
            pid: (None, "prompt_too_long") if reply is None else (parse_level(reply), reply[:MAX_STORED_OUTPUT])
            for pid, reply in zip(ids, replies, strict=True)
        }
