"""export: each part's published rows (``pipeline.dataset.shapes``), then the dataset folder.

By default only verified rows are exported; the rest go to ``export/rejected/`` with the
verdict as drop reason. ``export/`` is bookkeeping like every stage's folder: once every export
part is done, ``pipeline.dataset.build`` writes the dataset folder (``<run_dir>/dataset``: the
card and ``data/`` Parquet files by config and split), which is what readers load.

With ``export.preference_pairs`` each part also writes ``<run_dir>/pairs/part-NNNNN.parquet``
(``pipeline.stages.pairs``): verified against failed traces of the same problem, for DPO.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

from pipeline.dataset.shapes import export_schema, to_export_row
from pipeline.recipe import Recipe
from pipeline.rows import Row, reject
from pipeline.stage import PartContext, Stage
from pipeline.stages.pairs import PAIRS_DIR, make_pairs, pairs_table
from pipeline.store import StageStore


class ExportStage(Stage):
    name = "export"
    input_stage = "verify"  # the usual one; the registry sets the actual one
    unit_in, unit_out = "traces", "rows"

    def __init__(self, recipe: Recipe):
        self.cfg = recipe.export
        self.schema = export_schema(self.cfg)

    def output_columns(self, input_columns: list[str]) -> list[str]:
        return self.schema.names

    def to_table(self, rows: list[Row], columns: list[str]) -> pa.Table:
        schema = (
            self.schema if "drop_reason" not in columns else self.schema.append(pa.field("drop_reason", pa.string()))
        )
        return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema=schema)

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        kept, rejected = [], []
        for row in rows:
            if self.cfg.include == "verified" and not row["verdict"]:
                rejected.append(reject(to_export_row(row, self.cfg), f"verdict_{row['verdict_reason']}"))
            else:
                kept.append(to_export_row(row, self.cfg))
                stats["n_output_tokens"] += row["n_output_tokens"]
        if part is not None:
            stats.update(self._write_pairs(rows, part))
        return kept, rejected

    def before_parts(self, run_dir: Path, parts: list[PartContext]) -> None:
        mine = {part.index for part in parts}  # as the runner does for export/ itself
        StageStore(run_dir, PAIRS_DIR).remove_temp_files(lambda index: index in mine)

    def _write_pairs(self, rows: list[Row], part: PartContext) -> Counter:
        """The pairs part of this index, finished before the runner writes the export part (and
        its marker), so a finished export part always has its pairs part beside it."""
        pairs_store = StageStore(part.store.dir.parent, PAIRS_DIR)
        stats: Counter = Counter()
        if not self.cfg.preference_pairs:
            pairs_store.clear_part(part.index)  # left by an earlier --force run that had pairs on
            return stats
        started = time.perf_counter()
        pairs = make_pairs(rows, self.cfg.pairing, self.cfg.max_pairs_per_problem, stats, self.cfg.system_prompt)
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
