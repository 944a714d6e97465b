"""The stage contract and ``run_stage``: resume, sharding, drop reasons, atomic parts.

A stage implements ``process(rows, stats) -> (kept, rejected)`` over the rows of one part; the
runner picks this worker's parts (``part % num_shards == shard``, so the same command runs as a
Slurm array task), skips parts whose ``.done`` marker exists, and writes each part atomically.
Part ``i`` of a stage is made from part ``i`` of the stage before it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.rows import to_table
from pipeline.store import StageStore

log = logging.getLogger(__name__)

Row = dict


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
    """Base class: subclasses set ``name``/``input_stage``/``adds_columns`` and ``process``."""

    name: str = ""
    input_stage: str | None = None
    adds_columns: list[str] = []

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

    def input_columns(self, run_dir: Path, index: int) -> list[str]:
        """Column names of an input part, from the Parquet footer (no rows read)."""
        return pq.read_schema(StageStore(run_dir, self.input_stage).part_path(index)).names

    def output_columns(self, input_columns: list[str]) -> list[str]:
        return input_columns + [c for c in self.adds_columns if c not in input_columns]


def reject(row: Row, reason: str, detail: str = "") -> Row:
    """A copy of ``row`` marked with ``drop_reason`` ('reason' or 'reason: detail')."""
    return {**row, "drop_reason": f"{reason}: {detail}" if detail else reason}


@dataclass
class StageReport:
    stage: str
    parts_done: int = 0
    parts_skipped: int = 0
    parts_waiting: int = 0
    rows_in: int = 0
    rows_out: int = 0
    rows_rejected: int = 0
    drop_reasons: Counter = field(default_factory=Counter)


def _reason_key(drop_reason: str) -> str:
    return drop_reason.split(":", 1)[0]


def mine(index: int, shard: int, num_shards: int) -> bool:
    return index % num_shards == shard


def run_stage(
    stage: Stage, run_dir: Path, *, shard: int = 0, num_shards: int = 1, force: bool = False,
    invalidates: tuple[str, ...] = (),
    on_part_done=None,
) -> StageReport:
    """Run ``stage`` over this worker's unfinished parts; return what was done.

    ``invalidates`` names later stages: a part rewritten here makes their same-index part stale,
    so it is cleared and redone by their next run.
    """
    run_dir = Path(run_dir)
    store = StageStore(run_dir, stage.name)
    report = StageReport(stage.name)
    store.dir.mkdir(parents=True, exist_ok=True)
    store.remove_temp_files()
    available = [i for i in stage.input_parts(run_dir) if mine(i, shard, num_shards)]
    total = stage.total_parts(run_dir)
    if total is not None:
        report.parts_waiting = sum(
            1 for i in range(total) if mine(i, shard, num_shards) and i not in set(available)
        )
    if force:
        for i in available:
            store.clear_part(i)
    todo = [i for i in available if not store.is_done(i)]
    report.parts_skipped = len(available) - len(todo)
    contexts = [PartContext(i, store, stage.output_columns(stage.input_columns(run_dir, i))) for i in todo]
    shared_seconds = 0.0
    if todo:
        started = time.perf_counter()
        stage.setup()
        stage.before_parts(run_dir, contexts)
        # Work done for all parts at once (one engine queue) is split evenly over them.
        shared_seconds = (time.perf_counter() - started) / len(todo)
    for index, part in zip(todo, contexts):
        started = time.perf_counter() - shared_seconds
        rows, columns = stage.read_input(run_dir, index)
        stats: Counter = Counter()
        kept, rejected = stage.process(rows, stats, part)
        out_columns = part.columns
        reasons = Counter(_reason_key(r["drop_reason"]) for r in rejected)
        part_stats = {
            "stage": stage.name,
            "part": index,
            "rows_in": len(rows),
            "rows_out": len(kept),
            "rows_rejected": len(rejected),
            "drop_reasons": dict(sorted(reasons.items())),
            "counters": dict(sorted(stats.items())),
            "seconds": round(time.perf_counter() - started, 3),
        }
        for later in invalidates:
            StageStore(run_dir, later).clear_part(index)
        store.write_part(
            index,
            to_table(kept, out_columns),
            to_table(rejected, out_columns + ["drop_reason"]),
            part_stats,
        )
        report.parts_done += 1
        report.rows_in += len(rows)
        report.rows_out += len(kept)
        report.rows_rejected += len(rejected)
        report.drop_reasons.update(reasons)
        log.debug("%s part %d: %d in, %d kept, %d rejected", stage.name, index, len(rows), len(kept), len(rejected))
        if on_part_done is not None:
            on_part_done(stage.name, index, part_stats)
    return report
