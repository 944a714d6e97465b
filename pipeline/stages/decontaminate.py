"""decontaminate: drop problems found in benchmarks, right after ingest.

Running before generate means no GPU time is spent on a problem that would be thrown away.
Each rejected row keeps its evidence (benchmark, item id, method, the longest run of words it
shares with the item; its drop reason adds the share of the item it holds, e.g. ``contaminated:
math500 test/algebra/1.json (ngram, coverage 0.93, longest span 41 words)``); the per-benchmark
hit counts go into the part stats, which `distill status` sums into the report.

A part's rows are checked together: they are the corpus whose n-gram frequencies tell
boilerplate from a copy (``pipeline.dedup.coverage``). A part is small (64 rows by default), so
``distill decontaminate`` on the whole file is a little more precise (measured on MATH train:
0.55% of clean problems flagged in 64-row parts, 0.2% as one file).
"""

from __future__ import annotations

from collections import Counter

from pipeline.recipe import Recipe
from pipeline.rows import Row
from pipeline.stage import PartContext, Stage


class DecontaminateStage(Stage):
    name = "decontaminate"
    input_stage = "ingest"  # the usual one; the registry sets the actual one
    adds_columns: list[str] = []
    unit_in, unit_out = "problems", "problems"

    def __init__(self, recipe: Recipe):
        self.config = recipe.decontaminate.config
        self.benchmarks = recipe.decontaminate.benchmarks
        self.index = None

    def setup(self) -> None:
        from pipeline.dedup.benchmarks import load_benchmarks
        from pipeline.dedup.decontam import BenchmarkIndex

        self.items = load_benchmarks(self.benchmarks)
        self.index = BenchmarkIndex(self.items, self.config)

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        from pipeline.dedup.find import find_contamination

        evidence, per_bench = find_contamination([r["problem"] for r in rows], self.items, self.config, self.index)
        for bench, counts in per_bench.items():
            if counts["hits"]:
                stats[f"contaminated_by:{bench}"] += counts["hits"]
            for method, n in counts["methods"].items():
                if n:
                    stats[f"matched:{bench}:{method}"] += n
        kept = [r for i, r in enumerate(rows) if i not in evidence]
        rejected = [{**r, **evidence[i]} for i, r in enumerate(rows) if i in evidence]
        return kept, rejected
