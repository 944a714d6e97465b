"""Per difficulty tier: problems, traces, traces in the dataset, tokens before -> after shortening,
verified rate after shortening, and what each shorten strategy changed.

Read from the shorten stage's finished parts (the grade stage's when shorten has none: before =
after), and only the few columns needed, one part at a time: what is kept across parts is a few
counters, the token counts of verified traces (8 bytes each) and the problem ids, so it stays
cheap on large runs. "kept" counts the rows of the export parts (the last stage with finished
parts while export has none).
"""

from __future__ import annotations

import statistics
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from pipeline.stages import STAGE_ORDER
from pipeline.store import StageStore

WANTED = (
    "problem_id",
    "difficulty",
    "n_output_tokens_before",
    "n_output_tokens",
    "verdict",
    "shorten_strategy",
    "shorten_status",
)
NO_TIER = "(none)"  # rows without a difficulty (a part graded before tiers existed)


def _parts(store: StageStore, wanted: tuple[str, ...]) -> Iterator[list[dict]]:
    """The rows of each finished part, one part at a time, with those of ``wanted`` it has."""
    for index in store.done_parts():
        path = store.part_path(index)
        columns = [c for c in wanted if c in pq.read_schema(path).names]
        yield pq.read_table(path, columns=columns).to_pylist()


@dataclass
class _Tier:
    problems: set = field(default_factory=set)
    traces: int = 0
    verified: int = 0
    before: array = field(default_factory=lambda: array("q"))  # tokens of verified traces
    after: array = field(default_factory=lambda: array("q"))
    shortened: Counter = field(default_factory=Counter)


def _tiers(run_dir: Path) -> tuple[dict[str, _Tier], dict[str, str]]:
    """Per tier, the traces of the latest tiered stage (shorten, else grade: nothing before grade
    has tiers); and each problem's tier."""
    for stage in ("shorten", "grade"):
        groups: dict[str, _Tier] = defaultdict(_Tier)
        tier_of: dict[str, str] = {}
        for rows in _parts(StageStore(run_dir, stage), WANTED):
            for row in rows:
                tier = row.get("difficulty") or NO_TIER
                _add(groups[tier], row)
                tier_of[row["problem_id"]] = tier
        if groups:
            return groups, tier_of
    return {}, {}


def _add(tier: _Tier, row: dict) -> None:
    tier.problems.add(row["problem_id"])
    tier.traces += 1
    if _shortened(row):
        tier.shortened[row["shorten_strategy"]] += 1
    if row.get("verdict"):
        tier.verified += 1
        before = row.get("n_output_tokens_before")
        tier.before.append(row["n_output_tokens"] if before is None else before)
        tier.after.append(row["n_output_tokens"])


def _kept(run_dir: Path, stages: list[str], tier_of: dict[str, str]) -> Counter:
    """Rows per tier of the last of ``stages`` that has finished parts: the dataset once export
    ran. A kept row's tier is its own column when it carries one, else its problem's tier."""
    for stage in reversed(stages):
        store = StageStore(run_dir, stage)
        if store.done_parts():
            kept: Counter = Counter()
            for rows in _parts(store, ("problem_id", "difficulty")):
                kept.update(r.get("difficulty") or tier_of.get(r["problem_id"], NO_TIER) for r in rows)
            return kept
    return Counter()


def _shortened(row: dict) -> bool:
    # shorten_status says whether the strategy changed the trace; without it, a strategy is only
    # named on traces it changed.
    if "shorten_status" in row:
        return row["shorten_status"] == "shortened"
    return bool(row.get("shorten_strategy"))


def _mean(values: array) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


def _summary(name: str, tier: _Tier, kept: int) -> dict:
    return {
        "tier": name,
        "problems": len(tier.problems),
        "traces": tier.traces,
        "kept": kept,
        "mean_tokens_before": _mean(tier.before),
        "mean_tokens_after": _mean(tier.after),
        "verified_rate": round(tier.verified / tier.traces, 4) if tier.traces else None,
        "shortened": dict(sorted(tier.shortened.items())),
    }


def tier_table(run_dir: Path, tier_names: list[str] | None = None, stages: list[str] | None = None) -> list[dict]:
    """One dict per tier, in the order of ``tier_names`` (the recipe's, 'unsolved' last) then any
    other tier found; [] when no stage has graded the run yet. ``stages``: the run's active stages."""
    run_dir = Path(run_dir)
    groups, tier_of = _tiers(run_dir)
    if not groups:
        return []
    kept = _kept(run_dir, stages or list(STAGE_ORDER), tier_of)
    names = list(tier_names or [])
    names += sorted(t for t in set(groups) | set(kept) if t not in names)
    return [_summary(t, groups.get(t) or _Tier(), kept.get(t, 0)) for t in names]
