"""verify: a verdict on every row (``verdict``, ``verdict_reason``, ``verify_ms`` ...).

Every row goes to its domain's checker from the ``verifiers`` registry (math-verify, choice
letters, code tests in the sandbox) with the same call a reward function would make:
``check(reference, completion, problem=...)``. Checks run in worker processes with a hard
per-row limit, so a pathological answer costs a ``timeout`` verdict, never the batch; the limit
counts the checker's CPU seconds (math, choice: the verdict does not depend on machine load),
for code it is a wall-clock backstop over sandboxes that enforce CPU limits per test.
An optional LLM judge gives a second opinion and ``verify.policy`` combines the two; a rubric
judge (``verify.judge.mode: rubric``) also decides rows that have no reference answer. Rows are
kept here (export decides what enters the dataset); only code problems whose tests fail their
own reference solution are rejected (``invalid_tests``, with ``--validate-tests``).
"""

from __future__ import annotations

import json
import os
from collections import Counter

from pipeline.recipe import Recipe
from pipeline.rows import STAGE_COLUMNS, Row, reject
from pipeline.stage import PartContext, Stage
from pipeline.stages.judge import Judge
from verifiers import get_checker, limit_clock
from verifiers.batch import check_all
from verifiers.pool import run_with_timeout
from verifiers.trace import join_think

# Rule failures where a second opinion can change the outcome: an answer exists but the rule
# did not accept it. A truncated trace or a code failure stays a failure.
JUDGEABLE_FAILURES = {"wrong_answer", "no_answer", "timeout", "error"}
# The column holding each domain's reference (the test spec for code, else the gold answer).
REFERENCE_COLUMN = {"math": "reference_answer", "choice": "reference_answer", "code": "test_spec"}


def _validate_code_tests(spec_json: str):
    from verifiers import code

    spec, report = code.validate_tests(json.loads(spec_json))
    return (None if spec is None else json.dumps(spec, ensure_ascii=False)), report


class VerifyStage(Stage):
    name = "verify"
    input_stage = "generate"  # the usual one; the registry sets the actual one
    adds_columns = STAGE_COLUMNS["verify"]
    unit_in, unit_out = "traces", "traces"

    def __init__(self, recipe: Recipe, judge: Judge | None = None):
        self.cfg = recipe.verify
        self.judge = judge
        if self.judge is None and self.cfg.judge is not None:
            self.judge = Judge(self.cfg.judge, recipe.seed)

    def setup(self) -> None:
        if self.judge is not None:
            self.judge.setup()

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        out, rejected = [], []
        invalid = self._validate_tests(rows, stats) if self.cfg.validate_tests else {}
        for row in rows:
            if row["problem_id"] in invalid:
                rejected.append(reject(row, "invalid_tests", invalid[row["problem_id"]]))
            else:
                out.append(dict(row))
        self._rule_verdicts(out)
        if self.judge is not None:
            self._judge_verdicts(out, stats)
        for row in out:
            row["verdict"] = self._combine(row)
            if row["verdict_rule"] is None:  # no reference: the judge's score decides (or nothing does)
                row["verdict_reason"] = "judge_accepted" if row["verdict"] else "no_reference"
            elif row["verdict"] != row["verdict_rule"]:
                row["verdict_reason"] = "judge_accepted" if row["verdict"] else "judge_rejected"
        stats.update(f"verdict_{r['verdict_reason']}" for r in out)
        return out, rejected

    def _rule_verdicts(self, rows: list[Row]) -> None:
        groups: dict[str, list[Row]] = {}
        for row in rows:
            row.update(verdict_judge=None, judge_output=None, judge_score=None)
            if row[REFERENCE_COLUMN[row["domain"]]] is None:  # kept at ingest for a rubric judge
                row.update(verdict_rule=None, verdict_reason="no_reference", verify_ms=0.0)
                if self.task is not None:
                    self.task.advance()
                continue
            groups.setdefault(row["domain"], []).append(row)
        for domain, group in groups.items():
            items = [
                (
                    row[REFERENCE_COLUMN[domain]],
                    join_think(row["reasoning"], row["answer_text"], row["think_closed"]),
                    {"problem": row["problem"]},
                )
                for row in group
            ]
            timeout_s = self.cfg.code_timeout_s if domain == "code" else self.cfg.timeout_s
            on_done = self.task.advance if self.task is not None else None
            verdicts = check_all(
                get_checker(domain),
                items,
                timeout_s=timeout_s,
                workers=self.cfg.workers,
                on_done=on_done,
                clock=limit_clock(domain),
            )
            for row, verdict in zip(group, verdicts, strict=True):
                row.update(verdict_rule=verdict.ok, verdict_reason=verdict.reason, verify_ms=verdict.detail["time_ms"])

    def _judge_verdicts(self, rows: list[Row], stats: Counter) -> None:
        ask_all = self.cfg.policy in ("both", "judge") or self.cfg.judge_all_rows
        asked = [
            r
            for r in rows
            if r["domain"] != "code"
            and r["think_closed"]
            and (
                ask_all
                or r["verdict_rule"] is None
                or (not r["verdict_rule"] and r["verdict_reason"] in JUDGEABLE_FAILURES)
            )
        ]
        for row, (judgement, score, reply) in zip(asked, self.judge.ask_rows(asked), strict=True):
            row.update(verdict_judge=judgement, judge_output=reply, judge_score=score)
            stats["judge_asked"] += 1
            if judgement is not None and row["verdict_rule"] is not None and judgement != row["verdict_rule"]:
                stats["judge_disagreed"] += 1

    def _combine(self, row: Row) -> bool:
        if row["verdict_rule"] is None:
            return self.cfg.policy != "rule" and row["verdict_judge"] is True
        if self.cfg.policy == "judge":
            return row["verdict_judge"] is True
        if self.cfg.policy == "judge_on_rule_failure":
            return row["verdict_rule"] or row["verdict_judge"] is True
        if self.cfg.policy == "both":
            return row["verdict_rule"] and row["verdict_judge"] is True
        return row["verdict_rule"]

    def _validate_tests(self, rows: list[Row], stats: Counter) -> dict[str, str]:
        """Validate each code problem's tests once (reference solutions in the sandbox); rewrite
        row specs to the tests the reference passes; return {problem_id: why invalid}."""
        specs = {r["problem_id"]: r["test_spec"] for r in rows if r["domain"] == "code"}
        outcomes = run_with_timeout(
            _validate_code_tests,
            [(spec,) for spec in specs.values()],
            timeout_s=self.cfg.code_timeout_s,
            workers=self.cfg.workers or os.cpu_count() or 1,
            clock="wall",  # the references run in sandboxes, under their own CPU limits
        )
        invalid, valid = {}, {}
        for pid, outcome in zip(specs, outcomes, strict=True):
            if outcome.status != "ok":
                invalid[pid] = f"test validation {outcome.status}: {outcome.value or ''}".strip()
                continue
            new_spec, report = outcome.value
            stats["tests_dropped"] += len(report.get("dropped", []))
            if new_spec is None:
                invalid[pid] = report.get("error") or f"reference solution fails {len(report['dropped'])} tests"
            else:
                valid[pid] = new_spec
        for row in rows:
            if row["problem_id"] in valid:
                row["test_spec"] = valid[row["problem_id"]]
        return invalid
