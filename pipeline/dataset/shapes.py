"""The published row: the chat in the shape a trainer reads, plus provenance metadata.

Shapes (``export.format``): ``messages`` (TRL conversational), ``prompt_completion`` (TRL's
conversational prompt/completion) and ``sharegpt`` (``conversations`` of ``{from, value}``,
LLaMA-Factory and axolotl). ``export.reasoning``: ``inline`` puts the think block in the assistant
turn; ``field`` keeps the answer there and the reasoning in the ``reasoning`` column (and in the
assistant message's ``reasoning_content`` for ``messages``). A trace whose think block never
closed is exported as the teacher wrote it: no ``</think>`` is added.

Nothing machine-specific is published: ``source`` is a file name or a Hub dataset id, and
``teacher_model`` a Hub id, an embedded model's name or a folder's name, never a local path.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from pipeline.recipe import ExportConfig
from pipeline.rows import COLUMNS, Row
from verifiers.trace import join_think

META_COLUMNS = [
    "problem_id",
    "domain",
    "problem",
    "reference_answer",
    "source",
    "teacher",
    "teacher_model",
    "teacher_revision",
    "generation_params",
    "sample_idx",
    "finish_reason",
    "think_closed",
    "n_prompt_tokens",
    "n_output_tokens",
    "verdict",
    "verdict_reason",
    "verdict_rule",
    "verdict_judge",
    "judge_score",
    # Present when the recipe grades / shortens; null otherwise.
    "pass_rate",
    "difficulty",
    "difficulty_judged",
    "shorten_strategy",
    "n_output_tokens_before",
    "length_condition",
]

_TURN = pa.struct([("role", pa.string()), ("content", pa.string())])
_TURN_WITH_REASONING = pa.struct([("role", pa.string()), ("content", pa.string()), ("reasoning_content", pa.string())])
_SHAREGPT_TURN = pa.struct([("from", pa.string()), ("value", pa.string())])


def chat_columns(cfg: ExportConfig) -> list[tuple[str, pa.DataType]]:
    """The chat columns of ``cfg``'s shape, with their Arrow types."""
    turn = _TURN_WITH_REASONING if cfg.reasoning == "field" and cfg.format == "messages" else _TURN
    shape = {
        "messages": [("messages", pa.list_(turn))],
        "prompt_completion": [("prompt", pa.list_(_TURN)), ("completion", pa.list_(_TURN))],
        "sharegpt": [("conversations", pa.list_(_SHAREGPT_TURN))],
    }[cfg.format]
    return shape + ([("reasoning", pa.string())] if cfg.reasoning == "field" else [])


def export_schema(cfg: ExportConfig) -> pa.Schema:
    return pa.schema(chat_columns(cfg) + [(c, COLUMNS[c].type) for c in META_COLUMNS])


def assistant_text(row: Row, cfg: ExportConfig) -> str:
    if cfg.reasoning == "field":
        return row["answer_text"] or ""
    return join_think(row["reasoning"], row["answer_text"], row["think_closed"])


def prompt_turns(prompt: str, system_prompt: str | None) -> list[dict]:
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": prompt}]


def to_export_row(row: Row, cfg: ExportConfig) -> Row:
    """One published row from a pipeline row."""
    prompt = prompt_turns(row["prompt"], cfg.system_prompt)
    answer = {"role": "assistant", "content": assistant_text(row, cfg)}
    reasoning = row["reasoning"] or ""
    if cfg.format == "messages":
        if cfg.reasoning == "field":
            prompt = [{**t, "reasoning_content": None} for t in prompt]
            answer["reasoning_content"] = reasoning
        chat = {"messages": [*prompt, answer]}
    elif cfg.format == "prompt_completion":
        chat = {"prompt": prompt, "completion": [answer]}
    else:
        names = {"system": "system", "user": "human", "assistant": "gpt"}
        chat = {"conversations": [{"from": names[t["role"]], "value": t["content"]} for t in [*prompt, answer]]}
    if cfg.reasoning == "field":
        chat["reasoning"] = reasoning
    meta = {c: row.get(c) for c in META_COLUMNS}
    meta["source"] = public_source(row.get("source"))
    meta["teacher_model"] = public_model(row.get("teacher_model"))
    return {**chat, **meta}


def public_source(source: str | None) -> str | None:
    """A source without the machine's directories: the file name, or the Hub dataset id."""
    if not source:
        return source
    if source.startswith("hf://"):
        return source.removeprefix("hf://")
    return Path(source).name


def public_model(model: str | None) -> str | None:
    """What the teacher was, without local paths: a Hub id stays, an embedded model's converted
    folder becomes ``embedded:<name>``, any other folder its name."""
    if not model or not model.startswith(("/", "~", ".")):
        return model
    from pipeline.backends.embedded import PREFIX, cotdistill_home

    path = Path(model).expanduser()
    if path.parent == cotdistill_home() / "models":
        return PREFIX + path.name
    return path.name
