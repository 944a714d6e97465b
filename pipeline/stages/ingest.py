"""ingest: problems (or traces someone already has) from files or Hub datasets -> rows of the common schema.

Records are grouped by problem (in order of first appearance) and split into parts at problem
boundaries: a part is closed once it has ``ingest.rows_per_part`` rows, so all records of a
problem, e.g. every trace of a ``kind: traces`` source, are in one part. Per-problem stages
(grade, shorten) rely on that. The part sizes are written to ``ingest/_plan.json`` so every
later run and every shard agrees on the split without re-reading.

``kind: traces`` records become rows with generate's columns too (``pipeline.traces``); tokens
of their prompt and response are counted with the recipe's ``tokenizer``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

from pipeline.recipe import Recipe, SourceConfig
from pipeline.rows import STAGE_COLUMNS, Row, reject
from pipeline.sources import RawRecord, check_mapped_columns, file_columns, read_source, source_label
from pipeline.sources import field_text as _text
from pipeline.stage import PartContext, Stage
from pipeline.store import StageStore, write_json_atomic
from pipeline.tokens import load_tokenizer
from pipeline.traces import count_trace_tokens, ingest_params, number_traces, read_response, trace_columns, trace_fields
from verifiers.choice import LETTERS
from verifiers.code.datasets import DATASET_KEYS, native_spec

# Fields of a code problem that verifiers.code reads (tests, reference solutions, how outputs are
# judged: ``verifiers.code.checker``). APPS/TACO/LiveCodeBench columns (``DATASET_KEYS``) are
# rewritten into these by ``native_spec``.
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
    "validation",
    "validator_flags",
    "verification",
    "checker",
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


def _fields(src: SourceConfig, number: int, records: list[RawRecord]) -> dict[str, str]:
    """Our field name -> the source's column name."""
    check_mapped_columns(src, number, records)
    if src.kind == "traces":
        return trace_fields(src, number, file_columns(records))
    return {"problem": "problem", "reference_answer": "answer", "problem_id": "id", **src.columns}


def _problem_id(raw: dict, fields: dict[str, str], source: str) -> str | None:
    """The source's id, else content-addressed: a hash of the normalized problem text and the
    source's name (file name or Hub id), so a rerun over a grown input finds the same ids."""
    pid = _text(raw.get(fields["problem_id"])) if "problem_id" in fields else None
    if pid is None:
        problem = _text(raw.get(fields["problem"]))
        pid = content_id(problem, source) if problem else None
    return pid


def content_id(problem: str, source: str) -> str:
    """Stable id of a problem: whitespace runs collapsed, Unicode NFC, then hashed with its source."""
    normalized = unicodedata.normalize("NFC", " ".join(problem.split()))
    return hashlib.sha1(f"{source}\n{normalized}".encode()).hexdigest()[:16]


def record_key(rec: dict) -> str:
    """What makes a record the same record in a later run: its trace key, its problem id, or
    (unreadable, no id) its position."""
    pid = rec.get("_problem_id")
    if pid is None:
        return f"@{rec['_source']}:{rec['_index']}"
    if "_teacher" in rec:
        return json.dumps([pid, rec["_teacher"], rec.get("_sample_idx")])
    return pid


def plan_parts(problem_ids: list[str | None], rows_per_part: int) -> tuple[list[int], list[int]]:
    """(record order with each problem's records together, in order of first appearance; part
    sizes, each part closed at a problem boundary once it has ``rows_per_part`` rows).

    >>> plan_parts(["a", "b", "a", None, "c"], 2)
    ([0, 2, 1, 3, 4], [2, 2, 1])
    """
    groups: dict[object, list[int]] = {}
    for i, pid in enumerate(problem_ids):
        groups.setdefault(pid if pid is not None else ("unreadable", i), []).append(i)
    order, sizes, size = [], [], 0
    for members in groups.values():
        order += members
        size += len(members)
        if size >= rows_per_part:
            sizes.append(size)
            size = 0
    if size or not sizes:
        sizes.append(size)
    return order, sizes


def _read_keys(store: StageStore, generation: int) -> list[str]:
    return json.loads((store.dir / f"_gen-{generation}.json").read_text())


class IngestStage(Stage):
    name = "ingest"
    adds_columns = STAGE_COLUMNS["ingest"]
    unit_in, unit_out = "records", "problems"

    def __init__(self, recipe: Recipe):
        self.cfg = recipe.ingest
        self.tokenizer = recipe.tokenizer
        self.from_traces = recipe.from_traces
        self.reference_free = recipe.reference_free
        if self.from_traces:  # trace rows carry generate's columns: the run starts at verify
            self.adds_columns = STAGE_COLUMNS["ingest"] + STAGE_COLUMNS["generate"]
            self.unit_out = "traces"
        self._records: list[tuple[int, dict]] | None = None  # (source number, raw record), source order
        self._by_generation: dict[int, list[tuple[int, dict]]] = {}
        self._fields: list[dict[str, str]] = []  # per source: our field -> its column

    def _load(self) -> list[tuple[int, dict]]:
        """All raw records of the sources, in source order, with problem ids and duplicate marks.
        Repeated problem ids (traces: repeated (problem_id, teacher, sample_idx)) are marked here,
        over all records, so every shard agrees on which occurrence is the first (kept) one."""
        if self._records is None:
            loaded = []
            for no, src in enumerate(self.cfg.sources):
                records = read_source(src)
                self._fields.append(_fields(src, no, records))  # bad mappings fail here, before any part
                loaded += [(no, rec) for rec in records]
            for no, rec in loaded:
                rec["_problem_id"] = _problem_id(rec, self._fields[no], source_label(self.cfg.sources[no]))
            self._mark_duplicates(loaded)
            self._records = loaded
        return self._records

    def _mark_duplicates(self, loaded: list[tuple[int, dict]]) -> None:
        if self.from_traces:  # many traces per problem are the point; a trace repeated is not
            number_traces([(rec, self._fields[no], source_label(self.cfg.sources[no])) for no, rec in loaded])
            return
        first_seen: dict[str, str] = {}
        for _, rec in loaded:
            pid = rec["_problem_id"]
            if pid is None:
                continue
            if pid in first_seen:
                rec["_duplicate_of"] = first_seen[pid]
            else:
                first_seen[pid] = f"{rec['_source']}:{rec['_index']}"

    def input_parts(self, run_dir: Path) -> list[int]:
        """Every part of the plan. The first run plans all records; a later run over an input
        that grew plans the records no earlier run had (by ``record_key``) as new parts after
        the old ones: a generation. Each generation's record keys are kept in
        ``ingest/_gen-<g>.json`` in part order, so any later read, by any shard, finds the same
        records in the same parts."""
        store = StageStore(run_dir, self.name)
        store.dir.mkdir(parents=True, exist_ok=True)
        with open(store.dir / ".plan.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # shards starting together plan once
            plan = store.read_plan()
            if plan is None or "generations" in plan:
                plan = self._plan_new_records(store, plan)
        return list(range(plan["num_parts"]))

    def _plan_new_records(self, store: StageStore, plan: dict | None) -> dict:
        known = {k for g in range(len(plan["generations"])) for k in _read_keys(store, g)} if plan else set()
        new = [(no, rec) for no, rec in self._load() if record_key(rec) not in known]
        if plan is not None and not new:
            return plan
        order, part_rows = plan_parts([rec["_problem_id"] for _, rec in new], self.cfg.rows_per_part)
        generation = len(plan["generations"]) if plan else 0
        write_json_atomic(store.dir / f"_gen-{generation}.json", [record_key(new[i][1]) for i in order])
        plan = plan or {"num_parts": 0, "num_records": 0, "rows_per_part": self.cfg.rows_per_part, "part_rows": []}
        plan = {
            **plan,
            "num_parts": plan["num_parts"] + len(part_rows),
            "num_records": plan["num_records"] + len(new),
            "part_rows": plan["part_rows"] + part_rows,  # parts end at problem boundaries: sizes vary
            "generations": [*plan.get("generations", []), {"first_part": plan["num_parts"], "records": len(new)}],
        }
        store.write_plan(plan)
        return plan

    def total_parts(self, run_dir: Path) -> int | None:
        plan = StageStore(run_dir, self.name).read_plan()
        return plan["num_parts"] if plan else None

    def input_columns(self, run_dir: Path, index: int) -> list[str]:
        return []

    def input_rows(self, run_dir: Path, index: int) -> int | None:
        return StageStore(run_dir, self.name).read_plan()["part_rows"][index]

    def read_input(self, run_dir: Path, index: int) -> tuple[list[Row], list[str]]:
        store = StageStore(run_dir, self.name)
        plan = store.read_plan()
        generations = plan.get("generations") or [{"first_part": 0}]  # a plan from before generations: one
        generation = max(g for g, gen in enumerate(generations) if gen["first_part"] <= index)
        records = self._generation(store, generation, legacy="generations" not in plan)
        first = generations[generation]["first_part"]
        start = sum(plan["part_rows"][first:index])
        return [dict(rec, _source_no=no) for no, rec in records[start : start + plan["part_rows"][index]]], []

    def _generation(self, store: StageStore, generation: int, legacy: bool = False) -> list[tuple[int, dict]]:
        """The records of one generation in part order (keys matched in load order, so a record
        repeated in the input keeps its place)."""
        if legacy:  # one generation, planned over the records in load order, grouped by problem
            loaded = self._load()
            return [loaded[i] for i in plan_parts([rec["_problem_id"] for _, rec in loaded], 1)[0]]
        if generation not in self._by_generation:
            pending: dict[str, list[tuple[int, dict]]] = {}
            for no, rec in self._load():
                pending.setdefault(record_key(rec), []).append((no, rec))
            self._by_generation[generation] = [pending[key].pop(0) for key in _read_keys(store, generation)]
        return self._by_generation[generation]

    def setup(self) -> None:
        if self.from_traces:  # a tokenizer that cannot load fails the run before any part is written
            load_tokenizer(self.tokenizer)

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        kept, rejected, outputs = [], [], []
        for raw in rows:
            row, reason = self._to_row(raw)
            output = row.pop("_output", None)
            if reason:
                rejected.append(reject(row, *reason.split(": ", 1)))
            else:
                kept.append(row)
                outputs.append(output)
        if self.from_traces and kept:
            count_trace_tokens(kept, outputs, self.tokenizer, stats)
        return kept, rejected

    def _to_row(self, raw: dict) -> tuple[Row, str | None]:
        src = self.cfg.sources[raw["_source_no"]]
        where = f"{raw['_source']}:{raw['_index']}"
        fields = self._fields[raw["_source_no"]]
        problem = _text(raw.get(fields["problem"]))
        row: Row = {
            "problem_id": raw["_problem_id"],
            "domain": src.domain,
            "problem": problem if problem is not None else raw.get("_raw"),
            "reference_answer": _text(raw.get(fields["reference_answer"])),
            "source": raw["_source"],
            "source_index": raw["_index"],
        }
        if "_error" in raw:
            return row, raw["_error"]
        wrong = _wrong_type(raw, fields, where)
        if wrong:
            return row, wrong
        if src.domain == "choice" and problem is not None:
            row["problem"], row["reference_answer"] = _with_options(raw, problem, row["reference_answer"])
        bad_response = self._add_trace(raw, row, fields, where) if src.kind == "traces" else None
        if src.domain == "code":
            keys = TEST_SPEC_KEYS + DATASET_KEYS
            spec = native_spec({k: raw[k] for k in keys if raw.get(k) not in (None, "", [])})
            if not any(k in spec for k in ("tests", "test", "test_list")):
                return row, f"missing_tests: {where}: no 'tests', 'test' or 'test_list' field"
            row["test_spec"] = json.dumps(spec, ensure_ascii=False)
        if problem is None:
            return row, f"missing_problem: {where}: field {fields['problem']!r} is missing or empty"
        # A rubric judge (verify.judge.mode: rubric) grades answers without a reference.
        if row["reference_answer"] is None and src.domain in ("math", "choice") and not self.reference_free:
            return row, f"missing_reference_answer: {where}: field {fields['reference_answer']!r} is missing or empty"
        if bad_response:
            return row, bad_response
        if "_duplicate_of" in raw and src.kind == "traces":
            key, first = (row["problem_id"], row["teacher"], row["sample_idx"]), raw["_duplicate_of"]
            return row, f"duplicate_trace: {where}: (problem_id, teacher, sample_idx) {key} already at {first}"
        if "_duplicate_of" in raw:
            return row, f"duplicate_problem_id: {where}: {row['problem_id']!r} already at {raw['_duplicate_of']}"
        return row, None

    def _add_trace(self, raw: dict, row: Row, fields: dict[str, str], where: str) -> str | None:
        """Put a trace record's response into generate's columns of ``row``; return why it is bad, if it is."""
        response, bad = read_response(raw, fields, where)
        params = ingest_params(source_label(self.cfg.sources[raw["_source_no"]]), self.tokenizer)
        row.update(trace_columns(raw, row["problem"], response, params), _output=response and response.output)
        if bad is None and row["sample_idx"] is None and "sample_idx" in fields:
            bad = f"invalid_sample_idx: {where}: field {fields['sample_idx']!r} is not a non-negative integer"
        return bad


def _wrong_type(raw: dict, fields: dict[str, str], where: str) -> str | None:
    """A text field holding a list, a mapping or a boolean (numbers are fine: answers often are)."""
    for field in ("problem", "reference_answer"):
        value = raw.get(fields.get(field, field))
        if isinstance(value, (list, tuple, dict, bool)):
            kind = "a boolean" if isinstance(value, bool) else f"a {type(value).__name__}"
            return f"wrong_type: {where}: field {fields.get(field, field)!r} is {kind}, expected text"
    return None
