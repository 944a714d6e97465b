"""export: the SFT dataset as Parquet parts with a ``messages`` column for TRL's SFTTrainer.

By default only verified rows are exported; the rest go to ``export/rejected/`` with the
verdict as drop reason. Load the result with
``datasets.load_dataset("parquet", data_files="<run_dir>/export/part-*.parquet")``.
"""

from __future__ import annotations

from collections import Counter

from pipeline.recipe import Recipe
from pipeline.rows import EXPORT_COLUMNS
from pipeline.stage import PartContext, Row, Stage, reject


def assistant_message(reasoning: str, answer: str) -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


def to_sft_row(row: Row) -> Row:
    messages = [
        {"role": "user", "content": row["prompt"]},
        {"role": "assistant", "content": assistant_message(row["reasoning"], row["answer_text"])},
    ]
    return {"messages": messages, **{c: row[c] for c in EXPORT_COLUMNS if c != "messages"}}


class ExportStage(Stage):
    name = "export"
    input_stage = "verify"
    adds_columns = EXPORT_COLUMNS

    def __init__(self, recipe: Recipe):
        self.cfg = recipe.export

    def output_columns(self, input_columns: list[str]) -> list[str]:
        return list(EXPORT_COLUMNS)

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        kept, rejected = [], []
        for row in rows:
            if self.cfg.include == "verified" and not row["verdict"]:
                rejected.append(reject(to_sft_row(row), f"verdict_{row['verdict_reason']}"))
            else:
                kept.append(to_sft_row(row))
                stats["n_output_tokens"] += row["n_output_tokens"]
        return kept, rejected
