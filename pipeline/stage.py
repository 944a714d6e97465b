"""The stage contract: what one step does to the rows of one part. Where it runs is not its business.

A stage implements ``process(rows, stats, part) -> (kept, rejected)``; the runner
(``pipeline.runner``) picks this worker's parts, skips finished ones, writes each atomically and
reports progress. Part ``i`` of a stage is made from part ``i`` of the stage before it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.progress import Progress, Task
from pipeline.rows import Row, to_table
from pipeline.store import StageStore


@dataclass
class PartContext:
    """What a stage may know about the part it is processing: its index and its checkpoint."""

    index: int
    store: StageStore
    columns: list[str]

    def checkpoint_rows(self) -> list[Row]:
        return self.store.read_checkpoint(self.index)

    def save_checkpoint(self, rows: list[Row]) -> None:
        if rows:
            self.store.append_checkpoint(self.index, to_table(rows, self.columns + ["drop_reason"]))


class Stage:
    """Base class: subclasses set ``name``/``adds_columns`` and implement ``process``."""

    name: str = ""
    input_stage: str | None = None  # set by the registry: the active stage before this one
    adds_columns: list[str] = []
    unit_in, unit_out = "rows", "rows"  # what the funnel calls its input and output rows
    # Needs every part of its input (all shards) before it starts: executors run it once, after
    # the step before it has finished everywhere (dedup compares the whole run).
    barrier: bool = False
    # ``--dp N`` runs this stage in N worker processes, each with its own accelerators.
    data_parallel: bool = False
    # The runner's per-stage rows bar; stages with their own bars (generate) turn it off.
    show_rows_progress: bool = True
    progress: Progress = Progress()  # set by the runner before ``setup``
    task: Task | None = None  # the runner's rows bar; a stage may advance it row by row

    @classmethod
    def devices_per_worker(cls, recipe) -> int:
        """Accelerators one ``--dp`` worker of this stage needs (generate: the tensor-parallel size)."""
        return 1

    def setup(self) -> None:
        """Expensive initialisation (an engine); called only when some part has work to do."""

    def before_parts(self, run_dir: Path, parts: list[PartContext]) -> None:
        """Work across all of this worker's pending parts at once (generate: one engine queue
        per teacher, results checkpointed per part); ``process`` then finishes each part."""

    def process(self, rows: list[Row], stats: Counter, part: PartContext) -> tuple[list[Row], list[Row]]:
        raise NotImplementedError

    def input_parts(self, run_dir: Path) -> list[int]:
        """Indices of the input parts this stage can work on now (finished upstream parts)."""
        return StageStore(run_dir, self.input_stage).done_parts()

    def total_parts(self, run_dir: Path) -> int | None:
        plan = StageStore(run_dir, "ingest").read_plan()
        return plan["num_parts"] if plan else None

    def read_input(self, run_dir: Path, index: int) -> tuple[list[Row], list[str]]:
        """Rows of one input part plus its column names (kept even when the part is empty)."""
        table = StageStore(run_dir, self.input_stage).read_part(index)
        return table.to_pylist(), table.column_names

    def input_rows(self, run_dir: Path, index: int) -> int | None:
        """Row count of an input part from its Parquet footer (None when unknown before reading)."""
        return pq.read_metadata(StageStore(run_dir, self.input_stage).part_path(index)).num_rows

    def input_columns(self, run_dir: Path, index: int) -> list[str]:
        """Column names of an input part, from the Parquet footer (no rows read)."""
        return pq.read_schema(StageStore(run_dir, self.input_stage).part_path(index)).names

    def read_whole_input(
        self,
        run_dir: Path,
        columns: list[str],
        optional: tuple[str, ...] = (),
        convert: Callable[[Row], Row] | None = None,
    ) -> dict[tuple[int, int], Row]:
        """For barrier stages: ``columns`` (and those of ``optional`` a part has) of every row of
        every finished input part, keyed by (part, position in part), with a parts bar.

        Every row of the run stays in memory, so keep ``columns`` few and short; ``convert``
        (applied as each part is read) can shrink a row to what the stage needs of it."""
        store = StageStore(run_dir, self.input_stage)
        done = store.done_parts()  # all of them: the executor runs a barrier stage after the whole step
        rows: dict[tuple[int, int], Row] = {}
        reading = self.progress.task(f"{self.name}: reading {self.input_stage} parts", len(done), "parts")
        for index in done:
            path = store.part_path(index)
            names = pq.read_schema(path).names
            table = pq.read_table(path, columns=columns + [c for c in optional if c in names])
            for position, row in enumerate(table.to_pylist()):
                rows[(index, position)] = convert(row) if convert else row
            reading.advance()
        reading.finish()
        return rows

    @staticmethod
    def split_by_decisions(
        rows: list[Row], part: PartContext, decisions: dict[tuple[int, int], Row]
    ) -> tuple[list[Row], list[Row]]:
        """For barrier stages: rows with no decision are kept; the others are rejected with the
        decision's columns added (``drop_reason`` and any evidence)."""
        kept, rejected = [], []
        for position, row in enumerate(rows):
            decision = decisions.get((part.index, position))
            if decision is None:
                kept.append(row)
            else:
                rejected.append({**row, **decision})
        return kept, rejected

    def to_table(self, rows: list[Row], columns: list[str]) -> pa.Table:
        """The Arrow table of a part's rows (typed by the row schema; export has its own shapes)."""
        return to_table(rows, columns)

    def output_columns(self, input_columns: list[str]) -> list[str]:
        return input_columns + [c for c in self.adds_columns if c not in input_columns]
