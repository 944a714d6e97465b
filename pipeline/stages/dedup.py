"""dedup: drop identical traces and near-duplicate problems, after verify.

Duplicates are found over the whole run, not one part: every worker reads the few columns it
needs from all verify parts (deterministic, so shards agree without talking), then writes its
own parts. The kept member of a group is the best trace (verified first, then the shortest
reasoning); each dropped row names it in ``duplicate_of``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.errors import UserError
from pipeline.recipe import Recipe
from pipeline.stage import PartContext, Row, Stage
from pipeline.store import StageStore

NEEDED = ["problem_id", "sample_idx", "teacher", "problem", "reasoning", "verdict"]


class DedupStage(Stage):
    name = "dedup"
    input_stage = "verify"
    adds_columns: list[str] = []

    def __init__(self, recipe: Recipe):
        from pipeline.dedup import MinHashConfig

        cfg = recipe.dedup
        self.cfg = cfg
        self.config = MinHashConfig(num_perm=cfg.num_perm, threshold=cfg.threshold, bands=cfg.bands, rows=cfg.rows,
                                    shingle=cfg.shingle, shingle_size=cfg.shingle_size)
        self.decisions: dict[tuple[int, int], dict[str, str]] = {}  # (part, row) -> evidence

    def before_parts(self, run_dir: Path, parts: list[PartContext]) -> None:
        from pipeline.dedup import best_trace_key, keep_first
        from pipeline.dedup.standalone import find_duplicates

        store = StageStore(run_dir, self.input_stage)
        total = self.total_parts(run_dir)
        done = store.done_parts()
        if total is None or len(done) < total:
            raise UserError(f"dedup compares the whole run: all {total} {self.input_stage} parts must be done "
                            f"first ({len(done)} are)")
        where, rows = [], []
        for index in done:
            table = pq.read_table(store.part_path(index), columns=NEEDED)
            for position, row in enumerate(table.to_pylist()):
                where.append((index, position))
                rows.append(row)
        ids = [f"{r['problem_id']}#{r['teacher']}#{r['sample_idx']}" for r in rows]
        key = best_trace_key(rows) if self.cfg.keep == "best_trace" else keep_first
        evidence = find_duplicates([r["problem"] for r in rows], [r["reasoning"] for r in rows], ids,
                                   near=self.cfg.near, config=self.config, key=key)
        self.decisions = {where[i]: e for i, e in evidence.items()}

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        kept, rejected = [], []
        for position, row in enumerate(rows):
            evidence = self.decisions.get((part.index, position))
            if evidence is None:
                kept.append(row)
            else:
                rejected.append({**row, **evidence})
        return kept, rejected
