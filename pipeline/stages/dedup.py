"""dedup: drop identical traces and near-duplicate problems, after verify.

Duplicates are found over the whole run, not one part, so this is a barrier stage: executors
run it once, after every verify part exists. It reads the few columns it needs part by part
(``pipeline.dedup.streaming`` keeps a few bytes per row and one text per distinct problem, so
memory does not grow with the run's reasoning text), then writes every dedup part. The kept
member of a group is the best trace (verified first, then the shortest reasoning); each dropped
row names it in ``duplicate_of``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.recipe import Recipe
from pipeline.rows import Row
from pipeline.stage import PartContext, Stage
from pipeline.store import StageStore

NEEDED = ["problem_id", "sample_idx", "teacher", "problem", "reasoning", "verdict"]


class DedupStage(Stage):
    name = "dedup"
    input_stage = "verify"  # the usual one; the registry sets the actual one
    adds_columns: list[str] = []
    unit_in, unit_out = "traces", "traces"
    barrier = True  # duplicates are found across the whole run, not within one part

    def __init__(self, recipe: Recipe):
        self.cfg = recipe.dedup
        self.config = recipe.dedup.config
        self.found = None  # StreamingDuplicates, once before_parts ran
        self.first_row: dict[int, int] = {}  # part -> its first row in run order

    def before_parts(self, run_dir: Path, parts: list[PartContext]) -> None:
        from pipeline.dedup.streaming import StreamingDuplicates

        store = StageStore(run_dir, self.input_stage)
        done = store.done_parts()  # all of them: the executor runs a barrier stage after the whole step
        found = StreamingDuplicates(self.config, near=self.cfg.near, keep=self.cfg.keep)
        reading = self.progress.task(f"{self.name}: reading {self.input_stage} parts", len(done), "parts")
        rows = 0
        for index in done:
            table = pq.read_table(store.part_path(index), columns=NEEDED)
            columns = {name: table.column(name).to_pylist() for name in NEEDED}
            del table
            ids = zip(columns["problem_id"], columns["teacher"], columns["sample_idx"], strict=True)
            found.add(columns["problem"], columns["reasoning"], columns["verdict"], list(ids))
            self.first_row[index] = rows
            rows += len(columns["problem"])
            reading.advance()
        reading.finish()
        self.progress.note(f"dedup: comparing {rows:,} traces (exact, then MinHash near duplicates)")
        found.decide()
        self.found = found

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        start = self.first_row[part.index]
        evidence = self.found.evidence(start, start + len(rows))
        return self.split_by_decisions(rows, part, {(part.index, pos): e for pos, e in evidence.items()})
