"""Streaming reads of a run's Parquet parts for the report: only the columns asked for, one
record batch at a time, so memory stays flat however large the run is.

Only finished parts (with a ``.done`` marker) count, as in ``distill status``. The list of parts
is taken once per question, so a part finishing mid-report cannot skew two passes over the data.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.rows import reason_key
from pipeline.store import StageStore

BATCH_ROWS = 4096
Series = Callable[[pa.RecordBatch], dict[str, np.ndarray]]


def parts(run_dir: Path, stage: str, rejected: bool = False) -> list[Path]:
    """Paths of the stage's finished parts (or of their rejected rows) that exist."""
    store = StageStore(run_dir, stage)
    paths = [store.rejected_path(i) if rejected else store.part_path(i) for i in store.done_parts()]
    return [p for p in paths if p.is_file()]


def batches(path: Path, needed: tuple[str, ...], optional: tuple[str, ...] = ()) -> Iterator[pa.RecordBatch]:
    """Record batches of ``needed`` (+ whichever ``optional`` exist); nothing when a needed column is missing."""
    reader = pq.ParquetFile(path)
    names = set(reader.schema_arrow.names)
    if not set(needed) <= names:
        return
    yield from reader.iter_batches(batch_size=BATCH_ROWS, columns=[*needed, *(c for c in optional if c in names)])


@dataclass
class Histogram:
    edges: np.ndarray
    counts: dict[str, np.ndarray]
    totals: dict[str, tuple[int, float]] = field(default_factory=dict)  # series -> (n, sum)

    def mean(self, name: str) -> float | None:
        n, total = self.totals[name]
        return total / n if n else None


def histogram(
    paths: list[Path], needed: tuple[str, ...], series: Series, bins: int = 40, sort: bool = True
) -> Histogram | None:
    """Histograms of several series over shared bins, in two passes: the range, then the counts
    (no value is ever kept, only the counts). Series are sorted by name unless ``sort`` is false
    (then in the order ``series`` first gives them). None when there is no value at all."""
    top = None
    for path in paths:
        for batch in batches(path, needed):
            for values in series(batch).values():
                if len(values):
                    top = max(top or 0, float(values.max()))
    if top is None:
        return None
    edges = np.linspace(0, max(top, 1.0), bins + 1)
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(bins, dtype=np.int64))
    totals: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    for path in paths:
        for batch in batches(path, needed):
            for name, values in series(batch).items():
                counts[name] += np.histogram(values, edges)[0]
                n, total = totals[name]
                totals[name] = (n + len(values), total + float(values.sum()))
    names = sorted(counts) if sort else list(counts)
    return Histogram(edges, {n: counts[n] for n in names}, {n: totals[n] for n in names})


def _ints(column: pa.Array) -> np.ndarray:
    return np.asarray(column.drop_null().to_numpy(zero_copy_only=False), dtype=np.float64)


def by_teacher(batch: pa.RecordBatch) -> dict[str, np.ndarray]:
    """n_output_tokens per teacher (rows without a teacher: '(none)')."""
    tokens = batch.column("n_output_tokens")
    teachers = batch.column("teacher")
    out = {}
    for teacher in teachers.unique().to_pylist():
        mask = teachers.is_null() if teacher is None else pc.equal(teachers, teacher)
        out[teacher or "(none)"] = _ints(tokens.filter(mask.fill_null(False)))
    return out


def before_after(batch: pa.RecordBatch) -> dict[str, np.ndarray]:
    """Lengths before and after shortening, of the traces shorten looked at (before is set)."""
    before = batch.column("n_output_tokens_before")
    seen = before.is_valid()
    return {"before": _ints(before.filter(seen)), "after": _ints(batch.column("n_output_tokens").filter(seen))}


def pass_rates(run_dir: Path, bins: int = 10) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float]]:
    """Per difficulty tier: problems per pass-rate bin and the mean pass rate, one count per
    problem (every part holds whole problems, so a per-part set of ids is enough)."""
    edges = np.linspace(0, 1, bins + 1)
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(bins, dtype=np.int64))
    sums: Counter = Counter()
    for path in parts(run_dir, "grade"):
        seen: set[str] = set()
        for batch in batches(path, ("problem_id", "pass_rate"), ("difficulty",)):
            cols = batch.to_pydict()
            tiers = cols.get("difficulty") or [None] * batch.num_rows
            for pid, rate, tier in zip(cols["problem_id"], cols["pass_rate"], tiers, strict=True):
                if pid in seen or rate is None:
                    continue
                seen.add(pid)
                counts[tier or "(none)"][min(int(round(rate * bins, 9)), bins - 1)] += 1
                sums[tier or "(none)"] += rate
    means = {t: sums[t] / int(c.sum()) for t, c in counts.items()}
    return edges, dict(counts), means


def examples(
    run_dir: Path, stage: str, reasons: set[str], columns: tuple[str, ...], per_reason: int = 2
) -> dict[str, list[dict]]:
    """Up to ``per_reason`` rejected rows (``drop_reason`` + ``columns`` that exist) per reason
    word; stops reading as soon as every reason has its examples."""
    found: dict[str, list[dict]] = defaultdict(list)
    wanted = set(reasons)
    for path in parts(run_dir, stage, rejected=True):
        for batch in batches(path, ("drop_reason",), columns):
            for row in batch.to_pylist():
                key = reason_key(row["drop_reason"] or "")
                if key in wanted and len(found[key]) < per_reason:
                    found[key].append(row)
                    if len(found[key]) == per_reason:
                        wanted.discard(key)
            if not wanted:
                return dict(found)
    return dict(found)


def rejected_benchmarks(run_dir: Path) -> Counter:
    """Contamination hits counted from decontaminate's rejected rows (runs whose stats lack the counters)."""
    hits: Counter = Counter()
    for path in parts(run_dir, "decontaminate", rejected=True):
        for batch in batches(path, ("drop_reason",), ("contamination_benchmark",)):
            benches = batch.column("contamination_benchmark").to_pylist() if batch.num_columns > 1 else None
            for i, reason in enumerate(batch.column("drop_reason").to_pylist()):
                if benches and benches[i]:
                    hits[benches[i]] += 1
                elif reason:
                    hits[reason_key(reason)] += 1
    return hits
