"""verify: a verdict on every row (``verdict``, ``verdict_reason``, ``verify_ms`` ...).

Rule checkers by domain: math (math-verify), choice (letters), code (tests in the sandbox);
each runs in worker processes with a hard per-row wall-clock limit, so a pathological answer
costs a ``timeout`` verdict, never the batch. An optional LLM judge gives a second opinion and
``verify.policy`` combines the two. Rows are kept here (export decides what enters the dataset);
only code problems whose tests fail their own reference solution are rejected
(``invalid_tests``, with ``--validate-tests``).
"""

from __future__ import annotations

import json
import os
from collections import Counter

from pipeline.judge import Judge
from pipeline.recipe import Recipe
from pipeline.rows import STAGE_COLUMNS
from pipeline.stage import PartContext, Row, Stage, reject
from verifiers import choice, math
from verifiers.batch import check_all
from verifiers.pool import run_with_timeout

# Rule failures where a second opinion can change the outcome: an answer exists but the rule
# did not accept it. A truncated trace or a code failure stays a failure.
JUDGEABLE_FAILURES = {"wrong_answer", "no_answer", "timeout", "error"}


def _check_code(spec_json: str, answer: str):
    from verifiers import code

    return code.check(json.loads(spec_json), answer)


def _validate_code_tests(spec_json: str):
    from verifiers import code

    spec, report = code.validate_tests(json.loads(spec_json))
    return (None if spec is None else json.dumps(spec, ensure_ascii=False)), report


class VerifyStage(Stage):
    name = "verify"
    input_stage = "generate"
    adds_columns = STAGE_COLUMNS["verify"]

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
            if row["verdict"] != row["verdict_rule"]:
                row["verdict_reason"] = "judge_accepted" if row["verdict"] else "judge_rejected"
        stats.update(f"verdict_{r['verdict_reason']}" for r in out)
        return out, rejected

    def _rule_verdicts(self, rows: list[Row]) -> None:
        groups: dict[str, list[Row]] = {}
        for row in rows:
            row.update(verdict_judge=None, judge_output=None)
            if not row["think_closed"]:
                row.update(verdict_rule=False, verdict_reason="truncated", verify_ms=0.0)
            else:
                groups.setdefault(row["domain"], []).append(row)
        checkers = {  # checker, the row columns it takes, its time limit
            "math": (math.check_answer, ("reference_answer", "answer_text", "problem"), self.cfg.timeout_s),
            "choice": (choice.check_answer, ("reference_answer", "answer_text"), self.cfg.timeout_s),
            "code": (_check_code, ("test_spec", "answer_text"), self.cfg.code_timeout_s),
        }
        for domain, group in groups.items():
            fn, columns, timeout_s = checkers[domain]
            verdicts = check_all(fn, [tuple(r[c] for c in columns) for r in group],
                                 timeout_s=timeout_s, workers=self.cfg.workers)
            for row, verdict in zip(group, verdicts):
                row.update(verdict_rule=verdict.ok, verdict_reason=verdict.reason,
                           verify_ms=verdict.detail.get("wall_ms", verdict.detail.get("time_ms", 0.0)))

    def _judge_verdicts(self, rows: list[Row], stats: Counter) -> None:
        ask_all = self.cfg.policy == "both" or self.cfg.judge_all_rows
        asked = [r for r in rows if r["domain"] != "code" and r["think_closed"]
                 and (ask_all or (not r["verdict_rule"] and r["verdict_reason"] in JUDGEABLE_FAILURES))]
        for row, (judgement, reply) in zip(asked, self.judge.ask(asked)):
            row.update(verdict_judge=judgement, judge_output=reply)
            stats["judge_asked"] += 1
            if judgement is not None and judgement != row["verdict_rule"]:
                stats["judge_disagreed"] += 1

    def _combine(self, row: Row) -> bool:
        if self.cfg.policy == "judge_on_rule_failure":
            return row["verdict_rule"] or row["verdict_judge"] is True
        if self.cfg.policy == "both":
            return row["verdict_rule"] and row["verdict_judge"] is True
        return row["verdict_rule"]

    def _validate_tests(self, rows: list[Row], stats: Counter) -> dict[str, str]:
        """Validate each code problem's tests once (reference solutions in the sandbox); rewrite
        row specs to the tests the reference passes; return {problem_id: why invalid}."""
        specs = {r["problem_id"]: r["test_spec"] for r in rows if r["domain"] == "code"}
        outcomes = run_with_timeout(_validate_code_tests, [(spec,) for spec in specs.values()],
                                    timeout_s=self.cfg.code_timeout_s, workers=self.cfg.workers or os.cpu_count() or 1)
        invalid, valid = {}, {}
        for pid, outcome in zip(specs, outcomes):
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
