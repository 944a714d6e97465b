"""Compare teachers on one corpus: pass rate, output length (mean, spread), truncation rate.

Read from the verify parts when there are any (pass rates need verdicts), else from generate,
and only the few columns needed, so it stays cheap on large runs. Rows carrying a
``difficulty`` column are also broken down by it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.store import StageStore

WANTED = ("teacher", "n_output_tokens", "finish_reason", "verdict", "difficulty")


def _rows(run_dir: Path) -> list[dict]:
    for stage in ("verify", "generate"):
        store = StageStore(run_dir, stage)
        parts = store.done_parts()
        if parts:
            out = []
            for index in parts:
                path = store.part_path(index)
                columns = [c for c in WANTED if c in pq.read_schema(path).names]
                out.extend(pq.read_table(path, columns=columns).to_pylist())
            return out
    return []


def _summary(rows: list[dict]) -> dict:
    tokens = [r["n_output_tokens"] for r in rows]
    verdicts = [r["verdict"] for r in rows if r.get("verdict") is not None]
    return {
        "traces": len(rows),
        "pass_rate": round(sum(verdicts) / len(verdicts), 4) if verdicts else None,
        "mean_output_tokens": round(statistics.fmean(tokens), 1) if tokens else None,
        "stdev_output_tokens": round(statistics.pstdev(tokens), 1) if tokens else None,
        "truncation_rate": round(sum(r["finish_reason"] == "length" for r in rows) / len(rows), 4) if rows else None,
    }


def compare_teachers(run_dir: Path) -> dict:
    """{teacher: summary (+ 'by_difficulty': {level: summary})}."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in _rows(Path(run_dir)):
        groups[row["teacher"]].append(row)
    report = {}
    for teacher, rows in sorted(groups.items()):
        report[teacher] = _summary(rows)
        levels: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            if row.get("difficulty") is not None:
                levels[str(row["difficulty"])].append(row)
        if levels:
            report[teacher]["by_difficulty"] = {lvl: _summary(r) for lvl, r in sorted(levels.items())}
    return report
