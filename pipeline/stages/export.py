"""export: the SFT dataset as Parquet parts with a ``messages`` column for TRL's SFTTrainer.

By default only verified rows are exported; the rest go to ``export/rejected/`` with the
verdict as drop reason. Load the result with
``datasets.load_dataset("parquet", data_files="<run_dir>/export/part-*.parquet")``.

With ``export.preference_pairs`` each part also writes ``<run_dir>/pairs/part-NNNNN.parquet``
(``pipeline.stages.pairs``): verified against failed traces of the same problem, for DPO.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from pipeline.recipe import Recipe
from pipeline.rows import EXPORT_COLUMNS, Row, reject
from pipeline.stage import PartContext, Stage
from pipeline.stages.pairs import PAIRS_DIR, make_pairs, pairs_table
from pipeline.store import StageStore
from verifiers.trace import join_think


def to_sft_row(row: Row) -> Row:
    # A truncated trace (exported with include: all) keeps its open think block: no closing tag
    # the teacher never wrote.
    assistant = join_think(row["reasoning"], row["answer_text"], row["think_closed"])
    messages = [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": assistant}]
    return {"messages": messages, **{c: row.get(c) for c in EXPORT_COLUMNS if c != "messages"}}


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
        if part is not None:
            stats.update(self._write_pairs(rows, part))
        return kept, rejected

    def before_parts(self, run_dir: Path, parts: list[PartContext]) -> None:
        StageStore(run_dir, PAIRS_DIR).remove_temp_files()  # as the runner does for export/ itself

    def _write_pairs(self, rows: list[Row], part: PartContext) -> Counter:
        """The pairs part of this index, finished before the runner writes the export part (and
        its marker), so a finished export part always has its pairs part beside it."""
        pairs_store = StageStore(part.store.dir.parent, PAIRS_DIR)
        stats: Counter = Counter()
        if not self.cfg.preference_pairs:
            pairs_store.clear_part(part.index)  # left by an earlier --force run that had pairs on
            return stats
        started = time.perf_counter()
        pairs = make_pairs(rows, self.cfg.pairing, self.cfg.max_pairs_per_problem, stats)
        part_stats = {
            "stage": PAIRS_DIR,
            "part": part.index,
            "units": {"in": "traces", "out": "pairs"},
            "rows_in": len(rows),
            "rows_out": len(pairs),
            "rows_rejected": 0,
            "drop_reasons": {},
            "counters": dict(sorted(stats.items())),
            "seconds": round(time.perf_counter() - started, 3),
        }
        pairs_store.write_part(part.index, pairs_table(pairs), pairs_table([]), part_stats)
        return stats
