"""export: the SFT dataset as Parquet parts with a ``messages`` column for TRL's SFTTrainer.

By default only verified rows are exported; the rest go to ``export/rejected/`` with the
verdict as drop reason. Load the result with
``datasets.load_dataset("parquet", data_files="<run_dir>/export/part-*.parquet")``.
"""

from __future__ import annotations

from collections import Counter

from pipeline.recipe import Recipe
from pipeline.rows import EXPORT_COLUMNS, Row, reject
from pipeline.stage import PartContext, Stage
from verifiers.trace import join_think


def to_sft_row(row: Row) -> Row:
    # A truncated trace (exported with include: all) keeps its open think block: no closing tag
    # the teacher never wrote.
    assistant = join_think(row["reasoning"], row["answer_text"], row["think_closed"])
    messages = [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": assistant}]
    return {"messages": messages, **{c: row[c] for c in EXPORT_COLUMNS if c != "messages"}}


class ExportStage(Stage):
    name = "export"
    input_stage = "verify"  # the usual one; the registry sets the actual one
    adds_columns = EXPORT_COLUMNS
    unit_in, unit_out = "traces", "rows"

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
