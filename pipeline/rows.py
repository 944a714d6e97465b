"""THE row schema: every stage reads and writes these columns.

A stage adds columns; it never renames or drops one. Rows a stage rejects keep every column
they had and gain ``drop_reason``. Each column below carries one line saying what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

Row = dict[str, Any]  # one row of the table: column name -> value


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str


_COLUMNS: list[Column] = [
    # -- ingest ------------------------------------------------------------------------------
    Column("problem_id", pa.string(), "Stable id of the problem, unique within a run (source id or content hash)."),
    Column("domain", pa.string(), "Kind of problem: 'math', 'code' or 'choice'."),
    Column("problem", pa.string(), "Problem statement exactly as given to the teacher (before templating)."),
    Column("reference_answer", pa.string(), "Gold final answer (math: LaTeX/plain; choice: letter); null for code."),
    Column("source", pa.string(), "Where the problem came from: file path or Hub dataset name, plus split."),
    Column(
        "source_index",
        pa.int64(),
        "Position of the record in its source, 1-based: JSONL line, Parquet row, list element.",
    ),
    Column(
        "test_spec",
        pa.string(),
        "Code only: JSON of the tests (stdin/stdout 'tests', or 'entry_point'+'test', "
        "or MBPP 'test_list') and reference solutions, as verifiers.code expects; null otherwise.",
    ),
    # -- generate ----------------------------------------------------------------------------
    Column("sample_idx", pa.int32(), "Which of the n samples for (problem_id, teacher) this trace is, 0-based."),
    Column("teacher", pa.string(), "Teacher name as written in the recipe (e.g. 'embedded:smollm2-135m')."),
    Column("prompt", pa.string(), "Rendered user message sent to the teacher (prompt template applied)."),
    Column("reasoning", pa.string(), "Text inside the think block (everything if it never closed), without tags."),
    Column("answer_text", pa.string(), "Text after the think block: the teacher's final answer; '' if truncated."),
    Column("finish_reason", pa.string(), "Why generation stopped, from vLLM: 'stop' or 'length'."),
    Column("think_closed", pa.bool_(), "True when the think block was closed, i.e. an answer part exists."),
    Column("n_prompt_tokens", pa.int32(), "Prompt length in tokens after the chat template."),
    Column("n_output_tokens", pa.int32(), "Generated tokens for this sample."),
    Column("teacher_model", pa.string(), "What the engine loaded: Hub id or local folder of the teacher."),
    Column("teacher_revision", pa.string(), "Teacher weights fingerprint: Hub commit, or a hash of the local files."),
    Column(
        "generation_params",
        pa.string(),
        "JSON: sampling params, n, seed, prefill, prompt template hash, engine version.",
    ),
    # -- verify ------------------------------------------------------------------------------
    Column("verdict", pa.bool_(), "True when the answer was verified correct against the reference."),
    Column(
        "verdict_reason",
        pa.string(),
        "Why: 'correct', 'wrong_answer', 'no_answer', 'truncated', 'timeout', 'error', 'no_reference' ...",
    ),
    Column("verify_ms", pa.float64(), "Wall-clock milliseconds the verifier spent on this row."),
    Column(
        "verdict_rule",
        pa.bool_(),
        "Verdict of the rule-based checker (math-verify, letter match, tests); null for a row without a reference.",
    ),
    Column("verdict_judge", pa.bool_(), "Verdict of the LLM judge; null where the judge was not asked."),
    Column("judge_output", pa.string(), "The judge's reply (first 2,000 characters), for audit; null if not asked."),
    Column("judge_score", pa.float64(), "Rubric judge (no reference needed): the reply's N/10; null otherwise."),
    # -- grade (per problem, repeated on each of its traces) ----------------------------------
    Column("n_samples", pa.int32(), "Grade: traces of this problem in the run (all teachers)."),
    Column("n_correct", pa.int32(), "Grade: verified traces of this problem."),
    Column("pass_rate", pa.float64(), "Grade: n_correct / n_samples."),
    Column("pass_rate_by_teacher", pa.string(), "Grade: JSON {teacher: pass rate} over this problem's traces."),
    Column(
        "pass_rate_cv",
        pa.float64(),
        "Grade: coefficient of variation (std/mean) of the per-teacher pass rates (DeepDistill); "
        "null with one teacher or a mean of 0.",
    ),
    Column("shortest_correct_tokens", pa.int32(), "Grade: n_output_tokens of the problem's shortest verified trace."),
    Column("mean_correct_tokens", pa.float64(), "Grade: mean n_output_tokens of the problem's verified traces."),
    Column("difficulty", pa.string(), "Grade: tier from grade.tiers by pass rate ('easy' ... 'unsolved')."),
    Column(
        "difficulty_judged", pa.int32(), "Grade: level 1-10 a judge model gave the problem; null if not asked/unparsed."
    ),
    Column("difficulty_judge_output", pa.string(), "Grade: the difficulty judge's reply (first 2,000 characters)."),
    # -- shorten -----------------------------------------------------------------------------
    Column(
        "shorten_strategy",
        pa.string(),
        "Shorten: strategy that applied to this trace (shorten.strategy or by_tier); shorten_status says what it did.",
    ),
    Column(
        "shorten_status",
        pa.string(),
        "Shorten: outcome: 'shortened', 'kept: <why>' (not applicable, no earlier answer, "
        "re-verification failed: <reason>, ...).",
    ),
    Column("n_output_tokens_before", pa.int32(), "Shorten: n_output_tokens of the original trace."),
    Column("length_condition", pa.string(), "Shorten 'paired': 'long' (original) or 'short'; null otherwise (C3oT)."),
    # -- dedup / decontaminate (rejected rows: the evidence) ---------------------------------
    Column(
        "duplicate_of", pa.string(), "Dedup: the kept row this one duplicates ('problem_id' or 'problem_id#sample')."
    ),
    Column("contamination_benchmark", pa.string(), "Decontaminate: benchmark the problem was found in (e.g. math500)."),
    Column("contamination_item", pa.string(), "Decontaminate: id of the benchmark item it matched."),
    Column("contamination_method", pa.string(), "Decontaminate: method that fired: exact, ngram or embedding."),
    Column("contamination_match", pa.string(), "Decontaminate: the matching text (n-gram, stripped form, or score)."),
    # -- any stage ---------------------------------------------------------------------------
    Column("drop_reason", pa.string(), "Rejected rows only: why the stage rejected the row ('reason: detail')."),
]

COLUMNS: dict[str, Column] = {c.name: c for c in _COLUMNS}

# Columns every stage's output must carry once that stage has run.
STAGE_COLUMNS: dict[str, list[str]] = {
    "ingest": ["problem_id", "domain", "problem", "reference_answer", "source", "source_index", "test_spec"],
    "generate": [
        "sample_idx",
        "teacher",
        "prompt",
        "reasoning",
        "answer_text",
        "finish_reason",
        "think_closed",
        "n_prompt_tokens",
        "n_output_tokens",
        "teacher_model",
        "teacher_revision",
        "generation_params",
    ],
    "verify": [
        "verdict",
        "verdict_reason",
        "verify_ms",
        "verdict_rule",
        "verdict_judge",
        "judge_output",
        "judge_score",
    ],
    "grade": [
        "n_samples",
        "n_correct",
        "pass_rate",
        "pass_rate_by_teacher",
        "pass_rate_cv",
        "shortest_correct_tokens",
        "mean_correct_tokens",
        "difficulty",
        "difficulty_judged",
        "difficulty_judge_output",
    ],
    "shorten": ["shorten_strategy", "shorten_status", "n_output_tokens_before", "length_condition"],
}

DOMAINS = ("math", "code", "choice")


def schema_for(names: list[str]) -> pa.Schema:
    """Arrow schema for the given columns; unknown names (extra metadata) are strings."""
    return pa.schema([pa.field(n, COLUMNS[n].type if n in COLUMNS else pa.string()) for n in names])


def to_table(rows: list[dict], columns: list[str] | None = None) -> pa.Table:
    """Arrow table typed by the schema. Column order: ``columns`` when given (keys not listed
    there follow), else schema order with unknown keys last."""
    present: dict[str, None] = {}
    for row in rows:
        present.update(dict.fromkeys(row))
    if columns is not None:
        ordered = list(dict.fromkeys(columns)) + [k for k in present if k not in columns]
    else:
        ordered = [c.name for c in _COLUMNS if c.name in present] + [k for k in present if k not in COLUMNS]
    return pa.Table.from_pylist([{n: r.get(n) for n in ordered} for r in rows], schema=schema_for(ordered))


def reject(row: Row, reason: str, detail: str = "") -> Row:
    """A copy of ``row`` marked with ``drop_reason`` ('reason' or 'reason: detail')."""
    return {**row, "drop_reason": f"{reason}: {detail}" if detail else reason}


def reason_key(drop_reason: str) -> str:
    """The reason word of a ``drop_reason`` ('prompt_too_long: 3000 > 2048' -> 'prompt_too_long')."""
    return drop_reason.split(":", 1)[0]
