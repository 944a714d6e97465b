"""The worker side: run stages over the parts one shard owns, resuming from visible markers.

Whatever launches workers (``pipeline.executors``: in-process, ``--dp`` processes, later Slurm
array tasks or Ray tasks) calls ``run_stages`` with a shard number; the same call does the same
work anywhere. The ownership rule is ``part % num_shards == shard``. The resolved recipe is
pinned in the run dir so two recipes never mix in one run.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import UserError
from pipeline.lock import run_lock
from pipeline.progress import Progress
from pipeline.recipe import Recipe, dump_recipe
from pipeline.rows import reason_key
from pipeline.shards import check_shard, owns, software_versions
from pipeline.stage import PartContext, Stage
from pipeline.stages import active_stages, build_stage
from pipeline.stages.pairs import PAIRS_DIR
from pipeline.store import StageStore, write_bytes_atomic, write_json_atomic

log = logging.getLogger(__name__)

RECIPE_FILE = "recipe.yaml"
# Stages with a command of their own; the optional ones run through `distill run`.
STAGE_COMMANDS = ("ingest", "generate", "verify", "grade", "shorten", "select", "export")
PROVENANCE_FILE = "provenance.json"


def default_run_dir(recipe: Recipe) -> Path:
    return Path("runs") / recipe.name


def has_outputs(run_dir: Path) -> bool:
    """Whether anything was made with the pinned recipe yet (a part plan or a finished part). Until
    then a fixed recipe (a typo in a column mapping) simply replaces it."""
    return StageStore(run_dir, "ingest").read_plan() is not None or any(run_dir.glob("*/*.done"))


def pin_recipe(recipe: Recipe, run_dir: Path, force: bool) -> None:
    """Copy the resolved recipe (and the software versions) into the run dir; refuse to mix two
    recipes in one run once it has outputs."""
    path = Path(run_dir) / RECIPE_FILE
    text = dump_recipe(recipe)
    if path.exists() and not force and has_outputs(Path(run_dir)):
        if yaml.safe_load(path.read_text()) != yaml.safe_load(text):
            raise UserError(
                f"{path}: this run dir was made with a different recipe; "
                f"use another --run-dir, or --force to redo it with this one"
            )
        return
    write_bytes_atomic(path, text.encode())
    write_json_atomic(Path(run_dir) / PROVENANCE_FILE, {"software": software_versions()})


def with_overrides(recipe: Recipe, overrides: dict[str, Any]) -> Recipe:
    """A copy of ``recipe`` with dotted-path settings from command-line flags applied.

    Flags change how this invocation runs, not what the run is: the pinned recipe stays as the
    file says, so a later plain ``distill run`` still accepts the run dir.
    """
    if not overrides:
        return recipe
    copy = recipe.model_copy(deep=True)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        target = copy
        for name in parents:
            target = getattr(target, name)
        setattr(target, leaf, value)
    return copy


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


def input_done(run_dir: Path, input_stage: str) -> tuple[int, int | None]:
    """(finished parts of ``input_stage``, parts in the run); the total is None before ingest ran."""
    plan = StageStore(run_dir, "ingest").read_plan()
    return len(StageStore(run_dir, input_stage).done_parts()), plan["num_parts"] if plan else None


def barrier_waits_for(run_dir: Path, input_stage: str) -> str | None:
    """Why a barrier stage cannot start yet (its input is not finished everywhere), or None."""
    done, total = input_done(run_dir, input_stage)
    if total is None or done < total:
        return f"{done}/{total if total is not None else '?'} {input_stage} parts done"
    return None


def _check_barrier_input(stage: Stage, run_dir: Path) -> None:
    waiting = barrier_waits_for(run_dir, stage.input_stage)
    if waiting:
        raise UserError(
            f"{stage.name} compares the whole run and needs every {stage.input_stage} part first ({waiting}); "
            f"finish {stage.input_stage} on all shards, then rerun `distill run`"
        )


def run_stage(
    stage: Stage,
    run_dir: Path,
    *,
    shard: int = 0,
    num_shards: int = 1,
    force: bool = False,
    invalidates: tuple[str, ...] = (),
    progress: Progress | None = None,
    overrides: dict[str, Any] | None = None,
) -> StageReport:
    """Run ``stage`` over this worker's unfinished parts; return what was done.

    ``invalidates`` names later stages: a part rewritten here makes their same-index part stale,
    so it is cleared and redone by their next run.
    """
    run_dir = Path(run_dir)
    store = StageStore(run_dir, stage.name)
    report = StageReport(stage.name)
    store.dir.mkdir(parents=True, exist_ok=True)
    store.remove_temp_files(lambda i: owns(i, shard, num_shards))
    if stage.barrier:
        _check_barrier_input(stage, run_dir)
    available = [i for i in stage.input_parts(run_dir) if owns(i, shard, num_shards)]
    total = stage.total_parts(run_dir)
    if total is not None:
        ready = set(available)
        report.parts_waiting = sum(1 for i in range(total) if owns(i, shard, num_shards) and i not in ready)
    if force:
        for i in available:
            store.clear_part(i)
    todo = [i for i in available if not store.is_done(i)]
    if stage.barrier and todo and len(todo) < len(available):
        # New input parts (a rerun over a grown input): decisions over the whole run may change
        # for old parts too (a new duplicate, a quota), so the barrier redoes every part.
        log.info("%s: %d new input parts; redoing all %d parts", stage.name, len(todo), len(available))
        for i in available:
            store.clear_part(i)
        todo = list(available)
    report.parts_skipped = len(available) - len(todo)
    if not todo:
        return report
    progress = progress or Progress()
    stage.progress = progress
    contexts = [PartContext(i, store, stage.output_columns(stage.input_columns(run_dir, i))) for i in todo]
    counts = [stage.input_rows(run_dir, i) for i in todo]
    task = (
        progress.task(stage.name, None if None in counts else sum(counts), stage.unit_in)
        if stage.show_rows_progress
        else None
    )
    stage.task = task
    started = time.perf_counter()
    stage.setup()
    stage.before_parts(run_dir, contexts)
    # Work done for all parts at once (one engine queue) is split evenly over them.
    shared_seconds = (time.perf_counter() - started) / len(todo)
    for index, part in zip(todo, contexts, strict=True):
        started = time.perf_counter() - shared_seconds
        rows, _ = stage.read_input(run_dir, index)
        stats: Counter = Counter()
        before = task.done if task else 0
        kept, rejected = stage.process(rows, stats, part)
        reasons = Counter(reason_key(r["drop_reason"]) for r in rejected)
        part_stats = {
            "stage": stage.name,
            "part": index,
            "units": {"in": stage.unit_in, "out": stage.unit_out},
            "rows_in": len(rows),
            "rows_out": len(kept),
            "rows_rejected": len(rejected),
            "drop_reasons": dict(sorted(reasons.items())),
            "counters": dict(sorted(stats.items())),
            "seconds": round(time.perf_counter() - started, 3),
        }
        if overrides:
            part_stats["overrides"] = overrides
        for later in invalidates:
            StageStore(run_dir, later).clear_part(index)
        store.write_part(
            index,
            stage.to_table(kept, part.columns),
            stage.to_table(rejected, part.columns + ["drop_reason"]),
            part_stats,
        )
        report.parts_done += 1
        report.rows_in += len(rows)
        report.rows_out += len(kept)
        report.rows_rejected += len(rejected)
        report.drop_reasons.update(reasons)
        if task is not None:  # rows the stage did not count itself while working
            task.advance(max(0, len(rows) - (task.done - before)))
        log.info("%s part %d: %d in, %d kept, %d rejected", stage.name, index, len(rows), len(kept), len(rejected))
    if task is not None:
        task.finish()
    return report


def run_stages(
    recipe: Recipe,
    run_dir: Path,
    stages: list[str],
    *,
    shard: int = 0,
    num_shards: int = 1,
    force: bool = False,
    progress: Progress | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[StageReport]:
    """Run ``stages`` in order over this shard's parts; every stage validates before any runs.

    A stage whose input parts are missing for this shard (its input stage has not run, or not
    everywhere) does what it can and then fails with a message naming what to run first.
    """
    check_shard(shard, num_shards)
    effective = with_overrides(recipe, overrides or {})
    built = [build_stage(name, effective) for name in stages]
    with run_lock(run_dir, shard, num_shards):
        pin_recipe(recipe, run_dir, force)
        return [
            _run_named(name, stage, recipe, run_dir, shard, num_shards, force, progress, overrides)
            for name, stage in zip(stages, built, strict=True)
        ]


def _run_named(name, stage, recipe, run_dir, shard, num_shards, force, progress, overrides) -> StageReport:
    order = active_stages(recipe)
    later = tuple(order[order.index(name) + 1 :])
    if "export" in later:  # export's second dataset, written with each export part
        later += (PAIRS_DIR,)
    report = run_stage(
        stage,
        run_dir,
        shard=shard,
        num_shards=num_shards,
        force=force,
        invalidates=later,
        progress=progress,
        overrides=overrides,
    )
    _require_input(stage, report, run_dir)
    if name == "export" and barrier_waits_for(run_dir, "export") is None:
        from pipeline.dataset.build import build_dataset  # the last shard to finish export builds it

        build_dataset(run_dir, recipe)
    return report


def _require_input(stage: Stage, report: StageReport, run_dir: Path) -> None:
    """A stage that could not do all of this shard's parts says which stage to run first."""
    upstream = stage.input_stage
    if upstream is None:
        return
    done, total = input_done(run_dir, upstream)
    if total is None:
        raise UserError(
            f"{stage.name}: nothing to read in {run_dir}: ingest has not run; "
            f"run `distill ingest` first (or `distill run`)"
        )
    if report.parts_waiting:
        first = (
            f"`distill {upstream}` first (or `distill run`)" if upstream in STAGE_COMMANDS else "`distill run` first"
        )
        raise UserError(
            f"{stage.name}: {report.parts_waiting} of this worker's parts wait for {upstream} "
            f"({done}/{total} {upstream} parts done); run {first}"
        )
