"""Per difficulty tier: problems, traces, traces in the dataset, tokens before -> after shortening,
verified rate after shortening, and what each shorten strategy changed.

Read from the shorten stage's finished parts (the grade stage's when shorten has none: before =
after), and only the few columns needed, so it stays cheap on large runs. "kept" counts the
rows of the export parts (the last stage with finished parts while export has none).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from pathlib import Path

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


def _read(store: StageStore, wanted: tuple[str, ...]) -> list[dict]:
    rows = []
    for index in store.done_parts():
        path = store.part_path(index)
        columns = [c for c in wanted if c in pq.read_schema(path).names]
        rows.extend(pq.read_table(path, columns=columns).to_pylist())
    return rows


def _traces(run_dir: Path) -> list[dict]:
    """Rows of the latest tiered stage: shorten, else grade (nothing before grade has tiers)."""
    for stage in ("shorten", "grade"):
        rows = _read(StageStore(run_dir, stage), WANTED)
        if rows:
            return rows
    return []


def _kept(run_dir: Path, stages: list[str]) -> list[dict]:
    """Rows of the last of ``stages`` that has finished parts: the dataset once export ran."""
    for stage in reversed(stages):
        store = StageStore(run_dir, stage)
        if store.done_parts():
            return _read(store, ("problem_id", "difficulty"))
    return []


def _shortened(row: dict) -> bool:
    # shorten_status says whether the strategy changed the trace; without it, a strategy is only
    # named on traces it changed.
    if "shorten_status" in row:
        return row["shorten_status"] == "shortened"
    return bool(row.get("shorten_strategy"))


def _mean(values: list[int]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


def _summary(tier: str, rows: list[dict], kept: int) -> dict:
    verified = [r for r in rows if r.get("verdict")]
    before = [
        r["n_output_tokens"] if r.get("n_output_tokens_before") is None else r["n_output_tokens_before"]
        for r in verified
    ]
    return {
        "tier": tier,
        "problems": len({r["problem_id"] for r in rows}),
        "traces": len(rows),
        "kept": kept,
        "mean_tokens_before": _mean(before),
        "mean_tokens_after": _mean([r["n_output_tokens"] for r in verified]),
        "verified_rate": round(len(verified) / len(rows), 4) if rows else None,
        "shortened": dict(sorted(Counter(r["shorten_strategy"] for r in rows if _shortened(r)).items())),
    }


def tier_table(run_dir: Path, tier_names: list[str] | None = None, stages: list[str] | None = None) -> list[dict]:
    """One dict per tier, in the order of ``tier_names`` (the recipe's, 'unsolved' last) then any
    other tier found; [] when no stage has graded the run yet. ``stages``: the run's active stages."""
    run_dir = Path(run_dir)
    rows = _traces(run_dir)
    if not rows:
        return []
    groups: dict[str, list[dict]] = defaultdict(list)
    tier_of = {}
    for row in rows:
        tier = row.get("difficulty") or NO_TIER
        groups[tier].append(row)
        tier_of[row["problem_id"]] = tier
    # A kept row's tier is its own column when it carries one, else its problem's tier.
    kept = Counter(
        r.get("difficulty") or tier_of.get(r["problem_id"], NO_TIER)
        for r in _kept(run_dir, stages or list(STAGE_ORDER))
    )
    names = list(tier_names or [])
    names += sorted(t for t in set(groups) | set(kept) if t not in names)
    return [_summary(t, groups.get(t, []), kept.get(t, 0)) for t in names]
