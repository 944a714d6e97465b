"""Progress of a run directory, read only from its visible files (plans, stats, markers)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from pipeline.recipe import parse_recipe
from pipeline.stages import STAGE_ORDER, active_stages
from pipeline.status.teachers import compare_teachers
from pipeline.store import StageStore


def _active(run_dir: Path) -> list[str] | None:
    """Stages the run's pinned recipe turns on (None when the run dir has no recipe)."""
    path = run_dir / "recipe.yaml"
    if not path.is_file():
        return None
    return active_stages(parse_recipe(yaml.safe_load(path.read_text()), str(path)))


def _stage(store: StageStore, total: int | None) -> dict:
    reasons: Counter = Counter()
    counters: Counter = Counter()
    rows: Counter = Counter()
    seconds = 0.0
    units = {"in": "rows", "out": "rows"}
    done = store.done_parts()
    for index in done:
        stats = store.read_stats(index)
        rows.update(rows_in=stats["rows_in"], rows_out=stats["rows_out"], rows_rejected=stats["rows_rejected"])
        reasons.update(stats["drop_reasons"])
        counters.update(stats["counters"])
        seconds += stats["seconds"]
        units = stats.get("units", units)
    return {
        "parts_done": len(done),
        "parts_total": total,
        "units": units,
        "rows_in": rows["rows_in"],
        "rows_kept": rows["rows_out"],
        "rows_rejected": rows["rows_rejected"],
        "drop_reasons": dict(sorted(reasons.items())),
        "counters": dict(sorted(counters.items())),
        "seconds": round(seconds, 3),
    }


def unfinished(run_dir: Path, stages: list[str], shard: int = 0, num_shards: int = 1) -> list[str]:
    """What was asked for and is not done: for each of ``stages``, this shard's parts without a marker."""
    from pipeline.runner import owns

    plan = StageStore(run_dir, "ingest").read_plan()
    if plan is None:
        return ["ingest has not run"]
    mine = [i for i in range(plan["num_parts"]) if owns(i, shard, num_shards)]
    out = []
    for name in stages:
        missing = [i for i in mine if not StageStore(run_dir, name).is_done(i)]
        if missing:
            out.append(f"{name}: {len(missing)} of {len(mine)} parts not done")
    return out


def run_status(run_dir: Path) -> dict:
    """Per stage: parts done/total, rows in/kept/rejected, drop reasons, summed counters.

    ``complete`` is true when every stage the pinned recipe turns on has all its parts.
    """
    run_dir = Path(run_dir)
    plan = StageStore(run_dir, "ingest").read_plan()
    total = plan["num_parts"] if plan else None
    stages = {name: _stage(StageStore(run_dir, name), total) for name in STAGE_ORDER}
    active = _active(run_dir) or [n for n, st in stages.items() if st["parts_done"]]
    complete = total is not None and all(stages[n]["parts_done"] == total for n in active)
    stages = {n: st for n, st in stages.items() if n in active or st["parts_done"]}
    exported = stages.get("export", {}).get("parts_done")
    return {
        "run_dir": str(run_dir),
        "complete": complete,
        "stages": stages,
        "teachers": compare_teachers(run_dir),
        "dataset": str(run_dir / "export") if exported else None,
    }
