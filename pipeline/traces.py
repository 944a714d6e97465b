"""Rows of ``kind: traces`` sources: a response someone already has, put into generate's columns,
so the run starts at verify and every later stage sees the rows a teacher run would give it.

Where the response is (``columns:``, else the first of these defaults the file has):

- ``response`` / ``completion``: the model output with a ``<think>…</think>`` or
  ``<|begin_of_thought|>…<|end_of_thought|>`` block, split as generate splits it;
- ``messages`` / ``conversations``: a chat (role/content, or ShareGPT's from/value): its last
  assistant turn is the response, the user turn before it the prompt;
- ``reasoning`` + ``answer_text`` (mapped only): the two parts, already split.

A think block that never closed is a truncated trace: kept with ``think_closed=False`` and
``finish_reason='length'``, as generate keeps one.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from pipeline.errors import UserError
from pipeline.recipe import SourceConfig
from pipeline.rows import Row
from pipeline.sources import RawRecord, field_text, source_name
from pipeline.tokens import count_tokens
from verifiers.trace import THINK_CLOSE, THINK_OPEN, THOUGHT_CLOSE, THOUGHT_OPEN, SplitTrace, join_think, split_think

RESPONSE_DEFAULTS = ("response", "completion", "messages", "conversations")
CHAT_DEFAULTS = ("messages", "conversations")
USER_ROLES = ("user", "human")
ASSISTANT_ROLES = ("assistant", "gpt")
_THINK_TAGS = (THINK_OPEN, THINK_CLOSE, THOUGHT_OPEN, THOUGHT_CLOSE)


def trace_fields(src: SourceConfig, number: int, columns: list[str]) -> dict[str, str]:
    """Our field -> the file's column for a traces source: the recipe's mapping over the defaults.

    ``problem_id`` has no default: trace files carry one id per trace, not per problem, so a
    problem is known by the hash of its text unless ``columns.problem_id`` names a problem id.
    """
    fields = {"problem": "problem", "reference_answer": "answer", "teacher": "teacher", **src.columns}
    if not {"response", "reasoning", "messages"} & set(fields):
        found = next((c for c in RESPONSE_DEFAULTS if c in columns), None)
        if found is None and columns:  # an empty file has no columns to complain about
            raise UserError(
                f"{source_name(src)}: ingest.sources[{number}]: a 'kind: traces' source needs a response column; "
                f"none of {', '.join(RESPONSE_DEFAULTS)} is in the file (columns: {', '.join(columns)}); "
                "map yours in columns: response, messages, or reasoning + answer_text"
            )
        fields["messages" if found in CHAT_DEFAULTS else "response"] = found or "response"
    return fields


def _sample_number(value: object) -> int | None:
    """A sample index from the file: a non-negative integer (also as text or a whole float), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and value >= 0 else None


def number_traces(items: list[tuple[RawRecord, dict[str, str], str]]) -> None:
    """Mark trace records, given in source order over all sources (so every shard agrees):
    ``_teacher`` (the column, else the source's label), ``_sample_idx`` (the mapped column, else
    the order of appearance within (problem_id, teacher), 0-based, counting every record of the
    pair so numbers stay tied to file positions) and ``_duplicate_of`` on a repeated
    (problem_id, teacher, sample_idx): 'file:line' of its first occurrence."""
    seen: Counter = Counter()
    first: dict[tuple, str] = {}
    for raw, fields, label in items:
        pid = raw.get("_problem_id")
        raw["_teacher"] = field_text(raw.get(fields["teacher"])) or label
        if "sample_idx" in fields:
            raw["_sample_idx"] = _sample_number(raw.get(fields["sample_idx"]))
        elif pid is not None:
            raw["_sample_idx"] = seen[pid, raw["_teacher"]]
            seen[pid, raw["_teacher"]] += 1
        key = (pid, raw["_teacher"], raw.get("_sample_idx"))
        if pid is None or key[2] is None:
            continue
        if key in first:
            raw["_duplicate_of"] = first[key]
        else:
            first[key] = f"{raw['_source']}:{raw['_index']}"


@dataclass(frozen=True)
class Response:
    prompt: str | None  # the chat's user turn; None: the problem text is the prompt
    output: str  # the model output as written: what n_output_tokens counts
    split: SplitTrace


def _from_text(value: object, prompt: str | None, what: str, where: str) -> tuple[Response | None, str | None]:
    """``what`` names the text in messages: "field 'response'", "the last assistant turn of field 'messages'"."""
    text = field_text(value)
    if text is None:
        return None, f"missing_response: {where}: {what} is missing or empty"
    if not isinstance(value, str):
        return None, f"invalid_response: {where}: {what} is {type(value).__name__}, not text"
    blocks = max(text.count(tag) for tag in _THINK_TAGS)
    if blocks > 1:  # which one is the reasoning? a split would silently keep the first
        return None, f"two_think_blocks: {where}: {what} has {blocks} think blocks"
    return Response(prompt, text, split_think(text)), None


def _turns(value: object) -> list[tuple[str, object]] | None:
    """(role, content) per turn of a role/content or from/value chat; None when it is not one."""
    if not isinstance(value, list) or not value:
        return None
    turns = []
    for turn in value:
        keys = next(
            (k for k in (("role", "content"), ("from", "value")) if isinstance(turn, dict) and turn.get(k[0])), None
        )
        if keys is None:
            return None
        turns.append((str(turn[keys[0]]).strip().lower(), turn.get(keys[1])))
    return turns


def _from_chat(value: object, column: str, where: str) -> tuple[Response | None, str | None]:
    turns = _turns(value)
    if turns is None:
        return None, f"invalid_messages: {where}: field {column!r} is not a list of role/content or from/value turns"
    last = max((i for i, (role, _) in enumerate(turns) if role in ASSISTANT_ROLES), default=None)
    if last is None:
        roles = ", ".join(dict.fromkeys(role for role, _ in turns))
        return None, f"invalid_messages: {where}: field {column!r} has no assistant turn (roles: {roles})"
    prompt = next((field_text(text) for role, text in reversed(turns[:last]) if role in USER_ROLES), None)
    return _from_text(turns[last][1], prompt, f"the last assistant turn of field {column!r}", where)


def read_response(raw: RawRecord, fields: dict[str, str], where: str) -> tuple[Response | None, str | None]:
    """The record's response, or why the row is rejected ('reason: detail')."""
    if "messages" in fields:
        return _from_chat(raw.get(fields["messages"]), fields["messages"], where)
    if "reasoning" not in fields:
        return _from_text(raw.get(fields["response"]), None, f"field {fields['response']!r}", where)
    reasoning, answer = field_text(raw.get(fields["reasoning"])), field_text(raw.get(fields["answer_text"]))
    if reasoning is None and answer is None:
        detail = f"fields {fields['reasoning']!r} and {fields['answer_text']!r} are missing or empty"
        return None, f"missing_response: {where}: {detail}"
    split = SplitTrace(reasoning or "", answer or "", think_closed=answer is not None)  # no answer: truncated
    return Response(None, join_think(split.reasoning, split.answer, split.think_closed), split), None


def trace_columns(raw: RawRecord, problem: str | None, response: Response | None, params: str) -> Row:
    """Generate's columns for one trace record; token counts come per part (``count_trace_tokens``)."""
    split = response.split if response else None
    closed = split.think_closed if split else None
    return {
        "sample_idx": raw.get("_sample_idx"),
        "teacher": raw.get("_teacher"),
        "prompt": (response.prompt if response else None) or problem,
        "reasoning": split.reasoning if split else None,
        "answer_text": split.answer if split else None,
        "finish_reason": None if closed is None else "stop" if closed else "length",
        "think_closed": closed,
        "n_prompt_tokens": None,
        "n_output_tokens": None,
        "teacher_model": raw.get("_teacher"),
        "teacher_revision": None,
        "generation_params": params,
    }


def ingest_params(label: str, tokenizer: str) -> str:
    """generation_params of an ingested trace: where it came from and what counted its tokens."""
    return json.dumps({"ingested_from": label, "token_counts": tokenizer}, sort_keys=True)


def count_trace_tokens(rows: list[Row], outputs: list[str], tokenizer: str, stats: Counter) -> None:
    """Fill n_prompt_tokens / n_output_tokens of trace rows with one batched count, and add them
    to ``stats`` under generate's counter names."""
    counts = count_tokens(tokenizer, [r["prompt"] for r in rows] + outputs)
    for row, n_prompt, n_output in zip(rows, counts[: len(rows)], counts[len(rows) :], strict=True):
        row["n_prompt_tokens"], row["n_output_tokens"] = n_prompt, n_output
        stats["n_prompt_tokens"] += n_prompt
        stats["n_output_tokens"] += n_output
        stats[f"finish_{row['finish_reason']}"] += 1
