"""ingest: problems from files or Hub datasets -> rows of the common schema.

Records are split into parts of ``ingest.rows_per_part`` in source order; the split is written
to ``ingest/_plan.json`` so every later run and every shard agrees on it without re-reading.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from pathlib import Path

from pipeline.recipe import Recipe, SourceConfig
from pipeline.rows import STAGE_COLUMNS, Row, reject
from pipeline.sources import read_source
from pipeline.stage import PartContext, Stage
from pipeline.store import StageStore
from verifiers.choice import LETTERS


def _text(value: object) -> str | None:
    """A field as stripped text; missing, NaN (pandas' missing) and blank become None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value).strip() or None


# Fields of a code problem that verifiers.code reads (tests and reference solutions).
TEST_SPEC_KEYS = (
    "tests",
    "entry_point",
    "test",
    "test_list",
    "test_setup_code",
    "test_imports",
    "solutions",
    "canonical_solution",
    "code",
    "prompt",
    "time_limit_s",
)


def _with_options(raw: dict, problem: str, answer: str | None) -> tuple[str, str | None]:
    """MMLU/GPQA-style rows keep options in a list and the answer as an index: render both."""
    options = raw.get("choices", raw.get("options"))
    if isinstance(options, dict):  # e.g. {"label": [...], "text": [...]}
        options = options.get("text")
    if isinstance(options, list) and options and not re.search(r"(?m)^\(?A[\).:]", problem):
        problem += "\n\n" + "\n".join(f"{LETTERS[i]}. {opt}" for i, opt in enumerate(options[: len(LETTERS)]))
    if answer is not None and answer.isdigit() and isinstance(options, list) and int(answer) < len(options):
        answer = LETTERS[int(answer)]
    return problem, answer


def _fields(src: SourceConfig) -> dict[str, str]:
    """Our field name -> the source's column name."""
    return {"problem": "problem", "reference_answer": "answer", "problem_id": "id", **src.columns}


def _problem_id(raw: dict, src: SourceConfig) -> str | None:
    """The source's id, else a hash of the problem text (stable across reruns)."""
    fields = _fields(src)
    pid = _text(raw.get(fields["problem_id"]))
    if pid is None:
        problem = _text(raw.get(fields["problem"]))
        pid = hashlib.sha1(problem.encode()).hexdigest()[:16] if problem else None
    return pid


class IngestStage(Stage):
    name = "ingest"
    adds_columns = STAGE_COLUMNS["ingest"]
    unit_in, unit_out = "records", "problems"

    def __init__(self, recipe: Recipe):
        self.cfg = recipe.ingest
        self._records: list[tuple[int, dict]] | None = None  # (source number, raw record)

    def _load(self) -> list[tuple[int, dict]]:
        """All raw records; repeated problem ids are marked here, over all parts, so every
        shard agrees on which occurrence is the first (kept) one."""
        if self._records is None:
            self._records = [(i, rec) for i, src in enumerate(self.cfg.sources) for rec in read_source(src)]
            first_seen: dict[str, str] = {}
            for no, rec in self._records:
                pid = _problem_id(rec, self.cfg.sources[no])
                if pid is None:
                    continue
                if pid in first_seen:
                    rec["_duplicate_of"] = first_seen[pid]
                else:
                    first_seen[pid] = f"{rec['_source']}:{rec['_index']}"
        return self._records

    def input_parts(self, run_dir: Path) -> list[int]:
        store = StageStore(run_dir, self.name)
        plan = store.read_plan()
        if plan is None:
            total = len(self._load())
            plan = {
                "num_parts": max(1, -(-total // self.cfg.rows_per_part)),
                "num_records": total,
                "rows_per_part": self.cfg.rows_per_part,
            }
            store.write_plan(plan)
        return list(range(plan["num_parts"]))

    def total_parts(self, run_dir: Path) -> int | None:
        plan = StageStore(run_dir, self.name).read_plan()
        return plan["num_parts"] if plan else None

    def input_columns(self, run_dir: Path, index: int) -> list[str]:
        return []

    def input_rows(self, run_dir: Path, index: int) -> int | None:
        plan = StageStore(run_dir, self.name).read_plan()
        size = plan["rows_per_part"]
        return max(0, min(size, plan["num_records"] - index * size))

    def read_input(self, run_dir: Path, index: int) -> tuple[list[Row], list[str]]:
        size = self.cfg.rows_per_part
        return [dict(rec, _source_no=no) for no, rec in self._load()[index * size : (index + 1) * size]], []

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        kept, rejected = [], []
        for raw in rows:
            row, reason = self._to_row(raw)
            if reason:
                rejected.append(reject(row, *reason.split(": ", 1)))
            else:
                kept.append(row)
        return kept, rejected

    def _to_row(self, raw: dict) -> tuple[Row, str | None]:
        src = self.cfg.sources[raw["_source_no"]]
        where = f"{raw['_source']}:{raw['_index']}"
        fields = _fields(src)
        problem = _text(raw.get(fields["problem"]))
        row: Row = {
            "problem_id": _problem_id(raw, src),
            "domain": src.domain,
            "problem": problem if problem is not None else raw.get("_raw"),
            "reference_answer": _text(raw.get(fields["reference_answer"])),
            "source": raw["_source"],
            "source_index": raw["_index"],
        }
        if "_error" in raw:
            return row, raw["_error"]
        if src.domain == "choice" and problem is not None:
            row["problem"], row["reference_answer"] = _with_options(raw, problem, row["reference_answer"])
        if src.domain == "code":
            spec = {k: raw[k] for k in TEST_SPEC_KEYS if raw.get(k) not in (None, "", [])}
            if not any(k in spec for k in ("tests", "test", "test_list")):
                return row, f"missing_tests: {where}: no 'tests', 'test' or 'test_list' field"
            row["test_spec"] = json.dumps(spec, ensure_ascii=False)
        if problem is None:
            return row, f"missing_problem: {where}: field {fields['problem']!r} is missing or empty"
        if row["reference_answer"] is None and src.domain in ("math", "choice"):
            return row, f"missing_reference_answer: {where}: field {fields['reference_answer']!r} is missing or empty"
        if "_duplicate_of" in raw:
            return row, f"duplicate_problem_id: {where}: {row['problem_id']!r} already at {raw['_duplicate_of']}"
        return row, None
