"""Compare teachers on one corpus: pass rate, output length (mean, spread), truncation rate.

Read from the verify parts when there are any (pass rates need verdicts), else from generate,
and only the few columns needed, one part at a time (what is kept across parts is a few counters
and the token counts, 8 bytes a trace), so it stays cheap on large runs. Rows carrying a
``difficulty`` column are also broken down by it.
"""

from __future__ import annotations

import statistics
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from pipeline.store import StageStore

WANTED = ("teacher", "n_output_tokens", "finish_reason", "verdict", "difficulty")


def _parts(run_dir: Path) -> Iterator[list[dict]]:
    """The rows of each finished verify part (else generate part), one part at a time."""
    for stage in ("verify", "generate"):
        store = StageStore(run_dir, stage)
        parts = store.done_parts()
        if parts:
            for index in parts:
                path = store.part_path(index)
                columns = [c for c in WANTED if c in pq.read_schema(path).names]
                yield pq.read_table(path, columns=columns).to_pylist()
            return


@dataclass
class _Counts:
    tokens: array = field(default_factory=lambda: array("q"))
    verdicts: int = 0  # rows with a verdict
    correct: int = 0
    truncated: int = 0

    def add(self, row: dict) -> None:
        self.tokens.append(row["n_output_tokens"])
        if row.get("verdict") is not None:
            self.verdicts += 1
            self.correct += bool(row["verdict"])
        self.truncated += row["finish_reason"] == "length"


def _summary(counts: _Counts) -> dict:
    tokens, traces = counts.tokens, len(counts.tokens)
    return {
        "traces": traces,
        "pass_rate": round(counts.correct / counts.verdicts, 4) if counts.verdicts else None,
        "mean_output_tokens": round(statistics.fmean(tokens), 1) if tokens else None,
        "stdev_output_tokens": round(statistics.pstdev(tokens), 1) if tokens else None,
        "truncation_rate": round(counts.truncated / traces, 4) if traces else None,
    }


def compare_teachers(run_dir: Path) -> dict:
    """{teacher: summary (+ 'by_difficulty': {level: summary})}."""
    groups: dict[str, _Counts] = defaultdict(_Counts)
    levels: dict[str, dict[str, _Counts]] = defaultdict(lambda: defaultdict(_Counts))
    for rows in _parts(Path(run_dir)):
        for row in rows:
            groups[row["teacher"]].add(row)
            if row.get("difficulty") is not None:
                levels[row["teacher"]][str(row["difficulty"])].add(row)
    report = {}
    for teacher, counts in sorted(groups.items()):
        report[teacher] = _summary(counts)
        if levels.get(teacher):
            report[teacher]["by_difficulty"] = {lvl: _summary(c) for lvl, c in sorted(levels[teacher].items())}
    return report
