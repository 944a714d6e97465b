"""Progress of a run directory, read only from its visible files (plans, stats, markers)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from pipeline.dataset.layout import dataset_dir, is_current, read_manifest
from pipeline.recipe import Recipe, parse_recipe
from pipeline.stages import STAGE_ORDER, active_stages
from pipeline.stages.pairs import PAIRS_DIR
from pipeline.status.slurm import slurm_status
from pipeline.status.teachers import compare_teachers
from pipeline.status.tiers import tier_table
from pipeline.store import StageStore


def _recipe(run_dir: Path) -> Recipe | None:
    """The run's pinned recipe (None when the run dir has none)."""
    path = run_dir / "recipe.yaml"
    if not path.is_file():
        return None
    return parse_recipe(yaml.safe_load(path.read_text()), str(path))


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
    from pipeline.shards import owns

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


def run_status(run_dir: Path, slurm: bool = True) -> dict:
    """Per stage: parts done/total, rows in/kept/rejected, drop reasons, summed counters; the
    teacher comparison, the per-tier table and where the dataset is (``dataset``: the folder
    readers load, ``dataset_rows``: {config: {split: rows}}, ``pairs``: its preference pairs;
    null until the folder is built, after the last export part).

    ``complete`` is true when every stage the pinned recipe turns on has all its parts and, when
    it exports, the dataset folder is built from the current export parts (``building``: only
    the folder is missing, e.g. a run killed while it was built; the next run builds it).
    ``slurm``: the run's Slurm jobs and their tasks' states (``pipeline.status.slurm``; asks squeue),
    null when it was never submitted to Slurm or ``slurm`` is false.
    """
    run_dir = Path(run_dir)
    recipe = _recipe(run_dir)
    plan = StageStore(run_dir, "ingest").read_plan()
    total = plan["num_parts"] if plan else None
    stages = {name: _stage(StageStore(run_dir, name), total) for name in STAGE_ORDER}
    active = (active_stages(recipe) if recipe else None) or [n for n, st in stages.items() if st["parts_done"]]
    parts_done = total is not None and all(stages[n]["parts_done"] == total for n in active)
    stages = {n: st for n, st in stages.items() if n in active or st["parts_done"]}
    # A folder built from export parts that were redone since is stale: not named until rebuilt.
    manifest = read_manifest(run_dir) if recipe is not None and is_current(run_dir, recipe) else None
    folder = dataset_dir(run_dir)
    building = recipe is not None and parts_done and "export" in active and manifest is None
    return {
        "run_dir": str(run_dir),
        "complete": parts_done and not building,
        "dataset_pending": building,
        "stages": stages,
        "teachers": compare_teachers(run_dir),
        "tiers": tier_table(run_dir, recipe.grade.tier_names if recipe and recipe.grade else None, active),
        "dataset": str(folder) if manifest else None,
        "dataset_rows": manifest["rows"] if manifest else None,
        "pairs": str(folder / PAIRS_DIR) if manifest and manifest.get("pairs") else None,
        "slurm": slurm_status(run_dir) if slurm else None,
    }
