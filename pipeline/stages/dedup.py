"""dedup: drop identical traces and near-duplicate problems, after verify.

Duplicates are found over the whole run, not one part, so this is a barrier stage: executors
run it once, after every verify part exists. It reads the few columns it needs from all of
them, then writes every dedup part. The kept member of a group is the best trace (verified first, then the shortest
reasoning); each dropped row names it in ``duplicate_of``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pipeline.recipe import Recipe
from pipeline.rows import Row
from pipeline.stage import PartContext, Stage

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
        self.decisions: dict[tuple[int, int], dict[str, str]] = {}  # (part, row) -> evidence

    def before_parts(self, run_dir: Path, parts: list[PartContext]) -> None:
        from pipeline.dedup.exact import best_trace_key, keep_first
        from pipeline.dedup.find import find_duplicates

        read = self.read_whole_input(run_dir, NEEDED)
        where, rows = list(read), list(read.values())
        self.progress.note(f"dedup: comparing {len(rows):,} traces (exact, then MinHash near duplicates)")
        ids = [f"{r['problem_id']}#{r['teacher']}#{r['sample_idx']}" for r in rows]
        key = best_trace_key(rows) if self.cfg.keep == "best_trace" else keep_first
        evidence = find_duplicates(
            [r["problem"] for r in rows],
            [r["reasoning"] for r in rows],
            ids,
            near=self.cfg.near,
            config=self.config,
            key=key,
        )
        self.decisions = {where[i]: e for i, e in evidence.items()}

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        return self.split_by_decisions(rows, part, self.decisions)
